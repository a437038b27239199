"""Conditions on ``Piecewise`` sizes as plain cases: the form every decision works on.

Broadcasting two symbolic sizes gives ``Piecewise((b, Eq(a, 1)), (a, True))`` (see
:mod:`arts.ops.merge`); where the live domain does not settle ``a == 1`` the Piecewise stays in
the shapes, and later conditions compare it (``Piecewise(...) == floor((H - 1)/8) + 1``).  A
relation with a Piecewise side is not quasi-affine as written, so it fell to bounded search
(``unknown``), and sympy's own handling (``piecewise_fold``, ``as_set``) takes seconds a formula.
Lifted, the relation is an exact disjunction over the pieces,

    ``R(Piecewise((x, c), (y, True)))  ==  (c and R(x)) or (not c and R(y))``,

(each piece's condition also says that no earlier piece's holds: the first true one is taken),
which is quasi-affine again and decided exactly.
"""

from __future__ import annotations

import sympy
from sympy.core.relational import Relational

#: Most cases one relation is split into (beyond it the relation is left as written).
MAX_CASES = 16

#: Largest relation lifted (distinct Piecewise in it, nodes of its tree): rebuilding a large
#: formula once per case costs more than the search it saves (a view's size products).
MAX_PIECEWISE = 4
MAX_NODES = 400


def cases(e: sympy.Basic, limit: int = MAX_CASES, depth: int = 8) -> list[tuple[sympy.Basic, sympy.Basic]] | None:
    """``e`` as ``[(value, condition)]``: Piecewise-free values under disjoint conditions that
    cover every point; None past ``limit`` cases, ``depth`` nested Piecewise, or where a piece's
    condition has a Piecewise."""
    pws = e.atoms(sympy.Piecewise)
    if not pws:
        return [(e, sympy.true)]
    if depth <= 0:
        return None
    if any(c.has(sympy.Piecewise) for p in pws for _, c in p.args):
        return None
    p = next(q for q in sorted(pws, key=sympy.default_sort_key) if not any(r != q and r.has(q) for r in pws))
    out: list[tuple[sympy.Basic, sympy.Basic]] = []
    earlier: list[sympy.Basic] = []
    for v, c in p.args:
        here = sympy.And(c, *(sympy.Not(x) for x in earlier))
        earlier.append(c)
        if here is sympy.false:
            continue
        sub = cases(e.xreplace({p: v}), limit, depth - 1)
        if sub is None:
            return None
        for v2, c2 in sub:
            both = sympy.And(here, c2)
            if both is not sympy.false:
                out.append((v2, both))
        if len(out) > limit:
            return None
    return out


def lift(cond: sympy.Basic, limit: int = MAX_CASES) -> sympy.Basic:
    """``cond`` with each relation on Piecewise sizes split into its cases (exact; a relation
    with more than ``limit`` cases is kept as written)."""
    if not isinstance(cond, sympy.Basic) or not cond.has(sympy.Piecewise):
        return cond
    reps = {}
    for r in cond.atoms(Relational):
        if not r.has(sympy.Piecewise) or len(r.atoms(sympy.Piecewise)) > MAX_PIECEWISE or \
                sum(1 for _ in sympy.preorder_traversal(r)) > MAX_NODES:
            continue
        cs = cases(r, limit)
        if cs is not None:
            reps[r] = sympy.Or(*(sympy.And(c, v) for v, c in cs))
    return cond.xreplace(reps) if reps else cond
