"""Functions of model libraries that ``torch.fx`` keeps as leaves (``torch.fx.wrap``): torchvision's
``stochastic_depth`` (EfficientNet, ConvNeXt) and its Swin ``_get_relative_position_bias``.

Their rules are registered by dotted path and matched by the target's name (see
:mod:`.registry`), so arts never imports torchvision; each follows that library's code line by
line, and the property tests (``tests/test_frontend_library_rules.py``) run the same code in torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arts.frontends.lowering.constants import constant_value
from arts.frontends.lowering.registry import lowers
from arts.frontends.lowering.values import NotLowered, TensorVal, ints

if TYPE_CHECKING:
    from arts.frontends.lowering.lowerer import Lowerer


@lowers("torchvision.ops.stochastic_depth.stochastic_depth", passes=True)
def _stochastic_depth(L: Lowerer, node: Any, name: str, x: Any, p: Any, mode: Any, training: Any = True) -> Any:
    """``stochastic_depth(input, p, mode, training)``: ``p`` outside [0, 1] or a mode other than
    ``"row"``/``"batch"`` raises for every input (an error at the call); in evaluation or with
    ``p == 0`` the input itself is returned; otherwise ``input * noise`` with ``noise`` of shape
    ``[N, 1, ...]`` (row: needs a dimension 0) or ``[1, ...]``: the input's shape."""
    t = L.tensor(x, "the input")
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise NotLowered(f"a computed drop probability {L._show(p)}")
    if not isinstance(mode, str):
        raise NotLowered(f"a computed mode {L._show(mode)}")
    if not isinstance(training, bool):
        raise NotLowered(f"a computed training flag {L._show(training)}")
    problem = (f"drop probability has to be between 0 and 1, but got {p}" if p < 0.0 or p > 1.0 else
               f"mode has to be either 'batch' or 'row', but got {mode}" if mode not in ("batch", "row") else None)
    if problem is not None:  # torchvision raises ValueError whatever the input
        L.emit(node, "size_assert", {"formula": False, "message": f"stochastic_depth: {problem}"}, [],
               suffix="_raises")
        return L.emit(node, "identity", {}, [t])
    if not training or p == 0.0:
        return L.emit(node, "identity", {}, [t])  # returns the input itself
    if mode == "row" and L.ranks.get(t) == 0:
        raise NotLowered("stochastic_depth in row mode of a 0-d tensor (input.shape[0] raises)")
    if L.ranks.get(t) is None and mode == "row":
        raise NotLowered("the rank of a tensor whose shape could not be inferred")
    # input * noise: a fresh result of the input's shape (its layout: arts's default for a new tensor)
    return L.emit(node, "pointwise", {"fn": "stochastic_depth"}, [t])


@lowers("torchvision.models.swin_transformer._get_relative_position_bias")
def _relative_position_bias(L: Lowerer, node: Any, name: str, table: Any, index: Any, window_size: Any) -> Any:
    """``table[index].view(N, N, -1).permute(2, 0, 1).contiguous().unsqueeze(0)`` with
    ``N = window_size[0] * window_size[1]``: the rows ``index`` of the table (a module buffer whose
    values arts reads), then the existing view, permute, contiguous and unsqueeze ops."""
    from arts.frontends.lowering.indexing import take

    t = L.tensor(table, "the bias table")
    w = ints(window_size, "window_size")
    if len(w) < 2:
        raise NotLowered(f"window_size {list(w)} has fewer than 2 entries")
    n = w[0] * w[1]
    idx = constant_value(L, node.args[1] if len(node.args) > 1 else node.kwargs.get("relative_position_index"))
    if idx is None:
        raise NotLowered("relative_position_index is not a module buffer of known values")
    rows = take(L, node, t, 0, idx, suffix="_rows")
    if not isinstance(rows, TensorVal):
        return rows
    view = L.emit(node, "view", {"shape": [n, n, -1]}, [rows.name], suffix="_view")
    perm = L.emit(node, "permute", {"dims": [2, 0, 1]}, [view.name], suffix="_permute")
    cont = L.emit(node, "contiguous", {}, [perm.name], suffix="_contiguous")
    return L.emit(node, "unsqueeze", {"dim": 0}, [cont.name])


