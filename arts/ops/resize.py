"""Ops that change spatial sizes without a kernel: upsample/interpolate, pixel (un)shuffle, pad.

``upsample``/``interpolate``: the output size is ``size``, or ``floor(I * scale_factor)``.  torch
computes that product in double precision, so arts accepts only scale factors that are dyadic
rationals with small numerator and denominator (``2``, ``0.5``, ``1.5``, ``0.25``...): for those
the floating-point product is exact and the dimension function is the quasi-affine
``floor(I * m / 2**k)``.  Other factors (``0.1``, ``1/3``) make the rule raise
:class:`~arts.errors.Unsupported`.  Modes need ranks: ``linear`` 3-d, ``bilinear``/``bicubic``/
``lanczos`` 4-d, ``trilinear`` 5-d, ``nearest``/``nearest-exact``/``area`` 3- to 5-d.

``pad`` (``F.pad``): constant padding takes any rank with at least ``len(pad) // 2`` dimensions;
reflect/replicate/circular take ``len(pad) // 2 + 1`` or ``+ 2`` dimensions.  Negative pads crop.
Reflect pads must be smaller than the padded size, circular pads at most as large; circular
padding with a negative pad is Unsupported (torch's result then depends on memory layout).

Empty outputs: arts sizes are positive, so an output size of 0 is a type error here even in the
two places where torch would return an empty tensor (constant padding that crops everything,
``area`` interpolation with ``floor(I * s) == 0``).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

import sympy

from arts.errors import InputError, Unsupported
from arts.ops.base import (
    Inferred, OpSpec, Param, Shape, StaticShapeError, bool_param, choice_param, cond, ge, int_param, keep,
    rank_error, register,
)
from arts.ops.linear import int_list
from arts.solver.symbols import dim

_MODE_RANKS = {
    "nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "area": (3, 4, 5),
    "linear": (3,), "bilinear": (4,), "bicubic": (4,), "lanczos": (4,), "trilinear": (5,),
}
_NON_INTERPOLATING = ("nearest", "area", "nearest-exact")
#: Largest numerator/denominator of a scale factor for which I * s is exact in double precision.
_SCALE_LIMIT = 2 ** 20


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _sizes(v: Any, name: str) -> Any:
    if v is None or _is_int(v):
        if v is not None and v < 1:
            raise InputError(f"parameter {name} must be a positive integer, got {v}")
        return v
    if isinstance(v, (list, tuple)) and v and len(v) <= 3 and all(_is_int(x) and x >= 1 for x in v):
        return tuple(v)
    raise InputError(f"parameter {name} must be a positive integer or a list of 1 to 3 of them, got {v!r}")


def _scales(v: Any, name: str) -> Any:
    def one(x: Any) -> Any:
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise InputError(f"parameter {name} must be a number or a list of numbers, got {v!r}")
        if not x > 0 or x != x or x == float("inf"):
            raise InputError(f"parameter {name} must be positive, got {v!r}")
        return x
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        if not v or len(v) > 3:
            raise InputError(f"parameter {name} must be a number or a list of 1 to 3 numbers, got {v!r}")
        return tuple(one(x) for x in v)
    return one(v)


def _opt_bool(v: Any, name: str) -> Any:
    return None if v is None else bool_param(v, name)


def exact_scale(s: Any, op: str) -> sympy.Rational:
    """``s`` as an exact rational, if torch's double-precision ``I * s`` is exact; else Unsupported."""
    f = Fraction(s)
    den = f.denominator
    if den & (den - 1) or f.numerator >= _SCALE_LIMIT or den >= _SCALE_LIMIT:
        raise Unsupported(f"{op}: scale_factor {s!r} is not a short dyadic rational (m / 2**k); torch rounds "
                          "I * scale_factor in floating point, so the exact output size cannot be known "
                          "symbolically -- give size=..., or a factor like 2, 0.5 or 1.5")
    return sympy.Rational(f.numerator, den)


def constant_pad_axis(op: str, size: Any, left: Any, right: Any, where: str) -> tuple[Any, list]:
    """One axis of constant padding (amounts are ints or size expressions; negative ones crop):
    torch narrows by a negative amount before padding, so each crop must fit in the size, and
    the result must stay non-empty.  Shared by ``pad`` and the front end's ``sized_pad``."""
    left, right = sympy.sympify(left), sympy.sympify(right)
    conds = []
    for v in (left, right):
        if v.is_nonnegative is not True:
            conds.append(ge(size + v, 0, f"{op}: negative padding {v} crops more than {where} holds",
                            code="too-small"))
    out = size + left + right
    conds.append(ge(out, 1, f"{op}: padding ({left}, {right}) leaves {where} empty", code="too-small"))
    return out, conds

