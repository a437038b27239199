"""Pooling: max/avg pool 1-d to 3-d and their adaptive forms (torch.nn.MaxPoolNd, ...).

torch's ``pooling_output_shape``: ``o = floor((I + 2p - d(k-1) - 1 + (s-1 if ceil_mode)) / s) + 1``,
and with ``ceil_mode`` one less when the last window would start in the right padding
(``(o-1)*s >= I + p``).  That correction depends only on ``I mod s``, so it is written as a
quasi-affine term with ``Mod`` and the whole function stays decidable.  Accepted when ``o >= 1``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Sequence

import sympy

from arts.errors import InputError
from arts.ops.base import (
    Inferred, OpSpec, Param, Shape, any_param, bool_param, eq, ge, int_param, keep, rank_error, register,
    tuple_param,
)
from arts.ops.conv import channel_split

_AXIS = {1: ["length"], 2: ["height", "width"], 3: ["depth", "height", "width"]}


def pool_output(I: Any, k: int, s: int, p: int, d: int, ceil_mode: bool) -> Any:
    """torch's pooling output size as an exact quasi-affine sympy expression."""
    L = I + 2 * p - d * (k - 1) - 1
    if not ceil_mode:
        return sympy.floor(L / sympy.Integer(s)) + 1
    o0 = sympy.floor((L + s - 1) / sympy.Integer(s)) + 1
    # (o0 - 1)*s >= I + p  <=>  Mod(L + s - 1, s) <= c  with  c = p - d(k-1) + s - 2
    c = p - d * (k - 1) + s - 2
    if c < 0:
        return o0
    if c >= s - 1:
        return o0 - 1
    m = sympy.Mod(L + s - 1, s)
    # [m <= c] = 1 - [m >= c + 1] = 1 - floor((m + s - c - 1) / s)   for 0 <= m <= s - 1
    return o0 - 1 + sympy.floor((m + s - c - 1) / sympy.Integer(s))


def pool_output_int(I: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """torch's pooling_output_shape, numerically (the same function as :func:`pool_output`)."""
    o = (I + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= I + p:
        o -= 1
    return o


@lru_cache(maxsize=65536)
def _pool_axis_key(k: int, s: int, p: int, d: int, ceil_mode: bool) -> tuple:
    from arts.ops.types import intern
    from arts.solver.canonical import canonical_1d
    from arts.solver.intset import IntSet

    lo = 1
    while pool_output_int(lo, k, s, p, d, ceil_mode) < 1:  # nondecreasing: accepted sizes are [lo, oo)
        lo += 1
    S = IntSet.at_least(lo)
    return intern(canonical_1d(lambda x: pool_output_int(x, k, s, p, d, ceil_mode), S, s, 1)), S


class _PoolBase(OpSpec):
    kind = "max"

    def profile(self, p: dict[str, Any]) -> Any:
        from arts.ops.types import channel_comps, profile_key, spatial_names

        n = self.spatial
        assert n is not None
        comps0, acc0 = channel_comps(None, None, 1)
        comps: list[Any] = list(comps0)
        acc = dict(acc0)
        dil = p.get("dilation") or (1,) * n
        for i in range(n):
            comp, S = _pool_axis_key(p["kernel_size"][i], p["stride"][i], p["padding"][i], dil[i], p["ceil_mode"])
            comps.append(("fn", 2 + i, comp))
            acc[2 + i] = S
        return profile_key(spatial_names(n), comps, acc)

    def validate(self, p: dict[str, Any]) -> None:
        if p["stride"] is None:
            p["stride"] = p["kernel_size"]
        for k, pad in zip(p["kernel_size"], p["padding"]):
            if 2 * pad > k:  # torch >= 2.x checks the plain kernel size, for max and avg alike
                raise InputError(f"parameter padding={pad} must be at most half of kernel_size={k}")

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        n = self.spatial
        assert n is not None
        batch, c, sizes = channel_split(self.name, inputs[0], n)
        conds = []
        out = []
        dil = p.get("dilation") or (1,) * n
        for i, I in enumerate(sizes):
            o = pool_output(I, p["kernel_size"][i], p["stride"][i], p["padding"][i], dil[i], p["ceil_mode"])
            conds.append(ge(o, 1, f"{self.name} output {_AXIS[n][i]} must be positive (input too small for "
                                  f"the window)", code="too-small"))
            if self.kind == "avg" and n == 3:  # torch's avg_pool3d also checks the unpadded input
                conds.append(ge(I, p["kernel_size"][i], f"{self.name} input {_AXIS[n][i]} must be at least the "
                                                         f"kernel size {p['kernel_size'][i]}", code="too-small"))
            out.append(o)
        return Inferred(tuple(batch) + (c,) + tuple(out), keep(*conds))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        n = self.spatial
        if self.kind == "max":
            cls: Any = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}[n]  # type: ignore[index]
            return cls(p["kernel_size"], stride=p["stride"], padding=p["padding"], dilation=p["dilation"],
                       return_indices=False, ceil_mode=p["ceil_mode"])
        cls = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}[n]  # type: ignore[index]
        kw = dict(stride=p["stride"], padding=p["padding"], ceil_mode=p["ceil_mode"],
                  count_include_pad=p["count_include_pad"])
        if n != 1:
            kw["divisor_override"] = p["divisor_override"]
        return cls(p["kernel_size"], **kw)


