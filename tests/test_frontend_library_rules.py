"""Rules for calls that real zoo models make (torchvision's fx leaves, indexing by a module buffer),
each checked against torch on CPU tensors.

The CI environment has no torchvision, so its four leaf functions are written out below with the
same checks and torch calls as torchvision 0.29 (``torchvision/ops/stochastic_depth.py``,
``torchvision/models/swin_transformer.py``; in the zoo environment they gave torchvision's results
exactly), under torchvision's module and function names, and marked with ``torch.fx.wrap`` as
torchvision marks them: arts matches a library target by that name, so it lowers these exactly as
it lowers torchvision's own.  hypothesis draws sizes; torch runs
the module; arts's verdict and output shapes must be torch's.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from arts.frontends.torch_fx import analyse

# Each op below is checked against torch here (each test asserts its ops appear in the lowered graph).
TORCH_ORACLE_COVERS = {"sized_repeat", "take", "window_attention"}


def stochastic_depth(input: Any, p: float, mode: str, training: bool = True) -> Any:
    """torchvision.ops.stochastic_depth.stochastic_depth: the same checks and torch calls."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ["batch", "row"]:
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    survival_rate = 1.0 - p
    if mode == "row":
        size = [input.shape[0]] + [1] * (input.ndim - 1)
    else:
        size = [1] * input.ndim
    noise = torch.empty(size, dtype=input.dtype, device=input.device)
    noise = noise.bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return input * noise


def _get_relative_position_bias(relative_position_bias_table: Any, relative_position_index: Any,
                                window_size: list[int]) -> Any:
    """torchvision.models.swin_transformer._get_relative_position_bias: the same torch calls."""
    N = window_size[0] * window_size[1]
    relative_position_bias = relative_position_bias_table[relative_position_index]
    relative_position_bias = relative_position_bias.view(N, N, -1)
    relative_position_bias = relative_position_bias.permute(2, 0, 1).contiguous().unsqueeze(0)
    return relative_position_bias


def _patch_merging_pad(x: Any) -> Any:
    """torchvision.models.swin_transformer._patch_merging_pad: pad H, W to even, merge 2x2 patches."""
    H, W, _ = x.shape[-3:]
    x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
    return torch.cat([x[..., i::2, j::2, :] for i, j in ((0, 0), (1, 0), (0, 1), (1, 1))], -1)


