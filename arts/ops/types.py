"""Partition ops into types (the paper's Def. 2 equivalence classes) by a canonical key.

The key of an op applied to its input is: the input shape, for every output component either
its constant value or the intrinsic canonical form (:func:`arts.solver.canonical.canonical_1d`)
of its one-variable dimension function on the accepted sizes, and the accepted set of every
input dimension.  Equal keys iff type-equivalent (for quasi-affine ops; anything else falls back
to a structural key, which can only split a type, never merge two).

Families that know their dimension function numerically (convs, pools) provide
``OpSpec.profile`` and skip sympy entirely; both routes produce the same key.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from typing import Any, Hashable, Sequence

import sympy

from arts.errors import BudgetExceeded, Unsupported
from arts.ops.base import Op, as_op
from arts.ops.relations import typed
from arts.solver.canonical import canonical_1d
from arts.solver.evaluate import compile_expr
from arts.solver.intset import IntSet
from arts.solver.quasiaffine import period_of, truth_set


_INTERN: dict[Hashable, int] = {}


def intern(key: Hashable) -> int:
    """A small integer standing for ``key`` (so type keys hash and compare fast)."""
    i = _INTERN.get(key)
    if i is None:
        i = _INTERN[key] = len(_INTERN)
    return i


def _positions(shape: Sequence[Any]) -> dict[sympy.Symbol, int] | None:
    pos: dict[sympy.Symbol, int] = {}
    for i, e in enumerate(shape):
        if isinstance(e, sympy.Symbol) and e not in pos:
            pos[e] = i
        elif not getattr(e, "is_Integer", False):
            return None
    return pos


def _generic_key(op: Op, shapes: list) -> Hashable:
    head = tuple(tuple(str(e) for e in s) for s in shapes)
    try:
        t = typed(op, shapes)
    except Unsupported as why:
        return (head, "unsupported", str(op), str(why))  # a type of its own: never merged with another
    if t.shape is None:
        return (head, "rejects")
    pos = _positions(shapes[0]) if len(shapes) == 1 else None
    structural = (head, "expr", tuple(str(e) for e in t.shape), str(t.accept))
    if pos is None:
        return structural
    per: dict[sympy.Symbol, list] = {}
    for c in sympy.And.make_args(t.accept):
        free = c.free_symbols
        if len(free) > 1:
            return structural
        if free:
            (s,) = free
            per.setdefault(s, []).append(c)
        elif c is sympy.false:
            return (head, "rejects")
    try:
        sets = {s: truth_set(sympy.And(*cs), s) for s, cs in per.items()}
        if any(st.is_empty for st in sets.values()):
            return (head, "rejects")
        comps: list = []
        for e in t.shape:
            e = sympy.sympify(e)
            free = e.free_symbols
            if not free:
                comps.append(("const", int(e)))
                continue
            if len(free) > 1 or not free <= set(pos):
                return structural
            (x,) = free
            L, D = period_of(e, x)
            f = compile_expr(e)
            name = x.name
            comps.append(("fn", pos[x], intern(canonical_1d(lambda v, f=f, name=name: f({name: v}),  # type: ignore[misc]
                                                             sets.get(x, IntSet.everything()), L, D))))
    except (Unsupported, BudgetExceeded):
        return structural
    acc = tuple(sorted((pos[s], intern(st)) for s, st in sets.items() if not st.is_everything))
    return (head, tuple(comps), acc)


def type_key(op: "Op | str", input: Any = None) -> Hashable:
    """The canonical type of ``op`` on ``input`` (default: the op's default input)."""
    op = as_op(op)
    if input is None:
        fast = op.spec.profile(op.params)
        if fast is not None:
            return fast
        shapes = op.default_input()
    else:
        from arts.ops.relations import _inputs

        shapes = _inputs(op, input)
    return _generic_key(op, shapes)


def partition(ops: Sequence["Op | str"], input: Any = None) -> list[list[int]]:
    """Group the indices of ``ops`` into types, in order of first appearance.

    >>> partition(["conv2d(kernel_size=3, padding=1)", "max_pool2d(kernel_size=2)",
    ...            "avg_pool2d(kernel_size=3, stride=1, padding=1)"])
    [[0, 2], [1]]
    """
    groups: "OrderedDict[Hashable, list[int]]" = OrderedDict()
    for i, o in enumerate(ops):
        groups.setdefault(type_key(o, input), []).append(i)
    return list(groups.values())


def profile_key(shape_names: Sequence[str], comps: Sequence[tuple], acc: dict[int, "IntSet"]) -> Hashable:
    """Assemble a key from a numeric profile (used by ``OpSpec.profile``) exactly like the generic route.

    ``comps`` hold interned canonical forms (:func:`intern`)."""
    head = (tuple(shape_names),)
    out = []
    for i in sorted(acc):
        st = acc[i]
        if st.is_empty:
            return (head, "rejects")
        if not st.is_everything:
            out.append((i, _set_id(st)))
    return (head, tuple(comps), tuple(out))


@lru_cache(maxsize=65536)
def _set_id(st: "IntSet") -> int:
    return intern(st)


def spatial_names(n: int) -> list[str]:
    return ["N", "C"] + {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}[n]


@lru_cache(maxsize=4096)
def channel_comps(in_channels: int | None, out_channels: int | None, groups: int) -> tuple[tuple, dict[int, IntSet]]:
    """Key components for batch and channel of a channel-first op (numeric route)."""
    ident = lambda x: x  # noqa: E731
    if in_channels is not None:
        s_c = IntSet.finite([in_channels])
    elif groups > 1:
        s_c = IntSet.congruent(0, groups)
    else:
        s_c = IntSet.everything()
    out = out_channels if out_channels is not None else in_channels
    comps: list = [("fn", 0, intern(canonical_1d(ident, IntSet.everything(), 1, 1)))]
    comps.append(("const", out) if out is not None else ("fn", 1, intern(canonical_1d(ident, s_c, 1, 1))))
    return tuple(comps), {1: s_c}
