"""If-conversion (arts.frontends.ifconvert): branches that only choose a value, traced both ways.

Each model branches on its sizes the way real models do (Hugging Face's TF "SAME" padding, Swin's
pad-then-crop to windows, MobileViT's interpolate to a multiple of the patch); with the branches
merged the trace is the model at every size, and every answer is compared with a real run.
"""

from __future__ import annotations

import ast
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from arts.frontends import ifconvert
from arts.frontends.torch_fx import analyse
from torch_runs import runs

TORCH_ORACLE_COVERS = {"size_select"}


def tf_same_pad(x, conv):
    """Hugging Face MobileNet's ``apply_tf_padding``, as written there."""
    in_height, in_width = x.shape[-2:]
    stride, kernel = conv.stride[0], conv.kernel_size[0]
    if in_height % stride == 0:
        pad_h = max(kernel - stride, 0)
    else:
        pad_h = max(kernel - (in_height % stride), 0)
    if in_width % stride == 0:
        pad_w = max(kernel - stride, 0)
    else:
        pad_w = max(kernel - (in_width % stride), 0)
    return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))


class TFSame(nn.Module):
    def __init__(self, layers: int = 3, stride: int = 2, kernel: int = 3) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(3 if i == 0 else 4, 4, kernel, stride) for i in range(layers))

    def forward(self, x):
        for conv in self.convs:
            x = conv(tf_same_pad(x, conv))
        return x


