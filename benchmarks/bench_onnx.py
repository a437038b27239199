"""arts on ONNX files against onnxruntime's symbolic shape inference, on the same files.

    python benchmarks/bench_onnx.py [--models unet_nopad,resnet18,...] [--repeat 3]

The bundled example models (small channel counts where the example allows) are exported with
``torch.onnx.export`` (dynamic N, H, W as ``dim_param``s) into a temporary directory.  For each
file: the time of ``arts.frontends.onnx.check_onnx`` (parse + lower + check for every size) and of
``onnxruntime.tools.symbolic_shape_infer.SymbolicShapeInference.infer_shapes`` (parse excluded
from neither: both start from the path), best of ``--repeat``; then what each says -- arts's
verdict and accepted domain, and symbolic shape inference's output shape, or its error, with
``auto_merge`` off and on.  ``unet_nopad`` has a size bug (its skips only line up when H and W are
multiples of 16).  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))
sys.path.insert(0, str(ROOT / "tests"))


def _models() -> dict[str, tuple[object, tuple[int, ...]]]:
    import torch.nn as nn

    import mobilenet
    import resnet
    import squeezenet
    from test_export import Pyramid, SmallUNet

    return {
        "unet_nopad": (SmallUNet(pad=False), (1, 3, 64, 64)),
        "unet_pad": (SmallUNet(pad=True), (1, 3, 64, 64)),
        "pyramid": (Pyramid(), (1, 3, 64, 64)),
        "resnet18": (resnet.ResNet18(num_classes=10), (1, 3, 64, 64)),
        "mobilenet_v2": (mobilenet.MobileNetV2(), (1, 3, 64, 64)),
        "squeezenet1_1": (squeezenet.squeezenet1_1(), (1, 3, 64, 64)),
        "linear_head": (nn.Sequential(nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 15 * 15, 10)),
                        (1, 3, 32, 32)),
    }


def _export(model, shape, path: str) -> None:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.randn(*shape),), path, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N", 2: "H", 3: "W"}}, dynamo=False)


def _ssi(path: str, auto_merge: bool) -> tuple[float, str]:
    import onnx
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

    t = time.perf_counter()
    try:
        out = SymbolicShapeInference.infer_shapes(onnx.load(path), auto_merge=auto_merge)
        dt = time.perf_counter() - t
        if out is None:
            return dt, "no result (inference incomplete)"
        y = [o for o in out.graph.output][0]
        dims = [d.dim_param or str(d.dim_value) for d in y.type.tensor_type.shape.dim]
        return dt, "output (" + ", ".join(dims) + ")"
    except Exception as e:  # noqa: BLE001 - its error is the measurement
        return time.perf_counter() - t, f"raised {type(e).__name__}: {str(e).strip().splitlines()[0][:70]}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from arts.frontends.onnx import check_onnx

    models = _models()
    if args.models:
        models = {k: v for k, v in models.items() if k in args.models.split(",")}
    rows = []
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as d:
        os.chdir(d)  # symbolic_shape_infer writes scratch files into the working directory
        for name, (model, shape) in models.items():
            path = str(Path(d) / f"{name}.onnx")
            _export(model, shape, path)
            check_onnx(path)  # warm-up: imports, caches
            best_arts = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                rep = check_onnx(path)
                best_arts = min(best_arts, time.perf_counter() - t)
            ssi = [min((_ssi(path, am) for _ in range(args.repeat)), key=lambda r: r[0]) for am in (False, True)]
            rows.append((name, best_arts, rep, ssi))
        os.chdir(here)
    for name, t_arts, rep, ssi in rows:
        print(f"{name}: arts {t_arts * 1000:.0f} ms, symbolic_shape_infer {ssi[0][0] * 1000:.0f} ms "
              f"(auto_merge: {ssi[1][0] * 1000:.0f} ms), ratio {t_arts / ssi[0][0]:.1f}x")
        errs = sorted((x for x in rep.diagnostics if x.severity == "error"), key=lambda x: x.code != "shape-mismatch")
        verdict = rep.status + (f", error: {errs[0].message} at {errs[0].node}, counterexample "
                                f"{errs[0].counterexample}" if errs else "")
        print(f"  arts: {verdict}; accepted: {rep.domain[:160]}")
        print(f"  symbolic_shape_infer: {ssi[0][1]}; with auto_merge: {ssi[1][1]}")


if __name__ == "__main__":
    main()
