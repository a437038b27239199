"""The second capture path: ``torch.export`` (non-strict, dynamic sizes) -> ATen graph -> arts graph.

``torch.fx.symbolic_trace`` cannot follow a ``forward`` that branches on sizes
(``if h % output_stride != 0``, ``if num_channels != self.num_channels``).  ``torch.export`` runs
``forward`` on fake tensors whose sizes are *symbols*; every branch taken on a size is recorded in
the export's ``ShapeEnv`` as a **guard**.  The ATen graph it returns is the model exactly on the
region where all guards hold, and nowhere else is it known to be.  So:

1. **Capture** at an example size (:func:`capture`): each size symbol of the inputs is a dynamic
   dimension (``Dim.AUTO``); the example tries a few sizes until ``forward`` runs (after a
   failed export, a size is first screened by a static run on fake tensors, far cheaper than an
   export: a ViT that accepts only 224x224 costs one export, not four).
2. **Region**: the guards, the symbols' value ranges (sizes 0 and 1 are specialised by export:
   every dynamic size is >= 2 there) and the deferred runtime asserts, translated to the arts
   input symbols (:func:`region_conditions`).  Guards that hold on the whole declared domain are
   dropped (decided by the arts solver); the others restrict the domain.
3. **Lower** each ATen node to a catalogue op (:class:`AtenLowerer`), reusing the fx lowerer's
   values and size handling; an op without a rule becomes an ``unsupported`` node naming the op
   and its source line, so the report is ``unknown``, never ``ok``.
4. **Decide** inside the region (the region is added to the domain) and answer ``unknown``
   outside it: a :class:`GuardedReport` says so in a warning listing the guards, and its
   ``accepts()`` raises ``ValueError`` for a size outside the region instead of guessing.

Why sound: inside the region the ATen graph computes exactly what ``forward`` computes, so every
shape condition the catalogue rules derive for it is torch's.  What is not modelled: strides.
Guards raised by torch's own stride and memory-format computations are kept (they only make the
region smaller), so nothing outside a branch that was actually seen is ever claimed.
"""

from __future__ import annotations

import contextlib
import operator
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import sympy

from arts.errors import InputError
from arts.frontends.lowering import Lowerer, TensorVal
from arts.frontends.lowering.registry import Rule as LoweringRule, function_rule, method_rule
from arts.frontends.lowering.values import Opaque, tensors_in
from arts.graph.report import Diagnostic, Report

__all__ = ["Capture", "CaptureFailed", "CaptureTimedOut", "GuardedReport", "analyse_aten", "capture",
           "region_conditions"]

# example sizes tried for the dynamic dimensions, in order: non-square first (so H and W are not
# duck-sized to one symbol), then squares for models that need them
_EXAMPLES: tuple[tuple[int, ...], ...] = ((224, 192), (256, 224), (64, 48), (224, 224), (256, 256), (64, 64),
                                          (96, 96), (512, 512), (32, 32))
_BATCH = 2
# seconds for all the exports of one capture together (ARTS_CAPTURE_BUDGET_S overrides: a loaded
# machine, a big model)
CAPTURE_BUDGET_S = float(os.environ.get("ARTS_CAPTURE_BUDGET_S", "20"))
SCREEN = True  # screen example sizes by a static run after a failed export (off: benchmarks/bench_aten.py's "before")


class CaptureFailed(Exception):
    """``torch.export`` could not capture ``forward`` at any example size."""

    undecided = False  # True: nothing was learnt about forward (out of time), so no verdict follows


class CaptureTimedOut(CaptureFailed):
    """The capture ran past its time limit."""

    undecided = True


@dataclass
class Capture:
    """An exported program, its region (arts conditions) and what the guards were, in text."""

    program: Any
    example: dict[str, int]
    conditions: list[sympy.Basic]
    guards: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)  # guards over symbols no input size names


# ---- capture ------------------------------------------------------------------------------------

