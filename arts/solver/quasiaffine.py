"""Periodicity of quasi-affine expressions in one variable, and exact truth sets.

An expression built from a variable ``x``, integer/rational constants, ``+``, multiplication by
a constant, ``floor``, ``ceiling`` and ``Mod`` by a constant is *quasi-affine*: there is a period
``L`` and an increment ``D`` with ``e(x + L) = e(x) + D`` for every integer ``x``.  (For
``floor(e)`` with ``e`` of increment ``p/q``, ``q*L`` is a period with increment ``p``.)

Consequently a relation ``g(x) >= 0`` (or ``==``, ``<``...) is, past a computable threshold,
either constant (``D != 0``: the sign of ``g`` is fixed) or periodic (``D == 0``).  Checking one
window ``[1, T + L)`` therefore decides it for **every** positive integer exactly -- this is the
decision procedure behind type-equivalence and forward-compatibility of convs and pools.
"""

from __future__ import annotations

import math
from fractions import Fraction

import sympy
from sympy.core.relational import Relational

from arts.errors import BudgetExceeded, Unsupported
from arts.solver.evaluate import compile_expr
from arts.solver.intset import IntSet

#: Most points one truth-set computation may evaluate before answering unknown.
EVAL_BUDGET = 200_000


def _lcm(a: int, b: int) -> int:
    return a * b // math.gcd(a, b)


def period_of(e: sympy.Basic, x: sympy.Symbol) -> tuple[int, Fraction]:
    """``(L, D)`` with ``e(x + L) == e(x) + D`` for all integers ``x``.

    Raises :class:`Unsupported` when ``e`` is not quasi-affine in ``x`` (a product of two
    terms in ``x``, a power, ``Max``, another free symbol...).
    """
    if not e.has(x):
        if e.free_symbols:
            raise Unsupported(f"{e} depends on {', '.join(sorted(map(str, e.free_symbols)))} besides {x}")
        return 1, Fraction(0)
    if e == x:
        return 1, Fraction(1)
    if isinstance(e, sympy.Add):
        L, parts = 1, []
        for a in e.args:
            la, da = period_of(a, x)
            parts.append((la, da))
            L = _lcm(L, la)
        return L, sum((da * (L // la) for la, da in parts), Fraction(0))
    if isinstance(e, sympy.Mul):
        coeff, rest = e.as_coeff_Mul()
        if rest.is_Mul:
            dep = [a for a in rest.args if a.has(x)]
            if len(dep) != 1 or any(a.free_symbols for a in rest.args if not a.has(x)):
                raise Unsupported(f"{e} is not affine in {x}")
        if not coeff.is_Rational:
            raise Unsupported(f"non-rational coefficient in {e}")
        if rest.is_Mul:
            (inner,) = [a for a in rest.args if a.has(x)]
        else:
            inner = rest
        L, D = period_of(inner, x)
        return L, D * Fraction(int(coeff.p), int(coeff.q))
    if isinstance(e, (sympy.floor, sympy.ceiling)):
        L, D = period_of(e.args[0], x)
        return L * D.denominator, Fraction(D.numerator)
    if isinstance(e, sympy.Mod):
        a, m = e.args
        if m.free_symbols or not m.is_Rational or m == 0:
            raise Unsupported(f"Mod by a non-constant in {e}")
        return period_of(a - m * sympy.floor(a / m), x)
    raise Unsupported(f"{type(e).__name__} is not quasi-affine in {x}: {e}")


def _atom_threshold(rel: Relational, x: sympy.Symbol, lo: int) -> tuple[int, int]:
    """(T, L): from T on, the truth of ``rel`` is periodic with period L."""
    g = rel.lhs - rel.rhs
    L, D = period_of(g, x)
    if D == 0:
        return lo, L
    f = compile_expr(g)
    name = x.name
    if L > EVAL_BUDGET:
        raise BudgetExceeded(f"period {L} of {g} is over the budget")
    window = [f({name: lo + i}) for i in range(L)]
    if D > 0:  # g(lo + t*L + r) = window[r] + t*D; strictly positive once min + t*D > 0
        m = min(window)
        t = 0 if m > 0 else math.floor(-m / D) + 1
    else:
        M = max(window)
        t = 0 if M < 0 else math.floor(M / -D) + 1
    return lo + t * L, L


def truth_set(cond: sympy.Basic, x: sympy.Symbol, lo: int = 1) -> IntSet:
    """The exact set of ``x >= 1`` where ``cond`` (a boolean formula in ``x`` alone) holds.

    ``lo`` lets callers skip analysing points below it (they are still evaluated).
    """
    if cond is sympy.true or cond is True:
        return IntSet.everything()
    if cond is sympy.false or cond is False:
        return IntSet.nothing()
    extra = cond.free_symbols - {x}
    if extra:
        raise Unsupported(f"{cond} depends on {', '.join(sorted(map(str, extra)))} besides {x}")
    T, L = 1, 1
    for rel in cond.atoms(Relational):
        t, l_ = _atom_threshold(rel, x, 1)
        T, L = max(T, t), _lcm(L, l_)
        if T + L > EVAL_BUDGET:
            raise BudgetExceeded(
                f"deciding {cond} needs {T + L} evaluations, over the budget of {EVAL_BUDGET}"
            )
    f = compile_expr(cond)
    name = x.name
    return IntSet.from_predicate(lambda v: bool(f({name: v})), T, L)
