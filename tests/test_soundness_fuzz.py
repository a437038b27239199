"""A short soundness campaign: the checker's ``accepts`` against torch on random graphs and sizes.

Zero disagreements allowed.  torch runs on real CPU tensors (meta kernels accept some inputs CPU
rejects, see docs/checker.md).  ``benchmarks/soundness.py`` runs the long campaign.
"""

from __future__ import annotations

import random
import warnings

import torch

from arts.graph import typecheck
from arts.graph.randgraph import Oracle, random_graph, torch_accepts


def campaign(seed: int, graphs: int, sizes: int, layout: bool = False) -> tuple[int, int, list[str]]:
    rng = random.Random(seed)
    checks = 0
    disagreements: list[str] = []
    built = 0
    while built < graphs:
        G = random_graph(rng, layout=layout)
        report = typecheck(G)
        if report.static_failure or report.unknown_nodes:
            continue
        oracle = Oracle(G)
        built += 1
        out_name = G.graph["outputs"][0]
        for _ in range(sizes):
            n, h, w = rng.randint(1, 3), rng.randint(1, 48), rng.randint(1, 48)
            mine = report.accepts(N=n, H=h, W=w)
            mshape = report.shape_at(out_name, N=n, H=h, W=w) if mine else None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ok, shape = oracle.verdict((n, 3, h, w), mine, mshape)
            checks += 1
            if mine != ok or (ok and mshape != shape):
                disagreements.append(f"seed {seed} graph {G.graph.get('name')} N={n} H={h} W={w}: arts {mine} "
                                     f"{mshape}, torch {ok} {shape}")
    return built, checks, disagreements


def test_short_soundness_campaign():
    torch.set_num_threads(1)
    built, checks, bad = campaign(seed=7, graphs=60, sizes=40)
    assert built == 60 and checks == 2400
    assert bad == []


def test_short_layout_campaign():
    """Graphs whose tails transpose, permute, slice or expand before a view."""
    torch.set_num_threads(1)
    built, checks, bad = campaign(seed=3, graphs=12, sizes=40, layout=True)
    assert built == 12 and checks == 480
    assert bad == []


def test_meta_is_laxer_than_cpu_and_cpu_decides():
    """The trap the oracle avoids: a transposed conv with the wrong input channels runs on meta."""
    from arts.graph.graph import GraphBuilder
    from arts.ops import Op

    op = Op.make("conv_transpose2d", {"in_channels": 2, "out_channels": 2, "kernel_size": 2})
    oracle = Oracle(module=op.spec.build(op.params, [(1, 3, 4, 4)]), meta_first=True)
    assert torch_accepts(oracle.meta, (1, 3, 4, 4))[0]  # meta runs it...
    assert oracle.verdict((1, 3, 4, 4), False) == (False, None)  # ...CPU does not, and CPU counts
    assert oracle.meta_overruled == 1
    g = GraphBuilder()
    g.output(g.add(op, g.input("x", "N,3,H,W")))
    assert typecheck(g.graph).static_failure  # arts: wrong for every size
