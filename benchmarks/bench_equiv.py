"""Type-equivalence decisions per second on random conv/pool pairs.

    python benchmarks/bench_equiv.py [--pairs 300] [--seed 0]

Draws seeded random pairs of 2-d convs, transposed convs, max and avg pools (kernel 1-7, stride
1-3, padding 0-k/2, dilation 1-3) in four groups -- pairs of the same family, pairs across
families, pairs where the second op is a generated type-equivalent of the first (so the answer
is ``proven``, the expensive case: the whole domain must be covered), and pairs decided under a
constraint (``H >= 8, H % 4 == 0``) -- and times ``equivalent(a, b).type`` on parsed ops (the
full decision: dimension functions built in sympy, conditions decided exactly over the domain).
The generated pairs repeat ops (a few small pools), so sympy's expression cache makes them cheap;
the random groups build new dimension functions almost every time.  Prints one row per group,
with wall and CPU time (decisions/s from CPU time, which a loaded machine does not inflate);
asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arts.ops import Op, parse_op  # noqa: E402
from arts.ops.generate import generate  # noqa: E402
from arts.ops.relations import equivalent  # noqa: E402

FAMILIES = ["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d"]


def random_op(rng: random.Random, fam: str | None = None) -> Op:
    fam = fam or rng.choice(FAMILIES)
    k, s, d = rng.randint(1, 7), rng.randint(1, 3), rng.randint(1, 3)
    p = rng.randint(0, k // 2)
    if fam == "avg_pool2d":
        return parse_op(f"avg_pool2d(kernel_size={k}, stride={s}, padding={p})")
    return parse_op(f"{fam}(kernel_size={k}, stride={s}, padding={p}, dilation={d})")


def equivalent_pairs(rng: random.Random, n: int) -> list[tuple[Op, Op]]:
    pool: list[list[Op]] = []
    for seed in ("conv2d(kernel_size=3, padding=1)", "conv2d(kernel_size=5, stride=2, padding=2)",
                 "conv_transpose2d(kernel_size=4, stride=2, padding=1)",
                 "max_pool2d(kernel_size=3, stride=2, padding=1)", "conv2d(kernel_size=5)"):
        pool.append(generate(seed, K=(1, 7), D=(1, 3)))
    out = []
    while len(out) < n:
        group = rng.choice(pool)
        out.append((rng.choice(group), rng.choice(group)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=300, help="pairs per group")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    n = args.pairs
    groups: list[tuple[str, list[tuple[Op, Op]], str | None]] = []
    same = []
    for _ in range(n):
        fam = rng.choice(FAMILIES)
        same.append((random_op(rng, fam), random_op(rng, fam)))
    groups.append(("same family, random parameters", same, None))
    groups.append(("across families, random parameters", [(random_op(rng), random_op(rng)) for _ in range(n)], None))
    groups.append(("generated type-equivalents (proven)", equivalent_pairs(rng, n), None))
    groups.append(("random, --where 'H >= 8, H % 4 == 0'", [(random_op(rng), random_op(rng)) for _ in range(n)],
                   "H >= 8, H % 4 == 0"))

    equivalent(parse_op("conv2d(kernel_size=3)"), parse_op("conv2d(kernel_size=3)"))  # imports, first use
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; rates from CPU time")
    print(f"{'pairs':40s} {'n':>5s} {'proven':>7s} {'refuted':>8s} {'unknown':>8s} {'wall':>8s} {'CPU':>8s} "
          f"{'decisions/s':>12s} {'ms each':>8s}")
    print("-" * 112)
    total_n = 0
    total_c = total_w = 0.0
    for name, pairs, where in groups:
        verdicts: Counter = Counter()
        w, c = time.perf_counter(), time.process_time()
        for a, b in pairs:
            verdicts[equivalent(a, b, where=where).type.status.value] += 1
        w, c = time.perf_counter() - w, time.process_time() - c
        total_n += len(pairs)
        total_c += c
        total_w += w
        print(f"{name:40s} {len(pairs):5d} {verdicts['proven']:7d} {verdicts['refuted']:8d} {verdicts['unknown']:8d} "
              f"{w:7.2f}s {c:7.2f}s {len(pairs) / c:12.1f} {c / len(pairs) * 1e3:8.2f}")
    print("-" * 112)
    print(f"{'all':40s} {total_n:5d} {'':7s} {'':8s} {'':8s} {total_w:7.2f}s {total_c:7.2f}s {total_n / total_c:12.1f} "
          f"{total_c / total_n * 1e3:8.2f}")


if __name__ == "__main__":
    main()
