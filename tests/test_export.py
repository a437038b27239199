"""``arts.dynamic_shapes``: the emitted spec makes torch.export succeed, and the exported program
runs inside the stated domain and refuses sizes just outside it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

import arts  # noqa: E402
from arts.export import DynamicShapes, dynamic_shapes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
import resnet  # noqa: E402
import squeezenet  # noqa: E402
import unet  # noqa: E402


class SmallUNet(unet.UNet):
    """The example U-Net (four poolings, skips) with channels b, 2b, ..., 16b."""

    def __init__(self, pad: bool = True, b: int = 2) -> None:
        nn.Module.__init__(self)
        self.inc = unet.DoubleConv(3, b)
        self.down1, self.down2 = unet.Down(b, 2 * b), unet.Down(2 * b, 4 * b)
        self.down3, self.down4 = unet.Down(4 * b, 8 * b), unet.Down(8 * b, 16 * b)
        self.up1, self.up2 = unet.Up(16 * b, 8 * b, pad), unet.Up(8 * b, 4 * b, pad)
        self.up3, self.up4 = unet.Up(4 * b, 2 * b, pad), unet.Up(2 * b, b, pad)
        self.outc = nn.Conv2d(b, 2, 1)


class Pyramid(nn.Module):
    """Three stride-2 convs, then nearest upsampling added back onto each level (a pyramid with skips)."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, padding=1)
        self.down = nn.ModuleList([nn.Conv2d(c, c, 3, stride=2, padding=1) for _ in range(3)])

    def forward(self, x):
        feats = [self.stem(x)]
        for d in self.down:
            feats.append(d(feats[-1]))
        y = feats[-1]
        for f in reversed(feats[:-1]):
            y = f + F.interpolate(y, scale_factor=2.0, mode="nearest")
        return y


class TwoInputs(nn.Module):
    """x and y must have equal sizes (they are added); x is pooled first."""

    def forward(self, x, y):
        return F.max_pool2d(x + y, 2)


def _export(m, spec):
    return torch.export.export(m, spec.example_inputs(), dynamic_shapes=spec)


def _runs(ep, *shapes) -> bool:
    try:
        ep.module()(*(torch.randn(*s) for s in shapes))
    except Exception as e:  # noqa: BLE001 - the guard failure's type varies across torch versions
        assert "Guard failed" in str(e) or "Expected" in str(e) or "to be of the form" in str(e), str(e)
        return False
    return True


def _eager_runs(m, *shapes) -> bool:
    try:
        with torch.no_grad():
            m(*(torch.randn(*s) for s in shapes))
    except RuntimeError:
        return False
    return True


def _agrees_or_refuses(m, ep, shape) -> None:
    """The exported program refuses ``shape``, or computes at it what eager computes."""
    x = torch.randn(*shape)
    if not _runs(ep, shape):
        return
    with torch.no_grad():
        assert _eager_runs(m, shape), shape
        assert torch.allclose(ep.module()(x), m(x), atol=1e-5), shape


@pytest.fixture(scope="module")
def unet_nopad():
    m = SmallUNet(pad=False).eval()
    spec = dynamic_shapes(m)
    return m, spec, _export(m, spec)


def test_unet_nopad_congruence_becomes_a_derived_dim(unet_nopad):
    m, spec, ep = unet_nopad
    assert isinstance(spec, dict) and isinstance(spec, DynamicShapes)
    axes = spec["x"]
    assert set(axes) == {0, 2, 3}
    assert "16 * H_16" in spec.source() and "16 * W_16" in spec.source()
    assert spec.roots["H_16"].min == 2 and spec.roots["H_16"].max is None
    assert any("H = 16" in n and "specializes sizes 0 and 1" in n for n in spec.notes)
    # inside: multiples of 16 from 32 on, at a batch of 1 too
    for h, w in [(32, 48), (64, 32), (48, 80)]:
        assert spec.admits([(1, 3, h, w)])
        assert _runs(ep, (1, 3, h, w)) and _eager_runs(m, (1, 3, h, w))
    # just outside: off the congruence (eager fails too), and the dropped H = 16 (eager runs)
    for h in (40, 33, 47):
        assert not spec.admits([(1, 3, h, 32)])
        assert not _runs(ep, (1, 3, h, 32)) and not _eager_runs(m, (1, 3, h, 32))
    assert not spec.admits([(1, 3, 16, 32)]) and not _runs(ep, (1, 3, 16, 32))
    assert _eager_runs(m, (1, 3, 16, 32))


