"""Checking many files in one ``arts check`` process against one process per file.

    python benchmarks/bench_check_many.py [--files 50] [--kind json|py]

Writes ``--files`` files into a temporary directory -- copies of the bundled graph files
(``examples/*.json``, default) or of a small PyTorch model file (``--kind py``: each run then
pays ``import torch``) -- and times, in fresh processes, (1) ``arts check DIR`` once and (2)
``arts check FILE`` once per file.  Prints both wall times and the ratio.  Asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SMALL_MODEL = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Conv2d(8, {k}, 1)

    def forward(self, x):
        return self.head(self.pool(torch.relu(self.conv(x))))
'''


def _write(directory: Path, n: int, kind: str) -> list[Path]:
    out = []
    graphs = sorted((ROOT / "examples").glob("*.json"))
    for i in range(n):
        if kind == "py":
            p = directory / f"model_{i:03d}.py"
            p.write_text(SMALL_MODEL.format(k=2 + i % 7), encoding="utf-8")
        else:
            src = graphs[i % len(graphs)]
            p = directory / f"{src.stem}_{i:03d}.json"
            shutil.copyfile(src, p)
        out.append(p)
    return out


def _run(args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "arts", "check", *args], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode == 2:
        raise SystemExit(f"arts check {' '.join(args)} failed: {proc.stderr.strip()}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--kind", choices=("json", "py"), default="json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = _write(Path(tmp), args.files, args.kind)
        one = _run([tmp])
        many = sum(_run([str(p)]) for p in files)
    print(f"{args.files} {args.kind} files: one process {one:.2f} s, one process per file {many:.2f} s "
          f"(ratio {many / one:.1f}x)")


if __name__ == "__main__":
    main()
