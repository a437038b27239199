"""Linear maps and products: ``F.linear``, ``matmul``/``@``, ``mm``, ``bmm``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


from arts.frontends.lowering.registry import lowers
from arts.frontends.lowering.values import (
    NotLowered,
)

if TYPE_CHECKING:
    from arts.frontends.lowering.lowerer import Lowerer

from arts.frontends.lowering.conv import _const_shape

@lowers("F.linear")
def _linear(L: Lowerer, node: Any, name: str, x: Any, weight: Any, bias: Any = None) -> Any:
    w = _const_shape(L, weight, "the weight")
    if len(w) != 2:
        raise NotLowered(f"a weight of rank {len(w)}")
    return L.emit(node, "linear", {"in_features": w[1], "out_features": w[0], "bias": bias is not None},
                  [L.tensor(x, "the input")])


@lowers("torch.matmul", "operator.matmul", "Tensor.matmul", name="matmul")
@lowers("torch.mm", "Tensor.mm", name="mm")
@lowers("torch.bmm", "Tensor.bmm", name="bmm")
def _matmul(L: Lowerer, node: Any, name: str, a: Any, b: Any) -> Any:
    return L.emit(node, name, {}, [L.tensor(a, "the first operand"), L.tensor(b, "the second operand")])


@lowers("torch.einsum")
def _einsum(L: Lowerer, node: Any, name: str, equation: Any, *operands: Any) -> Any:
    if not isinstance(equation, str):
        raise NotLowered("einsum in the sublist format")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return L.emit(node, "einsum", {"equation": equation}, [L.tensor(t, "each operand") for t in operands])
