"""Lower a ``torch.fx`` graph to an arts network graph, node by node.

One method per fx node kind (``placeholder``, ``get_attr``, ``call_module``, ``call_function``,
``call_method``, ``output``), as in ``torch.fx.Interpreter``.  Each fx node becomes a *value*:

* :class:`TensorVal` -- an arts node (its shape is computed later by :func:`arts.typecheck`);
* a size -- a Python ``int`` or a sympy expression over *reference symbols*, each standing for
  "dimension d of tensor t" (``x.size(2)``, ``x.shape[3]``), so ``x.size(2) - y.size(2)`` stays
  exact; when a size reaches an op (``F.pad``, ``view``, ``F.interpolate``), the tensors it reads
  become extra arguments of a ``sized_*`` op (see :mod:`arts.ops.frontend_ops`);
* :class:`ShapeVal` (``x.shape``), :class:`SplitVal` (``x.chunk(2)`` before indexing), tuples and
  lists of values, or :class:`Opaque` (something we cannot follow).

Whatever cannot be translated becomes an ``unsupported`` node carrying the reason, so the
report is ``unknown`` -- never ``ok`` -- while everything not downstream of it is still checked.
"""

from __future__ import annotations

import ast
import builtins
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx
import sympy

from arts.errors import ArtsError, InputError
from arts.frontends.locations import Site, display_path, site_of, user_frame, user_frames
from arts.graph.graph import add_input, add_node, new_graph
from arts.ops.base import REGISTRY, Op
from arts.ops.frontend_ops import placeholder

__all__ = ["Lowerer", "TensorVal", "lower"]


@dataclass(frozen=True)
class TensorVal:
    name: str


@dataclass(frozen=True)
class ShapeVal:
    tensor: str


@dataclass(frozen=True)
class SplitVal:
    tensor: str
    kind: str  # "chunk" | "split"
    size: Any
    dim: int


@dataclass(frozen=True)
class Opaque:
    reason: str


class _NotLowered(Exception):
    """Raised by a handler: this call cannot be translated (the reason becomes the unknown's)."""


def _is_size(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or isinstance(v, sympy.Expr)


def _as_int(v: Any) -> Any:
    if isinstance(v, sympy.Expr) and v.is_Integer:
        return int(v)
    return v


# ---- the fx targets we know, by identity -----------------------------------------------------------

_UNARY_CATALOGUE = ("relu", "relu6", "elu", "selu", "gelu", "silu", "mish", "leaky_relu", "hardswish",
                    "hardsigmoid", "hardtanh", "sigmoid", "tanh", "softplus")
_POINTWISE = ("exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "abs", "neg", "negative", "sin",
              "cos", "tan", "erf", "sign", "floor", "ceil", "round", "trunc", "reciprocal", "square", "clamp",
              "clip", "clamp_min", "clamp_max", "logit", "softsign", "tanhshrink", "hardshrink", "softshrink",
              "celu", "rrelu", "logsigmoid", "normalize", "contiguous", "clone", "detach", "float", "double",
              "half", "bfloat16", "int", "long", "bool", "to", "cpu", "cuda", "type", "type_as",
              "requires_grad_", "zeros_like", "ones_like", "rand_like", "randn_like", "empty_like",
              "full_like", "nan_to_num", "masked_fill", "logical_not", "bitwise_not", "sigmoid_", "tanh_",
              "exp_", "clamp_", "abs_", "neg_", "zero_", "fill_", "float_power", "isnan", "isfinite",
              "dropout_", "cumsum", "cumprod", "flip", "roll", "relu_", "hardtanh_", "leaky_relu_", "elu_")
_BINARY = ("add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "truediv", "floordiv",
           "floor_divide", "mod", "remainder", "fmod", "pow", "maximum", "minimum", "fmax", "fmin", "eq", "ne",
           "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor", "and_", "or_", "xor",
           "bitwise_and", "bitwise_or", "atan2", "hypot")
_REDUCE = ("mean", "sum", "amax", "amin", "prod", "std", "var", "logsumexp", "all", "any", "argmax", "argmin",
           "nansum", "nanmean", "count_nonzero")


def _function_table() -> dict[Any, str]:
    import torch
    import torch.nn.functional as F

    table: dict[Any, str] = {}

    def put(obj: Any, name: str) -> None:
        try:
            table[obj] = name
        except TypeError:
            pass

    for mod in (operator,):
        for n in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "neg", "pos", "getitem",
                  "eq", "ne", "lt", "le", "gt", "ge", "and_", "or_", "xor", "iadd", "isub", "imul", "itruediv"):
            put(getattr(mod, n), n)
    put(builtins.getattr, "getattr")
    for n in ("cat", "concat", "concatenate"):
        if hasattr(torch, n):
            put(getattr(torch, n), "cat")
    for n in ("stack", "flatten", "reshape", "permute", "transpose", "swapaxes", "squeeze", "unsqueeze",
              "chunk", "split", "matmul", "mm", "bmm", "t", "softmax", "log_softmax", "broadcast_to", "max",
              "min", "norm", "narrow", "dropout", "feature_dropout", "alpha_dropout"):
        if hasattr(torch, n):
            put(getattr(torch, n), n)
    for n in _UNARY_CATALOGUE + _POINTWISE + _BINARY + _REDUCE:
        if hasattr(torch, n) and callable(getattr(torch, n)):
            put(getattr(torch, n), n)
        if hasattr(F, n) and callable(getattr(F, n)):
            put(getattr(F, n), n)
    for n in ("relu6", "hardtanh", "softmax", "log_softmax", "softmin", "dropout", "dropout1d", "dropout2d",
              "dropout3d", "alpha_dropout", "feature_alpha_dropout", "pad", "interpolate", "upsample",
              "upsample_nearest", "upsample_bilinear", "linear", "layer_norm", "group_norm", "pixel_shuffle",
              "pixel_unshuffle", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "instance_norm", "batch_norm", "local_response_norm", "embedding"):
        if hasattr(F, n):
            put(getattr(F, n), n)
    for kind in ("max", "avg"):
        for d in (1, 2, 3):
            put(getattr(F, f"{kind}_pool{d}d"), f"{kind}_pool{d}d")
            put(getattr(F, f"adaptive_{kind}_pool{d}d"), f"adaptive_{kind}_pool{d}d")
            if kind == "max" and hasattr(F, f"max_pool{d}d_with_indices"):
                put(getattr(F, f"max_pool{d}d_with_indices"), f"max_pool{d}d_with_indices")
    put(torch._assert, "_assert")
    try:
        from torch.fx._symbolic_trace import _assert_is_none

        put(_assert_is_none, "_assert")
    except ImportError:  # pragma: no cover - older torch
        pass
    return table


