"""Intent declared in the model's code: shape annotations on ``forward`` and ``arts_where``.

jaxtyping-style annotations are read from the *source* (the AST), so jaxtyping need not be
installed and ``from __future__ import annotations`` does not matter::

    class UNet(nn.Module):
        arts_where = "H % 16 == 0, W % 16 == 0"       # the sizes this model is meant for
        def forward(self, x: Float[Tensor, "N 3 H W"]) -> Float[Tensor, "N 2 H W"]: ...

* ``DTYPE[ARRAY, "DIMS"]`` with any dtype name (``Float``, ``Shaped``, ``Int``, ...), ``DIMS``
  names (symbols) and integers (fixed sizes) separated by spaces -> the SHAPE ``N,3,H,W``.
  As with ``--input``, symbols fix the rank and the channels; integers at a size position
  (after batch and channels) declare those sizes, which is intent.
* ``arts_where`` (a class attribute, a string of constraints) declares intent like ``--where``.

Anything else in a dims string (``*batch``, ``...``, ``#C``, ``_``, ``H+1``) cannot be read as a
SHAPE: that is an :class:`~arts.errors.InputError` naming the line (give ``--input`` instead).

>>> dims_to_shape("N 3 H W")
'N,3,H,W'
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

from arts.errors import InputError

__all__ = ["dims_to_shape", "forward_shapes", "where_of"]


def dims_to_shape(dims: str, where: str | None = None) -> str:
    """``"N 3 H W"`` -> ``"N,3,H,W"``; names and integers only."""
    items = dims.split()
    if not items:
        raise InputError(f"empty shape annotation {dims!r}", where)
    for t in items:
        if not (t.isidentifier() and t != "_" or t.isdigit()):
            raise InputError(f"cannot read {t!r} in the shape annotation {dims!r}: arts reads names and "
                             f"integers only (give --input instead)", where)
    return ",".join(items)


def _dims_of(ann: ast.expr | None) -> str | None:
    """The dims string of ``DTYPE[ARRAY, "DIMS"]`` (also inside a string annotation)."""
    if ann is None:
        return None
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        try:
            ann = ast.parse(ann.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(ann, ast.Subscript) and isinstance(ann.slice, ast.Tuple) and len(ann.slice.elts) == 2:
        dims = ann.slice.elts[1]
        if isinstance(dims, ast.Constant) and isinstance(dims.value, str):
            return dims.value
    return None


def _forward_def(cls: type) -> tuple[ast.FunctionDef, str, int] | None:
    """The AST of the ``forward`` that ``cls`` uses, its file and first line."""
    for klass in cls.__mro__:
        fn = klass.__dict__.get("forward")
        if fn is None:
            continue
        try:
            lines, first = inspect.getsourcelines(fn)
            file = inspect.getsourcefile(fn) or "?"
        except (OSError, TypeError):
            return None
        try:
            tree = ast.parse(textwrap.dedent("".join(lines)))
        except SyntaxError:
            return None
        node = tree.body[0] if tree.body else None
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node, file, first  # type: ignore[return-value]
        return None
    return None


def forward_shapes(module: Any, display: str | None = None) -> list[str] | None:
    """SHAPEs from the annotations of ``forward``'s tensor parameters, or None if it has none.

    Reads every positional parameter after ``self`` up to the first without an annotation of
    the ``DTYPE[ARRAY, "DIMS"]`` form."""
    found = _forward_def(type(module))
    if found is None:
        return None
    fn, file, first = found
    params = [*fn.args.posonlyargs, *fn.args.args][1:]
    out: list[str] = []
    for p in params:
        dims = _dims_of(p.annotation)
        if dims is None:
            break
        out.append(dims_to_shape(dims, f"{display or file}:{first + p.lineno - 1}"))
    return out or None


def where_of(module: Any) -> str | None:
    """The ``arts_where`` class attribute (constraints as a string), if any."""
    w = getattr(type(module), "arts_where", None)
    if w is None:
        return None
    if not isinstance(w, str):
        raise InputError(f"{type(module).__name__}.arts_where must be a string of constraints, got {w!r}")
    return w
