"""The PyTorch front end against a real oracle: the example models run in torch on meta tensors.

For each example model, arts' verdict ``report.accepts(N=n, H=h, W=w)`` must equal "torch runs
the model at that size", and where it runs, arts' output shape must equal torch's -- over a grid
of sizes that straddles every boundary of the accepted domain.  Meta tensors compute shapes
without data; ``test_meta_agrees_with_cpu`` checks that they reject exactly what CPU rejects for
these ops.
"""

from __future__ import annotations

import copy
import os
import warnings
from functools import cache
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from arts.frontends.loader import check_file, load_targets
from arts.frontends.torch_fx import analyse

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def _diag(lo: int, hi: int, step: int = 1) -> list[tuple[int, int]]:
    return [(h, h) for h in range(lo, hi + 1, step)]


def _pairs(*pts: tuple[int, int]) -> list[tuple[int, int]]:
    return list(pts)


GENERIC = _diag(1, 40) + _pairs((1, 7), (7, 1), (16, 33), (33, 16), (45, 70), (70, 45), (64, 64), (97, 31))

# file, target, expected status, expected accepted domain (exactly as printed), extra (H, W) points
CASES = [
    ("resnet.py", "ResNet18", "ok", "all sizes", GENERIC),
    ("resnet.py", "ResNet50", "ok", "all sizes", _diag(1, 34, 3) + _pairs((1, 2), (2, 1), (33, 70), (70, 9))),
    ("unet.py", "UNet", "error", "H ≥ 16 and W ≥ 16",
     _diag(12, 36, 1) + _pairs((16, 15), (15, 16), (17, 33), (50, 16), (16, 70))),
    ("unet.py", "UNetNoPad", "error", "H ≥ 16 and H ≡ 0 (mod 16) and W ≥ 16 and W ≡ 0 (mod 16)",
     _diag(14, 34) + _pairs((16, 32), (32, 16), (16, 17), (17, 16), (48, 64), (64, 40))),
    ("vgg.py", "VGG11", "error", "H ≥ 32 and W ≥ 32 and 512*floor(H/32)*floor(W/32) == 25088",
     _diag(28, 40) + _diag(220, 260, 4) + _pairs((223, 224), (224, 223), (255, 224), (256, 224), (224, 255),
                                                 (32, 1568), (63, 1599), (31, 1568), (64, 1568), (32, 1600),
                                                 (1568, 32), (1599, 63), (1600, 32), (224, 1568), (7, 224))),
    ("vgg.py", "VGG11Adaptive", "error", "H ≥ 32 and W ≥ 32",
     _diag(28, 40) + _pairs((31, 64), (64, 31), (32, 100))),
    ("vgg.py", "AlexNet", "error", "H ≥ 63 and W ≥ 63 and floor((H - 31)/32)*floor((W - 31)/32) == 36",
     _diag(60, 66) + _diag(220, 258, 3) + _pairs((223, 254), (254, 223), (222, 223), (255, 223), (63, 1183),
                                                 (94, 1214), (95, 1214), (63, 1182), (1214, 94), (159, 319),
                                                 (190, 350), (191, 350), (158, 319))),
    ("mobilenet.py", "MobileNetV2", "ok", "all sizes", _diag(1, 33, 4) + _pairs((1, 40), (40, 1), (64, 65))),
    ("mobilenet.py", "MobileNetV1", "error", "H ≥ 193 and W ≥ 193",
     _diag(186, 200) + _pairs((193, 192), (192, 193), (224, 193), (1, 200), (300, 451))),
    ("densenet.py", "densenet121", "error", "H ≥ 29 and W ≥ 29",
     _diag(26, 33) + _pairs((28, 29), (29, 28), (29, 64), (1, 40), (64, 97))),
    ("squeezenet.py", "SqueezeNet", "error", "H ≥ 21 and W ≥ 21",
     _diag(1, 30, 2) + _diag(17, 24) + _pairs((20, 21), (21, 20), (21, 70), (64, 63))),
    ("squeezenet.py", "squeezenet1_1", "error", "H ≥ 17 and W ≥ 17",
     _diag(1, 30, 2) + _diag(14, 20) + _pairs((16, 17), (17, 16), (17, 64))),
    ("inception.py", "GoogLeNet", "error", "H ≥ 15 and W ≥ 15",
     _diag(1, 40, 2) + _diag(13, 18) + _pairs((14, 15), (15, 14), (15, 70), (65, 64))),
    ("inception.py", "InceptionA", "ok", "all sizes", _diag(1, 12) + _pairs((1, 5), (5, 1), (35, 35), (17, 70))),
    ("inception.py", "InceptionB", "error", "H ≥ 3 and W ≥ 3", _diag(1, 12) + _pairs((2, 3), (3, 2), (35, 70))),
    ("enas_child.py", "ENASChild", "ok", "all sizes", _diag(1, 40) + _pairs((1, 2), (2, 1), (5, 9), (33, 64))),
]


