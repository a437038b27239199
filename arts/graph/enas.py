"""ENAS search spaces as graphs (Pham et al. 2018): the macro space and the micro (cell) space.

Both are parameterised by their op set, so the paper's extended spaces (S0 plus generated
convolutions) are one argument away.  An *architecture* is an encoding as in ENAS:

* macro: for layer ``i`` (0-based) ``[op_i, skip_0, ..., skip_{i-1}]``, concatenated;
* micro: per cell kind (normal, reduction), per node ``[x_id, x_op, y_id, y_op]``, with ids 0
  and 1 the cell's two inputs and ``2 + b`` the ``b``-th node.

``to_graph`` builds the network as an arts graph (checked by :func:`arts.graph.typecheck` and
compiled by :func:`arts.graph.compile.to_module`); ``verify_space`` decides whether **every**
architecture of a space is well-typed by reasoning per choice point, never enumerating them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Sequence

import networkx as nx
import sympy

from arts.errors import InputError
from arts.graph.graph import GraphBuilder
from arts.ops.base import Op, as_op

MACRO_S0 = (
    "conv2d(kernel_size=3, padding=1)",
    "sep_conv2d(kernel_size=3, padding=1)",
    "conv2d(kernel_size=5, padding=2)",
    "sep_conv2d(kernel_size=5, padding=2)",
    "avg_pool2d(kernel_size=3, stride=1, padding=1)",
    "max_pool2d(kernel_size=3, stride=1, padding=1)",
)

MICRO_OPS = (
    "sep_conv2d(kernel_size=3, padding=1)",
    "sep_conv2d(kernel_size=5, padding=2)",
    "avg_pool2d(kernel_size=3, stride=1, padding=1)",
    "max_pool2d(kernel_size=3, stride=1, padding=1)",
    "identity()",
)


def _ops(ops: Sequence["Op | str | dict"]) -> tuple[Op, ...]:
    out = tuple(as_op(o) for o in ops)
    if not out:
        raise InputError("a search space needs at least one op")
    return out


def _is_pool(op: Op) -> bool:
    return "pool" in op.name


def _is_param_free(op: Op) -> bool:
    return op.name in ("identity",) or _is_pool(op)


@dataclass
class MacroSpace:
    """The ENAS macro space: ``layers`` layers, each one op choice plus skip connections."""

    ops: tuple = MACRO_S0
    layers: int = 12
    channels: int = 36
    in_channels: int = 3
    num_classes: int = 10
    name: str = "macro"

    def __post_init__(self) -> None:
        self.ops = _ops(self.ops)
        if self.layers < 1:
            raise InputError("a macro space needs at least one layer")

    @property
    def reduction_layers(self) -> list[int]:
        """Layers after which every earlier output is factor-reduced (ENAS: L/3 - 1, 2L/3 - 1)."""
        d = self.layers // 3
        return [x for x in (d - 1, 2 * d - 1) if 0 <= x < self.layers - 1] if d >= 1 else []

    @property
    def arc_length(self) -> int:
        return self.layers + self.layers * (self.layers - 1) // 2

    def layer_slices(self) -> list[tuple[int, int]]:
        """(start, end) of layer i's entries in an arc."""
        out, pos = [], 0
        for i in range(self.layers):
            out.append((pos, pos + 1 + i))
            pos += 1 + i
        return out

    def random_arc(self, rng: random.Random, skip_prob: float = 0.4) -> list[int]:
        arc: list[int] = []
        for i in range(self.layers):
            arc.append(rng.randrange(len(self.ops)))
            arc.extend(int(rng.random() < skip_prob) for _ in range(i))
        return arc

    def check_arc(self, arc: Sequence[int]) -> None:
        if len(arc) != self.arc_length:
            raise InputError(f"a {self.layers}-layer macro architecture has {self.arc_length} entries, got {len(arc)}")
        for i, (a, _) in enumerate(self.layer_slices()):
            if not 0 <= arc[a] < len(self.ops):
                raise InputError(f"layer {i}: op index {arc[a]} out of range 0..{len(self.ops) - 1}")
        for i, (a, b) in enumerate(self.layer_slices()):
            if any(x not in (0, 1) for x in arc[a + 1:b]):
                raise InputError(f"layer {i}: skip entries must be 0 or 1")

    def to_graph(self, arc: Sequence[int], input_shape: str = "N,3,H,W", where: Sequence[str] = ()) -> nx.DiGraph:
        """The child network of ``arc`` as a graph (node for node the :func:`blueprint`)."""
        self.check_arc(arc)
        bp = blueprint(self)
        g = GraphBuilder()
        x = g.input("x", input_shape)
        g.where(*where)
        h = x
        for role, op in bp.stem:
            h = g.add(op, h, name=role)
        layers: list[str] = []
        prev = h
        for i, (a, b) in enumerate(self.layer_slices()):
            out = prev
            for role, op in bp.branches[arc[a]]:
                out = g.add(op, out, name=f"L{i}_{role}")
            skips = [layers[j] for j, bit in enumerate(arc[a + 1:b]) if bit]
            for k, s in enumerate(skips):
                out = g.add("add", out, s, name=f"L{i}_skip{k}")
            out = g.add(bp.layer_norm, out, name=f"L{i}_bn")
            layers.append(out)
            prev = out
            if i in bp.reduction_layers:
                layers = [g.add(bp.reduction, t, name=f"R{i}_from{j}") for j, t in enumerate(layers)]
                prev = layers[-1]
        h = prev
        for role, op in bp.head:
            h = g.add(op, h, name=role)
        g.output(h)
        g.graph.graph["name"] = f"{self.name}:{','.join(map(str, arc))}"
        g.graph.graph["arc"] = list(arc)
        return g.graph