def _example_values(symbols: Sequence[sympy.Symbol], k: int) -> dict[sympy.Symbol, int]:
    """The k-th assignment of example sizes: batch-like symbols get 2, the others the k-th example."""
    ex = _EXAMPLES[k]
    vals: dict[sympy.Symbol, int] = {}
    i = 0
    for s in symbols:
        if s.name in ("N", "B") or s.name.startswith("N"):
            vals[s] = _BATCH
        else:
            vals[s] = ex[i % len(ex)] + (i // len(ex))
            i += 1
    return vals


def _eager(module: Any) -> Any:
    """``module`` wrapped so that its ``forward`` runs with torch's "compiling" and "exporting"
    flags off.  Export sets them; models read them to skip their own size checks
    (segmentation-models-pytorch's ``check_input_shape``, Hugging Face's channel check), and a
    check skipped is a branch that eager torch takes and the graph would not show.  With the flags
    off the checks run on the symbolic sizes, and become guards."""
    import torch
    from torch import nn

    class Eager(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, *args: Any) -> Any:
            flags = (torch.compiler._is_compiling_flag, torch.compiler._is_exporting_flag)
            torch.compiler._is_compiling_flag = torch.compiler._is_exporting_flag = False
            try:
                return self.inner(*args)
            finally:
                torch.compiler._is_compiling_flag, torch.compiler._is_exporting_flag = flags

    return Eager().train(module.training)


def capture(module: Any, shapes: Sequence[tuple], budget_s: float | None = None,
            at: dict[str, int] | None = None) -> Capture:
    """Export ``module`` non-strict with every symbolic input size dynamic; see the module docstring.
    ``budget_s`` (default :data:`CAPTURE_BUDGET_S`) bounds all the tries together: past it the
    capture fails (the report is ``unknown``) rather than keep a user waiting on torch's symbolic
    shape simplification, which for some models (window partitions on padded sizes) runs for
    minutes.  ``at`` (sizes by symbol name) is the one example to export at."""
    budget = CAPTURE_BUDGET_S if budget_s is None else budget_s
    try:
        with _time_limit(budget):
            return _capture(module, shapes, budget, at)
    except _OutOfTime:
        raise CaptureTimedOut(f"torch.export did not finish within {budget:.0f} s") from None


def _capture(module: Any, shapes: Sequence[tuple], budget_s: float, at: dict[str, int] | None = None) -> Capture:
    import time

    import torch
    from torch.export import Dim, export

    symbols = list(dict.fromkeys(x for s in shapes for x in s if isinstance(x, sympy.Symbol)))
    for s in shapes:
        for x in s:
            if isinstance(x, sympy.Expr) and not x.is_Integer and not isinstance(x, sympy.Symbol):
                raise CaptureFailed(f"an input size {x} that is not a plain symbol")
    errors: list[str] = []
    export_failed_where_runs = 0
    start = time.monotonic()
    examples = ([{s: int(at[s.name]) for s in symbols}] if at is not None
                else [_example_values(symbols, k) for k in range(len(_EXAMPLES))])
    for vals in examples:
        if time.monotonic() - start > budget_s:
            break
        sizes = [[vals[x] if isinstance(x, sympy.Symbol) else int(x) for x in s] for s in shapes]
        if errors and SCREEN:  # the first example failed: screen the others by a quick static run first
            why = _fails_static(module, sizes)
            if why is not None:
                errors.append(why)
                continue
            if export_failed_where_runs >= 2:
                break  # forward runs, export fails: not a matter of the size (each try costs an export)
        args = tuple(torch.randn(*z) for z in sizes)
        dyn = tuple({d: Dim.AUTO for d, x in enumerate(s) if isinstance(x, sympy.Symbol)} for s in shapes)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ep = export(_eager(module), args, dynamic_shapes=(dyn,), strict=False)
        except Exception as e:  # noqa: BLE001 - forward failed at this example size: try the next one
            errors.append(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200])
            export_failed_where_runs += len(errors) > 1
            continue
        conds, guards, unmapped = region_conditions(ep, shapes)
        return Capture(ep, {s.name: v for s, v in vals.items()}, conds, guards, unmapped)
    raise CaptureFailed("torch.export failed at every example size" + (f" (first: {errors[0]})" if errors else ""))


class _OutOfTime(BaseException):
    """The capture's time limit passed (a BaseException: torch's ``except Exception`` fallbacks
    inside the export must not swallow it)."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`_OutOfTime` in the main thread after ``seconds`` (a no-op elsewhere).  An
    interval timer the caller has set (a benchmark's own budget) is kept: whichever ends first
    fires, and the caller's timer and handler are restored afterwards with the time left."""
    import signal
    import threading
    import time

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    old_handler = signal.getsignal(signal.SIGALRM)
    old_left, _ = signal.getitimer(signal.ITIMER_REAL)
    now = time.monotonic()
    theirs = now + old_left if old_left > 0 else None
    mine = now + seconds
    fired: list[bool] = []

    def handler(signum: int, frame: Any) -> None:
        if theirs is not None and time.monotonic() >= theirs - 1e-3 and callable(old_handler):
            fired.append(True)
            old_handler(signum, frame)
        raise _OutOfTime()

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(1e-3, min(mine, theirs or mine) - now))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)
        if theirs is not None and not fired:
            signal.setitimer(signal.ITIMER_REAL, max(1e-3, theirs - time.monotonic()))


