"""Rounded sizes rewritten by what the domain knows of them, so that quotients of sizes cancel.

After an assert ``h % 8 == 0`` on ``h = floor((H - 1)/16) + 1`` (HaloNet's block size), the
domain of ``H`` is ``H mod 128 ∈ {0, 113, ..., 127}``, and on it ``floor((H - 1)/16)`` only takes
values ``≡ 7 (mod 8)``: it *is* ``8*floor((H + 15)/128) - 1``.  A model that then reshapes
``N, C, h, w`` into blocks, ``reshape(-1, 8, h // 8, 8, w // 8, 8, C)`` style, gets a ``-1`` of
``N*C*h*w / (64*C*floor(h/8)*floor(w/8))``, which is ``N`` on the domain but which no
algebra can cancel while ``h`` and ``floor(h/8) = floor((H + 15)/128)`` are different atoms.
:func:`regroup` writes every floor of one size that the domain keeps in one residue class mod
``k > 1`` as ``k*floor(...) + c`` over the canonical coarser floor, and expands: the quotient then
cancels to a polynomial, and its divisibility condition to ``True``.

The rewrite is exact at every point of the domain's per-symbol sets (each value of the atom is
checked to be ``≡ c (mod k)`` by the sets' residues and head), so a shape or a condition rewritten
is the same function there: it is only applied where the caller works inside that domain.
"""

from __future__ import annotations

import math
from typing import Mapping

import sympy
from sympy.core.relational import Relational

from arts.solver.intset import IntSet

__all__ = ["regroup", "has_symbolic_quotient"]

#: Largest period (of the set times the floor's denominator) and head one atom may be examined over.
MAX_PERIOD = 4096
MAX_HEAD = 256


def has_symbolic_quotient(e: sympy.Basic) -> bool:
    """Whether a floor, ceiling or mod of ``e`` divides by a size (not by a constant): the
    expressions a ``-1`` of ``reshape`` gives, outside the quasi-affine fragment.  (Read off the
    expression as written: sympy keeps a quotient of sizes as a negative power.)"""
    if not e.has(sympy.floor, sympy.ceiling, sympy.Mod):
        return False
    for t in e.atoms(sympy.floor, sympy.ceiling, sympy.Mod):
        if isinstance(t, sympy.Mod):
            if t.args[1].free_symbols:
                return True
        elif _divides_by_size(t.args[0]):
            return True
    return False


def _linear(t: sympy.floor) -> tuple[sympy.Symbol, sympy.Rational, sympy.Rational] | None:
    """``floor(a*s + b)`` as ``(s, a, b)``, rationals, one symbol; None otherwise."""
    arg = t.args[0]
    free = arg.free_symbols
    if len(free) != 1:
        return None
    s = next(iter(free))
    try:
        p = sympy.Poly(arg, s)
    except sympy.PolynomialError:
        return None
    if p.degree() != 1:
        return None
    a, b = p.all_coeffs()
    if not (a.is_Rational and b.is_Rational) or a <= 0:
        return None
    return s, sympy.Rational(a), sympy.Rational(b)


def _class(S: IntSet, a: sympy.Rational, b: sympy.Rational) -> tuple[int, int] | None:
    """``(k, c)`` with every value of ``floor(a*x + b)`` over ``x ∈ S`` congruent to ``c`` mod ``k``
    (``k`` as large as the values allow, ``0 ≤ c < k``), or None (no common class, or too large)."""
    head = [x for lo, hi in S.head for x in range(lo, hi + 1)] if sum(hi - lo + 1 for lo, hi in S.head) <= MAX_HEAD \
        else None
    if head is None:
        return None
    values = [math.floor(a * x + b) for x in head]
    step = 0
    if S.residues:
        L = S.period * int(a.q) // math.gcd(S.period, int(a.q))
        if L > MAX_PERIOD:
            return None
        step = int(a * L)  # one period further, every value grows by this
        values += [math.floor(a * x + b) for x in range(S.start, S.start + L) if x in S]
    if not values:
        return None
    k = step
    for v in values[1:]:
        k = math.gcd(k, v - values[0])
    if k == 0:  # one value only: the atom is that constant
        return 0, values[0]
    if k <= 1:
        return None
    return k, values[0] % k


def regroup(e: sympy.Basic, sets: Mapping[sympy.Symbol, IntSet]) -> sympy.Basic:
    """``e`` with each one-size floor the ``sets`` keep in one class mod ``k > 1`` (or at one
    value) written over the coarser floor, expanded; ``e`` itself when nothing applies."""
    reps = {}
    for t in e.atoms(sympy.floor):
        lin = _linear(t)
        if lin is None or lin[0] not in sets:
            continue
        s, a, b = lin
        kc = _class(sets[s], a, b)
        if kc is None:
            continue
        k, c = kc
        if k == 0:
            reps[t] = sympy.Integer(c)
            continue
        # floor(a*s + b) = k*floor((a*s + b - c)/k) + c there; the inner floor in canonical form
        # (integer numerator, offset in [0, den)) so that it is the atom the model computed itself
        inner = (a * s + b - c) / k
        num, den = sympy.fraction(sympy.together(inner))
        pn = sympy.Poly(num, s)
        ca, cb = pn.all_coeffs()
        den_i = int(den)
        off = math.floor(cb)  # a*s is an integer for s integer: floor((ca*s + cb)/den) = floor((ca*s + floor(cb))/den)
        q, r = divmod(off, den_i)
        reps[t] = k * (sympy.floor((ca * s + r) / den_i) + q) + c
    if not reps:
        return e
    e = e.xreplace(reps)
    # a quotient of sizes is now one of polynomials in the coarser floors: cancel it (the window
    # counts 24*q + 4 over 168*q + 28 of a model fixed at two sizes are 1/7, whatever q)
    quotients = {t: t.func(sympy.cancel(t.args[0])) for t in e.atoms(sympy.floor) if _divides_by_size(t.args[0])}
    if quotients:
        e = e.xreplace(quotients)
    return _expanded(e)


def _divides_by_size(e: sympy.Basic) -> bool:
    """Whether ``e`` (as written, before any cancelling) divides by an expression of sizes."""
    return any(p.exp.is_negative and p.base.free_symbols for p in e.atoms(sympy.Pow))


def _expanded(e: sympy.Basic) -> sympy.Basic:
    """``e`` expanded: each side of each relation of a formula, or the expression itself."""
    if isinstance(e, sympy.logic.boolalg.Boolean) and not isinstance(e, Relational):
        return e.func(*(_expanded(a) for a in e.args)) if e.args else e
    if isinstance(e, Relational):
        return e.func(sympy.expand(e.lhs), sympy.expand(e.rhs))
    return sympy.expand(e)
