"""Proofs by residue classes: a condition tying symbols together, shown on every class at once.

A size like ``floor((H - 1)/4) + 1`` is not a polynomial in ``H``, but on one residue class of
``H`` it is: on ``H = 32*q + 31`` it is ``8*q + 8``.  When the per-symbol sets of a domain are
eventually periodic (``H ≥ 31 and H mod 32 ∈ {0, 31}``), every floor of the condition has a
denominator dividing a common period ``P``, and each symbol is written ``P*q + r`` (``q ≥ 0``) for
each residue ``r`` of its set (and as each of the finitely many points of its head), the
condition becomes polynomial identities and inequalities in the ``q`` that sympy settles
symbolically.  True on every combination of classes is true on every point of the sets: a proof,
exact.  Anything not settled (a class where the identity is not literally one, too many classes)
is None, and the caller goes on to its bounded search.

This is MaxViT's window partition: ``(floor((H-1)/4)+1)*(floor((W-1)/4)+1) == 64*floor((H+3)/32)*
floor((W+3)/32)`` holds on every size its earlier asserts allow, which search could never prove.
"""

from __future__ import annotations

import itertools
import math
from typing import Mapping, Sequence

import sympy
from sympy.core.relational import Relational

from arts.solver.budget import deadline_check
from arts.solver.intset import IntSet

#: Most class combinations one proof may visit, most head points per symbol, largest period.
MAX_COMBOS = 512
MAX_HEAD = 32
MAX_PERIOD = 256


def _periods(formula: sympy.Basic, syms: Sequence[sympy.Symbol]) -> dict[sympy.Symbol, int] | None:
    """Per symbol, the lcm of the denominators of the terms with it inside the floors, ceilings and
    mods of ``formula`` (integer moduli count as denominators).  Any choice of classes is sound
    (they cover the set); these are the ones on which those floors become polynomials."""
    L = {s: 1 for s in syms}

    def take(s: sympy.Symbol, d: int) -> None:
        if s in L:
            L[s] = L[s] * d // math.gcd(L[s], d)

    for t in formula.atoms(sympy.floor, sympy.ceiling, sympy.Mod):
        for term in sympy.Add.make_args(sympy.expand(t.args[0])):
            c = term.as_coeff_Mul()[0]
            if not c.is_Rational:
                return None
            for s in term.free_symbols:
                take(s, int(c.q))
        if isinstance(t, sympy.Mod) and t.args[1].is_Integer:
            for s in t.args[0].free_symbols:
                take(s, int(t.args[1]))
    return L


def _classes(s: sympy.Symbol, S: IntSet, L: int) -> list[sympy.Expr] | None:
    P = L * S.period // math.gcd(L, S.period)
    if P > MAX_PERIOD:
        return None
    head = [v for a, b in S.head for v in range(a, b + 1)]
    if len(head) > MAX_HEAD:
        return None
    out: list[sympy.Expr] = [sympy.Integer(v) for v in head]
    if S.residues:
        q = sympy.Symbol(f"_q_{s.name}", integer=True, nonnegative=True)
        out += [P * q + x for x in range(S.start, S.start + P) if x in S]
    return out


def _cancelled(f: sympy.Basic) -> sympy.Basic:
    """``f`` with the argument of each floor cancelled, innermost first (on a class a quotient of
    sizes such as ``64*N*(q + 1)/(8*q + 8)`` is the polynomial ``8*N``, whose floor is itself)."""
    if not f.has(sympy.floor):
        return f
    return f.replace(lambda e: isinstance(e, sympy.floor), lambda e: sympy.floor(sympy.cancel(e.args[0])))


def _settled(f: sympy.Basic) -> bool:
    """Whether ``f`` (after substitution) is true, with identities checked by expansion."""
    f = _cancelled(f)
    if f is sympy.true:
        return True
    reps = {}
    for r in f.atoms(Relational):
        if isinstance(r, sympy.Eq) and sympy.expand(r.lhs - r.rhs) == 0:
            reps[r] = sympy.true
        elif isinstance(r, sympy.Ne) and sympy.expand(r.lhs - r.rhs).is_nonzero:
            reps[r] = sympy.true
    if reps:
        f = f.xreplace(reps)
    return f is sympy.true


def proven_by_residues(formula: sympy.Basic, syms: Sequence[sympy.Symbol], sets: Mapping[sympy.Symbol, IntSet]) -> bool:
    """Whether ``formula`` holds at every point of the product of ``sets`` (over ``syms``),
    shown class by class; False means "not shown", never "refuted"."""
    free = [s for s in syms if s in formula.free_symbols]
    L = _periods(formula, free)
    if L is None:
        return False
    per: list[list[sympy.Expr]] = []
    total = 1
    for s in free:
        cl = _classes(s, sets.get(s, IntSet.everything()), L[s])
        if cl is None or not cl:
            return False
        per.append(cl)
        total *= len(cl)
        if total > MAX_COMBOS:
            return False
    for n, combo in enumerate(itertools.product(*per)):
        if n % 16 == 0:
            deadline_check()
        try:
            f = formula.xreplace(dict(zip(free, combo)))
        except (TypeError, ValueError, ZeroDivisionError):
            return False
        if not _settled(f):
            return False
    return True
