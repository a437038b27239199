"""The lowering rules that real model zoos need, each checked against torch on CPU tensors.

For every pattern below arts checks the module once, for all sizes; hypothesis then draws sizes,
torch runs the module on real (CPU) tensors, and the two must agree: accepted together with equal
output shapes, or rejected together.  (CPU, not meta: meta kernels accept some calls that CPU
torch rejects; arts sizes are positive, so an empty output counts as a rejection.)
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
TORCH_ORACLE_COVERS = {"batch_norm", "bmm", "create", "einsum", "embedding", "sized_expand", "grid_sample", "mm",
                       "multihead_attention", "prelu", "recurrent", "repeat", "repeat_interleave",
                       "scaled_dot_product_attention",
                       "transformer_encoder", "unbind_part", "unfold", "size_assert", "fold", "unfold_dim"}

_CACHE: dict[int, Any] = {}


def _cpu(model: nn.Module, shapes: list[tuple[int, ...]], long_inputs: bool) -> list[tuple[int, ...]] | None:
    def make(s: tuple[int, ...]) -> Any:
        return torch.randint(0, 3, s) if long_inputs else torch.randn(*s)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad():
                y = model(*[make(s) for s in shapes])
        except (RuntimeError, ValueError, IndexError, AssertionError):
            return None
    flat: list[Any] = []

    def walk(v: Any) -> None:
        if isinstance(v, torch.Tensor):
            flat.append(tuple(v.shape))
        elif isinstance(v, (tuple, list)):
            for x in v:
                walk(x)

    walk(y)
    return None if any(0 in s for s in flat) else flat


def same_as_torch(model: nn.Module, shapes: list[str], sizes: dict[str, int], ops: tuple[str, ...] = (),
                  long_inputs: bool = False) -> None:
    """arts's verdict and output shapes at ``sizes`` equal what CPU torch does."""
    key = id(model)
    if key not in _CACHE:
        model.eval()
        report, G = analyse(model, *shapes)
        assert report.status != "unknown", report.format()
        used = {d["op"].name for _, d in G.nodes(data=True) if d.get("op") is not None}
        assert set(ops) <= used, (ops, used)
        _CACHE[key] = (report, G)
    report, G = _CACHE[key]
    full = {s.name: sizes[s.name] for s in report.symbols}
    concrete = [report.shape_at(name, **full) for name in G.graph["inputs"]]
    ours = report.accepts(**full)
    theirs = _cpu(model, concrete, long_inputs)
    assert ours == (theirs is not None), (full, ours, theirs, report.format())
    if ours:
        mine = [report.shape_at(o, **full) for o in G.graph["outputs"]]
        assert mine == theirs, (full, mine, theirs)


SIZE = st.integers(1, 9)
SIZES = st.fixed_dictionaries({"N": st.integers(1, 3), "C": SIZE, "H": SIZE, "W": SIZE, "L": SIZE, "E": SIZE})
PROPERTY = settings(max_examples=40, deadline=None, derandomize=True)


class BatchNormAct(nn.BatchNorm2d):
    """timm's BatchNormAct2d: F.batch_norm on the module's own buffers, then an activation."""

    def forward(self, x):
        bn_training = self.training or self.running_mean is None
        x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, bn_training,
                         self.momentum, self.eps)
        return F.relu(x)


class FunctionalBatchNorm(nn.Module):
    def __init__(self, training: bool) -> None:
        super().__init__()
        self.bn = BatchNormAct(4)
        self.training_flag = training
        self.register_buffer("mean", torch.zeros(4))
        self.register_buffer("var", torch.ones(4))

    def forward(self, x):
        y = self.bn(x)
        return F.batch_norm(x, self.mean, self.var, training=self.training_flag) + y


BN_EVAL, BN_TRAIN = FunctionalBatchNorm(False), FunctionalBatchNorm(True)


@PROPERTY
@given(SIZES, st.sampled_from([BN_EVAL, BN_TRAIN]))
def test_functional_batch_norm(s: dict[str, int], model: nn.Module) -> None:
    same_as_torch(model, ["N,C,H,W"], s, ops=("batch_norm",))


