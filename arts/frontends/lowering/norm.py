"""Normalisation called as a function: ``F.layer_norm``, ``F.group_norm``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any


from arts.frontends.lowering.registry import lowers
from arts.frontends.lowering.values import (
    ints,
)

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
