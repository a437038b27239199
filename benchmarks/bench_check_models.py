"""Full symbolic check of real model files against torch.export with dynamic H and W.

    python benchmarks/bench_check_models.py [--models resnet50,unet,unet_nopad,densenet121]

For each model: the time of ``arts`` checking it for *every* input size (trace + lower +
typecheck, i.e. ``check_module``), and the time of ``torch.export.export`` with
``dynamic_shapes={"x": {0: Dim("N"), 2: Dim("H"), 3: Dim("W")}}`` (and again with ``Dim.AUTO``,
which lets export pick ranges), on the same module; then what each one says about the input
sizes: arts' exact accepted domain, and export's refusal (its "suggested fixes") or the
ranges it settled on.  A few probe sizes are then run in eager PyTorch (meta tensors) and through the program
export produced, to show where each one is right.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))

MODELS = {
    "resnet50": ("resnet.py", "ResNet50", 64),
    "unet": ("unet.py", "UNet", 64),
    "unet_nopad": ("unet.py", "UNetNoPad", 64),
    "densenet121": ("densenet.py", "densenet121", 64),
}


def _export(model, example, dims):
    import torch
    from torch.export import export

    t = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ep = export(model, (example,), dynamic_shapes={"x": dims})
        took = time.perf_counter() - t
        ranges = sorted({str(v) for v in ep.range_constraints.values()})
        return took, "exported; ranges of its size symbols: " + ", ".join(ranges), ep
    except Exception as e:  # noqa: BLE001 - report what export says
        took = time.perf_counter() - t
        msg = str(e)
        fix = msg.split("Suggested fixes:", 1)[1].split("\n\n")[0] if "Suggested fixes:" in msg else ""
        fix = "; ".join(line.strip() for line in fix.strip().splitlines() if line.strip())
        guards = re.findall(r"generated guard (.*?)\.\n", msg)
        one = sum("!= 1" in g for g in guards)
        head = f"refused ({type(e).__name__})"
        if fix:
            head += f"; suggested fixes: {fix}"
        if one:
            head += f"; {one} guard(s) 'size != 1' (0/1 specialisation)"
        return took, head, None
    finally:
        torch.compiler.reset() if hasattr(torch, "compiler") else None


def _exported(ep, n, h, w):
    import torch

    if ep is None:
        return "-"
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ep.module()(torch.zeros(n, 3, h, w))
        return "runs"
    except Exception as e:  # noqa: BLE001
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return f"raises {type(e).__name__}" + (f" ({first[:60]})" if first else "")


def _eager(model_meta, n, h, w):
    import torch

    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tuple(model_meta(torch.empty(n, 3, h, w, device="meta")).shape)
    except Exception as e:  # noqa: BLE001
        return type(e).__name__


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    args = ap.parse_args()
    import torch
    from torch.export import Dim

    from arts.frontends.loader import load_targets
    from arts.frontends.torch_fx import check_module

    torch.set_num_threads(max(1, (os.cpu_count() or 1)))
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    check_module(torch.nn.Sequential(torch.nn.Conv2d(3, 3, 3)))  # warm the imports
    for key in args.models.split(","):
        file, name, hw = MODELS[key]
        [(_, model)] = load_targets(str(ROOT / "examples" / file), name)
        model.eval()
        t = time.perf_counter()
        report = check_module(model, "N,3,H,W")
        t_arts = time.perf_counter() - t
        # distinct sizes: torch's duck sizing would otherwise tie H, W (and N) together
        example = torch.randn(2, 3, hw, hw * 3 // 2)
        t_dim, said_dim, _ = _export(model, example, {0: Dim("N"), 2: Dim("H"), 3: Dim("W")})
        t_auto, said_auto, ep = _export(model, example, {0: Dim.AUTO, 2: Dim.AUTO, 3: Dim.AUTO})
        print(f"\n== {key} ({file}:{name})")
        print(f"  arts check_module          {t_arts:7.2f}s  status {report.status}; accepted: {report.domain}")
        print(f"  torch.export Dim(H), Dim(W) {t_dim:6.2f}s  {said_dim}")
        print(f"  torch.export Dim.AUTO      {t_auto:7.2f}s  {said_auto}")
        print(f"  ratio export(Dim)/arts {t_dim / t_arts:.2f}, export(AUTO)/arts {t_auto / t_arts:.2f}")
        meta = copy.deepcopy(model).to("meta")
        probes = [(1, 1, 1), (1, 2, 3), (1, 15, 15), (1, 16, 16), (2, 16, 24), (2, 29, 29), (1, 32, 32),
                  (2, 32, 48), (3, 33, 50), (2, 64, 96)]
        rows = []
        for n, h, w in probes:
            ok = report.accepts(N=n, H=h, W=w)
            got = _eager(meta, n, h, w)
            rows.append(f"N={n},H={h},W={w}: arts {'accepts' if ok else 'rejects'}, eager "
                        f"{'runs' if isinstance(got, tuple) else 'raises ' + got}, exported (AUTO) program "
                        f"{_exported(ep, n, h, w)}")
        print("  probes: " + "\n          ".join(rows))


if __name__ == "__main__":
    main()