class _ResizeBase(OpSpec):
    def validate(self, p: dict[str, Any]) -> None:
        size, scale, mode = p["size"], p["scale_factor"], p["mode"]
        if size is not None and scale is not None:
            raise InputError("parameters size and scale_factor: give only one of them")
        if size is None and scale is None:
            raise InputError("parameters size and scale_factor: give one of them")
        if mode in _NON_INTERPOLATING and p["align_corners"] is not None:
            raise InputError(f"parameter align_corners can only be set with the interpolating modes "
                             f"(linear, bilinear, bicubic, trilinear), not mode={mode!r}")
        if p["recompute_scale_factor"] and size is not None:
            raise InputError("parameter recompute_scale_factor is not meaningful with an explicit size")
        antialias = p.get("antialias", False)
        if antialias and mode not in ("bilinear", "bicubic", "lanczos"):
            raise InputError(f"parameter antialias is restricted to bilinear, bicubic and lanczos modes, "
                             f"not mode={mode!r}")
        if mode == "lanczos":
            if not antialias:
                raise InputError("parameter antialias must be true with mode='lanczos'")
            if p["align_corners"]:
                raise InputError("parameter align_corners=True is not supported with mode='lanczos'")

    def _given_len(self, p: dict[str, Any]) -> int | None:
        v = p["size"] if p["size"] is not None else p["scale_factor"]
        return len(v) if isinstance(v, tuple) else None

    def default_input(self, p: dict[str, Any]) -> list[Shape]:
        n = self._given_len(p) or (_MODE_RANKS[p["mode"]][0] - 2 if p["mode"] not in _NON_INTERPOLATING else 2)
        names = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}[n]
        return [(dim("N"), dim("C")) + tuple(dim(x) for x in names)]

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        mode = p["mode"]
        ranks = _MODE_RANKS[mode]
        if len(x) not in ranks:
            raise rank_error(self.name, f"a {' or '.join(f'{r}-d' for r in ranks)} (mode {mode!r})", x)
        n = len(x) - 2
        given = self._given_len(p)
        if given is not None and given != n:
            which = "size" if p["size"] is not None else "scale_factor"
            raise StaticShapeError(f"{self.name}: {which} has {given} entries but the input has {n} spatial "
                                   f"dimensions", code="rank-mismatch", expected=f"rank {given + 2}",
                                   found=f"rank {len(x)}")
        out, conds = [], []
        for i, size_in in enumerate(x[2:]):
            if p["size"] is not None:
                s = p["size"]
                out.append(sympy.Integer(s[i] if isinstance(s, tuple) else s))
                continue
            sc = p["scale_factor"]
            r = exact_scale(sc[i] if isinstance(sc, tuple) else sc, self.name)
            o = sympy.floor(sympy.sympify(size_in) * r)
            conds.append(ge(o, 1, f"{self.name} output size along spatial dimension {i} must be positive "
                                  f"(input too small for scale_factor {r})", code="too-small"))
            out.append(o)
        return Inferred(x[:2] + tuple(out), keep(*conds))


def _resize_params(functional: bool) -> tuple[Param, ...]:
    modes = tuple(_MODE_RANKS) if functional else tuple(m for m in _MODE_RANKS if m != "lanczos")
    ps = [Param("size", None, _sizes), Param("scale_factor", None, _scales),
          Param("mode", "nearest", choice_param(*modes)), Param("align_corners", None, _opt_bool),
          Param("recompute_scale_factor", None, _opt_bool)]
    if functional:
        ps.append(Param("antialias", False, bool_param))
    return tuple(ps)


def _list(v: Any) -> Any:
    return list(v) if isinstance(v, tuple) else v


@register
class UpsampleSpec(_ResizeBase):
    """torch.nn.Upsample."""

    name = "upsample"
    torch_name = "Upsample"
    doc = "torch.nn.Upsample"
    params = _resize_params(False)

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        return nn.Upsample(size=p["size"], scale_factor=p["scale_factor"], mode=p["mode"],
                           align_corners=p["align_corners"], recompute_scale_factor=p["recompute_scale_factor"])


@register
class InterpolateSpec(_ResizeBase):
    """torch.nn.functional.interpolate."""

    name = "interpolate"
    doc = "torch.nn.functional.interpolate"
    params = _resize_params(True)

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import Interpolate

        return Interpolate(size=_list(p["size"]), scale_factor=_list(p["scale_factor"]), mode=p["mode"],
                           align_corners=p["align_corners"], recompute_scale_factor=p["recompute_scale_factor"],
                           antialias=p["antialias"])