class DropPath(nn.Module):
    """timm's drop_path in training mode: a per-sample mask from x.new_empty(...)."""

    def forward(self, x):
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        random_tensor = x.new_empty(shape).bernoulli_(0.9)
        random_tensor.div_(0.9)
        keep = torch.zeros(1, 1, 1, 1) + torch.arange(3).view(3, 1, 1, 1)[:1]
        return x * random_tensor * keep


@PROPERTY
@given(SIZES)
def test_drop_path_masks(s: dict[str, int]) -> None:
    same_as_torch(_DROP, ["N,C,H,W"], s, ops=("create",))


_DROP = DropPath()


class ClassToken(nn.Module):
    """ViT: a class token expanded to the batch, concatenated, then sliced back."""

    def __init__(self) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, 6))
        self.pos = nn.Parameter(torch.zeros(1, 5, 6))

    def forward(self, x):
        tok = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((tok, x), dim=1) + self.pos
        return x[:, 0], x[:, 1:], x[..., :3], x.expand(2, -1, -1, -1)


_CLS = ClassToken()


@PROPERTY
@given(SIZES)
def test_class_token_expand_and_slices(s: dict[str, int]) -> None:
    same_as_torch(_CLS, ["N,L,E"], s, ops=("sized_expand", "expand", "index"))


class Unbind(nn.Module):
    def forward(self, x):
        q, k, v = x.unbind(1)
        a = x.unbind(0)[0]
        return q @ k.transpose(-2, -1) @ v, a


_UNBIND = Unbind()


@PROPERTY
@given(SIZES)
def test_unbind_into_names(s: dict[str, int]) -> None:
    same_as_torch(_UNBIND, ["N,C,H,W"], s, ops=("unbind_part", "matmul"))


class Products(nn.Module):
    def forward(self, a, b):
        return torch.bmm(a, b), a.bmm(b).sum(0).mm(b[0].t()), torch.einsum("nij,njk->nik", a, b), \
            torch.einsum("...ij,...jk", a, b), torch.addcmul(a, a, a, value=0.5)


_PRODUCTS = Products()


@PROPERTY
@given(SIZES)
def test_products(s: dict[str, int]) -> None:
    same_as_torch(_PRODUCTS, ["N,H,W", "C,L,E"], s, ops=("bmm", "mm", "einsum"))


class Attention(nn.Module):
    def forward(self, q, k, v):
        return F.scaled_dot_product_attention(q, k, v)


_SDPA = Attention()


@PROPERTY
@given(SIZES)
def test_scaled_dot_product_attention(s: dict[str, int]) -> None:
    same_as_torch(_SDPA, ["N,C,L,E", "C,H,E", "N,1,H,W"], s, ops=("scaled_dot_product_attention",))


class MHA(nn.Module):
    def __init__(self, batch_first: bool) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=batch_first, kdim=5)

    def forward(self, q, k):
        out, w = self.attn(q, k, k[..., :1].expand(-1, -1, 8))
        return out, w


_MHA = {True: MHA(True), False: MHA(False)}


@PROPERTY
@given(SIZES, st.booleans(), st.sampled_from([8, 4]), st.sampled_from([5, 3]))
def test_multihead_attention(s: dict[str, int], bf: bool, e: int, kd: int) -> None:
    model = _MHA[bf]
    s = {**s, "E": e, "C": kd}
    same_as_torch(model, ["N,L,E", "N,H,C"], s, ops=("multihead_attention",))


class Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.one = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)

    def forward(self, x):
        return self.one(self.enc(x))


_ENC = Encoder()


@PROPERTY
@given(SIZES, st.sampled_from([8, 6]))
def test_transformer_encoder(s: dict[str, int], e: int) -> None:
    same_as_torch(_ENC, ["N,L,E"], {**s, "E": e}, ops=("transformer_encoder",))


class Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(6, 5, num_layers=2, bidirectional=True, batch_first=True)
        self.gru = nn.GRU(10, 3)

    def forward(self, x):
        y, (h, c) = self.lstm(x)
        z, g = self.gru(y)
        return z, g, h, c


_RNN = Recurrent()


