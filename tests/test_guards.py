"""Tracing through branches on sizes (arts.frontends.guards): against what torch really does.

Each model branches on its input sizes in plain Python, which plain torch.fx cannot trace.  The
traced branches are either conditions of the domain (the other way raises) or bound the captured
region (decided inside, unknown outside); every answer arts gives is compared with a real run.
"""

from __future__ import annotations

import dis
import math
import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from arts.frontends.guards import untaken_branch_raises
from arts.frontends.torch_fx import analyse, check_module
from torch_runs import runs

TORCH_ORACLE_COVERS = {"branch_guard"}  # every test here compares its verdicts with torch


class Divisible(nn.Module):
    """segmentation-models-pytorch's check: the other way raises (with a conditional expression
    in the raise's message, as there)."""

    def __init__(self, stride: int = 8) -> None:
        super().__init__()
        self.stride = stride
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)

    def forward(self, x):
        h, w = x.shape[-2:]
        if h % self.stride != 0 or w % self.stride != 0:
            new_h = (h // self.stride + 1) * self.stride if h % self.stride != 0 else h
            raise RuntimeError(f"pad to {new_h}")
        return self.conv(x)


class Truncate(nn.Module):
    """A branch whose other way runs other code: a region guard.  (``narrow`` is not among the
    calls the if-conversion runs both ways; ``x[..., :40]`` would be, see test_ifconvert.py.)"""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 5)

    def forward(self, x):
        if x.shape[-1] > 40:
            x = torch.narrow(x, -1, 0, 40)
        return self.conv(x)


class Caught(nn.Module):
    """The raise is caught by the model itself: not a condition of the domain."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fallback = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        try:
            if x.shape[-1] % 2:
                raise ValueError("odd")
            return self.conv(x)
        except ValueError:
            return self.fallback(x)


class Loops(nn.Module):
    """``range(x.shape[1])`` and ``len(x.shape)``: decisions fixed by sizes arts knows statically."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 2, 3) for _ in range(3))

    def forward(self, x):
        assert len(x.shape) == 4
        outs = [self.convs[i](x[:, i:i + 1]) for i in range(x.shape[1])]
        return torch.cat(outs, 1)


class DtypeBranch(nn.Module):
    """A branch on the dtype: the same way at every size, no guard needed."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        if x.dtype == torch.float16:
            x = x.float()
        if x.shape[-1] < 7:
            raise ValueError("too small")
        return self.conv(x)


def _decorate(fn):
    import functools

    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        out = fn(self, *args, **kwargs)
        return out if kwargs.get("return_dict", True) else (out,)

    return wrapper


class Decorated(nn.Module):
    """A forward wrapped as Hugging Face wraps them (``*args, **kwargs``), with optional inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2)

    @_decorate
    def forward(self, pixel_values, mask=None, **kwargs):
        if pixel_values.shape[1] != 3:
            raise ValueError("three channels")
        if pixel_values.shape[-1] % 2 == 0:
            raise ValueError("odd widths only")
        return self.conv(pixel_values)


def _agree(model: nn.Module, report, points) -> int:
    answered = 0
    for h, w in points:
        try:
            says = report.accepts(N=2, H=h, W=w)
        except ValueError:
            continue
        answered += 1
        assert says == runs(model, 2, 3, h, w), (h, w, says)
    return answered


GRID = [(h, w) for h in (1, 2, 3, 7, 8, 9, 16, 24, 31, 40, 41, 48, 64) for w in (1, 5, 8, 16, 33, 40, 41, 56, 64)]


def test_a_branch_that_raises_otherwise_is_a_condition_of_the_domain():
    m = Divisible()
    report, _ = analyse(m, "N,3,H,W")
    assert report.region == ()
    assert report.domain == "H ≥ 8 and H ≡ 0 (mod 8) and W ≥ 8 and W ≡ 0 (mod 8)"
    errors = [d for d in report.diagnostics if d.severity == "error"]
    assert {d.code for d in errors} == {"assert-failed"}
    assert errors[0].source.strip().startswith("if h % self.stride != 0")
    assert errors[0].message == "forward raises here unless H % 8 == 0"
    cx = errors[0].counterexample
    assert not runs(m, cx["N"], 3, cx["H"], cx["W"])
    assert _agree(m, report, GRID) == len(GRID)  # exact everywhere


