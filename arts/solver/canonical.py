"""Canonical forms of one-variable dimension functions, for partitioning ops into types.

Two ops are of one type when they accept the same sizes ``S`` and agree on ``S``.  For a
quasi-affine ``f`` (``f(x + L) = f(x) + D`` for all ``x``) on an eventually periodic ``S``, the
pair ``(S, f|S)`` has an intrinsic description: ``S`` in canonical form, the least period ``P``
(a multiple of ``S``'s period) with ``f(x + P) - f(x)`` constant on ``S`` from ``S.start`` on,
that constant, and the values of ``f`` on ``S`` below ``S.start + P``.  Equal descriptions iff
equal functions -- so a type is a dictionary key and partitioning 100,000 ops is a hash pass.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Callable, Hashable

from arts.errors import BudgetExceeded
from arts.solver.intset import IntSet

MAX_PERIOD = 10_000


def canonical_1d(f: Callable[[int], int], S: IntSet, L: int, D: "int | Fraction") -> Hashable:
    """Intrinsic key of ``f`` restricted to ``S`` (``f(x+L) = f(x) + D`` for every integer x)."""
    if S.is_empty:
        return ("empty",)
    if S.is_finite:
        return (S, 0, 0, tuple(f(x) for x in S), ())
    Lj = L * S.period // math.gcd(L, S.period)
    if Lj > MAX_PERIOD:
        raise BudgetExceeded(f"period {Lj} too large for a canonical form")
    start = S.start
    window = [x for x in range(start, start + Lj) if x in S]
    best = Lj
    c: "int | Fraction" = D * Lj // L if isinstance(D, int) else D * Lj / L
    for P in range(S.period, Lj, S.period):
        deltas = {f(x + P) - f(x) for x in window}
        if len(deltas) == 1:
            best, c = P, deltas.pop()
            break
    head = tuple(f(x) for a, b in S.head for x in range(a, b + 1))
    tail = tuple(f(x) if x in S else None for x in range(start, start + best))
    return (S, best, c, head, tail)
