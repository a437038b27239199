"""The composite ops of ENAS search spaces (Pham et al. 2018).

* ``sep_conv2d``: a depthwise k x k conv (groups = input channels) then a pointwise 1x1 conv to
  ``out_channels``.  Its dimension function and accepted inputs are exactly conv2d's with the same
  kernel size, stride, padding and dilation, so the rule is conv2d's.
* ``factorized_reduction``: halves height and width with two shifted 1x1 stride-2 paths,
  each to ``out_channels / 2`` channels, concatenated and batch-normalised.  Output
  ``(N, out_channels, floor((H - 1)/2) + 1, floor((W - 1)/2) + 1)``; 4-d input only.

Omitted channel counts mean "channel-preserving", as everywhere in arts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import sympy

from arts.errors import InputError
from arts.ops.base import (
    REGISTRY, render, Inferred, OpSpec, Param, Shape, StaticShapeError, bool_param, cond, eq, int_param, keep,
    rank_error, register, tuple_param,
)
from arts.ops.conv import _padding
from arts.ops.norm import more_than_one


def _as_conv2d(p: dict[str, Any]) -> dict[str, Any]:
    return {"in_channels": p["in_channels"], "out_channels": p["out_channels"], "kernel_size": p["kernel_size"],
            "stride": p["stride"], "padding": p["padding"], "dilation": p["dilation"], "groups": 1,
            "bias": p["bias"], "padding_mode": "zeros"}


@register
class SepConv2dSpec(OpSpec):
    """Depthwise-separable 2-d convolution (ENAS ``sep_conv``)."""

    name = "sep_conv2d"
    spatial = 2
    doc = "depthwise k x k conv (groups = in_channels) followed by a pointwise 1x1 conv"
    params = (
        Param("in_channels", None, int_param(1, optional=True), "input channels (omitted: channel-preserving)"),
        Param("out_channels", None, int_param(1, optional=True), "output channels (omitted: = input channels)"),
        Param("kernel_size", None, tuple_param(2, 1)),
        Param("stride", 1, tuple_param(2, 1)),
        Param("padding", 0, _padding(2)),
        Param("dilation", 1, tuple_param(2, 1)),
        Param("bias", True, bool_param),
    )

    def validate(self, p: dict[str, Any]) -> None:
        REGISTRY["conv2d"].validate(_as_conv2d(p))

    def complete_form(self, p: dict[str, Any]) -> dict[str, Any]:
        q = REGISTRY["conv2d"].complete_form(_as_conv2d(p))
        return {k: q[k] for k in p}

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        try:
            inferred = REGISTRY["conv2d"].rule(_as_conv2d(p), inputs)
        except StaticShapeError as e:
            raise StaticShapeError(e.message.replace("conv2d", self.name), e.code, e.expected, e.found) from None
        conds = tuple(replace(c, message=render(c.message).replace("conv2d", self.name)) for c in inferred.conditions)
        return Inferred(inferred.shape, conds)

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import SepConv2d

        c_in = p["in_channels"] if p["in_channels"] is not None else inputs[0][-3]
        c_out = p["out_channels"] if p["out_channels"] is not None else c_in
        return SepConv2d(c_in, c_out, p["kernel_size"], stride=p["stride"], padding=p["padding"],
                         dilation=p["dilation"], bias=p["bias"])


@register
class FactorizedReductionSpec(OpSpec):
    """ENAS factorized reduction: ``(N, C, H, W) -> (N, out, ceil(H/2), ceil(W/2))``."""

    name = "factorized_reduction"
    spatial = 2
    doc = "ENAS factorized reduction (two shifted stride-2 1x1 paths, concatenated, batch norm)"
    params = (
        Param("in_channels", None, int_param(1, optional=True), "input channels (omitted: any)"),
        Param("out_channels", None, int_param(1, optional=True), "output channels, even (omitted: = input)"),
    )

    def validate(self, p: dict[str, Any]) -> None:
        for k in ("out_channels", "in_channels"):
            if p[k] is not None and p[k] % 2 and (k == "out_channels" or p["out_channels"] is None):
                raise InputError(f"parameter {k}={p[k]} must be even (the output channels are split over "
                                 "two paths)")

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        if len(x) != 4:
            raise rank_error(self.name, "a 4-d", x)
        n, c, h, w = (sympy.sympify(v) for v in x)
        conds = []
        if p["in_channels"] is not None:
            conds.append(eq(c, p["in_channels"], f"{self.name} expects {p['in_channels']} input channels",
                            code="channel-mismatch"))
        elif p["out_channels"] is None:
            conds.append(cond(sympy.Eq(sympy.Mod(c, 2), 0), f"{self.name} keeps the channel count, which must "
                              "be even (split over two paths)", code="channel-mismatch", expected="even",
                              found=str(c)))
        out_c = p["out_channels"] if p["out_channels"] is not None else (
            p["in_channels"] if p["in_channels"] is not None else c)
        ho, wo = sympy.floor((h - 1) / 2) + 1, sympy.floor((w - 1) / 2) + 1
        conds.append(more_than_one([n, ho, wo], 1, f"{self.name}'s batch norm needs more than 1 value per "
                                   "channel in training mode", "train"))
        return Inferred((n, sympy.sympify(out_c), ho, wo), keep(*conds))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import FactorizedReduction

        c_in = p["in_channels"] if p["in_channels"] is not None else inputs[0][1]
        c_out = p["out_channels"] if p["out_channels"] is not None else c_in
        return FactorizedReduction(c_in, c_out)
