"""Per-node checking cost of deep 1-d chains, and how it grows with depth.

    python benchmarks/bench_depth.py [--depths 10,100,1000,2000] [--budget SECONDS]

Chains (``N, C, L`` input, symbolic ``L``):

* ``ceil-pool k2 s3``  -- ``max_pool1d(kernel_size=2, stride=3, ceil_mode=True)`` (the size mentions
  its input twice; collapsed exactly to one floor per node);
* ``ceil-pool k3 s4``  -- ``max_pool1d(kernel_size=3, stride=4, ceil_mode=True)``;
* ``pool k2 s1``       -- ``max_pool1d(kernel_size=2, stride=1)`` (every node narrows the domain);
* ``conv s2``          -- ``conv1d(kernel_size=3, stride=2, padding=1)``;
* ``conv+relu``        -- ``conv1d(kernel_size=3, padding=1)`` then ``relu`` (the baseline).

For each chain and depth it prints the time per node (milliseconds) and the ratio of the per-node
cost at the deepest depth over the shallowest, in the same run.  A ratio near 1 means the cost grows
linearly with depth.  A check is stopped after ``--budget`` seconds (printed as ``>budget``) and that
chain is not run deeper.  ``--chains`` picks some of the chains (comma-separated names).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from arts.graph import typecheck  # noqa: E402
from arts.graph.graph import GraphBuilder  # noqa: E402

CHAINS = {
    "ceil-pool k2 s3": [("max_pool1d", dict(kernel_size=2, stride=3, ceil_mode=True))],
    "ceil-pool k3 s4": [("max_pool1d", dict(kernel_size=3, stride=4, ceil_mode=True))],
    "pool k2 s1": [("max_pool1d", dict(kernel_size=2, stride=1))],
    "conv s2": [("conv1d", dict(in_channels=4, out_channels=4, kernel_size=3, stride=2, padding=1))],
    "conv+relu": [("conv1d", dict(in_channels=4, out_channels=4, kernel_size=3, padding=1)), ("relu", {})],
}


def chain(kind: str, nodes: int):
    """A chain of about ``nodes`` nodes of ``kind`` on an ``N, 4, L`` input."""
    g = GraphBuilder()
    h = g.input("x", "N,4,L")
    steps = CHAINS[kind]
    for i in range(nodes):
        op, params = steps[i % len(steps)]
        h = g.add(op, h, **params)
    g.output(h)
    return g.graph


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--depths", default="10,100,1000,2000")
    ap.add_argument("--budget", type=float, default=120.0, help="seconds one check may take; deeper depths "
                                                                "of that chain are then skipped")
    ap.add_argument("--chains", default=",".join(CHAINS), help="comma-separated chain names")
    args = ap.parse_args()
    depths = [int(d) for d in args.depths.split(",")]
    kinds = [k.strip() for k in args.chains.split(",")]

    def stop(signum: int, frame: object) -> None:
        raise TimeoutError

    signal.signal(signal.SIGALRM, stop)
    typecheck(chain("conv+relu", 20))  # warm up lazy imports and caches once, outside every timing
    print(f"{'chain':<16}" + "".join(f"{d:>12}" for d in depths) + f"{'ratio':>10}   status at the deepest")
    for kind in kinds:
        per: list[float] = []
        cells: list[str] = []
        status = ""
        for d in depths:
            if len(per) < len(cells):
                cells.append(f"{'>budget':>12}")
                continue
            g = chain(kind, d)
            t0 = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, args.budget)
            try:
                rep = typecheck(g)
            except TimeoutError:
                cells.append(f"{'>budget':>12}")
                continue
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            t = time.perf_counter() - t0
            status = f"{rep.status}; accepted: {rep.domain}"
            per.append(t / d * 1e3)
            cells.append(f"{per[-1]:>10.3f}ms")
        ratio = f"{per[-1] / per[0]:>9.2f}x" if len(per) >= 2 else f"{'-':>10}"
        print(f"{kind:<16}" + "".join(cells) + ratio + "   " + status)
    print("ratio: per-node cost at the deepest depth that finished over the shallowest (1.0 = linear total)")


if __name__ == "__main__":
    main()
