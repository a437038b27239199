"""Ops the PyTorch front end needs beyond the catalogue: sizes computed from other tensors,
reductions, indexing, and markers for what cannot be translated.

**Size expressions.**  Model code computes sizes from other tensors (``x.size(2) - y.size(2)``)
and passes them to ``F.pad``, ``view`` or ``F.interpolate``.  The ``sized_*`` ops take such
amounts as sympy expressions over *placeholders* ``arg{i}_{d}`` -- "dimension ``d`` of argument
``i``" (``arg1_m1``: the last dimension of argument 1) -- where argument 0 is the tensor being
transformed and later arguments are the tensors whose sizes are read.  The rule substitutes the
arguments' symbolic shapes, so the amounts stay exact (``floor(diff/2)``, ``diff - floor(diff/2)``).

**Empty results.**  As in the catalogue, arts sizes are positive: a slice, pad or reshape that
would give a size of 0 is a type error (``too-small``), although torch would return an empty
tensor.

**Markers.**  ``unsupported`` raises :class:`~arts.errors.Unsupported` with its ``reason``, so a
network containing it is reported ``unknown``; ``constant`` is a tensor of fixed shape (a module
parameter or buffer read in ``forward``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sympy

from arts.errors import InputError, Unsupported
from arts.ops.resize import constant_pad_axis
from arts.ops.base import (
    REGISTRY,
    Condition,
    Inferred,
    OpSpec,
    Param,
    Shape,
    StaticShapeError,
    bool_param,
    choice_param,
    cond,
    eq,
    ge,
    int_param,
    keep,
    norm_dim,
    prod,
    rank_error,
    register,
)
from arts.ops.merge import broadcast

__all__ = ["placeholder", "resolve"]

_PLACEHOLDER = re.compile(r"^arg(\d+)_(m?)(\d+)$")


def placeholder(i: int, d: int) -> sympy.Symbol:
    """The placeholder for dimension ``d`` (negative: from the end) of argument ``i``."""
    return sympy.Symbol(f"arg{i}_{'m' if d < 0 else ''}{abs(d)}", integer=True, positive=True)


def resolve(e: Any, inputs: Sequence[Shape], op: str) -> sympy.Expr:
    """Substitute the arguments' sizes for the placeholders of ``e``."""
    e = sympy.sympify(e)
    reps = {}
    for s in e.free_symbols:
        m = _PLACEHOLDER.match(s.name)
        if not m:
            raise InputError(f"{op}: unknown size name {s.name!r} (expected arg<i>_<d>)")
        i, neg, d = int(m.group(1)), m.group(2), int(m.group(3))
        d = -d if neg else d
        if i >= len(inputs):
            raise StaticShapeError(f"{op}: a size refers to argument {i}, but there are {len(inputs)}",
                                   code="arity")
        shape = inputs[i]
        if not -len(shape) <= d < len(shape):
            raise StaticShapeError(f"{op}: size(dim={d}) of a rank-{len(shape)} tensor", code="rank-mismatch",
                                   expected=f"rank > {d if d >= 0 else -d - 1}", found=f"rank {len(shape)}")
        reps[s] = sympy.sympify(shape[d])
    return sympy.sympify(e.xreplace(reps))


def _expr_list(allow_minus_one: bool = False) -> Any:
    """A list whose entries are ints or sympy expressions over placeholders."""
    def conv(v: Any, name: str) -> Any:
        vals = v if isinstance(v, (list, tuple)) else [v]
        out = []
        for x in vals:
            if isinstance(x, bool):
                raise InputError(f"parameter {name} entries must be integers or size expressions, got {x!r}")
            if isinstance(x, int):
                out.append(x)
            elif isinstance(x, (sympy.Expr, str)):
                e = sympy.sympify(x)
                out.append(int(e) if e.is_Integer else e)
            else:
                raise InputError(f"parameter {name} entries must be integers or size expressions, got {x!r}")
        if allow_minus_one and out.count(-1) > 1:
            raise InputError(f"parameter {name} may contain -1 at most once, got {list(out)}")
        return tuple(out)
    return conv


def _str_param(v: Any, name: str) -> str:
    if not isinstance(v, str):
        raise InputError(f"parameter {name} must be a string, got {v!r}")
    return v