@register
class PixelShuffleSpec(OpSpec):
    """torch.nn.PixelShuffle: ``(*, C*r*r, H, W) -> (*, C, H*r, W*r)``."""

    name = "pixel_shuffle"
    torch_name = "PixelShuffle"
    doc = "torch.nn.PixelShuffle"
    spatial = 2
    params = (Param("upscale_factor", None, int_param(1)),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        if len(x) < 3:
            raise rank_error(self.name, "an at least 3-d", x)
        r = p["upscale_factor"]
        c, h, w = (sympy.sympify(v) for v in x[-3:])
        c_ok = cond(sympy.Eq(sympy.Mod(c, r * r), 0), f"{self.name} needs the channel count divisible by "
                    f"upscale_factor² = {r * r}", code="channel-mismatch", expected=f"multiple of {r * r}",
                    found=str(c))
        return Inferred(x[:-3] + (sympy.floor(c / (r * r)), h * r, w * r), keep(c_ok))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        return nn.PixelShuffle(p["upscale_factor"])


@register
class PixelUnshuffleSpec(OpSpec):
    """torch.nn.PixelUnshuffle: ``(*, C, H*r, W*r) -> (*, C*r*r, H, W)``."""

    name = "pixel_unshuffle"
    torch_name = "PixelUnshuffle"
    doc = "torch.nn.PixelUnshuffle"
    spatial = 2
    params = (Param("downscale_factor", None, int_param(1)),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        if len(x) < 3:
            raise rank_error(self.name, "an at least 3-d", x)
        r = p["downscale_factor"]
        c, h, w = (sympy.sympify(v) for v in x[-3:])
        conds = [cond(sympy.Eq(sympy.Mod(v, r), 0), f"{self.name} needs the {axis} divisible by "
                      f"downscale_factor = {r}", expected=f"multiple of {r}", found=str(v))
                 for v, axis in ((h, "height"), (w, "width"))]
        return Inferred(x[:-3] + (c * r * r, sympy.floor(h / r), sympy.floor(w / r)), keep(*conds))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        return nn.PixelUnshuffle(p["downscale_factor"])


def _pad_list(v: Any, name: str) -> tuple[int, ...]:
    vals = int_list()(v, name)
    if len(vals) % 2:
        raise InputError(f"parameter {name} must have an even length (a (left, right) pair per dimension), "
                         f"got {list(vals)}")
    return vals


def _pad_value(v: Any, name: str) -> Any:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(f"parameter {name} must be a number, got {v!r}")
    return v


@register
class PadSpec(OpSpec):
    """torch.nn.functional.pad: ``pad`` lists (left, right) pairs from the last dimension backwards."""

    name = "pad"
    doc = "torch.nn.functional.pad"
    params = (Param("pad", None, _pad_list),
              Param("mode", "constant", choice_param("constant", "reflect", "replicate", "circular")),
              Param("value", None, _pad_value))

    def validate(self, p: dict[str, Any]) -> None:
        if p["mode"] != "constant":
            if len(p["pad"]) not in (2, 4, 6):
                raise InputError(f"parameter pad must have 2, 4 or 6 entries with mode={p['mode']!r}, "
                                 f"got {len(p['pad'])}")
            if p["value"] not in (None, 0):
                raise InputError(f"parameter value is only meaningful with mode='constant', not {p['mode']!r}")

    def default_input(self, p: dict[str, Any]) -> list[Shape]:
        m = max(len(p["pad"]) // 2, 1)
        names = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}.get(m) or [f"D{i}" for i in range(m)]
        return [(dim("N"), dim("C")) + tuple(dim(x) for x in names)]

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = list(inputs[0])
        pad, mode = p["pad"], p["mode"]
        m = len(pad) // 2
        if mode == "constant":
            if len(x) < m:
                raise rank_error(self.name, f"an at least {m}-d", tuple(x))
        elif len(x) not in (m + 1, m + 2):
            raise rank_error(self.name, f"a {m + 1}-d or {m + 2}-d ({mode} padding of {m} dimensions)", tuple(x))
        conds = []
        for j in range(m):
            d = len(x) - 1 - j
            left, right = pad[2 * j], pad[2 * j + 1]
            size = sympy.sympify(x[d])
            where = f"dimension {d}"
            if mode == "circular":
                if left < 0 or right < 0:
                    raise Unsupported(f"{self.name}: circular padding with a negative pad ({left}, {right}): "
                                      "torch's result then depends on the memory layout")
                v = max(left, right)
                conds.append(ge(size, v, f"{self.name}: circular padding {v} wraps around more than once "
                                         f"({where} is smaller)", code="too-small"))
            elif mode == "reflect":
                v = max(left, right)
                conds.append(ge(size, v + 1, f"{self.name}: reflect padding {v} must be smaller than {where}",
                                code="too-small"))
            if mode == "constant":
                x[d], axis_conds = constant_pad_axis(self.name, size, left, right, where)
                conds.extend(axis_conds)
                continue
            out = size + left + right
            conds.append(ge(out, 1, f"{self.name}: padding ({left}, {right}) leaves {where} empty", code="too-small"))
            x[d] = out
        return Inferred(tuple(x), keep(*conds))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import Pad

        return Pad(p["pad"], mode=p["mode"], value=p["value"])
