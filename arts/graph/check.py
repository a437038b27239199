"""``typecheck(graph)``: symbolic shapes through a whole network, every size at once.

The walker visits nodes in topological order, runs each op's rule on its arguments' symbolic
shapes, and decides each condition the rule returns over the *live domain*: the declared input
domain restricted by every condition met so far.  Deciding over the live domain is what makes one
root cause give one diagnostic: a node is blamed only for sizes on which everything before it
ran.  The live domain at the end is exactly the set of accepted input sizes.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import networkx as nx
import sympy

from arts.errors import InputError, Unsupported
from arts.graph.fileformat import load_graph
from arts.graph.graph import validate_structure
from arts.graph.report import Diagnostic, Report
from arts.graph.typical import typical_counterexample
from arts.messages import OUT_OF_TIME, with_op
from arts.ops.base import Condition, Op, StaticShapeError
from arts.ops.guard_ops import REGION_CODE
from arts.ops.layout import (CONTIGUOUS, UNMODELLED, Layout, allocates_fresh, always_contiguous,
                             conditions_read_density_only, has_layout_conditions, layout_conditions,
                             output_layout, plain, returns_first_input)
from arts.ops.layout_iter import fresh_dense
from arts.solver.budget import expired
from arts.solver.decide import decide
from arts.solver.domain import Domain
from arts.solver.evaluate import compile_expr
from arts.solver.parse import parse_constraints
from arts.solver.regroup import has_symbolic_quotient, regroup
from arts.solver.simplify import show_dim, simplify_dim
from arts.solver.symbols import parse_shape


def _input_shapes(G: nx.DiGraph, inputs: Any) -> dict[str, tuple]:
    declared = dict(G.graph["inputs"])
    if inputs is None:
        return declared
    if isinstance(inputs, dict):
        for k in inputs:
            if k not in declared:
                raise InputError(f"unknown input {k!r} (the graph's inputs: {', '.join(declared)})")
        declared.update({k: parse_shape(v) for k, v in inputs.items()})
        return declared
    if isinstance(inputs, (str, tuple)):
        inputs = [inputs]
    inputs = list(inputs)
    if len(inputs) != len(declared):
        raise InputError(f"the graph has {len(declared)} input(s), got {len(inputs)} shape(s)")
    return {k: parse_shape(v) for k, v in zip(declared, inputs)}


def _symbols(shapes: Sequence[tuple]) -> list[sympy.Symbol]:
    out: list[sympy.Symbol] = []
    for s in shapes:
        for e in s:
            for x in sorted(sympy.sympify(e).free_symbols, key=lambda t: t.name):
                if x not in out:
                    out.append(x)
    return out


def _values_note(formula: sympy.Basic, point: dict[str, int]) -> str | None:
    """The values of the sides of ``formula``'s comparisons at ``point`` (constants omitted)."""
    rels = [r for r in sympy.preorder_traversal(formula, keys=sympy.default_sort_key)  # hash-seed free order
            if isinstance(r, sympy.core.relational.Relational)]
    parts: list[str] = []
    for r in rels[:4]:
        for side in (r.lhs, r.rhs):
            if side.free_symbols:
                try:
                    v = compile_expr(side)(point)
                except Exception:
                    return None
                text = f"{show_dim(simplify_dim(side))} = {v}"
                if text not in parts:
                    parts.append(text)
    return "there: " + ", ".join(parts) if parts else None