def _fails_static(module: Any, sizes: Sequence[Sequence[int]]) -> str | None:
    """Why ``forward`` fails at these concrete sizes, run on fake tensors (no data, static sizes:
    a fraction of an export's cost), or ``None`` if it runs or fake tensors cannot tell.  Only
    picks the example size to export at; the export's guards alone decide the region."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    # a forward may update real buffers on the way (BatchNorm's num_batches_tracked in training):
    # the screen must leave the user's module as it was
    saved = [(b, b.detach().clone()) for b in module.buffers()]
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            try:
                with FakeTensorMode(allow_non_fake_inputs=True):
                    _eager(module)(*(torch.empty(z) for z in sizes))
            finally:
                for b, v in saved:
                    if not isinstance(b, torch._subclasses.fake_tensor.FakeTensor):
                        b.copy_(v)
    except (torch._subclasses.fake_tensor.DataDependentOutputException,
            torch._subclasses.fake_tensor.DynamicOutputShapeException,
            torch._subclasses.fake_tensor.UnsupportedOperatorException, NotImplementedError):
        return None  # fake tensors cannot run this: let the export try
    except Exception as e:  # noqa: BLE001 - forward raised at these sizes
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]
    return None


# ---- torch's sympy -> the arts solver's sympy -----------------------------------------------------

def _to_arts(e: Any, reps: dict[Any, sympy.Symbol]) -> sympy.Basic:
    """Rewrite a ShapeEnv expression over torch symbols into plain sympy over arts symbols."""
    e = sympy.sympify(e)
    if isinstance(e, sympy.Symbol):
        if e not in reps:
            raise KeyError(e.name)
        return reps[e]
    if not e.args:
        return e
    args = [_to_arts(a, reps) for a in e.args]
    name = type(e).__name__
    if name == "FloorDiv":
        return sympy.floor(args[0] / args[1])
    if name in ("Mod", "PythonMod"):
        return sympy.Mod(args[0], args[1])
    if name in ("CleanDiv", "IntTrueDiv", "FloatTrueDiv"):
        return args[0] / args[1]
    if name == "CeilToInt":
        return sympy.ceiling(args[0])
    if name in ("FloorToInt", "TruncToInt"):
        return sympy.floor(args[0]) if name == "FloorToInt" else sympy.sign(args[0]) * sympy.floor(abs(args[0]))
    if name in ("ToFloat", "Identity"):
        return args[0]
    if name == "Max":
        return sympy.Max(*args)
    if name == "Min":
        return sympy.Min(*args)
    if name == "Pow" or isinstance(e, (sympy.Add, sympy.Mul, sympy.Pow, sympy.core.relational.Relational,
                                       sympy.logic.boolalg.BooleanFunction)):
        return e.func(*args)
    raise KeyError(f"torch sympy function {name}")


def region_conditions(ep: Any, shapes: Sequence[tuple]) -> tuple[list[sympy.Basic], list[str], list[str]]:
    """(arts conditions of the region, the guards as text, guards that could not be translated)."""
    user = [n for n in ep.graph.nodes if n.op == "placeholder" and n.name in _user_input_names(ep)]
    reps: dict[Any, sympy.Symbol] = {}
    conds: list[sympy.Basic] = []
    shape_env = None
    for node, s in zip(user, shapes):
        val = node.meta.get("val")
        if val is None:
            continue
        for x, v in zip(s, val.shape):
            e = v.node.expr if hasattr(v, "node") else sympy.Integer(int(v))
            if hasattr(v, "node"):
                shape_env = v.node.shape_env
            if isinstance(x, sympy.Symbol):
                if e.is_Integer:
                    conds.append(sympy.Eq(x, int(e)))  # specialised by export: only this size was seen
                elif isinstance(e, sympy.Symbol):
                    if e in reps and reps[e] != x:
                        conds.append(sympy.Eq(x, reps[e]))  # duck-sized: two inputs sizes were one symbol
                    else:
                        reps[e] = x
                else:
                    raise CaptureFailed(f"export refined input size {x} to {e}")
    guards: list[str] = []
    unmapped: list[str] = []
    if shape_env is None:
        shape_env = _shape_env(ep)
    if shape_env is None:
        return conds, guards, unmapped
    # a size that export specialised (``Eq(s1, 224)``) no longer shows in the input's shape: its
    # symbol is found by where it came from, ``args[k].size()[d]``
    import re

    for sym, sources in shape_env.var_to_sources.items():
        if sym in reps:
            continue
        for src in sources:
            m = re.search(r"\['args'\]\[(\d+)\]\.size\(\)\[(\d+)\]$", src.name)
            if m and int(m.group(1)) < len(shapes) and int(m.group(2)) < len(shapes[int(m.group(1))]):
                x = shapes[int(m.group(1))][int(m.group(2))]
                if isinstance(x, sympy.Symbol):
                    reps[sym] = x
                    break
    for arts_sym in dict.fromkeys(x for x in reps.values() if not any(
            isinstance(c, sympy.Eq) and c.lhs == x and c.rhs.is_Integer for c in conds)):
        conds.append(arts_sym >= 2)  # export specialises sizes 0 and 1: a dynamic size is >= 2 there
    exprs = [(g.expr, _guard_site(g)) for g in shape_env.guards if not _op_internal(g)]
    for ras in shape_env.deferred_runtime_asserts.values():
        exprs.extend((ra.expr, "runtime assert") for ra in ras)
    for expr, site in exprs:
        try:
            c = _to_arts(expr, reps)
        except KeyError as why:
            unmapped.append(f"{expr} ({why})")
            continue
        if c is sympy.true:
            continue
        if c is sympy.false:
            raise CaptureFailed(f"the guard {expr} is false")
        text = f"{c}" + (f"  [{site}]" if site else "")
        guards.append(text)
        conds.append(c)
    return list(dict.fromkeys(conds)), guards, unmapped


# torch's own files whose guards come from computing one ATen op's output (its meta kernel, its
# strides, its decomposition): they cannot change which ops the graph holds, and the op's shape
# checks are what its catalogue rule states.  Guards from anywhere else (the model, torch.nn's
# Python code) are branches of ``forward`` and bound the region.
_OP_INTERNAL = ("_prims_common", "_subclasses", "_meta_registrations", "_refs", "_prims", "_decomp",
                "_ops.py", "fx/experimental", "_higher_order_ops", "_library")


def _op_internal(g: Any) -> bool:
    import torch

    sloc = getattr(g, "sloc", None)
    fl = getattr(sloc, "framework_loc", None)
    path = getattr(fl, "filename", None) or (fl if isinstance(fl, str) else "")
    root = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
    if not path or not os.path.abspath(path.split(":")[0]).startswith(root):
        return False
    rel = os.path.abspath(path.split(":")[0])[len(root):].replace(os.sep, "/")
    return rel.startswith(_OP_INTERNAL)


def _shape_env(ep: Any) -> Any:
    for n in ep.graph.nodes:
        mode = getattr(n.meta.get("val"), "fake_mode", None)
        if mode is not None and mode.shape_env is not None:
            return mode.shape_env
    return None


def _guard_site(g: Any) -> str:
    """Where a guard was raised, with paths under the working directory made relative (reports
    must not depend on where the checkout lies)."""
    sloc = getattr(g, "sloc", None)
    if sloc is None:
        return ""
    user = getattr(sloc, "maybe_user_loc", None)
    fl = getattr(sloc, "framework_loc", None)
    if user:
        text = str(user).strip()
    elif fl is not None and hasattr(fl, "filename"):
        text = f"{fl.filename}:{fl.lineno}"
    else:
        text = str(fl or "").strip()
    return text.replace(os.getcwd() + os.sep, "")


def _user_input_names(ep: Any) -> set[str]:
    from torch.export.graph_signature import InputKind

    return {spec.arg.name for spec in ep.graph_signature.input_specs if spec.kind == InputKind.USER_INPUT}


# ---- lowering ATen nodes --------------------------------------------------------------------------

class _Call:
    """An fx node seen with other arguments: lets an ATen op reuse a functional op's handler."""

    def __init__(self, node: Any, args: Sequence[Any], kwargs: dict[str, Any] | None = None) -> None:
        self._node = node
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})

    def __getattr__(self, k: str) -> Any:
        return getattr(self._node, k)


