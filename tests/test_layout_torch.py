"""Memory layout and ``view`` against torch on real CPU tensors (never meta: see docs/checker.md).

* the view condition and the strides of a view (:mod:`arts.ops.layout`) against ``Tensor.view``
  on tensors made non-contiguous by transpose, permute, expand, slicing and unsqueeze;
* whole graphs with symbolic sizes: the checker accepts a size exactly when torch runs the
  compiled graph on CPU tensors of that size, with equal output shapes;
* the rules of ``expand``, ``contiguous`` and ``slice``; the elementwise functions whose
  layout rule says "keeps a dense input's strides";
* the front end: ``x.transpose(1, 2).view(x.size(0), -1)`` is a ``view-stride`` error whose
  counterexample fails in torch, ``.contiguous()`` and ``.reshape`` fix it.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest
import sympy
import torch
import torch.nn as nn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arts.graph import typecheck
from arts.graph.compile import to_module
from arts.graph.graph import GraphBuilder
from arts.ops import Op, StaticShapeError
from arts.ops.layout import KEEPS_DENSE_STRIDES, Layout, view_condition, view_strides
from arts.solver.evaluate import evaluate
from arts.solver.symbols import dim

torch.set_num_threads(1)

#: Ops whose rules this module checks against torch (see test_ops_torch.test_every_registered_op_is_covered).
TORCH_ORACLE_COVERS = {"expand", "contiguous", "slice"}

SETTINGS = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


# ---- the view condition on concrete strided tensors -----------------------------------------------

@st.composite
def strided_tensor(draw: Any) -> torch.Tensor:
    """A CPU tensor made non-contiguous (or not) by a few layout-changing steps."""
    x = torch.zeros([draw(st.sampled_from([1, 1, 2, 3, 4])) for _ in range(draw(st.integers(0, 4)))])
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["transpose", "permute", "expand", "slice", "unsqueeze"]))
        r = x.dim()
        if kind == "transpose" and r >= 2:
            a, b = draw(st.permutations(range(r)))[:2]
            x = x.transpose(a, b)
        elif kind == "permute" and r:
            x = x.permute(*draw(st.permutations(range(r))))
        elif kind == "expand" and r:
            x = x.expand([draw(st.sampled_from([1, 2, 3])) if s == 1 else s for s in x.shape])
        elif kind == "slice" and r:
            d = draw(st.integers(0, r - 1))
            start, step = draw(st.integers(0, 1)), draw(st.integers(1, 2))
            if x.shape[d] > start:
                idx = [slice(None)] * r
                idx[d] = slice(start, None, step)
                x = x[tuple(idx)]
        elif kind == "unsqueeze":
            x = x.unsqueeze(draw(st.integers(0, r)))
    return x


@st.composite
def factorisation(draw: Any, n: int) -> list[int]:
    """A shape with ``n`` elements (size-1 entries sprinkled in), or occasionally any shape."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.lists(st.integers(1, 4), max_size=4))
    out, rest = [], n
    while rest > 1 and len(out) < 4:
        d = draw(st.sampled_from([d for d in range(2, rest + 1) if rest % d == 0]))
        out.append(d)
        rest //= d
    if rest > 1:
        out.append(rest)
    for _ in range(draw(st.integers(0, 2))):
        out.insert(draw(st.integers(0, len(out))), 1)
    return out


@settings(SETTINGS, max_examples=600)
@given(data=st.data())
def test_view_condition_is_torchs(data: Any) -> None:
    x = data.draw(strided_tensor())
    new = data.draw(factorisation(x.numel()))
    ints = lambda xs: tuple(sympy.Integer(v) for v in xs)  # noqa: E731
    try:
        y = x.view(new)
    except RuntimeError as e:
        if math.prod(new) == x.numel():
            assert "view size is not compatible" in str(e)
            assert view_condition(ints(x.shape), ints(x.stride()), ints(new)) is sympy.false, (
                f"view({new}) of {tuple(x.shape)} strides {x.stride()}: arts accepts, torch: {e}")
        return
    assert view_condition(ints(x.shape), ints(x.stride()), ints(new)) is sympy.true, (
        f"view({new}) of {tuple(x.shape)} strides {x.stride()}: arts rejects, torch runs")
    got = view_strides(ints(x.shape), ints(x.stride()), ints(new))
    assert got is not None
    assert [int(t) for t, s in zip(got, new) if s != 1] == [t for t, s in zip(y.stride(), new) if s != 1]