@PROPERTY
@given(SIZES, st.sampled_from([6, 4]))
def test_lstm_and_gru(s: dict[str, int], e: int) -> None:
    same_as_torch(_RNN, ["N,L,E"], {**s, "E": e}, ops=("recurrent",))


class Embed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(5, 4)
        self.act = nn.PReLU(4)

    def forward(self, idx):
        return self.act(self.emb(idx).transpose(1, 2)).repeat(2, 1, 1, 2)


_EMB = Embed()


@PROPERTY
@given(SIZES)
def test_embedding_prelu_repeat(s: dict[str, int]) -> None:
    same_as_torch(_EMB, ["N,L"], s, ops=("embedding", "prelu", "repeat"), long_inputs=True)


class Sampling(nn.Module):
    def forward(self, x, grid):
        return F.unfold(x, 3, stride=2, padding=1), F.grid_sample(x, grid, align_corners=False)


_SAMPLING = Sampling()


@PROPERTY
@given(SIZES)
def test_unfold_and_grid_sample(s: dict[str, int]) -> None:
    same_as_torch(_SAMPLING, ["N,C,H,W", "N,L,E,2"], s, ops=("unfold", "grid_sample"))


class FoldBack(nn.Module):
    """timm VOLO: the input's blocks (``F.unfold``) folded back to its own ``H, W``."""

    def __init__(self, **kw: Any) -> None:
        super().__init__()
        self.kw = kw

    def forward(self, x):
        H, W = x.shape[-2:]
        return F.fold(F.unfold(x, **self.kw), output_size=(H, W), **self.kw)


class FoldFree(FoldBack):
    """``F.fold`` of a free input (batched or not) to a size read from another tensor."""

    def forward(self, x, y):
        return F.fold(y, output_size=(x.shape[2], x.shape[3]), **self.kw)


_FOLD_PARAMS = [dict(kernel_size=2), dict(kernel_size=(3, 2), dilation=(1, 2), padding=(1, 0), stride=(2, 1)),
                dict(kernel_size=3, padding=1, stride=2)]
_FOLDS = [FoldBack(**kw) for kw in _FOLD_PARAMS]
_FREE_FOLDS = [FoldFree(**kw) for kw in _FOLD_PARAMS]
_UNBATCHED_FOLDS = [FoldFree(**kw) for kw in _FOLD_PARAMS]


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else v


@PROPERTY
@given(SIZES, st.integers(0, 2), st.booleans(), st.booleans())
def test_fold(s: dict[str, int], k: int, batched: bool, consistent: bool) -> None:
    """Torch's col2im checks: channels divisible by the kernel area, the block count equal to the
    sliding blocks of the output size; drawn both consistent (accepted) and free (mostly not)."""
    same_as_torch(_FOLDS[k], ["N,C,H,W"], s, ops=("unfold", "fold"))
    kw = _FOLD_PARAMS[k]
    (kh, kw_), (dh, dw) = _pair(kw["kernel_size"]), _pair(kw.get("dilation", 1))
    (ph, pw), (sh, sw) = _pair(kw.get("padding", 0)), _pair(kw.get("stride", 1))
    if consistent:
        bh = (s["H"] + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        bw = (s["W"] + 2 * pw - dw * (kw_ - 1) - 1) // sw + 1
        s = {**s, "L": s["C"] * kh * kw_, "E": bh * bw if bh * bw > 0 else s["E"]}
    same_as_torch(_FREE_FOLDS[k] if batched else _UNBATCHED_FOLDS[k], ["N,C,H,W", "N,L,E" if batched else "L,E"], s,
                  ops=("fold",))



class TensorWindows(nn.Module):
    """timm HaloNet: overlapping windows of two dimensions with ``Tensor.unfold``, then a reshape."""

    def forward(self, x):
        kv = F.pad(x, [1, 1, 1, 1]).unfold(2, 4, 2).unfold(3, 4, 2)
        return kv.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1), x.unfold(-1, 1, 3), x.unfold(0, 1, 1)


class WindowView(nn.Module):
    """``view`` of the windows: legal only where their strides merge (``W`` even, or ``H == 1``)."""

    def forward(self, x):
        y = x.unfold(-1, 2, 2)
        y.add_(1)  # overlapping or not, an unfold view is written in place without error
        return y.view(x.shape[0], x.shape[1], -1)


