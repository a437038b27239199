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
from typing import Callable

import sympy
from sympy.core.relational import Relational

from arts.errors import BudgetExceeded, Unsupported
from arts.solver.budget import deadline_check
from arts.solver.evaluate import compile_expr
from arts.solver.intset import IntSet
from arts.solver.simplify import collapse

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


def monotone(e: sympy.Basic, x: sympy.Symbol) -> int | None:
    """``1`` when ``e`` is syntactically nondecreasing in ``x`` over all integers, ``-1`` when
    nonincreasing, ``0`` when it does not depend on ``x``; None when neither is evident.

    Sums of monotone terms of one direction, positive or negative multiples, and floors/ceilings
    of monotone arguments are monotone: every conv and pool size of a chain is."""
    if not e.has(x):
        return 0
    if e == x:
        return 1
    if isinstance(e, sympy.Add):
        signs = {monotone(a, x) for a in e.args} - {0}
        if None in signs or len(signs) > 1:
            return None
        return signs.pop() if signs else 0
    if isinstance(e, sympy.Mul):
        coeff, rest = e.as_coeff_Mul()
        if not coeff.is_Rational or rest.is_Mul:
            return None
        m = monotone(rest, x)
        return None if m is None else (m if coeff > 0 else -m)
    if isinstance(e, (sympy.floor, sympy.ceiling)):
        return monotone(e.args[0], x)
    return None


#: Most doublings when searching for the threshold of a monotone condition.
MAX_BITS = 4096


def _least(pred: "Callable[[int], bool]", lo: int, what: str) -> int | None:
    """The least ``x >= lo`` with ``pred(x)`` for an upward-closed ``pred``; None if there is none
    (the caller knows ``pred`` is eventually true or constant, see :func:`_monotone_set`)."""
    if pred(lo):
        return lo
    step = 1
    bits = 0
    while not pred(lo + step):
        step *= 2
        bits += 1
        if bits > MAX_BITS:
            raise BudgetExceeded(f"no threshold below 2**{MAX_BITS} for {what}")
    a, b = lo + step // 2, lo + step  # pred(a) is false (a == lo when step == 1), pred(b) true
    if step == 1:
        a = lo
    while b - a > 1:
        m = (a + b) // 2
        if pred(m):
            b = m
        else:
            a = m
    return b


def _monotone_set(rel: Relational, x: sympy.Symbol, lo: int) -> IntSet | None:
    """The exact truth set on ``x >= lo`` of a relation whose sides differ by a monotone term,
    found by binary search (a few dozen evaluations, whatever the magnitude of the constants).
    None when the relation is not of that form."""
    if not isinstance(rel, (sympy.Ge, sympy.Gt, sympy.Le, sympy.Lt, sympy.Eq, sympy.Ne)):
        return None
    g = rel.lhs - rel.rhs
    if g.free_symbols - {x}:
        return None
    m = monotone(g, x)
    if m is None:
        return None
    try:
        _, D = period_of(g, x)
    except Unsupported:
        return None
    f = compile_expr(g)
    name = x.name

    def val(v: int) -> "int | Fraction":
        return f({name: v}) * (m or 1)  # h = m*g is nondecreasing

    if m == 0 or D == 0:  # monotone and periodic: constant
        truth = bool(compile_expr(rel)({name: lo}))
        return IntSet.at_least(lo) if truth else IntSet.nothing()
    # h = m*g is nondecreasing and unbounded above (D != 0 and monotone)
    def up(k: int, strict: bool) -> IntSet:
        """{x >= lo : h(x) >= k} (or > k)."""
        t = _least((lambda v: val(v) > k) if strict else (lambda v: val(v) >= k), lo, str(rel))
        assert t is not None
        return IntSet.at_least(t)

    below = IntSet.at_least(lo)
    if isinstance(rel, (sympy.Eq, sympy.Ne)):
        eq = up(0, False) - up(0, True)
        return eq if isinstance(rel, sympy.Eq) else below - eq
    # rel is g >= 0, g > 0 (Ge/Gt) or g <= 0, g < 0 (Le/Lt); with h = m*g
    positive = isinstance(rel, (sympy.Ge, sympy.Gt))  # asks g >= 0 / g > 0
    strict = isinstance(rel, (sympy.Gt, sympy.Lt))
    if (m > 0) == positive:  # asks h >= 0 (or h > 0)
        return up(0, strict)
    # asks h <= 0 (or h < 0): the complement of h > 0 (h >= 0)
    return below - up(0, not strict)


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


def _atom_set(rel: Relational, x: sympy.Symbol, lo: int) -> IntSet:
    """The exact truth set of one relation on ``x >= lo`` (nothing below ``lo``)."""
    st = _monotone_set(rel, x, lo)
    if st is not None:
        return st
    T, L = _atom_threshold(rel, x, lo)
    if T - lo + L > EVAL_BUDGET:
        raise BudgetExceeded(f"deciding {rel} needs {T - lo + L} evaluations, over the budget of {EVAL_BUDGET}")
    f = compile_expr(rel)
    name = x.name
    return IntSet.from_predicate(lambda v: bool(f({name: v})), T, L, lo)


