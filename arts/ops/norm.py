"""Normalisation layers: batch, instance, layer and group norm (torch.nn.BatchNormNd, ...).

All are shape-preserving; what matters is which inputs torch accepts:

* ``batch_norm1d`` takes ``(N, C)`` or ``(N, C, L)``; ``batch_norm2d`` only 4-d, ``batch_norm3d``
  only 5-d.  When batch statistics are used (training mode, or always with
  ``track_running_stats=False``) torch needs more than one value per channel:
  ``N * prod(spatial) >= 2``.
* ``instance_norm{1,2,3}d`` take the batched or the unbatched rank.  With input statistics (always
  when ``track_running_stats=False``, the default) torch needs more than one spatial element.
  A channel count other than ``num_features`` is an error only with ``affine`` or
  ``track_running_stats`` (otherwise torch merely warns).
* ``group_norm`` needs ``C % num_groups == 0`` (``C == num_channels`` when ``affine``) and more
  than one value per group, ``N * C/num_groups * prod(spatial) >= 2``, in every mode.
* ``layer_norm`` needs the trailing dimensions to equal ``normalized_shape``.

``num_features``/``num_channels`` omitted means "any channel count" (ENAS style).
"""

from __future__ import annotations

from typing import Any, Sequence

import sympy

from arts.errors import InputError
from arts.ops.base import (
    Inferred, OpSpec, Param, Shape, bool_param, cond, eq, float_param, int_param, keep, prod, rank_error,
    register,
)
from arts.solver.symbols import dim

__all__ = ["more_than_one"]


def _opt_float(lo: float | None = None) -> Any:
    inner = float_param(lo)

    def conv(v: Any, name: str) -> Any:
        return None if v is None else inner(v, name)
    return conv


def more_than_one(factors: Sequence[Any], times: int, message: str, mode: str) -> Any:
    """Condition ``prod(factors) >= 2 * times`` (torch's "more than 1 value per channel")."""
    total = sympy.sympify(prod(list(factors)) if factors else 1)
    return cond(sympy.Ge(total, 2 * times), message, code="too-small", expected=f"≥ {2 * times}",
                found=total, mode=mode)


class _BatchNormBase(OpSpec):
    ranks: tuple[int, ...] = ()

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        if len(x) not in self.ranks:
            want = " or ".join(f"{r}-d" for r in self.ranks)
            raise rank_error(self.name, f"a {want}", x)
        c = x[1]
        conds = []
        nf = p["num_features"]
        if nf is not None and (p["affine"] or p["track_running_stats"]):
            conds.append(eq(c, nf, f"{self.name} expects {nf} channels", code="channel-mismatch"))
        mode = "train" if p["track_running_stats"] else "any"
        conds.append(more_than_one([x[0], *x[2:]], 1, f"{self.name} needs more than 1 value per channel "
                                   "(batch size times spatial size) to compute batch statistics", mode))
        return Inferred(x, keep(*conds))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        n = self.spatial
        cls = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[n]  # type: ignore[index]
        nf = p["num_features"] if p["num_features"] is not None else inputs[0][1]
        return cls(nf, eps=p["eps"], momentum=p["momentum"], affine=p["affine"],
                   track_running_stats=p["track_running_stats"])


class _InstanceNormBase(OpSpec):
    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        n = self.spatial
        assert n is not None
        x = tuple(inputs[0])
        if len(x) not in (n + 1, n + 2):
            raise rank_error(self.name, f"a {n + 1}-d (unbatched) or {n + 2}-d (batched)", x)
        c = x[-n - 1]
        conds = []
        nf = p["num_features"]
        if nf is not None and (p["affine"] or p["track_running_stats"]):
            conds.append(eq(c, nf, f"{self.name} expects {nf} channels", code="channel-mismatch"))
        mode = "train" if p["track_running_stats"] else "any"
        conds.append(more_than_one(x[-n:], 1, f"{self.name} needs more than 1 spatial element to compute "
                                   "instance statistics", mode))
        return Inferred(x, keep(*conds))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        n = self.spatial
        assert n is not None
        cls = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}[n]
        nf = p["num_features"] if p["num_features"] is not None else inputs[0][-n - 1]
        return cls(nf, eps=p["eps"], momentum=p["momentum"], affine=p["affine"],
                   track_running_stats=p["track_running_stats"])