_TENSOR_WINDOWS = [TensorWindows(), WindowView()]


@PROPERTY
@given(SIZES, st.sampled_from([0, 1]))
def test_tensor_unfold(s: dict[str, int], k: int) -> None:
    same_as_torch(_TENSOR_WINDOWS[k], ["N,C,H,W"], s, ops=("unfold_dim",))


class Eye(nn.Module):
    def __init__(self, square: bool) -> None:
        super().__init__()
        self.square = square

    def forward(self, x):
        if self.square:  # (W, W) against (N, C, H, W): H must be W or 1 (timm BAT's ``x * torch.eye(t, t)``)
            return x * torch.eye(x.shape[3], dtype=x.dtype)
        return x * torch.eye(x.shape[2], x.shape[3], dtype=x.dtype), torch.eye(3, 2, dtype=x.dtype)


class NewTensor(nn.Module):
    """diffusers' ``torch.tensor([timesteps])``: a tensor of Python numbers, broadcast against the input."""

    def forward(self, x):
        t = torch.tensor([10], dtype=torch.long, device=x.device) * torch.ones(x.shape[0], device=x.device)
        return x + torch.tensor([[0.5, 1.5]], device=x.device), t, torch.tensor(2.0, device=x.device) * x, \
            torch.tensor(x.shape, device=x.device)


class Norms(nn.Module):
    """ConvNeXt-V2's global response norm (``torch.linalg.vector_norm`` over H, W) and other norms."""

    def forward(self, x):
        g = torch.linalg.vector_norm(x, ord=2, dim=(1, 2), keepdim=True)
        n = g / (g.mean(dim=-1, keepdim=True) + 1e-6)
        return x * n, torch.linalg.vector_norm(x, dim=-1), torch.linalg.vector_norm(x, 1.0), \
            torch.linalg.vector_norm(x, float("inf"), dim=[0, 3])


class SizeProducts(nn.Module):
    """Hugging Face Hiera's ``math.prod`` over sizes."""

    def forward(self, x):
        return x.reshape(x.shape[0], math.prod(x.shape[1:])), x.view(-1, math.prod([2, x.shape[3]]))