def typecheck(graph: "nx.DiGraph | str | os.PathLike[str]", inputs: Any = None, where: Any = None,
              mode: str = "eval", target: str | None = None) -> Report:
    """Check a network for every input size of its domain.

    ``graph`` is a DiGraph (see :mod:`arts.graph.graph`) or a graph file path.  ``inputs``
    overrides the input shapes (a SHAPE per input, or ``{name: SHAPE}``); ``where`` adds
    constraints.  ``mode="train"`` also checks training-only conditions (BatchNorm's "more than
    one value per channel").

    >>> from arts.graph.graph import GraphBuilder
    >>> g = GraphBuilder(); x = g.input("x", "N,3,H,W")
    >>> y = g.add("max_pool2d", x, kernel_size=2); g.output(y)
    >>> typecheck(g.graph).domain
    'H ≥ 2 and W ≥ 2'
    """
    if isinstance(graph, (str, os.PathLike)):
        G = load_graph(graph)
    else:
        G = graph
    where_file = G.graph.get("file") or "graph"
    order = validate_structure(G, where_file)
    shapes_in = _input_shapes(G, inputs)
    symbols = _symbols(list(shapes_in.values()))
    conds = parse_constraints(list(G.graph.get("where", [])) if G.graph.get("where") else None)
    conds += parse_constraints(where) if isinstance(where, (str, list, tuple)) else list(where or [])
    for c in conds:
        extra = sorted(x.name for x in c.free_symbols if x not in symbols)
        if extra:
            raise InputError(f"constraint {c} mentions {', '.join(extra)}, which no input shape has")
    declared = Domain(conds, symbols)
    if declared.empty:
        raise InputError("the constraints admit no input size")
    file = G.graph.get("file")
    live = declared
    shapes: dict[str, tuple] = {}
    layouts: dict[str, Any] = {}  # memory layout of each tensor (arts.ops.layout), computed on first use
    answers: dict = {}  # layout questions settled, by live domain (layouts are computed lazily, out of order)

    def layout_of(a: str) -> Layout:
        """``a``'s layout, computing it (and the pending layouts it needs, oldest first: no
        recursion down a long chain) on first use."""
        stack = [a]
        while stack:
            x = stack[-1]
            pending = layouts[x]
            if isinstance(pending, Layout):
                stack.pop()
                continue
            todo = [b for b in pending.args if not isinstance(layouts[b], Layout)]
            if todo:
                stack.extend(todo)
                continue
            layouts[x] = pending.compute([layouts[b] for b in pending.args])
            stack.pop()
        return layouts[a]

    diags: list[Diagnostic] = []
    poisoned: set[str] = set()
    unknown_nodes: list[str] = []
    undecided = False
    static_failure = False
    seen: set = set()
    too_small: Diagnostic | None = None
    region: list[sympy.Basic] = []  # conditions of the captured region (branches of the trace)
    region_empty = False
    resolved_on: dict[str, Domain] = {}  # the live domain each node's shape was resolved on
    unchecked: tuple[str, ...] = ()
    for k, n in enumerate(order):
        d = G.nodes[n]
        if d.get("input"):
            shapes[n] = shapes_in[n]
            layouts[n] = CONTIGUOUS
            continue
        op: Op = d["op"]
        args = d["args"]
        loc = dict(file=d.get("file", file), line=d.get("line"), source=d.get("source"), op=str(op))
        late = expired()
        if late is not None:  # past the deadline: stop, the verdict is unknown (never a guess)
            undecided = True
            unchecked = tuple(m for m in order[k:] if not G.nodes[m].get("input"))
            rest = len(unchecked) - 1
            diags.append(Diagnostic("warning", "undecided", n, OUT_OF_TIME.format(reason=late, rest=rest), **loc))
            break
        if any(a in poisoned for a in args):
            poisoned.add(n)
            continue
        for a in args:  # a piece undecided where ``a`` was made may be decided on today's smaller domain
            if resolved_on.get(a, live) is not live and any(sympy.sympify(e).has(sympy.Piecewise) for e in shapes[a]):
                shapes[a] = _resolve(shapes[a], live, symbols)
                resolved_on[a] = live
        in_shapes = [shapes[a] for a in args]
        try:
            inf = op.apply(in_shapes)
            # only a view reads its inputs' layouts here; the others' wait until something needs them
            lay_conds = (layout_conditions(op, n, in_shapes, _condition_layouts(op, args, layouts, layout_of),
                                           inf.shape, mode)
                         if has_layout_conditions(op, mode) else [])
        except StaticShapeError as e:
            static_failure = True
            poisoned.add(n)
            p, note = _static_example(op, [shapes[a] for a in args], live, symbols, mode)
            diags.append(Diagnostic("error", e.code, n, with_op(op.name, e.message), expected=e.expected,
                                    found=e.found, counterexample=p, notes=[note],
                                    certain=p is not None, **loc))
            continue
        except Unsupported as e:
            poisoned.add(n)
            unknown_nodes.append(n)
            diags.append(Diagnostic("warning", "unsupported", n, with_op(op.name, str(e)), **loc))
            continue
        shape = tuple(simplify_dim(sympy.sympify(e)) for e in inf.shape)
        if not lay_conds and not any(c.formula not in seen for c in inf.conditions):
            shapes[n] = _resolve(shape, live, symbols)
            resolved_on[n] = live
            layouts[n] = _layout(op, n, in_shapes, [layouts[a] for a in args], args, shapes[n], live, symbols, mode,
                                 answers)
            continue
        # a branch the trace took on sizes bounds the region where the graph is the model: the
        # domain is restricted to it silently (the front end says so), never a diagnostic
        region_conds = [c for c in inf.conditions if c.code == REGION_CODE and c.formula not in seen]
        if region_conds:
            seen.update(c.formula for c in region_conds)
            joint = simplify_dim(sympy.And(*(c.formula for c in region_conds)))
            if not decide(joint, live, symbols).is_proven:
                inside = live.restrict(joint)
                if inside.empty:
                    region_empty = True
                else:
                    live = inside
                    region.append(joint)
        # the sizes first, then (where the sizes fit) the memory layout: view's stride condition
        for group in (tuple(c for c in inf.conditions if c.code != REGION_CODE), lay_conds):
            node_conds = [c for c in group if (c.mode != "train" or mode == "train") and c.formula not in seen]
            if not node_conds:
                continue
            seen.update(c.formula for c in node_conds)
            joint = simplify_dim(sympy.And(*(c.formula for c in node_conds)))
            v = decide(joint, live, symbols)
            if v.is_refuted and v.counterexample is not None:
                cx = typical_counterexample(joint, live, symbols, v.counterexample) if conds else v.counterexample
                failing = [c for c in node_conds if not bool(compile_expr(c.formula)(cx))] or node_conds
                if all(c.code == "too-small" for c in failing) and too_small is not None:
                    too_small.notes.append(f"{n} ({op}) also needs a larger input: fails at "
                                           + ", ".join(f"{k}={x}" for k, x in cx.items()))
                else:
                    diag = _diagnostic(failing, n, cx, loc)
                    diags.append(diag)
                    if all(c.code == "too-small" for c in failing):
                        too_small = diag
            elif v.is_unknown:
                # decide each condition alone, so a refutable one is still reported exactly
                for c in node_conds:
                    vc = decide(c.formula, live, symbols)
                    if vc.is_refuted and vc.counterexample is not None:
                        cx = vc.counterexample
                        cx = typical_counterexample(c.formula, live, symbols, cx) if conds else cx
                        diags.append(_diagnostic([c], n, cx, loc))
                    elif vc.is_unknown:
                        undecided = True
                        diags.append(Diagnostic("warning", "undecided", n, f"{op.name}: cannot decide whether "
                                                f"this holds for every size ({c.message_text}): {vc.reason}",
                                                expected=c.expected_text, found=c.found_text, **loc))
            if not v.is_proven:  # a proven condition adds nothing to the live domain
                live = live.restrict(joint)
        shapes[n] = _resolve(shape, live, symbols)
        resolved_on[n] = live
        layouts[n] = _layout(op, n, in_shapes, [layouts[a] for a in args], args, shapes[n], live, symbols, mode,
                             answers)
    if static_failure:
        status = "error"
    elif any(x.severity == "error" for x in diags):
        status = "error"
    elif unknown_nodes or undecided or region or region_empty:
        status = "unknown"
    else:
        status = "ok"
    example = None
    if not static_failure and not live.empty and not unchecked:
        try:
            example = live.min_point(symbols)
        except Unsupported:
            example = None
    if not static_failure and live.empty and not any(x.severity == "error" for x in diags):  # one cause, one line
        diags.append(Diagnostic("error", "empty-domain", None, "no input size is accepted", file=file))
        status = "error"
    return Report(target or G.graph.get("name") or (file or "graph"), status, diags, shapes, live, declared,
                  tuple(symbols), example, static_failure, tuple(unknown_nodes), inputs=dict(shapes_in),
                  region=tuple(region), region_empty=region_empty, unchecked=unchecked)