def test_unet_nopad_exported_matches_eager(unet_nopad):
    m, spec, ep = unet_nopad
    x = torch.randn(2, 3, 48, 32)
    with torch.no_grad():
        assert torch.allclose(ep.module()(x), m(x), atol=1e-5)


def test_unet_pad_interval(tmp_path):
    m = SmallUNet(pad=True).eval()
    spec = dynamic_shapes(m)
    assert spec.roots["H"].min == 32 and spec.roots["W"].min == 32
    ep = _export(m, spec)
    for h in (32, 37, 45):
        assert _runs(ep, (1, 3, h, 33)) and _eager_runs(m, (1, 3, h, 33))
    assert not _runs(ep, (1, 3, 31, 33))
    # the drop is needed: export refuses the model's full range
    with pytest.raises(Exception, match="Constraints violated"):
        torch.export.export(m, spec.example_inputs(), dynamic_shapes={
            "x": {0: torch.export.Dim("N"), 2: torch.export.Dim("H", min=16), 3: torch.export.Dim("W", min=16)}})


def test_pyramid_with_skips():
    m = Pyramid().eval()
    spec = dynamic_shapes(m, "N,3,H,W")
    assert spec.domain == "N ≥ 1 and H ≥ 16 and H ≡ 0 (mod 8) and W ≥ 16 and W ≡ 0 (mod 8)"
    ep = _export(m, spec)
    for h in (16, 24, 40):
        assert _runs(ep, (2, 3, h, 16)) and _eager_runs(m, (2, 3, h, 16))
    for h in (20, 17, 23):
        assert not _runs(ep, (2, 3, h, 16)) and not _eager_runs(m, (2, 3, h, 16))


def test_resnet18_min_size_from_the_export_floor():
    m = resnet.ResNet18(num_classes=3).eval()
    spec = dynamic_shapes(m)
    # the checker accepts every size; torch.export needs layer4's output to be at least 2
    assert spec.accepted == "all sizes"
    assert spec.roots["H"].min == 33 and spec.roots["W"].min == 33
    ep = _export(m, spec)
    assert _runs(ep, (1, 3, 33, 40)) and _runs(ep, (3, 3, 64, 33))
    assert not _runs(ep, (1, 3, 32, 40))


def test_formula_tying_sizes_gives_a_checked_box():
    m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 15 * 16, 10)).eval()
    spec = dynamic_shapes(m, "N,3,H,W")
    assert any("every point of which was checked" in n for n in spec.notes)
    ep = _export(m, spec)
    H, W = spec.roots["H"], spec.roots["W"]
    assert H.max is not None and W.max is not None
    for h in range(H.min - 1, H.max + 2):
        for w in range(W.min - 1, W.max + 2):
            inside = spec.admits([(2, 3, h, w)])
            assert _runs(ep, (2, 3, h, w)) == inside
            if inside:
                assert _eager_runs(m, (2, 3, h, w))


def test_formula_that_grows_with_every_size_needs_no_box():
    """InstanceNorm needs more than one element per channel: ``(floor((H-1)/2)+1)*(floor((W-1)/2)+1) ≥ 2``.
    It holds at the spec's smallest sizes and grows with H and W, so it holds on the whole
    unbounded spec (a checked box would stop at a few hundred points: W ≤ 21 here)."""
    m = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.InstanceNorm2d(4), nn.MaxPool2d(2)).eval()
    spec = dynamic_shapes(m, "N,3,H,W")
    assert "floor" in spec.accepted and spec.domain == "N ≥ 1 and H ≥ 7 and W ≥ 7"
    assert not any("formula" in n for n in spec.notes)
    ep = _export(m, spec)
    for h, w in [(7, 7), (7, 300), (257, 64)]:
        assert spec.admits([(1, 3, h, w)]) and _runs(ep, (1, 3, h, w)) and _eager_runs(m, (1, 3, h, w))
        _agrees_or_refuses(m, ep, (2, 3, h, w))