class AntialiasedResize(nn.Module):
    """timm's position-embedding resampling: bicubic with antialias to sizes read from the input."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def forward(self, x):
        return F.interpolate(x, size=(x.shape[2] // 2 + 1, x.shape[3] // 3), mode=self.mode, antialias=True,
                             align_corners=False)


class ResizeMat(nn.Module):
    """timm BAT's ``resize_mat``: a product with ``torch.eye(t, t)``, then every part of a split (and
    of a chunk, an unbind) of a dimension of known size passed whole to ``cat`` / ``stack``."""

    def forward(self, x):
        B, C, H, W = x.shape
        y = (x.reshape(B * C, -1, 1, 1) * torch.eye(2, 2, dtype=x.dtype, device=x.device)).view(B * C, H, W, 2, 2)
        y = torch.cat(torch.split(y, 1, dim=3), dim=1)
        return torch.cat(torch.chunk(y, 2, dim=-1), 2), torch.stack(y.unbind(-1), 0)


_MADE = [Eye(True), Eye(False), NewTensor(), Norms(), SizeProducts(), AntialiasedResize("bicubic"),
         AntialiasedResize("bilinear"), ResizeMat()]
_MADE_OPS = [("create",), ("create",), ("create",), ("reduce",), ("sized_reshape", "sized_view"),
             ("sized_interpolate",), ("sized_interpolate",), ("split_part", "chunk_part", "unbind_part", "stack")]


@PROPERTY
@given(SIZES, st.integers(0, len(_MADE) - 1))
def test_eye_tensor_norms_products_antialias_and_all_parts(s: dict[str, int], k: int) -> None:
    same_as_torch(_MADE[k], ["N,C,H,W"], s, ops=_MADE_OPS[k])


class Windows(nn.Module):
    """Swin: shift with torch.roll, window partition and merge through view/permute chains,
    layer norm over the last dimension of a channels-last tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4)

    def forward(self, x):
        B, H, W, C = x.shape
        x = self.norm(torch.roll(x, shifts=(-1, -1), dims=(1, 2)))
        w = x.view(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, 2, 2, C)
        return w.view(B, H // 2, W // 2, 2, 2, -1).permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, -1)


_WIN = Windows()


@PROPERTY
@given(SIZES, st.sampled_from([4, 3]))
def test_window_partition_and_merge(s: dict[str, int], c: int) -> None:
    same_as_torch(_WIN, ["N,H,W,C"], {**s, "C": c}, ops=("layer_norm",))


class PatchEmbed(nn.Module):
    """timm's fixed-size patch embedding: the model's own asserts fix H and W."""

    def __init__(self) -> None:
        super().__init__()
        self.img_size = (8, 6)
        self.proj = nn.Conv2d(3, 4, 2, 2)

    def forward(self, x):
        B, C, H, W = x.shape
        torch._assert(H == self.img_size[0], f"Input height ({H}) doesn't match model ({self.img_size[0]}).")
        torch._assert(W % 2 == 0, "even width")
        return self.proj(x).flatten(2).transpose(1, 2)


_PATCH = PatchEmbed()


@PROPERTY
@given(SIZES, st.integers(6, 10))
def test_size_asserts_are_conditions_of_the_domain(s: dict[str, int], h: int) -> None:
    same_as_torch(_PATCH, ["N,3,H,W"], {**s, "H": h}, ops=("size_assert",))


def test_failing_assert_is_reported_at_its_line_with_a_counterexample() -> None:
    report, _ = analyse(_PATCH, "N,3,H,W")
    assert report.status == "error"
    errs = [d for d in report.diagnostics if d.severity == "error"]
    assert {d.code for d in errs} == {"assert-failed"}
    height = next(d for d in errs if "height" in d.message)
    assert "Input height (H) doesn't match model (8)" in height.message
    assert height.source is not None and "torch._assert(H == self.img_size[0]" in height.source
    assert height.line is not None and height.counterexample and height.counterexample["H"] != 8
    assert report.accepts(N=1, H=8, W=6) and not report.accepts(N=1, H=9, W=6)


class NeverHolds(nn.Module):
    def forward(self, x):
        torch._assert(x.ndim == 3, "expected a 3-d input")
        return x.relu()


def test_assert_that_can_never_hold_is_one_error() -> None:
    report, _ = analyse(NeverHolds(), "N,C,H,W")
    errs = [d for d in report.diagnostics if d.severity == "error"]
    assert report.status == "error" and len(errs) == 1 and errs[0].code == "assert-failed"
    assert "expected a 3-d input" in errs[0].message


class ValueAssert(nn.Module):
    def forward(self, x):
        torch._assert((x > 0).all(), "positive")
        return x


def test_assert_on_values_is_unknown_not_ok() -> None:
    report, _ = analyse(ValueAssert(), "N,C")
    assert report.status == "unknown"


class LstmFirst(nn.Module):
    def __init__(self, batch_first: bool) -> None:
        super().__init__()
        self.rnn = nn.LSTM(12, 7, batch_first=batch_first)
        self.head = nn.Linear(7, 3)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y)


class EmbeddingFirst(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(100, 8)
        self.enc = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)

    def forward(self, idx):
        return self.enc(self.emb(idx))