def test_a_branch_to_other_code_bounds_the_region(monkeypatch):
    monkeypatch.setattr("arts.frontends.regions.MAX_CAPTURES", 1)  # one trace (test_regions.py: more)
    m = Truncate()
    report, _ = analyse(m, "N,3,H,W")
    assert report.status == "error"  # inside the region, H < 5 fails: a real error, found there
    cx = [d for d in report.diagnostics if d.severity == "error"][0].counterexample
    assert cx["W"] > 40 and not runs(m, cx["N"], 3, cx["H"], cx["W"])
    assert [str(c) for c in report.region] == ["W > 40"]
    assert "inside the captured region only" in report.domain
    warn = [d for d in report.diagnostics if d.code == "captured-region"]
    assert warn and warn[0].severity == "warning" and "W > 40" in warn[0].message
    with pytest.raises(ValueError, match="outside the region"):
        report.accepts(N=2, H=8, W=8)
    assert _agree(m, report, GRID) == sum(1 for _, w in GRID if w > 40)


def test_a_caught_raise_is_only_a_region(monkeypatch):
    monkeypatch.setattr("arts.frontends.regions.MAX_CAPTURES", 1)  # one trace
    m = Caught()
    report, _ = analyse(m, "N,3,H,W")
    assert report.region  # the handler may run other code: not a condition of the domain
    assert not [d for d in report.diagnostics if d.code == "assert-failed"]
    assert _agree(m, report, GRID) > 0


def test_a_caught_raise_is_traced_both_ways():
    m = Caught()
    report, _ = analyse(m, "N,3,H,W")  # a second trace at an odd width runs the handler's code
    assert report.region == ()
    assert _agree(m, report, GRID) == len(GRID)


def test_loops_and_len_on_static_sizes_need_no_region():
    m = Loops()
    report, _ = analyse(m, "N,3,H,W")
    assert report.region == () and not report.unknown_nodes
    assert report.domain == "H ≥ 3 and W ≥ 3"
    assert _agree(m, report, GRID) == len(GRID)


def test_a_branch_on_the_dtype_is_the_same_at_every_size():
    m = DtypeBranch()
    report, _ = analyse(m, "N,3,H,W")
    assert report.region == () and not report.unknown_nodes
    assert report.domain == "H ≥ 3 and W ≥ 7"
    assert _agree(m, report, GRID) == len(GRID)


def test_a_decorated_forward_with_kwargs_is_called_as_a_user_calls_it():
    m = Decorated()
    report = check_module(m, "N,3,H,W")
    assert not report.unknown_nodes and report.region == ()
    assert report.domain == "H ≥ 3 and W ≥ 3 and W ≡ 1 (mod 2)"
    assert _agree(m, report, GRID) == len(GRID)


def _decided_at_branch(fn):
    """Run ``fn`` on a value whose ``bool()`` (True) asks :func:`untaken_branch_raises` about the
    frame that branched on it, as the tracer does."""
    seen = {}

    class Probe:
        def __bool__(self):
            import sys

            seen["raises"] = untaken_branch_raises(sys._getframe(1), True, stop=_decided_at_branch.__code__)
            return True

    fn(Probe())
    return seen["raises"]


def _raises_if_false(v):
    if v:
        return 1
    raise ValueError("no")


def _returns_if_false(v):
    if v:
        return 1
    return 2


def _loops_if_false(v):
    if v:
        return 1
    while True:
        raise ValueError("no")


def _handled(v):
    try:
        if v:
            return 1
        raise ValueError("no")
    except ValueError:
        return 3


@pytest.mark.parametrize("fn, expected", [(_raises_if_false, True), (_returns_if_false, False),
                                          (_handled, False)])
def test_untaken_branch_raises_reads_the_bytecode(fn, expected):
    assert _decided_at_branch(fn) is expected


def test_the_scan_stops_at_a_loop():
    ops = {i.opname for i in dis.get_instructions(_loops_if_false)}
    assert _decided_at_branch(_loops_if_false) is ("JUMP_BACKWARD" not in ops and "JUMP_ABSOLUTE" not in ops)


class Generated(nn.Module):
    """A family drawn by hypothesis: a stride check that raises, a width branch to other code."""

    def __init__(self, k: int, cut: int, stride: int, pool: bool) -> None:
        super().__init__()
        self.k, self.cut = k, cut
        self.conv = nn.Conv2d(3, 4, 3, stride=stride)
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()

    def forward(self, x):
        if x.shape[-2] % self.k:
            raise ValueError("height")
        if x.shape[-1] >= self.cut:
            x = x[..., : self.cut]
        return self.pool(self.conv(x))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 6), st.integers(4, 40), st.integers(1, 3), st.booleans(),
       st.lists(st.tuples(st.integers(1, 48), st.integers(1, 48)), min_size=8, max_size=8))
