"""Shape-preserving and broadcasting functions: activations, ``x * 2``, ``a + b``, ``a += b``, softmax, dropout."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy

from arts.frontends.lowering.registry import lowers
from arts.frontends.lowering.values import (
    NotLowered, Opaque, ShapeVal, TensorVal, as_int, integer_valued, is_size,
)

if TYPE_CHECKING:
    from arts.frontends.lowering.lowerer import Lowerer

import ast
import operator
from collections.abc import Callable

from arts.frontends.lowering.registry import forms

#: Activations with a catalogue op of their own.
ACTIVATIONS = ("relu", "relu6", "elu", "selu", "gelu", "silu", "mish", "leaky_relu", "hardswish", "hardsigmoid",
               "hardtanh", "sigmoid", "tanh", "softplus")
#: Other functions that keep the shape of their (first) tensor argument.
POINTWISE = ("exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "abs", "neg", "negative", "sin", "cos",
             "tan", "erf", "sign", "floor", "ceil", "round", "trunc", "reciprocal", "square", "clamp", "clip",
             "clamp_min", "clamp_max", "logit", "softsign", "tanhshrink", "hardshrink", "softshrink", "celu", "rrelu",
             "logsigmoid", "normalize", "clone", "detach", "float", "double", "half", "bfloat16", "int", "long",
             "bool", "to", "cpu", "cuda", "type", "type_as", "requires_grad_", "zeros_like", "ones_like", "rand_like",
             "randn_like", "empty_like", "full_like", "nan_to_num", "masked_fill", "logical_not", "bitwise_not",
             "zero_", "fill_", "float_power", "isnan", "isfinite", "cumsum", "cumprod", "flip", "roll",
             "bernoulli", "uniform_", "normal_", "exponential_", "random_")
#: Broadcasting functions of two operands (a Python number or a size as an operand keeps the shape).
BINARY = ("add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "remainder",
          "fmod", "pow", "maximum", "minimum", "fmax", "fmin", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
          "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "atan2", "hypot")
_OPERATORS = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "eq", "ne", "lt", "le", "gt", "ge", "and_",
              "or_", "xor", "iadd", "isub", "imul", "itruediv")


@lowers(*forms(ACTIVATIONS + POINTWISE), passes=True)
def _unary(L: Lowerer, node: Any, name: str, x: Any, *args: Any, **kwargs: Any) -> Any:
    if is_size(x) and not isinstance(x, bool):
        if name in ("neg", "negative"):
            return -x
        if name in ("float", "int"):
            return x
        raise NotLowered(f"{name} of a size")
    t = L.tensor(x, "the input")
    base = name.removesuffix("_")
    fmt = str(kwargs.get("memory_format", "torch.preserve_format"))
    if fmt not in ("torch.preserve_format", "torch.contiguous_format"):  # channels_last: layout unknown
        return L.emit(node, "pointwise", {"fn": f"{base}(memory_format={fmt})"}, [t])
    if fmt == "torch.contiguous_format":  # layout-resetting (arts.ops.layout)
        return L.emit(node, "contiguous", {}, [t])
    if name == base and _inplace_flag(node, x, args, kwargs):
        name = base + "_"  # F.relu(x, inplace=True) is x.relu_()
    if name != base and not name.endswith("__"):
        # in place (x.relu_()): torch refuses an input that overlaps itself (expanded), so the
        # layout rules must see the trailing underscore (arts.ops.layout, in-place overlap)
        return L.emit(node, "pointwise", {"fn": name}, [t])
    if base in ACTIVATIONS:
        return L.emit(node, base, {}, [t])
    extra = [v.name for v in list(args) + list(kwargs.values()) if isinstance(v, TensorVal)]
    if extra and base in ("type_as", "masked_fill", "to"):
        # the result has x's shape; a mask must broadcast to it
        if base == "masked_fill":
            return L.emit(node, "broadcast_op", {"fn": "masked_fill", "inplace": True}, [t, extra[0]])
        return L.emit(node, "pointwise", {"fn": base}, [t])
    if extra:
        raise NotLowered(f"{name} with tensor arguments")
    return L.emit(node, "pointwise", {"fn": base}, [t])


def _inplace_flag(node: Any, x: Any, args: tuple, kwargs: dict[str, Any]) -> bool:
    """The ``inplace=`` argument of a functional activation (``F.relu(x, inplace=True)``, also
    positional: ``F.leaky_relu(x, 0.1, True)``)."""
    flag = kwargs.get("inplace", False)
    if "inplace" not in kwargs and args and node.op == "call_function":
        import inspect

        try:
            flag = inspect.signature(node.target).bind(x, *args, **kwargs).arguments.get("inplace", False)
        except (TypeError, ValueError):  # a builtin without a signature, or arguments it does not take
            flag = False
    if not isinstance(flag, bool):
        raise NotLowered(f"a computed inplace flag {flag!r}")
    return flag


def _scalar_op(name: str, a: Any, b: Any) -> Any:
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "add": operator.add, "iadd": operator.add, "sub": operator.sub, "isub": operator.sub,
        "mul": operator.mul, "imul": operator.mul,
        "floordiv": lambda x, y: x // y if isinstance(x, int) and isinstance(y, int) else sympy.floor(
            sympy.sympify(x) / y),
        "mod": lambda x, y: x % y if isinstance(x, int) and isinstance(y, int) else sympy.Mod(x, y),
        "pow": lambda x, y: x ** y,
        "truediv": lambda x, y: sympy.sympify(x) / y,
        "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
        "ge": operator.ge,
    }
    fn = ops.get(name)
    if fn is None:
        raise NotLowered(f"{name} of sizes")
    if name in ("floordiv", "mod") and not (isinstance(b, int) and b > 0):
        raise NotLowered(f"{name} of sizes by a non-constant or non-positive divisor")  # see _size_division
    if name in _RELATIONS and (isinstance(a, sympy.Expr) or isinstance(b, sympy.Expr)):
        return _RELATIONS[name](a, b)  # a condition on sizes (for torch._assert)
    r = fn(a, b)
    return as_int(r) if isinstance(r, sympy.Expr) else r


def _size_division(L: Lowerer, node: Any, name: str, a: Any, b: Any) -> Any:
    """``a // b`` and ``a % b`` of integer sizes (``B // (Hp * Wp // ws // ws)``, ``B // x.shape[0]``).

    Python's ``a // b`` is ``floor(a / b)`` and ``a % b`` is ``a - b * floor(a / b)`` (sympy's
    ``Mod``, the sign of the divisor) for *every* non-zero integer ``b``, so both are exact once
    ``b != 0``.  Where sympy proves that from the sizes being positive integers, nothing else is
    needed; a divisor known to be non-negative (``A // B``) may be 0: then ``b != 0`` is a condition
    of the domain at this line (a ``size_assert``: Python raises ``ZeroDivisionError`` there) and the
    quotient is written over ``Max(b, 1)``, which is ``b`` wherever the condition holds.  A divisor
    of unknown sign, or not an integer, stays unknown."""
    from arts.frontends.lowering.core import _size_formula

    if isinstance(b, int):
        if b == 0:
            raise NotLowered(f"{name} of a size by zero")
        if isinstance(a, int):
            return a // b if name == "floordiv" else a % b
    else:
        if not integer_valued(b) or not b.free_symbols <= set(L.refs):
            raise NotLowered(f"{name} of sizes by {L._show(b)}, not an integer size")
        if b.is_zero is not False:  # not proven non-zero: the model raises where it is 0
            if not b.is_nonnegative:
                raise NotLowered(f"{name} of sizes by {L._show(b)}, which may be 0 or negative")
            formula, args = _size_formula(L, sympy.Ne(b, 0), f"{name} by {L._show(b)}")
            L.emit(node, "size_assert", {"formula": formula, "message": f"integer {name} by {L._show(b)}, "
                                                                          "which is 0 here"}, args,
                   suffix="_nonzero")
            b = sympy.Max(b, 1)  # equal to b where the assert holds; never a division by 0 when evaluated
    if isinstance(a, sympy.Expr) and not integer_valued(a):
        raise NotLowered(f"{name} of {L._show(a)}, not an integer size")
    q = sympy.floor(sympy.sympify(a) / b)
    return as_int(q if name == "floordiv" else sympy.Mod(a, b))


def _sequence_equality(L: Lowerer, base: str, a: Any, b: Any) -> Any:
    """``x.shape[-2:] != pos.shape[-2:]`` (timm's position-embedding resampling): Python compares
    two sequences of sizes entry by entry, so the answer is the conjunction of the entries'
    equalities (``False`` outright when the lengths differ)."""
    left = L.sizes(a, "shape") if isinstance(a, ShapeVal) else list(a)
    right = L.sizes(b, "shape") if isinstance(b, ShapeVal) else list(b)
    if not all(is_size(v) and not isinstance(v, bool) for v in left + right):
        raise NotLowered(f"{base} of sequences that are not all sizes")
    if len(left) != len(right):
        return base == "ne"
    parts = [_scalar_op("eq", as_int(x), as_int(y)) for x, y in zip(left, right)]
    if all(isinstance(p, bool) for p in parts):
        same = all(parts)
        return same if base == "eq" else not same
    same = sympy.And(*(sympy.true if p is True else sympy.false if p is False else p for p in parts))
    return same if base == "eq" else sympy.Not(same)


_RELATIONS: dict[str, Callable[[Any, Any], Any]] = {
    "eq": sympy.Eq, "ne": sympy.Ne, "lt": sympy.Lt, "le": sympy.Le, "gt": sympy.Gt, "ge": sympy.Ge}

_AUG_OPS = {"add": ast.Add, "sub": ast.Sub, "mul": ast.Mult, "truediv": ast.Div}


def _inplace_statement(node: Any, L: Lowerer, op: str) -> bool:
    """Whether the fx node is the ``op=`` of an augmented assignment ``a op= b``.

    fx records ``a += b`` as ``operator.add``.  The statement's value may hold more of the same
    operation (``out += a + b``); those run first, so on each execution of the line the node
    after them is the in-place one.  Nodes of one line are counted in trace order (a line inside
    a Python loop in ``forward`` runs once per iteration).
    """
    loc = L._location(node)
    src = (loc.get("source") or "").strip()
    if not src:
        return False
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return False
    st = tree.body[0] if tree.body else None
    if not isinstance(st, ast.AugAssign) or not isinstance(st.op, _AUG_OPS[op]):
        return False
    inner = sum(1 for t in ast.walk(st.value) if isinstance(t, ast.BinOp) and isinstance(t.op, _AUG_OPS[op]))
    key = (loc.get("file"), loc.get("line"), op)
    k = L.aug_seen.get(key, 0)
    L.aug_seen[key] = k + 1
    return k % (inner + 1) == inner


#: A number first: ``2 / x`` is ``x.reciprocal() * 2``, ``2 ** x`` a fresh contiguous tensor.
_REFLECTED = {"truediv": "rtruediv", "div": "rtruediv", "divide": "rtruediv", "true_divide": "rtruediv",
              "pow": "rpow"}


@lowers(*forms(BINARY, F=False), *(f'operator.{n}' for n in _OPERATORS))
def _binary(L: Lowerer, node: Any, name: str, a: Any, b: Any = None, *rest: Any, **kwargs: Any) -> Any:
    base = name.rstrip("_")
    inplace = name.endswith("_") and not name.endswith("__")
    if base.startswith("i") and base[1:] in ("add", "sub", "mul", "truediv"):
        base, inplace = base[1:], True
    if "other" in kwargs:
        b = kwargs.pop("other")
    sized_a = is_size(a) and not isinstance(a, bool)
    sized_b = is_size(b) and not isinstance(b, bool)
    if sized_a and sized_b:
        if base in ("floordiv", "mod"):
            return _size_division(L, node, base, as_int(a), as_int(b))
        return _scalar_op(base, as_int(a), as_int(b))
    if name == "add" and isinstance(a, (tuple, list, ShapeVal)) and isinstance(b, (tuple, list, ShapeVal)):
        left = tuple(L.sizes(a, "shape")) if isinstance(a, ShapeVal) else tuple(a)
        right = tuple(L.sizes(b, "shape")) if isinstance(b, ShapeVal) else tuple(b)
        return left + right
    if base in ("eq", "ne") and all(isinstance(v, (tuple, list, ShapeVal)) for v in (a, b)):
        return _sequence_equality(L, base, a, b)
    if base == "mul" and isinstance(a, (tuple, list)) and isinstance(b, int) and not isinstance(b, bool):
        return type(a)(a * b)  # (1,) * (x.ndim - 1)
    if base == "mul" and isinstance(b, (tuple, list)) and isinstance(a, int) and not isinstance(a, bool):
        return type(b)(b * a)
    if isinstance(a, TensorVal) and isinstance(b, TensorVal):
        if node.op == "call_function" and base in _AUG_OPS and _inplace_statement(node, L, base):
            inplace = True
        if not inplace and base in ("add", "sub", "mul", "div"):
            return L.emit(node, base, {}, [a.name, b.name])
        return L.emit(node, "broadcast_op", {"fn": base, "inplace": inplace}, [a.name, b.name])
    if isinstance(a, TensorVal) and (sized_b or isinstance(b, (float, bool)) or b is None):
        return L.emit(node, "pointwise", {"fn": base}, [a.name])
    if isinstance(b, TensorVal) and (sized_a or isinstance(a, (float, bool))):
        # ``2 / x`` and ``2 ** x`` are not ``x / 2`` and ``x ** 2`` to torch's strides
        return L.emit(node, "pointwise", {"fn": _REFLECTED.get(base, base)}, [b.name])
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return _scalar_op(base, a, b)
    if (isinstance(a, Opaque) or isinstance(b, Opaque)) and not any(
            isinstance(v, (TensorVal, ShapeVal)) for v in (a, b)):
        return Opaque(f"{name} of {L._show(a)} and {L._show(b)}")  # a Python value arts does not follow
    raise NotLowered(f"{name} of {L._show(a)} and {L._show(b)}")


@lowers("operator.neg", "operator.pos", "operator.invert")
def _negate(L: Lowerer, node: Any, name: str, a: Any) -> Any:
    if is_size(a) or isinstance(a, bool):
        if name == "invert":
            raise NotLowered("~ of a size or a bool")
        return -a if name == "neg" else a
    return L.emit(node, "pointwise", {"fn": name}, [L.tensor(a, "the input")])


@lowers("torch.softmax", "F.softmax", "Tensor.softmax", "torch.log_softmax", "F.log_softmax",
        "Tensor.log_softmax", "F.softmin", "Tensor.softmin")
def _softmax(L: Lowerer, node: Any, name: str, x: Any, dim: Any = None, *rest: Any, **kwargs: Any) -> Any:
    op = "softmax" if name == "softmin" else name
    return L.emit(node, op, {"dim": dim}, [L.tensor(x, "the input")])


@lowers("torch.dropout", "F.dropout", "torch.alpha_dropout", "F.alpha_dropout",
        "F.feature_alpha_dropout", "torch.feature_dropout", "torch.feature_alpha_dropout", passes=True)
def _dropout(L: Lowerer, node: Any, name: str, x: Any, p: float = 0.5, training: bool = True,
             inplace: bool = False, **kwargs: Any) -> Any:
    op = "alpha_dropout" if "alpha" in name else "dropout"
    return L.emit(node, op, {"p": p}, [L.tensor(x, "the input")])


@lowers("F.dropout1d", "F.dropout2d", "F.dropout3d", passes=True)
def _feature_dropout(L: Lowerer, node: Any, name: str, x: Any, p: float = 0.5, training: bool = True,
                     inplace: bool = False) -> Any:
    return L.emit(node, name, {"p": p if training else 0.0}, [L.tensor(x, "the input")])


@lowers("torch.addcmul", "Tensor.addcmul", "Tensor.addcmul_", "torch.addcdiv", "Tensor.addcdiv", "Tensor.addcdiv_")
def _addcmul(L: Lowerer, node: Any, name: str, x: Any, t1: Any, t2: Any, *, value: Any = 1) -> Any:
    """``x + value * t1 * t2``: the three shapes broadcast together (in place: to ``x``'s shape)."""
    a, b, c = L.tensor(x, "the input"), L.tensor(t1, "tensor1"), L.tensor(t2, "tensor2")
    fn = name.rstrip("_")
    prod = L.emit(node, "broadcast_op", {"fn": fn, "inplace": False}, [b, c], suffix="_product")
    return L.emit(node, "broadcast_op", {"fn": fn, "inplace": name.endswith("_")}, [a, prod.name])
