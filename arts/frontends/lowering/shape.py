"""Ops that move sizes around: cat, view/reshape, permute, transpose, squeeze, chunk, split, reductions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


from arts.frontends.lowering.registry import lowers
from arts.frontends.lowering.values import NotLowered, ShapeVal, SplitVal, TensorVal, as_int, ints, is_size

if TYPE_CHECKING:
    from arts.frontends.lowering.lowerer import Lowerer

from arts.frontends.lowering.elementwise import _binary
from arts.frontends.lowering.registry import forms

#: Reductions along dimensions (``dim=None``: all of them).
REDUCTIONS = ("mean", "sum", "amax", "amin", "prod", "std", "var", "logsumexp", "all", "any", "argmax", "argmin",
              "nansum", "nanmean", "count_nonzero")


@lowers("torch.cat", "torch.concat", "torch.concatenate", name="cat")
@lowers("torch.stack")
def _cat(L: Lowerer, node: Any, name: str, tensors: Any, dim: int = 0, *, out: Any = None, axis: Any = None) -> Any:
    if axis is not None:
        dim = axis
    if isinstance(tensors, SplitVal):
        from arts.frontends.lowering.core import split_parts

        tensors = split_parts(L, node, tensors)
    if not isinstance(tensors, (list, tuple)):
        raise NotLowered(f"{name} of {L._show(tensors)}")
    ts = [L.tensor(t, f"each input of {name}") for t in tensors]
    if not ts:
        raise NotLowered(f"{name} of an empty list")
    if not isinstance(dim, int):
        raise NotLowered(f"{name} along a computed dimension")
    return L.emit(node, name, {"dim": dim}, ts)


@lowers("torch.flatten", "Tensor.flatten")
def _flatten(L: Lowerer, node: Any, name: str, x: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    # torch.flatten and Tensor.flatten default to start_dim=0 (nn.Flatten's 1 does not apply here)
    return L.emit(node, "flatten", {"start_dim": start_dim, "end_dim": end_dim}, [L.tensor(x, "the input")])


@lowers("Tensor.view", "Tensor.reshape", "torch.reshape")
def _view(L: Lowerer, node: Any, name: str, x: Any, *shape: Any, **kwargs: Any) -> Any:
    t = L.tensor(x, "the input")
    if "shape" in kwargs:
        shape = (kwargs.pop("shape"),)
    if "size" in kwargs:
        shape = (kwargs.pop("size"),)
    if kwargs:
        raise NotLowered(f"{name} with {', '.join(kwargs)}")
    if len(shape) == 1 and not isinstance(shape[0], TensorVal) and not is_size(shape[0]):
        if isinstance(shape[0], (list, tuple, ShapeVal)):
            shape = tuple(L.sizes(shape[0], f"{name} shape"))
        else:
            raise NotLowered(f"{name} to dtype or {L._show(shape[0])}")
    entries = [L.size(s, f"{name} shape") for s in shape]
    if all(isinstance(e, int) for e in entries):
        return L.emit(node, name, {"shape": entries}, [t])
    return L.emit_sized(node, f"sized_{name}", t, "shape", entries, {})


@lowers("Tensor.view_as", "Tensor.reshape_as")
def _view_as(L: Lowerer, node: Any, name: str, x: Any, other: Any) -> Any:
    t, o = L.tensor(x, "the input"), L.tensor(other, "the other tensor")
    entries = L.shape_items(o)
    op = "view" if name == "view_as" else "reshape"
    if all(isinstance(e, int) for e in entries):
        return L.emit(node, op, {"shape": entries}, [t])
    return L.emit_sized(node, f"sized_{op}", t, "shape", entries, {})


@lowers("Tensor.expand_as")
def _expand_as(L: Lowerer, node: Any, name: str, x: Any, other: Any) -> Any:
    return L.emit(node, "expand_as", {}, [L.tensor(x, "the input"), L.tensor(other, "the other tensor")])


@lowers("Tensor.contiguous", passes=True)
def _contiguous(L: Lowerer, node: Any, name: str, x: Any, *args: Any, **kwargs: Any) -> Any:
    """``contiguous()`` keeps the shape; it is its own catalogue op where the catalogue tracks layout."""
    t = L.tensor(x, "the input")
    fmt = str(kwargs.get("memory_format", "torch.contiguous_format"))
    if fmt not in ("torch.contiguous_format", "torch.preserve_format"):  # channels_last: layout unknown
        return L.emit(node, "pointwise", {"fn": f"contiguous(memory_format={fmt})"}, [t])
    return L.emit(node, "contiguous", {}, [t])


@lowers("torch.permute", "Tensor.permute")
def _permute(L: Lowerer, node: Any, name: str, x: Any, *dims: Any, **kwargs: Any) -> Any:
    if "dims" in kwargs:
        dims = (kwargs.pop("dims"),)
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = tuple(dims[0])
    if not all(isinstance(d, int) for d in dims):
        raise NotLowered("permute with computed dimensions")
    return L.emit(node, "permute", {"dims": list(dims)}, [L.tensor(x, "the input")])


@lowers("torch.transpose", "torch.swapaxes", "Tensor.transpose", "Tensor.swapaxes")
def _transpose(L: Lowerer, node: Any, name: str, x: Any, dim0: int, dim1: int) -> Any:
    return L.emit(node, "transpose", {"dim0": dim0, "dim1": dim1}, [L.tensor(x, "the input")])


@lowers("torch.t", "Tensor.t")
def _t(L: Lowerer, node: Any, name: str, x: Any) -> Any:
    t = L.tensor(x, "the input")
    r = L.ranks.get(t)
    if r is None:
        raise NotLowered("the rank of a tensor whose shape could not be inferred")
    if r > 2:
        return L.unsupported(node, f"t() expects a tensor with <= 2 dimensions, but self is {r}D", [t])
    return L.emit(node, "pointwise", {"fn": "t"}, [t]) if r < 2 else L.emit(
        node, "transpose", {"dim0": 0, "dim1": 1}, [t])


@lowers("torch.unsqueeze", "Tensor.unsqueeze", "Tensor.unsqueeze_")
def _unsqueeze(L: Lowerer, node: Any, name: str, x: Any, dim: int) -> Any:
    return L.emit(node, "unsqueeze", {"dim": dim}, [L.tensor(x, "the input")])


@lowers("torch.squeeze", "Tensor.squeeze", "Tensor.squeeze_")
def _squeeze(L: Lowerer, node: Any, name: str, x: Any, dim: Any = None) -> Any:
    if isinstance(dim, list):
        dim = tuple(dim)
    return L.emit(node, "squeeze", {"dim": dim}, [L.tensor(x, "the input")])


@lowers(*forms(REDUCTIONS, F=False, inplace=False))
def _reduce(L: Lowerer, node: Any, name: str, x: Any, dim: Any = None, keepdim: bool = False, *rest: Any,
            **kwargs: Any) -> Any:
    t = L.tensor(x, "the input")
    for k in ("dtype", "out", "correction", "unbiased", "p"):
        kwargs.pop(k, None)
    if "axis" in kwargs:
        dim = kwargs.pop("axis")
    if kwargs:
        raise NotLowered(f"{name} with {', '.join(kwargs)}")
    if name in ("std", "var") and isinstance(keepdim, bool) and rest:
        keepdim = rest[0]  # std(input, dim, unbiased, keepdim)
    if isinstance(dim, list):
        dim = tuple(dim)
    if not (dim is None or isinstance(dim, int) or (isinstance(dim, tuple) and all(isinstance(d, int) for d in dim))):
        raise NotLowered(f"{name} over {L._show(dim)}")
    if not isinstance(keepdim, bool):
        raise NotLowered(f"{name} with keepdim={L._show(keepdim)}")
    return L.emit(node, "reduce", {"fn": name, "dim": dim, "keepdim": keepdim}, [t])


@lowers("torch.max", "torch.min", "Tensor.max", "Tensor.min")
def _maxmin(L: Lowerer, node: Any, name: str, x: Any, dim: Any = None, keepdim: bool = False, **kwargs: Any) -> Any:
    if isinstance(dim, TensorVal):
        return _binary(L, node, "maximum" if name == "max" else "minimum", x, dim)
    if is_size(x):
        raise NotLowered(f"{name} of sizes")
    keepdim = kwargs.pop("keepdim", keepdim)
    if "dim" in kwargs:
        dim = kwargs.pop("dim")
    t = L.tensor(x, "the input")
    if dim is None:
        return L.emit(node, "reduce", {"fn": name, "dim": None, "keepdim": False}, [t])
    values = L.emit(node, "reduce", {"fn": name, "dim": dim, "keepdim": keepdim}, [t])
    indices = L.emit(node, "reduce", {"fn": "arg" + name, "dim": dim, "keepdim": keepdim}, [t], suffix="_indices")
    from collections import namedtuple

    pair = namedtuple("pair", ["values", "indices"])
    return pair(values, indices)


@lowers("torch.norm", "Tensor.norm")
def _norm(L: Lowerer, node: Any, name: str, x: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False,
          **kwargs: Any) -> Any:
    return _reduce(L, node, "norm", x, dim, keepdim)


@lowers("torch.linalg.vector_norm")
def _vector_norm(L: Lowerer, node: Any, name: str, x: Any, ord: Any = 2, dim: Any = None, keepdim: Any = False,
                 **kwargs: Any) -> Any:
    """``torch.linalg.vector_norm(x, ord, dim, keepdim)`` (ConvNeXt-V2's global response norm): a
    reduction over ``dim`` (None or ``()``: every dimension); ``ord`` must be a number."""
    for k in ("dtype", "out"):
        kwargs.pop(k, None)
    if kwargs:
        raise NotLowered(f"vector_norm with {', '.join(kwargs)}")
    if isinstance(ord, bool) or not isinstance(ord, (int, float)):
        raise NotLowered(f"vector_norm with ord={L._show(ord)} (torch takes a number)")
    return _reduce(L, node, "vector_norm", x, dim, keepdim)


@lowers("torch.chunk", "Tensor.chunk")
def _chunk(L: Lowerer, node: Any, name: str, x: Any, chunks: int, dim: int = 0) -> Any:
    if not isinstance(chunks, int) or not isinstance(dim, int):
        raise NotLowered("chunk with computed arguments")
    return SplitVal(L.tensor(x, "the input"), "chunk", chunks, dim)


@lowers("torch.split", "Tensor.split")
def _split(L: Lowerer, node: Any, name: str, x: Any, split_size_or_sections: Any = None, dim: int = 0,
           **kwargs: Any) -> Any:
    size = kwargs.pop("split_size", split_size_or_sections)
    if isinstance(size, list):
        size = tuple(size)
    if isinstance(size, tuple) and all(is_size(s) and not isinstance(s, bool) for s in size) and isinstance(dim, int):
        entries = [as_int(L.size(s, "split sizes")) for s in size]
        if not all(isinstance(e, int) for e in entries):  # sizes computed from sizes: placeholders
            t = L.tensor(x, "the input")
            args = [t]
            held = L.placeheld(entries, args)
            return SplitVal(t, "sized_split", (tuple(held), tuple(args[1:])), dim)
        size = tuple(entries)
    if not (isinstance(size, int) or (isinstance(size, tuple) and all(isinstance(s, int) for s in size))):
        raise NotLowered("split with computed sizes")
    return SplitVal(L.tensor(x, "the input"), "split", size, dim)


@lowers("torch.narrow", "Tensor.narrow")
def _narrow(L: Lowerer, node: Any, name: str, x: Any, dim: int, start: Any, length: Any) -> Any:
    if not all(isinstance(v, int) for v in (dim, start, length)):
        raise NotLowered("narrow with computed arguments")
    t = L.tensor(x, "the input")
    r = L.ranks.get(t)
    if r is None:
        raise NotLowered("the rank of a tensor whose shape could not be inferred")
    d = dim % r if -r <= dim < r else dim
    spec: list[tuple] = [("slice", None, None, None)] * r
    if start < 0 or length < 0:
        raise NotLowered("narrow with a negative start or length")
    spec[d] = ("slice", start, start + length, None)
    # narrow fails (rather than clamping) when start + length exceeds the size: require it
    return L.emit(node, "index", {"index": spec}, [t]) if length else L.unsupported(node, "narrow to length 0", [t])


@lowers("torch.broadcast_to", "Tensor.broadcast_to", "Tensor.expand")
def _expand(L: Lowerer, node: Any, name: str, x: Any, *sizes: Any, **kwargs: Any) -> Any:
    t = L.tensor(x, "the input")
    given = kwargs.pop("size", kwargs.pop("sizes", None))
    if given is not None:
        sizes = (given,)
    kwargs.pop("implicit", None)
    if kwargs:
        raise NotLowered(f"{name} with {', '.join(kwargs)}")
    entries = L.sizes(sizes[0] if len(sizes) == 1 and not is_size(sizes[0]) else list(sizes), f"{name} sizes")
    if name == "broadcast_to" and -1 in entries:
        raise NotLowered("broadcast_to with -1")
    if all(isinstance(e, int) for e in entries):
        return L.emit(node, "expand", {"size": entries}, [t])
    return L.emit_sized(node, "sized_expand", t, "sizes", entries, {})


@lowers("torch.unbind", "Tensor.unbind")
def _unbind(L: Lowerer, node: Any, name: str, x: Any, dim: int = 0) -> Any:
    if not isinstance(dim, int):
        raise NotLowered("unbind along a computed dimension")
    return SplitVal(L.tensor(x, "the input"), "unbind", None, dim)


@lowers("Tensor.repeat")
def _repeat(L: Lowerer, node: Any, name: str, x: Any, *repeats: Any, **kwargs: Any) -> Any:
    if "repeats" in kwargs:
        repeats = (kwargs.pop("repeats"),)
    if len(repeats) == 1 and isinstance(repeats[0], (list, tuple)):
        repeats = tuple(repeats[0])
    t = L.tensor(x, "the input")
    entries = L.sizes(list(repeats), "repeats")
    if all(isinstance(e, int) for e in entries):
        return L.emit(node, "repeat", {"repeats": ints(tuple(entries), "repeats")}, [t])
    return L.emit_sized(node, "sized_repeat", t, "repeats", entries, {})


@lowers("torch.repeat_interleave", "Tensor.repeat_interleave")
def _repeat_interleave(L: Lowerer, node: Any, name: str, x: Any, repeats: Any = None, dim: Any = None, *,
                       output_size: Any = None) -> Any:
    """``repeats`` a size (an int, or computed from sizes), or a tensor whose values arts can read
    (a buffer: :mod:`.constants`); a tensor computed from the input stays unknown."""
    import torch

    from arts.frontends.lowering.constants import constant_value

    if repeats is None:
        raise NotLowered("torch.repeat_interleave(repeats) alone (the result's size is the sum of its values)")
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int)):
        raise NotLowered(f"{name} along a computed dimension")
    t = L.tensor(x, "the input")
    params: dict[str, Any] = {"dim": dim}
    entries: list[Any] = []
    if isinstance(repeats, TensorVal):
        raw = node.kwargs["repeats"] if "repeats" in node.kwargs else node.args[1]
        value = constant_value(L, raw)
        if value is None:
            raise NotLowered(f"{name} by a tensor of repeats whose values arts cannot read (computed from the "
                             f"input, or not a module buffer)")
        if value.dim() > 1 or value.dtype == torch.bool or value.is_floating_point() or value.is_complex():
            raise NotLowered(f"{name} by a {value.dim()}-d tensor of repeats of dtype {value.dtype}")
        params["counts"] = [int(v) for v in value.reshape(-1).tolist()]
        if not params["counts"]:
            raise NotLowered(f"{name} by an empty tensor of repeats")
    else:
        entries = L.sizes([repeats], "repeats")
    if output_size is not None:
        entries += L.sizes([output_size], "output_size")
    if not entries:
        return L.emit(node, "repeat_interleave", params, [t])
    args = [t]
    out = L.placeheld(entries, args)
    if "counts" not in params:
        params["repeats"] = [out[0]]
    if output_size is not None:
        params["output_size"] = [out[-1]]
    return L.emit(node, "repeat_interleave", params, args)
