"""How fast arts partitions 100,000 conv/pool ops into types, and what that replaces.

    python benchmarks/bench_types.py [--n 100000] [--seed 0] [--baseline-sample 300]

1. Builds ``n`` ops: half drawn from ops that Algorithm 1 generated from ten seeds (convs,
   transposed convs, max pools, strides 1 and 2), half drawn at random from convs, transposed
   convs, max and avg pools (kernel 1-7, stride 1-3, padding 0-k/2, dilation 1-3) -- so types
   repeat, as in a real search space.
2. Times :func:`arts.ops.types.partition` on the parsed ops (canonical keys, no pairwise work).
3. Baseline: the obvious algorithm without canonical keys -- compare each op with the
   representative of every type found so far by ``equivalent(a, b).type`` until one is proven.
   Running it on 100,000 ops would take hours, so it is run for real on the first
   ``--baseline-sample`` ops (and checked to give the same partition), and its time on all ``n``
   is extrapolated honestly: the exact number of comparisons it would make on the full list
   (computable from the partition, since comparisons stop at the first proven representative)
   times the mean cost of one comparison measured on a random sample of those very comparisons.
4. Times ``arts types --file`` end to end (a fresh ``python -m arts`` process, so interpreter start
   and imports included) on files of 100,000 op strings: the mix above; the same ops each
   spelled differently so that no string repeats (the parse cache never hits); and ops whose
   out_channels make most of them distinct types.

Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from arts.ops import Op, parse_op  # noqa: E402
from arts.ops.fastparse import parse_op_fast  # noqa: E402
from arts.ops.generate import generate  # noqa: E402
from arts.ops.relations import equivalent  # noqa: E402
from arts.ops.types import partition  # noqa: E402

SEEDS = [
    ("conv2d(kernel_size=3, padding=1)", dict(K=(1, 8), D=(1, 4))),
    ("conv2d(kernel_size=5)", dict(K=(1, 8), D=(1, 4))),
    ("conv2d(kernel_size=3, stride=2, padding=1)", dict(P=(0, 6), D=(1, 4))),
    ("conv2d(kernel_size=5, stride=2, padding=2)", dict(K=(1, 8), D=(1, 4))),
    ("conv_transpose2d(kernel_size=3, padding=1)", dict(K=(1, 8), D=(1, 4))),
    ("conv_transpose2d(kernel_size=4, stride=2, padding=1)", dict(P=(0, 6), D=(1, 4))),
    ("max_pool2d(kernel_size=3, stride=1, padding=1)", dict(K=(1, 8), D=(1, 4))),
    ("max_pool2d(kernel_size=2)", dict(K=(1, 8), D=(1, 4))),
    ("max_pool2d(kernel_size=3, stride=2, padding=1)", dict(K=(1, 8), D=(1, 4))),
    ("max_pool2d(kernel_size=3, stride=2)", dict(K=(1, 8), D=(1, 4))),
]  # (no average pools: generate() cannot vary them yet; the random half has them)


def random_op(rng: random.Random) -> str:
    fam = rng.choice(["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d"])
    k, s, d = rng.randint(1, 7), rng.randint(1, 3), rng.randint(1, 3)
    p = rng.randint(0, k // 2)
    if fam == "avg_pool2d":
        return f"avg_pool2d(kernel_size={k}, stride={s}, padding={p})"
    return f"{fam}(kernel_size={k}, stride={s}, padding={p}, dilation={d})"


def build_ops(n: int, seed: int) -> tuple[list[Op], int]:
    rng = random.Random(seed)
    pool: list[Op] = []
    for text, ranges in SEEDS:
        kw = {"K": None, "P": None, "D": None, **ranges}
        pool.extend(generate(text, **kw))
    ops = [rng.choice(pool) if i % 2 == 0 else parse_op(random_op(rng)) for i in range(n)]
    return ops, len(pool)


def pairwise_partition(ops: list[Op]) -> tuple[list[list[int]], int]:
    """The baseline: compare with each type's representative until one is proven equivalent."""
    groups: list[list[int]] = []
    comparisons = 0
    for i, op in enumerate(ops):
        for g in groups:
            comparisons += 1
            if equivalent(ops[g[0]], op).type.is_proven:
                g.append(i)
                break
        else:
            groups.append([i])
    return groups, comparisons


