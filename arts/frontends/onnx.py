"""``arts check model.onnx``: an ONNX graph lowered to the op catalogue, checked for every size.

Reads the file with the ``onnx`` package only (protobuf parsing; nothing in the model runs).

* **Inputs**: each graph input that is not an initializer; a ``dim_param`` becomes a dimension
  symbol (``"batch"`` -> ``batch``), a ``dim_value`` a fixed size, a dim with neither a fresh
  symbol (``x_2``).
* **Nodes** are lowered one by one to catalogue ops (``Conv`` -> ``conv2d``, ``MaxPool`` ->
  ``max_pool2d`` ...), each arts node named after the ONNX node (its ``name``, else
  ``<OpType>_<k>``) and carrying ``Conv 'name'`` as its source line, so diagnostics name it.
  Initializers give the weight shapes (channels, kernel sizes).
* **Shape arithmetic** (``Shape -> Gather -> Concat -> Reshape``, as exporters write dynamic
  reshapes) is folded: small integer tensors whose values are known (initializers, ``Constant``,
  ``Shape`` of a tensor of known symbolic shape, and ``Gather/Slice/Concat/Unsqueeze/Squeeze/
  Cast/Add/Sub/Mul/Div`` of those) are tracked as size expressions.
* **No rule** (an op, an attribute or an opset arts does not model) -> an ``unsupported`` node
  naming the ONNX node, so the report is ``unknown`` -- never ``ok``.

A file that is not an ONNX model, a node reading a tensor nothing produces, or a cycle: one
:class:`arts.InputError` (exit 2 at the command line).
"""

from __future__ import annotations

import os
import re
from math import prod
from typing import Any, Callable, Sequence

import networkx as nx
import sympy

from arts.errors import InputError, Unsupported
from arts.graph.graph import add_input, add_node, new_graph
from arts.ops.base import Op, StaticShapeError
from arts.solver.symbols import dim

__all__ = ["MAX_OPSET", "check_onnx", "load_onnx", "onnx_graph"]

#: The newest default-domain opset whose operator semantics the rules below were written against.
MAX_OPSET = 23
#: Integer tensors up to this many elements are tracked by value (shape arithmetic).
MAX_VALUE_ELEMS = 64
_BIG = 2**31 - 1

_UNARY = {
    "Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Elu": "elu", "Selu": "selu",
    "HardSigmoid": "hardsigmoid", "HardSwish": "hardswish", "Softplus": "softplus", "Mish": "mish",
}
_POINTWISE = {"Exp", "Log", "Sqrt", "Neg", "Abs", "Erf", "Gelu", "Cast", "Not", "Sign", "Reciprocal", "Floor",
              "Ceil", "Round", "Sin", "Cos", "Clip", "PRelu_scalar", "Softsign", "ThresholdedRelu", "Celu",
              "IsNaN", "IsInf", "CastLike", "Shrink", "Hardmax"}
_BINARY = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Pow": "pow", "Max": "maximum",
           "Min": "minimum", "Equal": "eq", "Greater": "gt", "Less": "lt", "GreaterOrEqual": "ge",
           "LessOrEqual": "le", "And": "logical_and", "Or": "logical_or", "Xor": "logical_xor", "Mod": "fmod",
           "PRelu": "prelu"}
_REDUCE = {"ReduceMean": "mean", "ReduceSum": "sum", "ReduceMax": "amax", "ReduceMin": "amin",
           "ReduceProd": "prod", "ReduceL2": "norm", "ReduceL1": "sum", "ReduceSumSquare": "sum",
           "ReduceLogSumExp": "sum"}
_IDENTITY = {"Identity", "Dropout"}


