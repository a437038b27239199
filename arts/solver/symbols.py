"""The one place that creates dimension symbols.

Every dimension symbol is a positive integer: tensor sizes are counts.  Everything else in arts
receives symbols from here, so that ``H`` in a constraint string, in a graph file and in a
dimension function is the same sympy object.
"""

from __future__ import annotations

import re
from functools import lru_cache

import sympy

from arts.errors import InputError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@lru_cache(maxsize=None)
def dim(name: str) -> sympy.Symbol:
    """The dimension symbol called ``name`` (a positive integer)."""
    if not _NAME.match(name):
        raise InputError(f"invalid dimension name {name!r}")
    return sympy.Symbol(name, integer=True, positive=True)


def as_size(value: object, what: str = "size") -> sympy.Expr:
    """Convert an int or a symbol name to a size expression (positive)."""
    if isinstance(value, bool):
        raise InputError(f"{what} must be a positive integer or a name, got {value!r}")
    if isinstance(value, int):
        if value < 1:
            raise InputError(f"{what} must be a positive integer, got {value}")
        return sympy.Integer(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return as_size(int(text), what)
        if not _NAME.match(text):
            raise InputError(f"{what} must be a positive integer or a name, got {value!r}")
        return dim(text)
    if isinstance(value, sympy.Expr):
        return value
    raise InputError(f"{what} must be a positive integer or a name, got {value!r}")


def parse_shape(text: "str | tuple | list") -> tuple[sympy.Expr, ...]:
    """Parse a SHAPE (``"N,3,H,W"`` or ``("N", 3, "H", "W")``) into size expressions."""
    if isinstance(text, str):
        items = [t.strip() for t in text.split(",")]
        if text.strip() == "" or any(t == "" for t in items):
            raise InputError(f"malformed shape {text!r}: expected comma-separated sizes like N,3,H,W")
    elif isinstance(text, (tuple, list)):
        items = list(text)
        if not items:
            raise InputError("a shape needs at least one size")
    else:
        raise InputError(f"malformed shape {text!r}")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(as_size(item, f"size {i} of shape {text!r}"))
        except InputError as e:
            raise InputError(e.message) from None
    return tuple(out)


def format_shape(shape: "tuple[sympy.Expr, ...]") -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"
