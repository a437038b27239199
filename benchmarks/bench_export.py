"""How often torch.export succeeds with arts's ``dynamic_shapes`` against ``Dim.AUTO`` and a plain ``Dim``.

    python benchmarks/bench_export.py [--models UNet,ResNet18,...] [--probes 7,16,33,64]
    /work/venv-zoo/bin/python benchmarks/bench_export.py --models none --zoo default [--out FILE]

For the bundled example models (U-Nets, ResNets, MobileNets, SqueezeNet, DenseNet, GoogLeNet,
VGG) plus the small test models of ``tests/test_export.py``, and with
``--torchvision NAMES`` / ``--zoo IDS`` third-party models (random weights; the zoo environment of
docs/zoo.md), the script exports each model three ways, from the same example input (arts's
example sizes):

* ``arts``  -- ``arts.dynamic_shapes(model)``;
* ``auto``  -- ``Dim.AUTO`` on every size that arts treats as a symbol (export picks the ranges);
* ``plain`` -- ``Dim("N")``, ``Dim("H")``, ``Dim("W")`` with no bounds (what users write first).

Then each exported program is run at probe sizes (``H = W = p`` and ``H = p, W = p + 1`` for each
probe ``p``, batch 1 and 2) next to eager PyTorch, all on meta tensors (shapes only; the model is
built on the CPU with random weights for arts, then moved to meta): ``lost`` counts sizes eager
runs but the exported program refuses (a guard), ``wrong`` sizes the exported program lets in
but then fails on; ``admits`` counts the probe sizes inside arts's spec, each of which eager must
run (a size it refuses there is printed and counted: an unsound spec).  ``--zoo`` runs every
model in its own subprocess under a time limit (``--timeout``), so a hang or a crash costs one
row.  Nothing is asserted; the table is the result (``--out`` also writes it to a file, the
command in its first line).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

#: A varied set of zoo models (benchmarks/bench_zoo.py) that torch.fx traces: timm, torchvision,
#: smp and MONAI; convolutional nets, ceil-mode pools, a segmentation head, ViT/MLP-Mixer (fixed
#: sizes), and two whose spec is not certified (torchvision's stochastic_depth has no rule).
ZOO_SET = [
    "timm/resnet18", "timm/seresnext26d_32x4d", "timm/mobilenetv3_large_100", "timm/ghostnet_100",
    "timm/convnext_atto", "timm/repvgg_a0", "timm/legacy_xception", "timm/poolformer_s12",
    "timm/vit_tiny_patch16_224", "timm/mixer_s16_224",
    "torchvision/squeezenet1_0", "torchvision/shufflenet_v2_x0_5", "torchvision/googlenet",
    "torchvision/inception_v3", "torchvision/mnasnet0_5", "torchvision/regnet_y_400mf",
    "torchvision/seg/lraspp_mobilenet_v3_large", "torchvision/efficientnet_b0", "torchvision/convnext_tiny",
    "smp/Unet", "monai/DynUNet2d", "monai/DenseNet121_2d",
]
KINDS = ("arts", "auto", "plain")


def _models() -> list[tuple[str, object]]:
    """(name, constructor) for the bundled examples and the small test models."""
    import densenet
    import inception
    import mobilenet
    import resnet
    import squeezenet
    import unet
    import vgg
    from test_export import Pyramid, SmallUNet

    return [
        ("unet:UNet", unet.UNet), ("unet:UNetNoPad", unet.UNetNoPad), ("resnet:ResNet18", resnet.ResNet18),
        ("resnet:ResNet50", resnet.ResNet50), ("mobilenet:MobileNetV2", mobilenet.MobileNetV2),
        ("mobilenet:MobileNetV1", mobilenet.MobileNetV1), ("squeezenet:squeezenet1_1", squeezenet.squeezenet1_1),
        ("densenet:densenet121", densenet.densenet121), ("inception:GoogLeNet", inception.GoogLeNet),
        ("vgg:VGG11", vgg.VGG11), ("tests:SmallUNet", lambda: SmallUNet(True)),
        ("tests:SmallUNetNoPad", lambda: SmallUNet(False)), ("tests:Pyramid", Pyramid),
    ]


def _guard_error(e: BaseException) -> bool:
    s = str(e)
    return "Guard failed" in s or "to be of the form" in s or "Expected input" in s


def _probe(fn, shape) -> str:
    import torch

    try:
        fn(torch.empty(shape, device="meta"))
        return "ok"
    except Exception as e:  # noqa: BLE001 - classify below
        return "guard" if _guard_error(e) else "fail"


def measure(name: str, make: Callable[[], Any], probes: list[int], shape: str | None = None) -> dict:
    """One row: the spec's time and, per kind, export's verdict, time, and lost/wrong probe sizes."""
    import torch
    from torch.export import Dim

    from arts.export import dynamic_shapes

    row: dict[str, Any] = {"model": name}
    try:  # random weights on the CPU: arts checks that its trace is the program that runs
        model = make().eval()
    except Exception as e:  # noqa: BLE001 - a model that cannot be built: say so, go on
        row["error"] = f"not built: {type(e).__name__}: {str(e)[:60]}"
        return row
    t0 = time.perf_counter()
    try:
        spec = dynamic_shapes(model, *([shape] if shape else []), allow_uncertified=True)
    except Exception as e:  # noqa: BLE001 - report and go on
        row["error"] = f"arts failed: {type(e).__name__}: {str(e)[:60]}"
        return row
    row["spec_s"] = time.perf_counter() - t0
    model = model.to("meta")  # export and the probes need shapes only
    row["certified"] = spec.certified
    row["covers"] = spec.domain
    if len(spec.inputs) != 1:
        row["error"] = "more than one input"
        return row
    (arg,) = spec.inputs
    sym = spec.inputs[arg]
    sym_axes = [i for i, e in enumerate(sym) if not getattr(e, "is_Integer", False)]
    example_shape = spec.example_shapes()[arg]
    example = (torch.empty(example_shape, device="meta"),)
    specs = {
        "arts": spec,
        "auto": {arg: {i: Dim.AUTO for i in sym_axes}},
        "plain": {arg: {i: Dim(str(sym[i])) for i in sym_axes}},
    }
    # probe shapes: batch 1 and 2, H = W = p and H = p, W = p + 1 (3-d: D = H = W = p and W = p + 1)
    names = [str(sym[i]) for i in sym_axes]
    shapes = []
    for p in probes:
        for n in (1, 2):
            for last in (p, p + 1):
                vals = [n] + [p] * (len(sym_axes) - 2) + [last]
                s = list(example_shape)
                for i, v in zip(sym_axes, vals):
                    s[i] = v
                shapes.append(tuple(s))
    eager = [_probe(model, s) for s in shapes]
    row["probes"] = len(shapes)
    row["eager_ok"] = sum(e == "ok" for e in eager)
    row["in_spec"] = sum(spec.admits([s]) for s in shapes)
    row["unsound"] = sum(spec.admits([s]) and e != "ok" for s, e in zip(shapes, eager))  # must be 0
    row["dims"] = names
    for kind, ds in specs.items():
        t1 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ep = torch.export.export(model, example, dynamic_shapes=ds)
        except Exception as e:  # noqa: BLE001 - export's refusal is the measurement
            first = str(e).strip().splitlines()[0][:40] if str(e).strip() else type(e).__name__
            row[kind] = {"ok": False, "why": first}
            continue
        t_exp = time.perf_counter() - t1
        fn = ep.module()
        got = [_probe(fn, s) for s in shapes]
        lost = sum(e == "ok" and g != "ok" for e, g in zip(eager, got))
        wrong = sum(e != "ok" and g == "ok" for e, g in zip(eager, got))
        row[kind] = {"ok": True, "s": t_exp, "lost": lost, "wrong": wrong}
    return row


def _cells(row: dict) -> list[str]:
    if "error" in row:
        return [row["model"], row["error"], "", "", ""]
    cells = [row["model"], f"{row['spec_s']:.2f}s, admits {row['in_spec']}/{row['probes']}"
             + (f", {row['unsound']} eager refuses" if row["unsound"] else "")
             + ("" if row.get("certified", True) else " (not certified)")]
    for kind in KINDS:
        c = row[kind]
        cells.append(f"ok {c['s']:.1f}s lost {c['lost']} wrong {c['wrong']}" if c["ok"] else f"refused ({c['why']})")
    return cells


def _zoo_row(zoo_id: str, probes: list[int], timeout: float) -> dict:
    """Measure one zoo model in a subprocess (a hang or a crash costs this row only)."""
    cmd = [sys.executable, __file__, "--one-zoo", zoo_id, "--probes", ",".join(map(str, probes))]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"model": zoo_id, "error": f"over {timeout:.0f} s"}
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
    return {"model": zoo_id, "error": f"worker died: {tail[:60]}"}


def _one_zoo(zoo_id: str, probes: list[int]) -> None:
    import bench_zoo

    (entry,) = [e for e in bench_zoo.zoo() if e["id"] == zoo_id]
    row = measure(zoo_id, lambda: bench_zoo.build(entry), probes, entry["shape"])
    print(json.dumps(row), flush=True)


def summary(rows: list[dict]) -> list[str]:
    n = len(rows)
    done = [r for r in rows if "error" not in r]
    wins = {k: sum(r[k]["ok"] for r in done) for k in KINDS}
    lost = {k: sum(r[k]["lost"] for r in done if r[k]["ok"]) for k in KINDS}
    wrong = {k: sum(r[k]["wrong"] for r in done if r[k]["ok"]) for k in KINDS}
    both = [r for r in done if r["arts"]["ok"] and r["auto"]["ok"]]
    unsound = sum(r["unsound"] for r in done)
    lines = [f"probe sizes arts's spec admits that eager refuses: {unsound}",
             f"export succeeded: arts {wins['arts']}/{n}, Dim.AUTO {wins['auto']}/{n}, plain Dim {wins['plain']}/{n}",
             "sizes lost (eager runs, the exported program refuses), over the models each exported: "
             + ", ".join(f"{k} {lost[k]}" for k in KINDS),
             "sizes wrong (the exported program lets in, then fails): " + ", ".join(f"{k} {wrong[k]}" for k in KINDS)]
    if both:
        la = sum(r["arts"]["lost"] for r in both)
        lu = sum(r["auto"]["lost"] for r in both)
        fewer = sum(r["arts"]["lost"] < r["auto"]["lost"] for r in both)
        more = sum(r["arts"]["lost"] > r["auto"]["lost"] for r in both)
        lines.append(f"on the {len(both)} models both exported: lost arts {la}, Dim.AUTO {lu}; arts loses fewer "
                     f"on {fewer}, more on {more}")
    not_cert = [r["model"] for r in done if not r.get("certified", True)]
    if not_cert:
        lines.append(f"spec not certified (part of the model not translated): {', '.join(not_cert)}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", help="comma-separated names (substring match); 'none' for no bundled model")
    ap.add_argument("--probes", default="7,16,31,32,33,48,64,97,224")
    ap.add_argument("--torchvision", metavar="NAMES",
                    help="also third-party models: comma-separated torchvision.models builders (random "
                         "weights), e.g. resnet18,mobilenet_v3_small; needs torch 2.14.1 + torchvision 0.29.1")
    ap.add_argument("--zoo", metavar="IDS",
                    help="also zoo models of benchmarks/bench_zoo.py: comma-separated ids, or 'default' for "
                         f"the {len(ZOO_SET)} of ZOO_SET; needs the zoo environment")
    ap.add_argument("--timeout", type=float, default=150.0, help="seconds per zoo model (default 150)")
    ap.add_argument("--out", help="also write the table here, the command in its first line")
    ap.add_argument("--one-zoo", help=argparse.SUPPRESS)
    args = ap.parse_args()
    probes = [int(p) for p in args.probes.split(",")]
    if args.one_zoo:
        _one_zoo(args.one_zoo, probes)
        return
    models = _models()
    if args.models:
        keys = args.models.split(",")
        models = [(n, m) for n, m in models if any(k in n for k in keys)]
    if args.torchvision:
        import torchvision.models as tvm

        models += [(f"torchvision:{n}", lambda n=n: getattr(tvm, n)(weights=None)) for n in args.torchvision.split(",")]
    zoo_ids = [] if not args.zoo else ZOO_SET if args.zoo == "default" else args.zoo.split(",")
    lines = ["model | arts spec | export(arts) | export(Dim.AUTO) | export(Dim)"]
    print(lines[0], flush=True)
    rows: list[dict] = []
    t_all = time.perf_counter()
    jobs: list[Callable[[], dict]] = [lambda n=n, m=m: measure(n, m, probes) for n, m in models]
    jobs += [lambda i=i: _zoo_row(i, probes, args.timeout) for i in zoo_ids]
    for job in jobs:
        rows.append(job())
        lines.append(" | ".join(_cells(rows[-1])))
        print(lines[-1], flush=True)
    total = time.perf_counter() - t_all
    tail = [""] + summary(rows) + [f"({len(probes) * 4} probe sizes per model; total {total:.0f}s)"]
    print("\n".join(tail), flush=True)
    if args.out:
        import torch

        import os

        env = "HF_HUB_OFFLINE=1 " if os.environ.get("HF_HUB_OFFLINE") else ""
        cmd = env + " ".join([sys.executable, "benchmarks/bench_export.py"] + sys.argv[1:])
        head = f"# {cmd}  (torch {torch.__version__})"
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("\n".join([head] + lines + tail) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
