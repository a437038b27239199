"""The shared ENAS macro child network (weight sharing).

Every layer holds one branch per controller *choice* -- a choice repeated in the space (3b's
"6 x {...}", T1's duplicate settings and pool copies) gets its own weights, as in the authors' code
-- and an architecture (``arc``, ENAS's encoding, see :class:`arts.graph.enas.MacroSpace`) picks
which branch runs and which earlier layers are added as skip connections.  Every module is built
from the torch-free :func:`arts.graph.enas.blueprint` by the same op builders as
:func:`arts.graph.compile.to_module`, so the network searched here, the graph that is type-checked
(``MacroSpace.to_graph``) and the network retrained from a saved architecture are one network.

Batch norms of the shared network use batch statistics also at evaluation time
(``track_running_stats=False``, as the authors): running averages mixed over thousands of
different sampled architectures describe none of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from arts.graph.enas import MacroSpace, Steps, blueprint
from arts.ops.base import Op


def _build(op: Op, shape: tuple[int, ...]) -> nn.Module:
    m: nn.Module = op.spec.build(op.params, [shape])
    return m


def _seq(steps: Steps, shape: tuple[int, ...]) -> nn.Sequential:
    mods = []
    for _, op in steps:
        mods.append(_build(op, shape))
        inf = op.apply([shape])
        shape = tuple(int(v) for v in inf.shape)
    return nn.Sequential(*mods)


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
        bp = blueprint(space, dropout)
        self.blueprint = bp
        c, cin = space.channels, space.in_channels
        shape = (2, c, height, width)
        self.stem = _seq(bp.stem, (2, cin, height, width))
        self.layers_ = nn.ModuleList()
        self.layer_bn = nn.ModuleList()
        for _ in range(space.layers):
            self.layers_.append(nn.ModuleList(_seq(steps, shape) for steps in bp.branches))
            self.layer_bn.append(_build(bp.layer_norm, shape))
        self.reductions = nn.ModuleDict()
        for i in bp.reduction_layers:
            self.reductions[str(i)] = nn.ModuleList(_build(bp.reduction, shape) for _ in range(i + 1))
        self.head = _seq(bp.head, shape)
        self._slices = space.layer_slices()
        self._reduce_at = set(bp.reduction_layers)
        _batch_stats(self)

    def forward(self, x: torch.Tensor, arc: Sequence[int]) -> torch.Tensor:
        h = self.stem(x)
        layers: list[torch.Tensor] = []
        prev = h
        for i, (a, b) in enumerate(self._slices):
            out = cast(nn.ModuleList, self.layers_[i])[arc[a]](prev)
            for j in range(b - a - 1):
                if arc[a + 1 + j]:
                    out = out + layers[j]
            out = self.layer_bn[i](out)
            layers.append(out)
            prev = out
            if i in self._reduce_at:
                reds = cast(nn.ModuleList, self.reductions[str(i)])
                layers = [reds[j](t) for j, t in enumerate(layers)]
                prev = layers[-1]
        return self.head(prev)

    def active_parameters(self, arc: Sequence[int]) -> int:
        """Number of parameters the architecture ``arc`` uses (equals its compiled network's)."""
        n = sum(p.numel() for p in self.stem.parameters()) + sum(p.numel() for p in self.head.parameters())
        for i, (a, _) in enumerate(self._slices):
            n += sum(p.numel() for p in cast(nn.ModuleList, self.layers_[i])[arc[a]].parameters())
            n += sum(p.numel() for p in self.layer_bn[i].parameters())
        for mods in self.reductions.values():
            n += sum(p.numel() for p in mods.parameters())
        return n
