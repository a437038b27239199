"""Long soundness campaign: arts's ``accepts`` against torch on random graphs and sizes.

    python benchmarks/soundness.py [--graphs 1000] [--sizes 100] [--seed 0] [--layout 0.5]

For each random graph (arts.graph.randgraph) the checker infers the accepted domain once; then
``--sizes`` random input sizes are checked against running the compiled module on real CPU
tensors (``--meta``: on meta tensors first, every disagreement re-run on CPU before it counts,
since meta kernels accept some inputs CPU rejects).  ``--layout`` is the share of graphs with memory-layout changes
(transpose, permute, slice, expand, contiguous) feeding a ``view``.  Prints the counts; any
disagreement is printed in full.  Zero disagreements is the only pass.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from arts.graph import typecheck  # noqa: E402
from arts.graph.fileformat import graph_to_dict  # noqa: E402
from arts.graph.randgraph import Oracle, random_graph  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--graphs", type=int, default=1000)
    ap.add_argument("--sizes", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-nodes", type=int, default=12)
    ap.add_argument("--meta", action="store_true", help="run on meta tensors, confirm disagreements on CPU")
    ap.add_argument("--layout", type=float, default=0.5, help="share of graphs with layout changes feeding a view")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    rng = random.Random(args.seed)
    stats = dict(graphs=0, layout_graphs=0, skipped_static=0, skipped_unknown=0, checks=0, layout_checks=0,
                 accepted=0, rejected=0, meta_overruled=0, compile_crashes=0, disagreements=0)
    t_check = t_torch = 0.0
    while stats["graphs"] < args.graphs:
        layout = rng.random() < args.layout
        G = random_graph(rng, max_nodes=args.max_nodes, layout=layout)
        t0 = time.perf_counter()
        report = typecheck(G)
        t_check += time.perf_counter() - t0
        if report.static_failure:
            stats["skipped_static"] += 1
            continue
        if report.unknown_nodes:
            stats["skipped_unknown"] += 1
            continue
        try:
            oracle = Oracle(G, meta_first=args.meta)
        except Exception as e:  # noqa: BLE001  (a bug in compiling to torch: shown, counted, never hidden)
            stats["compile_crashes"] += 1
            print(f"COMPILE CRASH seed {args.seed}: {type(e).__name__}: {str(e)[:200]}\n  "
                  f"{json.dumps(graph_to_dict(G), default=str)}")
            continue
        stats["graphs"] += 1
        stats["layout_graphs"] += layout
        out = G.graph["outputs"][0]
        for _ in range(args.sizes):
            n, h, w = rng.randint(1, 3), rng.randint(1, 64), rng.randint(1, 64)
            mine = report.accepts(N=n, H=h, W=w)
            mshape = report.shape_at(out, N=n, H=h, W=w) if mine else None
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ok, shape = oracle.verdict((n, 3, h, w), mine, mshape)
            t_torch += time.perf_counter() - t0
            stats["checks"] += 1
            stats["layout_checks"] += layout
            stats["accepted" if ok else "rejected"] += 1
            if mine != ok or (ok and mshape != shape):
                stats["disagreements"] += 1
                print(f"DISAGREEMENT seed {args.seed} graph #{stats['graphs']} N={n} H={h} W={w}: arts={mine} "
                      f"{mshape} torch={ok} {shape}")
        stats["meta_overruled"] += oracle.meta_overruled
    for k, v in stats.items():
        print(f"{k:>16}: {v}")
    print(f"{'check time':>16}: {t_check:.1f} s ({t_check / max(1, stats['graphs']) * 1e3:.1f} ms/graph)")
    print(f"{'torch time':>16}: {t_torch:.1f} s ({t_torch / max(1, stats['checks']) * 1e6:.0f} us/size)")
    return 1 if stats["disagreements"] or stats["compile_crashes"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
