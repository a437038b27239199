"""How often torch.export succeeds with arts's ``dynamic_shapes`` against ``Dim.AUTO`` and a plain ``Dim``.

    python benchmarks/bench_export.py [--models UNet,ResNet18,...] [--probes 7,16,33,64]

For the bundled example models (U-Nets, ResNets, MobileNets, SqueezeNet, DenseNet, GoogLeNet,
VGG; built on the meta device) plus the small test models of ``tests/test_export.py``, the script
exports the model three ways, from the same example input (arts's example sizes):

* ``arts``  -- ``arts.dynamic_shapes(model)``;
* ``auto``  -- ``Dim.AUTO`` on every size that arts treats as a symbol (export picks the ranges);
* ``plain`` -- ``Dim("N")``, ``Dim("H")``, ``Dim("W")`` with no bounds (what users write first).

Then each exported program is run at probe sizes (``H = W = p`` and ``H = p, W = p + 1`` for each
probe ``p``, batch 1 and 2) next to eager PyTorch, all on meta tensors (shapes only): ``lost``
counts sizes eager runs but the exported program refuses (a guard), ``wrong`` sizes the exported
program lets in but then fails on.  Nothing is asserted; the table is the result.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "tests"))


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", help="comma-separated names (substring match)")
    ap.add_argument("--probes", default="7,16,31,32,33,48,64,97,224")
    ap.add_argument("--torchvision", metavar="NAMES",
                    help="also third-party models: comma-separated torchvision.models builders (random "
                         "weights), e.g. resnet18,mobilenet_v3_small; needs torch 2.14.1 + torchvision 0.29.1")
    args = ap.parse_args()
    import torch
    from torch.export import Dim

    from arts.export import dynamic_shapes

    probes = [int(p) for p in args.probes.split(",")]
    models = _models()
    if args.models:
        keys = args.models.split(",")
        models = [(n, m) for n, m in models if any(k in n for k in keys)]
    if args.torchvision:
        import torchvision.models as tvm

        models += [(f"torchvision:{n}", lambda n=n: getattr(tvm, n)(weights=None)) for n in args.torchvision.split(",")]
    rows: list[tuple] = []
    wins = {"arts": 0, "auto": 0, "plain": 0}
    print("model | arts spec | export(arts) | export(Dim.AUTO) | export(Dim)", flush=True)
    t_all = time.perf_counter()
    for name, make in models:
        try:
            with torch.device("meta"):  # shapes only: no weights to allocate, copy or run
                model = make().eval()
        except Exception as e:  # noqa: BLE001 - a model that cannot be built on meta: say so, go on
            rows.append((name, f"not built on meta: {type(e).__name__}: {str(e)[:50]}", "", "", ""))
            print(" | ".join(rows[-1]), flush=True)
            continue
        t0 = time.perf_counter()
        try:
            spec = dynamic_shapes(model)
        except Exception as e:  # noqa: BLE001 - report and go on
            rows.append((name, f"arts failed: {type(e).__name__}: {str(e)[:60]}", "", "", ""))
            print(" | ".join(rows[-1]), flush=True)
            continue
        t_spec = time.perf_counter() - t0
        if len(spec.inputs) != 1:
            continue
        (arg,) = spec.inputs
        shape = spec.inputs[arg]
        sym_axes = [i for i, e in enumerate(shape) if not getattr(e, "is_Integer", False)]
        meta = model
        example = tuple(torch.empty(s, device="meta") for s in spec.example_shapes().values())
        specs = {
            "arts": spec,
            "auto": {arg: {i: Dim.AUTO for i in sym_axes}},
            "plain": {arg: {i: Dim(str(shape[i])) for i in sym_axes}},
        }
        cells = []
        for kind, ds in specs.items():
            t1 = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ep = torch.export.export(meta, example, dynamic_shapes=ds)
            except Exception as e:  # noqa: BLE001 - export's refusal is the measurement
                first = str(e).strip().splitlines()[0][:40] if str(e).strip() else type(e).__name__
                cells.append(f"refused ({first})")
                continue
            t_exp = time.perf_counter() - t1
            wins[kind] += 1
            lost = wrong = 0
            for p in probes:
                for n in (1, 2):
                    for w in (p, p + 1):
                        s = list(spec.example_shapes()[arg])
                        vals = dict(zip([str(shape[i]) for i in sym_axes], [n, p, w]))
                        for i in sym_axes:
                            s[i] = vals.get(str(shape[i]), s[i])
                        eager = _probe(meta, tuple(s))
                        exported = _probe(ep.module(), tuple(s))
                        lost += eager == "ok" and exported != "ok"
                        wrong += eager != "ok" and exported == "ok"
            cells.append(f"ok {t_exp:.1f}s lost {lost} wrong {wrong}")
        rows.append((name, f"{t_spec:.2f}s", *cells))
        print(" | ".join(rows[-1]), flush=True)
    total = time.perf_counter() - t_all
    n = len(rows)
    print(f"\nexport succeeded: arts {wins['arts']}/{n}, Dim.AUTO {wins['auto']}/{n}, plain Dim {wins['plain']}/{n}"
          f"  ({len(probes) * 4} probe sizes per model; total {total:.0f}s)")


if __name__ == "__main__":
    main()