def _safe_name(text: str, fallback: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", text or "")
    if not name:
        name = fallback
    if name[0].isdigit():
        name = "d_" + name
    return name


_AFFINE_PARAM = re.compile(r"^\s*(?:(\d+)\s*\*\s*)?([A-Za-z_][A-Za-z0-9_]*)\s*(?:([+-])\s*(\d+))?\s*$")


def _dim_param(text: str, fallback: str) -> sympy.Expr:
    """A ``dim_param`` as a size: a name (``"batch"``), or an affine form ``"16*H16"`` /
    ``"2*s0 + 1"`` (as torch.onnx.export writes derived dims) over a positive symbol; anything
    else becomes one symbol named after the text."""
    m = _AFFINE_PARAM.match(text or "")
    if m and (m.group(1) or m.group(3)):
        a = int(m.group(1) or 1)
        b = int(m.group(4) or 0) * (-1 if m.group(3) == "-" else 1)
        if a >= 1 and a + b >= 1:
            return a * dim(m.group(2)) + b
    return dim(_safe_name(text, fallback))


def load_onnx(path: str) -> Any:
    """Parse ``path`` as an ONNX model (no code runs); InputError on anything else."""
    try:
        import onnx
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError("reading .onnx files needs the onnx package (pip install onnx)", path) from None
    if not os.path.exists(path):
        raise InputError("no such file", path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path) from None
    try:
        model = onnx.ModelProto.FromString(data)
    except Exception as e:  # noqa: BLE001 - protobuf raises DecodeError or RuntimeError by version
        raise InputError(f"not an ONNX model (cannot parse it: {type(e).__name__})", path) from None
    if not model.ir_version or not model.HasField("graph"):
        raise InputError("not an ONNX model (no IR version or no graph)", path)
    return model


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        out[a.name] = v
    return out


class _Lowering:
    """One pass over the ONNX nodes (in topological order), building the arts graph."""

    def __init__(self, model: Any, path: str) -> None:
        self.model = model
        self.path = path
        self.graph = model.graph
        self.G = new_graph()
        self.opset = 1
        for imp in model.opset_import:
            if imp.domain in ("", "ai.onnx"):
                self.opset = int(imp.version)
        self.inits: dict[str, Any] = {t.name: t for t in self.graph.initializer}
        self.tensor: dict[str, str] = {}  # ONNX tensor name -> arts node computing it
        self.shape: dict[str, tuple] = {}  # ONNX tensor name -> symbolic shape (when known)
        self.value: dict[str, list[sympy.Expr]] = {}  # small integer tensors: flat values
        self.vshape: dict[str, tuple[int, ...]] = {}
        self.input_symbols: dict[sympy.Symbol, tuple[str, int]] = {}
        self._derived: dict[sympy.Symbol, tuple[str, int, sympy.Expr]] = {}
        self.names: set[str] = set()
        self.node: Any = None
        self.node_name = ""

    # ---- setup ---------------------------------------------------------------------------------
    def inputs(self) -> None:
        for vi in self.graph.input:
            if vi.name in self.inits:
                continue
            t = vi.type
            if not t.HasField("tensor_type"):
                raise InputError(f"graph input {vi.name!r} is not a tensor", self.path)
            if not t.tensor_type.HasField("shape"):
                raise InputError(f"graph input {vi.name!r} has no shape (not even a rank)", self.path)
            shape: list[Any] = []
            for i, d in enumerate(t.tensor_type.shape.dim):
                if d.HasField("dim_value") and d.dim_value > 0:
                    shape.append(int(d.dim_value))
                elif d.HasField("dim_value"):
                    raise InputError(f"graph input {vi.name!r}: size {i} is {d.dim_value}; arts checks positive "
                                     f"sizes", self.path)
                else:
                    shape.append(_dim_param(d.dim_param, f"{_safe_name(vi.name, 'x')}_{i}"))
            name = self._unique(_safe_name(vi.name, "input"))
            add_input(self.G, name, tuple(shape))
            self.tensor[vi.name] = name
            self.shape[vi.name] = tuple(sympy.sympify(x) for x in shape)
            for i, x in enumerate(self.shape[vi.name]):
                if isinstance(x, sympy.Symbol) and x not in self.input_symbols:
                    self.input_symbols[x] = (name, i)
            for i, x in enumerate(self.shape[vi.name]):  # a symbol seen only inside 16*H16
                for sym in x.free_symbols:
                    if sym not in self.input_symbols and isinstance(x, sympy.Add | sympy.Mul):
                        self._derived[sym] = (name, i, x)
        if not self.G.graph["inputs"]:
            raise InputError("the ONNX graph has no inputs (besides initializers)", self.path)
        for t in self.graph.initializer:
            self._init_value(t)

    def _init_value(self, t: Any) -> None:
        from onnx import TensorProto, numpy_helper

        self.shape[t.name] = tuple(sympy.Integer(int(d)) for d in t.dims)
        if t.data_type in (TensorProto.INT64, TensorProto.INT32) and prod(t.dims) <= MAX_VALUE_ELEMS:
            try:
                arr = numpy_helper.to_array(t)
            except Exception:  # noqa: BLE001 - external data or a malformed tensor: not tracked
                return
            self.value[t.name] = [sympy.Integer(int(v)) for v in arr.reshape(-1)]
            self.vshape[t.name] = tuple(int(d) for d in t.dims)

    def _unique(self, base: str) -> str:
        name, k = base, 2
        while name in self.names or name in self.G:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    # ---- emitting --------------------------------------------------------------------------------
    def emit(self, op: Op, args: Sequence[str], output: str | None = None, suffix: str = "") -> str:
        node = self.node
        base = self.node_name + (f"_{suffix}" if suffix else "")
        name = self._unique(base)
        src = f"{node.op_type} {node.name!r}" if node.name else node.op_type
        add_node(self.G, name, op, list(args), file=self.path, source=src)
        try:
            inf = op.apply([self.G.nodes[a]["shape"] if self.G.nodes[a].get("input") else self.G.nodes[a]["_shape"]
                            for a in args])
            shape: tuple | None = tuple(sympy.sympify(e) for e in inf.shape)
        except (StaticShapeError, Unsupported, KeyError, TypeError):
            shape = None
        self.G.nodes[name]["_shape"] = shape
        if output is not None:
            self.tensor[output] = name
            if shape is not None:
                self.shape[output] = shape
        return name

    def make(self, name: str, params: dict[str, Any]) -> Op:
        try:
            return Op.make(name, params)
        except InputError as e:
            raise _NoRule(f"its attributes are outside what {name} models ({e.message})") from None

    def arg(self, tensor: str) -> str:
        """The arts node for ONNX tensor ``tensor`` (a constant node for an initializer or value)."""
        if tensor in self.tensor:
            return self.tensor[tensor]
        shape = self.shape.get(tensor)
        if shape is not None and all(s.is_Integer for s in shape):
            name = self._unique(_safe_name(tensor, "const"))
            add_node(self.G, name, Op.make("constant", {"shape": [int(s) for s in shape]}), [], file=self.path,
                     source=f"initializer {tensor!r}")
            self.G.nodes[name]["_shape"] = shape
            self.tensor[tensor] = name
            return name
        raise _NoRule(f"input {tensor!r} has no shape arts can tell")

    def ints(self, tensor: str, what: str) -> list[int]:
        vals = self.value.get(tensor)
        if vals is None or not all(v.is_Integer for v in vals):
            raise _NoRule(f"{what} ({tensor!r}) is not a constant arts can read")
        return [int(v) for v in vals]

    def rank(self, tensor: str) -> int:
        s = self.shape.get(tensor)
        if s is None:
            raise _NoRule(f"the rank of {tensor!r} is not known")
        return len(s)

    def placeholders(self, exprs: Sequence[sympy.Expr], first: str) -> tuple[list[Any], list[str]]:
        """Rewrite size expressions over input symbols as ``arg<i>_<d>`` over (first, inputs...)."""
        args = [first]
        reps: dict[sympy.Symbol, sympy.Symbol] = {}
        for e in exprs:
            for s in sympy.sympify(e).free_symbols:
                if s in reps:
                    continue
                if s in self.input_symbols:
                    inp, d = self.input_symbols[s]
                    if inp not in args:
                        args.append(inp)
                    reps[s] = sympy.Symbol(f"arg{args.index(inp)}_{d}")
                elif s in self._derived:  # the input's size is a*s + b: s = (size - b) / a
                    inp, d, e = self._derived[s]
                    if inp not in args:
                        args.append(inp)
                    sol = sympy.solve(sympy.Eq(sympy.Symbol(f"arg{args.index(inp)}_{d}"), e), s)
                    if len(sol) != 1:
                        raise _NoRule(f"size {s} cannot be read off a graph input")
                    reps[s] = sol[0]
                else:
                    raise _NoRule(f"size {s} is not a size of a graph input")
        return [sympy.sympify(e).xreplace(reps) if not sympy.sympify(e).is_Integer else int(e) for e in exprs], args

    # ---- the walk --------------------------------------------------------------------------------
    def run(self) -> nx.DiGraph:
        self.inputs()
        order = self._order()
        for k, node in enumerate(order):
            self.node = node
            self.node_name = _safe_name(node.name, f"{node.op_type}_{k}")
            try:
                if node.domain not in ("", "ai.onnx"):
                    raise _NoRule(f"its domain {node.domain!r} is not the default ONNX domain")
                if self.opset > MAX_OPSET:
                    raise _NoRule(f"the model's opset {self.opset} is newer than arts's rules (up to {MAX_OPSET})")
                rule = _RULES.get(node.op_type)
                if rule is None:
                    raise _NoRule("arts has no rule for it")
                rule(self, node, _attrs(node))
            except _NoRule as e:
                self._unsupported(node, str(e))
        outs = []
        for o in self.graph.output:
            if o.name not in self.tensor:
                if o.name in self.value or o.name in self.inits:
                    continue  # a constant output: nothing to check
                raise InputError(f"graph output {o.name!r} is not produced by any node", self.path)
            outs.append(self.tensor[o.name])
        if not outs:
            raise InputError("the ONNX graph has no tensor outputs", self.path)
        self.G.graph["outputs"] = list(dict.fromkeys(outs))
        for n in self.G.nodes:
            self.G.nodes[n].pop("_shape", None)
        self.G.graph["file"] = self.path
        return self.G

    def _unsupported(self, node: Any, why: str) -> None:
        args = [self.tensor[i] for i in node.input if i and i in self.tensor]
        if not args:
            args = [next(iter(self.G.graph["inputs"]))]
        reason = f"ONNX {node.op_type} node {node.name or self.node_name!r} (opset {self.opset}): {why}"
        op = Op.make("unsupported", {"reason": reason, "call": node.op_type})
        for k, out in enumerate(o for o in node.output if o):
            self.emit(op, args, out, suffix=str(k) if k else "")

    def _order(self) -> list[Any]:
        """The nodes in topological order; InputError for a dangling input or a cycle."""
        producer: dict[str, int] = {}
        nodes = list(self.graph.node)
        for k, n in enumerate(nodes):
            for o in n.output:
                if o:
                    producer[o] = k
        D = nx.DiGraph()
        D.add_nodes_from(range(len(nodes)))
        for k, n in enumerate(nodes):
            for i in n.input:
                if not i:
                    continue  # an omitted optional input
                if i in producer:
                    D.add_edge(producer[i], k)
                elif i not in self.tensor and i not in self.inits:
                    raise InputError(f"node {n.name or n.op_type!r} ({n.op_type}) reads {i!r}, which no node, "
                                     f"graph input or initializer produces", self.path)
        try:
            order = list(nx.lexicographical_topological_sort(D))
        except nx.NetworkXUnfeasible:
            cycle = nx.find_cycle(D)
            names = [nodes[u].name or nodes[u].op_type for u, _ in cycle]
            raise InputError(f"the ONNX graph has a cycle: {' -> '.join(names + names[:1])}", self.path) from None
        return [nodes[k] for k in order]


class _NoRule(Exception):
    """This node cannot be lowered exactly; it becomes an ``unsupported`` node (unknown)."""


# ---- value tracking (shape arithmetic) ---------------------------------------------------------------

def _all_known(L: _Lowering, node: Any) -> bool:
    return all((not i) or i in L.value for i in node.input) and any(node.input)


def _arr(L: _Lowering, t: str) -> Any:
    import numpy as np

    return np.array(L.value[t], dtype=object).reshape(L.vshape[t])


def _set_arr(L: _Lowering, out: str, arr: Any) -> None:
    import numpy as np

    arr = np.asarray(arr, dtype=object)
    if arr.size > MAX_VALUE_ELEMS:
        raise _NoRule("a shape computation on a tensor too large to track")
    L.value[out] = [sympy.sympify(v) for v in arr.reshape(-1).tolist()]
    L.vshape[out] = tuple(int(d) for d in arr.shape)
    L.shape[out] = tuple(sympy.Integer(d) for d in arr.shape)


def _set_value(L: _Lowering, out: str, vals: list[sympy.Expr], rank: int) -> None:
    import numpy as np

    arr = np.empty(len(vals), dtype=object)
    arr[:] = [sympy.sympify(v) for v in vals]
    _set_arr(L, out, arr if rank == 1 else arr.reshape(()))


def _v_constant(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    import numpy as np
    from onnx import numpy_helper

    out = node.output[0]
    if "value" in a:
        arr = numpy_helper.to_array(a["value"])
    elif "value_ints" in a:
        arr = np.array(a["value_ints"], dtype=np.int64)
    elif "value_int" in a:
        arr = np.array(a["value_int"], dtype=np.int64)
    elif "value_floats" in a or "value_float" in a:
        arr = np.array(a.get("value_floats", a.get("value_float")), dtype=np.float32)
    else:
        raise _NoRule("a Constant without a value arts can read")
    L.shape[out] = tuple(sympy.Integer(int(d)) for d in arr.shape)
    if arr.dtype.kind in "iu" and arr.size <= MAX_VALUE_ELEMS:
        _set_arr(L, out, np.vectorize(lambda v: sympy.Integer(int(v)), otypes=[object])(arr) if arr.size else
                 np.empty(arr.shape, dtype=object))


def _v_shape(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    s = L.shape.get(node.input[0])
    if s is None:
        raise _NoRule(f"the shape of {node.input[0]!r} is not known")
    start, end = a.get("start", 0), a.get("end", None)
    _set_value(L, node.output[0], list(s)[start:end], 1)


def _v_constant_of_shape(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    import numpy as np
    from onnx import numpy_helper

    dims = L.ints(node.input[0], "the shape")
    fill = numpy_helper.to_array(a["value"]).reshape(-1)[0] if "value" in a else 0.0
    out = node.output[0]
    L.shape[out] = tuple(sympy.Integer(d) for d in dims)
    if isinstance(fill, (int, np.integer)) and prod(dims) <= MAX_VALUE_ELEMS:
        arr = np.empty(dims, dtype=object)
        arr.fill(sympy.Integer(int(fill)))
        _set_arr(L, out, arr)


def _vv_gather(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    import numpy as np

    data, idx = _arr(L, node.input[0]), _arr(L, node.input[1])
    axis = int(a.get("axis", 0))
    if not all(getattr(i, "is_Integer", False) for i in idx.reshape(-1)):
        raise _NoRule("Gather with symbolic indices")
    try:
        _set_arr(L, node.output[0], np.take(data, idx.astype(np.int64), axis=axis))
    except IndexError:
        raise _NoRule("Gather index out of range") from None


def _vv_concat(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    import numpy as np

    _set_arr(L, node.output[0], np.concatenate([_arr(L, i) for i in node.input if i], axis=int(a.get("axis", 0))))


def _vv_unsqueeze(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    import numpy as np

    x = _arr(L, node.input[0])
    axes = _axes(L, node, a) or []
    r = x.ndim + len(axes)
    for ax in sorted(v + r if v < 0 else v for v in axes):
        x = np.expand_dims(x, ax)
    _set_arr(L, node.output[0], x)


def _vv_squeeze(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    import numpy as np

    x = _arr(L, node.input[0])
    axes = _axes(L, node, a)
    _set_arr(L, node.output[0], np.squeeze(x) if axes is None else np.squeeze(x, axis=tuple(axes)))


def _vv_identity(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    _set_arr(L, node.output[0], _arr(L, node.input[0]))


def _vv_reshape(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    x = _arr(L, node.input[0])
    target = L.ints(node.input[1], "the target shape")
    target = [x.shape[k] if v == 0 and not a.get("allowzero", 0) else v for k, v in enumerate(target)]
    try:
        _set_arr(L, node.output[0], x.reshape(target))
    except ValueError:
        raise _NoRule("a Reshape of a shape computation that does not fit") from None


def _vv_transpose(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    x = _arr(L, node.input[0])
    _set_arr(L, node.output[0], x.transpose(a.get("perm")) if "perm" in a else x.T)


def _vv_slice(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    x = _arr(L, node.input[0])
    starts, ends, axes, steps = _slice_args(L, node, a)
    index = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        index[ax] = slice(s, e, st)  # numpy's slice clamps as ONNX's does, negative steps included
    _set_arr(L, node.output[0], x[tuple(index)])


def _div(p: sympy.Expr, q: sympy.Expr) -> sympy.Expr:
    """ONNX integer Div: truncation toward zero."""
    if p.is_Integer and q.is_Integer:
        if q == 0:
            raise _NoRule("division by zero in shape arithmetic")
        return sympy.Integer(int(int(p) / int(q)))
    if not (q.is_Integer and q > 0):
        raise _NoRule("division by a size in shape arithmetic")
    free = p.free_symbols
    if len(free) == 1:  # decide the sign of p exactly when it depends on one size
        from arts.solver.intset import IntSet
        from arts.solver.quasiaffine import truth_set

        (x,) = free
        try:
            nonneg = truth_set(sympy.Ge(p, 0), x)
        except Unsupported:
            nonneg = None
        if nonneg is not None and nonneg == IntSet.everything():
            return sympy.floor(p / q)
        if nonneg is not None and nonneg.is_empty:
            return -sympy.floor(-p / q)
    return sympy.Piecewise((sympy.floor(p / q), p >= 0), (-sympy.floor(-p / q), True))


def _vv_arith(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    import numpy as np

    x, y = _arr(L, node.input[0]), _arr(L, node.input[1])
    op = node.op_type
    fn = {"Add": lambda p, q: p + q, "Sub": lambda p, q: p - q, "Mul": lambda p, q: p * q, "Div": _div}.get(op)
    if fn is None:
        raise _NoRule(f"{op} in shape arithmetic")
    try:
        out = np.vectorize(lambda p, q: sympy.sympify(fn(sympy.sympify(p), sympy.sympify(q))), otypes=[object])(x, y)
    except ValueError:
        raise _NoRule("shape arithmetic on tensors that do not broadcast") from None
    _set_arr(L, node.output[0], out)


# ---- tensor rules -----------------------------------------------------------------------------------

def _spatial(L: _Lowering, x: str, what: str) -> int:
    r = L.rank(x)
    if r - 2 not in (1, 2, 3):
        raise _NoRule(f"{what} of a rank-{r} tensor (arts models 1-d to 3-d)")
    return r - 2


def _pads(a: dict[str, Any], n: int) -> tuple[list[int], list[int]]:
    pads = list(a.get("pads", [0] * (2 * n)))
    if len(pads) != 2 * n:
        raise _NoRule(f"pads has {len(pads)} entries for {n} spatial dimensions")
    return pads[:n], pads[n:]


def _torch_pad(begin: Sequence[Any], end: Sequence[Any]) -> list[int]:
    """ONNX (begins, ends) over the trailing dims -> torch's F.pad list (last dimension first)."""
    out: list[int] = []
    for b, e in reversed(list(zip(begin, end))):
        out += [int(b), int(e)]
    return out


def _auto_pad(a: dict[str, Any]) -> str:
    v = a.get("auto_pad", "NOTSET")
    if v not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise _NoRule(f"auto_pad={v!r}")
    return v


def _conv(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    x, w = node.input[0], node.input[1]
    n = _spatial(L, x, "Conv")
    ws = L.shape.get(w)
    if ws is None or not all(s.is_Integer for s in ws) or len(ws) != n + 2:
        raise _NoRule("the weight's shape is not a constant of the input's rank")
    g = int(a.get("group", 1))
    k = [int(v) for v in a.get("kernel_shape", [int(s) for s in ws[2:]])]
    s = [int(v) for v in a.get("strides", [1] * n)]
    d = [int(v) for v in a.get("dilations", [1] * n)]
    ap = _auto_pad(a)
    params: dict[str, Any] = {"in_channels": int(ws[1]) * g, "out_channels": int(ws[0]), "groups": g,
                              "bias": len(node.input) > 2 and bool(node.input[2])}
    src = L.arg(x)
    if ap in ("SAME_UPPER", "SAME_LOWER"):
        if any(v != 1 for v in d):
            raise _NoRule("auto_pad SAME with dilation is not modelled (onnxruntime refuses it too)")
        # output ceil(size / stride) for every size: the same sizes as a 1-wide window, stride s
        params.update(kernel_size=[1] * n, stride=s, padding=0, dilation=1)
    else:
        begin, end = _pads(a, n) if ap == "NOTSET" else ([0] * n, [0] * n)
        if begin != end:
            src = L.emit(L.make("pad", {"pad": _torch_pad(begin, end)}), [src], suffix="pad")
            begin = [0] * n
        params.update(kernel_size=k, stride=s, padding=begin, dilation=d)
    L.emit(L.make(f"conv{n}d", params), [src], node.output[0])


def _conv_transpose(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    x, w = node.input[0], node.input[1]
    n = _spatial(L, x, "ConvTranspose")
    ws = L.shape.get(w)
    if ws is None or not all(s.is_Integer for s in ws) or len(ws) != n + 2:
        raise _NoRule("the weight's shape is not a constant of the input's rank")
    if "output_shape" in a:
        raise _NoRule("output_shape is not modelled")
    if _auto_pad(a) not in ("NOTSET", "VALID"):
        raise _NoRule(f"auto_pad={a['auto_pad']!r} is not modelled for ConvTranspose")
    g = int(a.get("group", 1))
    begin, end = _pads(a, n) if _auto_pad(a) == "NOTSET" else ([0] * n, [0] * n)
    if begin != end:
        raise _NoRule("asymmetric pads are not modelled for ConvTranspose")
    params = {"in_channels": int(ws[0]), "out_channels": int(ws[1]) * g, "groups": g,
              "kernel_size": [int(v) for v in a.get("kernel_shape", [int(v) for v in ws[2:]])],
              "stride": [int(v) for v in a.get("strides", [1] * n)], "padding": begin,
              "output_padding": [int(v) for v in a.get("output_padding", [0] * n)],
              "dilation": [int(v) for v in a.get("dilations", [1] * n)],
              "bias": len(node.input) > 2 and bool(node.input[2])}
    L.emit(L.make(f"conv_transpose{n}d", params), [L.arg(x)], node.output[0])


def _pool(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    x = node.input[0]
    kind = "max" if node.op_type == "MaxPool" else "avg"
    n = _spatial(L, x, node.op_type)
    if len([o for o in node.output if o]) > 1:
        raise _NoRule("the Indices output is not modelled")
    k = [int(v) for v in a["kernel_shape"]]
    s = [int(v) for v in a.get("strides", [1] * n)]
    d = [int(v) for v in a.get("dilations", [1] * n)]
    ceil = bool(a.get("ceil_mode", 0))
    ap = _auto_pad(a)
    if kind == "avg" and any(v != 1 for v in d):
        raise _NoRule("dilated AveragePool is not modelled")
    src = L.arg(x)
    params: dict[str, Any]
    if ap in ("SAME_UPPER", "SAME_LOWER"):
        params = {"kernel_size": [1] * n, "stride": s, "padding": 0}
    else:
        begin, end = _pads(a, n) if ap == "NOTSET" else ([0] * n, [0] * n)
        if any(b >= kk or e >= kk for b, e, kk in zip(begin, end, k)):
            raise _NoRule("pads as large as the kernel are not modelled (onnxruntime refuses them)")
        if begin != end:
            if ceil:
                raise _NoRule("asymmetric pads with ceil_mode are not modelled")
            src = L.emit(L.make("pad", {"pad": _torch_pad(begin, end)}), [src], suffix="pad")
            begin = [0] * n
        params = {"kernel_size": k, "stride": s, "padding": begin, "ceil_mode": ceil}
        if kind == "max":
            params["dilation"] = d
        else:
            params["count_include_pad"] = bool(a.get("count_include_pad", 0))
    L.emit(L.make(f"{kind}_pool{n}d", params), [src], node.output[0])


def _global_pool(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    n = _spatial(L, node.input[0], node.op_type)
    kind = "max" if node.op_type == "GlobalMaxPool" else "avg"
    L.emit(L.make(f"adaptive_{kind}_pool{n}d", {"output_size": [1] * n if n > 1 else 1}), [L.arg(node.input[0])],
           node.output[0])


def _gemm(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    A, B = node.input[0], node.input[1]
    if L.rank(A) != 2:
        raise _NoRule(f"Gemm of a rank-{L.rank(A)} input")
    src = L.arg(A)
    if a.get("transA", 0):
        src = L.emit(L.make("transpose", {"dim0": 0, "dim1": 1}), [src], suffix="transA")
    bs = L.shape.get(B)
    if B in L.tensor or bs is None or not all(v.is_Integer for v in bs) or len(bs) != 2:
        raise _NoRule("Gemm with a B that is not a constant matrix")
    K, N = (int(bs[1]), int(bs[0])) if a.get("transB", 0) else (int(bs[0]), int(bs[1]))
    has_c = len(node.input) > 2 and bool(node.input[2])
    out = None if has_c else node.output[0]
    y = L.emit(L.make("linear", {"in_features": K, "out_features": N, "bias": False}), [src], out)
    if has_c:
        L.emit(L.make("add", {}), [y, L.arg(node.input[2])], node.output[0], suffix="bias")


def _matmul(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    A, B = node.input
    bs = L.shape.get(B)
    if B not in L.tensor and bs is not None and len(bs) == 2 and all(v.is_Integer for v in bs):
        L.emit(L.make("linear", {"in_features": int(bs[0]), "out_features": int(bs[1]), "bias": False}),
               [L.arg(A)], node.output[0])
        return
    L.emit(L.make("matmul", {}), [L.arg(A), L.arg(B)], node.output[0])


def _reshape(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    x = node.input[0]
    if _all_known(L, node):
        _vv_reshape(L, node, a)
        return
    if L.opset < 5:
        target: list[sympy.Expr] = [sympy.Integer(v) for v in a.get("shape", [])]
    else:
        if node.input[1] not in L.value:
            raise _NoRule("the target shape is not a constant or a shape computation arts can follow")
        target = list(L.value[node.input[1]])
    xs = L.shape.get(x)
    allowzero = bool(a.get("allowzero", 0))
    entries: list[Any] = []
    for k, v in enumerate(target):
        if v == 0 and not allowzero:
            if xs is None or k >= len(xs):
                raise _NoRule("a 0 (copy) entry past the input's rank")
            entries.append(xs[k])
        elif v == -1:
            entries.append(-1)
        elif v.is_Integer and int(v) < -1:
            raise _NoRule(f"a negative size {v} in the target shape")
        else:
            entries.append(v)
    if all(isinstance(e, int) or sympy.sympify(e).is_Integer for e in entries):
        L.emit(L.make("reshape", {"shape": [int(e) for e in entries]}), [L.arg(x)], node.output[0])
        return
    exprs, args = L.placeholders([e if e != -1 else sympy.Integer(-1) for e in entries], L.arg(x))
    L.emit(L.make("sized_reshape", {"shape": exprs}), args, node.output[0])


def _flatten(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    x = node.input[0]
    r = L.rank(x)
    axis = int(a.get("axis", 1))
    axis = axis + r if axis < 0 else axis
    if not 0 <= axis <= r:
        raise _NoRule(f"axis {a.get('axis')} for a rank-{r} input")
    lead = sympy.Mul(*[sympy.Symbol(f"arg0_{i}") for i in range(axis)]) if axis else sympy.Integer(1)
    L.emit(L.make("sized_reshape", {"shape": [lead, -1]}), [L.arg(x)], node.output[0])


def _concat(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    if _all_known(L, node):
        _vv_concat(L, node, a)
        return
    args = [L.arg(i) for i in node.input if i]
    L.emit(L.make("cat", {"dim": int(a["axis"])}), args, node.output[0])


def _binary(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    if node.op_type in ("Add", "Sub", "Mul", "Div") and _all_known(L, node):
        _vv_arith(L, node, a)
        return
    x, y = node.input[0], node.input[1]
    L.emit(L.make("broadcast_op", {"fn": _BINARY[node.op_type]}), [L.arg(x), L.arg(y)], node.output[0])


def _variadic(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    ins = [i for i in node.input if i]
    cur = L.arg(ins[0])
    for k, i in enumerate(ins[1:]):
        last = k == len(ins) - 2
        cur = L.emit(L.make("broadcast_op", {"fn": node.op_type.lower()}), [cur, L.arg(i)],
                     node.output[0] if last else None, suffix="" if last else str(k))
    if len(ins) == 1:
        L.emit(L.make("identity", {}), [cur], node.output[0])


def _where(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    c, x, y = node.input
    t = L.emit(L.make("broadcast_op", {"fn": "where"}), [L.arg(c), L.arg(x)], suffix="cond")
    L.emit(L.make("broadcast_op", {"fn": "where"}), [t, L.arg(y)], node.output[0])


def _unary(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    if node.op_type in ("Cast", "Identity") and _all_known(L, node):
        _vv_identity(L, node, a)
        return
    x = L.arg(node.input[0])
    if node.op_type in _IDENTITY:
        if len([o for o in node.output if o]) > 1:
            raise _NoRule("the mask output is not modelled")
        L.emit(L.make("identity", {}), [x], node.output[0])
    elif node.op_type in _UNARY:
        L.emit(L.make(_UNARY[node.op_type], {}), [x], node.output[0])
    elif node.op_type == "LeakyRelu":
        L.emit(L.make("leaky_relu", {"negative_slope": float(a.get("alpha", 0.01))}), [x], node.output[0])
    else:
        L.emit(L.make("pointwise", {"fn": node.op_type.lower()}), [x], node.output[0])


def _softmax(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    axis = int(a.get("axis", -1 if L.opset >= 13 else 1))
    L.emit(L.make("softmax", {"dim": axis}), [L.arg(node.input[0])], node.output[0])


def _transpose(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    if _all_known(L, node):
        _vv_transpose(L, node, a)
        return
    r = L.rank(node.input[0])
    perm = [int(v) for v in a.get("perm", list(range(r))[::-1])]
    L.emit(L.make("permute", {"dims": perm}), [L.arg(node.input[0])], node.output[0])


def _norm_features(L: _Lowering, node: Any) -> int:
    s = L.shape.get(node.input[1])
    if s is None or len(s) != 1 or not s[0].is_Integer:
        raise _NoRule("the scale is not a constant vector")
    return int(s[0])


def _batch_norm(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    if a.get("training_mode", 0) or len([o for o in node.output if o]) > 1:
        raise _NoRule("training mode is not modelled")
    r = L.rank(node.input[0])
    n = {2: 1, 3: 1, 4: 2, 5: 3}.get(r)
    if n is None:
        raise _NoRule(f"BatchNormalization of a rank-{r} input")
    L.emit(L.make(f"batch_norm{n}d", {"num_features": _norm_features(L, node)}), [L.arg(node.input[0])],
           node.output[0])


def _instance_norm(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    n = _spatial(L, node.input[0], "InstanceNormalization")
    L.emit(L.make(f"instance_norm{n}d", {"num_features": _norm_features(L, node), "affine": True}),
           [L.arg(node.input[0])], node.output[0])


def _layer_norm(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    if len([o for o in node.output if o]) > 1:
        raise _NoRule("the Mean/InvStdDev outputs are not modelled")
    r = L.rank(node.input[0])
    axis = int(a.get("axis", -1))
    axis = axis + r if axis < 0 else axis
    s = L.shape.get(node.input[1])
    if s is None or not all(v.is_Integer for v in s) or len(s) != r - axis:
        raise _NoRule("the scale's shape does not state the normalized shape")
    L.emit(L.make("layer_norm", {"normalized_shape": [int(v) for v in s]}), [L.arg(node.input[0])], node.output[0])


def _resize(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    x = node.input[0]
    r = L.rank(x)
    if "axes" in a:
        raise _NoRule("the axes attribute is not modelled")
    if node.op_type == "Upsample":
        scales_t = node.input[1] if len(node.input) > 1 else None
        scales = list(a.get("scales", [])) if scales_t is None else None
        sizes_t = None
    else:
        scales_t = node.input[1] if L.opset == 10 else (node.input[2] if len(node.input) > 2 else "")
        sizes_t = node.input[3] if L.opset >= 11 and len(node.input) > 3 else ""
        scales = None
    if scales is None and scales_t:
        scales = _float_values(L, scales_t)
    if sizes_t:
        if sizes_t not in L.value:
            raise _NoRule("sizes is not a constant or a shape computation arts can follow")
        sizes = L.value[sizes_t]
        xs = L.shape[x]
        if len(sizes) != r or any(sympy.simplify(sizes[i] - xs[i]) != 0 for i in (0, 1)):
            raise _NoRule("resizing the batch or channel dimension is not modelled")
        exprs, args = L.placeholders(list(sizes[2:]), L.arg(x))
        L.emit(L.make("sized_interpolate", {"size": exprs}), args, node.output[0])
        return
    if not scales:
        raise _NoRule("neither scales nor sizes is a constant")
    if len(scales) != r or scales[0] != 1 or scales[1] != 1:
        raise _NoRule("scaling the batch or channel dimension is not modelled")
    L.emit(L.make("interpolate", {"scale_factor": [float(v) for v in scales[2:]], "mode": "nearest"}),
           [L.arg(x)], node.output[0])


def _float_values(L: _Lowering, t: str) -> list[float] | None:
    from onnx import numpy_helper

    if t in L.inits:
        return [float(v) for v in numpy_helper.to_array(L.inits[t]).reshape(-1)]
    if t in L.value:
        return [float(v) for v in L.value[t]]
    for n in L.graph.node:
        if n.op_type == "Constant" and t in n.output:
            v = _attrs(n).get("value")
            if v is not None:
                return [float(x) for x in numpy_helper.to_array(v).reshape(-1)]
    raise _NoRule(f"{t!r} is not a constant")


def _pad(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    x = node.input[0]
    r = L.rank(x)
    if L.opset < 11:
        pads: list[Any] = [int(v) for v in a.get("pads", a.get("paddings", []))]
    else:
        if node.input[1] not in L.value:
            raise _NoRule("pads is not a constant or a shape computation arts can follow")
        pads = list(L.value[node.input[1]])
    if len(node.input) > 3 and node.input[3]:
        axes = [v + r if v < 0 else v for v in L.ints(node.input[3], "axes")]
        full = [0] * (2 * r)
        for j, ax in enumerate(axes):
            full[ax], full[r + ax] = pads[j], pads[len(axes) + j]
        pads = full
    if len(pads) != 2 * r:
        raise _NoRule(f"pads has {len(pads)} entries for a rank-{r} input")
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}.get(
        a.get("mode", "constant"))
    if mode is None:
        raise _NoRule(f"mode {a.get('mode')!r}")
    begin, end = pads[:r], pads[r:]
    lead = 0
    while lead < r and begin[lead] == 0 and end[lead] == 0:
        lead += 1
    if lead == r:
        L.emit(L.make("identity", {}), [L.arg(x)], node.output[0])
        return
    tp = _torch_pad(begin[lead:], end[lead:]) if all(sympy.sympify(v).is_Integer for v in pads) else None
    if tp is not None:
        L.emit(L.make("pad", {"pad": tp, "mode": mode}), [L.arg(x)], node.output[0])
        return
    if mode != "constant":
        raise _NoRule(f"{mode} padding by amounts computed from sizes")
    amounts: list[Any] = []
    for b, e in reversed(list(zip(begin[lead:], end[lead:]))):
        amounts += [b, e]
    exprs, args = L.placeholders(amounts, L.arg(x))
    L.emit(L.make("sized_pad", {"pad": exprs}), args, node.output[0])


def _slice_args(L: _Lowering, node: Any, a: dict[str, Any]) -> tuple[list[int], list[int], list[int], list[int]]:
    if L.opset < 10:
        starts, ends = list(a["starts"]), list(a["ends"])
        axes = list(a.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts = L.ints(node.input[1], "starts")
        ends = L.ints(node.input[2], "ends")
        axes = L.ints(node.input[3], "axes") if len(node.input) > 3 and node.input[3] else list(range(len(starts)))
        steps = L.ints(node.input[4], "steps") if len(node.input) > 4 and node.input[4] else [1] * len(starts)
    return [int(v) for v in starts], [int(v) for v in ends], [int(v) for v in axes], [int(v) for v in steps]


def _slice(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    x = node.input[0]
    if x in L.value:
        _vv_slice(L, node, a)
        return
    r = L.rank(x)
    starts, ends, axes, steps = _slice_args(L, node, a)
    items: list[Any] = [("slice", None, None, None) for _ in range(r)]
    for s, e, ax, st in zip(starts, ends, axes, steps):
        ax = ax + r if ax < 0 else ax
        if not 0 <= ax < r:
            raise _NoRule(f"axis {ax} of a rank-{r} input")
        if st < 1:
            raise _NoRule("a negative step is not modelled")
        start = None if s <= -_BIG else (0 if s == 0 else s)
        stop = None if e >= _BIG else e
        items[ax] = ("slice", start if start != 0 else None, stop, st if st != 1 else None)
    L.emit(L.make("index", {"index": items}), [L.arg(x)], node.output[0])


def _axes(L: _Lowering, node: Any, a: dict[str, Any]) -> list[int] | None:
    if "axes" in a:
        return [int(v) for v in a["axes"]]
    if len(node.input) > 1 and node.input[1]:
        return L.ints(node.input[1], "axes")
    return None


def _unsqueeze(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    if _all_known(L, node):
        _vv_unsqueeze(L, node, a)
        return
    axes = _axes(L, node, a) or []
    r = L.rank(node.input[0]) + len(axes)
    cur = L.arg(node.input[0])
    norm = sorted(v + r if v < 0 else v for v in axes)
    for k, ax in enumerate(norm):
        last = k == len(norm) - 1
        cur = L.emit(L.make("unsqueeze", {"dim": ax}), [cur], node.output[0] if last else None,
                     suffix="" if last else str(k))


def _squeeze(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    if _all_known(L, node):
        _vv_squeeze(L, node, a)
        return
    axes = _axes(L, node, a)
    params = {"dim": None if axes is None else (axes if len(axes) > 1 else axes[0])}
    L.emit(L.make("squeeze", params), [L.arg(node.input[0])], node.output[0])


def _reduce(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    axes = _axes(L, node, a)
    keep = bool(a.get("keepdims", 1))
    if axes is None and a.get("noop_with_empty_axes", 0):
        L.emit(L.make("identity", {}), [L.arg(node.input[0])], node.output[0])
        return
    L.emit(L.make("reduce", {"fn": _REDUCE[node.op_type], "dim": axes, "keepdim": keep}), [L.arg(node.input[0])],
           node.output[0])


def _gather(L: _Lowering, node: Any, a: dict[str, Any]) -> None:
    if _all_known(L, node):
        _vv_gather(L, node, a)
        return
    idx = L.value.get(node.input[1])
    if idx is None or len(idx) != 1 or L.vshape.get(node.input[1]) != () or not idx[0].is_Integer:
        raise _NoRule("Gather with indices other than one constant scalar")
    r = L.rank(node.input[0])
    axis = int(a.get("axis", 0))
    axis = axis + r if axis < 0 else axis
    items: list[Any] = [("slice", None, None, None)] * axis + [("int", int(idx[0]))]
    L.emit(L.make("index", {"index": items}), [L.arg(node.input[0])], node.output[0])


_RULES: dict[str, Callable[[_Lowering, Any, dict[str, Any]], None]] = {
    "Conv": _conv, "ConvTranspose": _conv_transpose, "MaxPool": _pool, "AveragePool": _pool,
    "GlobalAveragePool": _global_pool, "GlobalMaxPool": _global_pool, "Gemm": _gemm, "MatMul": _matmul,
    "Reshape": _reshape, "Flatten": _flatten, "Concat": _concat, "Softmax": _softmax, "LogSoftmax": _softmax,
    "Transpose": _transpose, "BatchNormalization": _batch_norm, "InstanceNormalization": _instance_norm,
    "LayerNormalization": _layer_norm, "Resize": _resize, "Upsample": _resize, "Pad": _pad, "Slice": _slice,
    "Unsqueeze": _unsqueeze, "Squeeze": _squeeze, "Gather": _gather, "Where": _where,
    "Sum": _variadic, "Constant": _v_constant, "Shape": _v_shape, "LeakyRelu": _unary,
    "ConstantOfShape": _v_constant_of_shape,
}
for _op in _BINARY:
    _RULES[_op] = _binary
for _op in list(_UNARY) + list(_POINTWISE) + list(_IDENTITY):
    _RULES.setdefault(_op, _unary)
for _op in _REDUCE:
    _RULES[_op] = _reduce
del _op


# ---- public entry points -------------------------------------------------------------------------

def onnx_graph(path: str) -> nx.DiGraph:
    """The arts graph of the ONNX model at ``path`` (see the module docstring)."""
    model = load_onnx(path)
    return _Lowering(model, path).run()


def check_onnx(path: str, where: Any = None, inputs: Any = None, mode: str = "eval",
               target: str | None = None) -> Any:
    """Check the ONNX model at ``path`` for every input size (a :class:`arts.Report`).

    >>> # arts.check_onnx("model.onnx").domain  ->  'H ≥ 16 and H ≡ 0 (mod 16) and ...'
    """
    from arts.graph.check import typecheck

    G = onnx_graph(path)
    return typecheck(G, inputs=inputs, where=where, mode=mode, target=target or path)
