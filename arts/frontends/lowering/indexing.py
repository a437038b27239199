"""Advanced indexing by an index of known values: ``table[self.relative_position_index.view(-1)]``
(Swin, MaxViT, CoAtNet relative position biases), ``x[:, [0, 2]]``.

One form is modelled, the one whose shape is exact for every size: a single index -- a list of
ints, or an integer tensor whose values arts can read (:mod:`.constants`) -- with slices and at
most one ``...`` around it.  torch applies the slices, then replaces the indexed dimension by the
index's shape; every value must lie in ``[-size, size)`` (the ``take`` op).  Anything else -- an
index computed from the input, a boolean mask (a value-dependent shape), two indices, ``None`` or
an int beside the index, a 0-d index (torch makes it a ``select`` view) -- stays unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arts.frontends.lowering.constants import constant_value
from arts.frontends.lowering.values import NotLowered, TensorVal, as_int

if TYPE_CHECKING:
    from arts.frontends.lowering.lowerer import Lowerer

__all__ = ["advanced_index", "take"]


def take(L: Lowerer, node: Any, x: str, dim: int, index: Any, suffix: str = "") -> TensorVal:
    """Emit ``take`` for ``x`` indexed along ``dim`` by the torch tensor ``index``."""
    import torch

    if index.dtype == torch.bool or index.dtype == torch.uint8:
        raise NotLowered("indexing with a boolean mask (the result's shape depends on its values)")
    if index.is_floating_point() or index.is_complex():
        raise NotLowered(f"an index tensor of dtype {index.dtype}")
    if index.dim() == 0:
        raise NotLowered("a 0-d index tensor (torch treats it as an int: a select view)")
    if index.numel() == 0:
        raise NotLowered("an empty index (the result has a dimension of size 0)")
    params = {"dim": dim, "index_shape": list(index.shape), "low": int(index.min()), "high": int(index.max())}
    return L.emit(node, "take", params, [x], suffix)


def _index_arg(node: Any, position: int, single: bool) -> Any:
    """The fx argument at ``position`` of the index of ``operator.getitem`` (its second argument)."""
    raw = node.args[1]
    return raw if single else raw[position]


def advanced_index(L: Lowerer, node: Any, x: str, items: tuple) -> TensorVal:
    """``x[items]`` where exactly one item is a list or a tensor (see the module docstring)."""
    import torch

    advanced = [k for k, it in enumerate(items) if isinstance(it, (TensorVal, list))]
    if len(advanced) != 1:
        raise NotLowered("advanced indexing with more than one index tensor or list")
    k = advanced[0]
    spec: list[tuple] = []
    for j, it in enumerate(items):
        if j == k:
            spec.append(("slice", None, None, None))
        elif it is Ellipsis:
            spec.append(("ellipsis",))
        elif isinstance(it, slice):
            parts = [as_int(v) for v in (it.start, it.stop, it.step)]
            if not all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in parts):
                raise NotLowered("slicing with bounds computed from sizes beside an index tensor")
            if parts[2] is not None and parts[2] < 1:
                raise NotLowered(f"slice step {parts[2]} (torch requires a positive step)")
            spec.append(("slice", *parts))
        else:
            raise NotLowered(f"advanced indexing beside {L._show(it)} (only slices and ... are modelled)")
    if sum(1 for it in items if it is Ellipsis) > 1:
        raise NotLowered("an index with more than one ...")
    it = items[k]
    if isinstance(it, list):
        if not it or not all(isinstance(v, int) and not isinstance(v, bool) for v in it):
            raise NotLowered("indexing with a list that is not a non-empty list of ints")
        index = torch.tensor(it)
    else:
        index = constant_value(L, _index_arg(node, k, not isinstance(node.args[1], tuple)))
        if index is None:
            raise NotLowered("advanced indexing by a tensor whose values arts cannot read (computed from the "
                             "input, or not a module buffer)")
    r = L.ranks.get(x)
    if r is None:
        raise NotLowered("the rank of a tensor whose shape could not be inferred")
    # the items after the index name the last dimensions when a ... comes before it
    dim = k - len(items) if Ellipsis in items and items.index(Ellipsis) < k else k
    basic = any(s[0] == "slice" and s[1:] != (None, None, None) for s in spec)
    too_many = sum(1 for it in items if it is not Ellipsis) > r
    # the slices first (torch applies them before the index; too many items: the index op's rank error)
    src = L.emit(node, "index", {"index": spec}, [x], suffix="_slices").name if basic or too_many else x
    return take(L, node, src, dim, index)
