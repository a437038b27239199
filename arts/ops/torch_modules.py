"""``torch.nn.Module`` wrappers for the ops torch only offers as functions, and the ENAS cells.

This module imports torch at the top: it is only ever imported from inside an
:meth:`arts.ops.base.OpSpec.build`, never by the symbolic core.  Every wrapper's ``forward``
takes the op's inputs as positional tensors, in the order of the graph node's ``args``.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


class Add(nn.Module):
    def __init__(self, alpha: float = 1) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.add(a, b, alpha=self.alpha) if self.alpha != 1 else a + b


class Sub(nn.Module):
    def __init__(self, alpha: float = 1) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.sub(a, b, alpha=self.alpha) if self.alpha != 1 else a - b


class Mul(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * b


class Div(nn.Module):
    def __init__(self, rounding_mode: str | None = None) -> None:
        super().__init__()
        self.rounding_mode = rounding_mode

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.div(a, b, rounding_mode=self.rounding_mode)


class Cat(nn.Module):
    def __init__(self, dim: int = 0) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)


class Stack(nn.Module):
    def __init__(self, dim: int = 0) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.stack(xs, dim=self.dim)


class Reshape(nn.Module):
    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(self.shape)


class View(nn.Module):
    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(self.shape)


class Flatten(nn.Flatten):
    """``torch.flatten(x, start_dim, end_dim)`` (same as ``nn.Flatten``; kept for symmetry)."""


class Expand(nn.Module):
    def __init__(self, size: Sequence[int]) -> None:
        super().__init__()
        self.size = tuple(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.expand(self.size)


class Slice(nn.Module):
    def __init__(self, dim: int, start: int | None, end: int | None, step: int) -> None:
        super().__init__()
        self.dim, self.start, self.end, self.step = dim, start, end, step

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = [slice(None)] * x.dim()
        index[self.dim] = slice(self.start, self.end, self.step)
        return x[tuple(index)]


class Contiguous(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous()


class Permute(nn.Module):
    def __init__(self, dims: Sequence[int]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.dims)


class Transpose(nn.Module):
    def __init__(self, dim0: int, dim1: int) -> None:
        super().__init__()
        self.dim0, self.dim1 = dim0, dim1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(self.dim0, self.dim1)


class Squeeze(nn.Module):
    def __init__(self, dim: int | Sequence[int] | None = None) -> None:
        super().__init__()
        self.dim = tuple(dim) if isinstance(dim, (list, tuple)) else dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.squeeze() if self.dim is None else x.squeeze(self.dim)  # type: ignore[arg-type]


class Unsqueeze(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(self.dim)


class Pad(nn.Module):
    def __init__(self, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> None:
        super().__init__()
        self.pad, self.mode, self.value = list(pad), mode, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pad, mode=self.mode, value=self.value)


class Interpolate(nn.Module):
    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                 antialias: bool = False) -> None:
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor, self.antialias = (
            align_corners, recompute_scale_factor, antialias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=self.size, scale_factor=self.scale_factor, mode=self.mode,
                             align_corners=self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor, antialias=self.antialias)


class SepConv2d(nn.Module):
    """Depthwise-separable convolution: a k x k depthwise conv (groups = input channels), then a
    pointwise 1x1 conv mixing channels to ``out_channels``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, bias: bool = True) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride, padding=padding,
                                   dilation=dilation, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class FactorizedReduction(nn.Module):
    """ENAS's factorized reduction: halve height and width without losing every other pixel.

    Path 1: 1x1 average pool with stride 2, then a 1x1 conv to ``out_channels // 2``.
    Path 2: the input shifted by one pixel (pad right/bottom by one, drop the first row and
    column), the same pool, and another 1x1 conv to ``out_channels // 2``.
    The two are concatenated on channels and batch-normalised.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        if out_channels % 2:
            raise ValueError(f"out_channels must be even, got {out_channels}")
        half = out_channels // 2
        self.path1 = nn.Sequential(nn.AvgPool2d(1, stride=2), nn.Conv2d(in_channels, half, 1, bias=False))
        self.path2 = nn.Sequential(nn.AvgPool2d(1, stride=2), nn.Conv2d(in_channels, half, 1, bias=False))
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p1 = self.path1(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        p2 = self.path2(shifted)
        return self.bn(torch.cat([p1, p2], dim=1))
