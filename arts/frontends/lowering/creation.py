"""New tensors: ``torch.zeros/ones/empty/full/rand/randn(sizes)``, ``x.new_empty(sizes)``,
``torch.arange(n)``, ``torch.arange(start, end[, step])``; sizes may be computed from other tensors (DropPath's
``x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1))``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arts.frontends.lowering.registry import lowers
import sympy

from arts.frontends.lowering.values import NotLowered, ShapeVal, as_int, is_size

if TYPE_CHECKING:
    from arts.frontends.lowering.lowerer import Lowerer

_IGNORED = ("dtype", "device", "layout", "requires_grad", "pin_memory", "memory_format", "generator", "out")


def _shape(L: Lowerer, name: str, sizes: tuple, kwargs: dict[str, Any]) -> list[Any]:
    for k in _IGNORED:
        kwargs.pop(k, None)
    if "size" in kwargs:
        sizes = (kwargs.pop("size"),)
    if kwargs:
        raise NotLowered(f"{name} with {', '.join(kwargs)}")
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple, ShapeVal)):
        return L.sizes(sizes[0], f"{name} size")
    return [L.size(s, f"{name} size") for s in sizes]


@lowers("torch.zeros", "torch.ones", "torch.empty", "torch.rand", "torch.randn")
def _create(L: Lowerer, node: Any, name: str, *sizes: Any, **kwargs: Any) -> Any:
    return L.emit_sized(node, "create", None, "shape", _shape(L, name, sizes, kwargs), {"fn": name})


@lowers("torch.full")
def _full(L: Lowerer, node: Any, name: str, size: Any, fill_value: Any = None, **kwargs: Any) -> Any:
    kwargs.pop("fill_value", None)
    return L.emit_sized(node, "create", None, "shape", _shape(L, name, (size,), kwargs), {"fn": name})


@lowers("Tensor.new_empty", "Tensor.new_zeros", "Tensor.new_ones")
def _new(L: Lowerer, node: Any, name: str, x: Any, *sizes: Any, **kwargs: Any) -> Any:
    L.tensor(x, "the tensor")
    return L.emit_sized(node, "create", None, "shape", _shape(L, name, sizes, kwargs), {"fn": name})


@lowers("Tensor.new_full")
def _new_full(L: Lowerer, node: Any, name: str, x: Any, size: Any, fill_value: Any = None, **kwargs: Any) -> Any:
    L.tensor(x, "the tensor")
    kwargs.pop("fill_value", None)
    return L.emit_sized(node, "create", None, "shape", _shape(L, name, (size,), kwargs), {"fn": name})


@lowers("torch.arange")
def _arange(L: Lowerer, node: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    for k in _IGNORED:
        kwargs.pop(k, None)
    for i, k in enumerate(("start", "end", "step")):
        if k in kwargs and len(args) == i:
            args = args + (kwargs.pop(k),)
    if kwargs or not 1 <= len(args) <= 3 or not all(is_size(a) and not isinstance(a, bool) for a in args):
        raise NotLowered("arange other than arange([start,] end[, step]) with integer sizes")
    if len(args) == 1:
        return L.emit_sized(node, "create", None, "shape", [L.size(args[0], "arange end")], {"fn": name})
    start, end = L.size(args[0], "arange start"), L.size(args[1], "arange end")
    step = args[2] if len(args) == 3 else 1
    if not isinstance(step, int) or step < 1:
        raise NotLowered(f"arange with step {L._show(step)} (only a constant positive step is modelled)")
    # ceil((end - start) / step) elements; none (an empty tensor) is too small in arts
    length = as_int(sympy.ceiling(sympy.sympify(end - start) / step))
    return L.emit_sized(node, "create", None, "shape", [L.size(length, "arange length")], {"fn": name})


@lowers("torch.eye")
def _eye(L: Lowerer, node: Any, name: str, n: Any, m: Any = None, **kwargs: Any) -> Any:
    """``torch.eye(n, m=n)``: an ``(n, m)`` matrix (timm's BAT/HaloNet blocks, with sizes known or read
    from tensors); a negative ``n`` or ``m`` raises in torch, and 0 (an empty tensor) is too small in arts."""
    for k in _IGNORED:
        kwargs.pop(k, None)
    if kwargs:
        raise NotLowered(f"eye with {', '.join(kwargs)}")
    rows = L.size(n, "eye n")
    cols = rows if m is None else L.size(m, "eye m")
    return L.emit_sized(node, "create", None, "shape", [rows, cols], {"fn": name})


def _data_shape(L: Lowerer, data: Any, depth: int = 0) -> list[int]:
    """The shape torch gives ``torch.tensor(data)``: nested lists and tuples of numbers, each level of
    one length (torch raises "expected sequence of length ..." otherwise)."""
    if isinstance(data, (bool, int, float, complex)) or is_size(data):
        return []
    if isinstance(data, ShapeVal):  # torch.tensor(x.shape): one entry per dimension
        data = tuple(L.shape_items(data.tensor))
    if not isinstance(data, (list, tuple)):
        raise NotLowered(f"tensor of {L._show(data)} (only nested lists of numbers and sizes are modelled)")
    if depth > 32:
        raise NotLowered("tensor of lists nested more than 32 deep")
    if not data:
        raise NotLowered("tensor of empty data (an empty tensor; arts sizes are positive)")
    shapes = [_data_shape(L, item, depth + 1) for item in data]
    if any(s != shapes[0] for s in shapes):
        raise NotLowered(f"tensor of ragged data {L._show(data)} (torch raises: expected sequences of one length)")
    return [len(data)] + shapes[0]


@lowers("torch.tensor")
def _tensor(L: Lowerer, node: Any, name: str, data: Any, **kwargs: Any) -> Any:
    """``torch.tensor(data)`` of Python numbers (diffusers' ``torch.tensor([timesteps])``): the shape
    is the nesting of ``data``; tensors inside ``data`` are not modelled."""
    for k in _IGNORED:
        kwargs.pop(k, None)
    if kwargs:
        raise NotLowered(f"tensor with {', '.join(kwargs)}")
    return L.emit(node, "create", {"fn": name, "shape": _data_shape(L, data)}, [])
