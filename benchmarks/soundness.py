"""Long soundness campaign: arts's ``accepts`` against torch on random graphs and sizes.

    python benchmarks/soundness.py [--graphs 1000] [--sizes 100] [--seed 0]

For each random graph (arts.graph.randgraph) the checker infers the accepted domain once; then
``--sizes`` random input sizes are checked against running the compiled module on meta tensors.
Prints the counts; any disagreement is printed in full.  Zero disagreements is the only pass.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from arts.graph import typecheck  # noqa: E402
from arts.graph.compile import to_module  # noqa: E402
from arts.graph.randgraph import random_graph, torch_accepts  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graphs", type=int, default=1000)
    ap.add_argument("--sizes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-nodes", type=int, default=12)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    stats = dict(graphs=0, skipped_static=0, checks=0, accepted=0, rejected=0, disagreements=0)
    t_check = t_torch = 0.0
    while stats["graphs"] < args.graphs:
        G = random_graph(rng, max_nodes=args.max_nodes)
        t0 = time.perf_counter()
        report = typecheck(G)
        t_check += time.perf_counter() - t0
        if report.static_failure or report.unknown_nodes:
            stats["skipped_static"] += 1
            continue
        stats["graphs"] += 1
        module = to_module(G).to("meta").eval()
        out = G.graph["outputs"][0]
        for _ in range(args.sizes):
            n, h, w = rng.randint(1, 3), rng.randint(1, 64), rng.randint(1, 64)
            mine = report.accepts(N=n, H=h, W=w)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ok, shape = torch_accepts(module, (n, 3, h, w))
            t_torch += time.perf_counter() - t0
            stats["checks"] += 1
            stats["accepted" if ok else "rejected"] += 1
            if mine != ok or (ok and report.shape_at(out, N=n, H=h, W=w) != shape):
                stats["disagreements"] += 1
                print(f"DISAGREEMENT graph #{stats['graphs']} N={n} H={h} W={w}: arts={mine} torch={ok} {shape}")
    for k, v in stats.items():
        print(f"{k:>16}: {v}")
    print(f"{'check time':>16}: {t_check:.1f} s ({t_check / max(1, stats['graphs']) * 1e3:.1f} ms/graph)")
    print(f"{'torch time':>16}: {t_torch:.1f} s ({t_torch / max(1, stats['checks']) * 1e6:.0f} us/size)")
    return 1 if stats["disagreements"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