# ---- the blueprint: one torch-free description of the macro child network ---------------------
#
# Stem, one branch per controller choice, the batch norm after every layer's skip sum, the
# factorized reductions and the classifier head, each as a list of (role, Op).  ``to_graph``, the
# whole-space verifier below, the shape oracle (arts.nas.spaces) and the shared child network
# (arts.nas.child, which builds every module from these Ops with the op builders) all read it, so
# the network that is searched, checked and retrained is one network.

Steps = tuple[tuple[str, Op], ...]


@dataclass(frozen=True)
class Blueprint:
    """The macro child network as the authors built it (TDeVries/enas_pytorch, used by the paper):

    * stem: 3x3 conv (no bias) + BN;
    * branch of a convolution (any conv2d / sep_conv2d choice): 1x1 conv + BN + ReLU, the op, BN,
      ReLU (ReLU at the end of every conv branch);
    * branch of a pool: 1x1 conv + BN + ReLU, the pool (its input is a ReLU output, so the pool's
      output is already non-negative: a final ReLU would be the identity);
    * branch of a transposed convolution: the bare ``ConvTranspose2d`` (3G, as the authors had it);
    * every layer: the skip sum, then BN (also without skips);
    * after layers ``L/3-1`` and ``2L/3-1``: a factorized reduction of every earlier output;
    * head: global average pool, flatten, dropout, linear.
    """

    stem: Steps
    branches: tuple[Steps, ...]
    layer_norm: Op
    reduction: Op
    reduction_layers: tuple[int, ...]
    head: Steps


def stem_steps(in_channels: int, channels: int) -> Steps:
    return (("stem", Op.make("conv2d", {"in_channels": in_channels, "out_channels": channels, "kernel_size": 3,
                                        "padding": 1, "bias": False})),
            ("stem_bn", Op.make("batch_norm2d", {"num_features": channels})))


def branch_steps(op: Op, channels: int) -> Steps:
    """The branch of one controller choice (see :class:`Blueprint`)."""
    return _branch_steps(op, channels)


@lru_cache(maxsize=4096)
def _branch_steps(op: Op, channels: int) -> Steps:
    c = channels
    if op.name == "conv_transpose2d":
        return (("op", op),)
    steps: list[tuple[str, Op]] = [
        ("proj", Op.make("conv2d", {"in_channels": c, "out_channels": c, "kernel_size": 1, "bias": False})),
        ("proj_bn", Op.make("batch_norm2d", {"num_features": c})), ("proj_relu", Op.make("relu")), ("op", op)]
    if not _is_param_free(op):
        steps += [("op_bn", Op.make("batch_norm2d", {"num_features": c})), ("op_relu", Op.make("relu"))]
    return tuple(steps)


