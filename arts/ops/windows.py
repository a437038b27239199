"""Sliding windows: ``F.fold`` (col2im, blocks back to an image) and ``Tensor.unfold`` (the
windows of one dimension, as a view).

``fold`` follows ATen's ``col2im_shape_check``: the input is ``(N, C*kh*kw, L)`` or unbatched
``(C*kh*kw, L)``; its dimension -2 must be divisible by ``kh*kw``; with
``blocks_i = floor((out_i + 2*pad_i - dil_i*(k_i - 1) - 1) / stride_i) + 1`` (``div_rtn``: rounding
towards minus infinity) torch needs ``L == blocks_0 * blocks_1``, both block counts at least 1 and
both output sizes at least 1.  The output size is given as size expressions (``output_size=(H, W)``
read from another tensor, timm VOLO), over the placeholders of :mod:`arts.ops.frontend_ops`:
argument 0 is the folded tensor, later arguments the tensors whose sizes are read.

``unfold_dim`` is ``Tensor.unfold(dimension, size, step)`` (ATen ``unfold``): ``size`` at most the
dimension's size (a 0-d tensor counts as size 1), ``step`` positive; the dimension becomes
``floor((S - size) / step) + 1`` and a last dimension of ``size`` is appended.  The result is a
view: its strides are the input's with ``stride[d] * step`` at ``d`` and ``stride[d]`` appended
(the layout rule below), so a later ``view`` is judged on the strides torch really has.  As
everywhere in arts, sizes are positive: ``size == 0`` (an empty result in torch) is ``too-small``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy

from arts.ops import layout as _layout
from arts.ops.base import (
    Inferred, OpSpec, Param, Shape, StaticShapeError, Text, cond, eq, ge, int_param, keep, norm_dim, rank_error,
    register, tuple_param,
)
from arts.ops.frontend_ops import _expr_list, resolve

__all__: list[str] = []


def _pair_of_sizes(v: Any, name: str) -> tuple:
    out = _expr_list()(v, name)
    if len(out) == 1:
        out = out * 2
    if len(out) != 2:
        from arts.errors import InputError

        raise InputError(f"parameter {name} must be one size or 2 sizes, got {list(out)}")
    return out


@register
class FoldSpec(OpSpec):
    """``F.fold`` / ``nn.Fold``: ``(N, C*kh*kw, L)`` (or ``(C*kh*kw, L)``) to ``(N, C, oh, ow)``."""

    name = "fold"
    doc = "torch.nn.functional.fold / nn.Fold (output_size may be computed from tensor sizes)"
    arity = (1, None)
    params = (Param("output_size", None, _pair_of_sizes), Param("kernel_size", None, tuple_param(2, 1)),
              Param("dilation", 1, tuple_param(2, 1)), Param("padding", 0, tuple_param(2, 0)),
              Param("stride", 1, tuple_param(2, 1)))

    def default_input(self, p: dict[str, Any]) -> list[Shape]:
        from arts.solver.symbols import dim

        return [(dim("N"), dim("C"), dim("L"))]

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(sympy.sympify(s) for s in inputs[0])
        if len(x) not in (2, 3):
            raise rank_error("fold", "a 2-d (unbatched) or 3-d", x)
        out = [resolve(s, inputs, self.name) for s in p["output_size"]]
        kh, kw = p["kernel_size"]
        kk = kh * kw
        C, L = x[-2], x[-1]
        conds = [cond(sympy.Eq(sympy.Mod(C, kk), 0),
                      Text("fold: the input's dimension {} ({}) must be divisible by the product of kernel_size "
                           "({})", len(x) - 2, C, kk), code="channel-mismatch", expected=f"multiple of {kk}", found=C)]
        blocks = []
        for j, o in enumerate(out):
            k, d, pad, s = (p[n][j] for n in ("kernel_size", "dilation", "padding", "stride"))
            conds.append(ge(o, 1, f"fold: output size {j} must be positive", code="too-small"))
            b = sympy.floor((o + 2 * pad - d * (k - 1) - 1) / sympy.Integer(s)) + 1
            conds.append(ge(b, 1, f"fold: no sliding block fits output dimension {j}", code="too-small"))
            blocks.append(b)
        conds.append(eq(L, blocks[0] * blocks[1],
                        Text("fold: the input's last dimension must be the number of sliding blocks ({}) * ({})",
                             blocks[0], blocks[1])))
        return Inferred(x[:-2] + (sympy.floor(C / kk), out[0], out[1]), keep(*conds))


@register
class UnfoldDimSpec(OpSpec):
    """``Tensor.unfold(dimension, size, step)``: the windows of one dimension, as a new last one."""

    name = "unfold_dim"
    doc = "Tensor.unfold(dimension, size, step): sliding windows along one dimension (a view)"
    params = (Param("dimension", None, int_param()), Param("size", None, int_param()),
              Param("step", None, int_param()))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = [sympy.sympify(s) for s in inputs[0]]
        d = norm_dim(p["dimension"], max(len(x), 1), "unfold")
        size, step = p["size"], p["step"]
        if size < 0:
            raise StaticShapeError(f"unfold: size is {size} but must be >= 0", code="shape-mismatch")
        if step < 1:
            raise StaticShapeError(f"unfold: step is {step} but must be > 0", code="shape-mismatch")
        conds = [ge(sympy.Integer(size), 1, "unfold: a window of size 0 gives an empty result", code="too-small")]
        if not x:  # a 0-d tensor unfolds as a size-1 dimension into shape (size,)
            conds.append(ge(1, size, f"unfold: a 0-d tensor has windows of size at most 1, not {size}"))
            return Inferred((sympy.Integer(size),), keep(*conds))
        S = x[d]
        conds.append(ge(S, size, Text("unfold: the window size {} is larger than dimension {} ({})", size, d, S)))
        x[d] = sympy.floor((S - size) / sympy.Integer(step)) + 1
        return Inferred(tuple(x) + (sympy.Integer(size),), keep(*conds))


@_layout.rule("unfold_dim")
def _unfold_layout(c: _layout.Ctx) -> _layout.Layout:
    """The view's strides: the input's with ``stride[d] * step`` at ``d`` and ``stride[d]`` last."""
    shape, lay = c.inp()
    if not shape:
        return _layout.CONTIGUOUS  # (size,) with size <= 1
    st = _layout.strides_of(shape, lay)
    if st is None:  # overlapping windows: not dense even when the input is
        return _layout.unknown(lay.origin or c.here, lay.reason or f"the layout of {c.here}'s input is not modelled")
    d = norm_dim(c.p["dimension"], len(shape), "unfold")
    new = tuple(st[:d]) + (sympy.sympify(st[d]) * c.p["step"],) + tuple(st[d + 1:]) + (st[d],)
    return _layout.make(c.out, new, lay.origin or c.here, dense=False)
