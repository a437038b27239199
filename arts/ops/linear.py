"""Linear layers and the ops that only move sizes around: flatten, reshape, permute, squeeze...

``flatten`` follows ``nn.Flatten``: graph files that say ``"op": "flatten"`` get
``start_dim=1, end_dim=-1`` unless they say otherwise (``torch.flatten`` itself defaults to
``start_dim=0``; write ``"start_dim": 0`` for that).

``reshape`` and ``view`` take a fixed ``shape`` (integers, at most one ``-1``).  The rule
requires the element count to match (or, with ``-1``, to be divisible); products of sizes are
inherent here, so these dimension functions are polynomial rather than quasi-affine.  ``view``
also needs a compatible memory layout in torch (after ``transpose``, ``permute``, ``expand`` or
slicing): the checker adds that condition from the layout it tracks (:mod:`arts.ops.layout`).
``expand`` and ``contiguous`` change only the layout (and, for ``expand``, size-1 dimensions).
"""

from __future__ import annotations

from typing import Any, Sequence

import sympy

from arts.errors import InputError, Unsupported
from arts.ops.base import (
    C, Inferred, OpSpec, Param, Shape, StaticShapeError, bool_param, cond, eq, int_param, keep, norm_dim,
    prod, rank_error, register,
)
from arts.solver.symbols import dim

__all__ = ["int_list", "dims_param"]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def int_list(allow_minus_one: bool = False, lo: int | None = None) -> Any:
    """A list of integers (an int alone is a list of one); ``lo`` bounds every entry, except a
    single ``-1`` where ``allow_minus_one``."""
    def conv(v: Any, name: str) -> Any:
        vals = [v] if _is_int(v) else v
        if not isinstance(vals, (list, tuple)) or not all(_is_int(x) for x in vals):
            raise InputError(f"parameter {name} must be a list of integers, got {v!r}")
        if allow_minus_one and list(vals).count(-1) > 1:
            raise InputError(f"parameter {name} may contain -1 at most once (only one size can be inferred), "
                             f"got {v!r}")
        for x in vals:
            if lo is not None and x < lo and not (allow_minus_one and x == -1):
                more = " or -1" if allow_minus_one else ""
                raise InputError(f"parameter {name} entries must be integers ≥ {lo}{more}, got {v!r}")
        return tuple(vals)
    return conv


def dims_param(optional: bool = False) -> Any:
    """``None`` (when optional), an int, or a list of ints (a list stays a tuple, an int an int)."""
    def conv(v: Any, name: str) -> Any:
        if v is None and optional:
            return None
        if _is_int(v):
            return v
        if isinstance(v, (list, tuple)) and all(_is_int(x) for x in v):
            return tuple(v)
        raise InputError(f"parameter {name} must be an integer or a list of integers, got {v!r}")
    return conv


def _literal(e: Any) -> int | None:
    e = sympy.sympify(e)
    return int(e) if e.is_Integer else None


@register
class LinearSpec(OpSpec):
    """torch.nn.Linear: ``(*, in_features) -> (*, out_features)``."""

    name = "linear"
    torch_name = "Linear"
    doc = "torch.nn.Linear"
    params = (
        Param("in_features", None, int_param(1, optional=True), "input features (omitted: any, feature-preserving)"),
        Param("out_features", None, int_param(1, optional=True), "output features (omitted: = input features)"),
        Param("bias", True, bool_param),
    )

    def default_input(self, p: dict[str, Any]) -> list[Shape]:
        return [(dim("N"), C)]

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = inputs[0]
        if len(x) < 1:
            raise rank_error(self.name, "an at least 1-d", x)
        f = x[-1]
        conds = []
        if p["in_features"] is not None:
            conds.append(eq(f, p["in_features"], f"{self.name} expects {p['in_features']} input features "
                                                 f"(the last dimension)", code="channel-mismatch"))
        out = p["out_features"] if p["out_features"] is not None else (
            p["in_features"] if p["in_features"] is not None else f)
        return Inferred(tuple(x[:-1]) + (sympy.sympify(out),), keep(*conds))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        fin = p["in_features"] if p["in_features"] is not None else inputs[0][-1]
        fout = p["out_features"] if p["out_features"] is not None else fin
        return nn.Linear(fin, fout, bias=p["bias"])


@register
class FlattenSpec(OpSpec):
    """torch.nn.Flatten (defaults ``start_dim=1, end_dim=-1``, as nn.Flatten; not torch.flatten's 0)."""

    name = "flatten"
    torch_name = "Flatten"
    doc = "torch.nn.Flatten / torch.flatten (graph files use nn.Flatten's defaults: start_dim=1)"
    params = (Param("start_dim", 1, int_param()), Param("end_dim", -1, int_param()))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        r = max(len(x), 1)  # torch treats a 0-d tensor as 1-d for dim wrapping
        s = norm_dim(p["start_dim"], r, self.name)
        e = norm_dim(p["end_dim"], r, self.name)
        if s > e:
            raise StaticShapeError(f"{self.name}: start_dim {p['start_dim']} comes after end_dim {p['end_dim']} "
                                   f"for a rank-{len(x)} input", code="rank-mismatch")
        if not x:
            return Inferred((sympy.Integer(1),))
        return Inferred(x[:s] + (sympy.sympify(prod(x[s:e + 1])),) + x[e + 1:])

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        return nn.Flatten(p["start_dim"], p["end_dim"])


