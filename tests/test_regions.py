"""Several captures of one model (arts.frontends.regions): against what torch really does.

Each model branches on its input sizes.  One capture is the model only inside its region; arts
captures again at sizes outside it until the regions cover the domain.  Every answer is compared
with a real run, and where the regions do not cover the domain the answer stays unknown.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from test_frontend_aten import PoolsWhenLarge  # crops or pools by a branch on a size: the same
from test_guards import Truncate  # models as those files', which test one capture of them

from arts.frontends.torch_fx import analyse
from torch_runs import runs


GRID = [(h, w) for h in (1, 2, 3, 7, 8, 9, 16, 24, 31, 33, 40, 41, 48, 64) for w in (1, 5, 8, 16, 33, 40, 41, 56)]


def answers(model: nn.Module, report, grid=GRID, n: int = 2) -> dict:
    """arts's answer at each size (None: unknown there), each known one checked against torch."""
    out = {}
    for h, w in grid:
        try:
            a = report.accepts(N=n, H=h, W=w)
        except ValueError:
            out[(h, w)] = None
            continue
        assert a == runs(model, n, 3, h, w), (h, w, a, report.format())
        out[(h, w)] = a
    return out


class ResizeUnlessNative(nn.Module):
    """A ViT's position embedding: resampled unless the grid is the native 4x4 (timm's
    ``dynamic_img_size``): one branch holds at one size only."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, stride=4)
        self.pos = nn.Parameter(torch.zeros(1, 8, 4, 4))

    def forward(self, x):
        x = self.patch(x)
        pos = self.pos
        if x.shape[-2:] != pos.shape[-2:]:
            pos = F.interpolate(pos, size=x.shape[-2:], mode="bilinear")
        return x + pos


class PoolsWhenSmall(nn.Module):
    """timm's VGG head: features smaller than 7 are pooled up to 7, per dimension."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.head = nn.Conv2d(4, 2, 7)

    def forward(self, x):
        x = self.conv(x)
        if x.shape[-2] < 7 or x.shape[-1] < 7:
            x = F.adaptive_avg_pool2d(x, (max(7, x.shape[-2]), max(7, x.shape[-1])))
        return self.head(x)


class FailsOtherwise(nn.Module):
    """The other way always fails (a view to a size that never fits): nothing is claimed there."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        if x.shape[-1] > 20:
            return self.conv(x)
        return x.view(-1, 10 ** 6)


@pytest.mark.parametrize("model", [Truncate(), ResizeUnlessNative(), PoolsWhenSmall()],
                         ids=lambda m: type(m).__name__)
def test_captures_at_sizes_outside_the_region_cover_every_size(model):
    report, _ = analyse(model, "N,3,H,W")
    assert report.region == () and not report.unknown_nodes, report.format()
    [note] = [d for d in report.diagnostics if d.code == "captured-region"]
    assert note.severity == "note" and "captured again at" in note.message and "every size" in note.message
    got = answers(model, report)
    assert None not in got.values()
    assert any(got.values()) and not all(got.values())
    assert "inside the captured region" not in report.domain
    assert report.accepts(N=1, H=8, W=8) == runs(model, 1, 3, 8, 8)


def test_the_native_size_of_a_resampled_embedding_is_its_own_branch():
    model = ResizeUnlessNative()
    report, _ = analyse(model, "N,3,H,W")
    assert report.domain == "H ≥ 4 and W ≥ 4"  # the union, read back as one piece's conditions
    assert report.accepts(N=2, H=16, W=16) and report.accepts(N=2, H=16, W=17)


def test_one_capture_leaves_the_other_branch_unknown(monkeypatch):
    monkeypatch.setattr("arts.frontends.regions.MAX_CAPTURES", 1)
    model = Truncate()
    report, _ = analyse(model, "N,3,H,W")
    assert report.region
    got = answers(model, report)
    assert all(a is None for (h, w), a in got.items() if w <= 40)


def test_sizes_where_forward_cannot_run_stay_unknown():
    model = FailsOtherwise()
    report, _ = analyse(model, "N,3,H,W")
    assert report.region  # the trace at W <= 20 fails: that side is not captured, not claimed
    assert "inside the captured region only" in report.domain
    got = answers(model, report)
    assert all(a is None for (h, w), a in got.items() if w <= 20)
    assert any(a for (h, w), a in got.items() if w > 20)
    with pytest.raises(ValueError, match="outside the region"):
        report.accepts(N=2, H=8, W=8)


class PadsOddSizes(nn.Module):
    """MONAI's BasicUNet: every level pads an odd size, so each residue mod 16 is a branch of its
    own -- more than the captures allowed: the answer is exact where captured, unknown elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        for _ in range(4):
            if x.shape[-1] % 2:  # (a ``cat``, not run both ways: ``F.pad`` would be, test_ifconvert.py)
                x = torch.cat([x, x[..., -1:]], -1)
            x = F.max_pool2d(self.conv(x), 2)
        return x


