"""The values of tensors that do not depend on the model's input: module buffers and parameters
(``get_attr``) and a few pure view/conversion calls on them (``self.relative_position_index.view(-1)``).

Rules that need a value rather than a shape (an index tensor: which rows a gather reads) ask
:func:`constant_value`.  Only calls whose result is a function of their arguments alone are
evaluated -- views, reshapes, dtype conversions, ``contiguous`` -- on the real tensor, so the value
is the one torch will use at every input size.  A meta tensor (no values), anything computed from
an input, a random call or anything larger than :data:`MAX_ELEMENTS` gives ``None``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arts.frontends.lowering.lowerer import Lowerer

__all__ = ["MAX_ELEMENTS", "constant_value"]

#: Largest constant read (elements); larger ones are not followed.
MAX_ELEMENTS = 1 << 22
#: Tensor methods evaluated on constants: their result depends on their arguments only.
PURE_METHODS = frozenset({"view", "reshape", "flatten", "contiguous", "long", "int", "to", "clone", "detach",
                          "squeeze", "unsqueeze", "permute", "transpose", "t"})
_MAX_DEPTH = 8


def constant_value(L: Lowerer, arg: Any, _depth: int = 0) -> Any:
    """The torch tensor an fx argument always holds, or ``None`` if arts cannot tell."""
    import torch
    from torch import fx

    if not isinstance(arg, fx.Node) or _depth > _MAX_DEPTH:
        return None
    value: Any = None
    if arg.op == "get_attr":
        value = _attribute(L, arg)
        if isinstance(value, torch.Tensor) and (value.device.type == "meta" or _written(L, arg, value)):
            return None
    elif arg.op == "call_method" and str(arg.target) in PURE_METHODS and arg.args:
        base = constant_value(L, arg.args[0], _depth + 1)
        rest = [_plain(a) for a in arg.args[1:]]
        kwargs = {k: _plain(v) for k, v in arg.kwargs.items()}
        if base is None or any(r is _NO for r in rest) or any(v is _NO for v in kwargs.values()):
            return None
        try:
            with torch.no_grad():
                value = getattr(base, str(arg.target))(*rest, **kwargs)
        except Exception:  # noqa: BLE001 - torch refuses the call: not a constant arts can use
            return None
    if not isinstance(value, torch.Tensor) or value.device.type == "meta" or value.numel() > MAX_ELEMENTS:
        return None
    return value.detach()


_NO = object()


def _attribute(L: Lowerer, node: Any) -> Any:
    obj: Any = L.root
    try:
        for part in str(node.target).split("."):
            obj = getattr(obj, part)
    except AttributeError:
        return None
    return obj


def _written(L: Lowerer, attr: Any, value: Any) -> bool:
    """Whether ``forward`` may write into the memory of the buffer ``attr`` reads (an in-place method,
    ``x[i] = v`` or ``out=`` on it or on a view of it, reached from any ``get_attr`` of a tensor
    sharing its storage -- fx stores ``self.buf.view(-1)`` as such a constant): then its value at
    the read is not the one stored in the module, and arts does not read it."""
    import operator

    import torch

    graph = attr.graph
    ptr = value.untyped_storage().data_ptr()

    def shares(n: Any) -> bool:
        v = _attribute(L, n)
        return isinstance(v, torch.Tensor) and v.device.type != "meta" and v.untyped_storage().data_ptr() == ptr

    seen = [n for n in graph.nodes if n.op == "get_attr" and (n.target == attr.target or shares(n))]
    todo = list(seen)
    while todo:  # every value that may share the buffer's memory
        n = todo.pop()
        for u in n.users:
            if u in seen:
                continue
            if u.op == "call_method" or (u.op == "call_function" and u.target is operator.getitem):
                seen.append(u)
                todo.append(u)
    for n in graph.nodes:
        first = n.args[0] if n.args else None
        if n.op == "call_method" and first in seen and str(n.target).endswith("_") \
                and not str(n.target).endswith("__"):
            return True
        if n.op == "call_function" and n.target is operator.setitem and first in seen:
            return True
        if n.op in ("call_function", "call_method") and n.kwargs.get("out") in seen:
            return True
    return False


def _plain(v: Any) -> Any:
    """A Python argument (ints, dtypes, tuples of them); ``_NO`` for anything traced."""
    from torch import fx

    if isinstance(v, fx.Node):
        return _NO
    if isinstance(v, (list, tuple)):
        items = [_plain(x) for x in v]
        return _NO if any(x is _NO for x in items) else type(v)(items)
    return v