def shifted_window_attention(input: Any, qkv_weight: Any, proj_weight: Any, relative_position_bias: Any,
                             window_size: list[int], num_heads: int, shift_size: list[int],
                             attention_dropout: float = 0.0, dropout: float = 0.0, qkv_bias: Any = None,
                             proj_bias: Any = None, logit_scale: Any = None, training: bool = True) -> Any:
    """torchvision.models.swin_transformer.shifted_window_attention: the same sequence of torch calls
    (pad to whole windows, roll, window view, attention with bias and shift mask, reverse, crop)."""
    B, H, W, C = input.shape
    w0, w1 = window_size
    x = F.pad(input, (0, 0, 0, (w1 - W % w1) % w1, 0, (w0 - H % w0) % w0))
    _, pH, pW, _ = x.shape
    shift = [0 if w0 >= pH else shift_size[0], 0 if w1 >= pW else shift_size[1]]
    if sum(shift) > 0:
        x = torch.roll(x, shifts=(-shift[0], -shift[1]), dims=(1, 2))
    nW = (pH // w0) * (pW // w1)
    x = x.view(B, pH // w0, w0, pW // w1, w1, C).permute(0, 1, 3, 2, 4, 5).reshape(B * nW, w0 * w1, C)
    if logit_scale is not None and qkv_bias is not None:
        qkv_bias = qkv_bias.clone()
        n = qkv_bias.numel() // 3
        qkv_bias[n:2 * n].zero_()
    qkv = F.linear(x, qkv_weight, qkv_bias)
    qkv = qkv.reshape(x.size(0), x.size(1), 3, num_heads, C // num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    if logit_scale is not None:
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(logit_scale, max=math.log(100.0)).exp()
    else:
        attn = (q * (C // num_heads) ** -0.5).matmul(k.transpose(-2, -1))
    attn = attn + relative_position_bias
    if sum(shift) > 0:
        mask = x.new_zeros((pH, pW))
        count = 0
        for h in ((0, -w0), (-w0, -shift[0]), (-shift[0], None)):
            for w in ((0, -w1), (-w1, -shift[1]), (-shift[1], None)):
                mask[h[0]:h[1], w[0]:w[1]] = count
                count += 1
        mask = mask.view(pH // w0, w0, pW // w1, w1).permute(0, 2, 1, 3).reshape(nW, w0 * w1)
        mask = mask.unsqueeze(1) - mask.unsqueeze(2)
        mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        attn = attn.view(x.size(0) // nW, nW, num_heads, x.size(1), x.size(1)) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, num_heads, x.size(1), x.size(1))
    attn = F.dropout(F.softmax(attn, dim=-1), p=attention_dropout, training=training)
    x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), x.size(1), C)
    x = F.dropout(F.linear(x, proj_weight, proj_bias), p=dropout, training=training)
    x = x.view(B, pH // w0, pW // w1, w0, w1, C).permute(0, 1, 3, 2, 4, 5).reshape(B, pH, pW, C)
    if sum(shift) > 0:
        x = torch.roll(x, shifts=(shift[0], shift[1]), dims=(1, 2))
    return x[:, :H, :W, :].contiguous()


stochastic_depth.__module__ = "torchvision.ops.stochastic_depth"
_patch_merging_pad.__module__ = shifted_window_attention.__module__ = "torchvision.models.swin_transformer"
torch.fx.wrap("_patch_merging_pad")
torch.fx.wrap("shifted_window_attention")
_get_relative_position_bias.__module__ = "torchvision.models.swin_transformer"
torch.fx.wrap("stochastic_depth")
torch.fx.wrap("_get_relative_position_bias")


def _cpu(model: nn.Module, shapes: list[tuple[int, ...]]) -> tuple[list[tuple[int, ...]], list[bool]] | None:
    """Output shapes (and whether each output is contiguous) of a real run, or None if torch refuses."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad():
                y = model(*[torch.randn(*s) for s in shapes])
        except (RuntimeError, ValueError, IndexError):
            return None
    outs = list(y) if isinstance(y, (tuple, list)) else [y]
    if any(0 in o.shape for o in outs):
        return None
    return [tuple(o.shape) for o in outs], [o.is_contiguous() for o in outs]


_CACHE: dict[int, Any] = {}


def same_as_torch(model: nn.Module, shapes: list[str], sizes: dict[str, int], ops: tuple[str, ...] = ()) -> None:
    """arts's verdict and output shapes at ``sizes`` equal what CPU torch does."""
    if id(model) not in _CACHE:
        model.eval()
        report, G = analyse(model, *shapes)
        assert report.status != "unknown", report.format()
        used = {d["op"].name for _, d in G.nodes(data=True) if d.get("op") is not None}
        assert set(ops) <= used, (ops, used)
        _CACHE[id(model)] = (report, G)
    report, G = _CACHE[id(model)]
    full = {s.name: sizes[s.name] for s in report.symbols}
    concrete = [report.shape_at(name, **full) for name in G.graph["inputs"]]
    ours = report.accepts(**full)
    theirs = _cpu(model, concrete)
    assert ours == (theirs is not None), (full, ours, theirs, report.format())
    if ours:
        assert theirs is not None
        mine = [report.shape_at(o, **full) for o in G.graph["outputs"]]
        assert mine == theirs[0], (full, mine, theirs)


SIZE = st.integers(1, 9)
SIZES = st.fixed_dictionaries({"N": st.integers(1, 3), "C": SIZE, "H": SIZE, "W": SIZE, "L": st.integers(1, 60),
                               "E": SIZE})
PROPERTY = settings(max_examples=30, deadline=None, derandomize=True)


# ---- torchvision's stochastic_depth (EfficientNet, ConvNeXt) -------------------------------------

class StochasticDepthBlock(nn.Module):
    """torchvision's ConvNeXt block end: layer scale, stochastic depth, residual add in place."""

    def __init__(self, p: float, mode: str, training: bool) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.p, self.mode, self.flag = p, mode, training

    def forward(self, x):
        result = stochastic_depth(self.conv(x), self.p, self.mode, self.flag)
        result += x
        return result


BLOCKS = [StochasticDepthBlock(p, m, t) for p in (0.0, 0.2, 1.0) for m in ("row", "batch") for t in (False, True)]


@PROPERTY
@given(SIZES, st.sampled_from(BLOCKS))
def test_stochastic_depth_keeps_the_shape(s: dict[str, int], model: nn.Module) -> None:
    same_as_torch(model, ["N,C,H,W"], s)


@pytest.mark.parametrize("p, mode", [(1.5, "row"), (-0.1, "batch"), (0.2, "col")])
def test_stochastic_depth_with_bad_arguments_is_an_error_for_every_size(p: float, mode: str) -> None:
    model = StochasticDepthBlock(p, mode, False)
    report, _ = analyse(model, "N,3,H,W")
    assert report.status == "error", report.format()
    assert "stochastic_depth" in report.format()
    with pytest.raises(ValueError):
        model(torch.randn(1, 3, 4, 4))


# ---- Swin's relative position bias (torchvision swin_t / swin_v2_t) -------------------------------

def _relative_position_index(w: tuple[int, int]) -> Any:
    """The buffer torchvision's ShiftedWindowAttention registers (``define_relative_position_index``)."""
    coords = torch.stack(torch.meshgrid(torch.arange(w[0]), torch.arange(w[1]), indexing="ij"))
    flat = torch.flatten(coords, 1)
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += w[0] - 1
    rel[:, :, 1] += w[1] - 1
    rel[:, :, 0] *= 2 * w[1] - 1
    return rel.sum(-1).flatten()


class RelativeBias(nn.Module):
    """The bias added to attention scores: ``x + bias`` with bias ``(1, heads, N, N)``, ``N = w0*w1``;
    ``v2``: the table is an MLP of a coordinates buffer (swin_v2's ``cpb_mlp``)."""

    def __init__(self, w: tuple[int, int], heads: int, v2: bool) -> None:
        super().__init__()
        self.w, self.heads, self.v2 = list(w), heads, v2
        rows = (2 * w[0] - 1) * (2 * w[1] - 1)
        self.table = nn.Parameter(torch.randn(rows, heads))
        self.cpb_mlp = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, heads))
        self.register_buffer("coords", torch.randn(1, 2 * w[0] - 1, 2 * w[1] - 1, 2))
        self.register_buffer("relative_position_index", _relative_position_index(w))

    def forward(self, x):
        table = self.cpb_mlp(self.coords).view(-1, self.heads) if self.v2 else self.table
        return x + _get_relative_position_bias(table, self.relative_position_index, self.w)


BIASES = [RelativeBias(w, h, v2) for w, h, v2 in [((2, 2), 3, False), ((3, 2), 2, False), ((2, 3), 3, True),
                                                   ((1, 3), 1, True)]]


@PROPERTY
@given(SIZES, st.sampled_from(BIASES))
def test_relative_position_bias(s: dict[str, int], model: nn.Module) -> None:
    same_as_torch(model, ["N,C,H,W"], s, ops=("take",))


# ---- indexing by a buffer or a list of ints -------------------------------------------------------

class Gather(nn.Module):
    """``x[index]`` forms of real models (MaxViT's ``table[self.relative_position_index.view(-1)]``),
    with a ``view`` after it: torch's result must be contiguous where arts says so."""

    def __init__(self, form: str, index: Any) -> None:
        super().__init__()
        self.form = form
        self.register_buffer("index", torch.tensor(index))

    def forward(self, x):
        i = self.index
        if self.form == "rows":
            y = x[i.view(-1)]
        elif self.form == "dim1":
            y = x[:, i]
        elif self.form == "last":
            y = x[..., i]
        elif self.form == "sliced":
            y = x[1:, i]
        elif self.form == "strided":  # the index of a strided view: its layout is not modelled (reshape)
            return x[:, i, ::2].reshape(-1)
        elif self.form == "list":
            y = x[:, :, [2, 0, 0]]
        else:
            y = x[..., [-3, 1], :]
        return y.view(-1)


GATHERS = [Gather("rows", [[4, 0], [2, 7]]), Gather("dim1", [[1, 0, 3]]), Gather("last", [5, -2]),
           Gather("sliced", [[-4, 2]]), Gather("strided", [2]), Gather("list", 0), Gather("ellipsis_list", 0)]


@PROPERTY
@given(SIZES, st.sampled_from(GATHERS[:1]))
def test_rows_of_a_table_by_a_buffer(s: dict[str, int], model: nn.Module) -> None:
    same_as_torch(model, ["L,E"], s, ops=("take",))


@PROPERTY
@given(SIZES, st.sampled_from(GATHERS[1:]))
def test_one_index_among_slices(s: dict[str, int], model: nn.Module) -> None:
    same_as_torch(model, ["N,C,H,W"], s, ops=("take",))


class Unreadable(nn.Module):
    def __init__(self, form: str) -> None:
        super().__init__()
        self.form = form
        self.register_buffer("mask", torch.tensor([True, False, True]))
        self.register_buffer("i", torch.tensor([0, 1]))

    def forward(self, x):
        if self.form == "mask":
            return x[:, self.mask]
        if self.form == "computed":
            return x[:, x.flatten(1).argmax(1)]
        if self.form == "two":
            return x[self.i, self.i]
        if self.form == "scalar":
            return x[:, self.i[0]]
        return x[:, 0, self.i]


@pytest.mark.parametrize("form", ["mask", "computed", "two", "scalar", "int_beside"])
def test_indexing_arts_cannot_show_is_unknown(form: str) -> None:
    report, G = analyse(Unreadable(form), "N,3,H,W")
    assert report.status == "unknown", report.format()
    reasons = " ".join(str(G.nodes[n]["op"].params.get("reason", "")) for n in report.unknown_nodes)
    assert "index" in reasons or "mask" in reasons, reasons


# ---- fresh results of non-contiguous inputs: strides unknown, but dense ---------------------------

def _dense(t: Any) -> bool:
    """No gaps and no shared elements: the strides, sorted, are those of a contiguous tensor."""
    dims = sorted((stride, sz) for stride, sz in zip(t.stride(), t.shape) if sz > 1)
    want = 1
    for stride, sz in dims:
        if stride != want:
            return False
        want *= sz
    return True


FRESH = {
    "conv": lambda x: F.conv2d(x, torch.randn(2, x.shape[1], 1, 1)),
    "batch_norm": lambda x: F.batch_norm(x, torch.zeros(x.shape[1]), torch.ones(x.shape[1])),
    "mul": lambda x: torch.randn(x.shape[1], 1, 1) * x,
    "add": lambda x: x + x,
    "cat": lambda x: torch.cat([x, x], 1),
    "pad": lambda x: F.pad(x, [1, 1]),
    "max_pool": lambda x: F.max_pool2d(x, 1),
    "layer_norm": lambda x: F.layer_norm(x, x.shape[-1:]),
    "softmax": lambda x: x.softmax(-1),
    "log_softmax": lambda x: F.log_softmax(x, 1),
    "interpolate": lambda x: F.interpolate(x, scale_factor=2.0),
    "linear": lambda x: F.linear(x, torch.randn(3, x.shape[-1])),
    "linear_bias": lambda x: F.linear(x, torch.randn(3, x.shape[-1]), torch.randn(3)),
}
VIEWS = {"permute": lambda x: x.permute(0, 2, 3, 1).permute(0, 3, 1, 2), "slice": lambda x: x[:, :, ::2],
         "transpose": lambda x: x.transpose(2, 3), "expand": lambda x: x[:, :1].expand(-1, 3, -1, -1),
         "transpose_last": lambda x: x.transpose(0, 3), "channels_last": lambda x: x.contiguous(
             memory_format=torch.channels_last), "sliced_last": lambda x: x[..., ::2]}


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.sampled_from(sorted(FRESH)), st.sampled_from(sorted(VIEWS)), st.lists(st.integers(1, 5), min_size=4,
                                                                                   max_size=4))
def test_torch_allocates_fresh_results_dense(op: str, view: str, shape: list[int]) -> None:
    """What the layout default relies on: whatever the input's strides, torch's fresh result is dense."""
    x = VIEWS[view](torch.randn(*shape))
    y = FRESH[op](x)
    assert _dense(y), (op, view, shape)
    if op in ("layer_norm", "linear", "linear_bias", "softmax", "log_softmax"):
        # arts's layout rule for these: row-major strides at every dimension (size-1 ones too)
        row = torch.empty(y.shape).stride()
        assert y.stride() == row, (view, shape, y.stride())


class InPlaceAfter(nn.Module):
    """timm's ``x += shortcut`` after a block ending in a layer scale of a permuted tensor (ConvNeXt),
    and a BatchNormAct's in-place activation of a non-contiguous input (MixNet)."""

    def __init__(self, form: str) -> None:
        super().__init__()
        self.form = form
        self.scale = nn.Parameter(torch.ones(4, 1, 1))
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        p = x.permute(0, 1, 3, 2)
        if self.form == "scale":
            y = self.scale * p
            y += x.transpose(2, 3)
            return y
        if self.form == "bn":
            return F.relu(self.bn(p), inplace=True)
        if self.form == "gate":  # timm's ECA/SE gate, then the residual and an in-place ReLU
            z = (self.scale * p) * x.mean((2, 3), keepdim=True).expand_as(p)
            z += p
            return F.relu(z, inplace=True).flatten(1)
        if self.form == "expanded_fresh":  # a fresh tensor, expanded: in place it overlaps
            return (self.scale * p)[:, :, :1].expand(-1, -1, 3, -1).relu_()
        return F.relu(p[:, :, :1].expand(-1, -1, 3, -1), inplace=True)


@PROPERTY
@given(SIZES, st.sampled_from([InPlaceAfter("scale"), InPlaceAfter("bn"), InPlaceAfter("gate")]))
def test_in_place_after_a_fresh_result_of_a_non_contiguous_input(s: dict[str, int], model: nn.Module) -> None:
    same_as_torch(model, ["N,4,H,W"], s)


@pytest.mark.parametrize("form", ["expanded_fresh", "expanded"])
def test_in_place_on_an_expanded_tensor_is_never_ok(form: str) -> None:
    # without the confirming run, so that the layout rules themselves must refuse it
    report, _ = analyse(InPlaceAfter(form), "N,4,H,W", confirm_run=False)
    assert report.status in ("unknown", "error"), report.format()
    text = report.format()
    assert "overlaps itself" in text or "share memory" in text, text
    with pytest.raises(RuntimeError):
        InPlaceAfter(form)(torch.randn(1, 4, 3, 3))


# ---- Swin's window attention and patch merging (torchvision swin_t / swin_v2_t) -------------------

class SwinBlock(nn.Module):
    """torchvision's ShiftedWindowAttention (v2: cosine attention with a logit scale and a bias
    table from an MLP), then its patch merging: ``(B, H, W, C)`` to ``(B, ceil(H/2), ceil(W/2), 2C)``."""

    def __init__(self, dim: int, heads: int, w: tuple[int, int], shift: tuple[int, int], v2: bool) -> None:
        super().__init__()
        self.heads, self.w, self.shift, self.v2 = heads, list(w), list(shift), v2
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.bias = RelativeBias(w, heads, v2)
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((heads, 1, 1))))
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        table = self.bias.cpb_mlp(self.bias.coords).view(-1, self.heads) if self.v2 else self.bias.table
        rel = _get_relative_position_bias(table, self.bias.relative_position_index, self.w)
        y = shifted_window_attention(x, self.qkv.weight, self.proj.weight, rel, self.w, self.heads, self.shift,
                                     qkv_bias=self.qkv.bias, proj_bias=self.proj.bias,
                                     logit_scale=self.logit_scale if self.v2 else None, training=self.training)
        return self.reduction(_patch_merging_pad(x + y))


SWIN = [SwinBlock(4, 2, (2, 2), (1, 1), False), SwinBlock(6, 3, (3, 2), (0, 0), False),
        SwinBlock(4, 1, (2, 3), (1, 1), True), SwinBlock(4, 2, (3, 3), (1, 2), True)]


@PROPERTY
@given(SIZES, st.sampled_from(SWIN), st.sampled_from([4, 6]))
def test_shifted_window_attention_and_patch_merging(s: dict[str, int], model: nn.Module, dim: int) -> None:
    same_as_torch(model, [f"N,H,W,{dim}"], s, ops=("window_attention", "take"))


def test_window_attention_needs_matching_weights() -> None:
    model = SwinBlock(6, 4, (2, 2), (0, 0), False)  # 6 channels, 4 heads: torch's reshape fails
    report, _ = analyse(model, "N,H,W,6")
    assert report.status == "error", report.format()
    assert "heads" in report.format()
    with pytest.raises(RuntimeError):
        model(torch.randn(1, 4, 4, 6))


# ---- weights computed from parameters (timm's ScaledStdConv2d, NFNet / NF-ResNet) -----------------

class ScaledStdConv(nn.Conv2d):
    """timm's weight standardisation: batch_norm over the reshaped weight, gain from a parameter."""

    def __init__(self, cin: int, cout: int, k: int, stride: int) -> None:
        super().__init__(cin, cout, k, stride=stride)
        self.gain = nn.Parameter(torch.ones(cout, 1, 1, 1))
        self.scale = self.weight[0].numel() ** -0.5

    def forward(self, x):
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                              weight=(self.gain * self.scale).view(-1), training=True, momentum=0.0,
                              eps=1e-6).reshape_as(self.weight)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


