"""Solving a dimension function for one parameter (the heart of Algorithm 1).

Given the seed's dimension function ``f_seed(I)`` and a candidate's ``f_cand(I; x)`` with one
unknown parameter ``x``, find the values of ``x`` that make the two agree for every ``I``.

Floors are set aside to *derive* candidates: ``floor(u)`` is replaced by ``u`` and the two affine
functions of ``I`` are equated coefficient by coefficient, which sympy solves exactly.  For
convs and pools (integer-valued arguments, same stride) this loses no solution; every value it
yields is then *proven* type-equivalent by the decision procedure before it is kept, so the
shortcut never admits a wrong candidate.
"""

from __future__ import annotations

from typing import Sequence

import sympy

from arts.errors import Unsupported


def unfloor(e: sympy.Basic) -> sympy.Basic:
    """``e`` with every floor/ceiling replaced by its argument."""
    return e.replace(lambda t: isinstance(t, (sympy.floor, sympy.ceiling)), lambda t: t.args[0])


def solve_parameter(seed: Sequence[sympy.Expr], cand: Sequence[sympy.Expr], inputs: Sequence[sympy.Symbol],
                    unknown: sympy.Symbol) -> list[sympy.Expr] | None:
    """Values of ``unknown`` for which ``cand`` equals ``seed`` as functions of ``inputs``.

    Returns a list of solutions (possibly empty), or None when ``unknown`` is unconstrained
    (every value works, e.g. the dilation of a 1x1 conv).
    """
    equations: list[sympy.Expr] = []
    for fs, fc in zip(seed, cand):
        diff = sympy.expand(unfloor(fs) - unfloor(fc))
        if diff == 0:
            continue
        try:
            poly = sympy.Poly(diff, *inputs)
        except sympy.PolynomialError as e:
            raise Unsupported(f"dimension function is not affine in the input: {diff}") from e
        equations.extend(c for c in poly.coeffs() if c != 0)
    if not equations:
        return None
    if not any(eq.has(unknown) for eq in equations):
        return [] if any(eq != 0 for eq in equations) else None
    sols = sympy.solve(equations, unknown, dict=True)
    return [s[unknown] for s in sols if unknown in s]