@cache
def _checked(file: str, name: str) -> tuple[Any, Any, Any]:
    [(_, module)] = load_targets(os.path.join(EXAMPLES, file), name)
    report, G = analyse(module, file=os.path.join(EXAMPLES, file))
    return module, report, G


def _run(model: Any, shape: tuple[int, ...], device: str) -> tuple[int, ...] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad():
                y = model(torch.empty(*shape, device=device))
        except (RuntimeError, ValueError, IndexError):
            return None
    return tuple(y.shape)


@pytest.mark.parametrize("file,name,status,domain,points", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_model_agrees_with_torch(file: str, name: str, status: str, domain: str, points: list) -> None:
    module, report, G = _checked(file, name)
    assert report.status == status, report.format()
    assert report.domain == domain
    [out] = G.graph["outputs"]
    c = int(G.graph["inputs"]["x"][1])
    meta = copy.deepcopy(module).eval().to("meta")
    disagreements = []
    for k, (h, w) in enumerate(points):
        n = 1 + k % 2
        ours = report.accepts(N=n, H=h, W=w)
        got = _run(meta, (n, c, h, w), "meta")
        if ours != (got is not None) or (ours and report.shape_at(out, N=n, H=h, W=w) != got):
            got = _run(module.eval(), (n, c, h, w), "cpu")  # meta kernels are laxer than CPU: CPU decides
        if ours != (got is not None):
            disagreements.append((n, h, w, ours, got))
        elif ours and report.shape_at(out, N=n, H=h, W=w) != got:
            disagreements.append((n, h, w, report.shape_at(out, N=n, H=h, W=w), got))
    assert not disagreements, disagreements


@pytest.mark.parametrize("file,name,points", [
    ("unet.py", "UNetNoPad", [(15, 15), (16, 16), (16, 17), (17, 16), (32, 48)]),
    ("inception.py", "InceptionB", [(2, 2), (3, 3), (2, 3), (7, 9)]),
    ("squeezenet.py", "squeezenet1_1", [(16, 16), (17, 17), (16, 17), (18, 19)]),
    ("enas_child.py", "ENASChild", [(1, 1), (2, 3), (5, 8)]),
])
def test_meta_agrees_with_cpu(file: str, name: str, points: list) -> None:
    """Meta tensors reject exactly the sizes CPU rejects (spot check on small sizes)."""
    module, _, G = _checked(file, name)
    c = int(G.graph["inputs"]["x"][1])
    meta = copy.deepcopy(module).eval().to("meta")
    cpu = module.eval()
    for h, w in points:
        assert _run(meta, (1, c, h, w), "meta") == _run(cpu, (1, c, h, w), "cpu"), (h, w)


def test_unet_pad_is_exact() -> None:
    """The padded U-Net's F.pad amounts are size expressions: the cat sees equal sizes everywhere."""
    _, report, G = _checked("unet.py", "UNet")
    pads = [n for n, d in G.nodes(data=True) if d.get("op") is not None and d["op"].name == "sized_pad"]
    assert len(pads) == 4
    cats = [n for n, d in G.nodes(data=True) if d.get("op") is not None and d["op"].name == "cat"]
    assert all(report.shapes[c][2:] == report.shapes[p][2:] for c, p in zip(cats, pads))
    assert [d.code for d in report.diagnostics if d.severity == "error"] == ["too-small"]


def test_unet_nopad_with_where_is_ok() -> None:
    [r] = check_file(os.path.join(EXAMPLES, "unet.py"), "UNetNoPad",
                     where="H % 16 == 0, W % 16 == 0, H >= 16, W >= 16")
    assert r.status == "ok", r.format()


def test_vgg_report_names_the_exact_sizes() -> None:
    _, report, _ = _checked("vgg.py", "VGG11")
    text = report.format()
    assert "accepted sizes, exactly: H in 32..63 and W in 1568..1599; or H in 224..255 and W in 224..255; " \
           "or H in 1568..1599 and W in 32..63" in text
    assert "vgg.py:49: error: linear expects 25088 input features" in text


def test_output_shapes_are_symbolic() -> None:
    _, report, G = _checked("resnet.py", "ResNet50")
    [out] = G.graph["outputs"]
    assert [str(s) for s in report.shapes[out]] == ["N", "1000"]
    _, report, G = _checked("unet.py", "UNet")
    [out] = G.graph["outputs"]
    assert [str(s) for s in report.shapes[out]] == ["N", "2", "H", "W"]
