"""A short soundness campaign: the checker's ``accepts`` against torch on random graphs and sizes.

Zero disagreements allowed.  ``benchmarks/soundness.py`` runs the long campaign.
"""

from __future__ import annotations

import random
import warnings

from arts.graph import typecheck
from arts.graph.compile import to_module
from arts.graph.randgraph import random_graph, torch_accepts


def campaign(seed: int, graphs: int, sizes: int) -> tuple[int, int, list[str]]:
    rng = random.Random(seed)
    checks = 0
    disagreements: list[str] = []
    built = 0
    while built < graphs:
        G = random_graph(rng)
        report = typecheck(G)
        if report.static_failure or report.unknown_nodes:
            continue
        module = to_module(G).to("meta").eval()
        built += 1
        out_name = G.graph["outputs"][0]
        for _ in range(sizes):
            n, h, w = rng.randint(1, 3), rng.randint(1, 48), rng.randint(1, 48)
            mine = report.accepts(N=n, H=h, W=w)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ok, shape = torch_accepts(module, (n, 3, h, w))
            checks += 1
            if mine != ok or (ok and report.shape_at(out_name, N=n, H=h, W=w) != shape):
                disagreements.append(f"seed {seed} graph {G.graph.get('name')} N={n} H={h} W={w}: arts {mine}, "
                                     f"torch {ok} {shape}")
    return built, checks, disagreements


def test_short_soundness_campaign():
    built, checks, bad = campaign(seed=7, graphs=60, sizes=40)
    assert built == 60 and checks == 2400
    assert bad == []
