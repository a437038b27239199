"""Convolutions, pooling, padding and resizing called as functions (``F.conv2d``, ``F.pad``...)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy

from arts.frontends.lowering.registry import lowers
from arts.frontends.lowering.values import (
    NotLowered, ShapeVal, TensorVal, as_int, ints,
)

if TYPE_CHECKING:
    from arts.frontends.lowering.lowerer import Lowerer

from collections.abc import Callable

from arts.frontends.lowering.registry import lowers as _lowers

Handler = Callable[..., Any]


@lowers("F.pad", passes=True)
def _pad(L: Lowerer, node: Any, name: str, x: Any, pad: Any, mode: str = "constant", value: Any = None) -> Any:
    t = L.tensor(x, "the input")
    amounts = L.sizes(pad, "pad") if isinstance(pad, (list, tuple, ShapeVal)) else [L.size(pad, "pad")]
    if all(isinstance(a, int) for a in amounts):
        params: dict[str, Any] = {"pad": amounts, "mode": mode}
        if value is not None:
            params["value"] = value
        return L.emit(node, "pad", params, [t])
    if mode == "replicate" and all(sympy.sympify(a).is_nonnegative is True for a in amounts):
        return L.emit_sized(node, "sized_pad", t, "pad", amounts, {"mode": "replicate"})
    if mode != "constant":
        raise NotLowered(f"{mode} padding by amounts computed from sizes")
    return L.emit_sized(node, "sized_pad", t, "pad", amounts, {"mode": "constant"})


def _interp(L: Lowerer, node: Any, x: Any, size: Any, scale_factor: Any, mode: str, align_corners: Any,
            recompute_scale_factor: Any = None, antialias: bool = False) -> Any:
    t = L.tensor(x, "the input")
    if size is not None:
        if isinstance(scale_factor, (int, float)) and scale_factor is not None:
            raise NotLowered("both size and scale_factor")
        entries = L.sizes(size, "size") if isinstance(size, (list, tuple, ShapeVal)) else [L.size(size, "size")]
        if all(isinstance(e, int) for e in entries):
            params: dict[str, Any] = {"size": entries if isinstance(size, (list, tuple, ShapeVal)) else entries[0],
                                      "mode": mode, "align_corners": align_corners, "antialias": antialias}
            return L.emit(node, "interpolate", params, [t])
        extra = {"mode": mode, "align_corners": align_corners, "recompute_scale_factor": recompute_scale_factor,
                 "antialias": antialias}
        return L.emit_sized(node, "sized_interpolate", t, "size", entries, extra)
    sf = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else scale_factor
    if isinstance(sf, list) and not all(isinstance(s, (int, float)) for s in sf):
        raise NotLowered("scale factors computed from sizes")
    return L.emit(node, "interpolate", {"scale_factor": sf, "mode": mode, "align_corners": align_corners,
                                        "recompute_scale_factor": recompute_scale_factor,
                                        "antialias": antialias}, [t])


@lowers("F.interpolate", "F.upsample", passes=True)
def _interpolate(L: Lowerer, node: Any, name: str, x: Any, size: Any = None, scale_factor: Any = None,
                 mode: str = "nearest", align_corners: Any = None, recompute_scale_factor: Any = None,
                 antialias: bool = False) -> Any:
    return _interp(L, node, x, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias)


@lowers("F.upsample_nearest", "F.upsample_bilinear")
def _upsample_old(L: Lowerer, node: Any, name: str, x: Any, size: Any = None, scale_factor: Any = None) -> Any:
    if name == "upsample_nearest":
        return _interp(L, node, x, size, scale_factor, "nearest", None)
    return _interp(L, node, x, size, scale_factor, "bilinear", True)


def _pool(kind: str, n: int) -> Handler:
    def handler(L: Lowerer, node: Any, name: str, x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                *rest: Any, **kwargs: Any) -> Any:
        t = L.tensor(x, "the input")
        params: dict[str, Any] = {"kernel_size": ints(kernel_size, "kernel_size"),
                                  "stride": ints(stride, "stride") if stride not in (None, [], ()) else None,
                                  "padding": ints(padding, "padding")}
        if kind == "max":
            names = ["dilation", "ceil_mode", "return_indices"]
        else:
            names = ["ceil_mode", "count_include_pad"] + (["divisor_override"] if n > 1 else [])
        for k, v in zip(names, rest):
            params[k] = v
        params.update(kwargs)
        if "dilation" in params:
            params["dilation"] = ints(params["dilation"], "dilation")
        if params.pop("return_indices", False) or name.endswith("_with_indices"):
            raise NotLowered("return_indices=True returns a tuple; arts models the values only")
        return L.emit(node, f"{kind}_pool{n}d", params, [t])
    return handler


def _adaptive(kind: str, n: int) -> Handler:
    def handler(L: Lowerer, node: Any, name: str, x: Any, output_size: Any, return_indices: bool = False) -> Any:
        if return_indices:
            raise NotLowered("return_indices=True returns a tuple; arts models the values only")
        os_ = list(output_size) if isinstance(output_size, (list, tuple)) else output_size
        if os_ is not None and not isinstance(os_, (list, int)):  # one size for every dimension, computed
            output_size = os_ = [os_] * n
        if isinstance(os_, list):
            os_ = [None if v is None else as_int(v) for v in os_]
            if not all(v is None or isinstance(v, int) for v in os_):
                entries = [None if v is None else L.size(v, "output_size") for v in output_size]
                t = L.tensor(x, "the input")
                args = [t]
                held = L.placeheld([e for e in entries if e is not None], args)
                it = iter(held)
                sized = [None if e is None else next(it) for e in entries]
                return L.emit(node, f"sized_adaptive_{kind}_pool{n}d", {"output_size": sized}, args)
        return L.emit(node, f"adaptive_{kind}_pool{n}d", {"output_size": os_}, [L.tensor(x, "the input")])
    return handler


for _k in ("max", "avg"):
    for _n in (1, 2, 3):
        _lowers(f"F.{_k}_pool{_n}d", passes=True)(_pool(_k, _n))
        _lowers(f"F.adaptive_{_k}_pool{_n}d")(_adaptive(_k, _n))
        if _k == "max":
            _lowers(f"F.max_pool{_n}d_with_indices")(_pool(_k, _n))


def _const_shape(L: Lowerer, v: Any, what: str) -> tuple[int, ...]:
    """The shape of a module parameter, or of a tensor computed from parameters alone (timm's
    weight standardisation: ``F.batch_norm(self.weight.reshape(1, O, -1), ...).reshape_as(self.weight)``):
    fixed ints whatever the input, each op on the way already checked when its shape was inferred."""
    if isinstance(v, TensorVal):
        s = L.shapes.get(v.name)
        if s is not None and all(sympy.sympify(x).is_Integer for x in s) and _of_parameters(L, v.name):
            return tuple(int(x) for x in s)
    raise NotLowered(f"{what} is not a module parameter (or a function of parameters) of known shape")


def _of_parameters(L: Lowerer, name: str) -> bool:
    import networkx as nx

    op = L.G.nodes[name].get("op")
    if op is None:  # a graph input
        return False
    if op.name == "constant":
        return True
    nodes = nx.ancestors(L.G, name) | {name}
    return all(L.G.nodes[n].get("op") is not None and L.G.nodes[n]["op"].name not in ("unsupported", "size_assert")
               for n in nodes) and any(L.G.nodes[n]["op"].name == "constant" for n in nodes)


def _conv_fn(n: int, transposed: bool) -> Handler:
    def handler(L: Lowerer, node: Any, name: str, x: Any, weight: Any, bias: Any = None, stride: Any = 1,
                padding: Any = 0, *rest: Any, **kwargs: Any) -> Any:
        t = L.tensor(x, "the input")
        w = _const_shape(L, weight, "the weight")
        if len(w) != n + 2:
            raise NotLowered(f"a weight of rank {len(w)}")
        if transposed:
            names = ["output_padding", "groups", "dilation"]
        else:
            names = ["dilation", "groups"]
        extra = dict(zip(names, rest))
        extra.update(kwargs)
        groups = extra.get("groups", 1)
        params: dict[str, Any] = {"kernel_size": w[2:], "stride": ints(stride, "stride"),
                                  "padding": ints(padding, "padding"), "groups": groups,
                                  "bias": bias is not None}
        if transposed:
            params.update(in_channels=w[0], out_channels=w[1] * groups)
            if "output_padding" in extra:
                params["output_padding"] = ints(extra["output_padding"], "output_padding")
        else:
            params.update(in_channels=w[1] * groups, out_channels=w[0])
        if "dilation" in extra:
            params["dilation"] = ints(extra["dilation"], "dilation")
        op = f"conv_transpose{n}d" if transposed else f"conv{n}d"
        return L.emit(node, op, params, [t])
    return handler


for _n in (1, 2, 3):
    _lowers(f"F.conv{_n}d")(_conv_fn(_n, False))
    _lowers(f"F.conv_transpose{_n}d")(_conv_fn(_n, True))


@lowers("F.pixel_shuffle", "F.pixel_unshuffle", "torch.pixel_shuffle", "torch.pixel_unshuffle")
def _pixel(L: Lowerer, node: Any, name: str, x: Any, factor: int) -> Any:
    key = "upscale_factor" if name == "pixel_shuffle" else "downscale_factor"
    return L.emit(node, name, {key: factor}, [L.tensor(x, "the input")])


@lowers("F.unfold")
def _unfold(L: Lowerer, node: Any, name: str, x: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
            stride: Any = 1) -> Any:
    params = {"kernel_size": ints(kernel_size, "kernel_size"), "dilation": ints(dilation, "dilation"),
              "padding": ints(padding, "padding"), "stride": ints(stride, "stride")}
    return L.emit(node, "unfold", params, [L.tensor(x, "the input")])


@lowers("F.fold")
def _fold(L: Lowerer, node: Any, name: str, x: Any, output_size: Any, kernel_size: Any, dilation: Any = 1,
          padding: Any = 0, stride: Any = 1) -> Any:
    """``F.fold(x, output_size=(H, W), ...)``: the output size may be read from other tensors (timm
    VOLO folds back to its input's ``H, W``); torch's ``_pair`` makes one size two."""
    t = L.tensor(x, "the input")
    sizes = L.sizes(output_size, "output_size") if isinstance(output_size, (list, tuple, ShapeVal)) else \
        [L.size(output_size, "output_size")]
    params = {"kernel_size": ints(kernel_size, "kernel_size"), "dilation": ints(dilation, "dilation"),
              "padding": ints(padding, "padding"), "stride": ints(stride, "stride")}
    return L.emit_sized(node, "fold", t, "output_size", sizes, params)


@lowers("Tensor.unfold")
def _tensor_unfold(L: Lowerer, node: Any, name: str, x: Any, dimension: Any, size: Any, step: Any) -> Any:
    """``x.unfold(dimension, size, step)`` (timm HaloNet's overlapping key/value windows)."""
    t = L.tensor(x, "the input")
    args = {"dimension": as_int(dimension), "size": as_int(size), "step": as_int(step)}
    for k, v in args.items():
        if isinstance(v, bool) or not isinstance(v, int):
            raise NotLowered(f"unfold with a computed {k} {L._show(v)}")
    return L.emit(node, "unfold_dim", args, [t])


@lowers("F.grid_sample")
def _grid_sample(L: Lowerer, node: Any, name: str, x: Any, grid: Any, mode: Any = "bilinear", *rest: Any,
                 **kwargs: Any) -> Any:
    if not isinstance(mode, str):
        raise NotLowered(f"grid_sample mode {L._show(mode)}")
    return L.emit(node, "grid_sample", {"mode": mode}, [L.tensor(x, "the input"), L.tensor(grid, "the grid")])


@lowers("F.prelu", "torch.prelu")
def _prelu(L: Lowerer, node: Any, name: str, x: Any, weight: Any) -> Any:
    w = _const_shape(L, weight, "the weight")
    k = 1 if len(w) == 0 else w[0]
    if len(w) > 1:
        raise NotLowered(f"a weight of rank {len(w)}")
    return L.emit(node, "prelu", {"num_parameters": k}, [L.tensor(x, "the input")])
