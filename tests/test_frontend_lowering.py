"""Lowering of individual PyTorch patterns, each checked against torch on meta tensors.

Every module below is checked by arts for all sizes at once; then for each size of a grid torch
runs it on meta tensors, and the two must agree: accepted together (with equal output shapes)
or rejected together.  (arts sizes are positive, so where torch returns an *empty* tensor -- a
slice past the end -- arts reports an error; the oracle below counts empty outputs as rejections.)
"""

from __future__ import annotations

import copy
import operator
import warnings
from typing import Any

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from arts.frontends.torch_fx import analyse, check_module

# The front-end ops (arts/ops/frontend_ops.py) are each checked against torch here; each test
# asserts its op appears in the lowered graph.  ``unsupported`` has no torch counterpart: its rule
# only raises Unsupported (the unknown verdict is tested in test_frontend_errors.py).
TORCH_ORACLE_COVERS = {"sized_view", "sized_reshape", "sized_pad", "sized_interpolate", "broadcast_op", "index",
                       "sized_adaptive_avg_pool1d", "sized_adaptive_avg_pool2d", "sized_adaptive_avg_pool3d",
                       "sized_adaptive_max_pool1d", "sized_adaptive_max_pool2d", "sized_adaptive_max_pool3d",
                       "sized_split_part",
                       "reduce", "chunk_part", "split_part", "expand_as", "matmul", "constant", "pointwise",
                       "unsupported"}


def _run(model: Any, shapes: list[tuple[int, ...]], device: str = "meta") -> list[tuple[int, ...]] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad():
                y = model(*[torch.empty(*s, device=device) if device == "meta" else torch.zeros(*s) for s in shapes])
        except (RuntimeError, ValueError, IndexError):
            return None
    ys = y if isinstance(y, (tuple, list)) else list(y.values()) if isinstance(y, dict) else [y]
    shapes = [tuple(t.shape) for t in ys if isinstance(t, torch.Tensor)]
    # arts sizes are positive: an empty result (a slice past the end) counts as a rejection
    return None if any(0 in s for s in shapes) else shapes


def agree(module: nn.Module, shapes: list[str], grid: list[dict[str, int]], where: str | None = None,
          ops: tuple[str, ...] = ()) -> Any:
    """Check ``module`` symbolically, then compare with torch at every point of ``grid``;
    ``ops`` must all appear in the lowered graph."""
    report, G = analyse(module, *shapes, where=where)
    assert report.status != "unknown", report.format()
    used = {d["op"].name for _, d in G.nodes(data=True) if d.get("op") is not None}
    assert set(ops) <= used, (ops, used)
    meta = copy.deepcopy(module).eval().to("meta")
    outs = G.graph["outputs"]
    bad = []
    for pt in grid:
        full = {s.name: pt[s.name] for s in report.symbols}
        concrete = [report.shape_at(name, **full) for name in G.graph["inputs"]]
        ours = report.accepts(**full)
        got = _run(meta, concrete)
        if ours != (got is not None) or (ours and [report.shape_at(o, **full) for o in outs] != got):
            got = _run(module.eval(), concrete, "cpu")  # meta kernels are laxer than CPU: CPU decides
        if ours != (got is not None):
            bad.append((pt, ours, got))
        elif ours:
            mine = [report.shape_at(o, **full) for o in outs]
            if mine != got:
                bad.append((pt, mine, got))
    assert not bad, (report.format(), bad[:5])
    return report


GRID = [{"N": 1 + (h + w) % 2, "H": h, "W": w} for h in range(1, 19) for w in (h, h + 1, 2 * h + 3)]


class ViewFlatten(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2)

    def forward(self, x):
        y = self.conv(x)
        return y.view(y.size(0), -1), torch.flatten(y), y.flatten(1), y.reshape(-1, 4, y.shape[2] * y.shape[3])


def test_view_and_flatten() -> None:
    r = agree(ViewFlatten(), ["N,3,H,W"], GRID, ops=("sized_view", "sized_reshape", "flatten"))
    shapes = {k: [str(s) for s in v] for k, v in r.shapes.items()}
    # torch.flatten defaults to start_dim=0 (all of it); Tensor.flatten(1) keeps the batch
    assert shapes["flatten"] == ["4*N*(floor(H/2 - 3/2) + 1)*(floor(W/2 - 3/2) + 1)"]
    assert shapes["flatten_1"] == ["N", "4*(floor(H/2 - 3/2) + 1)*(floor(W/2 - 3/2) + 1)"]
    assert shapes["view"] == shapes["flatten_1"]