@lowers("torchvision.models.swin_transformer.shifted_window_attention")
def _shifted_window_attention(L: Lowerer, node: Any, name: str, x: Any, qkv_weight: Any, proj_weight: Any,
                              relative_position_bias: Any, window_size: Any, num_heads: Any, shift_size: Any,
                              attention_dropout: Any = 0.0, dropout: Any = 0.0, qkv_bias: Any = None,
                              proj_bias: Any = None, logit_scale: Any = None, training: Any = True) -> Any:
    """Swin's window attention as one op (``window_attention``): its shapes follow from the weights'
    (module parameters), the window and the heads; its input must be contiguous (torchvision views
    the padded input into windows, and a zero pad clones the input's strides)."""
    from arts.frontends.lowering.conv import _const_shape

    t = L.tensor(x, "the input")
    b = L.tensor(relative_position_bias, "the relative position bias")
    w = ints(window_size, "window_size")
    ints(shift_size, "shift_size")
    if len(w) != 2 or min(w) < 1:
        raise NotLowered(f"window_size {list(w)}")
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1:
        raise NotLowered(f"num_heads {L._show(num_heads)}")
    for what, p in (("attention_dropout", attention_dropout), ("dropout", dropout)):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise NotLowered(f"{what} {L._show(p)}")
    if not isinstance(training, bool):
        raise NotLowered(f"a computed training flag {L._show(training)}")
    qkv, proj = _const_shape(L, qkv_weight, "qkv_weight"), _const_shape(L, proj_weight, "proj_weight")
    if len(qkv) != 2 or len(proj) != 2:
        raise NotLowered("qkv_weight and proj_weight must be matrices")
    params: dict[str, Any] = {"in_features": qkv[1], "qkv_features": qkv[0], "proj_in": proj[1],
                              "proj_out": proj[0], "num_heads": num_heads, "window_size": list(w)}
    for key, v in (("qkv_bias", qkv_bias), ("proj_bias", proj_bias), ("logit_scale", logit_scale)):
        if v is not None:
            params[key] = list(_const_shape(L, v, key))
    return L.emit(node, "window_attention", params, [t, b])


@lowers("torchvision.models.swin_transformer._patch_merging_pad")
def _patch_merging_pad(L: Lowerer, node: Any, name: str, x: Any) -> Any:
    """``F.pad`` of H, W (dimensions -3, -2) to even sizes, the four ``x[..., i::2, j::2, :]``, and
    their ``cat`` on the last dimension: the existing pad, index and cat ops, in torchvision's order."""
    import sympy

    t = L.tensor(x, "the input")
    r = L.ranks.get(t)
    if r is None:
        raise NotLowered("the rank of a tensor whose shape could not be inferred")
    if r < 3:
        raise NotLowered(f"_patch_merging_pad of a rank-{r} tensor (H, W, _ = x.shape[-3:] raises)")
    h, w = L.size_of(t, -3), L.size_of(t, -2)
    amounts = [0, 0, 0, sympy.Mod(w, 2) if isinstance(w, sympy.Expr) else w % 2,
               0, sympy.Mod(h, 2) if isinstance(h, sympy.Expr) else h % 2]
    if all(isinstance(a, int) for a in amounts):
        padded = L.emit(node, "pad", {"pad": amounts, "mode": "constant"}, [t], suffix="_pad")
    else:
        padded = L.emit_sized(node, "sized_pad", t, "pad", amounts, {"mode": "constant"}, suffix="_pad")
    parts = [L.emit(node, "index", {"index": [("ellipsis",), ("slice", i, None, 2), ("slice", j, None, 2),
                                              ("slice", None, None, None)]}, [padded.name], suffix=f"_x{k}").name
             for k, (i, j) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)])]
    return L.emit(node, "cat", {"dim": -1}, parts)


@lowers("einops.einops.rearrange")
def _rearrange(L: Lowerer, node: Any, name: str, x: Any, pattern: Any, **axes_lengths: Any) -> Any:
    """``einops.rearrange(x, "b c h w -> b h w c")`` (MONAI's Swin): a pattern that only reorders
    named axes is einops's ``permute`` of the input (it reshapes only to split or merge axes);
    anything else -- groups ``( )``, ``...``, anonymous axes, lengths -- stays unknown."""
    import re

    t = L.tensor(x, "the input")
    if not isinstance(pattern, str) or pattern.count("->") != 1:
        raise NotLowered(f"rearrange with the pattern {pattern!r}")
    left, right = (side.split() for side in pattern.split("->"))
    word = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
    if axes_lengths or not all(word.match(a) for a in left + right):
        raise NotLowered(f"rearrange pattern {pattern!r} (only reorderings of named axes are modelled)")
    if len(set(left)) != len(left) or sorted(left) != sorted(right):
        raise NotLowered(f"rearrange pattern {pattern!r} (its two sides do not name the same axes once each)")
    r = L.ranks.get(t)
    if r is None:
        raise NotLowered("the rank of a tensor whose shape could not be inferred")
    if r != len(left):
        raise NotLowered(f"rearrange pattern {pattern!r} for a tensor of rank {r}")
    return L.emit(node, "permute", {"dims": [left.index(a) for a in right]}, [t])