def test_the_captures_are_bounded(monkeypatch):
    monkeypatch.setattr("arts.frontends.regions.MAX_CAPTURES", 3)
    import arts.frontends.torch_fx as fx

    calls = []
    real = fx.trace_guarded

    def counting(*a, **k):
        calls.append(a[3] if len(a) > 3 else k.get("at"))
        return real(*a, **k)

    monkeypatch.setattr(fx, "trace_guarded", counting)
    model = PadsOddSizes()
    report, _ = analyse(model, "N,3,H,W")
    assert len({str(c) for c in calls}) <= 3  # the first trace and two more (each traced once more to confirm)
    got = answers(model, report)
    assert any(a is None for a in got.values()) and any(a is not None for a in got.values())


def test_the_export_path_captures_again_too(monkeypatch):
    """torch.export's guards bound its region the same way (the fx path switched off, as for a
    model that branches on tensor data); its 0/1 specialisation makes size-1 regions of their own."""
    import arts.frontends.torch_fx as tf

    monkeypatch.setattr(tf, "_through_branches", lambda *a, **k: None)
    model = PoolsWhenLarge().eval()
    report, _ = analyse(model, "N,3,H,W")
    [note] = [d for d in report.diagnostics if d.code == "captured-region"]
    assert "ATen graph" in note.message and "captured again at" in note.message
    got = answers(model, report, [(h, w) for h in (6, 7, 8, 20, 32, 33, 34, 40, 64) for w in (6, 7, 13, 14, 30)])
    assert None not in got.values()


class OddPadByStore(nn.Module):
    """MONAI's ``UpCat``: the branch only stores a constant into a list of pad amounts."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        y = F.interpolate(F.max_pool2d(x, 2), scale_factor=2)
        sp = [0, 0, 0, 0]
        for i in range(2):
            if x.shape[-i - 1] != y.shape[-i - 1]:
                sp[i * 2 + 1] = 1
        y = F.pad(y, sp, "replicate")
        return self.conv(torch.cat([x, y], 1)[:, :3])


class OddPadByTwoStores(OddPadByStore):
    """The same with a body of two stores: not a conditional store, a branch like any other."""

    def forward(self, x):
        y = F.interpolate(F.max_pool2d(x, 2), scale_factor=2)
        sp = [0, 0, 0, 0]
        if x.shape[-1] != y.shape[-1]:
            sp[0] = 0
            sp[1] = 1
        y = F.pad(y, sp, "replicate")
        return self.conv(torch.cat([x, y], 1)[:, :3])


def test_a_conditional_store_is_one_size_expression(monkeypatch):
    monkeypatch.setattr("arts.frontends.regions.MAX_CAPTURES", 1)  # no second trace: the join alone
    model = OddPadByStore()
    report, G = analyse(model, "N,3,H,W")
    assert report.region == () and not report.unknown_nodes, report.format()
    assert "sized_pad" in {d["op"].name for _, d in G.nodes(data=True) if d.get("op") is not None}
    got = answers(model, report)
    assert None not in got.values() and any(got.values()) and not all(got.values())


def test_a_body_of_two_stores_is_a_branch(monkeypatch):
    monkeypatch.setattr("arts.frontends.regions.MAX_CAPTURES", 1)
    model = OddPadByTwoStores()
    report, _ = analyse(model, "N,3,H,W")
    assert report.region  # traced one way, guarded: decided inside only
    answers(model, report)