def test_property_answers_inside_the_region_are_torchs(k, cut, stride, pool, points):
    m = Generated(k, cut, stride, pool).eval()
    report, _ = analyse(m, "N,3,H,W")
    for h, w in points:
        try:
            says = report.accepts(N=2, H=h, W=w)
        except ValueError:
            continue
        assert says == runs(m, 2, 3, h, w), (k, cut, stride, pool, h, w)


def _raises_through_finally(v):
    try:
        if v:
            return 1
        raise ValueError("no")
    finally:
        _ = 0


def test_a_finally_block_lets_the_raise_through():
    assert _decided_at_branch(_raises_through_finally) is True


class DeviceBranch(nn.Module):
    """A branch on the device (timm's EfficientViT: ``if v.device.type != 'meta'``): traced on
    meta, it must still go the way a real run on the model's device goes."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        if x.device.type == "meta" or x.is_meta:
            return x
        x = x + torch.zeros(1, 3, 1, 1, device=x.device)  # computed on meta while traced
        if x.shape[-1] < 7:  # decided on that value's example
            raise ValueError("too small")
        return self.conv(x)


def test_a_branch_on_the_device_goes_the_way_of_the_real_run():
    m = DeviceBranch()
    report, _ = analyse(m, "N,3,H,W")
    assert not report.unknown_nodes and report.region == ()
    assert report.domain == "H ≥ 3 and W ≥ 7"  # the conv's condition: the CPU path was traced
    assert "tensors on cpu" in [d for d in report.diagnostics if d.code == "captured-region"][0].message
    assert _agree(m, report, GRID) == len(GRID)


class SkipIfTensor(nn.Module):
    """MONAI's ``UpCat``: the skip joins only where ``torch.jit.isinstance`` says it is a tensor,
    which plain fx answers False for a proxy (tracing the branch without the ``cat``, where the
    channels do not match: an error about a graph that is not the model)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(4, 4, 2, stride=2)
        self.convs = nn.Conv2d(8, 2, 3)

    def forward(self, x):
        e = self.down(x)
        x_0 = self.up(e)
        if e is not None and torch.jit.isinstance(e, torch.Tensor):
            return self.convs(torch.cat([x_0, self.up(e)], dim=1))
        return self.convs(x_0)  # as in UpCat: the channels of the skip are missing here


def test_isinstance_on_a_traced_tensor_is_answered_as_the_real_run_does():
    m = SkipIfTensor()
    report, G = analyse(m, "N,3,H,W")
    assert not report.unknown_nodes and report.region == ()
    assert any(G.nodes[n]["op"].name == "cat" for n in G.nodes if G.nodes[n].get("op") is not None)
    assert report.domain == "H ≥ 3 and W ≥ 3"
    assert _agree(m, report, GRID) == len(GRID)  # exact everywhere


class NumpyOnSizes(nn.Module):
    """Sizes through numpy and ``ndim`` (MONAI's SwinUNETR checks ``np.array(x.shape[2:]) % 32``
    and pads by ``np.ceil``; einops picks a recipe by ``x.ndim``)."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleDict({"4": nn.Conv2d(3, 4, 3)})

    def forward(self, x):
        conv = self.convs[str(x.ndim)]
        size = np.array(x.shape[2:])
        if (size % 4 > 0).any():
            raise ValueError("sizes must be multiples of 4")
        if np.ceil(x.shape[-1] / 3) > 20:
            raise ValueError("too wide")
        return conv(x)


def test_sizes_through_numpy_and_the_rank_are_traced():
    m = NumpyOnSizes()
    report, _ = analyse(m, "N,3,H,W")
    assert not report.unknown_nodes
    # numpy tests the sizes inside ``any()`` (a region), the ceiling is a condition of the domain
    assert [str(c) for c in report.region] == ["Mod(H, 4) <= 0", "Mod(W, 4) <= 0"]
    assert "W = 60" in report.domain and "W = 64" not in report.domain
    assert _agree(m, report, GRID) > 0


class SetsWindowFromInput(nn.Module):
    """Hugging Face's Swin: ``forward`` shrinks ``self.window`` to a small input, for good."""

    def __init__(self) -> None:
        super().__init__()
        self.window = 8
        self.fc = nn.Linear(3 * 64, 4)

    def forward(self, x):
        if x.shape[-1] // 32 < self.window:
            self.window = x.shape[-1] // 32
        return self.fc(torch.nn.functional.adaptive_avg_pool2d(x, self.window).flatten(1))