def head_steps(channels: int, num_classes: int, dropout: float | None = None) -> Steps:
    drop = Op.make("dropout", {"p": dropout}) if dropout is not None else Op.make("dropout")
    return (("gap", Op.make("adaptive_avg_pool2d", {"output_size": 1})), ("flat", Op.make("flatten")),
            ("drop", drop), ("fc", Op.make("linear", {"in_features": channels, "out_features": num_classes})))


def blueprint(space: "MacroSpace", dropout: float | None = None) -> Blueprint:
    c = space.channels
    return Blueprint(
        stem=stem_steps(space.in_channels, c),
        branches=tuple(branch_steps(op, c) for op in space.ops),
        layer_norm=Op.make("batch_norm2d", {"num_features": c}),
        reduction=Op.make("factorized_reduction", {"in_channels": c, "out_channels": c}),
        reduction_layers=tuple(space.reduction_layers),
        head=head_steps(c, space.num_classes, dropout))


@dataclass
class MicroSpace:
    """The ENAS micro space: cells of ``nodes`` nodes; each node adds two ops of two earlier
    states.  ``cells`` normal cells per stage, with a reduction cell between stages."""

    ops: tuple = MICRO_OPS
    nodes: int = 5
    cells: int = 2
    channels: int = 20
    in_channels: int = 3
    num_classes: int = 10
    name: str = "micro"

    def __post_init__(self) -> None:
        self.ops = _ops(self.ops)
        if self.nodes < 1 or self.cells < 0:
            raise InputError("a micro space needs at least one node per cell")

    @property
    def cell_arc_length(self) -> int:
        return 4 * self.nodes

    def random_cell(self, rng: random.Random) -> list[int]:
        arc: list[int] = []
        for b in range(self.nodes):
            for _ in range(2):
                arc += [rng.randrange(b + 2), rng.randrange(len(self.ops))]
        return arc

    def random_arc(self, rng: random.Random) -> tuple[list[int], list[int]]:
        return self.random_cell(rng), self.random_cell(rng)

    def check_cell(self, arc: Sequence[int], kind: str) -> None:
        if len(arc) != self.cell_arc_length:
            raise InputError(f"a {self.nodes}-node {kind} cell has {self.cell_arc_length} entries, got {len(arc)}")
        for b in range(self.nodes):
            for k in range(2):
                i, o = arc[4 * b + 2 * k], arc[4 * b + 2 * k + 1]
                if not 0 <= i < b + 2:
                    raise InputError(f"{kind} cell node {b}: input id {i} out of range 0..{b + 1}")
                if not 0 <= o < len(self.ops):
                    raise InputError(f"{kind} cell node {b}: op index {o} out of range 0..{len(self.ops) - 1}")

    def _cell(self, g: GraphBuilder, s0: str, s1: str, arc: Sequence[int], prefix: str) -> str:
        c = self.channels
        states = [s0, s1]
        used = [False] * (self.nodes + 2)
        for b in range(self.nodes):
            outs = []
            for k in range(2):
                i, o = arc[4 * b + 2 * k], arc[4 * b + 2 * k + 1]
                used[i] = True
                op = self.ops[o]
                h = states[i]
                if op.name != "identity":
                    if not _is_pool(op):
                        h = g.add("relu", h, name=f"{prefix}_n{b}_{k}_relu")
                    h = g.add(op, h, name=f"{prefix}_n{b}_{k}_op")
                    if not _is_param_free(op):
                        h = g.add("batch_norm2d", h, name=f"{prefix}_n{b}_{k}_bn", num_features=c)
                outs.append(h)
            states.append(g.add("add", outs[0], outs[1], name=f"{prefix}_n{b}"))
        loose = [states[j] for j in range(2, self.nodes + 2) if not used[j]]
        out = loose[0] if len(loose) == 1 else g.add("cat", *loose, name=f"{prefix}_cat", dim=1)
        h = g.add("relu", out, name=f"{prefix}_out_relu")
        h = g.add("conv2d", h, name=f"{prefix}_out", in_channels=c * len(loose), out_channels=c, kernel_size=1,
                  bias=False)
        return g.add("batch_norm2d", h, name=f"{prefix}_out_bn", num_features=c)

    def to_graph(self, arc: "tuple[Sequence[int], Sequence[int]]", input_shape: str = "N,3,H,W",
                 where: Sequence[str] = ()) -> nx.DiGraph:
        normal, reduce = arc
        self.check_cell(normal, "normal")
        self.check_cell(reduce, "reduction")
        g = GraphBuilder()
        x = g.input("x", input_shape)
        g.where(*where)
        c = self.channels
        h = g.add("conv2d", x, name="stem", in_channels=self.in_channels, out_channels=c, kernel_size=3, padding=1,
                  bias=False)
        h = g.add("batch_norm2d", h, name="stem_bn", num_features=c)
        s0 = s1 = h
        idx = 0
        for stage in range(3):
            for _ in range(self.cells):
                s0, s1 = s1, self._cell(g, s0, s1, normal, f"C{idx}")
                idx += 1
            if stage < 2:
                # reduction: factor-reduce both inputs, then a cell of the reduction kind
                r1 = g.add("factorized_reduction", s1, name=f"C{idx}_red1", in_channels=c, out_channels=c)
                r0 = g.add("factorized_reduction", s0, name=f"C{idx}_red0", in_channels=c, out_channels=c) \
                    if s0 != s1 else r1
                s0, s1 = r1, self._cell(g, r0, r1, reduce, f"C{idx}")
                idx += 1
        h = g.add("relu", s1, name="head_relu")
        h = g.add("adaptive_avg_pool2d", h, name="gap", output_size=1)
        h = g.add("flatten", h, name="flat")
        h = g.add("dropout", h, name="drop")
        h = g.add("linear", h, name="fc", in_features=c, out_features=self.num_classes)
        g.output(h)
        g.graph.graph["name"] = f"{self.name}:{','.join(map(str, normal))}|{','.join(map(str, reduce))}"
        g.graph.graph["arc"] = [list(normal), list(reduce)]
        return g.graph


