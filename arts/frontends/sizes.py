"""Spell out accepted domains whose residual constraints are products of per-size factors.

A fixed classifier head (``Linear(512 * 7 * 7, ...)`` after ``flatten``) leaves a constraint such
as ``512*floor(H/32)*floor(W/32) == 25088``: a product, one factor per size.  Each factor must
then be a divisor of ``25088 / 512 = 49``, so the solutions are a finite union of boxes -- one per
factorisation ``49 = d_H * d_W`` -- and each box side is the exact truth set of ``floor(H/32) == d_H``.
:func:`explain` computes that union exactly (no search), for a note such as

    accepted sizes, exactly: H in 224..255 and W in 224..255; or H in 32..63 and W in 1568..1599; ...
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import sympy

from arts.errors import Unsupported
from arts.solver.domain import Domain
from arts.solver.intset import IntSet
from arts.solver.quasiaffine import truth_set

__all__ = ["explain", "product_boxes"]

#: Most boxes a description may list.
MAX_BOXES = 12


def _signed_divisors(m: int) -> list[int]:
    m = abs(m)
    ds = [d for d in range(1, int(m ** 0.5) + 1) if m % d == 0]
    ds = sorted(set(ds + [m // d for d in ds]))
    return ds + [-d for d in ds]


def _factorisations(m: int, k: int) -> list[tuple[int, ...]]:
    """Ordered k-tuples of (signed) integers whose product is ``m`` (``m != 0``)."""
    if k == 1:
        return [(m,)]
    out = []
    for d in _signed_divisors(m):
        for rest in _factorisations(m // d, k - 1):
            out.append((d,) + rest)
    return out


def product_boxes(c: sympy.Basic, dom: Domain) -> list[dict[sympy.Symbol, IntSet]] | None:
    """The solutions of ``c`` (``coeff * prod f_s(s) == K``) as a union of boxes, or None."""
    if not isinstance(c, sympy.Eq):
        return None
    lhs, rhs = c.lhs, c.rhs
    if rhs.free_symbols and not lhs.free_symbols:
        lhs, rhs = rhs, lhs
    if rhs.free_symbols or not rhs.is_Integer:
        return None
    coeff, rest = sympy.sympify(lhs).as_coeff_Mul()
    if not coeff.is_Rational or coeff == 0:
        return None
    groups: dict[sympy.Symbol, list[sympy.Basic]] = {}
    for f in sympy.Mul.make_args(rest):
        fs = f.free_symbols
        if len(fs) != 1:
            return None
        (s,) = fs
        groups.setdefault(s, []).append(f)
    M = sympy.Rational(rhs) / coeff
    syms = sorted(groups, key=lambda s: s.name)
    if not syms:
        return None
    if not M.is_Integer:
        return []
    m = int(M)
    if m == 0:
        return None  # a zero factor: not a finite union in general
    funcs = {s: sympy.Mul(*groups[s]) for s in syms}
    cache: dict[tuple[sympy.Symbol, int], IntSet] = {}
    boxes = []
    for combo in _factorisations(m, len(syms)):
        box: dict[Any, Any] = {}
        for s, d in zip(syms, combo):
            key = (s, d)
            if key not in cache:
                try:
                    cache[key] = truth_set(sympy.Eq(funcs[s], d), s) & dom.set_of(s)
                except Unsupported:
                    return None
            if cache[key].is_empty:
                box = {}
                break
            box[s] = cache[key]
        if box:
            boxes.append(box)
    return boxes


def _intersect(a: list[dict], b: list[dict]) -> list[dict]:
    out = []
    for x, y in itertools.product(a, b):
        z = dict(x)
        ok = True
        for s, st in y.items():
            z[s] = z[s] & st if s in z else st
            if z[s].is_empty:
                ok = False
                break
        if ok:
            out.append(z)
    return out


def _show_set(name: str, st: IntSet) -> str:
    lo, hi = st.min(), st.max() if st.is_finite else None
    if lo is not None and hi is not None and len(st.take(hi - lo + 2)) == hi - lo + 1:
        return f"{name} = {lo}" if lo == hi else f"{name} in {lo}..{hi}"
    return st.describe(name)


def explain(dom: Domain, symbols: Sequence[sympy.Symbol] = ()) -> str | None:
    """An exact, explicit description of ``dom`` when its residual constraints are products of
    per-symbol factors with finitely many solutions; None otherwise."""
    if dom.empty or not dom.residual:
        return None
    boxes: list[dict[Any, IntSet]] = [{}]
    for c in dom.residual:
        b = product_boxes(c, dom)
        if b is None:
            return None
        boxes = _intersect(boxes, b)
        if len(boxes) > 4 * MAX_BOXES:
            return None
    if not boxes:
        return "no input size"
    if len(boxes) > MAX_BOXES or not all(st.is_finite for box in boxes for st in box.values()):
        return None
    order = [s for s in (list(symbols) or list(dom.symbols)) if any(s in b for b in boxes)]
    parts = []
    for box in boxes:
        parts.append(" and ".join(_show_set(s.name, box[s]) for s in order if s in box))
    return "; or ".join(parts)
