"""The graph file format (DESIGN.md §6): JSON, or the same structure in YAML.

Loading never executes code: JSON via :mod:`json`, YAML via ``yaml.safe_load``; ops are looked
up in the catalogue by name and parameters are validated by their specs.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import networkx as nx

from arts.errors import InputError
from arts.graph.graph import add_input, new_graph, validate_structure
from arts.ops.base import Op
from arts.solver.parse import parse_constraints

MAX_FILE_BYTES = 50_000_000


def read_data_file(path: str) -> Any:
    """Parse a JSON or YAML data file safely; every failure is one InputError naming the file."""
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path) from None
    if size > MAX_FILE_BYTES:
        raise InputError(f"file is too large ({size} bytes)", path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read: {e}", path) from None
    if not text.strip():
        raise InputError("the file is empty", path)
    if path.endswith((".yaml", ".yml")):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            raise InputError(f"malformed YAML{at}: {getattr(e, 'problem', e)}", path) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"malformed JSON at line {e.lineno}, column {e.colno}: {e.msg}", path) from None


def graph_from_dict(data: Any, where: str = "graph") -> nx.DiGraph:
    """Build a graph from the file structure (already parsed)."""
    if not isinstance(data, dict):
        raise InputError("a graph file must hold an object with inputs, nodes and outputs", where)
    unknown = set(data) - {"inputs", "where", "nodes", "outputs", "name", "doc", "meta"}
    if unknown:
        raise InputError(f"unknown top-level key(s): {', '.join(sorted(unknown))}", where)
    G = new_graph()
    G.graph["name"] = data.get("name")
    inputs = data.get("inputs")
    if not isinstance(inputs, dict) or not inputs:
        raise InputError('"inputs" must be a non-empty object {name: shape}', where)
    for name, shape in inputs.items():
        if not isinstance(shape, (list, str)):
            raise InputError(f"input {name!r}: shape must be a list like [\"N\", 3, \"H\", \"W\"]", where)
        try:
            add_input(G, str(name), shape)
        except InputError as e:
            raise InputError(e.message, f"{where}: input {name!r}") from None
    wh = data.get("where", [])
    if isinstance(wh, str):
        wh = [wh]
    if not isinstance(wh, list) or not all(isinstance(w, str) for w in wh):
        raise InputError('"where" must be a list of constraint strings', where)
    try:
        parse_constraints(wh)
    except InputError as e:
        raise InputError(f'"where": {e.message}', where) from None
    G.graph["where"] = list(wh)
    nodes = data.get("nodes")
    if not isinstance(nodes, list):
        raise InputError('"nodes" must be a list', where)
    parsed: list[tuple[str, Op, list[str], dict[str, Any]]] = []
    for i, nd in enumerate(nodes):
        if not isinstance(nd, dict):
            raise InputError(f"node #{i} must be an object", where)
        name = nd.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(f"node #{i} needs a \"name\"", where)
        at = f"{where}: node {name!r}"
        extra = set(nd) - {"name", "op", "args", "params", "line", "file", "doc"}
        if extra:
            raise InputError(f"unknown key(s) {', '.join(sorted(extra))}", at)
        opname = nd.get("op")
        if not isinstance(opname, str):
            raise InputError('needs an "op" name', at)
        params = nd.get("params", {}) or {}
        if not isinstance(params, dict):
            raise InputError('"params" must be an object', at)
        args = nd.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise InputError('"args" must be a list of node or input names', at)
        if name in G or any(name == p[0] for p in parsed):
            raise InputError(f"duplicate name {name!r}", at)
        try:
            op = Op.make(opname, _tuples(params))
        except InputError as e:
            raise InputError(e.message, at) from None
        attrs = {"line": nd["line"]} if isinstance(nd.get("line"), int) else {}
        parsed.append((name, op, list(args), attrs))
    # nodes first, then edges: nodes may be listed in any order; a cycle is reported as one
    for name, op, args, attrs in parsed:
        G.add_node(name, op=op, args=args, **attrs)
    for name, _op, args, _attrs in parsed:
        for j, a in enumerate(args):
            if a not in G:
                raise InputError(f"unknown argument {a!r}", f"{where}: node {name!r}")
            if G.has_edge(a, name):
                G.edges[a, name]["positions"].append(j)
            else:
                G.add_edge(a, name, positions=[j])
    outs = data.get("outputs")
    if isinstance(outs, str):
        outs = [outs]
    if not isinstance(outs, list) or not outs or not all(isinstance(o, str) for o in outs):
        raise InputError('"outputs" must be a non-empty list of node names', where)
    for o in outs:
        if o not in G:
            raise InputError(f"unknown output {o!r}", where)
    G.graph["outputs"] = list(outs)
    validate_structure(G, where)
    return G


_LIST_PARAMS = ("shape", "pad", "normalized_shape", "dims", "unflattened_size", "output_size", "size")


def _tuples(params: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) and k not in _LIST_PARAMS[:5] else v for k, v in params.items()}


def load_graph(path: "str | os.PathLike[str]") -> nx.DiGraph:
    """Read a graph file (``.json``, ``.yaml``, ``.yml``); nodes remember their line in it."""
    p = os.fspath(path)
    if not p.endswith((".json", ".yaml", ".yml")):
        raise InputError("a graph file must end in .json, .yaml or .yml", p)
    G = graph_from_dict(read_data_file(p), p)
    G.graph["file"] = p
    try:
        with open(p, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    names = {n for n, d in G.nodes(data=True) if not d.get("input") and "line" not in d}
    for i, text in enumerate(lines, 1):
        for m in _NAME_LINE.finditer(text):
            n = m.group(1) or m.group(2)
            if n in names:
                G.nodes[n]["line"] = i
                names.discard(n)
    return G


_NAME_LINE = re.compile(r"""["']?name["']?\s*:\s*(?:"([^"]+)"|'?([A-Za-z0-9_.\-]+)'?)""")


def graph_to_dict(G: nx.DiGraph) -> dict[str, Any]:
    """The file structure of ``G`` (inverse of :func:`graph_from_dict`)."""
    order = validate_structure(G)
    nodes = []
    for n in order:
        d = G.nodes[n]
        if d.get("input"):
            continue
        op: Op = d["op"]
        params = {k: (v[0] if len(set(v)) == 1 and k not in _LIST_PARAMS else list(v)) if isinstance(v, tuple) else v
                  for k, v in op.params.items()}
        defaults = {p.name: p.default for p in op.spec.params}
        params = {k: v for k, v in params.items() if not _same(v, defaults.get(k, object()), op, k)}
        nodes.append({"name": n, "op": op.name, "args": list(d["args"]), "params": params})
    return {
        "inputs": {k: [int(s) if getattr(s, "is_Integer", False) else str(s) for s in v]
                   for k, v in G.graph["inputs"].items()},
        "where": [str(w) for w in G.graph.get("where", [])],
        "nodes": nodes,
        "outputs": list(G.graph["outputs"]),
    }


def _same(v: Any, default: Any, op: Op, key: str) -> bool:
    if default is None:
        return v is None
    try:
        conv = next(p for p in op.spec.params if p.name == key).convert(default, key)
    except Exception:
        return False
    if isinstance(conv, tuple):
        return list(conv) == v or (len(set(conv)) == 1 and conv[0] == v)
    return bool(conv == v)


def save_graph(G: nx.DiGraph, path: str) -> None:
    data = graph_to_dict(G)
    with open(path, "w", encoding="utf-8") as f:
        if path.endswith((".yaml", ".yml")):
            import yaml

            yaml.safe_dump(data, f, sort_keys=False)
        else:
            json.dump(data, f, indent=2)
            f.write("\n")