@dataclass
class SpaceVerdict:
    """Whether every architecture of a space is well-typed on a domain."""

    ok: bool | None  # None: unknown
    reason: str
    arc: Any = None
    counterexample: dict[str, int] | None = None
    checked_choice_points: int = 0
    notes: list[str] = field(default_factory=list)



# ---- whole-space verification ----------------------------------------------------------------
#
# Every architecture is well-typed on a domain D iff no choice point can make a condition fail on
# D.  We walk the network once, keeping for each position the set of *shape classes* it can have
# (shapes proven equal on D are one class), each with a witness: choices that realise it.  Ops are
# applied to every class, merges are checked between every pair of classes that can meet.  The
# number of classes -- not of architectures -- bounds the work.  A failure is turned into a
# concrete architecture and size, and confirmed by checking that architecture's graph.

MAX_CLASSES = 64


class _Walker:
    def __init__(self, domain: Any, symbols: Sequence[sympy.Symbol], mode: str) -> None:
        self.D = domain
        self.symbols = symbols
        self.mode = mode
        self.points = 0

    def apply(self, op: Op, shapes: Sequence[tuple]) -> tuple[tuple | None, dict[str, int] | None, str]:
        """(output shape, None, "") or (None, counterexample, reason)."""
        from arts.ops.base import StaticShapeError
        from arts.solver.decide import decide
        from arts.solver.simplify import simplify_dim

        self.points += 1
        try:
            inf = op.apply(list(shapes))
        except StaticShapeError as e:
            return None, self.D.min_point(self.symbols), e.message
        conds = [c.formula for c in inf.conditions if c.mode == "any" or self.mode == "train"]
        if conds:
            v = decide(sympy.And(*conds), self.D, self.symbols)
            if v.is_refuted:
                return None, v.counterexample, f"{op} rejects its input there"
            if v.is_unknown:
                return None, None, f"undecided: {v.reason}"
        return tuple(simplify_dim(sympy.sympify(e)) for e in inf.shape), None, ""

    def same(self, a: tuple, b: tuple) -> bool:
        from arts.solver.decide import decide

        if len(a) != len(b):
            return False
        return decide(sympy.And(*(sympy.Eq(x, y) for x, y in zip(a, b))), self.D, self.symbols).is_proven

    def merge(self, classes: list[tuple[tuple, Any]], shape: tuple, witness: Any) -> None:
        for s, _ in classes:
            if self.same(s, shape):
                return
        classes.append((shape, witness))
        if len(classes) > MAX_CLASSES:
            raise _TooMany()


