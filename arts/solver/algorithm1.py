"""Solving a dimension function for one parameter (the heart of Algorithm 1).

Given the seed's dimension function ``f_seed(I)`` and a candidate family's ``f_cand(I; x, a, b)``
with one unknown parameter ``x`` (and the two bound ones ``a``, ``b`` as symbols), find the values
of ``x`` that make the two agree for every ``I``, once, as ``alpha(a, b)*x + beta(a, b) == 0``.

Floors are set aside to *derive* candidates: ``floor(u)`` is replaced by ``u`` and the two affine
functions of ``I`` are equated coefficient by coefficient, which sympy solves exactly.  For
convs and pools (integer-valued arguments, same stride) this loses no solution; every value it
yields is then *proven* type-equivalent by the decision procedure before it is kept, so the
shortcut never admits a wrong candidate.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Callable, Sequence

import sympy

from arts.errors import Unsupported


def unfloor(e: sympy.Basic) -> sympy.Basic:
    """``e`` with every floor/ceiling replaced by its argument."""
    return e.replace(lambda t: isinstance(t, (sympy.floor, sympy.ceiling)), lambda t: t.args[0])


def linear_equations(seed: Sequence[sympy.Expr], cand: Sequence[sympy.Expr], inputs: Sequence[sympy.Symbol],
                     unknown: sympy.Symbol) -> list[tuple[sympy.Expr, sympy.Expr]]:
    """The conditions for ``cand == seed`` (floors set aside) as equations ``alpha*x + beta == 0``.

    ``cand`` may contain other parameters as symbols; ``alpha`` and ``beta`` are expressions of
    them, so one symbolic derivation serves every point of a parameter grid (see
    :func:`solve_linear_at`).
    """
    out: list[tuple[sympy.Expr, sympy.Expr]] = []
    for fs, fc in zip(seed, cand):
        diff = sympy.expand(unfloor(fs) - unfloor(fc))
        if diff == 0:
            continue
        try:
            poly = sympy.Poly(diff, *inputs)
        except sympy.PolynomialError as e:
            raise Unsupported(f"dimension function is not affine in the input: {diff}") from e
        for c in poly.coeffs():
            try:
                px = sympy.Poly(c, unknown)
            except sympy.PolynomialError as e:
                raise Unsupported(f"the equation {c} = 0 is not polynomial in {unknown}") from e
            if px.degree() > 1:
                raise Unsupported(f"the equation {c} = 0 is not linear in {unknown}")
            out.append((px.coeff_monomial(unknown), px.coeff_monomial(1)))
    return out


def solve_linear_at(equations: Sequence[tuple[Callable, Callable]], env: dict) -> list[Fraction] | None:
    """Solve compiled ``alpha*x + beta == 0`` equations at one point of the other parameters.

    Returns ``[x]``, ``[]`` (no solution) or None (every x solves them).
    """
    sol: Fraction | None = None
    for alpha, beta in equations:
        a, b = alpha(env), beta(env)
        if a == 0:
            if b != 0:
                return []
            continue
        v = -Fraction(b) / Fraction(a)
        if sol is None:
            sol = v
        elif sol != v:
            return []
    return None if sol is None else [sol]