def test_a_bounded_residue_class_is_described_by_its_ends():
    from arts.export import _describe_piece

    assert _describe_piece(("dim", 4, 0, 2, 258), "H") == "8 ≤ H ≤ 1032 and H ≡ 0 (mod 4)"
    assert _describe_piece(("dim", 1, 0, 3, 9), "H") == "3 ≤ H ≤ 9"
    assert _describe_piece(("dim", 16, 5, 1, None), "H") == "H ≥ 21 and H ≡ 5 (mod 16)"

def test_equal_inputs_share_a_dim():
    spec = dynamic_shapes(TwoInputs(), "N,3,H,W", "N,3,H,W")
    assert spec["x"][2] is spec["y"][2] and spec["x"][0] is spec["y"][0]
    ep = _export(TwoInputs(), spec)
    assert _runs(ep, (2, 3, 8, 9), (2, 3, 8, 9))
    assert not _runs(ep, (2, 3, 8, 9), (2, 3, 9, 9))


def test_where_equality_becomes_a_derived_dim():
    spec = dynamic_shapes(TwoInputs(), "N,3,H,W", "N,3,H,W", where="W == 2*H + 1")
    assert spec.example["W"] == 2 * spec.example["H"] + 1
    assert "2 * H + 1" in spec.source()
    ep = _export(TwoInputs(), spec)
    assert _runs(ep, (1, 3, 6, 13), (1, 3, 6, 13))
    assert not _runs(ep, (1, 3, 6, 12), (1, 3, 6, 12))


def test_fixed_sizes_are_static_and_source_round_trips():
    m = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2)).eval()
    spec = dynamic_shapes(m, "N,3,H,W", where="W == 7")
    assert 3 not in spec["input"] and spec.example["W"] == 7
    scope: dict = {}
    exec(spec.source(), scope)  # noqa: S102 - the rendering is Python source by contract
    ep = torch.export.export(m, spec.example_inputs(), dynamic_shapes=scope["dynamic_shapes"])
    assert _runs(ep, (1, 3, 4, 7)) and not _runs(ep, (1, 3, 4, 8))
    data = spec.to_json()
    assert data["inputs"]["input"]["3"] == {"static": 7}
    assert data["inputs"]["input"]["2"] == {"dim": "H", "mul": 1, "add": 0}
    json.dumps(data)


def test_public_name_and_no_torch_at_import():
    assert arts.dynamic_shapes is dynamic_shapes and arts.DynamicShapes is DynamicShapes
    code = "import sys, arts.export; assert 'torch' not in sys.modules, 'arts.export imported torch'"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr


def test_no_accepted_size_is_an_input_error():
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(5, 2))
    with pytest.raises(arts.InputError, match="no input size is accepted"):
        dynamic_shapes(m, "N,3,1,1")