def _norm_params(affine: bool, track: bool) -> tuple[Param, ...]:
    return (
        Param("num_features", None, int_param(1, optional=True), "channels (omitted: any)"),
        Param("eps", 1e-5, float_param(0)),
        Param("momentum", 0.1, _opt_float(0)),
        Param("affine", affine, bool_param),
        Param("track_running_stats", track, bool_param),
    )


for _n in (1, 2, 3):
    register(type(f"BatchNorm{_n}dSpec", (_BatchNormBase,), {
        "name": f"batch_norm{_n}d", "spatial": _n, "torch_name": f"BatchNorm{_n}d",
        "ranks": (2, 3) if _n == 1 else (_n + 2,), "params": _norm_params(True, True),
        "doc": f"torch.nn.BatchNorm{_n}d"}))
    register(type(f"InstanceNorm{_n}dSpec", (_InstanceNormBase,), {
        "name": f"instance_norm{_n}d", "spatial": _n, "torch_name": f"InstanceNorm{_n}d",
        "params": _norm_params(False, False), "doc": f"torch.nn.InstanceNorm{_n}d"}))


def _shape_param(v: Any, name: str) -> tuple[int, ...]:
    vals = [v] if isinstance(v, int) and not isinstance(v, bool) else v
    if (not isinstance(vals, (list, tuple)) or not vals
            or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in vals)):
        raise InputError(f"parameter {name} must be a positive integer or a non-empty list of them, got {v!r}")
    return tuple(vals)


@register
class LayerNormSpec(OpSpec):
    """torch.nn.LayerNorm: the trailing dimensions must equal ``normalized_shape``."""

    name = "layer_norm"
    torch_name = "LayerNorm"
    doc = "torch.nn.LayerNorm"
    params = (
        Param("normalized_shape", None, _shape_param),
        Param("eps", 1e-5, float_param(0)),
        Param("elementwise_affine", True, bool_param),
        Param("bias", True, bool_param),
    )

    def default_input(self, p: dict[str, Any]) -> list[Shape]:
        return [(dim("N"), dim("L")) + tuple(sympy.Integer(s) for s in p["normalized_shape"])]

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        ns = p["normalized_shape"]
        if len(x) < len(ns):
            raise rank_error(self.name, f"an at least {len(ns)}-d", x)
        conds = [eq(x[len(x) - len(ns) + i], s,
                    f"{self.name} expects trailing dimensions {list(ns)} (dimension {len(x) - len(ns) + i})")
                 for i, s in enumerate(ns)]
        return Inferred(x, keep(*conds))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        return nn.LayerNorm(list(p["normalized_shape"]), eps=p["eps"],
                            elementwise_affine=p["elementwise_affine"], bias=p["bias"])


@register
class GroupNormSpec(OpSpec):
    """torch.nn.GroupNorm: ``(N, C, *)`` with ``C`` split into ``num_groups`` groups."""

    name = "group_norm"
    torch_name = "GroupNorm"
    doc = "torch.nn.GroupNorm"
    params = (
        Param("num_groups", None, int_param(1)),
        Param("num_channels", None, int_param(1, optional=True), "channels (omitted: any multiple of num_groups)"),
        Param("eps", 1e-5, float_param(0)),
        Param("affine", True, bool_param),
    )

    def validate(self, p: dict[str, Any]) -> None:
        if p["num_channels"] is not None and p["num_channels"] % p["num_groups"]:
            raise InputError(f"parameter num_channels={p['num_channels']} must be divisible by "
                             f"num_groups={p['num_groups']}")

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        if len(x) < 2:
            raise rank_error(self.name, "an at least 2-d", x)
        g, c = p["num_groups"], x[1]
        conds = []
        if p["num_channels"] is not None and p["affine"]:
            conds.append(eq(c, p["num_channels"], f"{self.name} expects {p['num_channels']} channels",
                            code="channel-mismatch"))
        else:
            conds.append(cond(sympy.Eq(sympy.Mod(c, g), 0),
                              f"{self.name} needs the channel count divisible by num_groups={g}",
                              code="channel-mismatch", expected=f"multiple of {g}", found=str(c)))
        conds.append(more_than_one([x[0], c, *x[2:]], g, f"{self.name} needs more than 1 value per group",
                                   "any"))
        return Inferred(x, keep(*conds))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        nc = p["num_channels"] if p["num_channels"] is not None else inputs[0][1]
        return nn.GroupNorm(p["num_groups"], nc, eps=p["eps"], affine=p["affine"])
