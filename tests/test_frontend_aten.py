"""The last capture path (torch.export's ATen graph) on small models torch.fx cannot trace.

Each model branches on its input's sizes, so ``torch.fx.symbolic_trace`` fails.  The fx trace
through the branches (:mod:`arts.frontends.guards`, tested in tests/test_guards.py) would answer
first; here it is switched off, so that :mod:`arts.frontends.aten` answers, as it does for models
that branch on tensor data.  Every answer is compared with what torch really does at many
sizes: wherever arts says accepted or rejected, torch agrees; outside the captured region arts
says it cannot tell (``accepts`` raises ``ValueError``) and the status is never ``ok``.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from arts.frontends.torch_fx import analyse, check_module

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(autouse=True)
def _aten_path_only(monkeypatch):
    """Skip the second capture path (fx through the branches) so that the ATen path answers, and
    export once: the region of one export is what is tested here (more exports: test_regions.py)."""
    import arts.frontends.torch_fx as tf

    monkeypatch.setattr(tf, "_through_branches", lambda *a, **k: None)
    monkeypatch.setattr("arts.frontends.regions.MAX_CAPTURES", 1)


def _torch_runs(model: nn.Module, shape: tuple[int, ...]) -> bool:
    try:
        with torch.no_grad():
            model(torch.zeros(shape))
        return True
    except Exception:  # noqa: BLE001 - any failure at this size
        return False


def _answers(report, n: int, sizes: list[tuple[int, int]]) -> dict[tuple[int, int], object]:
    out: dict[tuple[int, int], object] = {}
    for h, w in sizes:
        try:
            out[(h, w)] = report.accepts(N=n, H=h, W=w)
        except ValueError:
            out[(h, w)] = None  # outside the captured region: unknown
    return out


SQUARES = [(s, s) for s in range(1, 41)]
PAIRS = [(8, 2), (4, 3), (5, 9), (12, 40), (33, 17), (64, 48), (40, 41), (8, 24), (3, 7), (36, 12), (16, 64), (70, 35)]


def _check_against_torch(model: nn.Module, report, sizes=SQUARES + PAIRS) -> dict:
    answers = _answers(report, 2, sizes)
    for (h, w), a in answers.items():
        if a is not None:
            assert a == _torch_runs(model, (2, 3, h, w)), f"arts says {a} at H={h}, W={w}"
    return answers


class PadToMultiple(nn.Module):
    """Pads the height to a multiple of 4 (``if h % 4 != 0``), then conv, pool, head."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        h = x.shape[-2]
        if h % 4 != 0:
            x = F.pad(x, (0, 0, 0, 4 - h % 4))
        y = F.max_pool2d(self.bn(self.conv(x)).relu(), 2)
        return self.fc(F.adaptive_avg_pool2d(y, 1).flatten(1))


class SquareOnly(nn.Module):
    """Raises unless the input is square (a size check in the model's own code)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 5, stride=2)

    def forward(self, x):
        if x.shape[-1] != x.shape[-2]:
            raise ValueError("square inputs only")
        return self.conv(x)


class SkipsCheckWhenCompiling(nn.Module):
    """Checks ``H % 8 == 0`` only in eager mode, as segmentation-models-pytorch and Hugging Face do."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        if not torch.compiler.is_compiling() and x.shape[-2] % 8 != 0:
            raise RuntimeError("height must be divisible by 8")
        if x.shape[-1] > 1000:  # fx cannot trace this either
            x = x[..., :1000]
        return F.max_pool2d(self.conv(x), 2)


class PoolsWhenLarge(nn.Module):
    """A branch that changes the graph: inputs taller than 32 are pooled first."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 7)

    def forward(self, x):
        if x.shape[2] > 32:
            x = F.max_pool2d(x, 2)
        return self.conv(x)


class ClassToken(nn.Module):
    """A class token expanded to the batch size and prepended (ViT), behind a size branch."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 3, 4, stride=4)
        self.token = nn.Parameter(torch.zeros(1, 1, 3))

    def forward(self, x):
        n = x.shape[0]
        if x.shape[-1] % 2 == 0:
            x = x * 2
        t = self.token.expand(n, -1, -1)
        return torch.cat([t, self.embed(x).flatten(2).transpose(1, 2)], dim=1)


class NoRuleOp(nn.Module):
    """Uses an op the catalogue has no rule for (a real FFT), behind a size branch."""

    def forward(self, x):
        if x.shape[-1] % 2 == 0:
            x = x * 2
        return torch.fft.rfft2(x).abs()


def test_fx_cannot_trace_these():
    from arts.frontends.torch_fx import TraceFailure, trace

    for m in (PadToMultiple(), SquareOnly(), PoolsWhenLarge()):
        with pytest.raises(TraceFailure):
            trace(m, 1)