def _packet(target: Any) -> str | None:
    packet = getattr(target, "overloadpacket", None)
    if packet is None:
        return None
    return getattr(packet, "__name__", None) or str(packet).split(".")[-1]


# aten ops whose arguments are those of the functional op of the same (or the given) name
_SAME = {n: n for n in (
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "linear",
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_avg_pool3d", "flatten", "view", "reshape", "permute", "transpose", "t",
    "unsqueeze", "squeeze", "cat", "stack", "matmul", "mm", "bmm", "layer_norm", "group_norm", "pixel_shuffle",
    "pixel_unshuffle", "pad", "chunk", "softmax", "log_softmax", "dropout", "feature_dropout", "alpha_dropout",
    "mean", "sum", "amax", "amin", "prod", "std", "var", "argmax", "argmin", "logsumexp", "expand_as", "view_as",
    "reshape_as", "type_as", "masked_fill", "narrow", "add", "sub", "mul", "div", "pow", "maximum", "minimum",
    "eq", "ne", "lt", "le", "gt", "ge", "where_self", "rsub", "remainder", "fmod", "floor_divide",
    "logical_and", "logical_or", "bitwise_and", "bitwise_or", "atan2", "hypot", "clamp", "clamp_min",
    "clamp_max", "clip", "relu", "relu6", "elu", "selu", "gelu", "silu", "mish", "leaky_relu", "hardswish",
    "hardsigmoid", "hardtanh", "sigmoid", "tanh", "softplus", "exp", "log", "log2", "log1p", "expm1", "sqrt",
    "rsqrt", "abs", "neg", "sin", "cos", "erf", "sign", "floor", "ceil", "round", "reciprocal", "square",
    "contiguous", "clone", "detach", "roll", "flip", "cumsum", "logit", "nan_to_num", "logical_not", "celu",
    "softshrink", "hardshrink", "zeros", "ones", "empty", "full", "rand", "randn", "arange", "new_empty",
    "new_zeros", "new_ones", "new_full", "zeros_like", "ones_like", "empty_like", "full_like", "rand_like",
    "randn_like", "relu_", "hardtanh_", "silu_", "gelu_", "leaky_relu_", "sigmoid_", "tanh_", "clamp_",
    "add_", "mul_", "sub_", "div_", "hardswish_", "hardsigmoid_", "elu_", "mish_", "exp_", "copy_",
    "scaled_dot_product_attention")}
_SAME.update({"_softmax": "softmax", "_log_softmax": "log_softmax", "_unsafe_view": "reshape",
              "alias": "contiguous", "lift_fresh_copy": "clone", "_to_copy": "contiguous", "to": "contiguous",
              "split": "split", "_adaptive_avg_pool2d": "adaptive_avg_pool2d",
              "_adaptive_avg_pool3d": "adaptive_avg_pool3d", "concat": "cat", "concatenate": "cat",
              "swapaxes": "transpose", "feature_dropout_": "feature_dropout", "alpha_dropout_": "alpha_dropout",
              "dropout_": "dropout", "true_divide": "div", "multiply": "mul", "subtract": "sub"})
_POINTWISE_EXTRA = ("contiguous", "clone", "detach", "_to_copy", "to", "alias", "lift_fresh_copy", "copy_")
_NOOPS = ("_assert_scalar", "_assert_tensor_metadata", "sym_constrain_range_for_size", "sym_constrain_range",
          "_assert_async", "_assert", "_functional_assert_scalar", "_functional_sym_constrain_range")
_BIG = 2 ** 62  # export writes an open slice end as sys.maxsize


