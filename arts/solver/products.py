"""Equations between products of one-size factors: window partitions' element counts.

``x.view(B, H // 7, 7, W // 7, 7, C)`` needs ``h*w == 49*floor(h/7)*floor(w/7)`` (``h``, ``w`` the
sizes at that point, floors of ``H`` and ``W``).  A product of two symbols' floors is outside the
quasi-affine fragment, and the residue classes of ``H`` and ``W`` together are too many to visit;
but the equation is two one-size questions in disguise.  Factored and grouped by symbol it reads
``k * prod_s a_s(s) == prod_s b_s(s)``, and when every ``a_s >= c_s * b_s >= 0`` with ``a_s >= 1``
at every size (or every ``a_s <= c_s * b_s`` with ``b_s >= 1``) and ``k * prod c_s == 1``, the two
sides are equal exactly where every ``a_s == c_s * b_s``: one quasi-affine equation per symbol
(``h ≡ 0 (mod 7)`` and ``w ≡ 0 (mod 7)``).

* :func:`split_atoms` writes such an atom of a formula as its one-symbol equations (DaViT's
  ``N == 1 or ...`` view conditions; a domain splits its constraints the same way, so it keeps
  per-symbol sets and no residual for them); :func:`split_product_equation` gives those sets;
* :func:`divisor_sets` bounds each factor of ``prod_s a_s(s) == K`` (GCViT's global query:
  ``h*w == 49``) to the divisors of ``K``, a finite set of sizes where ``a_s`` grows (a consequence
  only: the equation itself is kept);
* :func:`proven_factor_by_factor` proves an equation whose factors are equal group by group on a
  domain (each group's ratio a constant on its symbol's set), the case the front end hands over
  expanded (``N*pad(h)*pad(w)*C`` against its window count).
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING

import sympy

from arts.errors import Unsupported
from arts.solver.intset import IntSet
from arts.solver.quasiaffine import period_of, truth_set

if TYPE_CHECKING:
    from arts.solver.domain import Domain

__all__ = ["split_product_equation", "split_atoms", "divisor_sets", "proven_factor_by_factor"]


def _groups(eq: sympy.Eq) -> tuple[sympy.Rational, dict[sympy.Symbol, tuple[sympy.Expr, sympy.Expr]]] | None:
    """``eq`` as a positive rational ``k`` and, per symbol (two or more), ``(a_s, b_s)`` with
    ``k * prod a_s == prod b_s`` its meaning; None unless every factor (after sympy's factoring)
    has one symbol and an integer power."""
    if len(eq.free_symbols) < 2:
        return None
    parts: dict[frozenset, list] = {}
    for side, sign in ((eq.lhs, 1), (eq.rhs, -1)):
        try:
            factors = sympy.Mul.make_args(sympy.factor(side))
        except (sympy.PolynomialError, TypeError, ValueError):
            return None
        for f in factors:
            base, exp = f.as_base_exp()
            if not exp.is_Integer:
                return None
            parts.setdefault(frozenset(base.free_symbols), []).append((base, sign * int(exp)))
    k = sympy.Mul(*(b ** e for b, e in parts.pop(frozenset(), [])))
    if not k.is_Rational or k <= 0 or len(parts) < 2 or any(len(key) != 1 for key in parts):
        return None
    out = {}
    for key, ps in parts.items():
        a = sympy.Mul(*(b ** e for b, e in ps if e > 0))
        b = sympy.Mul(*(b ** -e for b, e in ps if e < 0))
        out[next(iter(key))] = (a, b)
    return sympy.Rational(k), out


def _divisors(n: int) -> list[int]:
    """The positive divisors of ``n`` (by trial division up to its square root)."""
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


#: Largest constant whose divisors :func:`divisor_sets` enumerates.
MAX_PRODUCT = 10**6


def _constant_product(eq: sympy.Eq) -> tuple[int, dict[sympy.Symbol, sympy.Expr]] | None:
    """``eq`` as ``prod_s a_s(s) == n``: a positive integer ``n`` (at most :data:`MAX_PRODUCT`) and
    integer factors, one per symbol; None otherwise."""
    g = _groups(eq)
    if g is None:
        return None
    k, groups = g
    if any(b != 1 or not a.is_integer for a, b in groups.values()):
        return None  # an integer product of integers: each a divisor (h/2 * w == 3 allows h == 3)
    n = 1 / k
    if not n.is_Integer or n > MAX_PRODUCT:
        return None
    return int(n), {s: a for s, (a, _) in groups.items()}


def _rate(e: sympy.Expr, s: sympy.Symbol) -> Fraction:
    L, D = period_of(e, s)
    return D / L


@lru_cache(maxsize=4096)
def _split(c: sympy.Eq) -> tuple[tuple[sympy.Symbol, sympy.Eq], ...] | None:
    """The one-symbol equations ``a_s == c_s * b_s`` whose conjunction ``c`` is exactly, or None
    (not such an equation, or the factors' order not shown for every size).  Each ``c_s`` is the
    ratio of the two factors' growth rates, the only constant that can bound ``a_s / c_s`` from
    below by ``b_s`` forever."""
    g = _groups(c)
    if g is None:
        return None
    k, groups = g
    out = []
    total = k
    ways = {"ge", "le"}
    try:
        for s, (a, b) in groups.items():
            ra, rb = _rate(a, s), _rate(b, s)
            if ra <= 0 or rb <= 0:
                return None
            cs = sympy.Rational(ra.numerator * rb.denominator, ra.denominator * rb.numerator)
            # every factor on one side bounds its partner from the same side: a_s >= c_s*b_s with
            # a_s >= 1 (or a_s <= c_s*b_s with b_s >= 1), so the products meet only where each pair does
            here = set()
            if truth_set(sympy.Ge(a, cs * b), s).is_everything and truth_set(sympy.Ge(a, 1), s).is_everything \
                    and truth_set(sympy.Ge(b, 0), s).is_everything:
                here.add("ge")
            if truth_set(sympy.Le(a, cs * b), s).is_everything and truth_set(sympy.Ge(b, 1), s).is_everything \
                    and truth_set(sympy.Ge(a, 0), s).is_everything:
                here.add("le")
            ways &= here
            if not ways:
                return None
            out.append((s, sympy.Eq(a, cs * b)))
            total *= cs
    except (Unsupported, TypeError, ValueError):
        return None
    return tuple(out) if total == 1 else None


#: Most factorisations :func:`_factorisations` spells out for one equation.
MAX_FACTORISATIONS = 64


@lru_cache(maxsize=4096)
def _factorisations(c: sympy.Eq) -> sympy.Basic | None:
    """``k * prod_s a_s(s) == 1`` with every ``a_s >= 0`` an integer size, as the disjunction over
    the ways of writing ``1/k`` as a product of one positive divisor per symbol (``h*w == 7``:
    ``h == 1 and w == 7``, or ``h == 7 and w == 1``); None when not such an equation."""
    cp = _constant_product(c)
    if cp is None:
        return None
    n, factors = cp
    try:
        if not all(truth_set(sympy.Ge(a, 0), s).is_everything for s, a in factors.items()):
            return None
    except (Unsupported, TypeError, ValueError):
        return None
    syms = list(factors)
    ways: list[list[int]] = [[]]
    for i in range(len(syms)):
        last = i == len(syms) - 1
        nxt = []
        for w in ways:
            rest = n // math.prod(w)
            for d in ([rest] if last else _divisors(rest)):
                nxt.append(w + [d])
        ways = nxt
        if len(ways) > MAX_FACTORISATIONS:
            return None
    return sympy.Or(*(sympy.And(*(sympy.Eq(factors[s], d) for s, d in zip(syms, w))) for w in ways))


def split_product_equation(c: sympy.Basic) -> dict[sympy.Symbol, IntSet] | None:
    """The per-symbol sets ``c`` is exactly equivalent to, or None (see :func:`_split`)."""
    if not isinstance(c, sympy.Eq):
        return None
    parts = _split(c)
    if parts is None:
        return None
    try:
        return {s: truth_set(e, s) for s, e in parts}
    except (Unsupported, TypeError, ValueError):
        return None


def split_atoms(formula: sympy.Basic, constants: bool = True) -> sympy.Basic:
    """``formula`` with every equation (and disequation) of products that :func:`_split` splits
    written as its one-symbol equations: DaViT's ``N == 1 or 4704*h28*w28 == 96*h4*w4`` becomes a
    formula whose every atom has one symbol, which the class-by-class procedure decides.
    ``constants``: a product equal to a constant becomes the disjunction of its factorisations too
    (a domain keeps that equation whole and bounds the factors by :func:`divisor_sets` instead)."""
    reps = {}
    for r in formula.atoms(sympy.Eq, sympy.Ne):
        if len(r.free_symbols) < 2:
            continue
        eq = sympy.Eq(r.lhs, r.rhs)
        parts = _split(eq)
        if parts is not None:
            both: sympy.Basic | None = sympy.And(*(e for _, e in parts))
        else:
            both = _factorisations(eq) if constants else None
        if both is None:
            continue
        reps[r] = both if isinstance(r, sympy.Eq) else sympy.Not(both)
    return formula.xreplace(reps) if reps else formula


def divisor_sets(c: sympy.Basic) -> dict[sympy.Symbol, IntSet]:
    """For ``k * prod_s a_s(s) == 1`` with every ``a_s >= 1``: each ``a_s`` divides ``1/k``, so each
    symbol lies where ``a_s`` is one of those divisors (exact consequences; empty when not such an
    equation)."""
    cp = _constant_product(c) if isinstance(c, sympy.Eq) else None
    if cp is None:
        return {}
    n, factors = cp
    divisors = _divisors(n)
    out: dict[sympy.Symbol, IntSet] = {}
    try:
        for s, a in factors.items():
            if not truth_set(sympy.Ge(a, 1), s).is_everything:
                return {}
            st = IntSet.nothing()
            for d in divisors:
                st = st | truth_set(sympy.Eq(a, d), s)
            out[s] = st
    except (Unsupported, TypeError, ValueError):
        return {}
    return out


def proven_factor_by_factor(formula: sympy.Basic, domain: "Domain") -> bool:
    """Whether an equation of products holds factor by factor on ``domain``: each symbol's
    ratio ``b_s / a_s`` the one constant it takes at the least size of its set, and the constants
    multiplying to ``k``.  True is a proof; False only "not shown"."""
    from arts.solver.decide import decide

    if not isinstance(formula, sympy.Eq):
        return False
    if sympy.expand(formula.lhs - formula.rhs) == 0:
        return True
    g = _groups(formula)
    if g is None:
        return False
    k, groups = g
    ratio = sympy.Integer(1)
    for s, (a, b) in groups.items():
        x0 = domain.set_of(s).min()
        if x0 is None:
            return False
        at = {s: sympy.Integer(x0)}
        av, bv = a.xreplace(at), b.xreplace(at)
        if not (av.is_Integer and bv.is_Integer) or av == 0 or bv == 0:
            return False
        cs = sympy.Rational(bv, av)  # b_s = cs * a_s at x0: shown at every size of the set
        if not decide(sympy.Eq(b, cs * a), domain).is_proven:
            return False
        ratio *= cs
    return ratio == k  # k * prod a_s == prod b_s == (prod cs) * prod a_s
