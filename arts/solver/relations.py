"""The paper's relations (Definitions 2-5) as decisions with certificates.

These work on :class:`Typed` values -- an operation or a subgraph applied to symbolic inputs:
the output shape and the condition under which the input is accepted -- so that this module
needs sympy only.  :mod:`arts.ops.relations` builds them from ops.

* type-equivalence (Def. 2): both accept exactly the same inputs of the domain, and where they
  do, the outputs are equal.  Decided exactly for quasi-affine dimension functions; refuted
  with the smallest input where they differ.
* instant-equivalence (Def. 3): both accept one given input and agree there.
* forward-compatibility (Def. 4): every output ``A`` produces over the domain is accepted by
  ``B``; refuted with the smallest input of ``A`` whose output ``B`` rejects.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sympy

from arts.errors import InputError
from arts.solver.decide import decide, find_point
from arts.solver.domain import Domain
from arts.solver.evaluate import evaluate
from arts.solver.verdict import Verdict


@dataclass(frozen=True)
class Typed:
    """A computation applied to symbolic inputs.

    ``shape`` is the output shape (None when every input is rejected; ``static_error`` says why),
    ``accept`` the condition on the input sizes under which it runs.
    """

    label: str
    shape: tuple | None
    accept: sympy.Basic = sympy.true
    static_error: str | None = None

    def accepts_at(self, point: dict[str, int]) -> bool:
        return self.shape is not None and bool(evaluate(self.accept, point))

    def shape_at(self, point: dict[str, int]) -> tuple[int, ...] | None:
        if not self.accepts_at(point):
            return None
        return tuple(int(evaluate(s, point)) for s in self.shape)  # type: ignore[union-attr]

    def describe_at(self, point: dict[str, int]) -> str:
        if self.shape is None:
            return f"{self.label} rejects it ({self.static_error})"
        s = self.shape_at(point)
        return f"{self.label} rejects it" if s is None else f"{self.label} gives {s}"


def _where(point: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


def type_equivalence(a: Typed, b: Typed, domain: Domain, symbols: Sequence[sympy.Symbol]) -> Verdict:
    """Def. 2: same accepted inputs and same output on every input of ``domain``."""
    if a.shape is None and b.shape is None:
        return Verdict.proven("both reject every input")
    acc_a = a.accept if a.shape is not None else sympy.false
    acc_b = b.accept if b.shape is not None else sympy.false
    if a.shape is not None and b.shape is not None and len(a.shape) != len(b.shape):
        outputs = sympy.false  # different ranks: they differ wherever both accept
    elif a.shape is None or b.shape is None:
        outputs = sympy.true
    else:
        outputs = sympy.And(*(sympy.Eq(x, y) for x, y in zip(a.shape, b.shape)))
    cond = sympy.And(sympy.Equivalent(acc_a, acc_b), sympy.Implies(sympy.And(acc_a, acc_b), outputs))
    v = decide(cond, domain, symbols)
    if v.is_refuted and v.counterexample is not None:
        p = v.counterexample
        return Verdict.refuted(p, f"at {_where(p)}: {a.describe_at(p)}, {b.describe_at(p)}")
    if v.is_proven:
        return Verdict.proven("same accepted inputs and same output shape for every input of the domain")
    return v


def instant_equivalence(a: Typed, b: Typed, point: dict[str, int], domain: Domain) -> Verdict:
    """Def. 3: at one input both accept and agree."""
    missing = [s.name for s in domain.symbols if s.name not in point]
    if missing:
        raise InputError(f"--at must give a size for {', '.join(missing)}")
    if not domain.contains(point):
        raise InputError(f"the point {_where(point)} is outside the domain ({domain.describe()})")
    sa, sb = (t.shape_at(point) if t.shape is not None else None for t in (a, b))
    if sa is not None and sa == sb:
        return Verdict.proven(f"both give {sa} at {_where(point)}")
    return Verdict.refuted(dict(point), f"at {_where(point)}: {a.describe_at(point)}, {b.describe_at(point)}")


def forward_compatibility(a: Typed, b_after_a: Typed, domain: Domain, symbols: Sequence[sympy.Symbol]) -> Verdict:
    """Def. 4: for every input of ``domain`` that A accepts, B accepts A's output.

    ``b_after_a`` is B applied to A's (symbolic) output shape.
    """
    if a.shape is None:
        return Verdict.proven(f"{a.label} accepts no input, so it produces no output ({a.static_error})")
    if b_after_a.shape is None:
        p = find_point(a.accept, domain, symbols)
        if p is None:
            return Verdict.proven(f"{a.label} accepts no input of the domain")
        return Verdict.refuted(p, f"at {_where(p)}: {a.describe_at(p)}, which {b_after_a.label} rejects "
                                  f"({b_after_a.static_error})")
    v = decide(sympy.Implies(a.accept, b_after_a.accept), domain, symbols)
    if v.is_refuted and v.counterexample is not None:
        p = v.counterexample
        return Verdict.refuted(p, f"at {_where(p)}: {a.describe_at(p)}, which {b_after_a.label} rejects")
    if v.is_proven:
        return Verdict.proven(f"every output of {a.label} on the domain is accepted by {b_after_a.label}")
    return v
