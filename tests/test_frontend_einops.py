"""``einops.rearrange`` on traced tensors (MONAI's Swin): traced as a call, lowered when its pattern
only reorders named axes, unknown otherwise; verdicts and shapes compared with torch on CPU."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

torch = pytest.importorskip("torch")
einops = pytest.importorskip("einops")
nn = torch.nn
F = torch.nn.functional
rearrange = einops.rearrange

from arts.frontends.torch_fx import analyse  # noqa: E402


class ChannelsLastPad(nn.Module):
    """MONAI SwinUNETR's ``proj_out``: to channels-last, pad, back; with a branch on sizes (which
    plain fx cannot trace) when ``branch`` is set."""

    def __init__(self, branch: bool) -> None:
        super().__init__()
        self.branch = branch
        self.conv = nn.Conv2d(4, 2, 3)

    def forward(self, x):
        if self.branch and x.shape[-1] % 2:
            raise ValueError("odd width")
        y = rearrange(x, "b c h w -> b h w c")
        y = F.layer_norm(y, [4])
        return self.conv(rearrange(y, "b h w c -> b c h w"))


_MODELS = {b: ChannelsLastPad(b) for b in (False, True)}
_REPORTS: dict[bool, object] = {}


def _runs(model: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        with torch.no_grad():
            return tuple(model(torch.randn(*shape)).shape)
    except Exception:  # noqa: BLE001 - any failure: torch rejects the size
        return None


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.booleans(), st.integers(1, 3), st.integers(1, 8), st.integers(1, 8))
def test_rearrange_reorders_as_torch_does(branch: bool, n: int, h: int, w: int) -> None:
    if branch not in _REPORTS:
        report, G = analyse(_MODELS[branch], "N,4,H,W")
        assert not report.unknown_nodes, report.format()
        assert "permute" in {d["op"].name for _, d in G.nodes(data=True) if d.get("op") is not None}
        _REPORTS[branch] = (report, G)
    report, G = _REPORTS[branch]  # type: ignore[misc]
    theirs = _runs(_MODELS[branch], (n, 4, h, w))
    assert report.accepts(N=n, H=h, W=w) == (theirs is not None), (n, h, w)
    if theirs is not None:
        assert report.shape_at(G.graph["outputs"][0], N=n, H=h, W=w) == theirs


class Grouped(nn.Module):
    def forward(self, x):
        return rearrange(x, "b c (h w) -> b c h w", h=2)


def test_a_pattern_that_splits_axes_stays_unknown() -> None:
    report, _ = analyse(Grouped(), "N,C,L")
    assert report.unknown_nodes and report.status != "ok"
    assert any("only reorderings of named axes" in d.message for d in report.diagnostics)
