"""Where a search's time goes: the shared child's training throughput, the CPU overhead per
sampled architecture, and the share of an epoch spent outside the child's forward/backward.

For each space (all in this one run, ratios against the first, S0 by default):

1. *throughput*: ``--steps`` SGD steps of the shared child network on random 1-channel images, a
   freshly drawn architecture per step (uniform ops, skip rate 0.4, the same stream for every
   space up to the op index) -> images/s;
2. *overhead per sampled architecture* (CPU): what the search does for each architecture before the
   child runs -- the controller sampling it (in batches, as the search does; and one at a time for
   comparison) and, for spaces not proven for every architecture, the type check -- against the
   per-architecture type check that every sample used to get (built as a graph, checked at the
   input size), measured in the same run;
3. *epoch breakdown*: one epoch of a real search (``arts.nas.search``) on the embedded digits,
   from its ``metrics.csv``: the child's forward/backward/step, everything else in the child pass
   (sampling, data), the controller updates and the evaluation.

    python benchmarks/bench_train.py                       # S0, 3E, T1-kd04 on cpu
    python benchmarks/bench_train.py --device cuda --amp   # on a GPU, mixed precision
    python benchmarks/bench_train.py --json out.json       # also write the numbers
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def throughput(space: str, device: str, steps: int, batch: int, layers: int, channels: int, size: int, amp: bool,
               warmup: int = 3, seed: int = 0) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    from arts.nas.child import SharedChild
    from arts.nas.spaces import check_space, get_space

    sp = get_space(space)
    check_space(sp)
    macro = sp.macro(layers, channels, 1, 10)
    dev = torch.device(device)
    torch.manual_seed(seed)
    child = SharedChild(macro, size, size).to(dev)
    opt = torch.optim.SGD(child.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=2.5e-4)
    scaler = torch.amp.GradScaler("cuda") if amp and dev.type == "cuda" else None
    rng = random.Random(seed)
    x = torch.randn(batch, 1, size, size, device=dev)
    y = torch.randint(0, 10, (batch,), device=dev)

    def step() -> None:
        arc = macro.random_arc(rng, 0.4)
        opt.zero_grad(set_to_none=True)
        if scaler is not None:
            with torch.autocast(device_type="cuda", dtype=torch.float16):
                loss = F.cross_entropy(child(x, arc), y)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        else:
            loss = F.cross_entropy(child(x, arc), y)
            loss.backward()
            opt.step()

    for _ in range(warmup):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    t = time.perf_counter()
    for _ in range(steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    dt = time.perf_counter() - t
    return {"space": sp.name, "choices": len(sp), "device": str(dev), "amp": scaler is not None, "steps": steps,
            "batch": batch, "seconds": dt, "images_per_s": steps * batch / dt, "step_ms": 1000 * dt / steps,
            "parameters": sum(p.numel() for p in child.parameters())}


def overhead(space: str, layers: int, channels: int, size: int, n: int = 200, n_check: int = 10) -> dict[str, Any]:
    """CPU milliseconds per sampled architecture: batched sampling (the search), one-at-a-time
    sampling, and the old per-sample type check (the baseline)."""
    import torch

    from arts.nas.controller import Controller
    from arts.nas.search import ArcChecker
    from arts.nas.spaces import all_equivalent, check_space, get_space

    sp = get_space(space)
    proven = all_equivalent(check_space(sp))
    macro = sp.macro(layers, channels, 1, 10)
    torch.manual_seed(0)
    ctrl = Controller(len(sp), layers, 64, types=sp.types()).eval()
    with torch.no_grad():
        ctrl.sample(8)
        t = time.perf_counter()
        done = 0
        while done < n:
            done += len(ctrl.sample(min(64, n - done)))
        batched = (time.perf_counter() - t) / n
        t = time.perf_counter()
        for _ in range(n // 4):
            ctrl()
        single = (time.perf_counter() - t) / (n // 4)
        arcs = [s.arc for s in ctrl.sample(n_check)]
    checker = ArcChecker(macro, 1, size, size)
    for a in arcs:
        checker(a)
    check = checker.seconds / max(checker.checked, 1)
    per_arc = batched + (0.0 if proven else check)  # proven spaces skip the check
    return {"space": sp.name, "proven_for_every_arc": proven, "sample_batched_ms": 1000 * batched,
            "sample_single_ms": 1000 * single, "old_check_ms": 1000 * check, "overhead_ms": 1000 * per_arc,
            "old_overhead_ms": 1000 * (single + check)}


def epoch_breakdown(space: str, device: str, layers: int, channels: int, batch: int, ctrl_steps: int,
                    ctrl_aggregate: int) -> dict[str, Any]:
    from arts.nas.search import SearchConfig, search

    with tempfile.TemporaryDirectory() as d:
        cfg = SearchConfig(space=space, dataset="digits", epochs=1, layers=layers, channels=channels,
                           batch_size=batch, device=device, out=d, ctrl_steps=ctrl_steps,
                           ctrl_aggregate=ctrl_aggregate, progress=False, threads=None)
        search(cfg, argv=[])
        with open(os.path.join(d, "metrics.csv"), encoding="utf-8") as f:
            row = next(csv.DictReader(f))
    r = {k: float(row[k]) for k in ("child_s", "outside_child_s", "ctrl_s", "eval_s", "epoch_s")}
    r["space"] = space
    r["outside_share"] = (r["epoch_s"] - r["child_s"]) / r["epoch_s"]
    r["child_pass_outside_share"] = r["outside_child_s"] / (r["outside_child_s"] + r["child_s"])
    return r


def table(rows: list[dict[str, Any]], over: list[dict[str, Any]], epochs: list[dict[str, Any]]) -> str:
    base = rows[0]["images_per_s"]
    out = ["| space | choices | shared params | images/s | ratio | ms/arch (search) | ms/arch (before: "
           "1 sample + check) | speed-up |", "|---|---|---|---|---|---|---|---|"]
    for r, o in zip(rows, over):
        dev = r["device"] + ("+amp" if r["amp"] else "")
        out.append(f"| {r['space']} ({dev}) | {r['choices']} | {r['parameters']:,} | {r['images_per_s']:.1f} | "
                   f"{r['images_per_s'] / base:.2f} | {o['overhead_ms']:.3f} | {o['old_overhead_ms']:.1f} | "
                   f"{o['old_overhead_ms'] / o['overhead_ms']:.0f}x |")
    if epochs:
        out += ["", "| space | epoch s | child fwd/bwd s | rest of child pass s | controller s | evaluation s | "
                "share outside child fwd/bwd: child pass | whole epoch |", "|---|---|---|---|---|---|---|---|"]
        for e in epochs:
            out.append(f"| {e['space']} | {e['epoch_s']:.2f} | {e['child_s']:.2f} | {e['outside_child_s']:.3f} | "
                       f"{e['ctrl_s']:.2f} | {e['eval_s']:.2f} | {100 * e['child_pass_outside_share']:.1f}% | "
                       f"{100 * e['outside_share']:.1f}% |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spaces", default="S0,3E,T1-kd04")
    p.add_argument("--device", default="cpu")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--image-size", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--amp", action="store_true")
    p.add_argument("--epoch", action="store_true", help="also time one search epoch per space (digits)")
    p.add_argument("--ctrl-steps", type=int, default=5, help="controller updates in the timed epoch (default 5)")
    p.add_argument("--ctrl-aggregate", type=int, default=20)
    p.add_argument("--json", default=None, metavar="FILE")
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(a.threads)
    spaces = [s.strip() for s in a.spaces.split(",") if s.strip()]
    rows = [throughput(s, a.device, a.steps, a.batch_size, a.layers, a.channels, a.image_size, a.amp) for s in spaces]
    over = [overhead(s, a.layers, a.channels, a.image_size) for s in spaces]
    epochs = [epoch_breakdown(s, a.device, a.layers, a.channels, a.batch_size, a.ctrl_steps, a.ctrl_aggregate)
              for s in spaces] if a.epoch else []
    print(f"shared child: {a.layers} layers, {a.channels} channels, batch {a.batch_size}, "
          f"{a.image_size}x{a.image_size}x1, {a.steps} steps, torch {torch.__version__}, {a.threads} thread(s)")
    print(table(rows, over, epochs))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"throughput": rows, "overhead": over, "epochs": epochs}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