STD_CONVS = [nn.Sequential(ScaledStdConv(3, 4, 3, 1), ScaledStdConv(4, 2, 2, 2)), ScaledStdConv(3, 2, 1, 1)]


@PROPERTY
@given(SIZES, st.sampled_from(STD_CONVS))
def test_conv_with_a_weight_computed_from_parameters(s: dict[str, int], model: nn.Module) -> None:
    same_as_torch(model, ["N,C,H,W"], s, ops=("batch_norm", "conv2d"))


class InputWeight(nn.Module):
    def forward(self, x):
        return F.conv2d(x, x[:1, :, :2, :2])  # a weight of fixed rank whose sizes come from the input


def test_a_weight_computed_from_the_input_is_not_a_parameter() -> None:
    report, G = analyse(InputWeight(), "N,3,H,W")
    assert report.status == "unknown", report.format()
    assert "function of parameters" in " ".join(str(G.nodes[n]["op"].params.get("reason")) for n in
                                                report.unknown_nodes)


# ---- sizes in Python: arange(start, end), repeat by sizes, math.ceil, parts[-1], ~mask ------------

class SizeForms(nn.Module):
    """timm XCiT's positional encoding (``arange(1, H + 1)...repeat(1, 1, W)``), VOLO's
    ``math.ceil(H / stride)``, Res2Net's ``torch.split(x, width, 1)[-1]``, EdgeNeXt's ``~mask``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 7, 1)

    def forward(self, x):
        B, C, H, W = x.shape
        y = torch.arange(1, H + 1).to(torch.float32).unsqueeze(1).repeat(1, 1, W)
        z = torch.arange(1, W + 1).to(torch.float32).repeat(B, H, 1)
        evens = torch.arange(0, C, 2)
        steps = torch.arange(start=H, end=2 * W + 1, step=3)
        h = x.new_zeros(math.ceil(H / 3), math.floor(W / 2) + 1)
        c = self.conv(x)
        last = torch.split(c, 3, 1)[-1] + c.chunk(4, 1)[-1][:, :1] + c.unbind(1)[-2].unsqueeze(1)
        return x + y.unsqueeze(1) + z.unsqueeze(1), evens, steps, h, ~(last > 0)


@PROPERTY
@given(SIZES)
def test_size_forms(s: dict[str, int]) -> None:
    same_as_torch(SIZE_FORMS, ["N,C,H,W"], s, ops=("sized_repeat", "create"))


SIZE_FORMS = SizeForms()


class WrittenIndex(nn.Module):
    """An index buffer that forward changes before it is used: its stored values are not the ones read."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("index", torch.tensor([0, 1]))

    def forward(self, x):
        self.index.view(-1).add_(x.size(0) - 1)  # traced: it depends on a size
        return x[:, self.index]


def test_an_index_buffer_written_in_forward_is_not_read() -> None:
    report, G = analyse(WrittenIndex(), "N,C,H,W", confirm_run=False)
    assert report.status == "unknown", report.format()