def test_a_forward_that_changes_its_attributes_is_checked_as_the_fresh_model():
    m = SetsWindowFromInput()
    report, _ = analyse(m, "N,3,H,W")
    assert m.window == 8 and type(m.window) is int  # the probes, traces and runs left no trace
    answered = 0
    for h, w in [(8, 8), (8, 64), (16, 200), (9, 255), (8, 256), (20, 300), (4, 512)]:
        try:
            says = report.accepts(N=2, H=h, W=w)
        except ValueError:
            continue
        answered += 1
        assert says == runs(SetsWindowFromInput(), 2, 3, h, w), (h, w, says)
    assert answered >= 3


class WindowBias(nn.Module):
    """Hugging Face Swinv2's relative-position bias behind a branch on sizes: the index is a
    buffer, viewed (and here also shifted) eagerly -- fx stores the results as constants, whose
    values must be the real buffer's, not a meta copy's."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.randn(7, 2))
        self.register_buffer("index", torch.arange(16).view(4, 4) % 7, persistent=False)

    def forward(self, x):
        if x.shape[-1] % 2:
            raise ValueError("odd width")
        bias = self.table[self.index.view(-1)].view(4, 4, 2).permute(2, 0, 1)
        shifted = self.table[(self.index + 3) % 7]
        x = nn.functional.adaptive_avg_pool2d(x, 4)
        return x + bias.sum(0), shifted.sum(-1) + x[:, :1]


class IndexBySize(nn.Module):
    """An index computed from the input's size (timm SAM's ``torch.arange(q_size)``): its values
    at the example size say nothing about other sizes, so it stays unknown."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.randn(64, 2))

    def forward(self, x):
        if x.shape[-1] % 2:
            raise ValueError("odd width")
        return self.table[torch.arange(x.shape[-1]) * 2]


_WINDOW_BIAS = WindowBias()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9))
def test_an_index_read_from_a_buffer_keeps_its_values(n, c, h, w):
    report, _ = analyse(_WINDOW_BIAS, "N,C,H,W")
    assert not report.unknown_nodes, report.format()
    assert not report.region
    assert report.accepts(N=n, C=c, H=h, W=w) == runs(_WINDOW_BIAS, n, c, h, w)
    assert _WINDOW_BIAS.index.device.type == "cpu" and int(_WINDOW_BIAS.index[3, 3]) == 15 % 7


def test_an_index_computed_from_the_size_stays_unknown():
    report, _ = analyse(IndexBySize(), "N,W")
    assert report.unknown_nodes and report.status != "ok"
    assert any("advanced indexing by a tensor whose values arts cannot read" in d.message for d in report.diagnostics)


def _rel_index(q, k):
    """timm SAM's ``get_rel_pos`` index."""
    q_coords = torch.arange(q, dtype=torch.float32)[:, None] * max(k / q, 1.0)
    k_coords = torch.arange(k, dtype=torch.float32)[None, :] * max(q / k, 1.0)
    return ((q_coords - k_coords) + (k - 1) * max(q / k, 1.0)).long()


class PinnedRelPos(nn.Module):
    """timm SAM's global attention: ``int(2 * q - 1)`` fixes the size at the example (a region
    guard), and inside that region the ``arange`` index has the example's values."""

    def __init__(self) -> None:
        super().__init__()
        self.rel_pos = nn.Parameter(torch.randn(9, 3))

    def forward(self, x):
        q = x.shape[1]
        n = int(2 * q - 1)
        table = self.rel_pos
        if table.shape[0] != n:
            table = nn.functional.interpolate(table.t()[None], size=n, mode="linear")[0].t()
        return x + table[_rel_index(q, q)].sum(-1)[:, :1]