class AtenLowerer(Lowerer):
    """Lower an exported program's ATen graph (see the module docstring)."""

    def __init__(self, program: Any, input_shapes: Sequence[Any], *, input_names: Sequence[str] = (),
                 **kw: Any) -> None:
        super().__init__(_NoRoot(), program.graph, input_shapes, **kw)
        self.program = program
        self.user_inputs = _user_input_names(program)
        self.input_names = list(input_names)  # forward's own parameter names (export says args_0, ...)

    # placeholders: the user's inputs are arts inputs; parameters, buffers and constants are constants
    def placeholder(self, node: Any, index: int) -> Any:
        if node.name in self.user_inputs:
            k = sum(1 for n in self.fx_graph.nodes if n.op == "placeholder" and n.name in self.user_inputs
                    and n is not node and _before(n, node))
            if k >= len(self.input_shapes):
                raise InputError(f"forward has more tensor inputs than the {len(self.input_shapes)} shape(s) given")
            base = self.input_names[k] if k < len(self.input_names) else str(node.target)
            return self.add_graph_input(node, base, k)
        val = node.meta.get("val")
        pshape = getattr(val, "shape", None)
        if pshape is None:
            return Opaque(f"input {node.name}")
        try:
            dims = [int(d) for d in pshape]
        except (TypeError, ValueError):
            return Opaque(f"a parameter of symbolic shape ({node.name})")
        return self.emit(node, "constant", {"shape": dims}, [])

    def get_attr(self, node: Any) -> Any:
        obj: Any = self.program.graph_module
        for part in str(node.target).split("."):
            obj = getattr(obj, part, None)
        shape = getattr(obj, "shape", None)
        if shape is not None:
            return self.emit(node, "constant", {"shape": [int(d) for d in shape]}, [])
        return Opaque(f"attribute {node.target}")

    def call_text(self, node: Any) -> str:
        name = _packet(node.target)
        if name is not None:
            return f"aten.{name}" + (f".{node.target._overloadname}" if getattr(node.target, "_overloadname", "")
                                     not in ("", "default") else "")
        return super().call_text(node)

    def call_function(self, node: Any) -> Any:
        name = _packet(node.target)
        if name is None:
            size_fn = _size_function(node.target)
            if size_fn is not None:
                vals = [self.val(a) for a in node.args]
                if vals and not node.kwargs and all(isinstance(v, (int, sympy.Expr)) and not isinstance(v, bool)
                                                    for v in vals):
                    return size_fn(*vals)
            return super().call_function(node)  # operator.* on sizes, getitem
        if name in _NOOPS:
            return None
        rule = _RULES.get(name)
        if rule is not None:
            return rule(self, node)
        if name in _SAME:
            return self._call(node, _SAME[name], self.call_text(node))
        return self.unsupported(node, f"{self.call_text(node)}: no shape rule for this ATen op",
                                _tensor_args(self, node))

    def _call(self, node: Any, name: str, shown: str) -> Any:
        """Lower ``node`` with the fx front end's rule for the torch function or method ``name``."""
        rule = _rule_named(name)
        args = [self.val(a) for a in node.args]
        kwargs = {k: self.val(v) for k, v in node.kwargs.items()}
        if rule is None:
            return self.unsupported(node, f"no shape rule for {shown}", tensors_in(args, kwargs))
        return self._apply(node, rule.handler, rule.name, args, kwargs, shown)

    def via(self, node: Any, name: str, args: Sequence[Any], kwargs: dict[str, Any] | None = None) -> Any:
        """Lower ``node`` as the functional op ``name`` called with ``args`` (fx nodes or constants)."""
        return self._call(_Call(node, args, kwargs), name, self.call_text(node))


def _size_function(target: Any) -> Any:
    """The sympy meaning of torch's functions on sizes (``max(7, H)`` in a forward becomes
    ``torch.sym_max`` in the ATen graph), or ``None``."""
    import math

    import torch

    def exact(fn: Any) -> Any:
        return lambda *a: fn(*a) if all(isinstance(v, int) for v in a) else getattr(sympy, fn.__name__.title())(*a)

    table = {torch.sym_max: exact(max), torch.sym_min: exact(min), torch.sym_float: lambda a: a,
             math.floor: lambda a: math.floor(a) if isinstance(a, int) else sympy.floor(a),
             math.ceil: lambda a: math.ceil(a) if isinstance(a, int) else sympy.ceiling(a)}
    return table.get(target)


def _rule_named(name: str) -> LoweringRule | None:
    """The fx lowering rule of ``F.name``, ``torch.name`` or ``Tensor.name``, in that order."""
    import torch
    import torch.nn.functional as F

    for owner in (F, torch):
        fn = getattr(owner, name, None)
        if fn is not None:
            rule = function_rule(fn)
            if rule is not None:
                return rule
    return method_rule(name)


class _NoRoot:
    """The fx lowerer's ``root`` for an exported program: no submodules (everything is inlined)."""

    def get_submodule(self, name: str) -> Any:
        raise AttributeError(name)


def _before(a: Any, b: Any) -> bool:
    for n in a.graph.nodes:
        if n is a:
            return True
        if n is b:
            return False
    return False


def _tensor_args(L: AtenLowerer, node: Any) -> list[str]:
    out = []
    for a in list(node.args) + list(node.kwargs.values()):
        for x in (a if isinstance(a, (list, tuple)) else [a]):
            try:
                v = L.val(x)
            except KeyError:
                continue
            if isinstance(v, TensorVal):
                out.append(v.name)
    return out


def _arg(node: Any, i: int, key: str, default: Any = None) -> Any:
    if len(node.args) > i:
        return node.args[i]
    return node.kwargs.get(key, default)


Rule = Any
_RULES: dict[str, Rule] = {}


def rule(*names: str) -> Any:
    def deco(fn: Rule) -> Rule:
        for n in names:
            _RULES[n] = fn
        return fn
    return deco


@rule("sym_size")
def _sym_size(L: AtenLowerer, node: Any) -> Any:
    t = L.val(node.args[0])
    if not isinstance(t, TensorVal):
        return Opaque("the size of a non-tensor")
    try:
        return L.size_of(t.name, int(node.args[1]))
    except Exception as e:  # noqa: BLE001 - a bad dimension: an unknown, with the reason
        return Opaque(str(e))


@rule("sym_numel", "sym_stride", "sym_storage_offset")
def _sym_other(L: AtenLowerer, node: Any) -> Any:
    return Opaque(f"{L.call_text(node)} (not modelled)")


