"""Random networks for soundness fuzzing: chains, residual blocks, add/cat merges, up/down sampling.

``random_graph(rng)`` returns a well-formed graph over input ``N, C, H, W`` (C fixed) whose ops
and parameters are drawn so that many, but not all, input sizes are accepted: the interesting
cases are exactly the merges of branches whose sizes drift apart.  Channels are tracked so most
graphs are channel-consistent; a few are not on purpose.

``layout=True`` adds memory-layout changes: spatial transposes inside the body, and a tail of
``transpose``/``permute``/``slice``/``expand``/``contiguous``/``relu``/``flatten`` feeding a
``view`` (or ``reshape``), the place where torch's stride condition bites.

The oracle is torch: :func:`torch_accepts` runs a module on meta tensors (fast, no data), and
:func:`torch_verdict` confirms every disagreement with arts on real CPU tensors, because meta
kernels accept some inputs CPU rejects (a transposed conv with the wrong number of input channels
runs on meta).
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


def _layout_tail(g: GraphBuilder, rng: random.Random, src: str, c: int) -> str:
    """1-3 layout-changing ops on a rank-4 ``(N, c, h, w)`` tensor, then a view or reshape."""
    rank, t = 4, src
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["transpose", "transpose", "permute", "permute", "slice", "expand", "contiguous", "relu",
                           "flatten"])
        if kind == "transpose" and rank >= 2:
            a, b = rng.sample(range(rank), 2)
            t = g.add("transpose", t, dim0=a, dim1=b)
        elif kind in ("permute", "transpose"):
            t = g.add("permute", t, dims=rng.sample(range(rank), rank))
        elif kind == "slice":
            t = g.add("slice", t, dim=rng.randrange(rank), start=rng.choice([None, None, 1]),
                      step=rng.choice([1, 2, 2, 3]))
        elif kind == "expand":
            d = rng.randint(0, rank)
            t = g.add("unsqueeze", t, dim=d)
            size = [-1] * (rank + 1)
            size[d] = rng.choice([2, 3])
            t = g.add("expand", t, size=size)
            rank += 1
        elif kind == "flatten" and rank > 2:
            s0 = rng.randint(0, rank - 2)
            e = rng.randint(s0 + 1, rank - 1)
            t = g.add("flatten", t, start_dim=s0, end_dim=e)
            rank -= e - s0
        elif kind != "flatten":
            t = g.add(kind, t)
    shape = rng.choice([[-1], [-1, c], [c, -1], [-1, 2], [2, -1], [1, -1], [-1, c, 1], [-1, 4], [3, -1]])
    return g.add(rng.choice(["view", "view", "view", "reshape"]), t, shape=shape)


def random_graph(rng: random.Random, max_nodes: int = 10, channels: int = 3, layout: bool = False) -> nx.DiGraph:
    """A random network graph (see module docstring)."""
    g = GraphBuilder()
    x = g.input("x", f"N,{channels},H,W")
    tensors: list[tuple[str, int]] = [(x, channels)]
    n = rng.randint(1, max_nodes)
    for _ in range(n):
        src, c = rng.choice(tensors[-3:]) if rng.random() < 0.7 else rng.choice(tensors)
        kind = rng.choice(["conv", "conv", "pool", "pool", "tconv", "up", "add", "add", "cat", "act", "bn", "sep"]
                          + (["swap"] if layout else []))
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
        elif kind == "swap":  # (N, c, W, H): later layers see a non-contiguous input
            name = g.add("transpose", src, dim0=2, dim1=3)
        elif kind == "act":
            name = g.add(rng.choice(["relu", "sigmoid", "identity"]), src)
        else:
            name = g.add("batch_norm2d", src, num_features=c)
        tensors.append((name, c))
    last, last_c = tensors[-1]
    g.output(_layout_tail(g, rng, last, last_c) if layout else last)
    return g.graph


class EmptyTensor(RuntimeError):
    """A node produced a tensor with a zero-size dimension."""


def torch_accepts(module: Any, shape: tuple[int, ...], device: str = "meta") -> tuple[bool, tuple[int, ...] | None]:
    """Run ``module`` (already on ``device``) on a tensor of ``shape``: (accepted, output shape).

    The oracle arts is held to: torch runs without a shape error **and** no node produces a
    zero-size tensor.  arts models sizes as positive integers, so a layer whose output would be
    empty (torch allows e.g. a transposed conv with 0 output rows) counts as rejected.  On
    ``"meta"`` no data is touched; ``"cpu"`` runs real kernels on zeros.
    """
    import torch

    def no_empty(mod: Any, args: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor) and 0 in out.shape:
            raise EmptyTensor(f"{type(mod).__name__} produced an empty tensor {tuple(out.shape)}")

    hooks = [m.register_forward_hook(no_empty) for m in module.modules() if m is not module]
    try:
        with torch.no_grad():
            x = torch.empty(shape, device="meta") if device == "meta" else torch.zeros(shape, device=device)
            out = module(x)
    except (RuntimeError, ValueError, IndexError):
        return False, None
    finally:
        for h in hooks:
            h.remove()
    return True, tuple(out.shape)


class Oracle:
    """torch's verdict on a graph, always from real CPU tensors.

    With ``meta_first`` the module runs on meta tensors first (no data) and only a disagreement
    with arts is re-run on CPU, whose answer counts; ``meta_overruled`` counts the sizes where
    CPU contradicted meta (meta kernels are laxer: a transposed conv with the wrong number of
    input channels runs on meta only).  On small sizes CPU is the faster of the two anyway.
    """

    def __init__(self, G: "nx.DiGraph | None" = None, meta_first: bool = False, module: Any = None) -> None:
        import copy

        from arts.graph.compile import to_module

        self.cpu = (module if module is not None else to_module(G)).eval()
        self.meta = copy.deepcopy(self.cpu).to("meta") if meta_first else None
        self.meta_overruled = 0

    def verdict(self, shape: tuple[int, ...], arts_ok: bool, arts_shape: Any = None) -> tuple[bool, tuple | None]:
        if self.meta is not None:
            got = torch_accepts(self.meta, shape)
            if got[0] == arts_ok and (not arts_ok or got[1] == arts_shape):
                return got
        cpu = torch_accepts(self.cpu, shape, device="cpu")
        if self.meta is not None and cpu != got:
            self.meta_overruled += 1
        return cpu
