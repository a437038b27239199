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
