"""Compile a network graph to a ``torch.nn.Module`` (torch is imported here, and only here).

Each op node becomes the module its spec builds for the node's concrete input shapes (channel
counts must be known numbers, or given through ``sizes``); ``forward`` runs the nodes in
topological order.
"""

from __future__ import annotations

from typing import Any

import sympy

from arts.errors import InputError
from arts.graph.check import _input_shapes
from arts.graph.fileformat import load_graph
from arts.graph.graph import validate_structure
from arts.ops.base import StaticShapeError
from arts.solver.evaluate import compile_expr


def _concrete(shape: tuple, sizes: dict[str, int]) -> tuple:
    out: list[int | None] = []
    for e in shape:
        e = sympy.sympify(e)
        if e.is_Integer:
            out.append(int(e))
        elif all(s.name in sizes for s in e.free_symbols):
            out.append(int(compile_expr(e)(sizes)))
        else:
            out.append(None)
    return tuple(out)


def to_module(graph: Any, sizes: "dict[str, int] | None" = None, inputs: Any = None) -> Any:
    """Build the torch module of ``graph`` (a DiGraph or a graph file path).

    ``sizes`` binds symbols that builders need (e.g. a symbolic channel count ``C``).
    """
    import torch.nn as nn

    G = load_graph(graph) if isinstance(graph, str) else graph
    order = validate_structure(G)
    sizes = dict(sizes or {})
    shapes: dict[str, tuple] = dict(_input_shapes(G, inputs))
    mods = nn.ModuleDict()
    plan: list[tuple[str, str, list[str]]] = []
    keyof: dict[str, str] = {}
    for n in order:
        d = G.nodes[n]
        if d.get("input"):
            continue
        op = d["op"]
        try:
            inf = op.apply([shapes[a] for a in d["args"]])
        except StaticShapeError as e:
            raise InputError(f"cannot compile: {e.message}", f"node {n!r}") from None
        shapes[n] = inf.shape
        concrete = [_concrete(shapes[a], sizes) for a in d["args"]]
        try:
            m = op.spec.build(op.params, concrete)
        except TypeError as e:
            raise InputError(f"cannot build {op}: a size it needs is symbolic ({e}); pass sizes=",
                             f"node {n!r}") from None
        key = f"n{len(plan)}"
        keyof[n] = key
        mods[key] = m
        plan.append((n, key, list(d["args"])))
    return CompiledGraph(mods, plan, list(G.graph["inputs"]), list(G.graph["outputs"]))


def _make_class() -> Any:
    import torch.nn as nn

    class _CompiledGraph(nn.Module):
        """A network compiled from an arts graph: runs its nodes in topological order."""

        def __init__(self, mods: Any, plan: list, inputs: list[str], outputs: list[str]) -> None:
            super().__init__()
            self.nodes = mods
            self.plan = plan
            self.input_names = inputs
            self.output_names = outputs

        def forward(self, *args: Any) -> Any:
            if len(args) != len(self.input_names):
                raise TypeError(f"expected {len(self.input_names)} input(s), got {len(args)}")
            env = dict(zip(self.input_names, args))
            for name, key, argnames in self.plan:
                env[name] = self.nodes[key](*(env[a] for a in argnames))
            outs = [env[o] for o in self.output_names]
            return outs[0] if len(outs) == 1 else tuple(outs)

    return _CompiledGraph


_CLASS: Any = None


def CompiledGraph(mods: Any, plan: list, inputs: list[str], outputs: list[str]) -> Any:  # noqa: N802
    global _CLASS
    if _CLASS is None:
        _CLASS = _make_class()
    return _CLASS(mods, plan, inputs, outputs)