@rule("convolution")
def _convolution(L: AtenLowerer, node: Any) -> Any:
    a = list(node.args) + [None] * 9
    x, w, b, stride, padding, dilation, transposed, output_padding, groups = a[:9]
    wv = L.val(w)
    shape = L.shapes.get(wv.name) if isinstance(wv, TensorVal) else None
    if shape is None:
        return L.unsupported(node, f"{L.call_text(node)}: a weight of unknown shape", _tensor_args(L, node))
    n = len(shape) - 2
    if transposed:
        return L.via(node, f"conv_transpose{n}d", [x, w, b, stride, padding, output_padding, groups, dilation])
    return L.via(node, f"conv{n}d", [x, w, b, stride, padding, dilation, groups])


def _batch_norm_op(L: AtenLowerer, node: Any, x: Any, weight: Any, running_mean: Any, training: Any,
                   eps: Any, momentum: Any) -> Any:
    t = L.val(x)
    if not isinstance(t, TensorVal):
        return L.unsupported(node, f"{L.call_text(node)}: the input is not a tensor", _tensor_args(L, node))
    r = L.ranks.get(t.name)
    if r is None or r < 2 or r > 5:
        return L.unsupported(node, f"{L.call_text(node)}: an input of rank {r}", [t.name])
    c = None
    for p in (running_mean, weight):
        pv = L.val(p) if p is not None else None
        pshape = L.shapes.get(pv.name) if isinstance(pv, TensorVal) else None
        if pshape is not None:
            c = int(pshape[0])
            break
    if c is None:
        # no weight and no running statistics (affine=False, track_running_stats=False, or weight
        # standardisation as BiT does it): nothing fixes the channels; the shape is the input's
        if training is not True:  # evaluation needs running statistics: torch refuses it without
            return L.unsupported(node, f"{L.call_text(node)}: evaluation without running statistics", [t.name])
        return L.emit(node, "batch_norm", {"num_features": None, "training": True}, [t.name])
    n = 1 if r <= 3 else r - 2
    params: dict[str, Any] = {"num_features": c, "affine": weight is not None,
                              "track_running_stats": running_mean is not None}
    if isinstance(eps, float):
        params["eps"] = eps
    if isinstance(momentum, float):
        params["momentum"] = momentum
    return L.emit(node, f"batch_norm{n}d", params, [t.name])


@rule("batch_norm")
def _batch_norm(L: AtenLowerer, node: Any) -> Any:
    a = list(node.args) + [None] * 9
    x, w, b, rm, rv, training, momentum, eps = a[:8]
    return _batch_norm_op(L, node, x, w, rm, training, eps, momentum)


@rule("_native_batch_norm_legit_no_training")
def _bn_no_training(L: AtenLowerer, node: Any) -> Any:
    a = list(node.args) + [None] * 7
    x, w, b, rm, rv, momentum, eps = a[:7]
    out = _batch_norm_op(L, node, x, w, rm, False, eps, momentum)
    return (out, Opaque("batch-norm statistics"), Opaque("batch-norm statistics"))


@rule("native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_functional")
def _native_bn(L: AtenLowerer, node: Any) -> Any:
    a = list(node.args) + [None] * 8
    x, w, b, rm, rv, training, momentum, eps = a[:8]
    out = _batch_norm_op(L, node, x, w, rm, training, eps, momentum)
    return (out,) + tuple(Opaque("batch-norm statistics") for _ in range(4))


@rule("native_layer_norm")
def _native_layer_norm(L: AtenLowerer, node: Any) -> Any:
    out = L.via(node, "layer_norm", [node.args[0], node.args[1]])
    return (out, Opaque("layer-norm statistics"), Opaque("layer-norm statistics"))


@rule("native_group_norm")
def _native_group_norm(L: AtenLowerer, node: Any) -> Any:
    # native_group_norm(input, weight, bias, N, C, HxW, group, eps)
    out = L.via(node, "group_norm", [node.args[0], node.args[6]])
    return (out, Opaque("group-norm statistics"), Opaque("group-norm statistics"))


@rule("max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices")
def _max_pool_indices(L: AtenLowerer, node: Any) -> Any:
    name = _packet(node.target).removesuffix("_with_indices")  # type: ignore[union-attr]
    out = L.via(node, name, list(node.args), dict(node.kwargs))
    return (out, Opaque("pooling indices"))


@rule("adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d")
def _adaptive_max(L: AtenLowerer, node: Any) -> Any:
    out = L.via(node, _packet(node.target), list(node.args[:2]))  # type: ignore[arg-type]
    return (out, Opaque("pooling indices"))


@rule("native_dropout")
def _native_dropout(L: AtenLowerer, node: Any) -> Any:
    out = L.via(node, "dropout", [node.args[0], node.args[1]])
    return (out, Opaque("dropout mask"))


@rule("constant_pad_nd")
def _constant_pad(L: AtenLowerer, node: Any) -> Any:
    value = _arg(node, 2, "value", 0.0)
    return L.via(node, "pad", [node.args[0], node.args[1], "constant", float(value)])


@rule("reflection_pad1d", "reflection_pad2d", "reflection_pad3d", "replication_pad1d", "replication_pad2d",
      "replication_pad3d", "circular_pad1d", "circular_pad2d", "circular_pad3d")
def _mode_pad(L: AtenLowerer, node: Any) -> Any:
    mode = _packet(node.target).split("_")[0]  # type: ignore[union-attr]
    return L.via(node, "pad", [node.args[0], node.args[1], mode])


@rule("addmm")
def _addmm(L: AtenLowerer, node: Any) -> Any:
    bias, a, b = node.args[:3]
    prod = L.via(node, "matmul", [a, b])
    if not isinstance(prod, TensorVal):
        return prod
    bv = L.val(bias)
    if not isinstance(bv, TensorVal):
        return L.unsupported(node, f"{L.call_text(node)}: a bias that is not a tensor", [prod.name])
    return L.emit(node, "add", {}, [bv.name, prod.name], suffix="_add")