@register
class UnflattenSpec(OpSpec):
    """torch.nn.Unflatten: split dimension ``dim`` into ``unflattened_size`` (one entry may be -1)."""

    name = "unflatten"
    torch_name = "Unflatten"
    doc = "torch.nn.Unflatten"
    params = (Param("dim", None, int_param()),
              Param("unflattened_size", None, int_list(allow_minus_one=True, lo=1)))

    def validate(self, p: dict[str, Any]) -> None:
        if not p["unflattened_size"]:
            raise InputError("parameter unflattened_size must not be empty")

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        d = norm_dim(p["dim"], len(x), self.name)
        sizes = p["unflattened_size"]
        known = [s for s in sizes if s != -1]
        P = prod(known)
        msg = f"{self.name}: sizes {list(sizes)} must multiply up to dimension {p['dim']}"
        if -1 in sizes:
            c = cond(sympy.Eq(sympy.Mod(x[d], P), 0), msg + " (divide it exactly)",
                     expected=f"multiple of {P}", found=str(x[d]))
            new = tuple(sympy.floor(sympy.sympify(x[d]) / P) if s == -1 else sympy.Integer(s) for s in sizes)
            conds = keep(c)
        else:
            conds = keep(eq(x[d], P, msg))
            new = tuple(sympy.Integer(s) for s in sizes)
        return Inferred(x[:d] + new + x[d + 1:], conds)

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        return nn.Unflatten(p["dim"], tuple(p["unflattened_size"]))