def _static_example(op: Op, arg_shapes: list[tuple], live: Domain, symbols: Sequence[sympy.Symbol],
                    mode: str) -> tuple[dict[str, int] | None, str]:
    """The counterexample and note of a node that fails whatever the sizes (a static error).

    "Fails for every input size" is claimed only with a size that reaches the node and at which
    the op, applied to its arguments' concrete shapes there, really fails; otherwise the note says
    why no such size is given."""
    if live.empty:
        return None, "no input size reaches this node (an earlier node rejects every size)"
    try:
        p = live.min_point(symbols)
    except Unsupported:
        p = None
    if p is None:
        return None, "no input size reaching this node was found within the search budget"
    try:
        concrete = [tuple(int(compile_expr(sympy.sympify(e))(p)) for e in s) for s in arg_shapes]
        inf = op.apply(concrete)
    except StaticShapeError:
        return p, "this fails for every input size"
    except Exception:  # not evaluable at the point: do not claim
        return None, "could not confirm the failure at a concrete size"
    for c in inf.conditions:
        if (c.mode != "train" or mode == "train") and not bool(compile_expr(c.formula)(p)):
            return p, "this fails for every input size"
    return None, "could not confirm the failure at a concrete size"


#: Most solver questions one node's layout may ask (beyond what sympy settles by itself).
LAYOUT_QUESTIONS = 256


