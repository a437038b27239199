"""The walker: one method per fx node kind, as in ``torch.fx.Interpreter``.

Each fx node becomes a value (:mod:`arts.frontends.lowering.values`); calls are translated by the
rule registered for their target (:mod:`arts.frontends.lowering.registry`).  Whatever cannot be
translated becomes an ``unsupported`` node carrying the reason, so the report is ``unknown`` --
never ``ok`` -- while everything not downstream of it is still checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
import sympy

from arts.errors import ArtsError, InputError
from arts.frontends.locations import Site, display_path, site_of, user_frame, user_frames
from arts.frontends.lowering.registry import describe_target, function_rule, method_rule, module_rule
from arts.frontends.lowering.values import (
    NotLowered, Opaque, ShapeVal, TensorVal, as_int, integer_valued, is_size, tensors_in,
)
from arts.graph.graph import add_input, add_node, new_graph
from arts.ops.base import Op
from arts.ops.frontend_ops import placeholder
from arts.solver.simplify import simplify_dim

__all__ = ["Lowerer", "lower"]


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
        self._abstract_of: dict[Any, Any] = {}  # a size -> itself or its symbol (count_ops is slow)
        self._locations: dict[str, dict[str, Any]] = {}  # an fx stack trace -> its node attributes
        self._inferred: dict[Any, tuple | None] = {}  # (op, input shapes) -> output shape
        #: ``e`` (over reference symbols) for each traced branch ``e == 0`` (``int(p)`` fixed at the
        #: example): it holds wherever the traced graph is the model (:mod:`.constants` reads it)
        self.pinned: list[sympy.Expr] = []

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
        if str(node.target).startswith("**"):
            return {}  # ``**kwargs``: forward is called with the tensor inputs only, no extra keywords
        k = sum(1 for i in range(index) if i not in self.concrete)
        if k >= len(self.input_shapes):
            raise InputError(f"forward has more tensor inputs than the {len(self.input_shapes)} shape(s) given")
        return self.add_graph_input(node, str(node.target).lstrip("*"), k)

    def add_graph_input(self, node: Any, base: str, k: int) -> TensorVal:
        """Input ``k`` of the arts graph (shape ``input_shapes[k]``) for the placeholder ``node``."""
        name = self._fresh(base)
        add_input(self.G, name, self.input_shapes[k])
        self.G.nodes[name].update(self._location(node))
        shape = tuple(self.G.graph["inputs"][name])
        self.shapes[name] = shape
        self.ranks[name] = len(shape)
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
                raise NotLowered(f"size(dim={d}) of a rank-{r} tensor")
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
            raise NotLowered("the rank of a tensor whose shape could not be inferred")
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
        if isinstance(v, bool) or not is_size(v):
            raise NotLowered(f"{what}: {self._show(v)} is not a size")
        v = as_int(v)
        if isinstance(v, sympy.Expr):
            if not v.free_symbols <= set(self.refs):
                raise NotLowered(f"{what}: cannot follow {v}")
            if not integer_valued(v):
                raise NotLowered(f"{what}: {self.show_size(v)} is not an integer (true division of sizes)")
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
            raise NotLowered(v.reason)
        raise NotLowered(f"{what} must be a tensor, got {self._show(v)}")

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
        # a layer called in a loop has one trace for all its nodes: parse it once
        got = self._locations.get(trace) if trace else None
        if got is None:
            got = self._locate(trace)
            if trace:
                self._locations[trace] = got
        return dict(got)

    def _locate(self, trace: str | None) -> dict[str, Any]:
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

    def _abstract(self, shape: tuple | None) -> tuple | None:
        """``shape`` with every broadcast piece (a ``Piecewise``) or very large size replaced by a
        fresh symbol.  The lowerer infers shapes only for ranks and literal sizes; without the
        checker's live domain to resolve them, the pieces of chained broadcasts nest and grow
        exponentially (seconds per node on NFNet).  The checker recomputes every shape exactly."""
        if shape is None:
            return None
        out = []
        for e in shape:
            if isinstance(e, sympy.Basic) and not e.is_Integer:
                done = self._abstract_of.get(e)
                if done is None:
                    done = self._abstract_of[e] = self._abstract_size(e)
                e = done
            out.append(e)
        return tuple(out)

    def _abstract_size(self, e: sympy.Basic) -> sympy.Basic:
        if e.has(sympy.Piecewise) or sympy.count_ops(e, visual=False) > 60:
            return sympy.Symbol(f"_size{len(self._abstract_of)}", integer=True, positive=True)
        return e

    def _infer(self, name: str, op: Op, args: list[str]) -> None:
        ins = [self._abstract(self.shapes.get(a)) for a in args]
        shape = None
        if all(s is not None for s in ins):
            try:
                key: Any = (op, tuple(ins))
                hash(key)
            except TypeError:
                key = None
            if key is not None and key in self._inferred:  # a block repeated at one size (ResNet stages)
                shape = self._inferred[key]
            else:
                try:
                    # collapsed as the checker does (exact), so that padded-then-halved sizes (Swin)
                    # do not nest here either
                    shape = tuple(simplify_dim(sympy.sympify(e)) for e in op.apply(ins).shape)  # type: ignore[arg-type]
                except Exception:  # noqa: BLE001 - typecheck reports it; here we only want ranks
                    shape = None
                if key is not None:
                    self._inferred[key] = shape
        self.shapes[name] = shape
        self.ranks[name] = len(shape) if shape is not None else None

    def unsupported(self, node: Any, reason: str, args: Sequence[str] = (), suffix: str = "") -> TensorVal:
        op = Op.make("unsupported", {"reason": reason, "call": self.call_text(node)})
        args = [a for a in dict.fromkeys(args) if a in self.G]
        return self._add(node, op, list(args), suffix)

    def emit_sized(self, node: Any, op_name: str, x: str | None, key: str, entries: list[Any],
                   params: dict[str, Any], suffix: str = "") -> TensorVal:
        """Emit ``op_name`` on ``x`` with ``params[key] = entries`` (sizes over reference symbols);
        the tensors whose sizes are read become the later arguments (all of them if ``x`` is None)."""
        args = [x] if x is not None else []
        out = self.placeheld(entries, args)
        return self.emit(node, op_name, {**params, key: out}, args, suffix)

    def placeheld(self, entries: list[Any], args: list[str]) -> list[Any]:
        """``entries`` with each reference symbol of a size as its placeholder ``arg{i}_{d}``
        (``i`` the position in ``args`` of the tensor whose size it reads; appended to ``args``
        when new).  Entries that are not sympy expressions pass unchanged."""
        reps: dict[sympy.Symbol, sympy.Symbol] = {}
        for e in entries:
            if isinstance(e, sympy.Expr):
                for s in sorted(e.free_symbols, key=lambda t: t.name):
                    t, d = self.refs[s]
                    if t not in args:
                        args.append(t)
                    reps[s] = placeholder(args.index(t), d)
        return [e.xreplace(reps) if isinstance(e, sympy.Expr) else e for e in entries]

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

    # ---- call_module / call_function / call_method ------------------------------------------
    def call_module(self, node: Any) -> Any:
        args = [self.val(a) for a in node.args]
        kwargs = {k: self.val(v) for k, v in node.kwargs.items()}
        try:
            m = self.root.get_submodule(str(node.target))
        except AttributeError:
            return self.unsupported(node, f"self.{node.target}: no such submodule", tensors_in(args, kwargs))
        rule = module_rule(m)
        if rule is None:
            from arts.frontends.lowering.modules import catalogue_module

            rule_fn: Any = catalogue_module
        else:
            rule_fn = rule.handler
        return self._apply(node, rule_fn, m, args, kwargs, self.call_text(node))

    def call_function(self, node: Any) -> Any:
        rule = function_rule(node.target)
        return self._dispatch(node, rule, describe_target(node.target))

    def call_method(self, node: Any) -> Any:
        return self._dispatch(node, method_rule(str(node.target)), f"Tensor.{node.target}")

    def _dispatch(self, node: Any, rule: Any, shown: str) -> Any:
        args = [self.val(a) for a in node.args]
        kwargs = {k: self.val(v) for k, v in node.kwargs.items()}
        if rule is None:
            return self.unsupported(node, f"no shape rule for {shown}", tensors_in(args, kwargs))
        return self._apply(node, rule.handler, rule.name, args, kwargs, shown)

    def _apply(self, node: Any, fn: Any, head: Any, args: list[Any], kwargs: dict[str, Any], shown: str) -> Any:
        try:
            try:
                return fn(self, node, head, *args, **kwargs)
            except TypeError as e:
                if "argument" in str(e):
                    raise NotLowered(f"unexpected arguments to {shown}: {e}") from None
                raise
        except NotLowered as e:
            reason = str(e) if shown in str(e) else f"{shown}: {e}"
            return self.unsupported(node, reason, tensors_in(args, kwargs))


def lower(root: Any, fx_graph: Any, input_shapes: Sequence[Any], **kw: Any) -> nx.DiGraph:
    """Lower ``fx_graph`` (traced from ``root``) with the given input shapes."""
    return Lowerer(root, fx_graph, input_shapes, **kw).run()