class WindowCrop(nn.Module):
    """timm Twins / MONAI Swin: pad to whole windows, work on windows, crop back."""

    def __init__(self, ws: int = 7) -> None:
        super().__init__()
        self.ws = ws

    def forward(self, x):
        B, C, H, W = x.shape
        pad_r = (self.ws - W % self.ws) % self.ws
        pad_b = (self.ws - H % self.ws) % self.ws
        x = F.pad(x, (0, pad_r, 0, pad_b))
        Hp, Wp = H + pad_b, W + pad_r
        x = x.reshape(B, C, Hp // self.ws, self.ws, Wp // self.ws, self.ws).reshape(B, C, Hp, Wp)
        if pad_r > 0 or pad_b > 0:
            x = x[:, :, :H, :W].contiguous()
        return x.reshape(B, C * H * W)


class PatchInterpolate(nn.Module):
    """MobileViT: interpolate up to whole patches, fold, interpolate back.  ``as_int``: Hugging
    Face's ``int(math.ceil(H / p) * p)`` (an integer already: not fixed at the example)."""

    def __init__(self, patch: int = 4, as_int: bool = False) -> None:
        super().__init__()
        self.patch, self.as_int = patch, as_int
        self.conv = nn.Conv2d(3, 3, 3)

    def forward(self, x):
        x = self.conv(x)
        B, C, H, W = x.shape
        p = self.patch
        new_h, new_w = math.ceil(H / p) * p, math.ceil(W / p) * p
        if self.as_int:
            new_h, new_w = int(new_h), int(new_w)
        interpolate = False
        if new_h != H or new_w != W:
            x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False)
            interpolate = True  # read by a later branch: merged in a second round
        x = x.reshape(B, C, new_h // p, p, new_w // p, p).transpose(3, 4).reshape(B, C, new_h, new_w)
        if interpolate:
            x = F.interpolate(x, size=(H, W), mode="bilinear", align_corners=False)
        return x


class OddPad(nn.Module):
    """Swin's patch merging: ``should_pad = (h % 2 == 1) or (w % 2 == 1)``, then pad by the parity."""

    def forward(self, x):
        n, h, w, c = x.shape
        should_pad = (h % 2 == 1) or (w % 2 == 1)
        if should_pad:
            pad_values = (0, 0, 0, w % 2, 0, h % 2)
            x = F.pad(x, pad_values)
        x0, x1 = x[:, 0::2, 0::2, :], x[:, 1::2, 1::2, :]
        return torch.cat([x0, x1], -1)


class PadsOddLevels(nn.Module):
    """MONAI's BasicUNet: every level pads an odd size (one residue class mod 16 per way through)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        for _ in range(4):
            if x.shape[-1] % 2:
                x = F.pad(x, (0, 1))
            x = F.max_pool2d(self.conv(x), 2)
        return x


GRID = [(h, w) for h in (1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 29, 32, 33) for w in (1, 2, 3, 7, 8, 12, 21, 30)]


def _agree(model: nn.Module, report, shape) -> None:
    for h, w in GRID:
        says = report.accepts(N=2, H=h, W=w)
        assert says == runs(model, *shape(h, w)), (h, w, says)


@pytest.mark.parametrize("model", [TFSame(), TFSame(2, 3, 5), WindowCrop(), WindowCrop(4), PatchInterpolate(),
                                   PatchInterpolate(3), PatchInterpolate(4, as_int=True),
                                   PadsOddLevels()],
                         ids=lambda m: type(m).__name__)
def test_merged_branches_make_the_trace_the_model_everywhere(model, monkeypatch):
    monkeypatch.setattr("arts.frontends.regions.MAX_CAPTURES", 1)  # one trace, merged, is the model
    report, _ = analyse(model.eval(), "N,3,H,W")
    assert report.region == ()  # decided at every size: no branch left to bound a region
    assert report.status in ("ok", "error")
    _agree(model, report, lambda h, w: (2, 3, h, w))


def test_an_or_of_parities_and_a_pad_in_one_way():
    model = OddPad()
    report, _ = analyse(model, "N,H,W,3")
    assert report.region == ()
    assert report.status == "ok"
    for h, w in GRID:
        assert report.accepts(N=2, H=h, W=w) == runs(model, 2, h, w, 3), (h, w)


@settings(max_examples=6, deadline=None)
@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 64), st.integers(1, 64))
def test_property_tf_same_padding_is_torchs(layers, kernel, h, w):
    """Stride 2 (every TF-padded MobileNet): the padding at each parity is linear in it, so the
    merged sizes are plain and decided at once.  (Other strides may leave a Piecewise, decided
    within the merged check's budget or else answered inside the guarded trace's region.)"""
    model = TFSame(layers, 2, kernel).eval()
    report, G = analyse(model, "N,3,H,W")
    assert report.region == ()
    says = report.accepts(N=1, H=h, W=w)
    assert says == runs(model, 1, 3, h, w)
    if says:
        with torch.no_grad():
            out = model(torch.zeros(1, 3, h, w))
        assert report.shape_at(G.graph["outputs"][0], N=1, H=h, W=w) == tuple(out.shape)


# ---- the rewrite itself: what it touches and what it leaves -------------------------------------

def _rewritten(fn, lines):
    code = ifconvert.convert(fn, lines)
    return code


def _side_effect(x, log):
    if x.shape[-1] > 4:
        log.append(1)  # a call with an effect: never run where the branch does not go
        x = x[..., :4]
    return x


def test_a_way_with_a_call_that_may_change_state_is_not_rewritten():
    line = _side_effect.__code__.co_firstlineno + 1
    assert _rewritten(_side_effect, [line]) is None


def test_the_rewritten_code_computes_what_the_original_does_on_plain_values():
    line = tf_same_pad.__code__.co_firstlineno + 4
    code = _rewritten(tf_same_pad, [line, line + 4])
    assert code is not None
    fn = type(tf_same_pad)(code, {**tf_same_pad.__globals__, ifconvert.HELPER: ifconvert.Helpers(_NoTracer())})
    conv = nn.Conv2d(3, 3, 3, 2)
    for h in range(1, 12):
        x = torch.zeros(1, 3, h, h + 1)
        assert fn(x, conv).shape == tf_same_pad(x, conv).shape


class _NoTracer:
    """Merges nothing: the rewritten code must then take the original branch."""

    def merge(self, *args):
        return None

    def merge_bool_op(self, *args):
        return None

    def extremum(self, largest, args, plain):
        return plain(*args)


def test_a_name_assigned_in_one_way_only_and_read_later_keeps_its_value_before():
    tree = ast.parse("def f(x):\n    y = 1\n    if x > 2:\n        y = x\n    return y\n")
    fn = tree.body[0]
    parents = {c: p for p in ast.walk(fn) for c in ast.iter_child_nodes(p)}
    assert ifconvert._live_after(fn, parents, fn.body[1], "y")
    tree = ast.parse("def f(x):\n    if x > 2:\n        t = x\n        x = t + 1\n    t = 0\n    return x + t\n")
    fn = tree.body[0]
    parents = {c: p for p in ast.walk(fn) for c in ast.iter_child_nodes(p)}
    assert not ifconvert._live_after(fn, parents, fn.body[0], "t")  # written again before any read
    assert ifconvert._live_after(fn, parents, fn.body[0], "x")


@pytest.mark.parametrize("src, ok", [("a + b * 2", True), ("max(a, b)", True), ("F.pad(x, (0, p))", True),
                                     ("x[:, :h].contiguous()", True), ("self.proj(x)", False),
                                     ("log.append(1)", False), ("(y := 3)", False)])
def test_pure_expressions(src, ok):
    assert ifconvert.pure(ast.parse(src, mode="eval").body) is ok


class TailCrop(nn.Module):
    """A slice from a traced start (0 at the example width, 192): not an identity where the other
    way runs, so never merged (merged, an odd width of 3 would lose a column and fail the conv)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        h, w = x.shape[-2:]
        top = 1 if h % 2 else 0  # two branches that do merge, so merging pays off in this function
        bottom = 1 if h % 3 else 0
        x = F.pad(x, (0, 0, top, bottom))
        if w > 8:
            x = x[..., w % 2:]
        return self.conv(x)


class PaddedWidth(nn.Module):
    """A way whose tensor work stays in use (a size read off a cropped tensor): merged, the crop
    would run where the model does not run it (and fail at a width of 2, which the model runs),
    so the guard stands (the merge refuses it; were it taken, the merged check would leave the
    crop's width undecided and fall back to this guard too)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        w = x.shape[-1]
        if w % 2:
            n = F.pad(x, (0, -3)).shape[-1] + 4
        else:
            n = w
        return self.conv(F.pad(x, (0, n - w)))


@pytest.mark.parametrize("model", [TailCrop(), PaddedWidth()], ids=lambda m: type(m).__name__)
def test_ways_that_cannot_be_merged_keep_their_guard(model, monkeypatch):
    monkeypatch.setattr("arts.frontends.regions.MAX_CAPTURES", 1)
    report, _ = analyse(model.eval(), "N,3,H,W")
    assert report.region  # one trace: decided inside the way it took only
    answered = 0
    for h, w in GRID:
        try:
            says = report.accepts(N=2, H=h, W=w)
        except ValueError:
            continue
        answered += 1
        assert says == runs(model, 2, 3, h, w), (h, w, says)
    assert answered
