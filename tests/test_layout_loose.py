"""Views of *loose* tensors (row-major wherever a size is not 1, size-1 strides unknown: what
``.contiguous()`` of an unknown layout and one-head attention give), against torch.

The size-1 strides are drawn at random (torch allows any), so a claim must hold for each of them:
a loose result must be torch's ``is_contiguous()``, an exact one must be torch's strides."""

from __future__ import annotations

import sympy
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from arts.frontends.torch_fx import analyse
from arts.ops.base import Op
from arts.ops.layout import CONTIGUOUS, Layout, output_layout, static_known, strides_of
from arts.solver.symbols import dim

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
LOOSE = Layout("contiguous", dense=True, origin="x", loose=True, reason="size-1 strides unknown")


@st.composite
def loose_tensor(draw: st.DrawFn) -> torch.Tensor:
    """A tensor row-major at its dimensions of size other than 1, with random size-1 strides."""
    shape = draw(st.lists(st.sampled_from([1, 1, 2, 3]), min_size=1, max_size=4))
    strides, acc = [], 1
    for s in reversed(shape):
        strides.append(draw(st.integers(0, 7)) if s == 1 else acc)
        acc *= s
    strides.reverse()
    return torch.arange(256.0).as_strided(shape, strides)


@st.composite
def view_op(draw: st.DrawFn, t: torch.Tensor) -> tuple[Op, torch.Tensor]:
    r = t.dim()
    kind = draw(st.sampled_from(["permute", "transpose", "unsqueeze", "squeeze", "slice", "expand", "unbind"]))
    if kind == "permute":
        dims = draw(st.permutations(range(r)))
        return Op.make("permute", {"dims": list(dims)}), t.permute(*dims)
    if kind == "transpose":
        a, b = draw(st.integers(0, r - 1)), draw(st.integers(0, r - 1))
        return Op.make("transpose", {"dim0": a, "dim1": b}), t.transpose(a, b)
    if kind == "unsqueeze":
        d = draw(st.integers(0, r))
        return Op.make("unsqueeze", {"dim": d}), t.unsqueeze(d)
    if kind == "squeeze":
        d = draw(st.integers(0, r - 1))
        return Op.make("squeeze", {"dim": d}), t.squeeze(d)
    if kind == "slice":
        d, step = draw(st.integers(0, r - 1)), draw(st.integers(1, 2))
        return (Op.make("slice", {"dim": d, "start": 0, "end": None, "step": step}),
                t[(slice(None),) * d + (slice(None, None, step),)])
    if kind == "expand":
        new = [draw(st.integers(1, 3)) if s == 1 else s for s in t.shape]
        return Op.make("expand", {"size": new}), t.expand(*new)
    d = draw(st.integers(0, r - 1))
    return Op.make("unbind_part", {"dim": d, "index": 0}), t.select(d, 0)


@SETTINGS
@given(st.data())
def test_views_of_a_loose_tensor_claim_only_what_torch_gives(data: st.DataObject) -> None:
    t = data.draw(loose_tensor())
    shape: tuple = tuple(sympy.Integer(s) for s in t.shape)
    lay = LOOSE
    for _ in range(data.draw(st.integers(1, 3))):
        if t.dim() == 0:
            return
        op, t = data.draw(view_op(t))
        out = tuple(op.apply([shape]).shape)
        assert tuple(int(s) for s in out) == tuple(t.shape)
        lay = output_layout(op, "n", [shape], [lay], out, static_known)
        shape = out
        if lay.kind == "unknown":
            return
        if lay.loose:
            assert lay.contiguous and t.is_contiguous(), f"{op}: loose claimed, torch strides {t.stride()}"
        else:
            got = tuple(int(x) for x in strides_of(shape, lay))
            assert got == t.stride(), f"{op}: arts {got}, torch {t.stride()}"


def test_moving_a_size_1_head_keeps_the_tensor_loose() -> None:
    """One-head attention's ``(B, 1, L, E)`` result, ``transpose(1, 2)``: row-major where sizes are
    not 1 for every B, L, E (a ``view`` may use it); moving two sizes that may be other than 1 is not."""
    B, L, E = dim("B"), dim("L"), dim("E")
    got = output_layout(Op.make("transpose", {"dim0": 1, "dim1": 2}), "t", [(B, 1, L, E)], [LOOSE], (B, L, 1, E))
    assert got.contiguous and got.loose and strides_of((B, L, 1, E), got) is None
    got = output_layout(Op.make("transpose", {"dim0": 1, "dim1": 2}), "t", [(B, 2, L, E)], [LOOSE], (B, L, 2, E))
    assert got.kind == "unknown"
    got = output_layout(Op.make("transpose", {"dim0": 1, "dim1": 2}), "t", [(B, 2, 3, E)], [LOOSE], (B, 3, 2, E))
    assert got.kind == "unknown"
    got = output_layout(Op.make("unsqueeze", {"dim": 0}), "u", [(2, 3)], [LOOSE], (1, 2, 3))
    assert got == CONTIGUOUS or got.loose


class OneHeadAttention(nn.Module):
    """diffusers' VAE attention with one head: ``(B, 1, L, E)`` results, then ``transpose(1, 2)``
    and a ``view`` (diffusers reshapes; a view is the stricter test)."""

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        B, L, E = q.shape
        h = q.view(B, L, 1, E).transpose(1, 2)
        out = F.scaled_dot_product_attention(h, h, h)
        return out.transpose(1, 2).view(B, L, E)


def test_a_view_after_one_head_attention_is_ok() -> None:
    report, _ = analyse(OneHeadAttention(), "N,L,E")
    assert report.status == "ok", [str(d.message) for d in report.diagnostics]
