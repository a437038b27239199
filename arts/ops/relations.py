"""The paper's five relations between two ops, over an input shape and a domain.

``equivalent(a, b)`` answers Definitions 1-3 (complete, type, instant);
``compatible(a, b)`` answers Definitions 4-5 (forward, backward, complete-compatibility).
Every answer is a :class:`~arts.solver.verdict.Verdict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import sympy

from arts.errors import InputError
from arts.ops.base import Op, Shape, StaticShapeError, as_op
from arts.solver.domain import Domain
from arts.solver.parse import parse_assignment, parse_constraints
from arts.solver.relations import Typed, forward_compatibility, instant_equivalence, type_equivalence
from arts.solver.symbols import parse_shape
from arts.solver.verdict import Verdict, both


def fit_arity(op: Op, inputs: Sequence[Shape]) -> list[Shape]:
    """The inputs an op of another arity takes from the same input list: the first ones, or the
    first one repeated (``add`` on one input shape adds it to itself)."""
    lo, hi = op.spec.arity
    shapes = list(inputs)
    if hi is not None and len(shapes) > hi:
        shapes = shapes[:hi]
    if len(shapes) < lo and shapes:
        shapes = shapes + [shapes[0]] * (lo - len(shapes))
    return shapes


def typed(op: Op, inputs: Sequence[Shape], mode: str = "eval") -> Typed:
    """``op`` applied to symbolic ``inputs``, as a :class:`Typed` (conditions of ``mode``)."""
    inputs = fit_arity(op, inputs)
    try:
        inf = op.apply(inputs)
    except StaticShapeError as e:
        return Typed(str(op), None, sympy.false, e.message)
    conds = [c.formula for c in inf.conditions if c.mode == "any" or (mode == "train" and c.mode == "train")]
    return Typed(str(op), tuple(inf.shape), sympy.And(*conds))


def _inputs(op: Op, input: Any) -> list[Shape]:
    if input is None:
        return op.default_input()
    shapes = [input] if isinstance(input, str) or (isinstance(input, (tuple, list)) and input and
                                                    not isinstance(input[0], (tuple, list, str))) else list(input)
    if isinstance(input, (tuple, list)) and input and all(isinstance(x, str) and "," not in x for x in input):
        shapes = [input]
    out = [parse_shape(s) for s in shapes]
    lo = op.spec.arity[0]
    if len(out) == 1 and lo > 1:
        out = out * lo
    return out


def _domain(shapes: Sequence[Shape], where: Any) -> tuple[Domain, list[sympy.Symbol]]:
    syms: list[sympy.Symbol] = []
    for s in shapes:
        for e in s:
            for x in sorted(sympy.sympify(e).free_symbols, key=lambda t: t.name):
                if x not in syms:
                    syms.append(x)
    conds = parse_constraints(where) if isinstance(where, (str, list, tuple)) or where is None else list(where)
    for c in conds:
        extra = [x.name for x in c.free_symbols if x not in syms]
        if extra:
            raise InputError(f"constraint {c} mentions {', '.join(sorted(extra))}, which is not in the input shape")
    dom = Domain(conds, syms)
    if dom.empty:
        raise InputError("the constraints admit no input size")
    return dom, syms


@dataclass(frozen=True)
class Equivalence:
    complete: Verdict
    type: Verdict
    instant: Verdict | None

    def to_json(self) -> dict[str, Any]:
        return {"complete": self.complete.to_json(), "type": self.type.to_json(),
                "instant": self.instant.to_json() if self.instant is not None else None}


@dataclass(frozen=True)
class Compatibility:
    forward: Verdict
    backward: Verdict
    complete: Verdict

    def to_json(self) -> dict[str, Any]:
        return {"forward": self.forward.to_json(), "backward": self.backward.to_json(),
                "complete": self.complete.to_json()}


def complete_equivalence(a: Op, b: Op) -> Verdict:
    """Def. 1: every parameter equal after canonicalisation."""
    ka, kb = a.complete_key(), b.complete_key()
    if ka == kb:
        return Verdict.proven("same op and parameters after canonicalisation")
    if ka[0] != kb[0]:
        return Verdict.refuted(None, f"different ops: {a.name} vs {b.name}")
    da, db = dict(ka[1]), dict(kb[1])
    diff = [f"{k}: {da[k]!r} vs {db[k]!r}" for k in da if da[k] != db.get(k)]
    return Verdict.refuted(None, "parameters differ: " + "; ".join(diff))


def equivalent(a: "Op | str", b: "Op | str", input: Any = None, where: Any = None,
               at: "dict[str, int] | str | None" = None, mode: str = "eval") -> Equivalence:
    """Definitions 1-3 between ``a`` and ``b`` for ``input`` (default: ``a``'s default input).

    >>> equivalent("conv2d(kernel_size=3, padding=1)", "conv2d(kernel_size=3, padding=2, dilation=2)").type.status.value
    'proven'
    """
    a, b = as_op(a), as_op(b)
    shapes = _inputs(a, input)
    dom, syms = _domain(shapes, where)
    ta, tb = typed(a, shapes, mode), typed(b, shapes, mode)
    inst = None
    if at is not None:
        point = parse_assignment(at) if isinstance(at, str) else dict(at)
        inst = instant_equivalence(ta, tb, point, dom)
    return Equivalence(complete_equivalence(a, b), type_equivalence(ta, tb, dom, syms), inst)


def forward(a: Op, b: Op, shapes: Sequence[Shape], dom: Domain, syms: Sequence[sympy.Symbol],
            mode: str = "eval") -> Verdict:
    ta = typed(a, shapes, mode)
    if ta.shape is None:
        return forward_compatibility(ta, ta, dom, syms)
    tb = typed(b, [ta.shape], mode)
    return forward_compatibility(ta, tb, dom, syms)


def compatible(a: "Op | str", b: "Op | str", input: Any = None, where: Any = None, mode: str = "eval") -> Compatibility:
    """Definitions 4-5: ``a -> b``, ``b -> a``, and both, over ``input`` and ``where``.

    >>> compatible("conv2d(kernel_size=5)", "conv2d(kernel_size=5)", where="H >= 9, W >= 9").forward.status.value
    'proven'
    """
    a, b = as_op(a), as_op(b)
    shapes = _inputs(a, input)
    dom, syms = _domain(shapes, where)
    fwd = forward(a, b, shapes, dom, syms, mode)
    bwd = forward(b, a, shapes, dom, syms, mode)
    return Compatibility(fwd, bwd, both(fwd, bwd))
