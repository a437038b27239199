"""Child-network training throughput (images/s) of the shared ENAS network, per search space.

For each space: build the shared child network (every op of every layer), then time
``--steps`` SGD steps on random 1-channel images, each step on a freshly sampled architecture
(uniform ops, skip rate 0.4, the same architecture stream for every space up to the op index).
Prints a table with the ratio of each space's throughput to the first one (S0 by default).

    python benchmarks/bench_train.py                       # S0, 3E, T1-kd04 on cpu
    python benchmarks/bench_train.py --device cuda --amp   # on a GPU, mixed precision
    python benchmarks/bench_train.py --json out.json       # also write the numbers
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def bench(space: str, device: str, steps: int, batch: int, layers: int, channels: int, size: int, amp: bool,
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
    opt = torch.optim.SGD(child.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
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
    return {"space": sp.name, "choices": len(sp), "distinct_ops": len(sp.unique()[0]), "device": str(dev),
            "amp": scaler is not None, "steps": steps, "batch": batch, "seconds": dt,
            "images_per_s": steps * batch / dt, "parameters": sum(p.numel() for p in child.parameters())}


def table(rows: list[dict[str, Any]]) -> str:
    base = rows[0]["images_per_s"]
    head = f"| {'space':<8} | {'device':<6} | {'ops':>4} | {'shared params':>13} | {'images/s':>9} | {'ratio':>6} |"
    lines = [head, "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"]
    for r in rows:
        dev = r["device"] + ("+amp" if r["amp"] else "")
        lines.append(f"| {r['space']:<8} | {dev:<6} | {r['distinct_ops']:>4} | {r['parameters']:>13,} | "
                     f"{r['images_per_s']:>9.1f} | {r['images_per_s'] / base:>6.2f} |")
    return "\n".join(lines)


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
    p.add_argument("--json", default=None, metavar="FILE")
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(a.threads)
    rows = [bench(s.strip(), a.device, a.steps, a.batch_size, a.layers, a.channels, a.image_size, a.amp)
            for s in a.spaces.split(",") if s.strip()]
    print(f"shared-child training throughput: {a.layers} layers, {a.channels} channels, batch {a.batch_size}, "
          f"{a.image_size}x{a.image_size}x1, {a.steps} steps, torch {torch.__version__}, {a.threads} thread(s)")
    print(table(rows))
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