class PadToMatch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 4, 3, stride=3, padding=1)
        self.up = nn.ConvTranspose2d(4, 4, 3, stride=3)

    def forward(self, x):
        y = self.up(self.down(x))
        dy, dx = x.size(2) - y.size(2), x.size(3) - y.size(3)
        y = F.pad(y, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return torch.cat([x, y], dim=1)


def test_pad_with_size_expressions_crops_and_pads() -> None:
    # here the upsampled tensor is sometimes larger (negative pads crop) and sometimes smaller
    agree(PadToMatch(), ["N,3,H,W"], GRID, ops=("sized_pad",))


class Resize(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")

    def forward(self, x):
        a = self.up(self.pool(x))
        b = F.interpolate(self.pool(x), size=x.shape[2:], mode="bilinear", align_corners=False)
        c = F.interpolate(x, scale_factor=0.5)
        return torch.cat([x, b], 1), a + x, c


def test_resizing() -> None:
    agree(Resize(), ["N,3,H,W"], GRID, ops=("sized_interpolate", "upsample", "interpolate"))


class AdaptiveToComputedSizes(nn.Module):
    """Adaptive pools to output sizes computed from the input's (timm's VGG: ``max(7, H)``)."""

    def forward(self, x):
        h, w = x.shape[2], x.shape[3]
        flat = x.flatten(2)
        cube = x.unsqueeze(2)
        return (F.adaptive_avg_pool2d(x, (h // 2 + 1, None)), F.adaptive_max_pool2d(x, (3, w - 1)),
                F.adaptive_avg_pool2d(x, h * 2), F.adaptive_avg_pool1d(flat, h + w),
                F.adaptive_max_pool1d(flat, w // 3), F.adaptive_avg_pool3d(cube, (1, h // 2 + 1, 2)),
                F.adaptive_max_pool3d(cube, (None, w - 2, h)))


def test_adaptive_pools_to_computed_sizes() -> None:
    # w - 1, w // 3, w - 2 are 0 at some sizes: torch rejects an empty output there (and so does arts)
    agree(AdaptiveToComputedSizes(), ["N,3,H,W"], GRID,
          ops=tuple(f"sized_adaptive_{k}_pool{n}d" for k in ("avg", "max") for n in (1, 2, 3)))


class ReplicatePadToComputedSizes(nn.Module):
    """Replicate padding by amounts computed from sizes (MONAI's ``UpCat`` pads an odd size by one)."""

    def forward(self, x):
        return F.pad(x, [0, x.shape[3] % 2, x.shape[2] % 3, 0], "replicate")


def test_replicate_pad_to_computed_sizes() -> None:
    agree(ReplicatePadToComputedSizes(), ["N,3,H,W"], GRID, ops=("sized_pad",))


class SplitToComputedSizes(nn.Module):
    """HF CvT's class token: ``torch.split(x, [1, H * W], 1)`` of a sequence of 1 + H*W tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.cls = nn.Parameter(torch.zeros(1, 1, 3))

    def forward(self, x, y):
        n, c, h, w = x.shape
        seq = torch.cat([self.cls.expand(n, -1, -1), x.flatten(2).transpose(1, 2)], 1)
        token, rest = torch.split(seq, [1, h * w], 1)
        a, b = torch.split(y, [h, y.shape[2] - h], 2)  # y's own size minus h: b empty where h = y's size
        return token, rest.transpose(1, 2).reshape(n, c, h, w), a, b


def test_split_to_computed_sizes() -> None:
    grid = [{**pt, "Hy": hy} for pt in GRID for hy in (pt["H"] - 1, pt["H"] + 1, pt["H"] + 3) if hy >= 1]
    agree(SplitToComputedSizes(), ["N,3,H,W", "N,2,Hy,W"], grid, ops=("sized_split_part",))


class InPlace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.squeeze = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        s = self.squeeze(x)
        out = self.conv(x)
        out += s          # fine: s broadcasts to out
        s2 = self.squeeze(x)
        s2 += out         # in place cannot grow s2: an error unless H == W == 1
        return out, s2


class AugMixed(nn.Module):
    def forward(self, x, y):
        out = x * 1
        for _ in range(2):
            out += y + x     # y + x broadcasts freely; the += must not grow out
        return out


def test_augmented_assignment_with_inner_operation() -> None:
    grid = [{"N": 1, "H": h, "W": w, "H2": h2, "W2": 1} for h in (1, 2, 3) for w in (1, 4) for h2 in (1, 2, 3)]
    r = agree(AugMixed(), ["N,3,H,W", "N,3,H2,W2"], grid, ops=("broadcast_op", "add"))
    assert r.status == "error"


def test_augmented_assignment_is_in_place() -> None:
    r = agree(InPlace(), ["N,3,H,W"], GRID, ops=("broadcast_op",))
    assert r.status == "error"
    assert r.domain == "H = 1 and W = 1"
    [d] = [d for d in r.diagnostics if d.severity == "error"]
    assert d.code == "broadcast" and d.source.strip().startswith("s2 += out")


class Slicing(nn.Module):
    def forward(self, x):
        a = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        b = x[..., ::2, 1:-1]
        c = x[:, 0]
        d = x[:, None, :, -3:]
        e = x[:, :, 2:5]
        return a, b, c, d, e


def test_slicing() -> None:
    agree(Slicing(), ["N,3,H,W"], GRID, ops=("index", "pad"))


class Reductions(nn.Module):
    def forward(self, x):
        m = x.mean([2, 3])
        k = x.sum(dim=(2, 3), keepdim=True)
        v, i = torch.max(x, dim=1)
        s = torch.softmax(x.amax(-1), dim=-1)
        return m, k, v, i, s, x.std(1)


def test_reductions() -> None:
    agree(Reductions(), ["N,3,H,W"], GRID, ops=("reduce", "softmax"))


class ChunkSplit(nn.Module):
    def forward(self, x):
        a, b = x.chunk(2, dim=2)
        c, d, e = torch.split(x, 4, dim=3)
        return a, b, c, d, e


def test_chunk_and_split() -> None:
    grid = [{"N": 1, "H": h, "W": w} for h in range(1, 12) for w in range(1, 15)]
    agree(ChunkSplit(), ["N,3,H,W"], grid, ops=("chunk_part", "split_part"))


class SqueezeExcite(nn.Module):
    def __init__(self, c: int = 8) -> None:
        super().__init__()
        self.fc1 = nn.Linear(c, c // 4)
        self.fc2 = nn.Linear(c // 4, c)

    def forward(self, x):
        b, c, _, _ = x.size()
        y = F.adaptive_avg_pool2d(x, 1).view(b, c)
        y = torch.sigmoid(self.fc2(F.relu(self.fc1(y)))).view(b, c, 1, 1)
        return x * y.expand_as(x)


def test_squeeze_excite() -> None:
    agree(SqueezeExcite(), ["N,8,H,W"], GRID, ops=("expand_as", "sized_view", "linear"))


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(6, 3, 3, 3))
        self.lin = nn.Parameter(torch.zeros(5, 6))

    def forward(self, x):
        y = F.conv2d(x, self.w, stride=2, padding=1)
        y = F.max_pool2d(y, 2, ceil_mode=True)
        y = F.avg_pool2d(y, kernel_size=(1, 2), stride=1)
        z = F.linear(y.permute(0, 2, 3, 1), self.lin)
        return z.transpose(1, 3), y.ndim, y @ y.transpose(-1, -2)


def test_functional_calls_and_parameters() -> None:
    agree(Functional(), ["N,3,H,W"], GRID, ops=("constant", "matmul", "conv2d", "linear", "permute"))


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3)
        self.b = nn.Conv2d(3, 4, 1)

    def forward(self, x, y, scale=None):
        if scale is not None:
            x = x * scale
        return torch.cat([self.a(x), self.b(y)], 1)


def test_two_inputs_and_defaults() -> None:
    grid = [{"N": 1, "H": h, "W": 5, "H2": h2, "W2": 3} for h in range(1, 10) for h2 in range(1, 10)]
    r = agree(TwoInputs(), ["N,3,H,W", "N,3,H2,W2"], grid)
    assert r.status == "error"


def test_default_inputs_are_stated() -> None:
    r = check_module(nn.Sequential(nn.Linear(784, 10)))
    assert r.status == "ok"
    assert "assumed input: N,784" in r.format()
    r = check_module(nn.Sequential(nn.Conv1d(2, 4, 3), nn.ReLU()))
    assert "assumed input: N,2,L" in r.format()
    r = check_module(nn.Sequential(nn.ReLU(), nn.Conv2d(3, 4, 3)))
    assert "assumed input: N,3,H,W" in r.format()


def test_batchnorm_train_mode() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    assert check_module(net, "N,3,H,W").status == "error"  # kernel 3 needs H, W >= 3
    r = check_module(net, "N,3,H,W", where="H >= 3, W >= 3")
    assert r.status == "ok"
    r = check_module(net, "N,3,H,W", where="H >= 3, W >= 3", mode="train")
    assert r.status == "error"
    assert not r.accepts(N=1, H=3, W=3) and r.accepts(N=2, H=3, W=3) and r.accepts(N=1, H=4, W=3)
    assert net.training  # the module's mode is restored


def test_module_list_and_dict() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.convs = nn.ModuleList([nn.Conv2d(3, 3, 3, padding=1) for _ in range(3)])
            self.heads = nn.ModuleDict({"a": nn.Conv2d(3, 2, 1), "b": nn.Conv2d(3, 5, 3)})

        def forward(self, x):
            for c in self.convs:
                x = x + c(x)
            return {k: h(x) for k, h in self.heads.items()}

    agree(Net(), ["N,3,H,W"], GRID)


def test_scalar_ops_keep_shapes() -> None:
    class Net(nn.Module):
        def forward(self, x):
            y = (x * 2 + 1) / 3
            y = torch.exp(-y).clamp(0, 1)
            return y.contiguous().float(), x.size(1) * 2

    r = agree(Net(), ["N,3,H,W"], GRID, ops=("pointwise",))
    assert r.status == "ok"


def test_names_and_locations() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())

        def forward(self, x):
            return self.body(x)

    _, G = analyse(Net(), "N,3,H,W")
    assert "body.0" in G and "body.1" in G
    d = G.nodes["body.0"]
    assert d["file"].endswith("test_frontend_lowering.py")
    assert d["source"].strip() == "return self.body(x)"


_ = operator


def test_a_number_first_is_its_own_function() -> None:
    """``2 / x`` is ``x.reciprocal() * 2`` and ``2 ** x`` a fresh tensor: to torch's strides they
    are not ``x / 2`` and ``x ** 2``, so the lowering says which operand the number is."""
    class Net(nn.Module):
        def forward(self, x):
            return 2 / x, x / 2, 2 ** x, x ** 2

    _, G = analyse(Net(), "N,3,H,W")
    fns = [d["op"].params["fn"] for _, d in G.nodes(data=True)
           if d.get("op") is not None and d["op"].name == "pointwise"]
    assert fns == ["rtruediv", "truediv", "rpow", "pow"]


def test_a_number_over_a_transposed_tensor_keeps_its_strides() -> None:
    class Net(nn.Module):
        def forward(self, x):
            return (2 / x.transpose(2, 3)).view(-1), (x.transpose(2, 3) ** 2).view(-1)

    r = agree(Net(), ["N,3,H,W"], GRID, ops=("pointwise",))
    assert r.status == "error"  # view(-1) of a transposed image: only where H or W is 1
    assert r.accepts(N=2, H=1, W=5) and r.accepts(N=2, H=4, W=1) and not r.accepts(N=2, H=4, W=5)


class AttentionResidual(nn.Module):
    """diffusers' attention block: tokens back to an image by ``transpose().reshape()`` (a view:
    channels-last strides), a residual add and a scale (channels-last too, as the first operand),
    then a group norm (channels-last on CPU, row-major on CUDA) and a view that is legal either way."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.norm = nn.GroupNorm(2, 8)
        self.proj = nn.Linear(8, 8)

    def forward(self, x):
        y = self.conv(x)
        n, c, h, w = y.shape
        t = self.proj(y.view(n, c, h * w).transpose(1, 2))
        z = (t.transpose(-1, -2).reshape(n, c, h, w) + y) / 2
        return self.norm(z).view(n, c, h * w)


def test_a_view_legal_in_every_layout_torch_may_pick_is_decided() -> None:
    r = agree(AttentionResidual(), ["N,8,H,W"], GRID, ops=("sized_view", "sized_reshape"))
    assert r.status == "ok" and r.domain == "all sizes"


class SplitThenInPlace(nn.Module):
    """CSPNet's half of the channels, normed, then an in-place activation: the norm's result is
    a fresh tensor, so the in-place op on it is legal whatever its strides."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(4)
        self.act = nn.SiLU(inplace=True)

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        y = self.act(self.bn(a))
        return y + b.sum()


def test_an_in_place_op_on_a_fresh_result_needs_no_strides(monkeypatch) -> None:
    import arts.graph.check as check

    computed: list[str] = []
    real = check.output_layout
    monkeypatch.setattr(check, "output_layout", lambda op, *a, **k: computed.append(op.name) or real(op, *a, **k))
    r = agree(SplitThenInPlace(), ["N,8,H,W"], GRID, ops=("chunk_part", "batch_norm2d"))
    assert r.status == "ok" and "batch_norm2d" not in computed