class UntraceableSequence(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(5, 4, batch_first=True)
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        if x.sum() > 0:
            return self.gru(x)[0]
        return x


@pytest.mark.parametrize("model, shape", [
    (LstmFirst(True), "N,L,12"), (LstmFirst(False), "L,N,12"), (EmbeddingFirst(), "N,L"),
    (UntraceableSequence(), "N,L,5"),
])
def test_sequence_models_get_sequence_inputs(model: nn.Module, shape: str) -> None:
    report, G = analyse(model)
    notes = [d for d in report.diagnostics if d.code == "assumed-input"]
    assert len(notes) == 1 and f"{shape} (from self." in notes[0].message, notes
    assert "H" not in notes[0].message.split("(from")[0], notes[0].message
    if not isinstance(model, UntraceableSequence):
        assert report.status == "ok", report.format()


class SkipUp(nn.Module):
    """MONAI BasicUNet's UpCat: the skip is concatenated only if it is a tensor, which a proxy is
    not, so torch.fx silently traces the branch without the cat."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(8, 4, 2, 2)
        self.conv = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, x, x_e=None):
        x0 = self.up(x)
        if x_e is not None and torch.jit.isinstance(x_e, torch.Tensor):
            x = self.conv(torch.cat([x_e, x0], dim=1))
        else:
            x = self.conv(x0)
        return x


class SkipNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.down = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.up = SkipUp()

    def forward(self, x):
        s = self.stem(x)
        return self.up(self.down(s), s)


def test_a_skip_behind_torch_jit_isinstance_is_checked_as_the_real_run() -> None:
    """MONAI's UpCat pattern: under plain fx ``torch.jit.isinstance(proxy, Tensor)`` is False, so
    the plain trace drops the skip ``cat`` (the confirming run finds it is not the model); the trace
    through branches answers isinstance as the real run does, and the ``cat`` is checked: sizes
    whose halving is exact, every answer torch's."""
    import torch

    report, _ = analyse(SkipNet(), "N,3,H,W")
    assert report.status == "error", report.format()
    model = SkipNet().eval()
    for h, w in ((1, 1), (2, 2), (3, 4), (4, 4), (6, 5), (8, 10), (9, 9)):
        try:
            with torch.no_grad():
                model(torch.zeros(1, 3, h, w))
            runs = True
        except RuntimeError:
            runs = False
        assert report.accepts(N=1, H=h, W=w) == runs, (h, w)


def test_monai_basic_unet_is_not_a_false_alarm() -> None:
    import monai.networks.nets as nets  # a test dependency (pyproject: test extra)
    model = nets.BasicUNet(spatial_dims=2, in_channels=1, out_channels=2, features=(4, 4, 8, 8, 16, 4))
    import torch

    report, _ = analyse(model.eval(), "N,1,H,W")
    # traced through its branches (UpCat's isinstance answered as the real run does); UpCat's
    # ``if x_e.shape[-i - 1] != x_0.shape[-i - 1]: sp[i * 2 + 1] = 1`` is a conditional store,
    # joined into one pad amount, so no branch is left: exact at every size, odd ones included
    assert not report.region and report.status == "error", report.format()
    w = next(d for d in report.diagnostics if d.code == "captured-region")
    assert "every branch goes the traced way" in w.message
    for h, w_ in ((1, 1), (8, 8), (16, 16), (16, 32), (32, 48), (24, 24), (17, 16), (33, 17), (37, 45)):
        try:
            with torch.no_grad():
                model(torch.zeros(1, 1, h, w_))
            runs = True
        except (RuntimeError, ValueError):  # instance norm of one element raises ValueError
            runs = False
        assert report.accepts(N=1, H=h, W=w_) == runs, (h, w_)


class Fn(nn.Module):
    def __init__(self, fn: Any) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, a, b=None):
        return self.fn(a) if b is None else self.fn(a, b)


@pytest.mark.parametrize("fn, shapes", [
    (lambda a: F.interpolate(a, size=(a.shape[2] * 2, a.shape[3]), mode="nearest", align_corners=True), ["N,C,H,W"]),
    (lambda a: F.interpolate(a, size=a.shape[2] * 2, mode="linear", antialias=True), ["N,C,L"]),
    (lambda a: F.interpolate(a, size=(a.shape[2], 2), mode="bilinear", recompute_scale_factor=True), ["N,C,H,W"]),
    (lambda a: a.unfold(1, 2, 0), ["N,L"]),
    (lambda a: a.unfold(1, 0, 1), ["N,L"]),
    (lambda a: torch.eye(a.shape[0] - a.shape[0], dtype=a.dtype), ["N,L"]),
    (lambda a, b: torch.einsum("ij,jk->ii", a, b), ["H,W", "W,L"]),
    (lambda a, g: F.grid_sample(a, g, mode="bicubic", align_corners=False), ["N,C,H,W,L", "N,H,W,L,3"]),
    (lambda a: torch.einsum("ii->i", a), ["H,W"]),
    (lambda a, b: torch.einsum("...ij,...jk->ik", a, b), ["N,H,W", "N,W,L"]),
])
def test_calls_torch_always_rejects_are_never_ok(fn: Any, shapes: list[str]) -> None:
    model = Fn(fn)
    report, _ = analyse(model, *shapes)
    assert report.status in ("error", "unknown"), report.format()
    sizes = [tuple(3 if d not in "0123456789" else int(d) for d in s.split(",")) for s in shapes]
    if report.status == "error":
        assert _cpu(model, sizes, False) is None


