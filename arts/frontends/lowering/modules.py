"""``call_module`` on a ``torch.nn`` layer with no rule of its own: the catalogue op whose
``torch_name`` is the layer's class, with the layer's attributes as parameters (padding layers
and ``Softmax2d`` are spelled out here)."""

from __future__ import annotations

from typing import Any

from arts.frontends.lowering.values import NotLowered, TensorVal
from arts.ops.base import REGISTRY

__all__ = ["catalogue_module"]

_PAD_MODULES = {"ZeroPad": "constant", "ConstantPad": "constant", "ReflectionPad": "reflect",
                "ReplicationPad": "replicate", "CircularPad": "circular"}
_SPECS: dict[str, str] | None = None


def _specs() -> dict[str, str]:
    global _SPECS
    if _SPECS is None:
        _SPECS = {spec.torch_name: name for name, spec in REGISTRY.items() if spec.torch_name}
    return _SPECS


def catalogue_module(L: Any, node: Any, m: Any, *args: Any, **kwargs: Any) -> TensorVal:
    if len(args) != 1 or kwargs or not isinstance(args[0], TensorVal):
        raise NotLowered(f"{type(m).__name__} called with {len(args)} positional and {len(kwargs)} "
                         f"keyword arguments")
    x = args[0].name
    cls = type(m).__name__
    for prefix, mode in _PAD_MODULES.items():
        if cls.startswith(prefix) and cls[len(prefix):] in ("1d", "2d", "3d"):
            params: dict[str, Any] = {"pad": list(m.padding), "mode": mode}
            if mode == "constant":
                params["value"] = float(getattr(m, "value", 0.0))
            return L.emit(node, "pad", params, [x])
    if cls == "Softmax2d":
        return L.emit(node, "softmax", {"dim": -3}, [x])
    if getattr(m, "return_indices", False):
        raise NotLowered("return_indices=True returns a tuple; arts models the values only")
    name = _specs().get(cls)
    if name is None or not type(m).__module__.startswith("torch.nn"):
        raise NotLowered(f"no shape rule for nn.{cls}")
    spec = REGISTRY[name]
    params = {}
    for p in spec.params:
        if p.name == "bias" and hasattr(m, "bias"):
            params["bias"] = m.bias is not None
        elif hasattr(m, p.name):
            v = getattr(m, p.name)
            if isinstance(v, list):
                v = tuple(v)
            params[p.name] = v
    return L.emit(node, name, params, [x])
