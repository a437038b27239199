"""What an fx node lowers to, and the small helpers every lowering rule shares.

* :class:`TensorVal` -- an arts node (its shape is computed later by :func:`arts.typecheck`);
* a size -- a Python ``int`` or a sympy expression over *reference symbols*, each standing for
  "dimension d of tensor t" (``x.size(2)``), so ``x.size(2) - y.size(2)`` stays exact;
* :class:`ShapeVal` (``x.shape``), :class:`SplitVal` (``x.chunk(2)`` before indexing), tuples and
  lists of values, or :class:`Opaque` (something we cannot follow).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sympy

__all__ = ["NotLowered", "Opaque", "ShapeVal", "SplitVal", "TensorVal", "as_int", "ints", "is_size",
           "integer_valued", "tensors_in"]


@dataclass(frozen=True)
class TensorVal:
    name: str


@dataclass(frozen=True)
class ShapeVal:
    tensor: str


@dataclass(frozen=True)
class SplitVal:
    tensor: str
    kind: str  # "chunk" | "split" | "unbind"
    size: Any
    dim: int


@dataclass(frozen=True)
class Opaque:
    reason: str


class NotLowered(Exception):
    """Raised by a rule: this call cannot be translated (the reason becomes the unknown's)."""


def is_size(v: Any) -> bool:
    return (isinstance(v, int) and not isinstance(v, bool)) or isinstance(v, sympy.Expr)


def as_int(v: Any) -> Any:
    if isinstance(v, sympy.Expr) and v.is_Integer:
        return int(v)
    return v


def integer_valued(e: sympy.Expr) -> bool:
    if e.is_integer:
        return True
    # floor/ceiling/Mod of refs are integers; sympy may not always know it for composite forms
    return sympy.fraction(sympy.together(e))[1] == 1


def ints(v: Any, what: str) -> Any:
    """An int, a string, None or a tuple of ints (a list becomes a tuple); sizes computed from
    tensors are not accepted (``NotLowered``)."""
    if isinstance(v, list):
        v = tuple(v)
    if isinstance(v, tuple):
        v = tuple(as_int(x) for x in v)
        if not all(isinstance(x, int) for x in v):
            raise NotLowered(f"{what} computed from sizes")
        return v
    v = as_int(v)
    if v is not None and not isinstance(v, (int, str)):
        raise NotLowered(f"{what} computed from sizes")
    return v


def tensors_in(args: Sequence[Any], kwargs: dict[str, Any]) -> list[str]:
    """The arts nodes an fx call reads (for the ``unsupported`` node's edges)."""
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, TensorVal):
            out.append(v.name)
        elif isinstance(v, (SplitVal, ShapeVal)):
            out.append(v.tensor)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)

    walk(list(args))
    walk(kwargs)
    return out
