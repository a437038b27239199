"""An ENAS macro-search child network (Pham et al. 2018), written in plain PyTorch.

A fixed sampled architecture: every layer runs one of six operations (3x3/5x5 convolutions,
3x3/5x5 depthwise-separable convolutions, 3x3 average/max pooling) and adds the outputs of the
earlier layers its skip connections select.  Reductions halve the resolution with ENAS's
*factorized reduction*: two stride-2 1x1 paths, the second shifted by one pixel (pad, then crop),
concatenated -- so both paths must come out the same size for every input.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

# (operation, skip bits over the previous layers) per layer, as sampled by the controller
ARC = [
    (0, []),
    (3, [1]),
    (5, [0, 1]),
    (1, [1, 0, 1]),
    (2, [0, 0, 1, 1]),
    (4, [1, 1, 0, 0, 1]),
    (0, [0, 1, 0, 1, 0, 1]),
    (3, [1, 0, 0, 0, 1, 0, 1]),
    (1, [0, 0, 1, 0, 0, 1, 0, 1]),
]
POOL_LAYERS = (2, 5)  # a factorized reduction after these layers


class SepConv(nn.Module):
    def __init__(self, c_in, c_out, kernel_size):
        super().__init__()
        padding = (kernel_size - 1) // 2
        self.depthwise = nn.Conv2d(c_in, c_in, kernel_size, padding=padding, groups=c_in, bias=False)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class ConvBranch(nn.Module):
    def __init__(self, c_in, c_out, kernel_size, separable):
        super().__init__()
        self.inp_conv1 = nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())
        padding = (kernel_size - 1) // 2
        if separable:
            conv = SepConv(c_out, c_out, kernel_size)
        else:
            conv = nn.Conv2d(c_out, c_out, kernel_size, padding=padding, bias=False)
        self.out_conv = nn.Sequential(conv, nn.BatchNorm2d(c_out), nn.ReLU())

    def forward(self, x):
        return self.out_conv(self.inp_conv1(x))


class PoolBranch(nn.Module):
    def __init__(self, c_in, c_out, kind):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())
        if kind == "avg":
            self.pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        else:
            self.pool = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x):
        return self.pool(self.conv1(x))


class FactorizedReduction(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        assert c_out % 2 == 0
        self.path1 = nn.Sequential(nn.AvgPool2d(1, stride=2), nn.Conv2d(c_in, c_out // 2, 1, bias=False))
        self.path2 = nn.Sequential(nn.AvgPool2d(1, stride=2), nn.Conv2d(c_in, c_out // 2, 1, bias=False))
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        a = self.path1(x)
        # shift by one pixel: pad right/bottom, drop the first row and column
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        b = self.path2(shifted)
        return self.bn(torch.cat([a, b], dim=1))


def make_branch(op, c):
    if op == 0:
        return ConvBranch(c, c, 3, separable=False)
    if op == 1:
        return ConvBranch(c, c, 3, separable=True)
    if op == 2:
        return ConvBranch(c, c, 5, separable=False)
    if op == 3:
        return ConvBranch(c, c, 5, separable=True)
    if op == 4:
        return PoolBranch(c, c, "avg")
    return PoolBranch(c, c, "max")


class ENASChild(nn.Module):
    def __init__(self, arc=ARC, out_filters=36, num_classes=10, keep_prob=0.9):
        super().__init__()
        self.arc = arc
        self.stem = nn.Sequential(nn.Conv2d(3, out_filters, 3, padding=1, bias=False), nn.BatchNorm2d(out_filters))
        self.layers = nn.ModuleList()
        self.skip_bns = nn.ModuleList()
        self.reductions = nn.ModuleDict()
        for i, (op, _skips) in enumerate(arc):
            self.layers.append(make_branch(op, out_filters))
            self.skip_bns.append(nn.BatchNorm2d(out_filters))
            if i in POOL_LAYERS:
                self.reductions[str(i)] = nn.ModuleList(
                    [FactorizedReduction(out_filters, out_filters) for _ in range(i + 1)])
        self.dropout = nn.Dropout(1 - keep_prob)
        self.fc = nn.Linear(out_filters, num_classes)

    def forward(self, x):
        x = self.stem(x)
        prev = []
        for i, (op, skips) in enumerate(self.arc):
            out = self.layers[i](x)
            for j, bit in enumerate(skips):
                if bit:
                    out = out + prev[j]
            out = self.skip_bns[i](out)
            prev.append(out)
            if str(i) in self.reductions:
                prev = [red(p) for red, p in zip(self.reductions[str(i)], prev)]
                out = prev[-1]
            x = out
        x = F.relu(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        x = self.dropout(x)
        return self.fc(x)
