"""Normalisation called as a function: ``F.layer_norm``, ``F.group_norm``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


from arts.frontends.lowering.conv import _const_shape
from arts.frontends.lowering.registry import lowers
from arts.frontends.lowering.values import NotLowered, TensorVal, ints

if TYPE_CHECKING:
    from arts.frontends.lowering.lowerer import Lowerer


@lowers("F.layer_norm")
def _layer_norm(L: Lowerer, node: Any, name: str, x: Any, normalized_shape: Any, *rest: Any, **kwargs: Any) -> Any:
    ns = ints(list(normalized_shape) if isinstance(normalized_shape, (list, tuple)) else [normalized_shape],
               "normalized_shape")
    return L.emit(node, "layer_norm", {"normalized_shape": list(ns)}, [L.tensor(x, "the input")])


@lowers("F.group_norm")
def _group_norm(L: Lowerer, node: Any, name: str, x: Any, num_groups: int, *rest: Any, **kwargs: Any) -> Any:
    return L.emit(node, "group_norm", {"num_groups": num_groups, "affine": False}, [L.tensor(x, "the input")])


@lowers("F.batch_norm", "torch.batch_norm")
def _batch_norm(L: Lowerer, node: Any, name: str, x: Any, running_mean: Any = None, running_var: Any = None,
                weight: Any = None, bias: Any = None, training: Any = False, *rest: Any, **kwargs: Any) -> Any:
    t = L.tensor(x, "the input")
    if not isinstance(training, bool):
        raise NotLowered("batch_norm with a computed training flag")
    if not training and (running_mean is None or running_var is None):
        raise NotLowered("batch_norm in evaluation without running statistics")
    nf = None
    for v in (running_mean, running_var, weight, bias):
        if isinstance(v, TensorVal):
            shape = _const_shape(L, v, "a batch_norm parameter")
            if len(shape) != 1 or (nf is not None and shape[0] != nf):
                raise NotLowered("batch_norm parameters of differing shapes")
            nf = shape[0]
        elif v is not None:
            raise NotLowered(f"a batch_norm parameter {L._show(v)}")
    return L.emit(node, "batch_norm", {"num_features": nf, "training": training}, [t])
