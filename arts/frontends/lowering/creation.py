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