def test_pad_to_multiple_decided_inside_the_guard():
    m = PadToMultiple().eval()
    report, _ = analyse(m, "N,3,H,W")
    assert report.status != "ok"
    assert any(d.code == "captured-region" for d in report.diagnostics)
    region = " ".join(str(c) for c in report.region)
    assert "Mod(H, 4)" in region  # the branch taken at the example size
    answers = _check_against_torch(m, report)
    answered = [k for k, a in answers.items() if a is not None]
    # inside the region (H a multiple of 4, N and sizes >= 2) every size is answered, exactly
    assert all(h % 4 == 0 and h >= 2 and w >= 2 for h, w in answered)
    assert {(h, w) for h, w in answers if h % 4 == 0 and w >= 2} <= set(answered)
    assert any(a is True for a in answers.values()) and any(a is False for a in answers.values())


def test_size_check_in_model_code_restricts_the_region():
    m = SquareOnly().eval()
    report, _ = analyse(m, "N,3,H,W")
    assert report.status != "ok"
    assert any("Eq(H, W)" in str(c) or "Eq(W, H)" in str(c) for c in report.region)
    answers = _check_against_torch(m, report)
    assert all(a is None for (h, w), a in answers.items() if h != w)
    assert answers[(5, 5)] is True and answers[(4, 4)] is False


def test_checks_skipped_under_compile_are_kept():
    """Export sets the "compiling" flag; the model's eager-only check must still bound the region
    (else arts would accept H=12, which torch rejects)."""
    m = SkipsCheckWhenCompiling().eval()
    report, _ = analyse(m, "N,3,H,W")
    assert any("Mod(H, 8)" in str(c) for c in report.region)
    answers = _check_against_torch(m, report, SQUARES + PAIRS + [(12, 12), (20, 16)])
    assert answers[(12, 12)] is None and answers[(16, 16)] is True


def test_branch_that_changes_the_graph():
    m = PoolsWhenLarge().eval()
    report, _ = analyse(m, "N,3,H,W")
    answers = _check_against_torch(m, report, SQUARES + PAIRS + [(33, 14), (34, 13), (80, 80)])
    assert all(a is None for (h, w), a in answers.items() if h <= 32)
    assert answers[(34, 14)] if (34, 14) in answers else True
    assert answers[(33, 14)] is True and answers[(34, 13)] is False


def test_an_op_without_a_rule_is_unknown_with_its_line():
    m = NoRuleOp().eval()
    report = check_module(m, "N,3,H,W")
    assert report.status == "unknown"
    unsupported = [d for d in report.diagnostics if d.code == "unsupported"]
    assert unsupported and "aten.fft_rfft2" in unsupported[0].message
    assert unsupported[0].line is not None and "rfft2" in (unsupported[0].source or "")
    with pytest.raises(ValueError):
        report.accepts(N=2, H=8, W=8)


def test_class_token_expanded_to_the_batch():
    m = ClassToken().eval()
    report, _ = analyse(m, "N,3,H,W")
    assert not report.unknown_nodes
    answers = _check_against_torch(m, report)
    assert answers[(4, 4)] is True and answers[(8, 2)] is False


def test_forward_that_always_raises_is_never_ok():
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            if x.shape[-1] > 0:
                raise RuntimeError("always")
            return self.conv(x)

    report = check_module(Broken(), "N,3,H,W")
    assert report.status == "unknown"
    assert any(d.code == "unsupported" for d in report.diagnostics)


class TakesOptionsAndKwargs(nn.Module):
    """A forward shaped like Hugging Face's: one tensor, optional flags, ``**kwargs``."""

    def __init__(self, branch_on_size: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2)
        self.branch_on_size = branch_on_size

    def forward(self, pixel_values, output_hidden_states=None, return_dict=None, **kwargs):
        if self.branch_on_size and pixel_values.shape[-1] % 2 == 1:  # fx cannot trace this
            pixel_values = pixel_values[..., :-1]
        y = self.conv(pixel_values)
        return (y, y) if output_hidden_states else y


@pytest.mark.parametrize("branch_on_size", [False, True])
def test_optional_flags_and_kwargs_stay_at_their_defaults(branch_on_size):
    """Only the tensor input gets a shape; the flags keep their defaults and ``**kwargs`` is empty,
    on the fx path (no branch) and on the ATen path (a branch on the width)."""
    m = TakesOptionsAndKwargs(branch_on_size).eval()
    report, G = analyse(m, "N,3,H,W")
    assert list(G.graph["inputs"]) == ["pixel_values"]
    assert any(d.code == "captured-region" for d in report.diagnostics) == branch_on_size
    answers = _check_against_torch(m, report)
    assert answers[(4, 4)] is True and answers[(8, 2)] is False


