"""The layouts of convs, pools, norms, resizes, products and attention (arts.ops.layout_fresh)
against torch's real strides on CPU tensors.

An input is made strided in torch and, in lockstep, in arts (its own permute, slice and
contiguous rules over symbolic sizes): a permutation of a contiguous tensor (channels-last among
them), a slice of a larger one (a channel slice of a chunked tensor), ``contiguous()`` (which keeps
odd strides of size-1 dimensions in torch).  The op is then run in torch, and arts's layout,
decided at that size, must be torch's strides on every dimension of size other than 1, or
``unknown``.  Where a rule claims a layout, a later ``view`` is decided exactly (graph tests).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import pytest
import sympy
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arts.graph import typecheck
from arts.graph.compile import to_module
from arts.graph.graph import GraphBuilder
from arts.ops import Op
from arts.ops.layout import CONTIGUOUS, Layout, output_layout, strides_of
from arts.ops import layout_fresh
from arts.ops.layout_fresh import always_channels_last, channels_last_strides, never_channels_last
from arts.solver.evaluate import evaluate
from arts.solver.symbols import dim

torch.set_num_threads(1)

SETTINGS = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


def _at(env: dict) -> Callable[[Any], bool]:
    """The ``known`` of a domain holding one point: every comparison is decided there."""
    def known(c: Any) -> bool:
        return bool(evaluate(sympy.sympify(c), env))
    return known


def _ints(xs: Any, env: dict) -> list[int]:
    return [int(evaluate(sympy.sympify(x), env)) for x in xs]


@st.composite
def strided(draw: Any, shape: list, env: dict) -> tuple[torch.Tensor, tuple, Layout]:
    """A torch tensor of ``shape`` (entries: ints or symbol names) and arts's (shape, layout) of it."""
    r = len(shape)
    sym = tuple(dim(s) if isinstance(s, str) else sympy.Integer(s) for s in shape)
    known = _at(env)
    perm = draw(st.permutations(range(r))) if draw(st.booleans()) else list(range(r))
    sliced = draw(st.integers(-1, r - 1)) if draw(st.booleans()) else -1
    step, start = draw(st.sampled_from([(1, 1), (2, 0), (2, 1), (3, 0)]))
    # the base tensor, in the permuted order, enlarged along the sliced dimension
    base = [sym[p] for p in perm]
    if sliced >= 0:
        i = perm.index(sliced)
        base[i] = base[i] * step + start
    t = torch.randn(_ints(base, env))
    sh, lay = tuple(base), CONTIGUOUS
    if sliced >= 0:
        i = perm.index(sliced)
        idx = [slice(None)] * r
        idx[i] = slice(start, None, step)
        t = t[tuple(idx)]
        op = Op.make("slice", {"dim": i, "start": start, "end": None, "step": step})
        sh, lay = _step(op, sh, lay, known)
    inv = [perm.index(d) for d in range(r)]
    if inv != list(range(r)):
        t = t.permute(inv)
        sh, lay = _step(Op.make("permute", {"dims": inv}), sh, lay, known)
    if draw(st.integers(0, 3)) == 0:
        t = t.contiguous()
        sh, lay = _step(Op.make("contiguous", {}), sh, lay, known)
    assert list(t.shape) == _ints(sh, env)
    for d in range(r):  # arts's strides are torch's where the size is not 1
        st_ = strides_of(sh, lay)
        if st_ is not None and t.shape[d] != 1:
            assert _ints([st_[d]], env)[0] == t.stride(d)
    return t, sh, lay


def _step(op: Op, sh: tuple, lay: Layout, known: Callable) -> tuple[tuple, Layout]:
    out = tuple(op.apply([sh]).shape)
    return out, output_layout(op, "s", [sh], [lay], out, known)


