"""Checker speed: a ResNet-152-depth graph against torch.export, and per-node cost drift.

    python benchmarks/bench_graph.py [--skip-export]

1. Full check (every merge decided, domain inferred) of a bottleneck ResNet-152 graph (155 convs,
   50 residual adds) with symbolic N, H, W, against ``torch.export.export`` of the same network
   (compiled from the same graph) with dynamic N, H, W.  Prints both times and the ratio.
2. Per-node cost of checking chains and residual stacks of 100 to 10,000 nodes; prints the drift
   (largest per-node cost over smallest).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))

from networks import chain_graph, resnet_graph, residual_stack  # noqa: E402

from arts.graph import typecheck  # noqa: E402


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-export", action="store_true")
    args = ap.parse_args()
    G = resnet_graph()
    n_conv = sum(1 for _, d in G.nodes(data=True) if getattr(d.get("op"), "name", "") == "conv2d")
    n_add = sum(1 for _, d in G.nodes(data=True) if getattr(d.get("op"), "name", "") == "add")
    t_arts = best(lambda: typecheck(resnet_graph()), repeat=3)
    rep = typecheck(G)
    print(f"ResNet-152 graph: {G.number_of_nodes()} nodes, {n_conv} convs, {n_add} adds")
    print(f"  arts typecheck (N, H, W symbolic): {t_arts:.3f} s   status={rep.status}  accepted: {rep.domain}")
    if not args.skip_export:
        import torch
        from torch.export import Dim, export

        from arts.graph.compile import to_module

        model = to_module(G).eval()
        x = torch.randn(2, 3, 64, 64)

        def attempt(lo: int) -> tuple[float, str | None]:
            dyn = {"args": ({0: Dim("N", min=2, max=1024), 2: Dim("H", min=lo, max=4096),
                             3: Dim("W", min=lo, max=4096)},)}
            t0 = time.perf_counter()
            try:
                export(model, (x,), dynamic_shapes=dyn)
                return time.perf_counter() - t0, None
            except Exception as e:  # report, don't hide
                return time.perf_counter() - t0, f"{type(e).__name__}: {str(e).splitlines()[0]}"

        t_full, err = attempt(2)
        if err:
            print(f"  torch.export on H, W in [2, 4096]:  refused after {t_full:.1f} s ({err}); arts proves every size")
        t_exp, err = attempt(64)
        if err:
            print(f"  torch.export on H, W in [64, 4096]: failed: {err}")
        else:
            print(f"  torch.export (N dynamic, H, W in [64, 4096]): {t_exp:.3f} s")
            print(f"  ratio torch.export / arts:           {t_exp / t_arts:.1f}x")
    typecheck(chain_graph(50))  # warm up caches and lazy imports once, outside every timing
    typecheck(residual_stack(50))
    print("\nPer-node cost (us/node):")
    print(f"  {'nodes':>6} {'chain':>10} {'residual':>10}")
    costs: dict[str, list[float]] = {"chain": [], "residual": []}
    for n in (100, 1000, 3000, 10000):
        row = []
        for name, make in (("chain", chain_graph), ("residual", residual_stack)):
            g = make(n)
            nodes = g.number_of_nodes()
            t = best(lambda g=g: typecheck(g), repeat=1 if n >= 3000 else 3)
            costs[name].append(t / nodes * 1e6)
            row.append(f"{t / nodes * 1e6:10.1f}")
        print(f"  {n:>6} " + " ".join(row))
    for name, cs in costs.items():
        print(f"  drift {name}: {max(cs) / min(cs):.2f}x (largest over smallest per-node cost)")


if __name__ == "__main__":
    main()
