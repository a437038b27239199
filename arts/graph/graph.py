"""Networks as networkx graphs, and a small builder for writing them in Python.

A network is a ``networkx.DiGraph``:

* ``G.graph["inputs"]``  -- ordered ``{name: shape}`` (shape: tuple of sympy sizes);
* ``G.graph["where"]``   -- list of constraint strings or sympy conditions on the input sizes;
* ``G.graph["outputs"]`` -- list of node names;
* each op node has ``op`` (an :class:`arts.ops.Op`) and ``args`` (ordered list of argument
  names: inputs or other nodes), plus optional ``file``/``line`` (where the user wrote it);
* input nodes have ``input=True`` and ``shape``;
* an edge ``u -> v`` exists for every argument ``u`` of ``v``, with ``positions`` (which
  argument slots of ``v`` it fills).

>>> g = GraphBuilder()
>>> x = g.input("x", "N,3,H,W")
>>> y = g.add("conv2d", x, in_channels=3, out_channels=8, kernel_size=3, padding=1)
>>> g.output(y)
>>> sorted(g.graph.nodes)
['conv2d_1', 'x']
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import networkx as nx

from arts.errors import InputError
from arts.ops.base import Op, as_op
from arts.solver.symbols import parse_shape


def new_graph() -> nx.DiGraph:
    G = nx.DiGraph()
    G.graph["inputs"] = {}
    G.graph["where"] = []
    G.graph["outputs"] = []
    return G


def add_input(G: nx.DiGraph, name: str, shape: Any) -> str:
    if name in G:
        raise InputError(f"duplicate name {name!r}")
    sh = parse_shape(shape)
    G.graph["inputs"][name] = sh
    G.add_node(name, input=True, shape=sh)
    return name


def add_node(G: nx.DiGraph, name: str, op: Op, args: Sequence[str], **attrs: Any) -> str:
    if name in G:
        raise InputError(f"duplicate node name {name!r}")
    for a in args:
        if a not in G:
            raise InputError(f"node {name!r}: unknown argument {a!r}")
    G.add_node(name, op=op, args=list(args), **attrs)
    for i, a in enumerate(args):
        if G.has_edge(a, name):
            G.edges[a, name]["positions"].append(i)
        else:
            G.add_edge(a, name, positions=[i])
    return name


class GraphBuilder:
    """Build a network graph op by op; names are generated when not given."""

    def __init__(self) -> None:
        self.graph = new_graph()
        self._counts: dict[str, int] = {}

    def input(self, name: str, shape: Any) -> str:
        return add_input(self.graph, name, shape)

    def where(self, *constraints: str) -> "GraphBuilder":
        self.graph.graph["where"].extend(constraints)
        return self

    def add(self, op: "Op | str", *args: str, name: str | None = None, **params: Any) -> str:
        """Add a node computing ``op`` (a name plus ``params``, an OP string, or an Op) on ``args``."""
        o = Op.make(op, params) if isinstance(op, str) and "(" not in op else as_op(op)
        if params and not (isinstance(op, str) and "(" not in op):
            raise InputError("give parameters either in the op string or as keywords, not both")
        if name is None:
            self._counts[o.name] = self._counts.get(o.name, 0) + 1
            name = f"{o.name}_{self._counts[o.name]}"
            while name in self.graph:
                self._counts[o.name] += 1
                name = f"{o.name}_{self._counts[o.name]}"
        return add_node(self.graph, name, o, list(args))

    def output(self, *names: str) -> None:
        for n in names:
            if n not in self.graph:
                raise InputError(f"unknown output {n!r}")
            self.graph.graph["outputs"].append(n)


def op_nodes(G: nx.DiGraph) -> Iterable[str]:
    return (n for n, d in G.nodes(data=True) if not d.get("input"))


def validate_structure(G: nx.DiGraph, where: str = "graph") -> list[str]:
    """Check what every graph must satisfy; returns the topological order of all nodes."""
    if not isinstance(G, nx.DiGraph):
        raise InputError(f"expected a networkx.DiGraph, got {type(G).__name__}", where)
    inputs = G.graph.get("inputs") or {}
    if not inputs:
        raise InputError("the graph has no inputs", where)
    for n, d in G.nodes(data=True):
        if d.get("input"):
            if n not in inputs:
                raise InputError(f"input node {n!r} is not listed in the graph's inputs", where)
            continue
        if not isinstance(d.get("op"), Op):
            raise InputError(f"node {n!r} has no op", where)
        for a in d.get("args", []):
            if a not in G:
                raise InputError(f"node {n!r}: unknown argument {a!r}", where)
    for n in inputs:
        if n not in G:
            raise InputError(f"input {n!r} has no node", where)
    outs = G.graph.get("outputs") or []
    if not outs:
        raise InputError("the graph has no outputs", where)
    for o in outs:
        if o not in G:
            raise InputError(f"unknown output {o!r}", where)
    try:
        return list(nx.topological_sort(G))
    except nx.NetworkXUnfeasible:
        cycle = nx.find_cycle(G)
        path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        raise InputError(f"the graph has a cycle: {path}", where) from None