# ---- whole graphs, symbolic sizes --------------------------------------------------------------------

SIZES = {"A": [1, 2, 3, 4, 6], "B": [1, 2, 3, 4, 5, 8]}


@st.composite
def layout_graph(draw: Any, then_view: bool = False) -> GraphBuilder:
    """``x: A,4,B`` (or ``A,B,4``) through layout-changing ops, then a view or reshape
    (``then_view``: a reshape, which copies for some sizes and is a view for others, then a view
    that reads the strides the reshape gave)."""
    g = GraphBuilder()
    x = g.input("x", draw(st.sampled_from(["A,4,B", "A,B,4", "A,2,B,3"])))
    rank = 4 if x and g.graph.graph["inputs"]["x"][-1] == 3 else 3
    t = x
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["transpose", "permute", "expand", "slice", "contiguous", "relu", "flatten"]))
        if kind == "transpose":
            a, b = draw(st.permutations(range(rank)))[:2]
            t = g.add("transpose", t, dim0=a, dim1=b)
        elif kind == "permute":
            t = g.add("permute", t, dims=list(draw(st.permutations(range(rank)))))
        elif kind == "expand":
            d = draw(st.integers(0, rank))
            t = g.add("unsqueeze", t, dim=d)
            size = [-1] * (rank + 1)
            size[d] = draw(st.sampled_from([1, 2, 3]))
            t = g.add("expand", t, size=size)
            rank += 1
        elif kind == "slice":
            t = g.add("slice", t, dim=draw(st.integers(0, rank - 1)), start=draw(st.sampled_from([None, 1])),
                      step=draw(st.sampled_from([1, 2, 2, 3])))
        elif kind == "flatten" and rank > 2:
            s0 = draw(st.integers(0, rank - 2))
            t = g.add("flatten", t, start_dim=s0, end_dim=s0 + 1)
            rank -= 1
        elif kind != "flatten":
            t = g.add(kind, t)
    shape = draw(st.sampled_from([[-1], [-1, 4], [4, -1], [2, -1, 2], [-1, 2], [-1, 12], [-1, 1, 4], [-1, 3]]))
    if then_view:
        t = g.add("reshape", t, shape=shape)
        t = g.add("view", t, shape=draw(st.sampled_from([[-1], [2, -1], [-1, 2], [-1, 4]])))
    else:
        t = g.add(draw(st.sampled_from(["view", "view", "view", "reshape"])), t, shape=shape)
    g.output(t)
    return g


