"""Time of the ATen capture path against one ``torch.export`` with dynamic H and W, in one run.

    /work/venv-zoo/bin/python benchmarks/bench_aten.py [--models hf/ResNet,smp/FPN,hf/ViT] [--before]

Models that ``torch.fx`` cannot trace are checked by exporting them (non-strict, dynamic sizes)
and lowering the ATen graph inside its guards (:mod:`arts.frontends.aten`).  For each model (built
as ``benchmarks/bench_zoo.py`` builds it, random weights; needs the zoo environment) this prints:

* ``export_s`` -- the baseline: one ``torch.export`` (non-strict, ``Dim.AUTO`` on H and W) at
  2x3x224x224, as bench_zoo times it;
* ``arts_s`` -- ``analyse(model, "N,3,H,W")`` end to end (the fx attempt, the capture, the
  lowering, the check), split into ``capture_s`` (the exports tried) and ``post_s`` (the rest);
* with ``--before``: ``before_s``, the same with example sizes tried by full exports only (no
  static screening, no time limit: what the capture did before), and the ratio ``before/arts``.

Each measurement runs in a fresh process (no cache warmed by another measurement), after a
warm-up export of a one-layer model there, so none pays torch's one-time start-up.  The ratio
``arts/export`` and its median are printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _export_s(model, spatial: int, chans: int) -> float:
    import torch
    from torch.export import Dim, export

    ex = torch.randn(2, chans, *([64] * spatial)) if spatial == 3 else torch.randn(2, chans, 224, 224)
    t = time.perf_counter()
    try:
        export(model, (ex,), dynamic_shapes=({d: Dim.AUTO for d in range(2, 2 + spatial)},), strict=False)
    except Exception:  # noqa: BLE001 - a failed export still took its time
        pass
    return time.perf_counter() - t


def _arts_s(model, shape: str) -> dict:
    from arts.frontends import aten
    from arts.frontends.torch_fx import analyse

    spent = [0.0]
    inner = aten.capture

    def timed(*a, **k):
        t0 = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            spent[0] += time.perf_counter() - t0

    aten.capture = timed
    t = time.perf_counter()
    try:
        report, _ = analyse(model, shape)
        what = ("aten " if any(d.code == "captured-region" for d in report.diagnostics) else "fx ") + report.status
    except Exception as e:  # noqa: BLE001
        what = f"{type(e).__name__}"
    finally:
        aten.capture = inner
    total = time.perf_counter() - t
    return {"s": total, "capture_s": spent[0], "path": what}


def measure(model_id: str, mode: str) -> dict:
    """One measurement in this process: ``export``, ``arts`` or ``before``."""
    warnings.simplefilter("ignore")
    import torch

    import bench_zoo
    from arts.frontends import aten

    e = {x["id"]: x for x in bench_zoo.zoo()}[model_id]
    _export_s(torch.nn.Conv2d(3, 3, 3), 2, 3)  # torch's one-time start-up
    torch.manual_seed(0)
    items = e["shape"].split(",")
    model = bench_zoo.build(e).eval()
    if mode == "export":
        return {"s": _export_s(model, len(items) - 2, int(items[1]))}
    if mode == "before":
        aten.SCREEN = False
        aten.CAPTURE_BUDGET_S = 1e6
    return _arts_s(model, e["shape"])


def _run(model_id: str, mode: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", model_id, mode], capture_output=True, text=True)
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"s": float("nan"), "path": f"failed: {out.stderr.strip().splitlines()[-1:]}"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="hf/ResNet,smp/FPN,hf/ViT")
    ap.add_argument("--before", action="store_true", help="also time the capture as it was before screening")
    ap.add_argument("--one", nargs=2, metavar=("MODEL", "MODE"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        print(json.dumps(measure(*a.one)))
        return 0
    head = (f"{'model':<16} {'path':<14} {'export_s':>8} {'arts_s':>7} {'capture_s':>9} {'post_s':>6} "
            f"{'arts/export':>11}")
    print(head + (f" {'before_s':>8} {'before/arts':>11}" if a.before else ""))
    ratios, gains = [], []
    for i in a.models.split(","):
        arts, base = _run(i, "arts"), _run(i, "export")
        ratios.append(arts["s"] / base["s"])
        line = (f"{i:<16} {arts['path']:<14} {base['s']:8.2f} {arts['s']:7.2f} {arts.get('capture_s', 0):9.2f} "
                f"{arts['s'] - arts.get('capture_s', 0):6.2f} {arts['s'] / base['s']:11.2f}")
        if a.before:
            before = _run(i, "before")
            gains.append(before["s"] / arts["s"])
            line += f" {before['s']:8.2f} {before['s'] / arts['s']:11.2f}"
        print(line, flush=True)
    print(f"median arts/export: {statistics.median(ratios):.2f}")
    if gains:
        print(f"median before/arts: {statistics.median(gains):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
