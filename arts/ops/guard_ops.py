"""``branch_guard``: a branch that ``forward`` took on its input sizes (see :mod:`arts.frontends.guards`).

Its formula (over placeholders of its arguments' sizes) is the condition under which the branch
goes the way it went when traced.  Two kinds:

* ``raises=True`` -- the other way certainly raises: the formula is a condition of the domain,
  like ``torch._assert`` (code ``assert-failed``, at the branch's line);
* ``raises=False`` -- the other way runs code that was not traced: the formula bounds the
  *captured region* (code ``captured-region``).  The checker decides inside it and reports
  ``unknown`` outside it, never an error or ``ok`` there (:func:`arts.graph.check.typecheck`).

The result is a 0-d marker, as for ``size_assert``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy

from arts.ops.base import REGISTRY, Condition, Inferred, OpSpec, Param, Shape, Text, bool_param, cond, keep, register
from arts.ops.frontend_ops import resolve
from arts.ops.tensor_ops import _Relation, _formula, _str

__all__ = ["REGION_CODE"]

#: the condition code of a region guard (the checker restricts the domain by it, silently)
REGION_CODE = "captured-region"


class BranchGuardSpec(OpSpec):
    """A branch on sizes taken by ``forward`` (see the module docstring)."""

    name = "branch_guard"
    doc = "a branch of forward on its input sizes (a condition of the domain or of the captured region)"
    arity = (0, None)
    params = (Param("formula", None, _formula), Param("raises", False, bool_param), Param("where", "", _str))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        f = resolve(p["formula"], inputs, "branch")
        where = p["where"] or "forward"
        if p["raises"]:
            return Inferred((), keep(cond(f, Text("forward raises here unless {}", _Relation(f)),
                                          code="assert-failed", expected=_Relation(f) if f is not sympy.false
                                          else None)))
        if f is sympy.true:
            return Inferred((), ())
        return Inferred((), (Condition(f, Text("the branch at {} goes the traced way only where {}", where,
                                                _Relation(f)), code=REGION_CODE),))


if BranchGuardSpec.name not in REGISTRY:
    register(BranchGuardSpec)