class RepeatInterleave(nn.Module):
    """timm GCViT's ``q_global.repeat_interleave(B // q_global.shape[0], dim=0)``, the flattening form,
    a negative dim and the ``output_size`` hint."""

    def __init__(self, repeats: int) -> None:
        super().__init__()
        self.repeats = repeats
        self.register_buffer("one", torch.tensor(2))

    def forward(self, x, q):
        r = self.repeats
        return (x.repeat_interleave(r, 1), torch.repeat_interleave(x, r), q.repeat_interleave(x.shape[0] // q.shape[0],
                dim=0), torch.repeat_interleave(x, self.one, dim=-2),
                x.repeat_interleave(r, dim=2, output_size=x.shape[2] * r))


class InterleaveCounts(nn.Module):
    """Per-element repeats read from a buffer: the indexed dimension must have one per element."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("counts", torch.tensor([1, 0, 2]))

    def forward(self, x, y):
        return x.repeat_interleave(self.counts, dim=-1), y.repeat_interleave(self.counts), x.repeat_interleave(
            self.counts[:1] + 1, dim=1, output_size=4)


_INTERLEAVE = {r: RepeatInterleave(r) for r in (0, 1, 3)}
_COUNTS = InterleaveCounts()
INTERLEAVE_SIZES = st.fixed_dictionaries({"N": st.integers(1, 6), "C": st.sampled_from([2, 3]), "H": SIZE,
                                          "L": st.integers(1, 3)})


@PROPERTY
@given(INTERLEAVE_SIZES, st.sampled_from([0, 1, 3]))
def test_repeat_interleave(s: dict[str, int], r: int) -> None:
    if r == 0:  # every result empty: arts rejects the model for every size, as torch gives empty tensors
        report, _ = analyse(_INTERLEAVE[0], "N,C,H", "L,H")
        assert report.status == "error" and not report.accepts(**s)
        assert _cpu(_INTERLEAVE[0], [(s["N"], s["C"], s["H"]), (s["L"], s["H"])], False) is None
        return
    same_as_torch(_INTERLEAVE[r], ["N,C,H", "L,H"], s, ops=("repeat_interleave",))


@PROPERTY
@given(INTERLEAVE_SIZES, st.sampled_from([3, 3, 2, 4]), st.sampled_from([3, 3, 1, 6]))
def test_repeat_interleave_by_a_buffer(s: dict[str, int], h: int, length: int) -> None:
    same_as_torch(_COUNTS, ["N,C,H", "L"], {**s, "H": h, "L": length}, ops=("repeat_interleave",))


class InterleaveByInput(nn.Module):
    def forward(self, x, r):
        return x.repeat_interleave(r, dim=0)


def test_repeat_interleave_by_the_input_is_unknown() -> None:
    report, _ = analyse(InterleaveByInput(), "N,C", "N")
    assert report.status == "unknown"
    assert any("tensor of repeats whose values arts cannot read" in d.message for d in report.diagnostics)



def rel_pos_index(q: Any, k: Any) -> Any:
    """timm SAM's ``get_rel_pos`` index: ``(q, k)`` relative offsets, shifted to be non-negative."""
    q_coords = torch.arange(q, dtype=torch.float32)[:, None] * max(k / q, 1.0)
    k_coords = torch.arange(k, dtype=torch.float32)[None, :] * max(q / k, 1.0)
    return ((q_coords - k_coords) + (k - 1) * max(q / k, 1.0)).long()


