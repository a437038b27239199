"""Keep dimension expressions small and readable.

Deep networks nest floors: ``floor((floor((H - 1)/2) + 1 - 1)/2) + 1``.  For an integer ``c`` and a
positive integer ``n``, ``floor((floor(u) + c)/n) == floor((u + c)/n)`` (and likewise for
``ceiling``), so nested floors of a chain of convs and pools collapse to one.  This is exact, and
it keeps both printing and deciding fast.  Printing then writes ``floor(H/2 - 1/2)`` as
``floor((H - 1)/2)``.
"""

from __future__ import annotations

import sympy


def _collapse(e: sympy.Basic) -> sympy.Basic:
    if not isinstance(e, (sympy.floor, sympy.ceiling)):
        return e
    kind = type(e)
    arg = e.args[0]
    coeffs = arg.as_coefficients_dict()
    inner = [t for t in coeffs if isinstance(t, kind)]
    if len(inner) != 1:
        return e
    (t,) = inner
    k = coeffs[t]
    if not (k.is_Rational and k > 0 and k.p == 1):
        return e
    n = k.q
    rest = sympy.Add(*(c * s for s, c in coeffs.items() if s is not t))
    if not rest.is_Rational or not (rest * n).is_Integer:
        return e
    return kind((t.args[0] + rest * n) / n)


def simplify_dim(e: sympy.Basic) -> sympy.Basic:
    """Collapse nested floors/ceilings (exactly) in a size expression."""
    if not isinstance(e, sympy.Basic) or not e.has(sympy.floor, sympy.ceiling):
        return e
    return e.replace(lambda t: isinstance(t, (sympy.floor, sympy.ceiling)), _collapse)


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