@rule("baddbmm")
def _baddbmm(L: AtenLowerer, node: Any) -> Any:
    return _addmm(L, node)


@rule("slice")
def _slice(L: AtenLowerer, node: Any) -> Any:
    x = L.val(node.args[0])
    dim = _arg(node, 1, "dim", 0)
    start, end, step = (L.val(_arg(node, 2, "start")), L.val(_arg(node, 3, "end")), _arg(node, 4, "step", 1))
    if not isinstance(x, TensorVal):
        return L.unsupported(node, f"{L.call_text(node)}: the input is not a tensor", _tensor_args(L, node))
    r = L.ranks.get(x.name)
    if r is None or not isinstance(dim, int) or not -r <= dim < r:
        return L.unsupported(node, f"{L.call_text(node)}: slicing a tensor of unknown rank", [x.name])
    bounds = []
    for v in (start, end):
        if isinstance(v, int) and abs(v) >= _BIG:
            v = None
        if not (v is None or (isinstance(v, int) and not isinstance(v, bool))):
            return L.unsupported(node, f"{L.call_text(node)}: slice bounds computed from sizes", [x.name])
        bounds.append(v)
    if not isinstance(step, int) or step < 1:
        return L.unsupported(node, f"{L.call_text(node)}: slice step {step}", [x.name])
    if bounds == [None, None] or (bounds == [0, None]) and step == 1:
        return L.emit(node, "pointwise", {"fn": "slice"}, [x.name])  # x[:, :]: the same shape
    spec: list[tuple] = [("slice", None, None, None)] * r
    spec[dim % r] = ("slice", bounds[0], bounds[1], step)
    return L.emit(node, "index", {"index": spec}, [x.name])


@rule("select")
def _select(L: AtenLowerer, node: Any) -> Any:
    x, dim, index = L.val(node.args[0]), node.args[1], L.val(node.args[2])
    if not isinstance(x, TensorVal) or not isinstance(index, int) or not isinstance(dim, int):
        return L.unsupported(node, f"{L.call_text(node)}: select at a computed index", _tensor_args(L, node))
    r = L.ranks.get(x.name)
    if r is None or not -r <= dim < r:
        return L.unsupported(node, f"{L.call_text(node)}: select on a tensor of unknown rank", [x.name])
    spec: list[tuple] = [("slice", None, None, None)] * r
    spec[dim % r] = ("int", index)
    return L.emit(node, "index", {"index": spec}, [x.name])


@rule("split_with_sizes")
def _split_sizes(L: AtenLowerer, node: Any) -> Any:
    return L.via(node, "split", [node.args[0], list(node.args[1]), _arg(node, 2, "dim", 0)])


@rule("unbind")
def _unbind(L: AtenLowerer, node: Any) -> Any:
    x, dim = L.val(node.args[0]), _arg(node, 1, "dim", 0)
    shape = L.shapes.get(x.name) if isinstance(x, TensorVal) else None
    if shape is None or not isinstance(dim, int) or not sympy.sympify(shape[dim]).is_Integer:
        return L.unsupported(node, f"{L.call_text(node)}: unbind along a symbolic size", _tensor_args(L, node))
    r = len(shape)
    parts = []
    for i in range(int(shape[dim])):
        spec: list[tuple] = [("slice", None, None, None)] * r
        spec[dim % r] = ("int", i)
        parts.append(L.emit(node, "index", {"index": spec}, [x.name], suffix=f"_{i}"))
    return tuple(parts)


def _upsample(mode: str, has_align: bool) -> Rule:
    def handler(L: AtenLowerer, node: Any) -> Any:
        x = node.args[0]
        overload = getattr(node.target, "_overloadname", "")
        if overload == "vec":
            size = _arg(node, 1, "output_size")
            align = _arg(node, 2, "align_corners") if has_align else None
            scales = _arg(node, 3 if has_align else 2, "scale_factors")
        else:
            size = _arg(node, 1, "output_size")
            align = _arg(node, 2, "align_corners") if has_align else None
            scales = None  # the explicit output size decides
        sf = None
        if size is None and scales is not None:
            sf = list(scales) if len(set(scales)) > 1 else scales[0]
        return L.via(node, "interpolate", [x], {"size": size, "scale_factor": sf, "mode": mode,
                                                "align_corners": align})
    return handler


for _d, _m in ((1, "linear"), (2, "bilinear"), (3, "trilinear")):
    _RULES[f"upsample_{_m}{_d}d"] = _upsample(_m, True)
    _RULES[f"upsample_nearest{_d}d"] = _upsample("nearest", False)
    _RULES[f"_upsample_nearest_exact{_d}d"] = _upsample("nearest-exact", False)
_RULES["upsample_bicubic2d"] = _upsample("bicubic", True)
# antialiased resampling (timm's position-embedding resize): the same output sizes
_RULES["_upsample_bicubic2d_aa"] = _upsample("bicubic", True)
_RULES["_upsample_bilinear2d_aa"] = _upsample("bilinear", True)


@rule("rsub")
def _rsub(L: AtenLowerer, node: Any) -> Any:
    """``rsub(x, other) = other - x``: x's shape for a scalar ``other``, else broadcast."""
    x, other = node.args[0], node.args[1]
    if isinstance(L.val(other), TensorVal):
        return L.via(node, "sub", [other, x])
    return L.via(node, "neg", [x])