class _TooMany(Exception):
    pass


def _head_ops(space: Any) -> list[Op]:
    c = space.channels
    return [Op.make("relu"), Op.make("adaptive_avg_pool2d", {"output_size": 1}), Op.make("flatten"),
            Op.make("linear", {"in_features": c, "out_features": space.num_classes})]


def _stem_ops(space: Any) -> list[Op]:
    c = space.channels
    return [Op.make("conv2d", {"in_channels": space.in_channels, "out_channels": c, "kernel_size": 3,
                               "padding": 1, "bias": False}),
            Op.make("batch_norm2d", {"num_features": c})]


def _chain(w: _Walker, ops: Sequence[Op], shape: tuple) -> tuple[tuple | None, dict[str, int] | None, str]:
    for op in ops:
        out, cx, why = w.apply(op, [shape])
        if out is None:
            return None, cx, why
        shape = out
    return shape, None, ""


def _prepare(input_shape: str, where: Any) -> tuple[Any, list[sympy.Symbol], tuple]:
    from arts.solver.domain import Domain
    from arts.solver.parse import parse_constraints
    from arts.solver.symbols import parse_shape

    shape = parse_shape(input_shape)
    syms: list[sympy.Symbol] = []
    for e in shape:
        syms.extend(x for x in sorted(sympy.sympify(e).free_symbols, key=lambda t: t.name) if x not in syms)
    D = Domain(parse_constraints(list(where) if where else None), syms)
    if D.empty:
        raise InputError("the constraints admit no input size")
    return D, syms, shape


def _confirm(space: Any, arc: Any, input_shape: str, where: Any, cx: dict[str, int] | None, reason: str,
             points: int, mode: str) -> SpaceVerdict:
    from arts.graph.check import typecheck

    G = space.to_graph(arc, input_shape)
    rep = typecheck(G, where=list(where) if where else None, mode=mode)
    if rep.status == "error":
        point = cx if cx is not None and rep.declared.contains(cx) and not rep.static_failure and \
            not rep.accepts(**cx) else None
        if point is None:
            errs = [d for d in rep.diagnostics if d.severity == "error" and d.counterexample]
            point = errs[0].counterexample if errs else rep.declared.min_point(rep.symbols)
        return SpaceVerdict(False, reason, arc, point, points)
    return SpaceVerdict(None, f"a choice combination looked invalid ({reason}) but its architecture checked "
                              f"{rep.status}; undecided", arc, None, points)


