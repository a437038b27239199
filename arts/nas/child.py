"""The shared ENAS macro child network (weight sharing).

Every layer holds one branch per *distinct* op of the space (complete-equivalence; repeated
choices share a branch), each built once; an architecture (``arc``, ENAS's encoding, see
:class:`arts.graph.enas.MacroSpace`) picks which branch runs and which earlier layers are added
as skip connections.  The structure mirrors :meth:`MacroSpace.to_graph` node for node -- stem,
per layer ``1x1 conv + BN + ReLU + op (+ BN)``, skip sum + BN, factorized reductions of every
earlier output after the reduction layers, ReLU + global average pool + dropout + linear head --
and every module is built by the same op builders as :func:`arts.graph.compile.to_module`, so the
network retrained from a saved architecture is the one that was searched.

Batch norms of the shared network use batch statistics also at evaluation time
(``track_running_stats=False``): running averages mixed over thousands of different sampled
architectures describe none of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from arts.graph.enas import MacroSpace
from arts.ops.base import Op, as_op


def _build(op: Op | str, shape: tuple[int, ...], **params: Any) -> nn.Module:
    o = Op.make(op, params) if isinstance(op, str) and "(" not in op else as_op(op)
    m = o.spec.build(o.params, [shape])
    return m


def _is_param_free(op: Op) -> bool:
    return op.name == "identity" or "pool" in op.name


def _batch_stats(module: nn.Module) -> nn.Module:
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.track_running_stats = False
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
    return module


class SharedChild(nn.Module):
    """All architectures of a macro space in one network; ``forward(x, arc)`` runs one of them."""

    def __init__(self, space: MacroSpace, height: int, width: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.space = space
        c, cin = space.channels, space.in_channels
        distinct: list[Op] = []
        keys: dict[tuple, int] = {}
        self.choice_to_branch: list[int] = []
        for o in space.ops:
            k = o.complete_key()
            if k not in keys:
                keys[k] = len(distinct)
                distinct.append(o)
            self.choice_to_branch.append(keys[k])
        self.distinct = distinct
        shape = (2, c, height, width)
        self.stem = nn.Sequential(_build("conv2d", (2, cin, height, width), in_channels=cin, out_channels=c,
                                         kernel_size=3, padding=1, bias=False),
                                  _build("batch_norm2d", shape, num_features=c))
        self.layers_ = nn.ModuleList()
        self.skip_bn = nn.ModuleList()
        for _ in range(space.layers):
            branches = nn.ModuleList()
            for op in distinct:
                mods = [_build("conv2d", shape, in_channels=c, out_channels=c, kernel_size=1, bias=False),
                        _build("batch_norm2d", shape, num_features=c), _build("relu", shape),
                        _build(op, shape)]
                if not _is_param_free(op):
                    mods.append(_build("batch_norm2d", shape, num_features=c))
                branches.append(nn.Sequential(*mods))
            self.layers_.append(branches)
            self.skip_bn.append(_build("batch_norm2d", shape, num_features=c))
        self.reductions = nn.ModuleDict()
        for i in space.reduction_layers:
            self.reductions[str(i)] = nn.ModuleList(
                _build("factorized_reduction", shape, in_channels=c, out_channels=c) for _ in range(i + 1))
        self.head = nn.Sequential(_build("relu", shape), _build("adaptive_avg_pool2d", shape, output_size=1),
                                  _build("flatten", (2, c, 1, 1)), nn.Dropout(dropout),
                                  _build("linear", (2, c), in_features=c, out_features=space.num_classes))
        _batch_stats(self)

    def forward(self, x: torch.Tensor, arc: Sequence[int]) -> torch.Tensor:
        sp = self.space
        h = self.stem(x)
        layers: list[torch.Tensor] = []
        prev = h
        for i, (a, b) in enumerate(sp.layer_slices()):
            out = self.layers_[i][self.choice_to_branch[arc[a]]](prev)
            skips = [layers[j] for j, bit in enumerate(arc[a + 1:b]) if bit]
            for s in skips:
                out = out + s
            if skips:
                out = self.skip_bn[i](out)
            layers.append(out)
            prev = out
            if i in sp.reduction_layers:
                reds = self.reductions[str(i)]
                layers = [reds[j](t) for j, t in enumerate(layers)]
                prev = layers[-1]
        return self.head(prev)

    def active_parameters(self, arc: Sequence[int]) -> int:
        """Number of parameters the architecture ``arc`` uses (equals its compiled network's)."""
        sp = self.space
        n = sum(p.numel() for p in self.stem.parameters()) + sum(p.numel() for p in self.head.parameters())
        for i, (a, b) in enumerate(sp.layer_slices()):
            n += sum(p.numel() for p in self.layers_[i][self.choice_to_branch[arc[a]]].parameters())
            if any(arc[a + 1:b]):
                n += sum(p.numel() for p in self.skip_bn[i].parameters())
        for mods in self.reductions.values():
            n += sum(p.numel() for p in mods.parameters())
        return n
