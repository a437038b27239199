"""Shape-preserving ops: identity, dropouts, activations, softmax.

They accept any rank except where torch says otherwise:

* ``dropout1d`` raises unless the input is 2-d or 3-d (in every mode);
* ``dropout2d`` only *warns* about ranks other than 3 and 4, but in training mode (with
  ``0 < p < 1``) torch's feature dropout raises on a 0-d or 1-d input;
* ``dropout3d`` likewise raises in training mode on a 0-d input (a 1-d one is unsqueezed first);
* ``softmax``/``log_softmax`` need ``dim`` in range (``dim=None`` is torch's legacy implicit choice,
  which warns but accepts any rank).
"""

from __future__ import annotations

from typing import Any, Sequence

import sympy

from arts.errors import InputError
from arts.ops.base import (
    Inferred, OpSpec, Param, Shape, bool_param, choice_param, cond, float_param, int_param, keep, norm_dim,
    rank_error, register,
)


def _probability(v: Any, name: str) -> float:
    v = float_param()(v, name)
    if not 0 <= v <= 1:
        raise InputError(f"parameter {name} must be a probability between 0 and 1, got {v}")
    return v


def _number(v: Any, name: str) -> Any:
    return float_param()(v, name)


_INPLACE = Param("inplace", False, bool_param)


class _Elementwise(OpSpec):
    """A shape-preserving op built as ``getattr(torch.nn, torch_name)(**params)``."""

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        return Inferred(tuple(inputs[0]))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        return getattr(nn, self.torch_name or "")(**p)


def _simple(name: str, torch_name: str, *params: Param) -> type:
    cls = type(torch_name + "Spec", (_Elementwise,), {
        "name": name, "torch_name": torch_name, "params": tuple(params), "doc": f"torch.nn.{torch_name}"})
    return register(cls)


_simple("identity", "Identity")
_simple("dropout", "Dropout", Param("p", 0.5, _probability), _INPLACE)
_simple("alpha_dropout", "AlphaDropout", Param("p", 0.5, _probability), _INPLACE)
_simple("relu", "ReLU", _INPLACE)
_simple("relu6", "ReLU6", _INPLACE)
_simple("leaky_relu", "LeakyReLU", Param("negative_slope", 0.01, _number), _INPLACE)
_simple("elu", "ELU", Param("alpha", 1.0, _number), _INPLACE)
_simple("selu", "SELU", _INPLACE)
_simple("gelu", "GELU", Param("approximate", "none", choice_param("none", "tanh")))
_simple("silu", "SiLU", _INPLACE)
_simple("sigmoid", "Sigmoid")
_simple("tanh", "Tanh")
_simple("hardswish", "Hardswish", _INPLACE)
_simple("hardsigmoid", "Hardsigmoid", _INPLACE)
_simple("mish", "Mish", _INPLACE)
_simple("softplus", "Softplus", Param("beta", 1.0, _number), Param("threshold", 20.0, _number))


@register
class HardtanhSpec(_Elementwise):
    name = "hardtanh"
    torch_name = "Hardtanh"
    doc = "torch.nn.Hardtanh"
    params = (Param("min_val", -1.0, _number), Param("max_val", 1.0, _number), _INPLACE)

    def validate(self, p: dict[str, Any]) -> None:
        if not p["max_val"] > p["min_val"]:
            raise InputError(f"parameter max_val={p['max_val']} must be greater than min_val={p['min_val']}")


class _Softmax(_Elementwise):
    params = (Param("dim", None, int_param(optional=True)),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        if p["dim"] is not None:
            norm_dim(p["dim"], max(len(x), 1), self.name)
        return Inferred(x)


register(type("SoftmaxSpec", (_Softmax,), {"name": "softmax", "torch_name": "Softmax", "doc": "torch.nn.Softmax"}))
register(type("LogSoftmaxSpec", (_Softmax,), {"name": "log_softmax", "torch_name": "LogSoftmax",
                                              "doc": "torch.nn.LogSoftmax"}))


class _FeatureDropout(_Elementwise):
    params = (Param("p", 0.5, _probability), _INPLACE)
    min_train_rank = 0  # below this rank torch's feature dropout raises in training mode

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        if self.name == "dropout1d" and len(x) not in (2, 3):
            raise rank_error(self.name, "a 2-d or 3-d", x)
        conds = []
        if len(x) < self.min_train_rank and 0 < p["p"] < 1:
            conds.append(cond(sympy.false, f"{self.name} in training mode needs an input of at least "
                                           f"{self.min_train_rank} dimensions", code="rank-mismatch",
                              expected=f"rank ≥ {self.min_train_rank}", found=f"rank {len(x)}", mode="train"))
        return Inferred(x, keep(*conds))


for _n, _min in ((1, 0), (2, 2), (3, 1)):
    register(type(f"Dropout{_n}dSpec", (_FeatureDropout,), {
        "name": f"dropout{_n}d", "torch_name": f"Dropout{_n}d", "spatial": _n, "min_train_rank": _min,
        "doc": f"torch.nn.Dropout{_n}d"}))
