"""Regenerate the example graph files in this folder (python examples/make_graphs.py).

Each is a network whose accepted input sizes are worth knowing exactly:

* unet.json -- four 2x2 max-pools, transposed-conv upsampling and concat skips: accepts exactly the
  multiples of 16;
* resblock_odd.json -- a residual block whose main path is a stride-2 3x3 conv (padding 1) and whose
  shortcut is a 2x2 average pool: breaks at every odd size;
* pyramid.json -- a stride-2 conv pyramid with nearest upsampling and add skips: also accepted at
  H = 1, where the size-1 side broadcasts;
* linear_head.json -- a Linear after flatten: 16*floor(H/4)*floor(W/4) must be 1024.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from arts.graph.fileformat import save_graph  # noqa: E402
from arts.graph.graph import GraphBuilder  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def unet():
    g = GraphBuilder()
    x = g.input("x", "N,3,H,W")
    h, ch, skips = x, 3, []
    for i, w in enumerate((16, 32, 64, 128)):
        h = g.add("conv2d", h, name=f"enc{i}", in_channels=ch, out_channels=w, kernel_size=3, padding=1)
        h = g.add("relu", h, name=f"enc{i}_relu")
        skips.append(h)
        h = g.add("max_pool2d", h, name=f"pool{i}", kernel_size=2)
        ch = w
    h = g.add("conv2d", h, name="bottom", in_channels=ch, out_channels=256, kernel_size=3, padding=1)
    ch = 256
    for i, w in reversed(list(enumerate((16, 32, 64, 128)))):
        h = g.add("conv_transpose2d", h, name=f"up{i}", in_channels=ch, out_channels=w, kernel_size=2, stride=2)
        h = g.add("cat", skips[i], h, name=f"cat{i}", dim=1)
        h = g.add("conv2d", h, name=f"dec{i}", in_channels=2 * w, out_channels=w, kernel_size=3, padding=1)
        h = g.add("relu", h, name=f"dec{i}_relu")
        ch = w
    h = g.add("conv2d", h, name="head", in_channels=ch, out_channels=2, kernel_size=1)
    g.output(h)
    return g.graph


def resblock_odd():
    g = GraphBuilder()
    x = g.input("x", "N,16,H,W")
    m = g.add("conv2d", x, name="main", in_channels=16, out_channels=16, kernel_size=3, stride=2, padding=1)
    m = g.add("batch_norm2d", m, name="main_bn", num_features=16)
    s = g.add("avg_pool2d", x, name="shortcut", kernel_size=2)
    y = g.add("add", m, s, name="sum")
    g.output(g.add("relu", y, name="out"))
    return g.graph


def pyramid():
    g = GraphBuilder()
    x = g.input("x", "N,8,H,W")
    d1 = g.add("conv2d", x, name="down1", in_channels=8, out_channels=8, kernel_size=3, stride=2, padding=1)
    d2 = g.add("conv2d", d1, name="down2", in_channels=8, out_channels=8, kernel_size=3, stride=2, padding=1)
    u1 = g.add("upsample", d2, name="up1", scale_factor=2, mode="nearest")
    a1 = g.add("add", u1, d1, name="merge1")
    u0 = g.add("upsample", a1, name="up0", scale_factor=2, mode="nearest")
    a0 = g.add("add", u0, x, name="merge0")
    g.output(a0)
    return g.graph


def linear_head():
    g = GraphBuilder()
    x = g.input("x", "N,3,H,W")
    h = g.add("conv2d", x, name="conv1", in_channels=3, out_channels=16, kernel_size=3, padding=1)
    h = g.add("max_pool2d", h, name="pool1", kernel_size=2)
    h = g.add("max_pool2d", h, name="pool2", kernel_size=2)
    h = g.add("flatten", h, name="flat")
    h = g.add("linear", h, name="fc", in_features=1024, out_features=10)
    g.output(h)
    return g.graph


if __name__ == "__main__":
    for name, fn in [("unet", unet), ("resblock_odd", resblock_odd), ("pyramid", pyramid),
                     ("linear_head", linear_head)]:
        save_graph(fn(), os.path.join(HERE, f"{name}.json"))
        print(f"wrote examples/{name}.json")