def _compare(op: Op, xs: list, shapes: list, lays: list, env: dict, y: torch.Tensor, every: bool = False) -> str:
    """``'claimed'`` when arts's layout is torch's on the sizes other than 1 (``every``: on all of
    them), ``'unknown'``; fails otherwise."""
    out = tuple(op.apply(shapes).shape)
    assert _ints(out, env) == list(y.shape), (op, out, y.shape)
    lay = output_layout(op, "n", shapes, lays, out, _at(env))
    if lay.kind == "unknown":
        return "unknown"
    if lay.loose:  # row-major wherever a size is not 1, size-1 strides not claimed
        assert y.is_contiguous(), f"{op}: arts claims a contiguous result, torch strides {y.stride()}"
        return "claimed"
    st_ = strides_of(out, lay)
    assert st_ is not None
    mine = _ints(st_, env)
    for d, s in enumerate(y.shape):
        assert (s == 1 and not every) or mine[d] == y.stride(d), (
            f"{op} of {[tuple(x.shape) for x in xs]} strides {[x.stride() for x in xs]}: "
            f"arts {mine}, torch {y.stride()} ({lay})")
    return "claimed"


# ---- one op, one strided input ----------------------------------------------------------------------

def _w(*s: int) -> torch.Tensor:
    return torch.randn(*s)


