"""Convolutions and transposed convolutions, 1-d to 3-d (torch.nn.ConvNd / ConvTransposeNd).

Dimension function per spatial size ``I`` (torch's documented formula):

    conv:            floor((I + 2p - d*(k-1) - 1) / s) + 1,   accepted when I + 2p - d*(k-1) >= 1
    conv_transpose:  (I - 1)*s - 2p + d*(k-1) + output_padding + 1,   accepted when that is >= 1
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

import sympy

from arts.errors import InputError
from arts.ops.base import (
    Inferred, OpSpec, Param, Shape, StaticShapeError, bool_param, choice_param, cond, eq, ge, int_param, keep,
    rank_error, register, tuple_param,
)

_DIMNAME = {1: "length", 2: "height/width", 3: "depth/height/width"}
_AXIS = {1: ["length"], 2: ["height", "width"], 3: ["depth", "height", "width"]}


def _padding(n: int) -> Any:
    ints = tuple_param(n, 0)

    def conv(v: Any, name: str) -> Any:
        if v == "valid":
            return (0,) * n
        if v == "same":
            return "same"
        if isinstance(v, str):
            raise InputError(f"parameter {name} must be an integer, a tuple, 'same' or 'valid', got {v!r}")
        return ints(v, name)
    return conv


def channel_split(op: str, x: Shape, n: int) -> tuple[tuple, Any, tuple]:
    """(batch dims, channel size, spatial sizes) of an input to an n-d channel-first op."""
    if len(x) not in (n + 1, n + 2):
        raise rank_error(op, f"a {n + 1}-d (unbatched) or {n + 2}-d (batched)", x)
    return tuple(x[: len(x) - n - 1]), x[-n - 1], tuple(x[-n:])


def channel_conditions(op: str, c_in: Any, in_channels: int | None, groups: int) -> list:
    out = []
    if in_channels is not None:
        out.append(eq(c_in, in_channels, f"{op} expects {in_channels} input channels", code="channel-mismatch"))
    elif groups > 1:
        out.append(cond(sympy.Eq(sympy.Mod(c_in, groups), 0),
                        f"{op} with groups={groups} needs the channel count divisible by {groups}",
                        code="channel-mismatch", expected=f"multiple of {groups}", found=str(c_in)))
    return out


class _ConvBase(OpSpec):
    transposed = False

    def validate(self, p: dict[str, Any]) -> None:
        g = p["groups"]
        for k in ("in_channels", "out_channels"):
            if p[k] is not None and p[k] % g:
                raise InputError(f"parameter {k}={p[k]} must be divisible by groups={g}")
        if not self.transposed and p["padding"] == "same" and any(s != 1 for s in p["stride"]):
            raise InputError("padding='same' is not supported for strided convolutions (torch)")
        if self.transposed:
            for op_, s, d in zip(p["output_padding"], p["stride"], p["dilation"]):
                if op_ >= max(s, d):
                    raise InputError(f"parameter output_padding={p['output_padding']} must be smaller than "
                                     f"either stride or dilation")

    def complete_form(self, p: dict[str, Any]) -> dict[str, Any]:
        q = dict(p)
        k, d = p["kernel_size"], p["dilation"]
        if not self.transposed and q["padding"] == "same":
            if all((di * (ki - 1)) % 2 == 0 for ki, di in zip(k, d)):
                q["padding"] = tuple(di * (ki - 1) // 2 for ki, di in zip(k, d))
        q["dilation"] = tuple(1 if ki == 1 else di for ki, di in zip(k, d))
        if q.get("padding_mode") != "zeros" and q.get("padding") == (0,) * self.spatial:  # type: ignore[operator]
            q["padding_mode"] = "zeros"  # no padding: the mode is irrelevant
        return q

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        n = self.spatial
        assert n is not None
        x = inputs[0]
        batch, c_in, sizes = channel_split(self.name, x, n)
        out_c = p["out_channels"] if p["out_channels"] is not None else (
            p["in_channels"] if p["in_channels"] is not None else c_in)
        conds = channel_conditions(self.name, c_in, p["in_channels"], p["groups"])
        out_sizes = []
        for i, I in enumerate(sizes):
            k, s, d = p["kernel_size"][i], p["stride"][i], p["dilation"][i]
            axis = _AXIS[n][i]
            if self.transposed:
                pad, opad = p["padding"][i], p["output_padding"][i]
                o = (I - 1) * s - 2 * pad + d * (k - 1) + opad + 1
                conds.append(ge(o, 1, f"{self.name} output {axis} must be positive", code="too-small"))
            elif p["padding"] == "same":
                o = I
                total = d * (k - 1)
                conds.extend(self._mode_conditions(p["padding_mode"], I, (total // 2, total - total // 2), axis))
            else:
                pad = p["padding"][i]
                eff = d * (k - 1) + 1
                conds.append(ge(I + 2 * pad, eff,
                                f"{self.name} kernel (effective size {eff}) is larger than the padded input {axis}",
                                code="too-small"))
                o = sympy.floor((I + 2 * pad - d * (k - 1) - 1) / sympy.Integer(s)) + 1
                conds.extend(self._mode_conditions(p["padding_mode"], I, (pad, pad), axis))
            out_sizes.append(o)
        return Inferred(tuple(batch) + (out_c,) + tuple(out_sizes), keep(*conds))

    def profile(self, p: dict[str, Any]) -> Any:
        """Numeric route to the type key (see arts.ops.types); zeros padding only."""
        from arts.ops.types import channel_comps, profile_key, spatial_names

        if p["padding_mode"] != "zeros":
            return None
        n = self.spatial
        assert n is not None
        comps0, acc0 = channel_comps(p["in_channels"], p["out_channels"], p["groups"])
        comps: list[Any] = list(comps0)
        acc = dict(acc0)
        same = p["padding"] == "same"
        for i in range(n):
            pad = 0 if same else p["padding"][i]
            opad = p["output_padding"][i] if self.transposed else 0
            comp, S = _axis_key(self.transposed, same, p["kernel_size"][i], p["stride"][i], pad,
                                p["dilation"][i], opad)
            comps.append(("fn", 2 + i, comp))
            acc[2 + i] = S
        return profile_key(spatial_names(n), comps, acc)

    def _mode_conditions(self, mode: str, I: Any, pads: tuple[int, int], axis: str) -> list:
        m = max(pads)
        if mode == "reflect" and m > 0:
            return [ge(I, m + 1, f"{self.name} reflect padding {m} must be less than the input {axis}",
                       code="too-small")]
        if mode == "circular" and m > 0:
            return [ge(I, m, f"{self.name} circular padding {m} must not exceed the input {axis}",
                       code="too-small")]
        return []

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        n = self.spatial
        assert n is not None
        c_in = inputs[0][-n - 1]
        in_c = p["in_channels"] if p["in_channels"] is not None else c_in
        out_c = p["out_channels"] if p["out_channels"] is not None else in_c
        if self.transposed:
            cls: Any = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[n]
            return cls(in_c, out_c, p["kernel_size"], stride=p["stride"], padding=p["padding"],
                       output_padding=p["output_padding"], groups=p["groups"], bias=p["bias"],
                       dilation=p["dilation"])
        cls = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[n]
        return cls(in_c, out_c, p["kernel_size"], stride=p["stride"], padding=p["padding"],
                   dilation=p["dilation"], groups=p["groups"], bias=p["bias"], padding_mode=p["padding_mode"])


def _axis_key(transposed: bool, same: bool, k: int, s: int, pad: int, d: int, opad: int) -> tuple:
    """(canonical key, accepted sizes) of one spatial axis of a conv, computed numerically."""
    if transposed:
        return _affine_axis(s, -2 * pad + d * (k - 1) + opad + 1)
    if same:
        return _floor_axis(-1, 1)  # x -> x on every size
    return _floor_axis(2 * pad - d * (k - 1) - 1, s)


@lru_cache(maxsize=65536)
def _floor_axis(a: int, s: int) -> tuple:
    """Axis ``x -> floor((x + a)/s) + 1`` on ``x + a >= 0``: keyed by what the function is."""
    from arts.ops.types import intern
    from arts.solver.canonical import canonical_1d
    from arts.solver.intset import IntSet

    S = IntSet.at_least(-a)
    return intern(canonical_1d(lambda x: (x + a) // s + 1, S, s, 1)), S


@lru_cache(maxsize=65536)
def _affine_axis(s: int, c0: int) -> tuple:
    """Axis ``x -> (x - 1)*s + c0`` on the sizes where that is >= 1."""
    from arts.ops.types import intern
    from arts.solver.canonical import canonical_1d
    from arts.solver.intset import IntSet

    S = IntSet.at_least(1 + -(-(1 - c0) // s))
    return intern(canonical_1d(lambda x: (x - 1) * s + c0, S, 1, s)), S


def _conv_params(n: int, transposed: bool) -> tuple[Param, ...]:
    ps = [
        Param("in_channels", None, int_param(1, optional=True), "input channels (omitted: channel-preserving)"),
        Param("out_channels", None, int_param(1, optional=True), "output channels (omitted: = input channels)"),
        Param("kernel_size", None, tuple_param(n, 1)),
        Param("stride", 1, tuple_param(n, 1)),
        Param("padding", 0, tuple_param(n, 0) if transposed else _padding(n)),
    ]
    if transposed:
        ps += [Param("output_padding", 0, tuple_param(n, 0)), Param("groups", 1, int_param(1)),
               Param("bias", True, bool_param), Param("dilation", 1, tuple_param(n, 1)),
               Param("padding_mode", "zeros", choice_param("zeros"))]
    else:
        ps += [Param("dilation", 1, tuple_param(n, 1)), Param("groups", 1, int_param(1)),
               Param("bias", True, bool_param),
               Param("padding_mode", "zeros", choice_param("zeros", "reflect", "replicate", "circular"))]
    return tuple(ps)


def _make(n: int, transposed: bool) -> type:
    name = f"conv_transpose{n}d" if transposed else f"conv{n}d"
    torch_name = f"ConvTranspose{n}d" if transposed else f"Conv{n}d"
    cls = type(torch_name + "Spec", (_ConvBase,), {
        "name": name, "spatial": n, "transposed": transposed, "torch_name": torch_name,
        "params": _conv_params(n, transposed),
        "doc": f"torch.nn.{torch_name}",
    })
    return register(cls)


for _n in (1, 2, 3):
    _make(_n, False)
    _make(_n, True)

__all__ = ["channel_split", "channel_conditions", "StaticShapeError"]
