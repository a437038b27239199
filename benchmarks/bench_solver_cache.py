"""What the solver's fast paths save, in one run: the same checks with them off, then on.

    python benchmarks/bench_solver_cache.py [--stages 3] [--budget SECONDS]
    /work/venv-zoo/bin/python benchmarks/bench_solver_cache.py --zoo timm/hrnet_w18_small   # zoo env

The fast paths (same answers, see ``tests/test_solver_speed.py``):

* ``decide`` remembers certain answers on the domain, and ``restrict`` carries proven ones over
  (``arts.solver.decide.CACHE``);
* bounded searches visit points smallest first from a heap instead of sorting the whole grid
  (``arts.solver.ordered``).

"Before" switches both off (the cache flag, and a ``_points``/search that sorts the grid, the
previous code); "after" is the code as it is.  The workload is a multi-resolution network like
HRNet (the zoo model that ran past 120 s): branches at 1/2, 1/4, 1/8 of the input, each fused
into the others by strided convs and nearest upsampling, so every add compares sizes like
``floor((H - 1)/4) + 1`` with ``2*floor((H - 1)/8) + 2`` and the shapes carry broadcast
``Piecewise`` sizes.  ``--zoo ID`` checks a zoo model instead (needs the zoo environment).  Each
check runs under the checker's per-model deadline like ``check_module``; a row that stops there
says so.  Prints the seconds of each, the ratio before/after and whether the verdicts and accepted
domains agree.  Asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys
import time
from typing import Any, Iterator

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import arts.solver.decide as decide_mod  # noqa: E402
import arts.solver.domain as domain_mod  # noqa: E402
from arts.graph import typecheck  # noqa: E402
from arts.graph.graph import GraphBuilder  # noqa: E402
from arts.solver.budget import decision_budget  # noqa: E402


def _sorted_product(cols: Any) -> Iterator[tuple[int, ...]]:
    """The previous search order: the whole grid, sorted."""
    return iter(sorted(itertools.product(*cols), key=lambda t: (sum(t), t)))


@contextlib.contextmanager
def fast_paths(on: bool) -> Iterator[None]:
    saved = decide_mod.CACHE, decide_mod.ordered_product, domain_mod.ordered_product
    if not on:
        decide_mod.CACHE = False
        decide_mod.ordered_product = domain_mod.ordered_product = _sorted_product
    try:
        yield
    finally:
        decide_mod.CACHE, decide_mod.ordered_product, domain_mod.ordered_product = saved


def multires(stages: int) -> Any:
    """A network with branches at 1/2 ... 1/2**stages, fused every stage (HRNet's pattern)."""
    g = GraphBuilder()
    x = g.input("x", "N,3,H,W")
    x = g.add("conv2d", x, in_channels=3, out_channels=8, kernel_size=3, stride=2, padding=1)
    branches = [x]
    for _ in range(stages):
        new = g.add("conv2d", branches[-1], in_channels=8, out_channels=8, kernel_size=3, stride=2, padding=1)
        branches = branches + [new]
        fused = []
        for i, target in enumerate(branches):
            acc = target
            for j, src in enumerate(branches):
                y = src
                if j > i:  # lower resolution: upsample
                    y = g.add("upsample", y, scale_factor=2 ** (j - i), mode="nearest")
                elif j < i:  # higher resolution: strided convs
                    for _ in range(i - j):
                        y = g.add("conv2d", y, in_channels=8, out_channels=8, kernel_size=3, stride=2, padding=1)
                if j != i:
                    acc = g.add("add", acc, y)
            fused.append(acc)
        branches = fused
    g.output(*branches)
    return g.graph


def _zoo(mid: str) -> Any:
    sys.path.insert(0, os.path.dirname(__file__))
    import bench_zoo
    import torch

    from arts.frontends.torch_fx import CHECK_SECONDS, analyse

    entry = next(e for e in bench_zoo.zoo() if e["id"] == mid)
    torch.manual_seed(0)
    model = bench_zoo.build(entry).eval()

    def run() -> Any:
        return analyse(model, entry["shape"], confirm_run=False)[0]
    return run, CHECK_SECONDS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stages", type=int, default=3)
    ap.add_argument("--budget", type=float, default=20.0, help="per-check deadline, seconds (the checker's)")
    ap.add_argument("--zoo", default=None, help="a zoo model id (zoo environment)")
    a = ap.parse_args(argv)
    if a.zoo:
        run, _ = _zoo(a.zoo)
        name = a.zoo
    else:
        G = multires(a.stages)
        name = f"multires stages={a.stages} ({G.number_of_nodes()} nodes)"

        def run() -> Any:
            with decision_budget(a.budget):
                return typecheck(G)
    rows = {}
    for label, on in (("before (fast paths off)", False), ("after", True)):
        with fast_paths(on):
            t = time.perf_counter()
            rep = run()
            rows[label] = (time.perf_counter() - t, rep)
    print(name)
    for label, (secs, rep) in rows.items():
        stopped = " (stopped at the deadline)" if getattr(rep, "unchecked", ()) else ""
        print(f"  {label:24s} {secs:7.2f} s  {rep.status}{stopped}")
    (tb, rb), (ta, ra) = rows.values()
    print(f"  ratio before/after: {tb / ta:.1f}x")
    same = rb.status == ra.status and rb.domain == ra.domain
    print(f"  same verdict and accepted domain: {'yes' if same else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