class StandardisedConv(nn.Module):
    """BiT's weight standardisation (``F.batch_norm`` of the weight, no parameters) and a batch norm
    without affine parameters or running statistics, behind a size branch."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.norm = nn.BatchNorm2d(4, affine=False, track_running_stats=False)

    def forward(self, x):
        if x.shape[-1] % 2 == 0:
            x = x * 2
        w = F.batch_norm(self.conv.weight.reshape(1, 4, -1), None, None, training=True, momentum=0.0)
        return self.norm(F.conv2d(x, w.reshape_as(self.conv.weight)))


def test_batch_norm_without_parameters():
    m = StandardisedConv().eval()
    report, _ = analyse(m, "N,3,H,W")
    assert not report.unknown_nodes
    answers = _check_against_torch(m, report, SQUARES + PAIRS + [(4, 3), (3, 4)])
    assert answers[(4, 4)] is True and answers[(8, 2)] is False


def test_capture_is_bounded_in_time_and_keeps_the_callers_timer():
    """A forward that keeps the export busy past the budget ends the capture (unknown, never a
    hang); an interval timer set by the caller survives with its handler."""
    import signal
    import time

    from arts.frontends.aten import CaptureFailed, capture
    from arts.solver.symbols import parse_shape

    class Slow(nn.Module):
        def forward(self, x):
            if x.shape[-1] % 2 == 0:
                time.sleep(30)
            return x

    def outer(signum, frame):  # noqa: ARG001
        raise AssertionError("the caller's timer fired early")

    old = signal.signal(signal.SIGALRM, outer)
    signal.setitimer(signal.ITIMER_REAL, 100)
    try:
        start = time.monotonic()
        with pytest.raises(CaptureFailed, match="did not finish within"):
            capture(Slow(), [parse_shape("N,3,H,W")], budget_s=1.0)
        assert time.monotonic() - start < 20
        left, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 50 < left <= 100 and signal.getsignal(signal.SIGALRM) is outer
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_out_of_time_after_fx_raised_is_unknown_not_an_input_error(monkeypatch):
    """fx makes forward raise (its own artefact, like Hugging Face's ``kwargs.pop`` on a proxy);
    the export runs out of time: the verdict is unknown with both reasons, not "bad input"."""
    import time

    from arts.frontends import aten

    class RaisesUnderFx(nn.Module):
        def forward(self, x):
            if hasattr(x, "node"):  # an fx proxy
                raise RuntimeError("fx proxies are not welcome")
            time.sleep(30)
            return x

    monkeypatch.setattr(aten, "CAPTURE_BUDGET_S", 1.0)
    report = check_module(RaisesUnderFx(), "N,3,H,W")
    assert report.status == "unknown"
    text = " ".join(d.message for d in report.diagnostics)
    assert "did not finish within 1 s" in text and "fx proxies are not welcome" in text


class SizeFunctionsAndCreation(nn.Module):
    """``max`` on sizes (``torch.sym_max`` in the ATen graph), ``torch.zeros``/``arange`` of
    computed sizes, ``1 - y`` (``aten.rsub``), antialiased resampling; behind a size branch."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3)

    def forward(self, x):
        if x.shape[-1] % 2 == 0:
            x = x * 2
        x = self.conv(x)
        n, w = x.shape[0], x.shape[-1]
        y = torch.cat([x, torch.zeros(n, 3, x.shape[2], max(8, w) - w + 1)], dim=-1)
        z = F.interpolate(y, size=(6, 5), mode="bicubic", antialias=True)
        return (1 - z) + torch.arange(z.shape[-1]), y


def test_size_functions_creation_and_rsub():
    m = SizeFunctionsAndCreation().eval()
    report, _ = analyse(m, "N,3,H,W")
    assert not report.unknown_nodes, [d.message for d in report.diagnostics if d.code == "unsupported"]
    answers = _check_against_torch(m, report)
    assert answers[(4, 4)] is True and answers[(8, 2)] is False
    out = [o for o in report.shapes if o.startswith("cat")]
    assert out and str(report.shapes[out[0]][-1]) in ("Max(8, W - 2) + 1", "Max(W - 2, 8) + 1")


def test_static_screen_tells_failing_sizes_and_leaves_buffers_alone():
    from arts.frontends.aten import _fails_static

    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    assert _fails_static(m, [[2, 3, 8, 8]]) is None
    assert "Kernel size" in (_fails_static(m, [[2, 3, 2, 2]]) or "")
    assert int(m[1].num_batches_tracked) == 0 and torch.equal(m[1].running_mean, torch.zeros(4))


class Attends(nn.Module):
    """``F.scaled_dot_product_attention`` (``aten.scaled_dot_product_attention``, kept whole by
    torch.export) over patch tokens in two heads, the keys and values pooled along different
    axes, behind a size branch."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv2d(3, 8, 2, stride=2)

    def forward(self, x):
        if x.shape[-1] % 2 == 0:
            x = x * 2
        t = self.embed(x)
        n = t.shape[0]

        def heads(y):
            return y.flatten(2).transpose(1, 2).reshape(n, -1, 2, 4).transpose(1, 2)

        k = heads(F.max_pool2d(t, (2, 1)))
        v = heads(F.max_pool2d(t, (1, 2)))
        return F.scaled_dot_product_attention(heads(t), k, v)


def test_scaled_dot_product_attention_on_the_aten_path():
    m = Attends().eval()
    report, _ = analyse(m, "N,3,H,W")
    assert not report.unknown_nodes, [d.message for d in report.diagnostics if d.code == "unsupported"]
    answers = _check_against_torch(m, report)
    assert sum(a is not None for a in answers.values()) >= 10
    assert True in answers.values() and False in answers.values()
