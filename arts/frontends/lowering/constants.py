"""The values of tensors that do not depend on the model's input: module buffers and parameters
(``get_attr``) and a few pure view/conversion calls on them (``self.relative_position_index.view(-1)``),
and index arithmetic on ``torch.arange`` of sizes that are the same at every input size (timm SAM's
windowed attention: ``torch.arange(q_size)[:, None] - torch.arange(k_size)[None, :] + (k_size - 1)``
where ``q_size`` is a window's 14, which arts proves static).

Rules that need a value rather than a shape (an index tensor: which rows a gather reads) ask
:func:`constant_value`.  Only calls whose result is a function of their arguments alone are
evaluated -- views, reshapes, dtype conversions, ``contiguous`` -- on the real tensor, so the value
is the one torch will use at every input size.  A Python number in such a call is either a literal
or an fx value that the lowering found to be a constant int (a size that is the same for every
input: :func:`_scalar`), replayed with Python's own operators (``14 / 14`` is the float ``1.0``, as
in the model).  A meta tensor (no values), anything computed from an input, a size that varies
with the input, a random call or anything larger than :data:`MAX_ELEMENTS` gives ``None``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy

if TYPE_CHECKING:
    from arts.frontends.lowering.lowerer import Lowerer

__all__ = ["MAX_ELEMENTS", "constant_value"]

#: Largest constant read (elements); larger ones are not followed.
MAX_ELEMENTS = 1 << 22
#: Tensor methods evaluated on constants: their result depends on their arguments only.
PURE_METHODS = frozenset({"view", "reshape", "flatten", "contiguous", "long", "int", "to", "clone", "detach",
                          "squeeze", "unsqueeze", "permute", "transpose", "t"})
_MAX_DEPTH = 24
#: ``operator`` functions replayed on constants (tensors or Python numbers).
_OPERATORS = frozenset({"add", "sub", "mul", "truediv", "floordiv", "mod", "neg", "getitem"})


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
    elif arg.op == "call_function" and (arg.target is torch.arange or _operator(arg.target)):
        vals = [_operand(L, a, _depth + 1) for a in arg.args]
        # the device does not change the values (``torch.arange(n, device=x.device)``)
        kwargs = {k: _operand(L, v, _depth + 1) for k, v in arg.kwargs.items() if k != "device"}
        if any(v is _NO for v in vals) or any(v is _NO for v in kwargs.values()) \
                or set(kwargs) - {"dtype", "start", "end", "step"}:
            return None
        if arg.target is not torch.arange and not any(isinstance(v, torch.Tensor) for v in vals):
            return None  # arithmetic of numbers alone: a size, not a tensor
        fn: Any = arg.target
        try:
            with torch.no_grad():
                value = fn(*vals, **kwargs)
        except Exception:  # noqa: BLE001 - as torch refuses it: not a constant
            return None
    if not isinstance(value, torch.Tensor) or value.device.type == "meta" or value.numel() > MAX_ELEMENTS:
        return None
    return value.detach()


_NO = object()


def _operator(target: Any) -> bool:
    import operator

    return any(target is getattr(operator, n) for n in _OPERATORS)


def _operand(L: Lowerer, a: Any, depth: int) -> Any:
    """An argument of a replayed call: a constant tensor, a Python number, a plain index
    (slices, ``None``, ints) or ``_NO``."""
    from torch import fx

    if isinstance(a, fx.Node):
        t = constant_value(L, a, depth)
        if t is not None:
            return t
        v = _scalar(L, a, depth)
        return _NO if v is None else v
    if isinstance(a, (list, tuple)):
        items = [_operand(L, x, depth) for x in a]
        return _NO if any(x is _NO for x in items) else type(a)(items)
    if isinstance(a, slice):
        parts = [_operand(L, x, depth) for x in (a.start, a.stop, a.step)]
        return _NO if any(x is _NO for x in parts) else slice(*parts)
    return _plain(a)


def _scalar(L: Lowerer, node: Any, depth: int) -> Any:
    """The Python number an fx value always is, or None: arithmetic of such numbers replayed with
    Python's operators, else the lowering's value when it is an int at every input size."""
    import operator

    if depth > _MAX_DEPTH:
        return None
    if node.op == "call_function" and _operator(node.target) and node.target is not operator.getitem:
        vals = [_operand(L, a, depth + 1) for a in node.args]
        if node.kwargs or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
            return None
        try:
            return node.target(*vals)
        except (ArithmeticError, TypeError):
            return None
    from arts.frontends.lowering.values import as_int

    v = as_int(L.env.get(node))
    if isinstance(v, sympy.Expr):
        v = _pinned(L, v)
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _pinned(L: Lowerer, e: sympy.Expr) -> int | None:
    """The one value a size ``e`` can have wherever the traced graph is the model: a traced branch
    ``f(e) == 0`` with ``f`` linear (timm SAM's ``int(2 * q_size - 1)`` fixed at the example)."""
    t = sympy.Dummy("t")
    for p in L.pinned:
        q = p.xreplace({e: t})
        if q.free_symbols != {t}:
            continue
        poly = sympy.Poly(q, t) if q.is_polynomial(t) else None
        if poly is None or poly.degree() != 1:
            continue
        a, b = poly.all_coeffs()
        root = -b / a
        if root.is_Integer:
            return int(root)
    return None


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