def test_an_index_from_a_size_pinned_by_the_trace_is_read_inside_the_region(monkeypatch):
    monkeypatch.setattr("arts.frontends.regions.MAX_CAPTURES", 1)  # one trace: one H
    model = PinnedRelPos()
    report, G = analyse(model, "N,H,E")
    assert not report.unknown_nodes, report.format()
    assert report.region
    assert "take" in {d["op"].name for _, d in G.nodes(data=True) if d.get("op") is not None}
    inside = [(n, h, e) for n in (1, 2) for h in range(1, 300) for e in (1, 3)
              if _accepts_or_none(report, N=n, H=h, E=e) is not None]
    assert inside and len({h for _, h, _ in inside}) == 1  # one H: the example's
    for n, h, e in inside:
        assert report.accepts(N=n, H=h, E=e) == runs(model, n, h, e)


def _accepts_or_none(report, **sizes):
    try:
        return report.accepts(**sizes)
    except ValueError:  # outside the captured region
        return None


class TFPadding(nn.Module):
    """Hugging Face's TensorFlow-style "SAME" padding (MobileNet, EfficientNet): ``int()`` of the
    sizes, then a branch on their remainder."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2)

    def forward(self, x):
        in_height, in_width = int(x.shape[-2]), int(x.shape[-1])
        ph = 1 if in_height % 2 == 0 else 2
        pw = 1 if in_width % 2 == 0 else 2
        return self.conv(nn.functional.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)))


def test_int_of_a_size_is_the_size_itself(monkeypatch):
    """``int(x.shape[-2])`` keeps the size symbolic (not fixed at the example: a region of one
    size); the conditional expressions on its remainder are merged (arts.frontends.ifconvert),
    so one trace is the model at every size."""
    monkeypatch.setattr("arts.frontends.regions.MAX_CAPTURES", 1)
    m = TFPadding()
    report, _ = analyse(m, "N,3,H,W")
    assert report.region == ()
    assert _agree(m, report, GRID) == len(GRID)
    assert "int" not in vars(sys.modules[TFPadding.__module__])  # the module's name restored


def test_int_of_a_size_in_every_parity_is_exact():
    m = TFPadding()
    report, _ = analyse(m, "N,3,H,W")
    assert report.region == ()  # one trace with its parities merged (four guarded ones would cover it too)
    assert _agree(m, report, GRID) == len(GRID)


class ShiftedWindowMask(nn.Module):
    """Swin's shifted-window attention mask: a zero image of the padded size, filled region by
    region through slices (``mask[:, h, w, :] = count``), then split into windows."""

    def __init__(self, window: int = 4, shift: int = 2) -> None:
        super().__init__()
        self.window, self.shift = window, shift
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        h = int(math.ceil(y.shape[-2] / self.window)) * self.window
        w = int(math.ceil(y.shape[-1] / self.window)) * self.window
        mask = torch.zeros((1, h, w, 1), device=x.device)
        count = 0
        for hs in (slice(-self.window), slice(-self.window, -self.shift), slice(-self.shift, None)):
            for ws in (slice(-self.window), slice(-self.window, -self.shift), slice(-self.shift, None)):
                mask[:, hs, ws, :] = count
                count += 1
        windows = mask.view(1, h // self.window, self.window, w // self.window, self.window, 1)
        y = nn.functional.pad(y, (0, w - y.shape[-1], 0, h - y.shape[-2]))
        return y, windows.permute(0, 1, 3, 2, 4, 5).reshape(-1, self.window * self.window)


def test_a_mask_filled_through_slices_is_traced_and_exact():
    """``mask[...] = count`` on a traced tensor is recorded (a store through slices never raises
    and keeps the shape), and ``int(math.ceil(H / 4))`` stays a size: no region at all."""
    m = ShiftedWindowMask()
    report, G = analyse(m, "N,3,H,W")
    assert not report.unknown_nodes and report.region == (), report.format()
    assert _agree(m, report, GRID) == len(GRID)


class StoreIntoExpanded(nn.Module):
    """A store through slices into an expanded tensor: torch refuses to write where the selected
    elements share memory (here wherever the selection ``[:, :2]`` has two columns: W > 1)."""

    def forward(self, x):
        mask = torch.zeros((x.shape[-2], 1), device=x.device).expand(x.shape[-2], x.shape[-1])
        mask[:, :2] = 1.0
        return x + mask


def test_a_store_into_a_tensor_that_may_share_memory_is_unknown():
    m = StoreIntoExpanded()
    assert runs(m, 2, 3, 4, 1) and not runs(m, 2, 3, 4, 5)
    report, _ = analyse(m, "N,3,H,W")
    assert report.status == "unknown" and report.unknown_nodes, report.format()
    assert any("not a fresh allocation" in d.message for d in report.diagnostics), report.format()