def _combine(cond: sympy.Basic, sets: dict[sympy.Basic, IntSet], lo: int) -> IntSet:
    if cond in sets:
        return sets[cond]
    if cond is sympy.true:
        return IntSet.at_least(lo)
    if cond is sympy.false:
        return IntSet.nothing()
    parts = [_combine(a, sets, lo) for a in cond.args]
    if isinstance(cond, sympy.And):
        out = parts[0]
        for p in parts[1:]:
            out = out & p
        return out
    if isinstance(cond, sympy.Or):
        out = parts[0]
        for p in parts[1:]:
            out = out | p
        return out
    below = IntSet.at_least(lo)
    if isinstance(cond, sympy.Not):
        return below - parts[0]
    if isinstance(cond, sympy.Implies):
        return (below - parts[0]) | parts[1]
    if isinstance(cond, sympy.Equivalent):
        both = below
        neither = below
        for p in parts:
            both = both & p
            neither = neither - p
        return both | neither
    raise Unsupported(f"cannot decide {type(cond).__name__}: {cond}")


def truth_set(cond: sympy.Basic, x: sympy.Symbol, lo: int = 1) -> IntSet:
    """The exact set of ``x >= lo`` where ``cond`` (a boolean formula in ``x`` alone) holds.

    Nothing below ``lo`` is a member: callers that know ``x >= lo`` (a domain's lower bound)
    pass it, so the work does not grow with the magnitude of the bound.  Each relation's set is
    found exactly (by binary search when its sides differ by a monotone term, as every conv and
    pool size does; otherwise from its threshold and one period), then combined.
    """
    lo = max(1, lo)
    if isinstance(cond, sympy.Basic):
        cond = collapse(cond)
    if cond is sympy.true or cond is True:
        return IntSet.at_least(lo)
    if cond is sympy.false or cond is False:
        return IntSet.nothing()
    extra = cond.free_symbols - {x}
    if extra:
        raise Unsupported(f"{cond} depends on {', '.join(sorted(map(str, extra)))} besides {x}")
    if isinstance(cond, Relational):
        return _atom_set(cond, x, lo)
    atoms = cond.atoms(Relational)
    return _combine(cond, {a: _atom_set(a, x, lo) for a in atoms}, lo)


def _floor_terms(e: sympy.Basic, x: sympy.Symbol) -> list[tuple[int, int, int]] | None:
    """The floors of ``e`` as ``(a, b, n)`` for ``floor((a*x + b)/n)``, when ``e`` is a constant plus
    a rational combination of such floors with ``a, n > 0`` and no bare ``x`` term; else None."""
    out: list[tuple[int, int, int]] = []
    for t, c in sympy.sympify(e).as_coefficients_dict().items():
        if not c.is_Rational:
            return None
        if t == 1:
            continue
        if not isinstance(t, sympy.floor):
            return None
        num, den = sympy.fraction(sympy.together(t.args[0]))
        if not den.is_Integer:
            return None
        p = sympy.Poly(num, x) if num.has(x) else None
        if p is None or p.degree() != 1 or not all(k.is_Integer for k in p.all_coeffs()):
            return None
        a, b = (int(k) for k in p.all_coeffs())
        n = int(den)
        if n < 0:
            a, b, n = -a, -b, -n
        if a <= 0:
            return None
        out.append((a, b, n))
    return out


def _set_change(st: IntSet) -> Callable[[int], int | None]:
    """For an exact set: the least ``q > p`` where membership may differ from ``p``'s (None: never)."""
    def nxt(p: int) -> int | None:
        if p >= st.start:
            return p + 1 if st.period > 1 else None
        for a, b in st.head:
            if a > p:
                return a
            if b >= p:
                return b + 1
        return st.start
    return nxt


def first_failure(cond: sympy.Basic, x: sympy.Symbol, within: IntSet,
                  budget: int = EVAL_BUDGET) -> tuple[int | None, bool]:
    """``(y, complete)``: ``y`` the least member of ``within`` where ``cond`` fails (or None), found by
    walking the points where one of its relations may change truth: where one of its floors changes
    value, or a boundary of a relation whose exact set is cheap (``L >= 3``).  ``complete`` says the
    walk covered all of ``within`` (so ``y is None`` proves ``cond`` there).

    For conditions whose period is too long to analyse (``floor((L - 3)/100000) ==
    floor((L - 3)/100001)``: period 10**10) this still finds the smallest counterexample when it is
    within ``budget`` steps.  Raises :class:`Unsupported` when a relation is neither a sum of floors
    of ``a*x + b`` nor cheap to solve exactly."""
    cond = collapse(cond)
    terms: list[tuple[int, int, int]] = []
    changes: list[Callable[[int], int | None]] = []
    for rel in cond.atoms(Relational):
        ft = _floor_terms(rel.lhs - rel.rhs, x)
        if ft is not None:
            terms.extend(ft)
            continue
        changes.append(_set_change(_atom_set(rel, x, 1)))
    terms = list(dict.fromkeys(terms))
    f = compile_expr(cond)
    name = x.name
    p = within.min()
    for step in range(budget):
        if step % 256 == 0:
            deadline_check()
        if p is None:
            return None, True
        # the segment [p, q) on which every relation is constant (q None: up to infinity)
        cands = [-((-(n * ((a * p + b) // n + 1) - b)) // a) for a, b, n in terms]  # least y: a*y+b >= n*(v+1)
        cands += [c for c in (nxt(p) for nxt in changes) if c is not None]
        q = min(cands) if cands else None
        # the first member of ``within`` in the segment decides it
        y = within.next_member(p)
        if y is None:
            return None, True
        if q is not None and y >= q:
            p = y
            continue
        if not f({name: y}):
            return y, True
        if q is None:
            return None, True
        p = q
    return None, False