class _ReshapeBase(OpSpec):
    params = (Param("shape", None, int_list(allow_minus_one=True, lo=1)),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        shape = p["shape"]
        numel = sympy.sympify(prod(x)) if x else sympy.Integer(1)
        known = [s for s in shape if s != -1]
        P = prod(known)
        if -1 in shape:
            c = cond(sympy.Eq(sympy.Mod(numel, P), 0),
                     f"{self.name}: the element count must be divisible by {P} for shape {list(shape)}",
                     expected=f"multiple of {P}", found=str(numel))
            out = tuple(sympy.floor(numel / P) if s == -1 else sympy.Integer(s) for s in shape)
            return Inferred(out, keep(c))
        c = eq(numel, P, f"{self.name}: shape {list(shape)} needs {P} elements")
        return Inferred(tuple(sympy.Integer(s) for s in shape), keep(c))


@register
class ReshapeSpec(_ReshapeBase):
    """torch.reshape to a fixed shape (one entry may be -1)."""

    name = "reshape"
    doc = "torch.reshape"

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import Reshape

        return Reshape(p["shape"])


@register
class ViewSpec(_ReshapeBase):
    """Tensor.view to a fixed shape (sizes as reshape; the stride condition comes from the layout
    the checker tracks, see :mod:`arts.ops.layout`)."""

    name = "view"
    doc = "torch.Tensor.view"

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import View

        return View(p["shape"])


@register
class PermuteSpec(OpSpec):
    """torch.permute: ``dims`` is a permutation of the input's dimensions."""

    name = "permute"
    doc = "torch.permute"
    params = (Param("dims", None, int_list()),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        dims = p["dims"]
        if len(dims) != len(x):
            raise rank_error(self.name, f"a {len(dims)}-d", x)
        norm = [norm_dim(d, len(x), self.name) for d in dims]
        if len(set(norm)) != len(norm):
            raise StaticShapeError(f"{self.name}: dims {list(dims)} repeat a dimension", code="rank-mismatch")
        return Inferred(tuple(x[d] for d in norm))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import Permute

        return Permute(p["dims"])


@register
class TransposeSpec(OpSpec):
    """torch.transpose: swap ``dim0`` and ``dim1``."""

    name = "transpose"
    doc = "torch.transpose"
    params = (Param("dim0", None, int_param()), Param("dim1", None, int_param()))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = list(inputs[0])
        r = max(len(x), 1)
        a, b = norm_dim(p["dim0"], r, self.name), norm_dim(p["dim1"], r, self.name)
        if x:
            x[a], x[b] = x[b], x[a]
        return Inferred(tuple(x))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import Transpose

        return Transpose(p["dim0"], p["dim1"])


@register
class SqueezeSpec(OpSpec):
    """torch.squeeze: drop the named size-1 dimensions (all of them when ``dim`` is omitted).

    Whether a symbolic size is 1 changes the output *rank*, which no shape formula can say;
    such inputs are :class:`~arts.errors.Unsupported`.  Squeezing a literal size other than 1
    leaves it in place, as torch does.
    """

    name = "squeeze"
    doc = "torch.squeeze"
    params = (Param("dim", None, dims_param(optional=True)),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        d = p["dim"]
        r = max(len(x), 1)
        if d is None:
            targets = list(range(len(x)))
        else:
            ds = list(d) if isinstance(d, tuple) else [d]
            targets = [norm_dim(i, r, self.name) for i in ds]
            if len(set(targets)) != len(targets):
                raise StaticShapeError(f"{self.name}: dim {list(ds)} names a dimension twice", code="rank-mismatch")
            if not x:
                return Inferred(())
        drop = set()
        for i in targets:
            v = _literal(x[i])
            if v is None:
                raise Unsupported(f"{self.name}: whether dimension {i} (size {x[i]}) is 1 decides the output "
                                  f"rank; give it a fixed size, or use reshape")
            if v == 1:
                drop.add(i)
        return Inferred(tuple(s for i, s in enumerate(x) if i not in drop))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import Squeeze

        return Squeeze(p["dim"])


@register
class UnsqueezeSpec(OpSpec):
    """torch.unsqueeze: insert a size-1 dimension at ``dim``."""

    name = "unsqueeze"
    doc = "torch.unsqueeze"
    params = (Param("dim", None, int_param()),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        d = norm_dim(p["dim"], len(x) + 1, self.name)
        return Inferred(x[:d] + (sympy.Integer(1),) + x[d:])

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import Unsqueeze

        return Unsqueeze(p["dim"])


def _expand_sizes(v: Any, name: str) -> tuple[int, ...]:
    vals = [v] if _is_int(v) else v
    if not isinstance(vals, (list, tuple)) or not all(_is_int(x) for x in vals):
        raise InputError(f"parameter {name} must be a list of integers, got {v!r}")
    for x in vals:
        if x < 1 and x != -1:
            raise InputError(f"parameter {name} entries must be integers ≥ 1 or -1 (keep the size), got {v!r}")
    return tuple(vals)


@register
class ExpandSpec(OpSpec):
    """Tensor.expand: size-1 dimensions repeat to ``size`` without copying (``-1`` keeps a size;
    new leading dimensions may be added).  The result shares memory (stride 0)."""

    name = "expand"
    doc = "torch.Tensor.expand"
    params = (Param("size", None, _expand_sizes),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        size = p["size"]
        if len(size) < len(x):
            raise StaticShapeError(f"{self.name}: {len(size)} sizes for a rank-{len(x)} tensor (the number of sizes "
                                   f"must be at least the rank)", code="rank-mismatch",
                                   expected=f"at least {len(x)} sizes", found=f"{len(size)}")
        off = len(size) - len(x)
        out: list[Any] = []
        conds = []
        for i, t in enumerate(size):
            if i < off:
                if t == -1:
                    raise StaticShapeError(f"{self.name}: size -1 is not allowed for the new leading dimension {i}",
                                           code="shape-mismatch")
                out.append(sympy.Integer(t))
                continue
            s = sympy.sympify(x[i - off])
            if t == -1 or s == t:
                out.append(s)
                continue
            if s.is_Integer and int(s) != 1:
                raise StaticShapeError(f"{self.name}: dimension {i - off} of size {s} cannot be expanded to {t} "
                                       f"(only size-1 dimensions can)", code="broadcast", expected=f"1 or {t}",
                                       found=str(s))
            conds.append(cond(sympy.Or(sympy.Eq(s, 1), sympy.Eq(s, t)),
                              f"{self.name}: dimension {i - off} must have size 1 or {t} to expand to {t}",
                              code="broadcast", expected=f"1 or {t}", found=s))
            out.append(sympy.Integer(t))
        return Inferred(tuple(out), keep(*conds))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import Expand

        return Expand(p["size"])


@register
class ContiguousSpec(OpSpec):
    """Tensor.contiguous: the same sizes, row-major in memory (a copy when needed)."""

    name = "contiguous"
    doc = "torch.Tensor.contiguous"

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        return Inferred(tuple(inputs[0]))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import Contiguous

        return Contiguous()


@register
class SliceSpec(OpSpec):
    """``x[..., start:end:step]`` along ``dim`` (``aten.slice``; bounds clamp as Python's do).

    The result shares memory with the input: its stride along ``dim`` is ``step`` times the
    input's, so a later ``view`` may fail (see :mod:`arts.ops.layout`).  An empty slice is a
    ``too-small`` error (arts sizes are positive).
    """

    name = "slice"
    doc = "tensor[..., start:end:step] along one dimension (aten.slice)"
    params = (Param("dim", 0, int_param()), Param("start", None, int_param(optional=True)),
              Param("end", None, int_param(optional=True)), Param("step", 1, int_param(1)))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        from arts.ops.frontend_ops import slice_length

        x = list(inputs[0])
        if not x:
            raise rank_error(self.name, "an at least 1-d", tuple(x))
        d = norm_dim(p["dim"], len(x), self.name)
        length, nonempty = slice_length(x[d], p["start"], p["end"], p["step"])
        c = cond(nonempty, f"{self.name}: the slice of dimension {d} is empty", code="too-small",
                 expected="a non-empty slice", found=f"size {x[d]}")
        x[d] = length
        return Inferred(tuple(x), keep(c))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        from arts.ops.torch_modules import Slice

        return Slice(p["dim"], p["start"], p["end"], p["step"])
