"""Sizes and Python values: ``x.shape``, ``x.size(d)``, ``getattr``, indexing, ``_assert``."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

import sympy

from arts.frontends.lowering.registry import lowers
from arts.ops.frontend_ops import placeholder
from arts.frontends.lowering.values import (
    NotLowered, Opaque, ShapeVal, SplitVal, TensorVal, as_int, integer_valued,
)

if TYPE_CHECKING:
    from arts.frontends.lowering.lowerer import Lowerer


@lowers("builtins.getattr")
def _getattr(L: Lowerer, node: Any, name: str, obj: Any, attr: str, *default: Any) -> Any:
    if isinstance(obj, TensorVal):
        if attr == "shape":
            return ShapeVal(obj.name)
        if attr == "ndim":
            r = L.ranks.get(obj.name)
            if r is None:
                raise NotLowered("the rank of a tensor whose shape could not be inferred")
            return r
        if attr in ("data", "real"):
            return obj
        if attr == "T":
            r = L.ranks.get(obj.name)
            if r is None:
                raise NotLowered("the rank of a tensor whose shape could not be inferred")
            return L.emit(node, "permute", {"dims": list(range(r))[::-1]}, [obj.name])
        return Opaque(f"tensor attribute .{attr}")
    if isinstance(obj, Opaque):
        return obj
    if isinstance(obj, tuple) and hasattr(obj, "_fields") and attr in obj._fields:
        return getattr(obj, attr)
    try:
        return getattr(obj, attr)
    except Exception:  # noqa: BLE001
        raise NotLowered(f"attribute .{attr} of {L._show(obj)}") from None


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


def _part_count(L: Lowerer, obj: SplitVal) -> int | None:
    """How many parts ``split``/``chunk``/``unbind`` gives (for ``parts[-1]``): fixed by a tuple of
    sizes, else only when the dimension's size is a known int (timm Res2Net's channel split)."""
    if obj.kind == "split" and isinstance(obj.size, tuple):
        return len(obj.size)
    if obj.kind == "sized_split":
        return len(obj.size[0])
    r = L.ranks.get(obj.tensor)
    shape = L.shapes.get(obj.tensor)
    if r is None or shape is None or not -r <= obj.dim < r:
        return None
    S = sympy.sympify(shape[obj.dim % r])
    if not S.is_Integer or int(S) < 1:
        return None
    n = int(S)
    if obj.kind == "unbind":
        return n
    if obj.kind == "split":
        return -(-n // obj.size) if isinstance(obj.size, int) and obj.size > 0 else None
    if isinstance(obj.size, int) and obj.size > 0:  # chunk: torch.chunk's parts of ceil(n / chunks) each
        each = -(-n // obj.size)
        return -(-n // each)
    return None


def _part(L: Lowerer, node: Any, obj: SplitVal, idx: int, last: bool, suffix: str = "") -> Any:
    """Part ``idx`` of ``split``/``chunk``/``unbind`` (``last``: no part may follow it)."""
    if obj.kind == "unbind":
        return L.emit(node, "unbind_part", {"dim": obj.dim, "index": idx, "last": last}, [obj.tensor], suffix)
    if obj.kind == "chunk":
        return L.emit(node, "chunk_part", {"chunks": obj.size, "dim": obj.dim, "index": idx, "last": last},
                      [obj.tensor], suffix)
    if obj.kind == "sized_split":
        held, extra = obj.size
        return L.emit(node, "sized_split_part", {"split_size": list(held), "dim": obj.dim, "index": idx,
                                                 "last": last}, [obj.tensor, *extra], suffix)
    return L.emit(node, "split_part", {"split_size": obj.size, "dim": obj.dim, "index": idx, "last": last},
                  [obj.tensor], suffix)


def split_parts(L: Lowerer, node: Any, obj: SplitVal) -> list[Any]:
    """Every part of ``split``/``chunk``/``unbind``, for a call that takes them all
    (timm BAT's ``torch.cat(torch.split(x, 1, dim=1), dim=3)``): their number must be known."""
    count = _part_count(L, obj)
    if count is None:
        raise NotLowered(f"all the parts of {obj.kind} of a dimension of unknown size")
    return [_part(L, node, obj, i, i == count - 1, suffix=f"_part{i}") for i in range(count)]


@lowers("math.ceil", "math.floor")
def _ceil_floor(L: Lowerer, node: Any, name: str, x: Any) -> Any:
    """``math.ceil(H / self.stride)`` (timm VOLO): the exact integer of a quotient of sizes."""
    if isinstance(x, bool) or not isinstance(x, (int, float, sympy.Expr)):
        raise NotLowered(f"math.{name} of {L._show(x)}")
    if isinstance(x, float):
        import math

        return math.ceil(x) if name == "ceil" else math.floor(x)
    return as_int((sympy.ceiling if name == "ceil" else sympy.floor)(x))


@lowers("math.prod")
def _prod(L: Lowerer, node: Any, name: str, iterable: Any, *, start: Any = 1) -> Any:
    """``math.prod(sizes)`` (Hugging Face Hiera's ``math.prod(strides)``, ``math.prod(x.shape[1:-1])``):
    the product of a shape or of a sequence of sizes and numbers, times ``start``."""
    items = L.shape_items(iterable.tensor) if isinstance(iterable, ShapeVal) else iterable
    if not isinstance(items, (list, tuple)):
        raise NotLowered(f"math.prod of {L._show(iterable)}")
    out: Any = start
    for v in (start, *items):
        if isinstance(v, bool) or not isinstance(v, (int, float, sympy.Expr)):
            raise NotLowered(f"math.prod of {L._show(v)}")
    for v in items:
        out = out * v
    return as_int(out)


@lowers("operator.getitem")
def _getitem(L: Lowerer, node: Any, name: str, obj: Any, idx: Any) -> Any:
    if isinstance(obj, ShapeVal):
        if isinstance(idx, int) and not isinstance(idx, bool):
            return L.size_of(obj.tensor, idx)
        if isinstance(idx, slice) and all(v is None or isinstance(v, int) for v in (idx.start, idx.stop, idx.step)):
            return tuple(L.shape_items(obj.tensor)[idx])
        raise NotLowered(f"shape indexed by {L._show(idx)}")
    if isinstance(obj, SplitVal):
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise NotLowered(f"{obj.kind} result indexed by {L._show(idx)}")
        if idx < 0:
            count = _part_count(L, obj)
            if count is None:
                raise NotLowered(f"negative index into the parts of {obj.kind} of a dimension of unknown size")
            idx += count
            if idx < 0:
                raise NotLowered(f"index {idx - count} into the {count} parts of {obj.kind}")
        return _part(L, node, obj, idx, _unpack_count(node, L) == idx + 1)
    if isinstance(obj, (tuple, list)):
        if isinstance(idx, (int, slice)) and not isinstance(idx, bool):
            try:
                return obj[idx]
            except IndexError:
                raise NotLowered(f"index {idx} out of range") from None
        raise NotLowered(f"a sequence indexed by {L._show(idx)}")
    if isinstance(obj, dict):
        try:
            return obj[idx]
        except (KeyError, TypeError):
            raise NotLowered(f"key {idx!r}") from None
    if isinstance(obj, TensorVal):
        items = idx if isinstance(idx, tuple) else (idx,)
        spec: list[tuple] = []
        for it in items:
            if it is None:
                spec.append(("none",))
            elif it is Ellipsis:
                spec.append(("ellipsis",))
            elif isinstance(it, int) and not isinstance(it, bool):
                spec.append(("int", it))
            elif isinstance(it, slice):
                spec.append(("slice", *_slice_parts(L, it)))
            elif isinstance(it, (TensorVal, list)):
                from arts.frontends.lowering.indexing import advanced_index

                return advanced_index(L, node, obj.name, items)
            else:
                raise NotLowered(f"indexing with {L._show(it)}")
        return _emit_index(L, node, obj.name, spec)
    if isinstance(obj, Opaque):
        return obj
    raise NotLowered(f"indexing {L._show(obj)}")


@lowers("operator.setitem")
def _setitem(L: Lowerer, node: Any, name: str, obj: Any, idx: Any, value: Any) -> Any:
    """``x[idx] = number`` into a tensor just allocated (Swin's shifted-window mask,
    ``torch.zeros(...)`` filled region by region): ``x`` keeps its shape.  A slice never raises in
    a store (an empty selection stores nothing), so only the rest of the index is checked, as
    ``x[idx]`` checks it with every slice whole; a fresh tensor has no elements that share memory
    (torch refuses to write to those).  A store into any other tensor (a view, an expanded one:
    whether the selection overlaps itself) or of a tensor (its broadcast to a selection that may
    be empty) is not modelled."""
    from arts.ops.layout import allocates_fresh

    if not isinstance(obj, TensorVal):
        raise NotLowered(f"storing into {L._show(obj)}")
    op = L.G.nodes[obj.name].get("op") if obj.name in L.G else None
    if op is None or not allocates_fresh(op):
        raise NotLowered("a store into a tensor that is not a fresh allocation (it may share memory)")
    if not isinstance(value, (int, float, sympy.Expr)):  # a bool is an int
        raise NotLowered(f"storing {L._show(value)} through an index")
    items = idx if isinstance(idx, tuple) else (idx,)
    for it in items:
        if isinstance(it, slice) and not (it.step is None or (type(it.step) is int and it.step >= 1)):
            raise NotLowered(f"a store through slice step {L._show(it.step)}")
    _getitem(L, node, name, obj, tuple(slice(None) if isinstance(it, slice) else it for it in items))
    return None


def _slice_parts(L: Lowerer, it: slice) -> list[Any]:
    """(start, stop, step) of a slice in ``x[...]``: each bound None, an int or a size expression
    over reference symbols (``x[:, :H, :W]``: ``H`` read from another tensor); the step a positive
    int (torch refuses others)."""
    parts = [as_int(v) for v in (it.start, it.stop, it.step)]
    for v in parts[:2]:
        if v is not None and not isinstance(v, int):
            L.size(v, "slice bound")  # NotLowered unless an integer size expression arts follows
    step = parts[2]
    if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
        raise NotLowered(f"slice step {L._show(step)} computed from sizes")
    if step is not None and step < 1:
        raise NotLowered(f"slice step {step} (torch requires a positive step)")
    return parts


def _emit_index(L: Lowerer, node: Any, x: str, spec: list[tuple], suffix: str = "") -> TensorVal:
    """Emit ``index`` on ``x``; slice bounds that are size expressions become placeholders
    (``arg{i}_{d}``) over the tensors whose sizes they read, which follow ``x`` as arguments."""
    args = [x]
    out = []
    for it in spec:
        if it[0] == "slice":
            lo, hi = L.placeheld([it[1], it[2]], args)
            it = (it[0], lo, hi, it[3])
        out.append(it)
    return L.emit(node, "index", {"index": out}, args, suffix)


@lowers("Tensor.size")
def _size(L: Lowerer, node: Any, name: str, x: Any, dim: Any = None) -> Any:
    t = L.tensor(x, "size()")
    if dim is None:
        return ShapeVal(t)
    if not isinstance(dim, int):
        raise NotLowered(f"size({L._show(dim)})")
    return L.size_of(t, dim)


@lowers("Tensor.dim", "Tensor.ndimension")
def _dim(L: Lowerer, node: Any, name: str, x: Any) -> Any:
    t = L.tensor(x, "dim()")
    r = L.ranks.get(t)
    if r is None:
        raise NotLowered("the rank of a tensor whose shape could not be inferred")
    return r


@lowers("Tensor.numel", "Tensor.nelement", "torch.numel")
def _numel(L: Lowerer, node: Any, name: str, x: Any) -> Any:
    items = L.shape_items(L.tensor(x, "numel()"))
    return as_int(sympy.Mul(*[sympy.sympify(i) for i in items]))


def _proxies_named(L: Lowerer, text: str) -> str:
    """An f-string message formatted while tracing shows ``Proxy(getitem_2)``: name the size instead
    (``H`` for a dimension of an input, else ``x.size(2)``)."""
    import re

    nodes = {n.name: n for n in L.fx_graph.nodes}

    def name(m: re.Match) -> str:
        v = L.env.get(nodes.get(m.group(1)))
        if isinstance(v, sympy.Expr):
            inputs = L.G.graph.get("inputs", {})
            reps = {s: inputs[t][d] for s, (t, d) in L.refs.items() if s in v.free_symbols and t in inputs}
            return L.show_size(v.xreplace(reps))
        return m.group(1)

    return re.sub(r"Proxy\((\w+)\)", name, text)


@lowers("torch._assert", name="_assert")
def _assert(L: Lowerer, node: Any, name: str, condition: Any, message: Any = "") -> Any:
    """A size check in the model's code is a condition of the domain (a ``size_assert`` node, at
    the assert's line): a failing one is a diagnostic with a counterexample, one that always fails is
    an error for every size.  An assert on tensor values is outside what arts models: unknown."""
    text = _proxies_named(L, message) if isinstance(message, str) else ""
    if isinstance(condition, bool) or condition in (sympy.true, sympy.false):
        if bool(condition):
            return None
        return L.emit(node, "size_assert", {"formula": False, "message": text}, [])
    if isinstance(condition, sympy.logic.boolalg.Boolean):
        formula, args = _size_formula(L, condition, "an assert")
        return L.emit(node, "size_assert", {"formula": formula, "message": text}, args)
    raise NotLowered(f"an assert on {L._show(condition)} (only checks on sizes are modelled)")


@lowers("torch.fx._symbolic_trace._assert_is_none", name="_assert_is_none")
def _noop(L: Lowerer, node: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    """fx's own check that a traced-as-constant argument is None: holds by construction."""
    return None


def _size_formula(L: Lowerer, condition: Any, what: str) -> tuple[Any, list[str]]:
    """(formula over placeholders, its argument tensors) for a condition over reference sizes."""
    args: list[str] = []
    reps = {}
    for s in sorted(condition.free_symbols, key=lambda t: t.name):
        if s not in L.refs:
            raise NotLowered(f"{what} on {L._show(condition)}")
        t, d = L.refs[s]
        if t not in args:
            args.append(t)
        reps[s] = placeholder(args.index(t), d)
    return condition.xreplace(reps), args


@lowers("arts.frontends.guards.branch_guard", name="branch_guard")
def _branch_guard(L: Lowerer, node: Any, name: str, condition: Any, taken: bool, raises: bool,
                  where: str = "") -> Any:
    """A branch ``forward`` took on sizes while traced (:mod:`arts.frontends.guards`): a
    ``branch_guard`` node whose formula is "the branch goes the traced way".  A condition arts
    computes to a constant must agree with the trace; if not, arts's reading of the sizes is not
    torch's and the branch is unknown."""
    shown = L._show(condition)
    if isinstance(condition, sympy.Expr) and not isinstance(condition, sympy.logic.boolalg.Boolean):
        condition = sympy.Ne(condition, 0)  # ``if h % 2:``
    if isinstance(condition, (bool, int)) or condition in (sympy.true, sympy.false):
        if bool(condition) == bool(taken):
            return None
        raise NotLowered(f"the branch at {where} on {shown}: arts computes it the other way")
    if not isinstance(condition, sympy.logic.boolalg.Boolean):
        if _size_free(node.args[0]):
            return None  # on dtypes, devices, constants: the same way for every size
        raise NotLowered(f"a branch at {where} on {shown} (only branches on sizes are modelled)")
    file, _, line = where.rpartition(":")
    if file and line.isdigit():
        from arts.frontends.locations import display_path

        where = f"{display_path(file, L.aliases)}:{line}"
    formula = condition if taken else sympy.Not(condition)
    if isinstance(formula, sympy.Eq):
        L.pinned.append(formula.lhs - formula.rhs)
    formula, args = _size_formula(L, formula, f"a branch at {where}")
    return L.emit(node, "branch_guard", {"formula": formula, "raises": bool(raises), "where": where}, args)


@lowers("arts.frontends.guards.size_select", name="size_select")
def _size_select(L: Lowerer, node: Any, name: str, condition: Any, then: Any, otherwise: Any) -> Any:
    """A list entry after ``if condition: entries[i] = then`` (:func:`arts.frontends.guards.conditional_store`):
    ``Piecewise((then, condition), (otherwise, True))`` over the sizes."""
    if isinstance(condition, sympy.Expr) and not isinstance(condition, sympy.logic.boolalg.Boolean):
        condition = sympy.Ne(condition, 0)
    if isinstance(condition, (bool, int)) or condition in (sympy.true, sympy.false):
        return then if bool(condition) else otherwise
    if not isinstance(condition, sympy.logic.boolalg.Boolean):
        raise NotLowered(f"a conditional store on {L._show(condition)} (only conditions on sizes are modelled)")
    if condition.free_symbols - set(L.refs):
        raise NotLowered(f"a conditional store on {L._show(condition)}")
    try:
        t, o = sympy.sympify(then, strict=True), sympy.sympify(otherwise, strict=True)
    except (sympy.SympifyError, TypeError):
        raise NotLowered(f"a conditional store of {L._show(then)} or {L._show(otherwise)}, not sizes") from None
    if (t.free_symbols | o.free_symbols) - set(L.refs):
        raise NotLowered(f"a conditional store of {L._show(then)} or {L._show(otherwise)}")
    if all(isinstance(v, bool) or (isinstance(v, sympy.logic.boolalg.Boolean) and not isinstance(v, sympy.Expr))
           for v in (then, otherwise)):  # ``a or b`` of conditions
        return sympy.Or(sympy.And(condition, t), sympy.And(sympy.Not(condition), o))
    for v in (then, otherwise):
        if not (isinstance(v, int) and not isinstance(v, bool)) and not (
                isinstance(v, sympy.Expr) and integer_valued(v)):
            raise NotLowered(f"a conditional store of {L._show(v)}, not an integer size")
    same = _equal_where_not(condition, then, otherwise)
    if same is not None:
        return same
    closed = _residue_form(condition, t, o)
    if closed is not None:
        return closed
    return sympy.Piecewise((sympy.sympify(then), condition), (sympy.sympify(otherwise), True))


def _equal_where_not(condition: Any, then: Any, otherwise: Any) -> Any:
    """``then`` when the select needs no case: both ways equal, or ``not condition`` says
    ``then == otherwise`` outright (MobileViT: ``new_h if new_h != H or ... else H`` is ``new_h``)."""
    a, b = sympy.sympify(then), sympy.sympify(otherwise)
    if a == b:
        return then
    negated = sympy.Not(condition)
    parts = negated.args if isinstance(negated, sympy.And) else (negated,)
    for p in parts:
        if isinstance(p, sympy.Eq) and {sympy.expand(p.lhs - p.rhs), sympy.expand(p.rhs - p.lhs)} & {
                sympy.expand(a - b)}:
            return then
    return None


_RESIDUE_MODULUS = 8  # largest modulus of a select on a residue that is written in closed form


def _residue_form(condition: Any, a: Any, b: Any) -> Any:
    """A select on the residue of one size ``E`` mod a small ``m`` (TF's "SAME" padding
    ``k - s if H % s == 0 else k - H % s``, ``s - W % s if W % s else 0``), written without cases
    where its value at each residue ``r`` is ``c + (k - r) mod m`` or ``f0 + d * r``: as
    ``c + k - E + m*ceiling((E - k)/m)`` or ``f0 + d * (E - m*floor(E/m))``, sizes the solver
    reasons about without cases.  None where it is not such a select (it stays a ``Piecewise``;
    the checker resolves one whose choice does not matter on the live domain)."""
    if not (isinstance(a, sympy.Expr) and isinstance(b, sympy.Expr)):
        return None
    pairs = set()
    atoms = condition.atoms(sympy.Mod, sympy.floor)
    outer = [t for t in atoms if not any(u is not t and u.has(t) for u in atoms)]  # E may have floors inside
    for atom in outer:
        if isinstance(atom, sympy.Mod) and atom.args[1].is_Integer:
            pairs.add((atom.args[0], int(atom.args[1])))
        elif isinstance(atom, sympy.floor):
            num, den = sympy.fraction(sympy.together(atom.args[0]))
            if den.is_Integer and int(den) > 1:
                pairs.add((sympy.expand(num), int(den)))
    if len(pairs) != 1:
        return None
    (E, m), = pairs
    if m > _RESIDUE_MODULUS or not integer_valued(E):
        return None
    q = sympy.Dummy("q", integer=True)
    table = []
    for k in range(m):
        reps = {sympy.Mod(E, m): k, sympy.floor(E / m): q, E: m * q + k}
        c = sympy.simplify(condition.xreplace(reps))
        if c not in (sympy.true, sympy.false):
            return None
        v = sympy.expand((a if c is sympy.true else b).xreplace(reps))
        if v.has(sympy.Mod, sympy.floor, sympy.ceiling) and (v.free_symbols & {q} or v.has(E)):
            return None
        table.append(v)
    back = {q: sympy.floor(E / m)}
    # the padding form first: ``E`` plus it is a multiple of ``m`` (plus ``k``), which cancels in
    # the padded size (``E + pad = m*ceiling(E/m)``) and keeps the layers after it plain
    for k in range(m):
        c0 = sympy.expand(table[0] - (k % m))
        if all(sympy.expand(table[j] - c0 - ((k - j) % m)) == 0 for j in range(m)):
            return as_int(c0.xreplace(back) + k - E + m * sympy.ceiling((E - k) / m))
    step = sympy.expand(table[1] - table[0]) if m > 1 else sympy.Integer(0)
    if all(sympy.expand(table[k] - table[0] - k * step) == 0 for k in range(m)):
        residue = E - m * sympy.floor(E / m)
        return as_int(sympy.expand(table[0].xreplace(back) + step.xreplace(back) * residue))
    return None


@lowers("builtins.len", name="len")
def _len(L: Lowerer, node: Any, name: str, obj: Any) -> Any:
    """``len`` of a sequence arts knows (a static length), of a shape (the rank) or of a tensor (its
    first size)."""
    if isinstance(obj, (list, tuple)):
        return len(obj)
    if isinstance(obj, ShapeVal):
        return len(L.shape_items(obj.tensor))
    if isinstance(obj, TensorVal):
        return L.size_of(obj.name, 0)
    raise NotLowered(f"len() of {L._show(obj)}")


# attributes of a tensor that no size changes (dtype promotion ignores sizes) and that the traced
# example (meta tensors of the input's dtype) shares with a real run; not the device: the trace runs
# on meta, so a branch on the device went the way a CPU or GPU run does not
_SIZE_FREE_ATTRS = ("dtype", "layout", "requires_grad", "is_sparse", "is_quantized")
_SIZE_FREE_METHODS = ("is_floating_point", "is_complex", "is_contiguous_memory_format_unused")


def _size_free(cond: Any, limit: int = 64) -> bool:
    """Whether the fx value ``cond`` is computed, through Python operators only, from constants
    and size-free tensor attributes (``x.dtype == torch.float16``): then it is the same at every
    input size.  Any other node on the way (a size read, a module, a tensor op) may depend on sizes."""
    import builtins
    import operator

    from torch import fx

    todo, seen = [cond], 0
    while todo:
        n = todo.pop()
        if not isinstance(n, fx.Node):
            if isinstance(n, (list, tuple)):
                todo.extend(n)
            continue
        seen += 1
        if seen > limit:
            return False
        if n.op == "call_function" and n.target is builtins.getattr and len(n.args) >= 2 and \
                n.args[1] in _SIZE_FREE_ATTRS:
            continue
        if n.op == "call_method" and n.target in _SIZE_FREE_METHODS:
            continue
        if n.op == "call_function" and (getattr(n.target, "__module__", None) in ("_operator", "operator")
                                        or n.target in (builtins.isinstance, builtins.bool)):
            if n.target in (operator.getitem,):
                return False  # indexing may read a size
            todo.extend(list(n.args) + list(n.kwargs.values()))
            continue
        return False
    return True
