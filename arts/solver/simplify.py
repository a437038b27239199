"""Keep dimension expressions small and readable.

Deep networks nest floors: ``floor((floor((H - 1)/2) + 1 - 1)/2) + 1``.  Three exact identities
keep every size of a chain a single floor of the input, whatever the depth:

* ``floor((floor(y) + R)/n) == floor((y + R)/n)`` for an integer-valued ``R`` and an integer
  ``n >= 1`` (nested floors collapse);
* ``ceiling(P/n) == floor((P + n - 1)/n)`` for an integer-valued ``P`` (ceilings become floors,
  so ceil-mode pools collapse like floor-mode ones);
* ``Mod(P, m) == P - m*floor(P/m)``, and ``floor((P + n*Q)/n) == floor(P/n) + Q`` for integer-valued
  ``Q`` (the ceil-mode correction term of a pool cancels against the main floor).

Without them an expression that mentions its input twice (a ceil-mode pool does) doubles at every
node: at depth 10 sympy spends minutes on it.  With them the work per node is constant.  The
rewritten form is kept only where it is no larger than the input, so ``Mod(H, 16)`` stays as
written, and the user's constants stay where they are (``floor((H - 1)/2) + 1``) unless moving
them out of the floors (``floor((H + 1)/2)``) makes equal floors cancel.  Printing then writes
``floor(H/2 - 1/2)`` as ``floor((H - 1)/2)``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import sympy
from sympy.core.relational import Relational

_ROUND = (sympy.floor, sympy.ceiling)


def _over(e: sympy.Basic) -> tuple[dict[sympy.Basic, int], int] | None:
    """``e == sum(coeffs[t] * t) / den`` with integer ``coeffs``, integer-valued terms ``t``
    (``1`` for the constant) and a positive integer ``den``; None when ``e`` is not of that form."""
    cd = sympy.sympify(e).as_coefficients_dict()
    den = 1
    for t, c in cd.items():
        if not c.is_Rational:
            return None
        if t != 1 and t.is_integer is not True:
            return None
        den = den * int(c.q) // math.gcd(den, int(c.q))
    return {t: int(c * den) for t, c in cd.items() if c != 0}, den


def _sum(coeffs: dict[sympy.Basic, int]) -> sympy.Expr:
    return sympy.Add(*(c * t for t, c in coeffs.items()))


def _floor_div(coeffs: dict[sympy.Basic, int], den: int, canonical: bool = False) -> sympy.Expr:
    """``floor(sum(coeffs[t]*t) / den)`` for integer-valued terms, collapsed exactly.

    ``canonical`` also moves the constant into ``[0, den)`` (``floor((H - 1)/2) + 1`` becomes
    ``floor((H + 1)/2)``), so that equal functions more often get equal expressions."""
    for _ in range(64):  # every pass removes a nesting level or a term; bounded anyway
        g = den
        for c in coeffs.values():
            g = math.gcd(g, c)
        if g > 1:
            coeffs = {t: c // g for t, c in coeffs.items()}
            den //= g
        if den == 1:
            return _sum(coeffs)
        # terms whose coefficient is a multiple of den leave the floor
        out = {t: c // den for t, c in coeffs.items() if t != 1 and c % den == 0}
        one = sympy.Integer(1)
        if canonical and not (0 <= coeffs.get(one, 0) < den):
            out[one] = coeffs[one] // den
        if out:
            rest = {t: c for t, c in coeffs.items() if t not in out or t == one}
            if one in out:
                rest[one] = coeffs[one] % den
            return _sum(out) + _floor_div(rest, den, canonical)
        # one nested floor with coefficient 1 merges into this one
        nested = next((t for t, c in coeffs.items() if c == 1 and isinstance(t, sympy.floor)), None)
        if nested is None:
            break
        inner = _over(nested.args[0])
        if inner is None:
            break
        ic, n = inner
        merged: dict[sympy.Basic, int] = {}
        for t, c in ic.items():
            merged[t] = merged.get(t, 0) + c
        for t, c in coeffs.items():
            if t is not nested:
                merged[t] = merged.get(t, 0) + n * c
        coeffs = {t: c for t, c in merged.items() if c != 0}
        den = n * den
    arg = _sum(coeffs) / den
    if arg.is_Number:  # floor(3/4) is 0 (unevaluated, sympy calls it non-real and refuses comparisons)
        return sympy.floor(arg)
    return sympy.floor(arg, evaluate=False)


def _round_up(e: sympy.Basic) -> sympy.Basic | None:
    """``k*(R + Mod(P, n))`` where ``P ≡ c - R (mod n)`` term by term (``x + Mod(6*x, 7)``: a size padded
    up to a multiple of ``n``, ``x + (n - x % n) % n``) as ``c + n*floor((R - c + n - 1)/n)``.

    Exact for integer-valued terms: ``Mod(P, n) = Mod(c - R, n) = c - R - n*floor((c - R)/n)``, and
    ``-floor(-y) = ceiling(y)``.  Written through ``Mod`` the size mentions ``R`` twice, and after
    two halvings (Swin's window pad, then patch merging's pad to even) the nested floors no longer
    collapse; as one floor of ``R`` they do.  None when ``e`` is not of that form."""
    mods = [(k, m) for k, m in (t.as_coeff_Mul() for t in e.args) if isinstance(m, sympy.Mod)]
    if len(mods) != 1 or not mods[0][0].is_Rational or not (mods[0][1].args[1].is_Integer
                                                           and mods[0][1].args[1] > 1):
        return None
    k, mod = mods[0]  # e == k*(rest/k + Mod(P, n)): floor((x + Mod(x, 2))/2) has k = 1/2
    P, n = mod.args
    n = int(n)
    rest = sympy.expand((e - k * mod) / k)
    fr, fp = _over(rest), _over(P)
    if fr is None or fp is None or fr[1] != 1 or fp[1] != 1:
        return None
    total: dict[sympy.Basic, int] = dict(fr[0])
    for t, c in fp[0].items():
        total[t] = total.get(t, 0) + c
    one = sympy.Integer(1)
    if any(c % n for t, c in total.items() if t != one):
        return None
    c0 = total.get(one, 0) % n
    coeffs = dict(fr[0])
    coeffs[one] = coeffs.get(one, 0) - c0 + n - 1
    return k * (c0 + n * sympy.floor(_sum(coeffs) / n))


@lru_cache(maxsize=65536)
def _norm(e: sympy.Basic, canonical: bool = False) -> sympy.Basic:
    if not e.args or not e.has(sympy.floor, sympy.ceiling, sympy.Mod):
        return e
    if isinstance(e, sympy.Add) and e.has(sympy.Mod):
        up = _round_up(e)
        if up is not None:
            return _norm(up, canonical)
    args = [_norm(a, canonical) for a in e.args]
    if isinstance(e, _ROUND):
        form = _over(args[0])
        if form is None:
            return e.func(*args)
        coeffs, den = form
        if isinstance(e, sympy.ceiling):
            coeffs = dict(coeffs)
            coeffs[sympy.Integer(1)] = coeffs.get(sympy.Integer(1), 0) + den - 1
        return _floor_div(coeffs, den, canonical)
    if isinstance(e, sympy.Mod):
        a, m = args
        form = _over(a)
        if not (m.is_Integer and m > 0) or form is None or form[1] != 1:
            return e.func(*args)
        return a - m * _floor_div(form[0], int(m), canonical)
    return e.func(*args)


def _size(e: sympy.Basic) -> int:
    return sum(1 for _ in sympy.preorder_traversal(e))


def collapse(e: sympy.Basic) -> sympy.Basic:
    """``e`` with nested floors, ceilings and mods collapsed and constants moved out of floors
    (exact; possibly larger than ``e``): the form decisions work on."""
    if not isinstance(e, sympy.Basic) or not e.has(sympy.floor, sympy.ceiling, sympy.Mod):
        return e
    return _norm(e, True)


def simplify_dim(e: sympy.Basic) -> sympy.Basic:
    """Collapse nested floors/ceilings/mods (exactly) in a size expression or condition."""
    if not isinstance(e, sympy.Basic) or not e.has(sympy.floor, sympy.ceiling, sympy.Mod):
        return e
    return _simplify_dim(e)


@lru_cache(maxsize=1 << 15)
def _simplify_dim(e: sympy.Basic) -> sympy.Basic:
    """:func:`simplify_dim` of an expression with a floor, ceiling or mod (cached: the front end
    and the checker collapse the same sizes, once per node that has them)."""
    if isinstance(e, (sympy.And, sympy.Or, sympy.Not)) or isinstance(e, Relational):
        return e.func(*(simplify_dim(a) for a in e.args))
    best = e
    plain = _norm(e, False)
    if plain != e and _size(plain) <= _size(e):
        best = plain
    # canonical constants only where they make floors cancel (fewer floors), not for looks
    canon = _norm(e, True)
    if _rounds(canon) < _rounds(best):
        best = canon
    return best


def _rounds(e: sympy.Basic) -> int:
    return sum(1 for t in sympy.preorder_traversal(e) if isinstance(t, (sympy.floor, sympy.ceiling, sympy.Mod)))


def show_dim(e: object) -> str:
    """Print a size expression the way a person writes it: ``floor((H - 1)/2) + 1``."""
    if not isinstance(e, sympy.Basic):
        return str(e)
    reps = {}
    for t in e.atoms(sympy.floor, sympy.ceiling):
        arg = t.args[0]
        num, den = sympy.fraction(sympy.together(arg))
        if den != 1 and den.is_Integer:
            name = "floor" if isinstance(t, sympy.floor) else "ceiling"
            reps[t] = sympy.Symbol(f"{name}(({sympy.expand(num)})/{den})" if num.is_Add else
                                   f"{name}({sympy.expand(num)}/{den})")
    return str(e.xreplace(reps)) if reps else str(e)