#: Search budget of one layout question (a refutation turns up early; past it the answer is None).
LAYOUT_BUDGET = 2_000


def _condition_layouts(op: Op, args: Sequence[str], layouts: dict, layout_of: Any) -> list:
    """The input layouts ``op``'s layout conditions read: an in-place op only asks whether its
    input is dense, which a pending fresh result already says."""
    if conditions_read_density_only(op):
        return [_DENSE if isinstance(layouts[a], _Pending) and layouts[a].dense else layout_of(a) for a in args]
    return [layout_of(a) for a in args]


#: A fresh result whose strides are not computed (only its density was asked).
_DENSE = Layout("unknown", dense=True, reason="a fresh result (dense); its strides were not needed")


class _Pending:
    """A layout not computed yet: ``compute`` takes the layouts of the inputs ``args``.  Most
    layouts are never needed (only a ``view`` downstream reads one), and exact ones of strided
    inputs cost solver questions."""

    __slots__ = ("args", "compute", "dense")

    def __init__(self, args: Sequence[str], compute: Any, dense: bool) -> None:
        self.args, self.compute, self.dense = tuple(args), compute, dense


def _layout(op: Op, node: str, in_shapes: list, in_layouts: list, args: Sequence[str], out: tuple, live: Domain,
            symbols: Sequence[sympy.Symbol], mode: str, answers: dict | None = None) -> Any:
    """The output layout, or a :class:`_Pending` computing it on first use, with the comparisons
    it hinges on decided over the live domain of this node (a layout proven there holds on every
    later one).  ``in_layouts`` are the inputs' layouts, computed or pending."""
    fresh = op.name not in _FRESH_NONCONTIGUOUS
    if fresh and all(isinstance(lay, Layout) and plain(lay) for lay in in_layouts):
        return CONTIGUOUS
    if always_contiguous(op):
        return CONTIGUOUS
    answers = {} if answers is None else answers

    def compute(lays: list) -> Layout:
        if fresh and all(plain(lay) for lay in lays):
            return CONTIGUOUS
        return _compute_layout(op, node, in_shapes, lays, out, live, symbols, mode, answers)
    if fresh_dense(op) or allocates_fresh(op):
        dense = True
    elif returns_first_input(op, mode) and in_layouts:
        first = in_layouts[0]
        dense = first.dense if isinstance(first, _Pending) else first.contiguous or first.dense
    else:
        dense = False
    return _Pending(args, compute, dense)


