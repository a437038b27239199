"""Start-up cost of `arts check model.py` against the floor every PyTorch tool pays: `import torch`.

    python benchmarks/bench_startup.py [--runs 5] [--model examples/resnet.py]

Times, in fresh processes, (1) ``python -c "import torch"``, (2) ``arts check MODEL`` (through
``python -m arts check`` when the CLI has the verb, otherwise the same call through
``arts.frontends.loader.check_file``; the line printed says which) and, for the split,
(3) ``python -c "import arts.frontends.loader, torch"`` (imports only).  Prints the median wall
time of each and the ratio check / import torch; (4) ``arts check examples/unet.json``, a graph
file, which loads neither torch nor the search side.  Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cli_has_check() -> bool:
    files = [ROOT / "arts" / "cli.py", ROOT / "arts" / "check_command.py"]
    return any(f.exists() and '"check"' in f.read_text(encoding="utf-8") for f in files)


def timed(cmd: list[str], runs: int) -> tuple[float, list[float], int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    rc = 0
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              check=False)
        times.append(time.perf_counter() - t)
        rc = proc.returncode
    return statistics.median(times), times, rc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--model", default="examples/resnet.py")
    args = ap.parse_args()
    py = sys.executable
    if _cli_has_check():
        check_cmd = [py, "-m", "arts", "check", args.model]
        how = f"python -m arts check {args.model}"
    else:
        code = ("import sys; from arts.frontends.loader import check_file; "
                f"rs = check_file({args.model!r}); "
                "print('\\n'.join(r.format() for r in rs)); "
                "sys.exit(max({'ok': 0, 'error': 1, 'unknown': 3}[r.status] for r in rs))")
        check_cmd = [py, "-c", code]
        how = f"check_file({args.model!r}) in a fresh process (the CLI has no `check` verb yet)"
    rows = [
        ("python -c 'import torch'", [py, "-c", "import torch"]),
        ("imports: arts.frontends.loader + torch", [py, "-c", "import arts.frontends.loader, torch, torch.fx"]),
        (how, check_cmd),
        ("python -m arts check examples/unet.json (a graph file: no torch)",
         [py, "-m", "arts", "check", "examples/unet.json"]),
    ]
    print(f"{args.runs} runs each, median wall time; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    results = {}
    for label, cmd in rows:
        med, times, rc = timed(cmd, args.runs)
        results[label] = med
        print(f"{label:75s} {med:7.2f}s   (runs: {', '.join(f'{t:.2f}' for t in times)}; exit {rc})")
    base = results[rows[0][0]]
    print(f"ratio check / import torch: {results[how] / base:.2f}x "
          f"(check itself, beyond imports: {results[how] - results[rows[1][0]]:.2f}s)")


if __name__ == "__main__":
    main()