def _classes(groups: list[list[int]]) -> list[int]:
    cls = [0] * sum(len(g) for g in groups)
    for c, g in enumerate(groups):
        for i in g:
            cls[i] = c
    return cls


def comparison_schedule(groups: list[list[int]], limit: int) -> list[tuple[int, int]]:
    """Every (representative, op) comparison the baseline makes on the first ``limit`` ops, in order
    (groups are in order of first appearance, so a type's number is its representative's rank)."""
    cls = _classes(groups)
    reps: list[int] = []
    out: list[tuple[int, int]] = []
    for i in range(limit):
        c = cls[i]
        if c < len(reps):
            out.extend((reps[j], i) for j in range(c + 1))
        else:
            out.extend((r, i) for r in reps)
            reps.append(i)
    return out


def count_comparisons(groups: list[list[int]]) -> int:
    """How many comparisons the baseline makes on the whole list."""
    seen = total = 0
    for c in _classes(groups):
        if c < seen:
            total += c + 1
        else:
            total += seen
            seen += 1
    return total


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _run_child(cmd: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds of a child process; CPU time is what the machine's load cannot inflate."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    with open(os.devnull, "w") as sink:
        proc = subprocess.run(cmd, cwd=ROOT, env=_env(), stdout=sink, stderr=subprocess.PIPE, text=True,
                              check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[1:4])} failed ({proc.returncode}): {proc.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def time_cli(path: str, json_out: bool) -> tuple[float, float]:
    return _run_child([sys.executable, "-m", "arts", "types", "--file", path] + (["--json"] if json_out else []))


def time_startup() -> tuple[float, float]:
    """Interpreter start plus the imports ``arts types`` needs (sympy, arts.ops)."""
    return _run_child([sys.executable, "-c", "import arts.cli, arts.ops.fastparse, arts.ops.types, arts.ops.relations"])


class Clock:
    """Wall and CPU time of a block."""

    def __enter__(self) -> Clock:
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c


def respell(text: str, i: int) -> str:
    """The same op, spelled differently for every ``i < 4**(3*args)``: the digits of ``i`` in base 4
    set the spaces around each ``=`` and after each comma."""
    name, body = text.split("(", 1)
    args = [a.strip() for a in body.rstrip(")").split(",") if a.strip()]
    parts = []
    for a in args:
        k, v = a.split("=", 1)
        before, after, comma = i % 4, (i // 4) % 4, (i // 16) % 4
        i //= 64
        parts.append(f"{k}{' ' * before}={' ' * after}{v}," + " " * comma)
    return f"{name}({''.join(parts).rstrip().rstrip(',')})"


def spelled_out(op: Op) -> str:
    """Every geometry parameter written out (so that there are enough ways to space it)."""
    p = op.params
    keys = [k for k in ("kernel_size", "stride", "padding", "dilation") if k in p]
    return f"{op.name}(" + ", ".join(f"{k}={p[k][0]}" for k in keys) + ")"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline-sample", type=int, default=300)
    ap.add_argument("--cost-sample", type=int, default=200)
    args = ap.parse_args()
    n = args.n

    with Clock() as c_build:
        ops, pool = build_ops(n, args.seed)
    with Clock() as c_part:
        groups = partition(ops)
    with Clock() as c_part2:
        partition(ops)

    # baseline, for real on a prefix
    m = min(args.baseline_sample, n)
    with Clock() as c_prefix:
        base_groups, base_cmp = pairwise_partition(ops[:m])
    agree = base_groups == partition(ops[:m])
    # ... and extrapolated: exact comparison count times the measured cost per comparison
    total_cmp = count_comparisons(groups)
    sched = comparison_schedule(groups, min(n, 20_000))
    rng = random.Random(args.seed + 1)
    sample = [rng.choice(sched) for _ in range(args.cost_sample)]
    with Clock() as c_cmp:
        for a, b in sample:
            _ = equivalent(ops[a], ops[b]).type
    per_wall, per_cpu = c_cmp.wall / len(sample), c_cmp.cpu / len(sample)

    print(f"ops: {n:,} ({pool} distinct generated ops in the pool, {len(set(ops)):,} distinct ops, "
          f"{len(groups)} types); built in {c_build.wall:.1f} s; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    print()
    print(f"{'method':58s} {'wall':>11s} {'CPU':>11s} {'ops/s (CPU)':>12s} {'vs partition':>13s}")
    print("-" * 109)
    rows = [
        ("partition (canonical keys), first call", n, c_part.wall, c_part.cpu),
        ("partition, second call (warm caches)", n, c_part2.wall, c_part2.cpu),
        (f"baseline pairwise equivalent().type, first {m} ops (real)", m, c_prefix.wall, c_prefix.cpu),
        (f"baseline pairwise, all {n:,} ops (extrapolated)", n, total_cmp * per_wall, total_cmp * per_cpu),
    ]
    for name, k, wall, cpu in rows:
        print(f"{name:58s} {wall:10.3f}s {cpu:10.3f}s {k / cpu:12,.0f} {cpu / c_part.cpu * (n / k):12,.0f}x")
    print()
    print(f"baseline: {base_cmp:,} comparisons on the first {m} ops (same partition: {'yes' if agree else 'NO'}); "
          f"{total_cmp:,} on all {n:,}; {per_cpu * 1e3:.2f} ms CPU per comparison "
          f"(mean of {len(sample)} drawn from its schedule)")
    print("('vs partition': CPU time per op relative to partition's first call)")

    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        mix = os.path.join(tmp, "mix.txt")
        Path(mix).write_text("\n".join(map(str, ops)) + "\n", encoding="utf-8")
        files["generated mix (strings repeat)"] = mix
        distinct = os.path.join(tmp, "distinct.txt")
        seen: dict[Op, int] = {}
        lines = []
        for o in ops:
            k = seen[o] = seen.get(o, -1) + 1  # the k-th spelling of this op
            lines.append(respell(spelled_out(o), k))
        assert len(set(lines)) == n
        Path(distinct).write_text("\n".join(lines) + "\n", encoding="utf-8")
        files["same ops, every string distinct"] = distinct
        rng = random.Random(args.seed + 2)
        many = os.path.join(tmp, "many_types.txt")
        lines = []
        for _ in range(n):
            k = rng.randint(1, 5)
            lines.append(f"conv2d(out_channels={rng.randint(1, 64)}, kernel_size={k}, stride={rng.randint(1, 2)}, "
                         f"padding={rng.randint(0, k // 2)})")
        Path(many).write_text("\n".join(lines) + "\n", encoding="utf-8")
        files["conv2d, out_channels 1-64 (many types)"] = many
        sw, sc = time_startup()
        print()
        print(f"arts types --file, {n:,} lines, a fresh `python -m arts` each (of which interpreter start + "
              f"imports: {sw:.2f} s wall, {sc:.2f} s CPU)")
        print(f"{'file':40s} {'types':>6s} {'text wall':>10s} {'CPU':>7s} {'ops/s':>8s} "
              f"{'json wall':>10s} {'CPU':>7s} {'ops/s':>8s}")
        print("-" * 103)
        for name, path in files.items():
            ntypes = len(partition([parse_op_fast(x) for x in Path(path).read_text().split("\n") if x]))
            (tw, tc), (jw, jc) = time_cli(path, False), time_cli(path, True)
            print(f"{name:40s} {ntypes:6,d} {tw:9.2f}s {tc:6.2f}s {n / tc:8,.0f} "
                  f"{jw:9.2f}s {jc:6.2f}s {n / jc:8,.0f}")
        print("(ops/s from CPU time)")


if __name__ == "__main__":
    main()