class StaticRelPos(nn.Module):
    """SAM's relative positions on windows: the window's size (4, static after the view) indexes
    a table through ``torch.arange`` arithmetic."""

    def __init__(self) -> None:
        super().__init__()
        self.rel_pos = nn.Parameter(torch.randn(7, 3))

    def forward(self, x):
        w = x.view(-1, 4, 4, x.shape[-1])
        return w + self.rel_pos[rel_pos_index(w.shape[1], w.shape[2])].sum(-1, keepdim=True)


class RelPosBySize(nn.Module):
    """The same index from the input's own size: its values change with the size, so it stays
    unknown (a value read at the example size would hold there only)."""

    def __init__(self) -> None:
        super().__init__()
        self.rel_pos = nn.Parameter(torch.randn(1000, 3))

    def forward(self, x):
        return x + self.rel_pos[rel_pos_index(x.shape[1], x.shape[1])].sum(-1)[:, :1]


_STATIC_REL = StaticRelPos()


@PROPERTY
@given(SIZES, st.sampled_from([4, 8, 16, 5]))
def test_rel_pos_index_from_static_sizes(s: dict[str, int], h: int) -> None:
    same_as_torch(_STATIC_REL, ["N,H,E"], {**s, "H": h}, ops=("take",))


def test_rel_pos_index_from_the_input_size_is_unknown() -> None:
    report, _ = analyse(RelPosBySize(), "N,H,E")
    assert report.unknown_nodes and report.status != "ok"
    assert any("advanced indexing by a tensor whose values arts cannot read" in d.message for d in report.diagnostics)


class HaloBlocks(nn.Module):
    """timm's HaloNet blocking: asserts on a strided size, then reshapes whose ``-1`` is a quotient
    of sizes that only cancels on the sizes the asserts allow."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, stride=4, padding=1)

    def forward(self, x):
        x = self.conv(x)
        B, C, H, W = x.shape
        torch._assert(H % 4 == 0, "height must be a multiple of the block size")
        torch._assert(W % 4 == 0, "width must be a multiple of the block size")
        nh, nw = H // 4, W // 4
        x = x.reshape(-1, C, nh, 4, nw, 4).permute(0, 2, 4, 1, 3, 5)
        x = x.reshape(-1, nh * nw, C * 16)
        return x.reshape(B * nh, nw, -1)


_HALO = HaloBlocks()


@PROPERTY
@given(SIZES, st.integers(1, 40), st.integers(1, 40))
def test_block_reshapes_after_asserts(s: dict[str, int], h: int, w: int) -> None:
    same_as_torch(_HALO, ["N,2,H,W"], {**s, "H": h, "W": w}, ops=("size_assert",))


def test_a_block_count_quotient_cancels_on_the_asserted_sizes() -> None:
    from arts.solver.regroup import has_symbolic_quotient

    report, G = analyse(_HALO, "N,2,H,W")
    (out,) = G.graph["outputs"]
    last = report.shapes[out][-1]
    assert last == 48 and not any(has_symbolic_quotient(e) for e in report.shapes[out]), report.shapes[out]


class PaddedWindows(nn.Module):
    """TinyViT's attention windows: pad to a multiple of the window, partition, merge back through
    a reshape that copies for most sizes and is a view for some, crop, then ``view``."""

    def forward(self, x):
        B, H, W, C = x.shape
        ph, pw = (3 - H % 3) % 3, (3 - W % 3) % 3
        x = F.pad(x, (0, 0, 0, pw, 0, ph))
        Hp, Wp = H + ph, W + pw
        x = x.view(B, Hp // 3, 3, Wp // 3, 3, C).transpose(2, 3).reshape(-1, 9, C)
        x = x.view(B, Hp // 3, Wp // 3, 3, 3, C).transpose(2, 3).reshape(B, Hp, Wp, C)
        x = x[:, :H, :W].contiguous()
        return x.view(B, H * W, C)


_PADDED = PaddedWindows()


@PROPERTY
@given(SIZES)
def test_padded_windows_merged_by_a_reshape_that_may_copy(s: dict[str, int]) -> None:
    same_as_torch(_PADDED, ["N,H,W,C"], s)