def run(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad():
                y = module(torch.zeros(shape))
        except RuntimeError:
            return None
    return None if 0 in y.shape else tuple(y.shape)


@settings(SETTINGS, max_examples=40)
@given(g=layout_graph())
def test_graph_views_agree_with_torch(g: GraphBuilder) -> None:
    _agrees_with_torch(g)


@settings(SETTINGS, max_examples=40)
@given(g=layout_graph(then_view=True))
def test_views_of_a_reshape_that_may_copy_agree_with_torch(g: GraphBuilder) -> None:
    _agrees_with_torch(g)


def _agrees_with_torch(g: GraphBuilder) -> None:
    report = typecheck(g.graph)
    if report.static_failure:
        return
    module = to_module(g.graph)
    (out,) = g.graph.graph["outputs"]
    x = g.graph.graph["inputs"]["x"]
    for d in report.diagnostics:  # every counterexample really fails
        if d.severity == "error" and d.counterexample:
            assert run(module, tuple(int(evaluate(e, d.counterexample)) for e in x)) is None, d.format()
    if report.unknown_nodes:  # a layout arts does not model (relu of an expanded tensor): unknown, never ok
        assert not report.ok
        return
    for a in SIZES["A"]:
        for b in SIZES["B"]:
            point = {"A": a, "B": b}
            shape = tuple(int(evaluate(e, point)) for e in x)
            mine = report.accepts(**point)
            got = run(module, shape)
            assert mine == (got is not None), f"{point}: arts {mine}, torch {got}\n{report.format()}"
            if got is not None:
                assert report.shape_at(out, **point) == got


# ---- the new catalogue ops --------------------------------------------------------------------------

def _rule_vs_torch(name: str, params: dict[str, Any], shape: tuple[int, ...], symbolic: bool) -> None:
    op = Op.make(name, params)
    names = [f"s{i}" for i in range(len(shape))]
    sym = tuple(dim(n) if symbolic and v != 1 else sympy.Integer(v) for n, v in zip(names, shape))
    env = dict(zip(names, shape))
    try:
        y = op.spec.build(op.params, [shape])(torch.zeros(shape))
        got: Any = None if 0 in y.shape else tuple(y.shape)
    except RuntimeError:
        got = None
    try:
        inf = op.apply([sym])
    except StaticShapeError:
        assert got is None, f"{op} on {shape}: static error, torch gives {got}"
        return
    ok = all(bool(evaluate(c.formula, env)) for c in inf.conditions)
    assert ok == (got is not None), f"{op} on {shape}: arts {ok}, torch {got}"
    if ok:
        assert tuple(int(evaluate(e, env)) for e in inf.shape) == got


@settings(SETTINGS, max_examples=150)
@given(data=st.data())
def test_expand_contiguous_slice_rules(data: Any) -> None:
    draw = data.draw
    shape = tuple(draw(st.lists(st.sampled_from([1, 1, 2, 3, 5]), min_size=1, max_size=4)))
    name = draw(st.sampled_from(sorted(TORCH_ORACLE_COVERS)))
    if name == "expand":
        size = [draw(st.sampled_from([-1, -1, 1, 2, 3])) for _ in shape]
        size = [draw(st.integers(1, 3)) for _ in range(draw(st.integers(0, 2)))] + size
        params: dict[str, Any] = {"size": size}
    elif name == "slice":
        params = {"dim": draw(st.integers(-len(shape), len(shape) - 1)),
                  "start": draw(st.sampled_from([None, 0, 1, 2, -1, -2])),
                  "end": draw(st.sampled_from([None, 1, 3, -1])), "step": draw(st.integers(1, 3))}
    else:
        params = {}
    _rule_vs_torch(name, params, shape, draw(st.booleans()))


CONVERSIONS = {"float", "double", "half", "bfloat16", "int", "long", "bool", "to", "cpu", "cuda", "type", "type_as"}


@pytest.mark.parametrize("fn", sorted(KEEPS_DENSE_STRIDES - {"fill", "zero", "dropout"} - CONVERSIONS))
def test_keeps_dense_strides_is_torchs(fn: str) -> None:
    import torch.nn.functional as F

    x = torch.rand(2, 3, 4, 5).permute(0, 2, 3, 1)
    f = getattr(torch, fn, None) or getattr(F, fn)
    args = {"clamp": (0.1, 0.5), "clip": (0.1, 0.5), "clamp_min": (0.1,), "clamp_max": (0.1,), "full_like": (1.0,),
            "float_power": (2,), "flip": ([1],)}.get(fn, ())
    y = f(x.int() if fn == "bitwise_not" else x, *args)
    assert y.stride() == x.stride()


def test_conversions_keep_dense_strides() -> None:
    x = torch.rand(2, 3, 4, 5).permute(0, 2, 3, 1).double()
    f64 = torch.zeros(1, dtype=torch.float64)
    ys = [x.float(), x.double(), x.half(), x.bfloat16(), x.int(), x.long(), x.bool(), x.to(torch.float32), x.cpu(),
          x.type(torch.float32), x.type_as(f64), x.fill_(1), x.zero_()]
    assert all(y.stride() == x.stride() for y in ys)
    assert CONVERSIONS - {"cuda"} <= KEEPS_DENSE_STRIDES


# ---- the front end ----------------------------------------------------------------------------------

class TransposeView(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2).view(x.size(0), -1)


class TransposeContiguousView(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2).contiguous().view(x.size(0), -1)


class TransposeReshape(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2).reshape(x.size(0), -1)


class ChannelsLastView(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last).view(x.size(0), -1)


def test_front_end_view_after_transpose_is_an_error_torch_confirms() -> None:
    from arts import check_module

    r = check_module(TransposeView(), "N,8,L")
    (d,) = [d for d in r.diagnostics if d.severity == "error"]
    assert d.code == "view-stride"
    assert "transpose" in d.message and ".reshape(...)" in d.message and ".contiguous()" in d.message
    cx = d.counterexample
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        TransposeView()(torch.zeros(cx["N"], 8, cx["L"]))
    for m in (TransposeContiguousView(), TransposeReshape()):
        r = check_module(m, "N,8,L")
        assert r.status == "ok", r.format()
        assert m(torch.zeros(3, 8, 5)).shape == (3, 40)


def test_front_end_channels_last_layout_is_unknown_not_ok() -> None:
    from arts import check_module

    r = check_module(ChannelsLastView(), "N,3,H,W")
    assert r.status == "unknown", r.format()
    with pytest.raises(RuntimeError):
        ChannelsLastView()(torch.zeros(2, 3, 4, 4))


# ---- front-end-only ops: the strides of index, chunk/split parts and expand_as ----------------------

INDEXES = [
    [("slice", None, None, None), ("slice", None, None, 2)],
    [("int", 1), ("slice", 1, None, None)],
    [("ellipsis",), ("slice", None, None, 3)],
    [("slice", None, None, None), ("none",), ("int", -1)],
    [("slice", 1, 3, None), ("slice", None, None, None), ("slice", -2, None, None)],
]


@pytest.mark.parametrize("index", INDEXES, ids=[str(i) for i in range(len(INDEXES))])
def test_index_layout_is_torchs(index: list) -> None:
    from arts.ops.layout import CONTIGUOUS, output_layout, strides_of

    shape = (3, 4, 5)
    x = torch.zeros(shape)
    items = tuple(None if it[0] == "none" else Ellipsis if it[0] == "ellipsis" else it[1] if it[0] == "int"
                  else slice(*it[1:]) for it in index)
    y = x[items]
    op = Op.make("index", {"index": index})
    out = op.apply([tuple(map(sympy.Integer, shape))]).shape
    lay = output_layout(op, "i", [tuple(map(sympy.Integer, shape))], [CONTIGUOUS], out)
    st = strides_of(out, lay)
    assert st is not None
    assert [int(t) for t, s in zip(st, y.shape) if s != 1] == [t for t, s in zip(y.stride(), y.shape) if s != 1]


@pytest.mark.parametrize("name,params,shapes", [
    ("chunk_part", {"chunks": 2, "dim": 2, "index": 1}, [(2, 3, 6)]),
    ("split_part", {"split_size": 2, "dim": 1, "index": 0}, [(2, 5, 3)]),
    ("expand_as", {}, [(3, 1), (2, 3, 4)]),
    ("unbind_part", {"dim": 1, "index": 2}, [(2, 3, 4)]),
    ("unbind_part", {"dim": 0, "index": 0}, [(3, 2, 5, 4)]),
])
def test_part_and_expand_as_layout_is_torchs(name: str, params: dict, shapes: list) -> None:
    from arts.ops.layout import CONTIGUOUS, output_layout, strides_of

    xs = [torch.zeros(s) for s in shapes]
    y = {"chunk_part": lambda: xs[0].chunk(2, 2)[1], "split_part": lambda: xs[0].split(2, 1)[0],
         "expand_as": lambda: xs[0].expand_as(xs[1]),
         "unbind_part": lambda: xs[0].unbind(params["dim"])[params["index"]]}[name]()
    op = Op.make(name, params)
    ins = [tuple(map(sympy.Integer, s)) for s in shapes]
    out = op.apply(ins).shape
    st = strides_of(out, output_layout(op, "n", ins, [CONTIGUOUS] * len(ins), out))
    assert st is not None
    assert [int(t) for t, s in zip(st, y.shape) if s != 1] == [t for t, s in zip(y.stride(), y.shape) if s != 1]


def test_issue_12_conv3d_transpose_view_is_rejected_where_torch_fails() -> None:
    """The fuzzing find: arts said well-typed at N=2, D=6..8, H=9, W=28; torch fails there."""
    g = GraphBuilder()
    x = g.input("x", "N,8,D,H,W")
    c = g.add("conv3d", x, in_channels=8, out_channels=8, kernel_size=3, stride=3)
    t = g.add("transpose", c, dim0=-3, dim1=3)
    g.output(g.add("view", t, shape=[1, 24, -1]))
    report = typecheck(g.graph)
    assert "view-stride" in {d.code for d in report.diagnostics}
    module = to_module(g.graph)
    for d in (6, 7, 8):
        assert not report.accepts(N=2, D=d, H=9, W=28)
        assert run(module, (2, 8, d, 9, 28)) is None
    for point in ({"N": 1, "D": 3, "H": 9, "W": 9}, {"N": 3, "D": 9, "H": 3, "W": 3}):  # where it does fit
        assert report.accepts(**point)
        assert run(module, (point["N"], 8, point["D"], point["H"], point["W"])) == report.shape_at(
            g.graph.graph["outputs"][0], **point)


@pytest.mark.parametrize("ranks", [(3, 3), (4, 4), (4, 3), (3, 5)])
def test_matmul_of_batched_strided_inputs_is_contiguous(ranks: tuple[int, int]) -> None:
    """torch.matmul of two tensors of rank >= 3 returns a fresh contiguous tensor whatever the
    inputs' strides (q @ k.transpose(-2, -1) in attention; the layout rule of ``matmul``)."""
    from arts.ops.layout import output_layout

    ra, rb = ranks
    batch = (2, 3, 1)[:max(ra, rb) - 2]
    a = torch.zeros(*batch[len(batch) - (ra - 2):], 5, 4).transpose(-2, -1)  # a strided view, (.., 4, 5)
    b = torch.zeros(*batch[len(batch) - (rb - 2):], 6, 5).transpose(-2, -1)  # (.., 5, 6)
    b = b.unbind(0)[0].unsqueeze(0).expand(b.shape) if rb > 3 else b
    y = a @ b
    op = Op.make("matmul", {})
    ins = [tuple(map(sympy.Integer, t.shape)) for t in (a, b)]
    out = op.apply(ins).shape
    strided = [Layout("strided", tuple(sympy.Integer(x) for x in t.stride())) for t in (a, b)]
    lay = output_layout(op, "m", ins, strided, tuple(out))
    assert lay.contiguous and y.is_contiguous()
    assert tuple(int(s) for s in out) == tuple(y.shape)


@pytest.mark.parametrize("other", ["permuted", "expanded", "sliced", "broadcast"])
@pytest.mark.parametrize("name", ["add", "mul", "broadcast_op"])
def test_binary_with_contiguous_full_first_operand_is_contiguous(name: str, other: str) -> None:
    """``a + b`` with ``a`` contiguous and of the result's shape is contiguous in torch whatever
    ``b``'s strides (TensorIterator orders dimensions by the first operand): the rule says so."""
    from arts.ops.layout import output_layout

    a = torch.zeros(2, 3, 4, 5)
    b = {"permuted": torch.zeros(5, 4, 3, 2).permute(3, 2, 1, 0),
         "expanded": torch.zeros(1, 3, 1, 5).expand(2, 3, 4, 5),
         "sliced": torch.zeros(2, 3, 8, 5)[:, :, ::2], "broadcast": torch.zeros(3, 5, 4).transpose(1, 2)[None]}[other]
    y = a + b
    op = Op.make(name, {"fn": "add"} if name == "broadcast_op" else {})
    ins = [tuple(map(sympy.Integer, t.shape)) for t in (a, b)]
    out = op.apply(ins).shape
    lays = [Layout("contiguous"), Layout("strided", tuple(sympy.Integer(x) for x in b.stride()))]
    assert output_layout(op, "b", ins, lays, tuple(out)).contiguous and y.is_contiguous()
    # the other way round the second operand's strides may decide: the rule claims nothing
    assert not output_layout(op, "b", ins[::-1], lays[::-1], tuple(out)).contiguous or (b + a).is_contiguous()