def verify_macro(space: MacroSpace, input_shape: str = "N,3,H,W", where: Any = (), mode: str = "eval") -> SpaceVerdict:
    """Decide whether every architecture of ``space`` is well-typed on the domain."""
    D, syms, shape = _prepare(input_shape, where)
    w = _Walker(D, syms, mode)
    L = space.layers
    zero_arc = [0] * space.arc_length
    slices = space.layer_slices()

    def arc_of(ops_chosen: Sequence[int], skip: tuple[int, int] | None = None) -> list[int]:
        arc = list(zero_arc)
        for i, k in enumerate(ops_chosen):
            arc[slices[i][0]] = k
        if skip is not None:
            i, j = skip
            arc[slices[i][0] + 1 + j] = 1
        return arc

    bp = blueprint(space)
    stem, cx, why = _chain(w, [op for _, op in bp.stem], shape)
    if stem is None:
        return _confirm(space, zero_arc, input_shape, where, cx, f"stem: {why}", w.points, mode)
    # a state: (shapes of the layer outputs of the current stage, prev shape, witness op choices)
    states: list[tuple[tuple, tuple, tuple]] = [((), stem, ())]
    branch = [[op for _, op in steps] for steps in bp.branches]
    try:
        for i in range(L):
            new_states: list[tuple[tuple, tuple, tuple]] = []
            for layers, prev, wit in states:
                outs: list[tuple[tuple, Any]] = []
                for k in range(len(space.ops)):
                    out, cx, why = _chain(w, branch[k], prev)
                    if out is None:
                        return _confirm(space, arc_of(wit + (k,)), input_shape, where, cx,
                                        f"layer {i}, op {k} ({space.ops[k]}): {why}", w.points, mode)
                    w.merge(outs, out, k)
                for out, k in outs:
                    for j, sj in enumerate(layers):
                        add, cx, why = w.apply(Op.make("add"), [out, sj])
                        if add is None or not w.same(add, out):
                            return _confirm(space, arc_of(wit + (k,), (i, j)), input_shape, where, cx,
                                            f"layer {i}, op {k} ({space.ops[k]}) with a skip from layer {j}: "
                                            f"{why or 'the sum changes shape'}", w.points, mode)
                    out, cx, why = w.apply(bp.layer_norm, [out])
                    if out is None:
                        return _confirm(space, arc_of(wit + (k,)), input_shape, where, cx,
                                        f"layer {i}: the batch norm after the skip sum: {why}", w.points, mode)
                    nl = layers + (out,)
                    if i in bp.reduction_layers:
                        red = bp.reduction
                        reduced = []
                        for j, sj in enumerate(nl):
                            r, cx, why = w.apply(red, [sj])
                            if r is None:
                                return _confirm(space, arc_of(wit + (k,)), input_shape, where, cx,
                                                f"reduction after layer {i}, from layer {j}: {why}", w.points, mode)
                            reduced.append(r)
                        nl = tuple(reduced)
                    cand = (nl, nl[-1], wit + (k,))
                    if not any(len(s[0]) == len(nl) and all(w.same(a, b) for a, b in zip(s[0], nl))
                               for s in new_states):
                        new_states.append(cand)
                        if len(new_states) > MAX_CLASSES:
                            raise _TooMany()
            states = new_states
        for _, prev, wit in states:
            out, cx, why = _chain(w, [op for _, op in bp.head], prev)
            if out is None:
                return _confirm(space, arc_of(wit), input_shape, where, cx, f"classifier head: {why}", w.points,
                                mode)
    except _TooMany:
        return SpaceVerdict(None, f"more than {MAX_CLASSES} distinct shape classes; undecided",
                            checked_choice_points=w.points)
    n_arcs = len(space.ops) ** L * 2 ** (L * (L - 1) // 2)
    return SpaceVerdict(True, f"all {n_arcs:.3g} architectures are well-typed on {D.describe()}",
                        checked_choice_points=w.points)


def verify_micro(space: MicroSpace, input_shape: str = "N,3,H,W", where: Any = (), mode: str = "eval") -> SpaceVerdict:
    """Decide whether every architecture of a micro ``space`` is well-typed on the domain."""
    D, syms, shape = _prepare(input_shape, where)
    w = _Walker(D, syms, mode)
    c = space.channels
    nodes = space.nodes
    base_cell = [0, 0, 1, 0] * nodes
    base = (list(base_cell), list(base_cell))

    def cell_classes(s0s: list, s1s: list, kind: int) -> list[tuple[tuple, Any]] | SpaceVerdict:
        """Output classes of a cell whose inputs have the given classes."""
        outs: list[tuple[tuple, Any]] = []
        for s0, _ in s0s:
            for s1, _ in s1s:
                states: list[list[tuple[tuple, Any]]] = [[(s0, None)], [(s1, None)]]
                for b in range(nodes):
                    branches: list[tuple[tuple, Any]] = []
                    for i in range(b + 2):
                        for k, op in enumerate(space.ops):
                            for st, _ in states[i]:
                                ops = ([] if op.name == "identity" else
                                       ([Op.make("relu")] if not _is_pool(op) else []) + [op] +
                                       ([Op.make("batch_norm2d", {"num_features": c})] if not _is_param_free(op)
                                        else []))
                                out, cx, why = _chain(w, ops, st)
                                if out is None:
                                    arc = [list(base_cell), list(base_cell)]
                                    arc[kind][4 * b:4 * b + 2] = [i, k]
                                    return _confirm(space, tuple(arc), input_shape, where, cx,
                                                    f"{['normal', 'reduction'][kind]} cell node {b}: op {k} "
                                                    f"({op}) on input {i}: {why}", w.points, mode)
                                w.merge(branches, out, (i, k))
                    node_out: list[tuple[tuple, Any]] = []
                    for x, wx in branches:
                        for y, wy in branches:
                            add, cx, why = w.apply(Op.make("add"), [x, y])
                            if add is None:
                                arc = [list(base_cell), list(base_cell)]
                                arc[kind][4 * b:4 * b + 4] = [wx[0], wx[1], wy[0], wy[1]]
                                return _confirm(space, tuple(arc), input_shape, where, cx,
                                                f"{['normal', 'reduction'][kind]} cell node {b}: the sum of "
                                                f"{wx} and {wy}: {why}", w.points, mode)
                            w.merge(node_out, add, (wx, wy))
                    states.append(node_out)
                every = [cl for st in states[2:] for cl in st]
                for x, _ in every:
                    for y, _ in every:
                        if len(x) != len(y) or not w.same(x[2:], y[2:]):
                            return SpaceVerdict(None, "cell nodes of different sizes may be concatenated; "
                                                      "undecided", checked_choice_points=w.points)
                for x, wit in every:
                    h = (x[0], c) + tuple(x[2:])
                    out, cx, why = _chain(w, [Op.make("relu"), Op.make("batch_norm2d", {"num_features": c})], h)
                    if out is None:
                        return _confirm(space, base, input_shape, where, cx, f"cell output: {why}", w.points, mode)
                    w.merge(outs, out, wit)
        return outs

    try:
        stem, cx, why = _chain(w, _stem_ops(space), shape)
        if stem is None:
            return _confirm(space, base, input_shape, where, cx, f"stem: {why}", w.points, mode)
        s0s = s1s = [(stem, None)]
        red = Op.make("factorized_reduction", {"in_channels": c, "out_channels": c})
        for stage in range(3):
            for _ in range(space.cells):
                res = cell_classes(s0s, s1s, 0)
                if isinstance(res, SpaceVerdict):
                    return res
                s0s, s1s = s1s, res
            if stage < 2:
                r0s: list[tuple[tuple, Any]] = []
                r1s: list[tuple[tuple, Any]] = []
                for src, dst in ((s0s, r0s), (s1s, r1s)):
                    for st, wit in src:
                        r, cx, why = w.apply(red, [st])
                        if r is None:
                            return _confirm(space, base, input_shape, where, cx, f"reduction: {why}", w.points, mode)
                        w.merge(dst, r, wit)
                res = cell_classes(r0s, r1s, 1)
                if isinstance(res, SpaceVerdict):
                    return res
                s0s, s1s = r1s, res
        for st, _ in s1s:
            out, cx, why = _chain(w, _head_ops(space), st)
            if out is None:
                return _confirm(space, base, input_shape, where, cx, f"classifier head: {why}", w.points, mode)
    except _TooMany:
        return SpaceVerdict(None, f"more than {MAX_CLASSES} distinct shape classes; undecided",
                            checked_choice_points=w.points)
    return SpaceVerdict(True, f"every architecture is well-typed on {D.describe()}", checked_choice_points=w.points)


def verify_space(space: "MacroSpace | MicroSpace", input_shape: str = "N,3,H,W", where: Any = (),
                 mode: str = "eval") -> SpaceVerdict:
    """Whether every architecture of ``space`` is well-typed for every input of the domain."""
    if isinstance(space, MacroSpace):
        return verify_macro(space, input_shape, where, mode)
    return verify_micro(space, input_shape, where, mode)
