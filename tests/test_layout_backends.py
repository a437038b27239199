"""Layouts that do not depend on which backend torch runs on, against torch's real tensors.

* a ``view`` that keeps every size succeeds whatever the input's strides (overlapping, gapped,
  odd size-1 strides): arts asks no stride condition of it, even on a layout it does not know;
* a conv or batch norm whose result's format depends on the backend (CPU channels-last, meta
  contiguous) is *one of* a few layouts (``Layout.alts``): torch's strides on CPU and on meta are
  among them, at every dimension; a later view is ok only where it is legal with each (CvT's
  ``view(N, C, H*W)``), and unknown where the backends disagree (``view(N, -1)``).
"""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest
import sympy
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arts.ops import Op
from arts.ops.layout import Layout, layout_conditions, output_layout, same_shape, strides_of
from arts.solver.symbols import dim
from test_layout_fresh import _at, _ints, strided

torch.set_num_threads(1)

SETTINGS = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(sizes=st.lists(st.integers(1, 4), min_size=1, max_size=5), data=st.data())
def test_same_shape_view_succeeds_for_any_strides(sizes: list[int], data: Any) -> None:
    strides = data.draw(st.lists(st.integers(0, 30), min_size=len(sizes), max_size=len(sizes)))
    span = 1 + sum((n - 1) * s for n, s in zip(sizes, strides))
    x = torch.arange(span, dtype=torch.float32).as_strided(sizes, strides)
    y = x.view(*sizes)  # torch's computeStride: must not raise
    assert torch.equal(y, x)
    shape = tuple(sympy.Integer(n) for n in sizes)
    op = Op.make("view", {"shape": list(sizes)})
    unknown = Layout("unknown", dense=False, origin="t", reason="not modelled")
    assert layout_conditions(op, "v", [shape], [unknown], shape) == []


def test_view_that_changes_a_size_still_needs_the_strides() -> None:
    N, C, H, W = (dim(s) for s in "NCHW")
    assert not same_shape((N, C, H, W), (N, C, H * W))
    assert not same_shape((N, C, H, W), (N, C, W, H))
    assert same_shape((N, C, H, W), (N, sympy.Integer(1) * C, H, W))


# ---- results whose layout depends on the backend: one of a few (``alts``) -------------------------

def _candidates(lay: Layout, out: tuple, env: dict) -> list[list[int]] | None:
    """The strides arts allows torch's result (None: arts claims nothing)."""
    if lay.kind == "unknown" and not lay.alts:
        return None
    return [_ints(strides_of(out, a), env) for a in (lay.alts or (lay,))]


def _bn(x: torch.Tensor, train: bool) -> torch.Tensor:
    C = x.shape[1]
    z = torch.zeros(C, device=x.device)
    return F.batch_norm(x, z, z + 1, z + 2, z + 3, training=train)