def _make_pool(n: int, kind: str) -> None:
    name = f"{kind}_pool{n}d"
    torch_name = f"{kind.capitalize()}Pool{n}d"
    ps = [Param("kernel_size", None, tuple_param(n, 1)), Param("stride", None, tuple_param(n, 1, optional=True)),
          Param("padding", 0, tuple_param(n, 0))]
    if kind == "max":
        ps += [Param("dilation", 1, tuple_param(n, 1)), Param("return_indices", False, bool_param),
               Param("ceil_mode", False, bool_param)]
    else:
        ps += [Param("ceil_mode", False, bool_param), Param("count_include_pad", True, bool_param)]
        if n != 1:
            ps.append(Param("divisor_override", None, int_param(1, optional=True)))
    register(type(torch_name + "Spec", (_PoolBase,), {
        "name": name, "spatial": n, "kind": kind, "torch_name": torch_name, "params": tuple(ps),
        "doc": f"torch.nn.{torch_name}"}))


def _output_size(n: int) -> Any:
    def conv(v: Any, name: str) -> Any:
        vals = (v,) * n if isinstance(v, int) and not isinstance(v, bool) else v
        if not isinstance(vals, (tuple, list)) or len(vals) != n:
            raise InputError(f"parameter {name} must be an integer or {n} integers (or None), got {v!r}")
        for x in vals:
            if x is not None and (not isinstance(x, int) or isinstance(x, bool) or x < 1):
                raise InputError(f"parameter {name} entries must be positive integers or None, got {v!r}")
        if n == 1 and vals[0] is None:  # torch's AdaptiveXPool1d takes an int only
            raise InputError(f"parameter {name} must be a positive integer for 1-d adaptive pooling, got {v!r}")
        return tuple(vals)
    return conv


class _AdaptiveBase(OpSpec):  # noqa: D101
    kind = "avg"

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        n = self.spatial
        assert n is not None
        x = tuple(inputs[0])
        if self.kind == "avg" and n > 1 and len(x) > n + 2:
            # torch computes an all-ones output as a mean over the last n dims, whatever the rank
            if any(o not in (None, 1) for o in p["output_size"]):
                raise rank_error(self.name, f"a {n + 1}-d or {n + 2}-d", x)
            ones = [eq(I, 1, f"{self.name} takes a rank-{len(x)} input only when every output size is 1")
                    for I, o in zip(x[-n:], p["output_size"]) if o is None]
            return Inferred(x[:-n] + (sympy.Integer(1),) * n, keep(*ones))
        batch, c, sizes = channel_split(self.name, inputs[0], n)
        out = tuple(I if o is None else sympy.Integer(o) for I, o in zip(sizes, p["output_size"]))
        return Inferred(tuple(batch) + (c,) + out, ())

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        n = self.spatial
        assert n is not None
        cls: Any
        if self.kind == "max":
            cls = {1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d, 3: nn.AdaptiveMaxPool3d}[n]  # type: ignore[index]
            return cls(p["output_size"] if n > 1 else p["output_size"][0])
        cls = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}[n]  # type: ignore[index]
        return cls(p["output_size"] if n > 1 else p["output_size"][0])


def _make_adaptive(n: int, kind: str) -> None:
    name = f"adaptive_{kind}_pool{n}d"
    torch_name = f"Adaptive{kind.capitalize()}Pool{n}d"
    ps = [Param("output_size", None, _output_size(n))]
    if kind == "max":
        ps.append(Param("return_indices", False, bool_param))
    register(type(torch_name + "Spec", (_AdaptiveBase,), {
        "name": name, "spatial": n, "kind": kind, "torch_name": torch_name, "params": tuple(ps),
        "doc": f"torch.nn.{torch_name}"}))


for _n in (1, 2, 3):
    _make_pool(_n, "max")
    _make_pool(_n, "avg")
    _make_adaptive(_n, "avg")
    _make_adaptive(_n, "max")

_ = (any_param, bool_param)
