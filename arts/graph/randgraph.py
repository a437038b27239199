"""Random networks for soundness fuzzing: chains, residual blocks, add/cat merges, up/down sampling.

``random_graph(rng)`` returns a well-formed graph over input ``N, C, H, W`` (C fixed) whose ops
and parameters are drawn so that many, but not all, input sizes are accepted: the interesting
cases are exactly the merges of branches whose sizes drift apart.  Channels are tracked so most
graphs are channel-consistent; a few are not on purpose.
"""

from __future__ import annotations

import random
from typing import Any

import networkx as nx

from arts.graph.graph import GraphBuilder


def _conv(rng: random.Random) -> dict[str, Any]:
    k = rng.randint(1, 5)
    return {"kernel_size": k, "stride": rng.choice([1, 1, 2, 3]), "padding": rng.randint(0, 3),
            "dilation": rng.choice([1, 1, 2])}


def _pool(rng: random.Random) -> dict[str, Any]:
    k = rng.randint(1, 4)
    return {"kernel_size": k, "stride": rng.choice([None, 1, 2]), "padding": rng.randint(0, k // 2),
            "ceil_mode": rng.random() < 0.3}


def random_graph(rng: random.Random, max_nodes: int = 10, channels: int = 3) -> nx.DiGraph:
    """A random network graph (see module docstring)."""
    g = GraphBuilder()
    x = g.input("x", f"N,{channels},H,W")
    tensors: list[tuple[str, int]] = [(x, channels)]
    n = rng.randint(1, max_nodes)
    for _ in range(n):
        src, c = rng.choice(tensors[-3:]) if rng.random() < 0.7 else rng.choice(tensors)
        kind = rng.choice(["conv", "conv", "pool", "pool", "tconv", "up", "add", "add", "cat", "act", "bn", "sep"])
        if kind == "conv":
            out = rng.choice([c, c, c + 1]) if rng.random() < 0.95 else c + 2
            name = g.add("conv2d", src, in_channels=c if rng.random() < 0.97 else c + 1, out_channels=out,
                         **_conv(rng))
            c = out
        elif kind == "sep":
            p = _conv(rng)
            name = g.add("sep_conv2d", src, **{k: v for k, v in p.items()})
        elif kind == "pool":
            name = g.add(rng.choice(["max_pool2d", "avg_pool2d"]), src, **_pool(rng))
        elif kind == "tconv":
            s = rng.choice([1, 2])
            d = rng.choice([1, 2])
            name = g.add("conv_transpose2d", src, in_channels=c, out_channels=c, kernel_size=rng.randint(1, 4),
                         stride=s, padding=rng.randint(0, 2), dilation=d, output_padding=rng.randint(0, max(s, d) - 1))
        elif kind == "up":
            name = g.add("upsample", src, scale_factor=rng.choice([2, 3]), mode="nearest")
        elif kind in ("add", "cat"):
            other, c2 = rng.choice(tensors)
            if kind == "add":
                if c2 != c and rng.random() < 0.8:
                    continue
                name = g.add("add", src, other)
                c = max(c, c2) if 1 in (c, c2) else c
            else:
                name = g.add("cat", src, other, dim=1)
                c = c + c2
        elif kind == "act":
            name = g.add(rng.choice(["relu", "sigmoid", "identity"]), src)
        else:
            name = g.add("batch_norm2d", src, num_features=c)
        tensors.append((name, c))
    g.output(tensors[-1][0])
    return g.graph


class EmptyTensor(RuntimeError):
    """A node produced a tensor with a zero-size dimension."""


def torch_accepts(module: Any, shape: tuple[int, ...]) -> tuple[bool, tuple[int, ...] | None]:
    """Run ``module`` on a meta tensor of ``shape``: (accepted, output shape).

    The oracle arts is held to: torch runs without a shape error **and** no node produces a
    zero-size tensor.  arts models sizes as positive integers, so a layer whose output would be
    empty (torch allows e.g. a transposed conv with 0 output rows) counts as rejected.
    """
    import torch

    def no_empty(mod: Any, args: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor) and 0 in out.shape:
            raise EmptyTensor(f"{type(mod).__name__} produced an empty tensor {tuple(out.shape)}")

    hooks = [m.register_forward_hook(no_empty) for m in module.modules() if m is not module]
    try:
        with torch.no_grad():
            out = module(torch.empty(shape, device="meta"))
    except (RuntimeError, ValueError, IndexError):
        return False, None
    finally:
        for h in hooks:
            h.remove()
    return True, tuple(out.shape)