def _known(x: Any) -> int | None:
    x = sympy.sympify(x)
    return int(x) if x.is_Integer else None


def _ceil_div(a: Any, n: int) -> Any:
    """``ceil(a / n)`` for an integer-valued ``a`` and a positive int ``n``, as a floor."""
    return sympy.floor((sympy.sympify(a) + n - 1) / n) if n != 1 else sympy.sympify(a)


# ---- markers ----------------------------------------------------------------------------------

@register
class UnsupportedSpec(OpSpec):
    """A call arts cannot translate; the check becomes ``unknown`` with ``reason``."""

    name = "unsupported"
    doc = "a call the front end cannot translate (the verdict is unknown)"
    arity = (0, None)
    params = (Param("reason", "not supported", _str_param), Param("call", "", _str_param))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        raise Unsupported(p["reason"])


def _shape_ints(v: Any, name: str) -> tuple[int, ...]:
    if not isinstance(v, (list, tuple)) or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0
                                                   for x in v):
        raise InputError(f"parameter {name} must be a list of non-negative integers, got {v!r}")
    return tuple(v)


@register
class ConstantSpec(OpSpec):
    """A tensor of fixed shape: a parameter or buffer that ``forward`` reads directly."""

    name = "constant"
    doc = "a tensor of fixed shape (module parameter or buffer)"
    arity = (0, 0)
    params = (Param("shape", None, _shape_ints),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        return Inferred(tuple(sympy.Integer(s) for s in p["shape"]))


# ---- elementwise with a Python number, broadcasting binary ops ---------------------------------

@register
class PointwiseSpec(OpSpec):
    """A shape-preserving function of one tensor (``x * 2``, ``torch.exp(x)``, ``x.float()``)."""

    name = "pointwise"
    doc = "a shape-preserving function of one tensor"
    params = (Param("fn", "identity", _str_param),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        return Inferred(tuple(inputs[0]))


@register
class BroadcastOpSpec(OpSpec):
    """A broadcasting function of two tensors (``torch.maximum``, ``a ** b``...).

    ``inplace=True`` (``a += b``, ``a.mul_(b)``): the result keeps ``a``'s shape, so ``b`` must
    broadcast *to* ``a`` -- torch cannot resize ``a`` in place.
    """

    name = "broadcast_op"
    doc = "a broadcasting binary function (in place: the second operand must broadcast to the first)"
    arity = (2, 2)
    params = (Param("fn", "add", _str_param), Param("inplace", False, bool_param))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        shape, conds = broadcast(p["fn"], inputs)
        if not p["inplace"]:
            return Inferred(shape, keep(*conds))
        a = tuple(inputs[0])
        if len(shape) != len(a):
            raise StaticShapeError(f"{p['fn']} in place: the result would have rank {len(shape)}, but the "
                                   f"tensor written to has rank {len(a)}", code="broadcast",
                                   expected=f"rank ≤ {len(a)}", found=f"rank {len(inputs[1])}")
        extra = []
        for i, (o, s) in enumerate(zip(shape, a)):
            extra.append(eq(o, s, f"{p['fn']} in place: the other operand would grow dimension {i} of the "
                                  f"tensor written to (in-place ops cannot resize)", code="broadcast"))
        return Inferred(a, keep(*conds, *extra))


# ---- sizes from other tensors ------------------------------------------------------------------

def _pad_amounts(v: Any, name: str) -> Any:
    vals = _expr_list()(v, name)
    if len(vals) % 2:
        raise InputError(f"parameter {name} must have an even length (a (left, right) pair per dimension), "
                         f"got {len(vals)} entries")
    return vals


@register
class SizedPadSpec(OpSpec):
    """``F.pad`` whose amounts are size expressions (``[diff // 2, diff - diff // 2]``).

    Constant mode: torch computes ``size + left + right`` and narrows for negative amounts, so it
    needs ``size + left >= 0``, ``size + right >= 0`` and (arts) a positive result.  Replicate
    mode (MONAI's ``UpCat`` pads an odd size by one): amounts that cannot be negative (the front
    end lowers no other), a 2-d to 4-d pad of an input with one or two leading dimensions, as for
    ``pad``.
    """

    name = "sized_pad"
    doc = "torch.nn.functional.pad with amounts computed from tensor sizes"
    arity = (1, None)
    params = (Param("pad", None, _pad_amounts), Param("mode", "constant", choice_param("constant", "replicate")))

    def validate(self, p: dict[str, Any]) -> None:
        if p["mode"] == "replicate" and len(p["pad"]) not in (2, 4, 6):
            raise InputError(f"parameter pad must have 2, 4 or 6 entries with mode='replicate', got {len(p['pad'])}")

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = list(inputs[0])
        amounts = [resolve(a, inputs, self.name) for a in p["pad"]]
        m = len(amounts) // 2
        if p["mode"] == "replicate":
            if len(x) not in (m + 1, m + 2):
                raise rank_error(self.name, f"a {m + 1}-d or {m + 2}-d (replicate padding of {m} dimensions)",
                                 tuple(x))
            if any(sympy.sympify(a).is_nonnegative is not True for a in amounts):
                raise Unsupported(f"{self.name}: replicate padding by amounts that may be negative")
            for j in range(m):
                d = len(x) - 1 - j
                x[d] = sympy.sympify(x[d]) + amounts[2 * j] + amounts[2 * j + 1]
            return Inferred(tuple(x), ())
        if len(x) < m:
            raise rank_error(self.name, f"an at least {m}-d", tuple(x))
        conds = []
        for j in range(m):
            d = len(x) - 1 - j
            x[d], axis_conds = constant_pad_axis("pad", sympy.sympify(x[d]), amounts[2 * j], amounts[2 * j + 1],
                                                 f"dimension {d}")
            conds.extend(axis_conds)
        return Inferred(tuple(x), keep(*conds))


def _quotient_by_size(e: Any) -> bool:
    """Whether ``e`` has a floor of a quotient by a size expression (``floor(H/A)``): then it may be
    0 for positive sizes, unlike the floors of quotients by constants that convs and pools make."""
    return any(not sympy.fraction(sympy.together(f.args[0]))[1].is_number
               for f in sympy.sympify(e).atoms(sympy.floor, sympy.ceiling))


class _SizedReshape(OpSpec):
    arity = (1, None)
    params = (Param("shape", None, _expr_list(allow_minus_one=True)),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        entries = [s if s == -1 else resolve(s, inputs, self.name) for s in p["shape"]]
        op = self.name.replace("sized_", "")
        conds = []
        for k, s in enumerate(entries):
            if s != -1:
                conds.append(ge(s, 1, f"{op}: size {k} of the new shape must be positive",
                                code="too-small"))
        numel = sympy.sympify(prod(x)) if x else sympy.Integer(1)
        known = [s for s in entries if s != -1]
        P = sympy.sympify(prod(known)) if known else sympy.Integer(1)
        shown = "[" + ", ".join(str(s) for s in entries) + "]"
        if -1 in entries:
            if _quotient_by_size(P):
                # an entry may be 0 (``H // A`` with H < A): its own condition above fails there; Max
                # keeps the divisibility condition and the inferred size defined there (no modulo
                # by 0 when evaluated) and equal to P wherever P >= 1
                P = sympy.Max(P, 1)
            q = sympy.cancel(numel / P)
            if q.is_polynomial() and sympy.fraction(q)[1] == 1:
                inferred = sympy.expand(q)
            else:
                conds.append(cond(sympy.Eq(sympy.Mod(numel, P), 0),
                                  f"{op}: the element count must be divisible by {P} for shape {shown}",
                                  expected=f"multiple of {P}", found=str(numel)))
                inferred = sympy.floor(numel / P)
            out = tuple(inferred if s == -1 else s for s in entries)
            return Inferred(out, keep(*conds))
        # cancel common factors (x.view(x.size(0), 9216): N*256*h*w == N*9216 is 256*h*w == 9216)
        num, den = sympy.fraction(sympy.cancel(numel / P))
        c = eq(num, den, f"{op}: shape {shown} needs {P} elements")
        if c is not None:
            c = Condition(c.formula, c.message, c.code, expected=str(P), found=str(numel))
        conds.append(c)
        return Inferred(tuple(entries), keep(*conds))


register(type("SizedReshapeSpec", (_SizedReshape,), {
    "name": "sized_reshape", "doc": "torch.reshape with sizes computed from tensor sizes"}))
register(type("SizedViewSpec", (_SizedReshape,), {
    "name": "sized_view", "doc": "Tensor.view with sizes computed from tensor sizes"}))

_MODE_RANKS = {
    "nearest": (3, 4, 5), "nearest-exact": (3, 4, 5), "area": (3, 4, 5),
    "linear": (3,), "bilinear": (4,), "bicubic": (4,), "trilinear": (5,), "lanczos": (4,),
}


def _opt_bool(v: Any, name: str) -> Any:
    return None if v is None else bool_param(v, name)


@register
class SizedInterpolateSpec(OpSpec):
    """``F.interpolate(x, size=other.shape[2:])``: the output spatial sizes are size expressions.

    ``align_corners``, ``recompute_scale_factor`` and ``antialias`` do not change the output size;
    they are here for the checks ``F.interpolate`` makes of them whatever the input (``antialias``:
    bilinear, bicubic or lanczos modes, which take 4-d inputs only; lanczos needs it)."""

    name = "sized_interpolate"
    doc = "torch.nn.functional.interpolate with size computed from tensor sizes"
    arity = (1, None)
    params = (Param("size", None, _expr_list()), Param("mode", "nearest", choice_param(*_MODE_RANKS)),
              Param("align_corners", None, _opt_bool), Param("recompute_scale_factor", None, _opt_bool),
              Param("antialias", False, bool_param))

    def validate(self, p: dict[str, Any]) -> None:
        mode = p["mode"]
        if mode in ("nearest", "area", "nearest-exact") and p["align_corners"] is not None:
            raise InputError(f"parameter align_corners can only be set with the interpolating modes "
                             f"(linear, bilinear, bicubic, trilinear), not mode={mode!r}")
        if p["recompute_scale_factor"]:
            raise InputError("parameter recompute_scale_factor is not meaningful with an explicit size")
        if p["antialias"] and mode not in ("bilinear", "bicubic", "lanczos"):
            raise InputError(f"parameter antialias is restricted to bilinear, bicubic and lanczos modes, "
                             f"not mode={mode!r}")
        if mode == "lanczos" and (not p["antialias"] or p["align_corners"]):
            raise InputError("mode='lanczos' needs antialias=True and align_corners other than True")

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        ranks = _MODE_RANKS[p["mode"]]
        if len(x) not in ranks:
            raise rank_error("interpolate", f"a {' or '.join(f'{r}-d' for r in ranks)} (mode {p['mode']!r})", x)
        sizes = [resolve(s, inputs, self.name) for s in p["size"]]
        n = len(x) - 2
        if len(sizes) == 1:
            sizes = sizes * n
        if len(sizes) != n:
            raise StaticShapeError(f"interpolate: size has {len(sizes)} entries but the input has {n} spatial "
                                   f"dimensions", code="rank-mismatch", expected=f"rank {len(sizes) + 2}",
                                   found=f"rank {len(x)}")
        conds = [ge(s, 1, "interpolate: output size must be positive", code="too-small") for s in sizes]
        return Inferred(x[:2] + tuple(sizes), keep(*conds))


def _expr_list_or_none() -> Any:
    """Like :func:`_expr_list`, with ``None`` entries kept (an adaptive pool's "keep this size")."""
    inner = _expr_list()

    def conv(v: Any, name: str) -> Any:
        vals = v if isinstance(v, (list, tuple)) else [v]
        return tuple(None if x is None else inner([x], name)[0] for x in vals)
    return conv


def _make_sized_adaptive(n: int, kind: str) -> None:
    """``F.adaptive_{kind}_pool{n}d(x, (max(7, x.shape[-2]), ...))``: output sizes computed from
    sizes (timm's VGG pools its features up to 7x7 only where they are smaller)."""

    def rule(self: OpSpec, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        from arts.ops.conv import channel_split

        batch, c, sizes = channel_split(self.name, inputs[0], n)
        given = list(p["output_size"])
        if len(given) == 1:
            given = given * n
        if len(given) != n:
            raise StaticShapeError(f"{self.name}: output_size has {len(given)} entries for {n} spatial dimensions",
                                   code="rank-mismatch", expected=f"{n} sizes", found=f"{len(given)}")
        out = [I if o is None else resolve(o, inputs, self.name) for I, o in zip(sizes, given)]
        conds = [ge(o, 1, f"{self.name}: output size must be positive", code="too-small")
                 for o, g in zip(out, given) if g is not None and not (isinstance(o, sympy.Integer) and o >= 1)]
        return Inferred(tuple(batch) + (c,) + tuple(out), keep(*conds))

    register(type(f"SizedAdaptive{kind.capitalize()}Pool{n}dSpec", (OpSpec,), {
        "name": f"sized_adaptive_{kind}_pool{n}d", "arity": (1, None), "rule": rule,
        "params": (Param("output_size", None, _expr_list_or_none()),),
        "doc": f"torch.nn.functional.adaptive_{kind}_pool{n}d with output sizes computed from tensor sizes"}))


for _n in (1, 2, 3):
    for _kind in ("avg", "max"):
        _make_sized_adaptive(_n, _kind)


# ---- reductions, indexing, splitting ----------------------------------------------------------

def _dims(v: Any, name: str) -> Any:
    if v is None or (isinstance(v, int) and not isinstance(v, bool)):
        return v
    if isinstance(v, (list, tuple)) and all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        return tuple(v)
    raise InputError(f"parameter {name} must be None, an integer or a list of integers, got {v!r}")


@register
class ReduceSpec(OpSpec):
    """``torch.mean/sum/amax/...(x, dim, keepdim)``: drop (or keep as 1) the reduced dimensions."""

    name = "reduce"
    doc = "torch.mean / sum / amax / amin / prod / std / var / norm along dimensions"
    params = (Param("fn", "mean", _str_param), Param("dim", None, _dims), Param("keepdim", False, bool_param))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        d = p["dim"]
        if d is None or d == ():
            targets = set(range(len(x)))
        else:
            ds = list(d) if isinstance(d, tuple) else [d]
            targets = {norm_dim(i, max(len(x), 1), p["fn"]) for i in ds}
            if len(targets) != len(ds):
                raise StaticShapeError(f"{p['fn']}: dim {list(ds)} names a dimension twice", code="rank-mismatch")
        if p["keepdim"]:
            return Inferred(tuple(sympy.Integer(1) if i in targets else s for i, s in enumerate(x)))
        return Inferred(tuple(s for i, s in enumerate(x) if i not in targets))


def _bound(a: Any) -> bool:
    """A slice bound: None, an int, or a size expression over placeholders (a string in a graph file)."""
    return a is None or (isinstance(a, int) and not isinstance(a, bool)) or isinstance(a, sympy.Expr)


def _index_items(v: Any, name: str) -> Any:
    if not isinstance(v, (list, tuple)):
        raise InputError(f"parameter {name} must be a list of index items")
    out = []
    for it in v:
        it = tuple(it) if isinstance(it, (list, tuple)) else (it,)
        kind = it[0] if it else None
        if kind == "slice" and len(it) == 4:
            try:  # bounds read from a graph file are strings ("arg1_1", "-arg0_2 + 3")
                it = ("slice", *(sympy.sympify(a) if isinstance(a, str) else a for a in it[1:3]), it[3])
            except (sympy.SympifyError, TypeError, SyntaxError):
                raise InputError(f"parameter {name}: bad slice bound in {it!r}") from None
            it = ("slice", *(int(a) if isinstance(a, sympy.Expr) and a.is_Integer else a for a in it[1:3]), it[3])
        ok = (kind in ("none", "ellipsis") and len(it) == 1) or (
            kind == "int" and len(it) == 2 and isinstance(it[1], int)) or (
            kind == "slice" and len(it) == 4 and all(_bound(a) for a in it[1:3])
            and (it[3] is None or (isinstance(it[3], int) and not isinstance(it[3], bool))))
        if not ok:
            raise InputError(f"parameter {name}: bad index item {it!r}")
        if kind == "slice" and it[3] is not None and it[3] < 1:
            raise InputError(f"parameter {name}: slice step must be positive, got {it[3]}")
        out.append(it)
    if sum(1 for it in out if it[0] == "ellipsis") > 1:
        raise InputError(f"parameter {name}: an index can only have a single ellipsis")
    return tuple(out)


def slice_length(S: Any, start: int | None, stop: int | None, step: int | None) -> tuple[Any, Any]:
    """(length, condition "non-empty") of ``range(S)[start:stop:step]`` for a positive size ``S``.

    Both are exact for every positive integer ``S``; where the non-empty condition holds the
    length is given in its simplest (often quasi-affine) form.
    """
    S = sympy.sympify(S)
    step = step or 1
    if S.is_Integer:
        n = len(range(int(S))[slice(start, stop, step)])
        return sympy.Integer(n), sympy.true if n >= 1 else sympy.false
    a = start or 0
    if a >= 0:
        if stop is None:
            return _ceil_div(S - a, step), sympy.Gt(S, a)
        if stop < 0:
            return _ceil_div(S + stop - a, step), sympy.Gt(S + stop, a)
        if stop <= a:
            return sympy.Integer(0), sympy.false
        return _ceil_div(sympy.Min(S, stop) - a, step), sympy.Gt(S, a)
    # a < 0: counts from the end, clamped at 0
    lo = sympy.Max(S + a, 0)
    if stop is None:
        hi: Any = S
        ne: Any = sympy.true
    elif stop < 0:
        if stop <= a:
            return sympy.Integer(0), sympy.false
        hi = S + stop
        ne = sympy.Gt(S + stop, 0)
    else:
        hi = sympy.Min(S, stop)
        ne = sympy.Gt(sympy.Min(S, stop), lo)
    return _ceil_div(hi - lo, step), ne


def _clamped_bound(a: Any, S: Any) -> Any:
    """Python's reading of the slice bound ``a`` of a sequence of length ``S``: a negative bound
    counts from the end, and the result is clamped to ``[0, S]``.  The sign of a size expression
    is decided by sympy where it can be (sizes are positive integers); otherwise it is a
    ``Piecewise`` on it."""
    a = sympy.sympify(a)
    if a.is_nonnegative:
        return sympy.Min(a, S)
    if a.is_negative:
        return sympy.Max(a + S, 0)
    return sympy.Piecewise((sympy.Max(a + S, 0), a < 0), (sympy.Min(a, S), True))


def sized_slice_length(S: Any, start: Any, stop: Any, step: int | None) -> tuple[Any, Any]:
    """(length, condition "non-empty") of ``range(S)[start:stop:step]`` where a bound may be a
    size expression: torch's (and Python's) slice semantics -- negative bounds from the end,
    clamping to ``[0, S]``, a positive int step.  Exact for every positive integer ``S``."""
    if all(b is None or isinstance(b, int) for b in (start, stop)):
        return slice_length(S, start, stop, step)
    S = sympy.sympify(S)
    step = step or 1
    lo = sympy.Integer(0) if start is None else _clamped_bound(start, S)
    hi = S if stop is None else _clamped_bound(stop, S)
    # where the slice is empty arts refuses it (the condition), so the length needs no Max(., 0)
    return _ceil_div(hi - lo, step), sympy.Gt(hi, lo)


@register
class IndexSpec(OpSpec):
    """Basic tensor indexing ``x[:, 1:, None, 0, ...]``: slices, integers, ``None`` and one
    ``...``.  A slice bound may be a size expression over placeholders (``x[:, :H, :W]`` after a
    pad: ``arg1_1`` is dimension 1 of argument 1); arguments after the first are the tensors whose
    sizes the bounds read.  Advanced (tensor) indexing is not modelled here (``take``)."""

    name = "index"
    doc = "tensor[...] with slices (bounds: ints or size expressions), integers, None and ..."
    arity = (1, None)
    params = (Param("index", None, _index_items),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        items = list(p["index"])
        used = sum(1 for it in items if it[0] in ("int", "slice"))
        if used > len(x):
            raise StaticShapeError(f"index: too many indices ({used}) for a tensor of rank {len(x)}",
                                   code="rank-mismatch", expected=f"rank ≥ {used}", found=f"rank {len(x)}")
        if any(it[0] == "ellipsis" for it in items):
            k = items.index(("ellipsis",))
            items = items[:k] + [("slice", None, None, None)] * (len(x) - used) + items[k + 1:]
        else:
            items += [("slice", None, None, None)] * (len(x) - used)
        out, conds, d = [], [], 0
        for it in items:
            if it[0] == "none":
                out.append(sympy.Integer(1))
                continue
            S = sympy.sympify(x[d])
            if it[0] == "int":
                k = it[1]
                need = k + 1 if k >= 0 else -k
                conds.append(ge(S, need, f"index {k} is out of range for dimension {d}", code="too-small"))
            else:
                start, stop = (b if b is None or isinstance(b, int) else resolve(b, inputs, self.name)
                               for b in it[1:3])
                length, ne = sized_slice_length(S, start, stop, it[3])
                if start is None and stop is None:
                    ne = sympy.true  # x[:, ::2]: every arts size is positive (its producer's condition)
                shown = _show_slice(("slice", start, stop, it[3]))
                conds.append(cond(ne, f"slice {shown} of dimension {d} is empty", code="too-small",
                                  expected="a non-empty slice", found=f"size {S}"))
                out.append(length)
            d += 1
        return Inferred(tuple(out), keep(*conds))


def _show_slice(it: tuple) -> str:
    a, b, s = it[1:]
    text = f"{'' if a is None else a}:{'' if b is None else b}"
    return text + (f":{s}" if s not in (None, 1) else "")


@register
class ChunkPartSpec(OpSpec):
    """Part ``index`` of ``torch.chunk(x, chunks, dim)`` (parts of size ``ceil(S / chunks)``, the
    last one smaller; fewer parts than ``chunks`` when ``S`` is small)."""

    name = "chunk_part"
    doc = "one part of torch.chunk"
    params = (Param("chunks", None, int_param(1)), Param("dim", 0, int_param()), Param("index", 0, int_param(0)),
              Param("last", False, bool_param))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = list(inputs[0])
        d = norm_dim(p["dim"], len(x), "chunk")
        S = sympy.sympify(x[d])
        cs = _ceil_div(S, p["chunks"])
        i = p["index"]
        if p["index"] >= p["chunks"]:
            raise StaticShapeError(f"chunk: part {i} of {p['chunks']} does not exist", code="arity")
        c = cond(sympy.Gt(S, i * cs), f"chunk: part {i} does not exist (dimension {d} of size {S} gives fewer "
                                      f"than {i + 1} parts)", code="too-small", found=str(S))
        # unpacked into i + 1 names: there must not be more parts
        c2 = cond(sympy.Le(S, (i + 1) * cs), f"chunk: dimension {d} of size {S} gives more than {i + 1} parts "
                                             f"to unpack", code="shape-mismatch", found=str(S)) if p["last"] else None
        x[d] = sympy.Min(cs, S - i * cs) if i else cs
        if S.is_Integer:
            x[d] = sympy.Integer(min(int(cs), int(S) - i * int(cs)))
        return Inferred(tuple(x), keep(c, c2))


@register
class SplitPartSpec(OpSpec):
    """Part ``index`` of ``torch.split(x, split_size, dim)`` (an int size or a list of sizes)."""

    name = "split_part"
    doc = "one part of torch.split"
    params = (Param("split_size", None, _dims), Param("dim", 0, int_param()), Param("index", 0, int_param(0)),
              Param("last", False, bool_param))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = list(inputs[0])
        d = norm_dim(p["dim"], len(x), "split")
        S = sympy.sympify(x[d])
        i, ss = p["index"], p["split_size"]
        if isinstance(ss, tuple):
            if i >= len(ss):
                raise StaticShapeError(f"split: part {i} of {len(ss)} does not exist", code="arity")
            if p["last"] and i != len(ss) - 1:
                raise StaticShapeError(f"split: {len(ss)} parts cannot be unpacked into {i + 1} names", code="arity")
            c = eq(S, sum(ss), f"split: sizes {list(ss)} must add up to dimension {d}")
            x[d] = sympy.Integer(ss[i])
            return Inferred(tuple(x), keep(c))
        if not isinstance(ss, int) or ss < 1:
            raise StaticShapeError(f"split: split_size must be positive, got {ss}", code="shape-mismatch")
        c = cond(sympy.Gt(S, i * ss), f"split: part {i} does not exist (dimension {d} of size {S} is too small)",
                 code="too-small", found=str(S))
        c2 = cond(sympy.Le(S, (i + 1) * ss), f"split: dimension {d} of size {S} gives more than {i + 1} parts "
                                             f"to unpack", code="shape-mismatch", found=str(S)) if p["last"] else None
        x[d] = sympy.Min(ss, S - i * ss)
        return Inferred(tuple(x), keep(c, c2))


@register
class SizedSplitPartSpec(OpSpec):
    """Part ``index`` of ``torch.split(x, [1, H * W], dim)``: sizes computed from sizes (HF CvT's
    class token).  The sizes must add up to the dimension, and (as everywhere in arts) each part
    must be non-empty."""

    name = "sized_split_part"
    doc = "one part of torch.split with sizes computed from tensor sizes"
    arity = (1, None)
    params = (Param("split_size", None, _expr_list()), Param("dim", 0, int_param()), Param("index", 0, int_param(0)),
              Param("last", False, bool_param))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = list(inputs[0])
        d = norm_dim(p["dim"], len(x), "split")
        S = sympy.sympify(x[d])
        sizes = [resolve(e, inputs, self.name) for e in p["split_size"]]
        i = p["index"]
        if i >= len(sizes):
            raise StaticShapeError(f"split: part {i} of {len(sizes)} does not exist", code="arity")
        if p["last"] and i != len(sizes) - 1:
            raise StaticShapeError(f"split: {len(sizes)} parts cannot be unpacked into {i + 1} names", code="arity")
        conds = [eq(S, sum(sizes), f"split: sizes {sizes} must add up to dimension {d}")]
        conds += [ge(e, 1, f"split: part {k} of size {e} is empty", code="too-small")
                  for k, e in enumerate(sizes) if not (e.is_Integer and int(e) >= 1)]
        x[d] = sizes[i]
        return Inferred(tuple(x), keep(*conds))


@register
class ExpandAsSpec(OpSpec):
    """``a.expand_as(b)`` / ``torch.broadcast_to(a, b.shape)``: ``a`` broadcast to ``b``'s shape."""

    name = "expand_as"
    doc = "Tensor.expand_as"
    arity = (2, 2)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        a, b = tuple(inputs[0]), tuple(inputs[1])
        if len(a) > len(b):
            raise StaticShapeError(f"expand_as: cannot expand a rank-{len(a)} tensor to rank {len(b)}",
                                   code="rank-mismatch", expected=f"rank ≤ {len(b)}", found=f"rank {len(a)}")
        conds = []
        off = len(b) - len(a)
        for i, s in enumerate(a):
            t = b[off + i]
            k = _known(s)
            if k == 1 or s == t:
                continue
            conds.append(cond(sympy.Or(sympy.Eq(s, t), sympy.Eq(s, 1)),
                              f"expand_as: size {s} at dimension {i} must be 1 or equal {t}", code="broadcast",
                              expected=f"{t} or 1", found=str(s)))
        return Inferred(b, keep(*conds))


class _MatmulSpec(OpSpec):
    """torch.matmul / ``@``: 1-d and 2-d products and batched products with broadcast batches."""

    name = "matmul"
    doc = "torch.matmul"
    arity = (2, 2)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        a, b = tuple(inputs[0]), tuple(inputs[1])
        if not a or not b:
            raise StaticShapeError("matmul: both arguments need at least 1 dimension", code="rank-mismatch")
        msg = "matmul: inner dimensions differ"
        if len(a) == 1 and len(b) == 1:
            return Inferred((), keep(eq(b[0], a[0], msg)))
        if len(b) == 1:
            return Inferred(a[:-1], keep(eq(b[0], a[-1], msg)))
        if len(a) == 1:
            return Inferred(b[:-2] + (b[-1],), keep(eq(b[-2], a[0], msg)))
        inner = eq(b[-2], a[-1], msg)
        batch, conds = broadcast("matmul", [a[:-2], b[:-2]]) if (len(a) > 2 or len(b) > 2) else ((), [])
        return Inferred(tuple(batch) + (a[-2], b[-1]), keep(inner, *conds))


if "matmul" not in REGISTRY:
    register(_MatmulSpec)
