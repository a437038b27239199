"""Network graphs used by the benchmarks and the tests: ResNet-style stacks, chains, U-Nets."""

from __future__ import annotations

from arts.graph.graph import GraphBuilder


def resnet_graph(blocks: tuple[int, ...] = (3, 8, 36, 3), width: int = 64, input_shape: str = "N,3,H,W",
                 classes: int = 1000):
    """A torchvision-style bottleneck ResNet (ResNet-152 by default: 155 convs, 50 residual adds)."""
    g = GraphBuilder()
    x = g.input("x", input_shape)
    h = g.add("conv2d", x, in_channels=3, out_channels=width, kernel_size=7, stride=2, padding=3, bias=False)
    h = g.add("batch_norm2d", h, num_features=width)
    h = g.add("relu", h)
    h = g.add("max_pool2d", h, kernel_size=3, stride=2, padding=1)
    cin = width
    for stage, n in enumerate(blocks):
        mid = width * 2 ** stage
        out = mid * 4
        for b in range(n):
            stride = 2 if (b == 0 and stage > 0) else 1
            y = g.add("conv2d", h, in_channels=cin, out_channels=mid, kernel_size=1, bias=False)
            y = g.add("batch_norm2d", y, num_features=mid)
            y = g.add("relu", y)
            y = g.add("conv2d", y, in_channels=mid, out_channels=mid, kernel_size=3, stride=stride, padding=1,
                      bias=False)
            y = g.add("batch_norm2d", y, num_features=mid)
            y = g.add("relu", y)
            y = g.add("conv2d", y, in_channels=mid, out_channels=out, kernel_size=1, bias=False)
            y = g.add("batch_norm2d", y, num_features=out)
            if b == 0:
                s = g.add("conv2d", h, in_channels=cin, out_channels=out, kernel_size=1, stride=stride, bias=False)
                s = g.add("batch_norm2d", s, num_features=out)
            else:
                s = h
            h = g.add("relu", g.add("add", y, s))
            cin = out
    h = g.add("adaptive_avg_pool2d", h, output_size=1)
    h = g.add("flatten", h)
    h = g.add("linear", h, in_features=cin, out_features=classes)
    g.output(h)
    return g.graph


def chain_graph(n: int, input_shape: str = "N,8,H,W"):
    """``n`` conv+relu pairs (3x3, padding 1), five of them strided (as in a 5-stage backbone)."""
    g = GraphBuilder()
    h = g.input("x", input_shape)
    strided = {(n // 2) * k // 6 for k in range(1, 6)}
    for i in range(n // 2):
        h = g.add("conv2d", h, in_channels=8, out_channels=8, kernel_size=3, padding=1,
                  stride=2 if i in strided else 1)
        h = g.add("relu", h)
    g.output(h)
    return g.graph


def residual_stack(n: int, input_shape: str = "N,8,H,W"):
    """Residual blocks of (conv, relu, conv, add) until about ``n`` nodes."""
    g = GraphBuilder()
    h = g.input("x", input_shape)
    for _ in range(max(1, n // 4)):
        y = g.add("conv2d", h, in_channels=8, out_channels=8, kernel_size=3, padding=1)
        y = g.add("relu", y)
        y = g.add("conv2d", y, in_channels=8, out_channels=8, kernel_size=3, padding=1)
        h = g.add("add", y, h)
    g.output(h)
    return g.graph