def test_cli_emit_python_and_json():
    env = {"PYTHONPATH": str(ROOT)}
    import os

    env = {**os.environ, **env}
    cmd = [sys.executable, "-m", "arts", "check", "examples/unet.py:UNetNoPad", "--emit", "torch-export"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert "16 * H_16" in out.stdout and "dynamic_shapes = {" in out.stdout
    out = subprocess.run(cmd + ["--json"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data[0]["inputs"]["x"]["2"] == {"dim": "H_16", "mul": 16, "add": 0}
    assert data[0]["dims"]["H_16"] == {"min": 2, "max": None}



def test_ceil_mode_pool_with_a_constant_branch_is_a_dynamic_hint():
    """torch's ceil-mode pool tests ``(o - 1)*s >= I + p``; export emits that as a floor guard
    (``2*(H//2) - 4 < H - 2`` here) that it cannot decide over a range, and refuses a ``Dim``.
    The test has one answer at every size, so the size becomes ``Dim.DYNAMIC(min=6)``: export keeps
    the guard as a runtime check, and the exported program runs at every size of the spec."""
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(3, 2, ceil_mode=True)).eval()
    spec = dynamic_shapes(m, "N,3,H,W")
    assert spec.domain == "N ≥ 1 and H ≥ 6 and W ≥ 6"
    assert "H = Dim.DYNAMIC(min=6)" in spec.source() and spec.roots["H"].dynamic
    assert any("H is a Dim.DYNAMIC" in n and "ceil_mode" in n for n in spec.notes)
    assert spec.to_json()["dims"]["W"] == {"min": 6, "max": None, "hint": "DYNAMIC"}
    ep = _export(m, spec)
    for h in range(6, 30):
        assert spec.admits([(1, 3, h, 7)])
        assert _runs(ep, (1, 3, h, 7)) and _eager_runs(m, (1, 3, h, 7)), h
        x = torch.randn(2, 3, h, 7 + h % 3)
        with torch.no_grad():
            assert torch.allclose(ep.module()(x), m(x))
    # just outside: the 0/1 floor, which eager runs and the exported program refuses
    for h in (4, 5):
        assert not spec.admits([(1, 3, h, 8)]) and _eager_runs(m, (1, 3, h, 8)) and not _runs(ep, (1, 3, h, 8))
    # the hint is needed: export refuses the same range as a Dim
    with pytest.raises(Exception, match="Constraints violated"):
        torch.export.export(m, spec.example_inputs(), dynamic_shapes={
            "input": {0: torch.export.Dim("N"), 2: torch.export.Dim("H", min=6), 3: torch.export.Dim("W", min=6)}})


def test_ceil_mode_pool_on_a_shared_size_keeps_one_residue_class():
    """``W == H``: a derived size cannot be a ``Dim.DYNAMIC``, so the spec keeps the even sizes,
    where export's guard is affine, and says which sizes it dropped."""
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(3, 2, ceil_mode=True)).eval()
    spec = dynamic_shapes(m, "N,3,H,W", where="W == H")
    assert spec.domain == "N ≥ 1 and H ≥ 6 and H ≡ 0 (mod 2) and W = H"
    assert any("ceil_mode" in n and "H ≡ 1 (mod 2)" in n for n in spec.notes)
    ep = _export(m, spec)
    for h in (6, 8, 20):
        assert spec.admits([(1, 3, h, h)]) and _runs(ep, (1, 3, h, h)) and _eager_runs(m, (1, 3, h, h))
    # just outside: the dropped odd sizes, which eager runs; torch.export emits no runtime check
    # for a derived dim's multiple, so the exported program may run there too, as eager does
    for h in (7, 9):
        assert not spec.admits([(1, 3, h, h)]) and _eager_runs(m, (1, 3, h, h))
        _agrees_or_refuses(m, ep, (1, 3, h, h))
    assert not spec.admits([(1, 3, 6, 8)]) and not _runs(ep, (1, 3, 6, 8))


def test_ceil_mode_pool_whose_branch_is_taken():
    """With padding 1 and kernel 2 the last window does start in the padding at odd sizes: the
    branch really varies with ``H mod 2``, and each class gives an affine output size."""
    m = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AvgPool2d(2, 2, padding=1, ceil_mode=True),
                      nn.MaxPool2d(2, 2, padding=1, ceil_mode=True)).eval()
    spec = dynamic_shapes(m, "N,3,H,W")
    ep = _export(m, spec)
    assert spec.sizes["input"][2].mul == 4 and any("ceil_mode" in n for n in spec.notes)
    for h in range(1, 30):
        shape = (1, 3, h, spec.example["W"])
        if spec.admits([shape]):
            assert _runs(ep, shape) and _eager_runs(m, shape), h
        _agrees_or_refuses(m, ep, shape)