_TABLE: dict[Any, str] | None = None


def function_name(target: Any) -> str | None:
    global _TABLE
    if _TABLE is None:
        _TABLE = _function_table()
    try:
        return _TABLE.get(target)
    except TypeError:
        return None


def describe_target(target: Any) -> str:
    mod = getattr(target, "__module__", None) or ""
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target)
    if mod in ("torch._C._nn", "torch._C._VariableFunctions", "torch._C"):
        mod = "torch.nn.functional" if mod == "torch._C._nn" else "torch"
    for sub in ("fft", "linalg", "special", "nested", "sparse"):
        if mod == f"torch._C._{sub}":
            mod = f"torch.{sub}"
            if isinstance(name, str) and name.startswith(sub + "_"):
                name = name[len(sub) + 1:]
    if mod == "_operator":
        mod = "operator"
    return f"{mod}.{name}" if mod else str(name)


# ---- modules ---------------------------------------------------------------------------------------

_PAD_MODULES = {"ZeroPad": "constant", "ConstantPad": "constant", "ReflectionPad": "reflect",
                "ReplicationPad": "replicate", "CircularPad": "circular"}


def _module_specs() -> dict[str, str]:
    return {spec.torch_name: name for name, spec in REGISTRY.items() if spec.torch_name}


class Lowerer:
    """Translate one traced fx graph (see the module docstring)."""

    def __init__(self, root: Any, fx_graph: Any, input_shapes: Sequence[Any], *, file: str | None = None,
                 aliases: dict[str, str] | None = None, concrete: dict[int, Any] | None = None) -> None:
        self.root = root
        self.fx_graph = fx_graph
        self.input_shapes = list(input_shapes)
        self.file = file  # absolute path of the model file, to prefer its frames
        self.aliases = aliases or {}
        self.concrete = concrete or {}
        self.G: nx.DiGraph = new_graph()
        self.env: dict[Any, Any] = {}
        self.ranks: dict[str, int | None] = {}
        self.shapes: dict[str, tuple | None] = {}
        self.refs: dict[sympy.Symbol, tuple[str, int]] = {}
        self._ref_of: dict[tuple[str, int], sympy.Symbol] = {}
        self._names: set[str] = set()
        self._node: Any = None
        self.aug_seen: dict[tuple, int] = {}
        self.specs = _module_specs()

    # ---- driver -----------------------------------------------------------------------------
    def run(self) -> nx.DiGraph:
        ph = 0
        for node in self.fx_graph.nodes:
            self._node = node
            if node.op == "placeholder":
                self.env[node] = self.placeholder(node, ph)
                ph += 1
            elif node.op == "output":
                self.output(node)
            else:
                self.env[node] = getattr(self, node.op)(node)
        return self.G

    def placeholder(self, node: Any, index: int) -> Any:
        if index in self.concrete:
            return self.concrete[index]
        k = sum(1 for i in range(index) if i not in self.concrete)
        if k >= len(self.input_shapes):
            raise InputError(f"forward has more tensor inputs than the {len(self.input_shapes)} shape(s) given")
        name = self._fresh(str(node.target).lstrip("*"))
        add_input(self.G, name, self.input_shapes[k])
        self.G.nodes[name].update(self._location(node))
        self.shapes[name] = tuple(self.G.graph["inputs"][name])
        self.ranks[name] = len(self.shapes[name])
        return TensorVal(name)

    def output(self, node: Any) -> None:
        outs: list[str] = []

        def collect(v: Any) -> None:
            if isinstance(v, TensorVal):
                if v.name not in outs:
                    outs.append(v.name)
            elif isinstance(v, (list, tuple)):
                for x in v:
                    collect(x)
            elif isinstance(v, dict):
                for x in v.values():
                    collect(x)

        collect(self.val(node.args[0]))
        if not outs:
            raise InputError("forward returns no tensor")
        self.G.graph["outputs"] = outs

    def get_attr(self, node: Any) -> Any:
        import torch

        obj: Any = self.root
        for part in str(node.target).split("."):
            obj = getattr(obj, part)
        if isinstance(obj, torch.Tensor):
            return self.emit(node, "constant", {"shape": list(obj.shape)}, [])
        return obj

    # ---- values -----------------------------------------------------------------------------
    def val(self, a: Any) -> Any:
        from torch import fx

        if isinstance(a, fx.Node):
            return self.env[a]
        if isinstance(a, tuple):
            return tuple(self.val(x) for x in a)
        if isinstance(a, list):
            return [self.val(x) for x in a]
        if isinstance(a, dict):
            return {k: self.val(v) for k, v in a.items()}
        if isinstance(a, slice):
            return slice(self.val(a.start), self.val(a.stop), self.val(a.step))
        return a

    def size_of(self, tensor: str, d: int) -> Any:
        """The size ``d`` of ``tensor`` as a reference symbol (or its literal value if known)."""
        r = self.ranks.get(tensor)
        if r is not None:
            if not -r <= d < r:
                raise _NotLowered(f"size(dim={d}) of a rank-{r} tensor")
            d = d % r
            shape = self.shapes.get(tensor)
            if shape is not None and sympy.sympify(shape[d]).is_Integer:
                return int(shape[d])
        key = (tensor, d)
        if key not in self._ref_of:
            s = sympy.Symbol(f"_ref{len(self.refs)}", integer=True, positive=True)
            self.refs[s] = key
            self._ref_of[key] = s
        return self._ref_of[key]

    def shape_items(self, tensor: str) -> list[Any]:
        r = self.ranks.get(tensor)
        if r is None:
            raise _NotLowered("the rank of a tensor whose shape could not be inferred")
        return [self.size_of(tensor, d) for d in range(r)]

    def sizes(self, v: Any, what: str) -> list[Any]:
        """A list of sizes from ints, size expressions, shapes and tuples of them."""
        if isinstance(v, ShapeVal):
            return self.shape_items(v.tensor)
        if isinstance(v, (list, tuple)):
            out: list[Any] = []
            for x in v:
                if isinstance(x, (ShapeVal, list, tuple)):
                    out.extend(self.sizes(x, what))
                else:
                    out.append(self.size(x, what))
            return out
        return [self.size(v, what)]

    def size(self, v: Any, what: str) -> Any:
        if isinstance(v, bool) or not _is_size(v):
            raise _NotLowered(f"{what}: {self._show(v)} is not a size")
        v = _as_int(v)
        if isinstance(v, sympy.Expr):
            if not v.free_symbols <= set(self.refs):
                raise _NotLowered(f"{what}: cannot follow {v}")
            if not _integer_valued(v):
                raise _NotLowered(f"{what}: {self.show_size(v)} is not an integer (true division of sizes)")
        return v

    def show_size(self, e: Any) -> str:
        if not isinstance(e, sympy.Expr):
            return str(e)
        reps = {s: sympy.Symbol(f"{t}.size({d})") for s, (t, d) in self.refs.items() if s in e.free_symbols}
        return str(e.xreplace(reps))

    def _show(self, v: Any) -> str:
        if isinstance(v, TensorVal):
            return f"tensor {v.name}"
        if isinstance(v, Opaque):
            return f"<{v.reason}>"
        if isinstance(v, ShapeVal):
            return f"{v.tensor}.shape"
        if isinstance(v, sympy.Expr):
            return self.show_size(v)
        return repr(v)

    def tensor(self, v: Any, what: str) -> str:
        if isinstance(v, TensorVal):
            return v.name
        if isinstance(v, Opaque):
            raise _NotLowered(v.reason)
        raise _NotLowered(f"{what} must be a tensor, got {self._show(v)}")

    # ---- emitting nodes ---------------------------------------------------------------------
    def _fresh(self, base: str) -> str:
        name = base
        k = 1
        while name in self._names or name in self.G:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        return name

    def _location(self, node: Any) -> dict[str, Any]:
        trace = node.meta.get("stack_trace") or getattr(node, "stack_trace", None)
        site = user_frame(trace, prefer=self.file)
        if site is None:
            return {}
        out: dict[str, Any] = {"file": display_path(site.file, self.aliases), "line": site.line,
                               "source": site.source}
        frames = user_frames(trace)
        if frames and frames[0] != site:
            outer = frames[0]
            out["called_from"] = Site(display_path(outer.file, self.aliases), outer.line, outer.source)
        return out

    def emit(self, node: Any, op_name: str, params: dict[str, Any], args: list[str],
             suffix: str = "") -> TensorVal:
        try:
            op = Op.make(op_name, params)
        except ArtsError as e:
            return self.unsupported(node, f"{self.call_text(node)}: {e}", args, suffix)
        return self._add(node, op, args, suffix)

    def _add(self, node: Any, op: Op, args: list[str], suffix: str = "") -> TensorVal:
        # layers are named by their attribute path (layer1.0.conv1), everything else by fx's name
        base = str(node.target) if node.op == "call_module" else node.name
        name = self._fresh(base + suffix)
        attrs = self._location(node)
        attrs["fx"] = node.name
        if node.op == "call_module":
            attrs["module"] = str(node.target)
            try:
                site = site_of(self.root.get_submodule(str(node.target)))
            except AttributeError:
                site = None
            if site is not None:
                attrs["defined_at"] = Site(display_path(site.file, self.aliases), site.line, site.source)
        add_node(self.G, name, op, args, **attrs)
        self._infer(name, op, args)
        return TensorVal(name)

    def _infer(self, name: str, op: Op, args: list[str]) -> None:
        ins = [self.shapes.get(a) for a in args]
        shape = None
        if all(s is not None for s in ins):
            try:
                shape = tuple(op.apply(ins).shape)  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001 - typecheck reports it; here we only want ranks
                shape = None
        self.shapes[name] = shape
        self.ranks[name] = len(shape) if shape is not None else None

    def unsupported(self, node: Any, reason: str, args: Sequence[str] = (), suffix: str = "") -> TensorVal:
        op = Op.make("unsupported", {"reason": reason, "call": self.call_text(node)})
        args = [a for a in dict.fromkeys(args) if a in self.G]
        return self._add(node, op, list(args), suffix)

    def emit_sized(self, node: Any, op_name: str, x: str, key: str, entries: list[Any],
                   params: dict[str, Any], suffix: str = "") -> TensorVal:
        """Emit ``op_name`` on ``x`` with ``params[key] = entries`` (sizes over reference symbols)."""
        args = [x]
        reps: dict[sympy.Symbol, sympy.Symbol] = {}
        for e in entries:
            if isinstance(e, sympy.Expr):
                for s in sorted(e.free_symbols, key=lambda t: t.name):
                    t, d = self.refs[s]
                    if t not in args:
                        args.append(t)
                    reps[s] = placeholder(args.index(t), d)
        out = [e.xreplace(reps) if isinstance(e, sympy.Expr) else e for e in entries]
        return self.emit(node, op_name, {**params, key: out}, args, suffix)

    def call_text(self, node: Any) -> str:
        if node.op == "call_module":
            try:
                m = self.root.get_submodule(str(node.target))
                return f"self.{node.target} ({type(m).__module__}.{type(m).__name__})"
            except AttributeError:
                return f"self.{node.target}"
        if node.op == "call_method":
            return f"Tensor.{node.target}"
        if node.op == "call_function":
            return describe_target(node.target)
        return str(node.target)

    # ---- call_module ------------------------------------------------------------------------
    def call_module(self, node: Any) -> Any:
        args = [self.val(a) for a in node.args]
        kwargs = {k: self.val(v) for k, v in node.kwargs.items()}
        tensors = _tensors(args, kwargs)
        try:
            m = self.root.get_submodule(str(node.target))
            if len(args) != 1 or kwargs or not isinstance(args[0], TensorVal):
                raise _NotLowered(f"{type(m).__name__} called with {len(args)} positional and {len(kwargs)} "
                                  f"keyword arguments")
            x = args[0].name
            return self.lower_module(node, m, x)
        except _NotLowered as e:
            return self.unsupported(node, f"{self.call_text(node)}: {e}", tensors)

    def lower_module(self, node: Any, m: Any, x: str) -> TensorVal:
        cls = type(m).__name__
        for prefix, mode in _PAD_MODULES.items():
            if cls.startswith(prefix) and cls[len(prefix):] in ("1d", "2d", "3d"):
                pad = list(m.padding)
                params: dict[str, Any] = {"pad": pad, "mode": mode}
                if mode == "constant":
                    params["value"] = float(getattr(m, "value", 0.0))
                return self.emit(node, "pad", params, [x])
        if cls == "Softmax2d":
            return self.emit(node, "softmax", {"dim": -3}, [x])
        if getattr(m, "return_indices", False):
            raise _NotLowered("return_indices=True returns a tuple; arts models the values only")
        name = self.specs.get(cls)
        if name is None or not type(m).__module__.startswith("torch.nn"):
            raise _NotLowered(f"no shape rule for nn.{cls}")
        spec = REGISTRY[name]
        params = {}
        for p in spec.params:
            if p.name == "bias" and hasattr(m, "bias"):
                params["bias"] = m.bias is not None
            elif hasattr(m, p.name):
                v = getattr(m, p.name)
                if isinstance(v, list):
                    v = tuple(v)
                params[p.name] = v
        return self.emit(node, name, params, [x])

    # ---- call_function / call_method --------------------------------------------------------
    def call_function(self, node: Any) -> Any:
        name = function_name(node.target)
        return self._call(node, name, describe_target(node.target))

    def call_method(self, node: Any) -> Any:
        return self._call(node, str(node.target), f"Tensor.{node.target}")

    def _call(self, node: Any, name: str | None, shown: str) -> Any:
        args = [self.val(a) for a in node.args]
        kwargs = {k: self.val(v) for k, v in node.kwargs.items()}
        try:
            if name is None:
                raise _NotLowered(f"no shape rule for {shown}")
            handler = _HANDLERS.get(name)
            base = name[:-1] if name.endswith("_") and not name.endswith("__") else name
            if handler is None and base in _BINARY + ("iadd", "isub", "imul", "itruediv"):
                handler = _binary
            elif handler is None and (base in _UNARY_CATALOGUE or base in _POINTWISE or name in _POINTWISE):
                handler = _unary
            elif handler is None and base in _REDUCE:
                handler = _reduce
            if handler is None:
                raise _NotLowered(f"no shape rule for {shown}")
            try:
                return handler(self, node, name, *args, **kwargs)
            except TypeError as e:
                if "argument" in str(e):
                    raise _NotLowered(f"unexpected arguments to {shown}: {e}") from None
                raise
        except _NotLowered as e:
            reason = str(e) if shown in str(e) else f"{shown}: {e}"
            return self.unsupported(node, reason, _tensors(args, kwargs))


