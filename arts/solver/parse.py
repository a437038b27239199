"""Parse constraint strings (``"H >= 16, H % 16 == 0, W == H"``) and size expressions safely.

No ``eval``: the text is parsed with :mod:`ast` and only arithmetic, comparisons, ``and``/
``or``/``not`` and the functions ``floor``, ``ceil``, ``min``, ``max`` are translated to sympy.
"""

from __future__ import annotations

import ast

import sympy

from arts.errors import InputError
from arts.solver.symbols import dim

_FUNCS = {"floor": sympy.floor, "ceil": sympy.ceiling, "ceiling": sympy.ceiling, "min": sympy.Min, "max": sympy.Max}
_CMP = {
    ast.Eq: sympy.Eq,
    ast.NotEq: sympy.Ne,
    ast.Lt: sympy.Lt,
    ast.LtE: sympy.Le,
    ast.Gt: sympy.Gt,
    ast.GtE: sympy.Ge,
}


def _tr(node: ast.AST, text: str) -> sympy.Basic:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return sympy.Integer(node.value)
    if isinstance(node, ast.Name):
        return dim(node.id)
    if isinstance(node, ast.UnaryOp):
        v = _tr(node.operand, text)
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.UAdd):
            return v
        if isinstance(node.op, ast.Not):
            return sympy.Not(v)
    if isinstance(node, ast.BinOp):
        a, b = _tr(node.left, text), _tr(node.right, text)
        op = node.op
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, ast.Div):
            return a / b
        if isinstance(op, ast.FloorDiv):
            return sympy.floor(a / b)
        if isinstance(op, ast.Mod):
            return sympy.Mod(a, b)
        if isinstance(op, ast.Pow):
            return a**b
    if isinstance(node, ast.BoolOp):
        vals = [_tr(v, text) for v in node.values]
        return sympy.And(*vals) if isinstance(node.op, ast.And) else sympy.Or(*vals)
    if isinstance(node, ast.Compare):
        parts = []
        left = _tr(node.left, text)
        for cmp, comp in zip(node.ops, node.comparators):
            right = _tr(comp, text)
            rel = _CMP.get(type(cmp))
            if rel is None:
                break
            parts.append(rel(left, right))
            left = right
        else:
            return sympy.And(*parts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS and not node.keywords:
        return _FUNCS[node.func.id](*[_tr(a, text) for a in node.args])
    snippet = ast.get_source_segment(text, node) or type(node).__name__
    raise InputError(f"unsupported syntax {snippet!r} in {text!r}")


def _parse(text: str) -> ast.AST:
    if not isinstance(text, str) or not text.strip():
        raise InputError("empty constraint")
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise InputError(f"malformed constraint {text!r}") from None


def parse_expr(text: "str | int") -> sympy.Expr:
    """A size expression such as ``"2*H + 1"``."""
    if isinstance(text, int) and not isinstance(text, bool):
        return sympy.Integer(text)
    e = _tr(_parse(str(text)), str(text))
    if isinstance(e, sympy.logic.boolalg.Boolean) and not isinstance(e, sympy.Expr):
        raise InputError(f"expected a size expression, got a condition {text!r}")
    return e


def parse_constraints(text: "str | list[str] | tuple[str, ...] | None") -> list[sympy.Basic]:
    """Comma-separated (or a list of) conditions -> sympy booleans."""
    if text is None:
        return []
    items = [text] if isinstance(text, str) else list(text)
    out: list[sympy.Basic] = []
    for item in items:
        if not isinstance(item, str):
            raise InputError(f"a constraint must be a string, got {item!r}")
        if not item.strip():
            continue
        node = _parse(item)
        nodes = node.elts if isinstance(node, ast.Tuple) else [node]
        for n in nodes:
            c = _tr(n, item)
            if not isinstance(c, (sympy.logic.boolalg.Boolean, bool)) or isinstance(c, sympy.Expr):
                raise InputError(f"{ast.get_source_segment(item, n) or item!r} is not a condition (use ==, >=, ...)")
            out.append(c)
    return out


def parse_assignment(text: str) -> dict[str, int]:
    """``"H=32,W=32"`` -> ``{"H": 32, "W": 32}``."""
    out: dict[str, int] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise InputError(f"malformed size assignment {part.strip()!r}: expected NAME=INT")
        k, v = (s.strip() for s in part.split("=", 1))
        dim(k)
        try:
            iv = int(v)
        except ValueError:
            raise InputError(f"size {k}={v!r} is not an integer") from None
        if iv < 1:
            raise InputError(f"size {k}={iv} must be positive")
        out[k] = iv
    if not out:
        raise InputError(f"empty size assignment {text!r}")
    return out