def _conv(groups: int) -> Callable[[torch.Tensor], torch.Tensor]:
    def f(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, torch.ones(4, 4 // groups, 3, 3, device=x.device), padding=1, groups=groups)
    return f


#: (arts op, params, input shape, torch function of the input on any device)
BACKEND_CASES: list[tuple[str, dict, list, Callable]] = [
    ("batch_norm2d", {"num_features": 4}, ["N", 4, "H", "W"], lambda x: _bn(x, False)),
    ("batch_norm2d", {"num_features": 4}, ["N", 4, "H", "W"], lambda x: _bn(x, True)),
    ("batch_norm", {"num_features": 4, "training": True}, ["N", 4, "H", "W"], lambda x: _bn(x, True)),
    ("batch_norm1d", {"num_features": 4}, ["N", 4, "L"], lambda x: _bn(x, False)),
    ("batch_norm3d", {"num_features": 4}, ["N", 4, "D", "H", "W"], lambda x: _bn(x, False)),
    ("conv2d", {"in_channels": 4, "out_channels": 4, "kernel_size": 3, "padding": 1}, ["N", 4, "H", "W"], _conv(1)),
    ("conv2d", {"in_channels": 4, "out_channels": 4, "kernel_size": 3, "padding": 1, "groups": 4},
     ["N", 4, "H", "W"], _conv(4)),
]


@pytest.mark.parametrize("case", range(len(BACKEND_CASES)), ids=[c[0] for c in BACKEND_CASES])
@settings(SETTINGS, max_examples=60)
@given(data=st.data())
def test_backend_dependent_layout_holds_on_cpu_and_meta(case: int, data: Any) -> None:
    """What arts claims (one layout, or one of ``alts``) holds for CPU and meta tensors alike, at
    every dimension (size-1 strides too), on permuted, sliced and channels-last inputs."""
    name, params, shape, fn = BACKEND_CASES[case]
    env = {s: data.draw(st.sampled_from([1, 1, 2, 3, 5]), label=s) for s in shape if isinstance(s, str)}
    x, sh, lay = data.draw(strided(shape, env))
    op = Op.make(name, params)
    out = tuple(op.apply([sh]).shape)
    got = output_layout(op, "n", [sh], [lay], out, _at(env))
    allowed = _candidates(got, out, env)
    for device in ("cpu", "meta"):
        xd = torch.empty_strided(x.shape, x.stride(), device=device)
        try:
            with torch.no_grad():
                y = fn(xd)
        except (RuntimeError, ValueError):  # too small (one value per channel in training)
            return
        assert allowed is None or list(y.stride()) in allowed, (name, device, x.shape, x.stride(), y.stride(), got)


def test_backend_dependent_results_are_claimed_where_backends_agree() -> None:
    """A batch norm or a conv of a channels-last input is one of the two formats; of a row-major
    input, row-major."""
    N, C, H, W = 2, 4, 3, 5
    sh = tuple(sympy.Integer(n) for n in (N, C, H, W))
    x = torch.empty(N, C, H, W).to(memory_format=torch.channels_last)
    lay = Layout("strided", tuple(sympy.Integer(t) for t in x.stride()), True, "x")
    bn = output_layout(Op.make("batch_norm2d", {"num_features": C}), "b", [sh], [lay], sh)
    assert bn.alts is not None and sorted(_candidates(bn, sh, {})) == sorted([list(x.stride()), [60, 15, 5, 1]])
    assert output_layout(Op.make("batch_norm2d", {"num_features": C}), "b", [sh], [Layout("contiguous")], sh).kind \
        == "contiguous"
    conv = Op.make("conv2d", {"in_channels": C, "out_channels": C, "kernel_size": 1})
    got = output_layout(conv, "c", [sh], [lay], sh)
    assert got.alts is not None and len(got.alts) == 2
    assert sorted(_candidates(got, sh, {})) == sorted([list(x.stride()), [60, 15, 5, 1]])
    assert list(F.conv2d(x, torch.ones(C, C, 1, 1)).stride()) in _candidates(got, sh, {})
    assert list(F.conv2d(x.to("meta"), torch.ones(C, C, 1, 1, device="meta")).stride()) in _candidates(got, sh, {})


class _CvtProjection(torch.nn.Module):
    """Hugging Face CvT's attention projection: tokens laid out as a channels-last image, a
    depthwise conv and a batch norm, then ``view(N, C, H*W)`` back to tokens (or ``view(N, -1)``)."""

    def __init__(self, flat: bool) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.norm = torch.nn.BatchNorm2d(8)
        self.flat = flat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
        x = self.norm(self.conv(x))
        b, c, h, w = x.shape
        if self.flat:
            return x.view(b, -1)
        return x.view(b, c, h * w).permute(0, 2, 1)


def _runs_on(m: torch.nn.Module, shape: tuple, device: str) -> bool:
    m = copy.deepcopy(m).to(device).eval()
    try:
        with torch.no_grad():
            m(torch.empty(*shape, device=device))
        return True
    except RuntimeError:
        return False


def test_view_legal_with_every_backend_layout_is_ok() -> None:
    """CvT's ``view(N, C, H*W)`` fits both formats the conv may give: ok at every size, as torch
    runs it on CPU and meta."""
    from arts.frontends.torch_fx import analyse

    m = _CvtProjection(flat=False).eval()
    report, _ = analyse(m, "N,8,H,W")
    assert not report.unknown_nodes and report.status == "ok", report.format()
    for shape in [(1, 8, 1, 1), (2, 8, 3, 4), (1, 8, 5, 1), (3, 8, 2, 2)]:
        assert _runs_on(m, shape, "cpu") and _runs_on(m, shape, "meta")


def test_view_legal_on_one_backend_only_is_unknown() -> None:
    """``view(N, -1)`` of the batch norm's result works on meta (contiguous) and fails on CPU
    (channels-last) for most sizes: arts says unknown, never ok and never an error."""
    from arts.frontends.torch_fx import analyse

    m = _CvtProjection(flat=True).eval()
    report, _ = analyse(m, "N,8,H,W")
    assert report.unknown_nodes and report.status == "unknown", report.format()
    assert _runs_on(m, (2, 8, 3, 4), "meta") and not _runs_on(m, (2, 8, 3, 4), "cpu")


class _HieraStem(torch.nn.Module):
    """timm's Hiera stem: a patch conv, ``flatten(2).transpose(1, 2)`` tokens plus a position
    embedding (the add's strides are a Piecewise by which sizes are 1: the tokens may broadcast),
    then ``view`` as an image and the mask-unit unroll (another view of the add's result)."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = torch.nn.Conv2d(3, 8, 4, stride=4)
        self.pos = torch.nn.Parameter(torch.zeros(1, 16, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x).flatten(2).transpose(1, 2) + self.pos
        x = x.view(x.shape[0], 4, 4, 8)
        x = x.view(x.shape[0], 2, 2, 2, 2, 8).permute(0, 2, 4, 1, 3, 5)
        return x.reshape(x.shape[0], -1, 8).view(x.shape[0], 4, 4, 8)


def test_view_of_a_piecewise_add_result_is_decided_exactly() -> None:
    from arts.frontends.torch_fx import analyse

    m = _HieraStem().eval()
    report, _ = analyse(m, "N,3,H,W")
    assert not report.unknown_nodes, report.format()
    for n, h, w in [(1, 4, 4), (2, 16, 16), (1, 17, 19), (2, 8, 16), (1, 4, 16), (3, 20, 5), (1, 16, 4)]:
        runs = _runs_on(m, (n, 3, h, w), "cpu")
        assert runs == _runs_on(m, (n, 3, h, w), "meta")
        assert report.accepts(N=n, H=h, W=w) == runs, ((n, h, w), report.format())


def test_view_condition_reads_the_equal_element_count_both_ways() -> None:
    """``N, L, C`` tokens (L fastest: a transposed conv result) viewed as ``N, h, w, C`` with
    ``L == h*w`` only known from the element count: legal at every size (torch agrees at sizes
    where ``L == h*w``), with no condition left over ``L`` and ``h*w``."""
    from arts.ops.layout import view_condition

    N, L, C, h, w = (dim(s) for s in ("N", "L", "C", "h", "w"))
    f = view_condition((N, L, C), (L * C, sympy.Integer(1), L), (N, h, w, C))
    assert f is sympy.true, f
    for n, hh, ww, c in [(1, 2, 3, 4), (2, 1, 5, 3), (3, 4, 4, 1), (2, 3, 1, 2)]:
        x = torch.empty(n, c, hh * ww).transpose(1, 2)
        assert x.view(n, hh, ww, c).shape == (n, hh, ww, c)