#: (arts op, params, input shape with symbols, torch function of the input)
CASES: list[tuple[str, dict, list, Callable]] = [
    ("conv2d", {"in_channels": 4, "out_channels": 3, "kernel_size": 3, "padding": 1},
     ["N", 4, "H", "W"], lambda x: F.conv2d(x, _w(3, 4, 3, 3), padding=1)),
    ("conv2d", {"in_channels": 4, "out_channels": 6, "kernel_size": 1},
     ["N", 4, "H", "W"], lambda x: F.conv2d(x, _w(6, 4, 1, 1))),
    ("conv2d", {"in_channels": 4, "out_channels": 4, "kernel_size": 3, "padding": 1, "groups": 4},
     ["N", 4, "H", "W"], lambda x: F.conv2d(x, _w(4, 1, 3, 3), padding=1, groups=4)),
    ("conv2d", {"in_channels": 4, "out_channels": 2, "kernel_size": 3, "stride": 2, "padding": 1},
     ["N", 4, "H", "W"], lambda x: F.conv2d(x, _w(2, 4, 3, 3), stride=2, padding=1)),
    ("conv2d", {"in_channels": 4, "out_channels": 3, "kernel_size": 1},
     [4, "H", "W"], lambda x: F.conv2d(x, _w(3, 4, 1, 1))),
    ("conv_transpose2d", {"in_channels": 4, "out_channels": 3, "kernel_size": 2, "stride": 2},
     ["N", 4, "H", "W"], lambda x: F.conv_transpose2d(x, _w(4, 3, 2, 2), stride=2)),
    ("conv1d", {"in_channels": 4, "out_channels": 3, "kernel_size": 3, "padding": 1},
     ["N", 4, "L"], lambda x: F.conv1d(x, _w(3, 4, 3), padding=1)),
    ("conv1d", {"in_channels": 1, "out_channels": 3, "kernel_size": 1},
     ["N", 1, "L"], lambda x: F.conv1d(x, _w(3, 1, 1))),
    ("conv_transpose1d", {"in_channels": 4, "out_channels": 3, "kernel_size": 3},
     ["N", 4, "L"], lambda x: F.conv_transpose1d(x, _w(4, 3, 3))),
    ("conv3d", {"in_channels": 3, "out_channels": 2, "kernel_size": 1},
     ["N", 3, "D", "H", "W"], lambda x: F.conv3d(x, _w(2, 3, 1, 1, 1))),
    ("conv_transpose3d", {"in_channels": 3, "out_channels": 2, "kernel_size": 2},
     ["N", 3, "D", "H", "W"], lambda x: F.conv_transpose3d(x, _w(3, 2, 2, 2, 2))),
    ("max_pool2d", {"kernel_size": 2, "ceil_mode": True}, ["N", 3, "H", "W"],
     lambda x: F.max_pool2d(x, 2, ceil_mode=True)),
    ("max_pool2d", {"kernel_size": 3, "stride": 1, "padding": 1}, [3, "H", "W"],
     lambda x: F.max_pool2d(x, 3, 1, 1)),
    ("avg_pool2d", {"kernel_size": 2, "ceil_mode": True}, ["N", 3, "H", "W"],
     lambda x: F.avg_pool2d(x, 2, ceil_mode=True)),
    ("adaptive_avg_pool2d", {"output_size": 1}, ["N", 3, "H", "W"], lambda x: F.adaptive_avg_pool2d(x, 1)),
    ("adaptive_avg_pool2d", {"output_size": 2}, ["N", 3, "H", "W"], lambda x: F.adaptive_avg_pool2d(x, 2)),
    ("adaptive_max_pool2d", {"output_size": 2}, ["N", 3, "H", "W"], lambda x: F.adaptive_max_pool2d(x, 2)),
    ("max_pool1d", {"kernel_size": 2, "ceil_mode": True}, ["N", 3, "L"],
     lambda x: F.max_pool1d(x, 2, ceil_mode=True)),
    ("avg_pool1d", {"kernel_size": 2, "ceil_mode": True}, ["N", 3, "L"],
     lambda x: F.avg_pool1d(x, 2, ceil_mode=True)),
    ("adaptive_avg_pool1d", {"output_size": 2}, ["N", 3, "L"], lambda x: F.adaptive_avg_pool1d(x, 2)),
    ("max_pool3d", {"kernel_size": 2, "ceil_mode": True}, ["N", 3, "D", "H", "W"],
     lambda x: F.max_pool3d(x, 2, ceil_mode=True)),
    ("avg_pool3d", {"kernel_size": 2, "ceil_mode": True}, ["N", 3, "D", "H", "W"],
     lambda x: F.avg_pool3d(x, 2, ceil_mode=True)),
    ("group_norm", {"num_groups": 2}, ["N", 4, "H", "W"], lambda x: F.group_norm(x, 2)),
    ("group_norm", {"num_groups": 2}, ["N", 4, "L"], lambda x: F.group_norm(x, 2)),
    ("instance_norm2d", {}, ["N", 3, "H", "W"], lambda x: F.instance_norm(x)),
    ("instance_norm1d", {}, ["N", 3, "L"], lambda x: F.instance_norm(x)),
    ("instance_norm2d", {}, [3, "H", "W"], lambda x: torch.nn.InstanceNorm2d(3)(x)),
    ("instance_norm1d", {}, [3, "L"], lambda x: torch.nn.InstanceNorm1d(3)(x)),
    ("interpolate", {"scale_factor": 2, "mode": "nearest"}, ["N", 3, "H", "W"],
     lambda x: F.interpolate(x, scale_factor=2, mode="nearest")),
    ("interpolate", {"scale_factor": 2, "mode": "bilinear"}, ["N", 3, "H", "W"],
     lambda x: F.interpolate(x, scale_factor=2, mode="bilinear")),
    ("interpolate", {"size": (3, 2), "mode": "bicubic", "align_corners": True}, ["N", 3, "H", "W"],
     lambda x: F.interpolate(x, size=(3, 2), mode="bicubic", align_corners=True)),
    ("interpolate", {"size": (2, 3), "mode": "area"}, ["N", 3, "H", "W"],
     lambda x: F.interpolate(x, size=(2, 3), mode="area")),
    ("interpolate", {"scale_factor": 2, "mode": "linear"}, ["N", 3, "L"],
     lambda x: F.interpolate(x, scale_factor=2, mode="linear")),
    ("interpolate", {"size": 2, "mode": "area"}, ["N", 3, "L"], lambda x: F.interpolate(x, size=2, mode="area")),
    ("interpolate", {"scale_factor": 2, "mode": "trilinear"}, ["N", 3, "D", "H", "W"],
     lambda x: F.interpolate(x, scale_factor=2, mode="trilinear")),
]


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_fresh_layout_is_torchs(case: int, data: Any) -> None:
    name, params, shape, fn = CASES[case]
    env = {s: data.draw(st.sampled_from([1, 1, 2, 3, 5]), label=s) for s in shape if isinstance(s, str)}
    x, sh, lay = data.draw(strided(shape, env))
    try:
        with torch.no_grad():
            y = fn(x)
    except (RuntimeError, ValueError):  # too small for the op: nothing to compare
        return
    _compare(Op.make(name, params), [x], [sh], [lay], env, y)


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
@settings(SETTINGS, max_examples=15)
@given(data=st.data())
def test_fresh_layout_is_torchs_at_every_dimension_where_size1_strides_matter(
        case: int, data: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``SIZE1_STRIDES_MATTER`` (inputs' strides exact everywhere), what a rule claims is
    torch's stride at size-1 dimensions too."""
    import arts.ops.layout_fresh as LF

    monkeypatch.setattr(LF, "SIZE1_STRIDES_MATTER", True)
    name, params, shape, fn = CASES[case]
    env = {s: data.draw(st.sampled_from([1, 1, 2, 3, 5]), label=s) for s in shape if isinstance(s, str)}
    x, _, _ = data.draw(strided(shape, env))
    # that contract's input: torch's own strides, at every dimension
    sh = tuple(sympy.Integer(n) for n in x.shape)
    lay = Layout("strided", tuple(sympy.Integer(t) for t in x.stride()), False, "x")
    env = {}
    try:
        with torch.no_grad():
            y = fn(x)
    except (RuntimeError, ValueError):
        return
    _compare(Op.make(name, params), [x], [sh], [lay], env, y, every=True)


def test_pools_with_grad_and_max_pool1d_without_it_agree() -> None:
    """max_pool1d takes another kernel without grad (always contiguous); the rule holds for both."""
    x = torch.randn(2, 5, 3).permute(0, 2, 1)  # (N, C, L) with C fastest
    for grad in (False, True):
        y = F.max_pool1d(x.clone().requires_grad_(grad) if grad else x, 2)
        op = Op.make("max_pool1d", {"kernel_size": 2})
        sh = (sympy.Integer(2), sympy.Integer(3), sympy.Integer(5))
        lay = output_layout(Op.make("permute", {"dims": [0, 2, 1]}), "p",
                            [(sympy.Integer(2), sympy.Integer(5), sympy.Integer(3))], [CONTIGUOUS], sh)
        assert _compare(op, [x], [sh], [lay], {}, y) == "unknown"  # torch: transposed with grad only


# ---- products and attention -----------------------------------------------------------------------

@st.composite
def product_case(draw: Any) -> tuple[str, list, list]:
    name = draw(st.sampled_from(["matmul", "matmul", "mm", "bmm"]))
    if name == "mm":
        return name, ["N", "K"], ["K", "P"]
    if name == "bmm":
        return name, ["B", "N", "K"], ["B", "K", "P"]
    ra, rb = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = ["B", "D", "S"]
    a = batch[3 - max(ra - 2, 0):] + (["N", "K"] if ra >= 2 else ["K"])
    b = batch[3 - max(rb - 2, 0):] + (["K", "P"] if rb >= 2 else ["K"])
    return name, a, b


@settings(SETTINGS, max_examples=200)
@given(data=st.data())
def test_products_are_contiguous_like_torchs(data: Any) -> None:
    name, a, b = data.draw(product_case())
    env = {s: data.draw(st.sampled_from([1, 2, 3]), label=s) for s in set(a + b)}
    x, sx, lx = data.draw(strided(a, env))
    y, sy, ly = data.draw(strided(b, env))
    grads = data.draw(st.sampled_from([(False, False), (True, False), (False, True)]))
    x = x.detach().requires_grad_(grads[0])
    y = y.detach().requires_grad_(grads[1])
    out = {"matmul": torch.matmul, "mm": torch.mm, "bmm": torch.bmm}[name](x, y)
    assert _compare(Op.make(name, {}), [x, y], [sx, sy], [lx, ly], env, out) == "claimed"


@settings(SETTINGS, max_examples=150)
@given(data=st.data())
def test_attention_layout_is_torchs(data: Any) -> None:
    """Claimed only where math (contiguous) and flash (a transposed buffer) agree; CPU picks either."""
    env = {s: data.draw(st.sampled_from([1, 1, 2, 3]), label=s) for s in ["N", "H", "L", "S"]}
    e = data.draw(st.sampled_from([4, 8]))
    q, sq, lq = data.draw(strided(["N", "H", "L", e], env))
    k, sk, lk = data.draw(strided(["N", "H", "S", e], env))
    v, sv, lv = data.draw(strided(["N", "H", "S", e], env))
    with torch.no_grad():
        y = F.scaled_dot_product_attention(q, k, v)
    _compare(Op.make("scaled_dot_product_attention", {}), [q, k, v], [sq, sk, sv], [lq, lk, lv], env, y)


@settings(SETTINGS, max_examples=100)
@given(data=st.data())
def test_attention_of_3d_inputs_is_torchs(data: Any) -> None:
    """SAM's ViT: ``(B*heads, L, E)`` queries; no fused kernel takes them, the math path's
    product is row-major whatever the inputs' strides: claimed, and torch's."""
    env = {s: data.draw(st.sampled_from([1, 1, 2, 3]), label=s) for s in ["N", "L", "S"]}
    e = data.draw(st.sampled_from([1, 4, 8]))
    q, sq, lq = data.draw(strided(["N", "L", e], env))
    k, sk, lk = data.draw(strided(["N", "S", e], env))
    v, sv, lv = data.draw(strided(["N", "S", e], env))
    with torch.no_grad():
        y = F.scaled_dot_product_attention(q, k, v)
    got = _compare(Op.make("scaled_dot_product_attention", {}), [q, k, v], [sq, sk, sv], [lq, lk, lv], env, y)
    assert got == "claimed"


def test_attention_of_one_head_is_contiguous_for_every_size() -> None:
    """diffusers' VAE attention: one head, ``view(B, -1, 1, E).transpose(1, 2)`` queries."""
    B, L = dim("B"), dim("L")
    shp = (B, sympy.Integer(1), L, sympy.Integer(512))
    lay = Layout("strided", (L * 512, sympy.Integer(512), sympy.Integer(512), sympy.Integer(1)), True, "t")
    op = Op.make("scaled_dot_product_attention", {})
    out = op.apply([shp] * 3).shape
    got = output_layout(op, "a", [shp] * 3, [lay] * 3, out, _symbolic_known)
    # row-major wherever a size is not 1; the size-1 head's stride differs between backends
    assert got.contiguous and strides_of(out, got) is None and got.loose
    with torch.no_grad():
        for b, l_ in ((1, 1), (2, 7), (3, 64)):
            q = torch.randn(b, l_, 1, 512).transpose(1, 2)
            y = F.scaled_dot_product_attention(q, q, q)
            assert [t for t, s in zip(y.stride(), y.shape) if s != 1] == \
                [t for t, s in zip((l_ * 512, l_ * 512, 512, 1), y.shape) if s != 1]


def _symbolic_known(c: Any) -> bool | None:
    """Decide ``c`` for every positive size (sympy and the solver's search over small sizes)."""
    from arts.solver.decide import decide
    from arts.solver.domain import Domain

    c = sympy.sympify(c)
    if c in (sympy.true, sympy.false):
        return bool(c)
    syms = sorted(c.free_symbols, key=str)
    return True if decide(c, Domain((), syms), syms).is_proven else None


# ---- the channels-last test itself ----------------------------------------------------------------

@settings(SETTINGS, max_examples=300)
@given(data=st.data())
def test_channels_last_conditions_bound_torchs_test(data: Any) -> None:
    """never/always bound torch's own test (``torch._prims_common.suggest_memory_format``) for every
    stride a size-1 dimension may have."""
    from torch._prims_common import suggest_memory_format

    r = data.draw(st.sampled_from([4, 5]))
    shape = [data.draw(st.sampled_from([1, 1, 2, 3]), label="n") for _ in range(r)]
    x, sh, lay = data.draw(strided(shape, {}))
    st_ = strides_of(sh, lay)
    assert st_ is not None
    never, always = bool(never_channels_last(sh, st_)), bool(always_channels_last(sh, st_))
    assert not (never and always)
    free = [d for d in range(r) if shape[d] == 1]
    # torch's strides, then (where arts's contract leaves size-1 strides free) those replaced
    for trial in range(1 if layout_fresh.SIZE1_STRIDES_MATTER else 8):
        strides = list(x.stride())
        for d in free:
            strides[d] = data.draw(st.integers(0, 40), label="free stride") if trial else strides[d]
        t = torch.empty_strided(x.shape, strides)
        cl = suggest_memory_format(t) in (torch.channels_last, torch.channels_last_3d)
        if never:
            assert not cl, (shape, strides)
        if always:
            assert cl, (shape, strides)


def test_channels_last_strides_are_torchs() -> None:
    for shape in ((2, 3, 4, 5), (2, 3, 4, 5, 6)):
        fmt = torch.channels_last if len(shape) == 4 else torch.channels_last_3d
        want = torch.empty(shape).to(memory_format=fmt).stride()
        assert tuple(int(s) for s in channels_last_strides(shape)) == want


# ---- whole graphs: a view after the op is decided exactly -----------------------------------------

def _run(module: Any, shape: tuple) -> tuple | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad():
                return tuple(module(torch.zeros(shape)).shape)
        except RuntimeError:
            return None


def _graph(head: str, op: str, params: dict, tail: list, x: str = "N,8,H,W") -> GraphBuilder:
    g = GraphBuilder()
    x, *where = x.split(";")
    t = g.input("x", x)
    if where:
        g.where(*where)
    if head == "chunk":  # a channel slice: the second half of the channels
        t = g.add("slice", t, dim=1, start=4, end=None, step=1)
    elif head == "channels_last":
        t = g.add("permute", t, dims=[0, 2, 3, 1])
        t = g.add("contiguous", t)
        t = g.add("permute", t, dims=[0, 3, 1, 2])
    t = g.add(op, t, **params)
    for kind, p in tail:
        t = g.add(kind, t, **p)
    g.output(t)
    return g


GRAPHS = [
    ("chunk", "conv2d", {"in_channels": 4, "out_channels": 6, "kernel_size": 3, "padding": 1},
     [("view", {"shape": [-1]})], "N,8,H,W", True),
    ("chunk", "max_pool2d", {"kernel_size": 2}, [("view", {"shape": [-1]})], "N,8,H,W", True),
    # group norm: a fresh result in the input's suggested format on CPU, row-major on CUDA;
    # a channel slice never suggests channels-last: row-major, viewable
    ("chunk", "group_norm", {"num_groups": 2}, [("view", {"shape": [-1]})], "N,8,H,W", True),
    # ... of a channels-last input: one format or the other, and view(-1) is legal in neither
    # unless the image is 1x1 or the batch and channels allow it: not claimed either way
    ("channels_last", "group_norm", {"num_groups": 2}, [("view", {"shape": [-1]})], "2,8,H,W", False),
    # an upsampled 1x1 image: its strides depend on the input's size-1 strides (arts tracks them)
    ("chunk", "interpolate", {"scale_factor": 2, "mode": "bilinear"}, [("view", {"shape": [-1]})],
     "N,8,H,W", True),
    ("chunk", "interpolate", {"scale_factor": 2, "mode": "bilinear"}, [("view", {"shape": [-1]})],
     "N,8,H,W;H >= 2", True),
    # a channels-last input of two images: the pool keeps channels-last, so view(-1) fails unless
    # the result is channels-last and contiguous at once (4 channels of 1x1 images)
    ("channels_last", "avg_pool2d", {"kernel_size": 2}, [("view", {"shape": [-1]})], "2,8,H,W", True),
    # a batch that may be 1: contiguous() keeps the permuted strides of a 1x1 image (exact size-1
    # strides, a Piecewise by the sizes) and the format test over them is not decided: unknown
    ("channels_last", "adaptive_avg_pool2d", {"output_size": 1}, [("view", {"shape": [2, -1]})], "N,8,H,W", False),
    # ... and its permute(0, 2, 3, 1) is viewable at every size (it is channels-last)
    ("channels_last", "avg_pool2d", {"kernel_size": 2},
     [("permute", {"dims": [0, 2, 3, 1]}), ("view", {"shape": [-1]})], "2,8,H,W", True),
    # a batch that may be 1: the batch stride torch reads is tracked exactly, so decided
    ("channels_last", "avg_pool2d", {"kernel_size": 2}, [("view", {"shape": [-1]})], "N,8,H,W", True),
    # a conv of a channels-last input: backend-dependent, unknown
    ("channels_last", "conv2d", {"in_channels": 8, "out_channels": 4, "kernel_size": 1},
     [("view", {"shape": [-1]})], "2,8,H,W", False),
]


@pytest.mark.parametrize("i", range(len(GRAPHS)), ids=[f"{g[0]}-{g[1]}-{i}" for i, g in enumerate(GRAPHS)])
def test_view_after_fresh_result_is_decided_exactly(i: int) -> None:
    head, op, params, tail, x, decided = GRAPHS[i]
    g = _graph(head, op, params, tail, x)
    x = x.split(";")[0]
    report = typecheck(g.graph)
    if not decided:
        assert report.unknown_nodes and report.status != "ok", report.format()
        return
    assert not report.unknown_nodes, report.format()
    module = to_module(g.graph)
    names = [s for s in x.split(",") if not s.isdigit()]
    for values in [(1, 1, 1), (1, 2, 2), (2, 2, 3), (3, 4, 4), (2, 5, 2), (1, 6, 7)]:
        point = dict(zip(names, values))
        shape = tuple(int(s) if s.isdigit() else point[s] for s in x.split(","))
        got = _run(module, shape)
        if ";" in GRAPHS[i][4] and point["H"] < 2:  # outside the declared domain
            continue
        assert report.accepts(**point) == (got is not None), (point, got, report.format())


def test_view_after_a_product_of_transposed_inputs_is_ok() -> None:
    """LeViT / MAnet: ``q.transpose(-2, -1) @ k`` then a ``view``: the product is contiguous."""
    g = GraphBuilder()
    x = g.input("x", "N,L,8")
    t = g.add("transpose", x, dim0=1, dim1=2)
    p = g.add("matmul", t, x)
    g.output(g.add("view", p, shape=[-1, 64]))
    report = typecheck(g.graph)
    assert report.status == "ok", report.format()
    for n, length in ((1, 1), (2, 5), (3, 2)):  # matmul has no graph builder: the same ops by hand
        y = torch.randn(n, length, 8)
        assert (y.transpose(1, 2) @ y).view(-1, 64).shape == (n, 64)


@pytest.mark.parametrize("exact", [False, True])
def test_a_channel_slice_and_a_channels_last_batch_are_claimed(exact: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cases the rules exist for are claimed (so the property tests above are not vacuous)."""
    import arts.ops.layout_fresh as LF

    monkeypatch.setattr(LF, "SIZE1_STRIDES_MATTER", exact)
    N, H, W = dim("N"), dim("H"), dim("W")
    env = {"N": 2, "H": 3, "W": 4}
    half = Op.make("slice", {"dim": 1, "start": 4, "end": None, "step": 1})
    sh, lay = _step(half, (N, sympy.Integer(8), H, W), CONTIGUOUS, _at(env))
    x = torch.randn(2, 8, 3, 4)[:, 4:]
    conv = Op.make("conv2d", {"in_channels": 4, "out_channels": 3, "kernel_size": 3, "padding": 1})
    y = F.conv2d(x, _w(3, 4, 3, 3), padding=1)
    assert _compare(conv, [x], [sh], [lay], env, y, every=exact) == "claimed"
    cl = torch.randn(2, 3, 4, 8).permute(0, 3, 1, 2)  # channels-last, batch 2
    sh, lay = _step(Op.make("permute", {"dims": [0, 3, 1, 2]}), (sympy.Integer(2), H, W, sympy.Integer(8)),
                    CONTIGUOUS, _at(env))
    pool = Op.make("avg_pool2d", {"kernel_size": 2, "ceil_mode": True})
    y = F.avg_pool2d(cl, 2, ceil_mode=True)
    assert _compare(pool, [cl], [sh], [lay], env, y, every=exact) == "claimed"
    assert y.stride()[1] == 1  # torch kept channels-last
