"""If-conversion: a branch on sizes traced both ways and merged, instead of guarded.

A branch on a size bounds the region where a trace is the model (:mod:`arts.frontends.guards`).
Many such branches only choose a *value*: Hugging Face's TF-style padding
(``if in_height % stride == 0: pad = max(k - stride, 0) else: pad = max(k - in_height % stride, 0)``),
Swin's ``should_pad = (h % 2 == 1) or (w % 2 == 1)``, or an optional step on one tensor
(``if pad_r > 0 or pad_b > 0: x = x[:, :H, :W, :].contiguous()``, MobileViT's
``if new_h != H: x = F.interpolate(x, size=(new_h, new_w))``).  One guard per layer and per axis
makes a region that is a residue class of the input size: a few traces cannot cover them all.

Such a branch is rewritten, for the trace only, so that both ways run and their results are
merged (:meth:`GuardedTracer.merge <arts.frontends.guards.guarded_tracer>`): a size becomes
``size_select(c, then, otherwise)`` (a ``Piecewise`` once lowered), and a tensor that one way
passes through an op whose parameters have an identity (``pad`` by 0, ``interpolate`` to its own
size, a slice to the full size, ``contiguous``) becomes that op with selected parameters --
the same program for both values of ``c``.  Anything else falls back to the guard, unchanged.

What is rewritten (:func:`convert`): an ``if`` at a line where the first trace recorded a region
guard, whose two ways are straight-line assignments to local names of expressions that cannot
change state (arithmetic, subscripts, attribute reads, ``max``/``min``/``abs``/``int``, ``pad``,
``interpolate``, ``contiguous``, ``size``), and ``a if c else b``, ``a or b``, ``a and b`` at such
a line whose operands are such expressions.  The rewritten function keeps the original ``if`` as the path taken
whenever the condition is not a traced size (or the merge cannot be done), so it computes what the
original computes.  Functions are patched by swapping ``__code__`` for the trace and restored after.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import gc
import inspect
import textwrap
import types
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["convert", "converted"]

HELPER = "__arts_if__"  # the one global name the rewritten code reads

_CALLS = {"max", "min", "abs", "int", "len", "round"}
_METHODS = {"contiguous", "clone", "size", "dim"}
_FUNCTIONS = {"pad", "interpolate", "ceil", "floor"}  # F.pad, nn.functional.interpolate, math.ceil...
_ROOTS = {"F", "nn", "torch", "math", "functional", "np", "numpy"}
_EXPR_NODES = (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Tuple, ast.List,
               ast.Subscript, ast.Slice, ast.Attribute, ast.Call, ast.keyword, ast.IfExp, ast.Load,
               ast.operator, ast.unaryop, ast.boolop, ast.cmpop, ast.expr_context)


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def pure(expr: ast.AST) -> bool:
    """Whether evaluating ``expr`` cannot change any state (and so may run where the original
    would not): arithmetic, comparisons, subscripts and attribute reads, and calls of a few
    functions that only compute (see the module docstring)."""
    for node in ast.walk(expr):
        if not isinstance(node, _EXPR_NODES):
            return False
        if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)) and not isinstance(node.ctx, ast.Load):
            return False
        if isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name):
                if f.id not in _CALLS:
                    return False
            elif isinstance(f, ast.Attribute):
                if f.attr in _METHODS:
                    continue
                if f.attr not in _FUNCTIONS or _root_name(f) not in _ROOTS:
                    return False
            else:
                return False
    return True


def _stores(stmt: ast.stmt) -> list[str] | None:
    """The local names a straight-line assignment binds, or None if it is not one."""
    if isinstance(stmt, ast.Pass):
        return []
    if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) and pure(stmt.value):
        return [stmt.target.id]
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and pure(stmt.value):
        t = stmt.targets[0]
        if isinstance(t, ast.Name):
            return [t.id]
        if isinstance(t, (ast.Tuple, ast.List)) and all(isinstance(e, ast.Name) for e in t.elts):
            return [e.id for e in t.elts]  # type: ignore[attr-defined]
    return None


def _loads(node: ast.AST | None, name: str) -> bool:
    return node is not None and any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
                                    for n in ast.walk(node))


def _mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _live_in(stmts: list[ast.stmt], name: str, live_out: bool) -> bool:
    """Whether ``name``'s value on entry to ``stmts`` may be read (backwards liveness, exact for
    straight-line code and ``if``, conservative for everything else)."""
    live = live_out
    for s in reversed(stmts):
        if isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = s.targets if isinstance(s, ast.Assign) else [s.target]
            writes = any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
                         for t in targets for n in ast.walk(t))
            reads = _loads(s.value, name) or (isinstance(s, ast.AugAssign) and writes) or any(
                _loads(t, name) for t in targets)
            live = reads or (live and not (writes and isinstance(s, ast.Assign)))
        elif isinstance(s, ast.If):
            live = _loads(s.test, name) or _live_in(s.body, name, live) or _live_in(s.orelse, name, live)
        elif isinstance(s, ast.Return):
            live = _loads(s.value, name)
        elif isinstance(s, (ast.Expr, ast.Pass)):
            live = _loads(s, name) or live
        else:
            live = live or _mentions(s, name)
    return live


def _live_after(fn: ast.FunctionDef, parents: dict, stmt: ast.stmt, name: str) -> bool:
    """Whether ``name`` may be read after ``stmt`` runs (exact through blocks of assignments and
    ``if``, a fixpoint through loops, conservative elsewhere)."""
    parent = parents.get(stmt)
    if parent is None:
        return True
    block = next((getattr(parent, f) for f in ("body", "orelse")
                  if isinstance(getattr(parent, f, None), list) and stmt in getattr(parent, f)), None)
    if block is None:
        return True
    rest = block[block.index(stmt) + 1:]
    if parent is fn:
        return _live_in(rest, name, False)
    if isinstance(parent, ast.If):
        return _live_in(rest, name, _live_after(fn, parents, parent, name))
    if isinstance(parent, (ast.For, ast.While)) and block is parent.body:
        after = _live_after(fn, parents, parent, name)
        end = after
        for _ in range(2):  # the end of one iteration is the head of the next
            end = _live_in(parent.body, name, end) or after
        return _live_in(rest, name, end)
    return True


class _Rewriter(ast.NodeTransformer):
    """Rewrites the branches at ``lines`` of one function (see the module docstring)."""

    def __init__(self, fn: ast.FunctionDef, lines: set[int]) -> None:
        self.fn = fn
        self.lines = lines
        self.count = 0
        self.parents: dict = {}
        for p in ast.walk(fn):
            for c in ast.iter_child_nodes(p):
                self.parents[c] = p
        self.declared = {n for s in ast.walk(fn) if isinstance(s, (ast.Global, ast.Nonlocal)) for n in s.names}
        # names a nested function reads: it may run after the ``if`` and read them (live, always)
        self.closed = {n.id for s in ast.walk(fn) if s is not fn and isinstance(s, (ast.FunctionDef, ast.Lambda))
                       for n in ast.walk(s) if isinstance(n, ast.Name)}

    def _at(self, node: ast.AST) -> bool:
        lo, hi = getattr(node, "lineno", -1), getattr(node, "end_lineno", -1) or -1
        return any(lo <= x <= hi for x in self.lines)

    def _helper(self, attr: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
        call = ast.Call(ast.Attribute(ast.Name(HELPER, ast.Load()), attr, ast.Load()), args, [])
        return ast.copy_location(call, like)

    def visit_BoolOp(self, node: ast.BoolOp) -> Any:
        self.generic_visit(node)
        if not self._at(node) or not all(pure(v) for v in node.values[1:]):
            return node
        self.count += 1
        rest = [ast.copy_location(ast.Lambda(_no_args(), v), v) for v in node.values[1:]]
        return self._helper("or_" if isinstance(node.op, ast.Or) else "and_", [node.values[0], *rest], node)

    def visit_IfExp(self, node: ast.IfExp) -> Any:
        self.generic_visit(node)
        if not self._at(node.test) or not (pure(node.body) and pure(node.orelse)):
            return node
        self.count += 1
        ways = [ast.copy_location(ast.Lambda(_no_args(), _MaxMin().visit(v)), v) for v in (node.body, node.orelse)]
        return self._helper("ifexp", [node.test, *ways], node)

    def visit_If(self, node: ast.If) -> Any:
        if not self._at(node.test) and node.lineno not in self.lines:
            self.generic_visit(node)
            return node
        arms = [node.body, node.orelse]
        stored: list[str] = []
        for arm in arms:
            for s in arm:
                names = _stores(s)
                if names is None:
                    self.generic_visit(node)
                    return node
                stored += [n for n in names if n not in stored]
        if not stored or any(n in self.declared or n.startswith(HELPER) for n in stored):
            self.generic_visit(node)
            return node
        live = [n for n in stored if n in self.closed or _live_after(self.fn, self.parents, node, n)]
        # the names whose value before the ``if`` a way needs: read before written, or kept
        both = [n for n in stored if all(any(n in (_stores(s) or ()) for s in arm) for arm in arms)]
        params = [n for n in stored if (n in live and n not in both) or any(_live_in(arm, n, False) for arm in arms)]
        test = self.visit(node.test)
        k = self.count
        self.count += 1
        c, m = f"{HELPER}c{k}", f"{HELPER}m{k}"
        defs = []
        for tag, arm in (("then", node.body), ("else", node.orelse)):
            body = [_MaxMin().visit(self.visit(copy.deepcopy(s))) for s in arm] or [ast.Pass()]
            ret = ast.Return(ast.Tuple([ast.Name(n, ast.Load()) for n in live], ast.Load()))
            args = ast.arguments(posonlyargs=[], args=[ast.arg(n) for n in params], kwonlyargs=[], kw_defaults=[],
                                 defaults=[])
            defs.append(ast.FunctionDef(f"{HELPER}{tag}{k}", args, [*body, ret], [], None))
        current = ast.Lambda(_no_args(), ast.Tuple([ast.Name(n, ast.Load()) for n in params], ast.Load()))
        merge = ast.Assign([ast.Name(m, ast.Store())], self._helper("merge", [
            ast.Name(c, ast.Load()), current, ast.Name(defs[0].name, ast.Load()), ast.Name(defs[1].name, ast.Load())],
            node))
        unpack = ast.Assign([ast.Tuple([ast.Name(n, ast.Store()) for n in live], ast.Store())], ast.Name(m, ast.Load()))
        original = ast.If(ast.Name(c, ast.Load()), node.body, node.orelse)
        chosen = ast.If(ast.Compare(ast.Name(m, ast.Load()), [ast.IsNot()], [ast.Constant(None)]),
                        [unpack] if live else [ast.Pass()], [original])
        out = [ast.Assign([ast.Name(c, ast.Store())], test), *defs, merge, chosen]
        for s in out:  # the new nodes are at the ``if``'s line; the original ones keep their own
            for n in ast.walk(s):
                if "lineno" in n._attributes and getattr(n, "lineno", None) is None:
                    ast.copy_location(n, node)
        return out


class _MaxMin(ast.NodeTransformer):
    """``max``/``min`` of sizes inside a merged way: a select, not a decision."""

    def visit_Call(self, node: ast.Call) -> Any:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in ("max", "min") and not node.keywords:
            return ast.copy_location(ast.Call(ast.Attribute(ast.Name(HELPER, ast.Load()), node.func.id + "_",
                                                            ast.Load()), node.args, []), node)
        return node


def _no_args() -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])


def convert(func: types.FunctionType, lines: Iterable[int]) -> types.CodeType | None:
    """The code of ``func`` with the branches at ``lines`` (absolute line numbers of its file)
    rewritten, or None when nothing there can be rewritten (or its source cannot be read)."""
    code = func.__code__
    if code.co_flags & (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR):
        return None
    try:
        src, first = inspect.getsourcelines(func)
        tree = ast.parse(textwrap.dedent("".join(src)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    if not tree.body or not isinstance(tree.body[0], ast.FunctionDef) or tree.body[0].name != code.co_name:
        return None
    fn = tree.body[0]
    ast.increment_lineno(tree, first - 1)
    if fn.lineno > code.co_firstlineno or any(  # private names are mangled inside their class only
            isinstance(n, (ast.Name, ast.Attribute)) and _private(n.id if isinstance(n, ast.Name) else n.attr)
            for n in ast.walk(fn)):
        return None
    rewriter = _Rewriter(fn, set(lines))
    fn.body = _flatten(rewriter.visit(s) for s in fn.body)
    if not rewriter.count:
        return None
    fn.decorator_list = []
    if code.co_freevars:
        args = ast.arguments(posonlyargs=[], args=[ast.arg(v) for v in code.co_freevars], kwonlyargs=[],
                             kw_defaults=[], defaults=[])
        outer = ast.FunctionDef("__arts_factory__", args, [fn, ast.Return(ast.Name(fn.name, ast.Load()))], [], None)
        ast.copy_location(outer, fn)
        module = ast.Module([outer], [])
    else:
        module = ast.Module([fn], [])
    ast.fix_missing_locations(module)
    try:
        compiled = compile(module, code.co_filename, "exec")
    except (SyntaxError, ValueError, TypeError):
        return None
    new = _find_code(compiled, code.co_name, code.co_firstlineno)
    if new is None or new.co_freevars != code.co_freevars or new.co_argcount != code.co_argcount:
        return None
    return new


def _private(name: str) -> bool:
    return name.startswith("__") and not name.endswith("__")


def _flatten(items: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for x in items:
        out.extend(x if isinstance(x, list) else [x])
    return out


def _find_code(code: types.CodeType, name: str, line: int) -> types.CodeType | None:
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            if c.co_name == name and c.co_firstlineno == line:
                return c
            found = _find_code(c, name, line)
            if found is not None:
                return found
    return None


def functions_of(code: types.CodeType) -> list[types.FunctionType]:
    """The functions whose code is ``code``."""
    return [f for f in gc.get_referrers(code) if isinstance(f, types.FunctionType) and f.__code__ is code]


class Helpers:
    """What the rewritten code calls (bound to one tracer's merge)."""

    def __init__(self, tracer: Any) -> None:
        self.tracer = tracer

    def merge(self, cond: Any, current: Any, then: Any, otherwise: Any) -> Any:
        return self.tracer.merge(cond, current, then, otherwise)

    def ifexp(self, cond: Any, then: Any, otherwise: Any) -> Any:
        merged = self.tracer.merge(cond, lambda: (), lambda: (then(),), lambda: (otherwise(),))
        if merged is not None:
            return merged[0]
        return then() if cond else otherwise()

    def or_(self, first: Any, *rest: Any) -> Any:
        return self._bool_op(True, first, rest)

    def and_(self, first: Any, *rest: Any) -> Any:
        return self._bool_op(False, first, rest)

    def _bool_op(self, is_or: bool, first: Any, rest: tuple) -> Any:
        merged = self.tracer.merge_bool_op(is_or, first, rest)
        if merged is not None:
            return merged[0]
        v = first
        for f in rest:  # Python's own ``or`` / ``and``
            if bool(v) == is_or:
                return v
            v = f()
        return v

    def max_(self, *args: Any) -> Any:
        return self.tracer.extremum(True, args, builtins.max)

    def min_(self, *args: Any) -> Any:
        return self.tracer.extremum(False, args, builtins.min)


@contextlib.contextmanager
def converted(sites: dict[types.CodeType, set[int]], tracer: Any) -> Iterator[int]:
    """While tracing, the functions of ``sites`` (original code -> lines of region guards, see
    :func:`originals`) run their rewritten code; yields how many functions were rewritten."""
    patched: list[tuple[types.FunctionType, types.CodeType]] = []
    spaces: list[dict] = []
    helpers = Helpers(tracer)
    for code, lines in sites.items():
        funcs = functions_of(code)
        new = convert_code(code, lines, funcs)
        if new is None:
            continue
        for f in funcs:
            patched.append((f, f.__code__))
            f.__code__ = new
            g = f.__globals__
            if HELPER not in g:
                g[HELPER] = helpers
                spaces.append(g)
    try:
        yield len(patched)
    finally:
        for f, old in patched:
            f.__code__ = old
        for g in spaces:
            g.pop(HELPER, None)


_CACHE: dict[tuple[types.CodeType, frozenset[int]], types.CodeType | None] = {}
#: rewritten code -> the code it was rewritten from
ORIGINALS: dict[types.CodeType, types.CodeType] = {}


def originals(sites: dict[types.CodeType, set[int]]) -> dict[types.CodeType, set[int]]:
    """``sites`` (code -> lines of guards) by original code: a rewritten function's guards are
    its original's (the rewrite keeps the lines)."""
    out: dict[types.CodeType, set[int]] = {}
    for code, lines in sites.items():
        out.setdefault(ORIGINALS.get(code, code), set()).update(lines)
    return out


def convert_code(code: types.CodeType, lines: set[int], funcs: list[types.FunctionType]) -> types.CodeType | None:
    """:func:`convert` of the functions ``funcs`` with ``code`` (remembered)."""
    key = (code, frozenset(lines))
    if key not in _CACHE:
        _CACHE[key] = new = convert(funcs[0], lines) if funcs else None
        if new is not None:
            ORIGINALS[new] = code
    return _CACHE[key]