def _integer_valued(e: sympy.Expr) -> bool:
    if e.is_integer:
        return True
    # floor/ceiling/Mod of refs are integers; sympy may not always know it for composite forms
    return sympy.fraction(sympy.together(e))[1] == 1


def _tensors(args: Sequence[Any], kwargs: dict[str, Any]) -> list[str]:
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, TensorVal):
            out.append(v.name)
        elif isinstance(v, (SplitVal, ShapeVal)):
            out.append(v.tensor)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)

    walk(list(args))
    walk(kwargs)
    return out


# ---- handlers: (lowerer, fx node, canonical name, *args, **kwargs) -> value -----------------------

Handler = Callable[..., Any]
_HANDLERS: dict[str, Handler] = {}


def handles(*names: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        for n in names:
            _HANDLERS[n] = fn
        return fn
    return deco


def _unary(L: Lowerer, node: Any, name: str, x: Any, *args: Any, **kwargs: Any) -> Any:
    if _is_size(x) and not isinstance(x, bool):
        if name in ("neg", "negative"):
            return -x
        if name in ("float", "int"):
            return x
        raise _NotLowered(f"{name} of a size")
    t = L.tensor(x, "the input")
    base = name.removesuffix("_")
    fmt = str(kwargs.get("memory_format", "torch.preserve_format"))
    if fmt not in ("torch.preserve_format", "torch.contiguous_format"):  # channels_last: layout unknown
        return L.emit(node, "pointwise", {"fn": f"{base}(memory_format={fmt})"}, [t])
    if base == "contiguous" or fmt == "torch.contiguous_format":  # layout-resetting (arts.ops.layout)
        return L.emit(node, "contiguous", {}, [t])
    if base in _UNARY_CATALOGUE:
        return L.emit(node, base, {}, [t])
    extra = [v.name for v in list(args) + list(kwargs.values()) if isinstance(v, TensorVal)]
    if extra and base in ("type_as", "masked_fill", "to"):
        # the result has x's shape; a mask must broadcast to it
        if base == "masked_fill":
            return L.emit(node, "broadcast_op", {"fn": "masked_fill", "inplace": True}, [t, extra[0]])
        return L.emit(node, "pointwise", {"fn": base}, [t])
    if extra:
        raise _NotLowered(f"{name} with tensor arguments")
    return L.emit(node, "pointwise", {"fn": base}, [t])


@handles("_assert")
def _noop(L: Lowerer, node: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    return None


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
        raise _NotLowered(f"{name} of sizes")
    if name in ("floordiv", "mod") and not (isinstance(b, int) and b > 0):
        raise _NotLowered(f"{name} of sizes by a non-constant or non-positive divisor")
    if name in ("eq", "ne", "lt", "le", "gt", "ge") and (isinstance(a, sympy.Expr) or isinstance(b, sympy.Expr)):
        raise _NotLowered("a comparison of symbolic sizes")
    r = fn(a, b)
    return _as_int(r) if isinstance(r, sympy.Expr) else r


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


def _unpack_count(node: Any, L: Lowerer) -> int | None:
    """How many names the statement of ``node`` unpacks into (``a, b = x.chunk(2)``), if any."""
    src = (L._location(node).get("source") or "").strip()
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return None
    if tree.body and isinstance(tree.body[0], ast.Assign):
        t = tree.body[0].targets[0]
        if isinstance(t, (ast.Tuple, ast.List)) and not any(isinstance(e, ast.Starred) for e in t.elts):
            return len(t.elts)
    return None


def _binary(L: Lowerer, node: Any, name: str, a: Any, b: Any = None, *rest: Any, **kwargs: Any) -> Any:
    base = name.rstrip("_")
    inplace = name.endswith("_") and not name.endswith("__")
    if base.startswith("i") and base[1:] in ("add", "sub", "mul", "truediv"):
        base, inplace = base[1:], True
    if "other" in kwargs:
        b = kwargs.pop("other")
    sized_a = _is_size(a) and not isinstance(a, bool)
    sized_b = _is_size(b) and not isinstance(b, bool)
    if sized_a and sized_b:
        return _scalar_op(base, _as_int(a), _as_int(b))
    if name == "add" and isinstance(a, (tuple, list, ShapeVal)) and isinstance(b, (tuple, list, ShapeVal)):
        left = tuple(L.sizes(a, "shape")) if isinstance(a, ShapeVal) else tuple(a)
        right = tuple(L.sizes(b, "shape")) if isinstance(b, ShapeVal) else tuple(b)
        return left + right
    if isinstance(a, TensorVal) and isinstance(b, TensorVal):
        if node.op == "call_function" and base in _AUG_OPS and _inplace_statement(node, L, base):
            inplace = True
        if not inplace and base in ("add", "sub", "mul", "div"):
            return L.emit(node, base, {}, [a.name, b.name])
        return L.emit(node, "broadcast_op", {"fn": base, "inplace": inplace}, [a.name, b.name])
    if isinstance(a, TensorVal) and (sized_b or isinstance(b, (float, bool)) or b is None):
        return L.emit(node, "pointwise", {"fn": base}, [a.name])
    if isinstance(b, TensorVal) and (sized_a or isinstance(a, (float, bool))):
        return L.emit(node, "pointwise", {"fn": base}, [b.name])
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return _scalar_op(base, a, b)
    raise _NotLowered(f"{name} of {L._show(a)} and {L._show(b)}")


@handles("neg", "pos")
def _negate(L: Lowerer, node: Any, name: str, a: Any) -> Any:
    if _is_size(a):
        return -a if name == "neg" else a
    return L.emit(node, "pointwise", {"fn": name}, [L.tensor(a, "the input")])


@handles("matmul", "mm", "bmm")
def _matmul(L: Lowerer, node: Any, name: str, a: Any, b: Any) -> Any:
    return L.emit(node, "matmul", {}, [L.tensor(a, "the first operand"), L.tensor(b, "the second operand")])


@handles("getattr")
def _getattr(L: Lowerer, node: Any, name: str, obj: Any, attr: str, *default: Any) -> Any:
    if isinstance(obj, TensorVal):
        if attr == "shape":
            return ShapeVal(obj.name)
        if attr == "ndim":
            r = L.ranks.get(obj.name)
            if r is None:
                raise _NotLowered("the rank of a tensor whose shape could not be inferred")
            return r
        if attr in ("data", "real"):
            return obj
        if attr == "T":
            r = L.ranks.get(obj.name)
            if r is None:
                raise _NotLowered("the rank of a tensor whose shape could not be inferred")
            return L.emit(node, "permute", {"dims": list(range(r))[::-1]}, [obj.name])
        return Opaque(f"tensor attribute .{attr}")
    if isinstance(obj, Opaque):
        return obj
    if isinstance(obj, tuple) and hasattr(obj, "_fields") and attr in obj._fields:
        return getattr(obj, attr)
    try:
        return getattr(obj, attr)
    except Exception:  # noqa: BLE001
        raise _NotLowered(f"attribute .{attr} of {L._show(obj)}") from None


@handles("getitem")
def _getitem(L: Lowerer, node: Any, name: str, obj: Any, idx: Any) -> Any:
    if isinstance(obj, ShapeVal):
        if isinstance(idx, int) and not isinstance(idx, bool):
            return L.size_of(obj.tensor, idx)
        if isinstance(idx, slice) and all(v is None or isinstance(v, int) for v in (idx.start, idx.stop, idx.step)):
            return tuple(L.shape_items(obj.tensor)[idx])
        raise _NotLowered(f"shape indexed by {L._show(idx)}")
    if isinstance(obj, SplitVal):
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise _NotLowered(f"{obj.kind} result indexed by {L._show(idx)}")
        if idx < 0:
            if obj.kind == "split" and isinstance(obj.size, tuple):
                idx += len(obj.size)
            else:
                raise _NotLowered(f"negative index into the parts of {obj.kind}")
        last = _unpack_count(node, L) == idx + 1
        if obj.kind == "chunk":
            return L.emit(node, "chunk_part", {"chunks": obj.size, "dim": obj.dim, "index": idx, "last": last},
                          [obj.tensor])
        return L.emit(node, "split_part", {"split_size": obj.size, "dim": obj.dim, "index": idx, "last": last},
                      [obj.tensor])
    if isinstance(obj, (tuple, list)):
        if isinstance(idx, (int, slice)) and not isinstance(idx, bool):
            try:
                return obj[idx]
            except IndexError:
                raise _NotLowered(f"index {idx} out of range") from None
        raise _NotLowered(f"a sequence indexed by {L._show(idx)}")
    if isinstance(obj, dict):
        try:
            return obj[idx]
        except (KeyError, TypeError):
            raise _NotLowered(f"key {idx!r}") from None
    if isinstance(obj, TensorVal):
        items = idx if isinstance(idx, tuple) else (idx,)
        spec = []
        for it in items:
            if it is None:
                spec.append(("none",))
            elif it is Ellipsis:
                spec.append(("ellipsis",))
            elif isinstance(it, int) and not isinstance(it, bool):
                spec.append(("int", it))
            elif isinstance(it, slice):
                parts = [_as_int(v) for v in (it.start, it.stop, it.step)]
                if not all(v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in parts):
                    raise _NotLowered("slicing with bounds computed from sizes")
                if parts[2] is not None and parts[2] < 1:
                    raise _NotLowered(f"slice step {parts[2]} (torch requires a positive step)")
                spec.append(("slice", *parts))
            elif isinstance(it, (TensorVal, list)):
                raise _NotLowered("advanced (tensor or list) indexing")
            else:
                raise _NotLowered(f"indexing with {L._show(it)}")
        return L.emit(node, "index", {"index": spec}, [obj.name])
    if isinstance(obj, Opaque):
        return obj
    raise _NotLowered(f"indexing {L._show(obj)}")


@handles("size")
def _size(L: Lowerer, node: Any, name: str, x: Any, dim: Any = None) -> Any:
    t = L.tensor(x, "size()")
    if dim is None:
        return ShapeVal(t)
    if not isinstance(dim, int):
        raise _NotLowered(f"size({L._show(dim)})")
    return L.size_of(t, dim)


@handles("dim", "ndimension")
def _dim(L: Lowerer, node: Any, name: str, x: Any) -> Any:
    t = L.tensor(x, "dim()")
    r = L.ranks.get(t)
    if r is None:
        raise _NotLowered("the rank of a tensor whose shape could not be inferred")
    return r


@handles("numel", "nelement")
def _numel(L: Lowerer, node: Any, name: str, x: Any) -> Any:
    items = L.shape_items(L.tensor(x, "numel()"))
    return _as_int(sympy.Mul(*[sympy.sympify(i) for i in items]))


@handles("cat", "stack")
def _cat(L: Lowerer, node: Any, name: str, tensors: Any, dim: int = 0, *, out: Any = None, axis: Any = None) -> Any:
    if axis is not None:
        dim = axis
    if not isinstance(tensors, (list, tuple)):
        raise _NotLowered(f"{name} of {L._show(tensors)}")
    ts = [L.tensor(t, f"each input of {name}") for t in tensors]
    if not ts:
        raise _NotLowered(f"{name} of an empty list")
    if not isinstance(dim, int):
        raise _NotLowered(f"{name} along a computed dimension")
    return L.emit(node, name, {"dim": dim}, ts)


@handles("flatten")
def _flatten(L: Lowerer, node: Any, name: str, x: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    # torch.flatten and Tensor.flatten default to start_dim=0 (nn.Flatten's 1 does not apply here)
    return L.emit(node, "flatten", {"start_dim": start_dim, "end_dim": end_dim}, [L.tensor(x, "the input")])


@handles("view", "reshape")
def _view(L: Lowerer, node: Any, name: str, x: Any, *shape: Any, **kwargs: Any) -> Any:
    t = L.tensor(x, "the input")
    if "shape" in kwargs:
        shape = (kwargs.pop("shape"),)
    if "size" in kwargs:
        shape = (kwargs.pop("size"),)
    if kwargs:
        raise _NotLowered(f"{name} with {', '.join(kwargs)}")
    if len(shape) == 1 and not isinstance(shape[0], TensorVal) and not _is_size(shape[0]):
        if isinstance(shape[0], (list, tuple, ShapeVal)):
            shape = tuple(L.sizes(shape[0], f"{name} shape"))
        else:
            raise _NotLowered(f"{name} to dtype or {L._show(shape[0])}")
    entries = [L.size(s, f"{name} shape") for s in shape]
    if all(isinstance(e, int) for e in entries):
        return L.emit(node, name, {"shape": entries}, [t])
    return L.emit_sized(node, f"sized_{name}", t, "shape", entries, {})


@handles("view_as", "reshape_as")
def _view_as(L: Lowerer, node: Any, name: str, x: Any, other: Any) -> Any:
    t, o = L.tensor(x, "the input"), L.tensor(other, "the other tensor")
    entries = L.shape_items(o)
    op = "view" if name == "view_as" else "reshape"
    if all(isinstance(e, int) for e in entries):
        return L.emit(node, op, {"shape": entries}, [t])
    return L.emit_sized(node, f"sized_{op}", t, "shape", entries, {})


@handles("expand_as")
def _expand_as(L: Lowerer, node: Any, name: str, x: Any, other: Any) -> Any:
    return L.emit(node, "expand_as", {}, [L.tensor(x, "the input"), L.tensor(other, "the other tensor")])


@handles("permute")
def _permute(L: Lowerer, node: Any, name: str, x: Any, *dims: Any, **kwargs: Any) -> Any:
    if "dims" in kwargs:
        dims = (kwargs.pop("dims"),)
    if len(dims) == 1 and isinstance(dims[0], (list, tuple)):
        dims = tuple(dims[0])
    if not all(isinstance(d, int) for d in dims):
        raise _NotLowered("permute with computed dimensions")
    return L.emit(node, "permute", {"dims": list(dims)}, [L.tensor(x, "the input")])


@handles("transpose", "swapaxes")
def _transpose(L: Lowerer, node: Any, name: str, x: Any, dim0: int, dim1: int) -> Any:
    return L.emit(node, "transpose", {"dim0": dim0, "dim1": dim1}, [L.tensor(x, "the input")])


@handles("t")
def _t(L: Lowerer, node: Any, name: str, x: Any) -> Any:
    t = L.tensor(x, "the input")
    r = L.ranks.get(t)
    if r is None:
        raise _NotLowered("the rank of a tensor whose shape could not be inferred")
    if r > 2:
        return L.unsupported(node, f"t() expects a tensor with <= 2 dimensions, but self is {r}D", [t])
    return L.emit(node, "pointwise", {"fn": "t"}, [t]) if r < 2 else L.emit(
        node, "transpose", {"dim0": 0, "dim1": 1}, [t])


@handles("unsqueeze")
def _unsqueeze(L: Lowerer, node: Any, name: str, x: Any, dim: int) -> Any:
    return L.emit(node, "unsqueeze", {"dim": dim}, [L.tensor(x, "the input")])


@handles("squeeze")
def _squeeze(L: Lowerer, node: Any, name: str, x: Any, dim: Any = None) -> Any:
    if isinstance(dim, list):
        dim = tuple(dim)
    return L.emit(node, "squeeze", {"dim": dim}, [L.tensor(x, "the input")])


def _reduce(L: Lowerer, node: Any, name: str, x: Any, dim: Any = None, keepdim: bool = False, *rest: Any,
            **kwargs: Any) -> Any:
    t = L.tensor(x, "the input")
    for k in ("dtype", "out", "correction", "unbiased", "p"):
        kwargs.pop(k, None)
    if "axis" in kwargs:
        dim = kwargs.pop("axis")
    if kwargs:
        raise _NotLowered(f"{name} with {', '.join(kwargs)}")
    if name in ("std", "var") and isinstance(keepdim, bool) and rest:
        keepdim = rest[0]  # std(input, dim, unbiased, keepdim)
    if isinstance(dim, list):
        dim = tuple(dim)
    if not (dim is None or isinstance(dim, int) or (isinstance(dim, tuple) and all(isinstance(d, int) for d in dim))):
        raise _NotLowered(f"{name} over {L._show(dim)}")
    if not isinstance(keepdim, bool):
        raise _NotLowered(f"{name} with keepdim={L._show(keepdim)}")
    return L.emit(node, "reduce", {"fn": name, "dim": dim, "keepdim": keepdim}, [t])


@handles("max", "min")
def _maxmin(L: Lowerer, node: Any, name: str, x: Any, dim: Any = None, keepdim: bool = False, **kwargs: Any) -> Any:
    if isinstance(dim, TensorVal):
        return _binary(L, node, "maximum" if name == "max" else "minimum", x, dim)
    if _is_size(x):
        raise _NotLowered(f"{name} of sizes")
    keepdim = kwargs.pop("keepdim", keepdim)
    if "dim" in kwargs:
        dim = kwargs.pop("dim")
    t = L.tensor(x, "the input")
    if dim is None:
        return L.emit(node, "reduce", {"fn": name, "dim": None, "keepdim": False}, [t])
    values = L.emit(node, "reduce", {"fn": name, "dim": dim, "keepdim": keepdim}, [t])
    indices = L.emit(node, "reduce", {"fn": "arg" + name, "dim": dim, "keepdim": keepdim}, [t], suffix="_indices")
    from collections import namedtuple

    pair = namedtuple("pair", ["values", "indices"])
    return pair(values, indices)


@handles("norm")
def _norm(L: Lowerer, node: Any, name: str, x: Any, p: Any = "fro", dim: Any = None, keepdim: bool = False,
          **kwargs: Any) -> Any:
    return _reduce(L, node, "norm", x, dim, keepdim)


@handles("chunk")
def _chunk(L: Lowerer, node: Any, name: str, x: Any, chunks: int, dim: int = 0) -> Any:
    if not isinstance(chunks, int) or not isinstance(dim, int):
        raise _NotLowered("chunk with computed arguments")
    return SplitVal(L.tensor(x, "the input"), "chunk", chunks, dim)


@handles("split")
def _split(L: Lowerer, node: Any, name: str, x: Any, split_size_or_sections: Any = None, dim: int = 0,
           **kwargs: Any) -> Any:
    size = kwargs.pop("split_size", split_size_or_sections)
    if isinstance(size, list):
        size = tuple(size)
    if not (isinstance(size, int) or (isinstance(size, tuple) and all(isinstance(s, int) for s in size))):
        raise _NotLowered("split with computed sizes")
    return SplitVal(L.tensor(x, "the input"), "split", size, dim)


@handles("narrow")
def _narrow(L: Lowerer, node: Any, name: str, x: Any, dim: int, start: Any, length: Any) -> Any:
    if not all(isinstance(v, int) for v in (dim, start, length)):
        raise _NotLowered("narrow with computed arguments")
    t = L.tensor(x, "the input")
    r = L.ranks.get(t)
    if r is None:
        raise _NotLowered("the rank of a tensor whose shape could not be inferred")
    d = dim % r if -r <= dim < r else dim
    spec: list[tuple] = [("slice", None, None, None)] * r
    if start < 0 or length < 0:
        raise _NotLowered("narrow with a negative start or length")
    spec[d] = ("slice", start, start + length, None)
    # narrow fails (rather than clamping) when start + length exceeds the size: require it
    return L.emit(node, "index", {"index": spec}, [t]) if length else L.unsupported(node, "narrow to length 0", [t])


@handles("broadcast_to", "expand")
def _expand(L: Lowerer, node: Any, name: str, x: Any, *sizes: Any) -> Any:
    raise _NotLowered(f"{name} to explicit sizes")


@handles("softmax", "log_softmax", "softmin")
def _softmax(L: Lowerer, node: Any, name: str, x: Any, dim: Any = None, *rest: Any, **kwargs: Any) -> Any:
    op = "softmax" if name == "softmin" else name
    return L.emit(node, op, {"dim": dim}, [L.tensor(x, "the input")])


@handles("dropout", "alpha_dropout", "feature_alpha_dropout", "feature_dropout")
def _dropout(L: Lowerer, node: Any, name: str, x: Any, p: float = 0.5, training: bool = True,
             inplace: bool = False, **kwargs: Any) -> Any:
    op = "alpha_dropout" if "alpha" in name else "dropout"
    return L.emit(node, op, {"p": p}, [L.tensor(x, "the input")])


@handles("dropout1d", "dropout2d", "dropout3d")
def _feature_dropout(L: Lowerer, node: Any, name: str, x: Any, p: float = 0.5, training: bool = True,
                     inplace: bool = False) -> Any:
    return L.emit(node, name, {"p": p if training else 0.0}, [L.tensor(x, "the input")])


@handles("pad")
def _pad(L: Lowerer, node: Any, name: str, x: Any, pad: Any, mode: str = "constant", value: Any = None) -> Any:
    t = L.tensor(x, "the input")
    amounts = L.sizes(pad, "pad") if isinstance(pad, (list, tuple, ShapeVal)) else [L.size(pad, "pad")]
    if all(isinstance(a, int) for a in amounts):
        params: dict[str, Any] = {"pad": amounts, "mode": mode}
        if value is not None:
            params["value"] = value
        return L.emit(node, "pad", params, [t])
    if mode != "constant":
        raise _NotLowered(f"{mode} padding by amounts computed from sizes")
    return L.emit_sized(node, "sized_pad", t, "pad", amounts, {"mode": "constant"})


def _interp(L: Lowerer, node: Any, x: Any, size: Any, scale_factor: Any, mode: str, align_corners: Any,
            recompute_scale_factor: Any = None, antialias: bool = False) -> Any:
    t = L.tensor(x, "the input")
    if size is not None:
        if isinstance(scale_factor, (int, float)) and scale_factor is not None:
            raise _NotLowered("both size and scale_factor")
        entries = L.sizes(size, "size") if isinstance(size, (list, tuple, ShapeVal)) else [L.size(size, "size")]
        if all(isinstance(e, int) for e in entries):
            params: dict[str, Any] = {"size": entries if isinstance(size, (list, tuple, ShapeVal)) else entries[0],
                                      "mode": mode, "align_corners": align_corners, "antialias": antialias}
            return L.emit(node, "interpolate", params, [t])
        if antialias:
            raise _NotLowered("antialias with sizes computed from other tensors")
        return L.emit_sized(node, "sized_interpolate", t, "size", entries, {"mode": mode})
    sf = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else scale_factor
    if isinstance(sf, list) and not all(isinstance(s, (int, float)) for s in sf):
        raise _NotLowered("scale factors computed from sizes")
    return L.emit(node, "interpolate", {"scale_factor": sf, "mode": mode, "align_corners": align_corners,
                                        "recompute_scale_factor": recompute_scale_factor,
                                        "antialias": antialias}, [t])


@handles("interpolate", "upsample")
def _interpolate(L: Lowerer, node: Any, name: str, x: Any, size: Any = None, scale_factor: Any = None,
                 mode: str = "nearest", align_corners: Any = None, recompute_scale_factor: Any = None,
                 antialias: bool = False) -> Any:
    return _interp(L, node, x, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias)


@handles("upsample_nearest", "upsample_bilinear")
def _upsample_old(L: Lowerer, node: Any, name: str, x: Any, size: Any = None, scale_factor: Any = None) -> Any:
    if name == "upsample_nearest":
        return _interp(L, node, x, size, scale_factor, "nearest", None)
    return _interp(L, node, x, size, scale_factor, "bilinear", True)


def _ints(v: Any, what: str) -> Any:
    if isinstance(v, list):
        v = tuple(v)
    if isinstance(v, tuple):
        v = tuple(_as_int(x) for x in v)
        if not all(isinstance(x, int) for x in v):
            raise _NotLowered(f"{what} computed from sizes")
        return v
    v = _as_int(v)
    if v is not None and not isinstance(v, (int, str)):
        raise _NotLowered(f"{what} computed from sizes")
    return v


def _pool(kind: str, n: int) -> Handler:
    def handler(L: Lowerer, node: Any, name: str, x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
                *rest: Any, **kwargs: Any) -> Any:
        t = L.tensor(x, "the input")
        params: dict[str, Any] = {"kernel_size": _ints(kernel_size, "kernel_size"),
                                  "stride": _ints(stride, "stride") if stride not in (None, [], ()) else None,
                                  "padding": _ints(padding, "padding")}
        if kind == "max":
            names = ["dilation", "ceil_mode", "return_indices"]
        else:
            names = ["ceil_mode", "count_include_pad"] + (["divisor_override"] if n > 1 else [])
        for k, v in zip(names, rest):
            params[k] = v
        params.update(kwargs)
        if "dilation" in params:
            params["dilation"] = _ints(params["dilation"], "dilation")
        if params.pop("return_indices", False) or name.endswith("_with_indices"):
            raise _NotLowered("return_indices=True returns a tuple; arts models the values only")
        return L.emit(node, f"{kind}_pool{n}d", params, [t])
    return handler


def _adaptive(kind: str, n: int) -> Handler:
    def handler(L: Lowerer, node: Any, name: str, x: Any, output_size: Any, return_indices: bool = False) -> Any:
        if return_indices:
            raise _NotLowered("return_indices=True returns a tuple; arts models the values only")
        os_ = list(output_size) if isinstance(output_size, (list, tuple)) else output_size
        if isinstance(os_, list):
            os_ = [None if v is None else _as_int(v) for v in os_]
            if not all(v is None or isinstance(v, int) for v in os_):
                raise _NotLowered("output_size computed from sizes")
        return L.emit(node, f"adaptive_{kind}_pool{n}d", {"output_size": os_}, [L.tensor(x, "the input")])
    return handler


for _k in ("max", "avg"):
    for _n in (1, 2, 3):
        _HANDLERS[f"{_k}_pool{_n}d"] = _pool(_k, _n)
        _HANDLERS[f"adaptive_{_k}_pool{_n}d"] = _adaptive(_k, _n)
        if _k == "max":
            _HANDLERS[f"max_pool{_n}d_with_indices"] = _pool(_k, _n)


def _const_shape(L: Lowerer, v: Any, what: str) -> tuple[int, ...]:
    if isinstance(v, TensorVal):
        s = L.shapes.get(v.name)
        if s is not None and all(sympy.sympify(x).is_Integer for x in s) and L.G.nodes[v.name].get("op") is not None \
                and L.G.nodes[v.name]["op"].name == "constant":
            return tuple(int(x) for x in s)
    raise _NotLowered(f"{what} is not a module parameter of known shape")


def _conv_fn(n: int, transposed: bool) -> Handler:
    def handler(L: Lowerer, node: Any, name: str, x: Any, weight: Any, bias: Any = None, stride: Any = 1,
                padding: Any = 0, *rest: Any, **kwargs: Any) -> Any:
        t = L.tensor(x, "the input")
        w = _const_shape(L, weight, "the weight")
        if len(w) != n + 2:
            raise _NotLowered(f"a weight of rank {len(w)}")
        if transposed:
            names = ["output_padding", "groups", "dilation"]
        else:
            names = ["dilation", "groups"]
        extra = dict(zip(names, rest))
        extra.update(kwargs)
        groups = extra.get("groups", 1)
        params: dict[str, Any] = {"kernel_size": w[2:], "stride": _ints(stride, "stride"),
                                  "padding": _ints(padding, "padding"), "groups": groups,
                                  "bias": bias is not None}
        if transposed:
            params.update(in_channels=w[0], out_channels=w[1] * groups)
            if "output_padding" in extra:
                params["output_padding"] = _ints(extra["output_padding"], "output_padding")
        else:
            params.update(in_channels=w[1] * groups, out_channels=w[0])
        if "dilation" in extra:
            params["dilation"] = _ints(extra["dilation"], "dilation")
        op = f"conv_transpose{n}d" if transposed else f"conv{n}d"
        return L.emit(node, op, params, [t])
    return handler


for _n in (1, 2, 3):
    _HANDLERS[f"conv{_n}d"] = _conv_fn(_n, False)
    _HANDLERS[f"conv_transpose{_n}d"] = _conv_fn(_n, True)


@handles("linear")
def _linear(L: Lowerer, node: Any, name: str, x: Any, weight: Any, bias: Any = None) -> Any:
    w = _const_shape(L, weight, "the weight")
    if len(w) != 2:
        raise _NotLowered(f"a weight of rank {len(w)}")
    return L.emit(node, "linear", {"in_features": w[1], "out_features": w[0], "bias": bias is not None},
                  [L.tensor(x, "the input")])


@handles("layer_norm")
def _layer_norm(L: Lowerer, node: Any, name: str, x: Any, normalized_shape: Any, *rest: Any, **kwargs: Any) -> Any:
    ns = _ints(list(normalized_shape) if isinstance(normalized_shape, (list, tuple)) else [normalized_shape],
               "normalized_shape")
    return L.emit(node, "layer_norm", {"normalized_shape": list(ns)}, [L.tensor(x, "the input")])


@handles("group_norm")
def _group_norm(L: Lowerer, node: Any, name: str, x: Any, num_groups: int, *rest: Any, **kwargs: Any) -> Any:
    return L.emit(node, "group_norm", {"num_groups": num_groups, "affine": False}, [L.tensor(x, "the input")])


@handles("pixel_shuffle", "pixel_unshuffle")
def _pixel(L: Lowerer, node: Any, name: str, x: Any, factor: int) -> Any:
    key = "upscale_factor" if name == "pixel_shuffle" else "downscale_factor"
    return L.emit(node, name, {key: factor}, [L.tensor(x, "the input")])


def lower(root: Any, fx_graph: Any, input_shapes: Sequence[Any], **kw: Any) -> nx.DiGraph:
    """Lower ``fx_graph`` (traced from ``root``) with the given input shapes."""
    return Lowerer(root, fx_graph, input_shapes, **kw).run()


_ = math