@rule("expand")
def _expand(L: AtenLowerer, node: Any) -> Any:
    """``aten.expand(x, sizes)``: the fx front end's ``Tensor.expand`` (sizes may be computed from
    other tensors' sizes, ``-1`` keeps a dimension)."""
    return L.via(node, "expand", [node.args[0], node.args[1]])


# ---- the report ----------------------------------------------------------------------------------

class GuardedReport(Report):
    """A report decided inside the region where the captured graph is the model.

    ``region`` lists the conditions that restrict the declared domain (empty: the capture covers
    the whole domain and the report is as good as a traced one).  Outside the region nothing is
    claimed: :meth:`accepts` raises ``ValueError`` there."""

    user_declared: Any = None

    def accepts(self, **sizes: int) -> bool:
        if self.region and self.user_declared is not None:
            point = {s.name: sizes.get(s.name) for s in self.symbols}
            from arts.solver.evaluate import compile_expr

            if self.user_declared.contains(point) and not all(
                    bool(compile_expr(c)(point)) for c in self.region):
                raise ValueError("outside the region where the captured graph is the model: "
                                 "torch takes a branch there that arts did not see")
        return super().accepts(**sizes)


def _guarded(report: Report, region: list[sympy.Basic], user_declared: Any) -> GuardedReport:
    g = GuardedReport(**{f: getattr(report, f) for f in report.__dataclass_fields__})
    g.region = tuple(region)
    g.user_declared = user_declared
    return g


def analyse_aten(module: Any, shapes: list[tuple], name: str, where: Any, mode: str, file: str | None,
                 aliases: dict[str, str] | None, reason: str, notes: Sequence[Diagnostic] = ()
                 ) -> tuple[Report, nx.DiGraph]:
    """Check ``module`` through the ATen path (the fx trace failed with ``reason``); where the
    export's region is not the whole domain, export again at sizes outside it
    (:func:`arts.frontends.regions.widen`)."""
    import time

    started = time.monotonic()
    report, G = _aten_piece(module, shapes, name, where, mode, file, aliases, reason, notes, None)
    cost = time.monotonic() - started
    if not report.region:
        return report, G
    from arts.frontends.regions import widen

    user_declared = report.user_declared  # type: ignore[attr-defined]
    symbols = list(dict.fromkeys(x for s in shapes for x in s if isinstance(x, sympy.Symbol)))

    def again(at: dict[str, int], seconds: float) -> tuple[Report, nx.DiGraph] | None:
        try:
            return _aten_piece(module, shapes, name, where, mode, file, aliases, reason, notes, at, seconds)
        except CaptureFailed:  # forward does not run there, or the export fails: not covered
            return None

    return widen((report, G), again, user_declared, symbols, "exports", cost, least=2)


def _aten_piece(module: Any, shapes: list[tuple], name: str, where: Any, mode: str, file: str | None,
                aliases: dict[str, str] | None, reason: str, notes: Sequence[Diagnostic],
                at: dict[str, int] | None, seconds: float | None = None) -> tuple[GuardedReport, nx.DiGraph]:
    """One export (at the sizes ``at``, or the usual examples), decided inside its region."""
    from arts.frontends.torch_fx import finish
    from arts.graph.check import typecheck
    from arts.solver.decide import decide
    from arts.solver.domain import Domain
    from arts.solver.parse import parse_constraints

    cap = capture(module, shapes, budget_s=seconds, at=at)
    if cap.unmapped:
        raise CaptureFailed("guards over sizes that are not input sizes: " + "; ".join(cap.unmapped[:3]))
    from arts.frontends.torch_fx import _forward_params

    names = [p.name for p in _forward_params(module) if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    lowerer = AtenLowerer(cap.program, shapes, file=file, aliases=aliases, input_names=names[:len(shapes)])
    G = lowerer.run()
    if file:
        from arts.frontends.locations import display_path

        G.graph["file"] = display_path(file, aliases)
    G.graph["name"] = name
    user = parse_constraints(where) if isinstance(where, (str, list, tuple)) else list(where or [])
    symbols = list(dict.fromkeys(x for s in shapes for x in s if isinstance(x, sympy.Symbol)))
    declared = Domain(user, symbols)
    region: list[sympy.Basic] = []
    for c in cap.conditions:
        try:
            v = decide(c, declared, symbols)
        except Exception:  # noqa: BLE001 - a guard the solver cannot read still restricts the region
            region.append(c)
            continue
        if not v.is_proven:
            region.append(c)
    try:
        report = typecheck(G, where=iter(user + region), mode=mode, target=name)
    except InputError:
        raise CaptureFailed("the captured region is empty or cannot be read by the solver") from None
    notes = list(notes)
    guard_text = "; ".join(cap.guards[:8]) + (f"; ... ({len(cap.guards)} guards)" if len(cap.guards) > 8 else "")
    ex = ", ".join(f"{k}={v}" for k, v in cap.example.items())
    head = f"torch.fx cannot trace {name} ({reason}); checked the ATen graph of torch.export (example {ex})"
    if region:
        shown = ", ".join(str(c) for c in region[:6]) + (", ..." if len(region) > 6 else "")
        notes.append(Diagnostic("warning", "captured-region", None,
                                f"{head}; it is the model only where {shown}: decided there, unknown elsewhere",
                                notes=[f"guards: {guard_text}"] if guard_text else []))
        if report.status == "ok":
            report.status = "unknown"
    else:
        notes.append(Diagnostic("note", "captured-region", None,
                                f"{head}; its guards hold on the whole domain",
                                notes=[f"guards: {guard_text}"] if guard_text else []))
    report = finish(report, G, notes)
    return _guarded(report, region, declared), G


_ = operator