def _compute_layout(op: Op, node: str, in_shapes: list, in_layouts: list, out: tuple, live: Domain,
                    symbols: Sequence[sympy.Symbol], mode: str, answers: dict) -> Layout:
    asked = [0]

    def known(c: Any) -> bool | None:
        c = sympy.sympify(c)
        if c is sympy.true or c is sympy.false:
            return bool(c)
        key = (id(live), c)
        if key in answers:  # settled on this very domain (the entry holds it, so its id is not reused)
            return answers[key][1]
        if live.empty or asked[0] >= LAYOUT_QUESTIONS:
            return None
        asked[0] += 1
        try:
            if decide(c, live, symbols, budget=LAYOUT_BUDGET).is_proven:
                answers[key] = (live, True)
                return True
            if decide(sympy.Not(c), live, symbols, budget=LAYOUT_BUDGET).is_proven:
                answers[key] = (live, False)
                return False
        except Unsupported:
            pass
        answers[key] = (live, None)  # not settled here: not asked again on this domain
        return None

    return output_layout(op, node, in_shapes, in_layouts, out, known, mode)


#: Ops whose result can be non-contiguous although their inputs are contiguous (``pointwise``:
#: ``.to(memory_format=torch.channels_last)``).
_FRESH_NONCONTIGUOUS = frozenset({"permute", "transpose", "expand", "expand_as", "sized_expand", "index", "slice",
                                  "chunk_part", "split_part", "unbind_part", "pointwise", "unfold_dim",
                                  *UNMODELLED})


def _resolve(shape: tuple, live: Domain, symbols: Sequence[sympy.Symbol]) -> tuple:
    """Replace each ``Piecewise`` whose piece is decided on the live domain by that piece.

    Broadcasting gives ``Piecewise((b, Eq(a, 1)), (a, True))``; on the live domain ``a == 1``
    is usually proven false (or true), and the shape becomes plain again.
    """
    def one(e: sympy.Basic) -> sympy.Basic:
        if not e.has(sympy.Piecewise):
            return e
        for pw in sorted(e.atoms(sympy.Piecewise), key=lambda t: sympy.count_ops(t)):
            pieces = list(pw.args)
            while len(pieces) > 1:
                value, c = pieces[0]
                try:
                    if decide(c, live, symbols).is_proven:
                        pieces = [(value, sympy.true)]
                        break
                    if decide(sympy.Not(c), live, symbols).is_proven:
                        pieces = pieces[1:]
                        continue
                    # the piece is the next one's value wherever it is taken: the choice does not matter
                    same = sympy.Eq(value, pieces[1][0])
                    if decide(sympy.Or(sympy.Not(c), same), live, symbols).is_proven:
                        pieces = pieces[1:]
                        continue
                    # the other way round: the last choice is this piece's value wherever it is
                    # taken (``x[:, :H]`` after ``if pad > 0``, merged: where nothing was padded
                    # the full size is ``H``)
                    if len(pieces) == 2 and pieces[1][1] == sympy.true and decide(
                            sympy.Or(c, same), live, symbols).is_proven:
                        pieces = [(value, sympy.true)]
                        break
                except Unsupported:
                    pass
                break
            if len(pieces) == 1:
                e = e.xreplace({pw: pieces[0][0]})
        return simplify_dim(e)

    def regrouped(e: sympy.Basic) -> sympy.Basic:
        # a quotient of sizes (a reshape's -1) that cancels on the domain: the polynomial it is there
        if not has_symbolic_quotient(e):
            return e
        r = simplify_dim(regroup(live.substitute(e), live.sets))
        return r if sympy.count_ops(r) < sympy.count_ops(e) else e

    return tuple(one(regrouped(sympy.sympify(x))) for x in shape)


def _diagnostic(failing: list[Condition], node: str, cx: dict[str, int], loc: dict[str, Any]) -> Diagnostic:
    notes = []
    note = _values_note(sympy.And(*(c.formula for c in failing)), cx)
    if note:
        notes.append(note)
    first = failing[0]
    msgs = list(dict.fromkeys(c.message_text for c in failing))
    message = msgs[0] if len(msgs) == 1 else "; ".join(msgs)
    exp = ", ".join(dict.fromkeys(t for c in failing if (t := c.expected_text) is not None)) or None
    fnd = ", ".join(dict.fromkeys(t for c in failing if (t := c.found_text) is not None)) or None
    return Diagnostic("error", first.code, node, message, expected=exp, found=fnd, counterexample=cx,
                      notes=notes, **loc)
