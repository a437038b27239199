"""Ops that combine several tensors: broadcasting arithmetic (add, sub, mul, div), cat, stack.

Broadcasting follows torch: shapes are aligned from the right (the shorter one padded with 1s on
the left) and two sizes are compatible when they are equal or one of them is 1; the output takes
the size that is not 1.  Per dimension the rule is exact and stays quasi-affine wherever it can:

* equal expressions, or one side the literal 1: no condition, the output is the other side;
* a literal ``k != 1`` against a symbolic ``b``: condition ``b == k or b == 1``, output ``k``;
* two symbolic sizes: condition ``a == b or a == 1 or b == 1``, output
  ``Piecewise((b, Eq(a, 1)), (a, True))`` (evaluated exactly by :mod:`arts.solver.evaluate`).
"""

from __future__ import annotations

from typing import Any, Sequence

import sympy

from arts.messages import axis_name
from arts.solver.piecewise import lift

from arts.ops.base import (
    Text, Inferred, OpSpec, Param, Shape, StaticShapeError, choice_param, cond, eq, float_param, int_param,
    keep, norm_dim, rank_error, register,
)

__all__ = ["broadcast"]


def _int(e: Any) -> int | None:
    e = sympy.sympify(e)
    return int(e) if e.is_Integer else None


def broadcast(op: str, shapes: Sequence[Shape]) -> tuple[tuple, list]:
    """The broadcast of two shapes and the conditions that make them compatible."""
    a_shape, b_shape = (tuple(sympy.sympify(s) for s in sh) for sh in shapes)
    r = max(len(a_shape), len(b_shape))
    a_shape = (sympy.Integer(1),) * (r - len(a_shape)) + a_shape
    b_shape = (sympy.Integer(1),) * (r - len(b_shape)) + b_shape
    out, conds = [], []
    for i, (a, b) in enumerate(zip(a_shape, b_shape)):
        ia, ib = _int(a), _int(b)
        msg = Text("{}: sizes {} and {} at {} cannot be broadcast (need equal sizes or a 1)", op, a, b,
                   axis_name(i, r))
        expected = Text("{} or 1", a)
        if a == b or ib == 1:
            out.append(a)
        elif ia == 1:
            out.append(b)
        elif ia is not None and ib is not None:
            raise StaticShapeError(str(msg), code="broadcast", expected=str(expected), found=str(b))
        elif ia is not None:
            conds.append(cond(sympy.Or(sympy.Eq(b, ia), sympy.Eq(b, 1)), msg, code="broadcast",
                              expected=expected, found=b))
            out.append(a)
        elif ib is not None:
            conds.append(cond(sympy.Or(sympy.Eq(a, ib), sympy.Eq(a, 1)), msg, code="broadcast",
                              expected=Text("{} or 1", b), found=a))
            out.append(b)
        else:
            conds.append(cond(sympy.Or(sympy.Eq(a, b), sympy.Eq(a, 1), sympy.Eq(b, 1)), msg, code="broadcast",
                              expected=expected, found=b))
            out.append(_broadcast_size(a, b))
    return tuple(out), conds


def _broadcast_size(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    """The size two broadcast sizes give, ``b if a == 1 else a``, wherever they are compatible.

    Unevaluated: sympy's Piecewise simplification is slow and rewrites into ITE; the checker
    resolves the piece from the live domain when it can (arts.graph.check._resolve).  The test is
    kept free of ``Piecewise`` (a size that is itself a broadcast): sympy folds a Piecewise inside
    a piece's condition through ``as_set`` each time the expression is rebuilt, seconds a node.
    Where the sizes are compatible (``a == b or a == 1 or b == 1``, the rule's condition, under
    which alone the shape is used), ``a if b == 1 else b`` is the same size, so the side without a
    Piecewise is tested; with Piecewise on both sides, ``a == 1`` is split into its cases
    (:func:`arts.solver.piecewise.lift`)."""
    pw = sympy.Piecewise
    if a.has(pw) and not b.has(pw):
        return pw((a, sympy.Eq(b, 1)), (b, sympy.true), evaluate=False)
    return pw((b, lift(sympy.Eq(a, 1))), (a, sympy.true), evaluate=False)


class _Binary(OpSpec):
    arity = (2, 2)
    wrapper = ""

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        shape, conds = broadcast(self.name, inputs)
        return Inferred(shape, keep(*conds))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops import torch_modules

        return getattr(torch_modules, self.wrapper)(**p)


_ALPHA = Param("alpha", 1, float_param())
register(type("AddSpec", (_Binary,), {"name": "add", "wrapper": "Add", "params": (_ALPHA,), "doc": "torch.add"}))
register(type("SubSpec", (_Binary,), {"name": "sub", "wrapper": "Sub", "params": (_ALPHA,), "doc": "torch.sub"}))
register(type("MulSpec", (_Binary,), {"name": "mul", "wrapper": "Mul", "doc": "torch.mul"}))
register(type("DivSpec", (_Binary,), {
    "name": "div", "wrapper": "Div", "doc": "torch.div",
    "params": (Param("rounding_mode", None, choice_param(None, "trunc", "floor")),)}))


class _Joiner(OpSpec):
    arity = (1, None)
    params = (Param("dim", 0, int_param()),)

    def default_input(self, p: dict[str, Any]) -> list[Shape]:
        return OpSpec.default_input(self, p) * 2


@register
class CatSpec(_Joiner):
    """torch.cat: same rank, equal sizes except along ``dim``, where they add up."""

    name = "cat"
    doc = "torch.cat"

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        shapes = [tuple(s) for s in inputs]
        r = len(shapes[0])
        for i, s in enumerate(shapes):
            if len(s) == 0:
                raise rank_error(self.name, "an at least 1-d", s)
            if len(s) != r:
                raise StaticShapeError(f"{self.name}: input {i} has rank {len(s)} but input 0 has rank {r}",
                                       code="rank-mismatch", expected=f"rank {r}", found=f"rank {len(s)}")
        d = norm_dim(p["dim"], r, self.name)
        conds = []
        for i, s in enumerate(shapes[1:], 1):
            for j in range(r):
                if j != d:
                    conds.append(eq(s[j], shapes[0][j], f"{self.name}: input {i} differs from input 0 in "
                                                        f"dimension {j} (only dimension {d} may differ)"))
        out = list(shapes[0])
        out[d] = sympy.Add(*[sympy.sympify(s[d]) for s in shapes])
        return Inferred(tuple(out), keep(*conds))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import Cat

        return Cat(p["dim"])


@register
class StackSpec(_Joiner):
    """torch.stack: equal shapes, joined along a new dimension ``dim``."""

    name = "stack"
    doc = "torch.stack"

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        shapes = [tuple(s) for s in inputs]
        r = len(shapes[0])
        conds = []
        for i, s in enumerate(shapes[1:], 1):
            if len(s) != r:
                raise StaticShapeError(f"{self.name}: input {i} has rank {len(s)} but input 0 has rank {r}",
                                       code="rank-mismatch", expected=f"rank {r}", found=f"rank {len(s)}")
            for j in range(r):
                conds.append(eq(s[j], shapes[0][j], f"{self.name}: input {i} differs from input 0 in dimension {j}"))
        d = norm_dim(p["dim"], r + 1, self.name)
        out = shapes[0][:d] + (sympy.Integer(len(shapes)),) + shapes[0][d:]
        return Inferred(out, keep(*conds))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import Stack

        return Stack(p["dim"])