def test_squeezenet_ceil_pools_become_dynamic_hints():
    """SqueezeNet 1.1: a stride-2 conv and three ceil-mode pools without padding (the last window
    always fits): every size from the 0/1 floor on, not one residue class of 16."""
    m = squeezenet.SqueezeNet("1_1", num_classes=5).eval()
    spec = dynamic_shapes(m)
    assert spec.roots["H"].dynamic and spec.roots["W"].dynamic and spec.roots["H"].max is None
    ep = _export(m, spec)
    lo = spec.roots["H"].min
    for h in range(lo, lo + 18):
        assert spec.admits([(1, 3, h, lo + 1)]) and _runs(ep, (1, 3, h, lo + 1)), h
    x = torch.randn(1, 3, lo + 5, 224)
    with torch.no_grad():
        assert torch.allclose(ep.module()(x), m(x), atol=1e-5)
    assert not spec.admits([(1, 3, lo - 1, lo)]) and not _runs(ep, (1, 3, lo - 1, lo))


def _stack(params):
    layers = []
    for kind, k, s, p, ceil in params:
        p = min(p, k // 2)
        if kind == "conv":
            layers.append(nn.Conv2d(2, 2, k, stride=s, padding=p))
        elif kind == "max":
            layers.append(nn.MaxPool2d(k, stride=s, padding=p, ceil_mode=ceil))
        else:
            layers.append(nn.AvgPool2d(k, stride=s, padding=p, ceil_mode=ceil))
    return nn.Sequential(*layers).eval()


from hypothesis import HealthCheck, Phase, example, given, settings, strategies as st  # noqa: E402

_layer = st.tuples(st.sampled_from(["conv", "max", "avg"]), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
                   st.booleans())


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.generate])
@given(params=st.lists(_layer, min_size=1, max_size=3))
@example(params=[("avg", 4, 1, 2, False), ("conv", 2, 3, 2, False)])  # H = 1 runs though the spec starts at 2
@example(params=[("conv", 3, 2, 0, False), ("max", 3, 2, 1, True), ("avg", 2, 3, 1, True)])  # ceil-mode classes
def test_exported_program_accepts_only_what_eager_runs(params):
    """For random conv/pool stacks (ceil-mode pools included): export succeeds with the spec; at
    every probe size the spec admits, the exported program and eager both run; wherever the
    exported program runs, eager runs.  (Outside the spec the exported program may still run:
    export emits no runtime check for a lower bound of 2, its own assumption for every dynamic
    size, nor for a derived dim's multiple.)"""
    m = _stack(params)
    try:
        spec = dynamic_shapes(m, "N,2,H,W")
    except arts.InputError:
        return  # no size accepted: nothing to export (the message is tested above)
    ep = _export(m, spec)
    for h in range(1, 40, 3):
        shape = (1, 2, h, spec.example["W"])
        inside, exported = spec.admits([shape]), _runs(ep, shape)
        if inside:
            assert exported and _eager_runs(m, shape), (h, spec.domain)
        if exported:
            assert _eager_runs(m, shape), (h, spec.domain)


class _Spectrum(torch.nn.Module):
    """An op arts has no rule for (``torch.fft.rfft2``) before a conv: the check is unknown."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.conv(torch.fft.rfft2(x).real)


class _Cropped(torch.nn.Module):
    """A branch on the width to other code: the trace is the model only where W > 40.  (``narrow``:
    a slice ``x[..., :40]`` would be merged with the other way, arts.frontends.ifconvert.)"""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 5)

    def forward(self, x):
        if x.shape[-1] > 40:
            x = torch.narrow(x, -1, 0, 40)
        return self.conv(x)


def test_an_uncertified_spec_is_refused_unless_asked_for():
    with pytest.raises(arts.InputError, match="no certified spec"):
        dynamic_shapes(_Spectrum(), "N,3,H,W")
    spec = dynamic_shapes(_Spectrum(), "N,3,H,W", allow_uncertified=True)
    assert not spec.certified and any("not certified" in n for n in spec.notes)


def test_a_spec_inside_the_captured_region_is_certified_and_sound():
    m = _Cropped().eval()
    spec = dynamic_shapes(m, "N,3,H,W")
    assert spec.certified
    assert any("captured region" in n for n in spec.notes)
    ep = _export(m, spec)
    for h, w in [(6, 41), (9, 64), (40, 300)]:
        assert _runs(ep, (2, 3, h, w))
    assert not _runs(ep, (2, 3, 9, 40))  # outside the region: not in the spec
