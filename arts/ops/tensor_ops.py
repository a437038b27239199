"""Ops that real models call as functions or tensor methods, each an exact dimension function.

``expand`` and ``create`` take sizes that may be size expressions over placeholders (see
:mod:`arts.ops.frontend_ops`): argument 0 of ``expand`` is the tensor expanded, later arguments
are the tensors whose sizes are read; ``create`` (``torch.zeros(x.shape[0], 1)``) has no tensor
of its own, so all its arguments are read for sizes.  As everywhere in arts, sizes are positive:
a size that would be 0 (an empty tensor in torch) is a ``too-small`` error.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy

from arts.errors import InputError, Unsupported
from arts.ops.base import (
    REGISTRY, Inferred, OpSpec, Param, Shape, StaticShapeError, Text, bool_param, cond, eq, ge, int_param, keep,
    norm_dim, prod, rank_error, register, tuple_param,
)
from arts.ops.frontend_ops import _expr_list, resolve
from arts.ops.merge import broadcast
from arts.ops.norm import more_than_one

__all__: list[str] = []


def _register(cls: type) -> type:
    """Register unless another module already defines an op of that name (one definition wins)."""
    if cls.name not in REGISTRY:  # type: ignore[attr-defined]
        register(cls)
    return cls


def _int_tuple(v: Any, name: str) -> tuple[int, ...]:
    vals = [v] if isinstance(v, int) and not isinstance(v, bool) else v
    if not isinstance(vals, (list, tuple)) or not all(isinstance(x, int) and not isinstance(x, bool) for x in vals):
        raise InputError(f"parameter {name} must be a list of integers, got {v!r}")
    return tuple(vals)


def _str(v: Any, name: str) -> str:
    if not isinstance(v, str):
        raise InputError(f"parameter {name} must be a string, got {v!r}")
    return v


# ---- sizes -----------------------------------------------------------------------------------

@_register
class ExpandSpec(OpSpec):
    """``x.expand(*sizes)``: new leading dimensions of the given sizes; an existing dimension keeps
    its size (``-1``) or, if it is 1, takes the given size; any other size must equal it."""

    name = "sized_expand"
    doc = "Tensor.expand with sizes that may be computed from other tensors (the catalogue's expand takes ints)"
    arity = (1, None)
    params = (Param("sizes", None, _expr_list(allow_minus_one=False)),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(sympy.sympify(s) for s in inputs[0])
        sizes = [s if s == -1 else resolve(s, inputs, self.name) for s in p["sizes"]]
        if len(sizes) < len(x):
            raise StaticShapeError(f"expand: {len(sizes)} sizes for a tensor of rank {len(x)} (the number of sizes "
                                   f"must be at least the rank)", code="rank-mismatch",
                                   expected=f"≥ {len(x)} sizes", found=f"{len(sizes)}")
        new = len(sizes) - len(x)
        out, conds = [], []
        for i, t in enumerate(sizes):
            if i < new:
                if t == -1:
                    raise StaticShapeError(f"expand: -1 is not allowed for the new leading dimension {i}",
                                           code="shape-mismatch")
                conds.append(ge(t, 1, f"expand: size {i} must be positive", code="too-small"))
                out.append(t)
                continue
            s = x[i - new]
            if t == -1 or t == s:
                out.append(s)
                continue
            conds.append(ge(t, 1, f"expand: size {i} must be positive", code="too-small"))
            conds.append(cond(sympy.Or(sympy.Eq(s, t), sympy.Eq(s, 1)),
                              Text("expand: the size {} at dimension {} must be 1 or equal the requested {}",
                                   s, i - new, t), code="broadcast", expected=Text("{} or 1", t), found=s))
            out.append(t)
        return Inferred(tuple(out), keep(*conds))


@_register
class CreateSpec(OpSpec):
    """A new tensor of a given shape (``torch.zeros/ones/empty/full/rand(...)``, ``x.new_empty(...)``,
    ``torch.arange(n)``); sizes may be computed from the arguments' sizes."""

    name = "create"
    doc = "torch.zeros / ones / empty / full / rand / arange with sizes (possibly computed from tensors)"
    arity = (0, None)
    params = (Param("fn", "zeros", _str), Param("shape", None, _expr_list()))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        sizes = [resolve(s, inputs, p["fn"]) for s in p["shape"]]
        conds = [ge(s, 1, f"{p['fn']}: size {i} must be positive", code="too-small") for i, s in enumerate(sizes)]
        return Inferred(tuple(sizes), keep(*conds))


@_register
class UnbindPartSpec(OpSpec):
    """Part ``index`` of ``x.unbind(dim)``: ``x`` without dimension ``dim``; unpacked into
    ``index + 1`` names (``last``), the dimension must have exactly that size."""

    name = "unbind_part"
    doc = "one part of torch.unbind"
    params = (Param("dim", 0, int_param()), Param("index", 0, int_param(0)), Param("last", False, bool_param))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = list(inputs[0])
        d = norm_dim(p["dim"], len(x), "unbind")
        S = sympy.sympify(x[d])
        i = p["index"]
        if p["last"]:
            c = eq(S, i + 1, f"unbind: dimension {d} is unpacked into {i + 1} names")
        else:
            c = ge(S, i + 1, f"unbind: part {i} does not exist (dimension {d} is too small)", code="too-small")
        return Inferred(tuple(x[:d] + x[d + 1:]), keep(c))


@_register
class RepeatSpec(OpSpec):
    """``x.repeat(*repeats)``: new leading dimensions, then each size times its repeat."""

    name = "repeat"
    doc = "Tensor.repeat"
    params = (Param("repeats", None, _int_tuple),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(sympy.sympify(s) for s in inputs[0])
        r = p["repeats"]
        if len(r) < len(x):
            raise StaticShapeError(f"repeat: {len(r)} repeats for a tensor of rank {len(x)} (at least the rank "
                                   f"is needed)", code="rank-mismatch", expected=f"≥ {len(x)} repeats",
                                   found=f"{len(r)}")
        if any(k < 1 for k in r):
            raise StaticShapeError(f"repeat: repeats {list(r)} must be positive", code="too-small")
        new = len(r) - len(x)
        out = [sympy.Integer(k) for k in r[:new]] + [s * k for s, k in zip(x, r[new:])]
        return Inferred(tuple(out))


def _formula(v: Any, name: str) -> Any:
    if isinstance(v, bool):
        return sympy.true if v else sympy.false
    if isinstance(v, str):
        v = sympy.sympify(v)
    if not isinstance(v, sympy.logic.boolalg.Boolean):
        raise InputError(f"parameter {name} must be a condition on sizes, got {v!r}")
    return v


@_register
class SizeAssertSpec(OpSpec):
    """``torch._assert(H == self.img_size[0], msg)``: the model's own size check, a condition of the
    domain (over placeholders of its arguments' sizes); its result is a 0-d marker."""

    name = "size_assert"
    doc = "torch._assert on sizes (a condition of the domain)"
    arity = (0, None)
    params = (Param("formula", None, _formula), Param("message", "", _str))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        f = resolve(p["formula"], inputs, "assert")
        msg = f"assert: {p['message']}" if p["message"] else "assert fails"
        return Inferred((), keep(cond(f, msg, code="assert-failed", expected=_Relation(f) if f is not sympy.false
                                      else None)))


class _Relation:
    """``H == 224`` rather than sympy's ``Eq(H, 224)`` (rendered only when printed)."""

    _OPS = {"==": "==", "!=": "!=", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}

    def __init__(self, f: Any) -> None:
        self.f = f

    def __str__(self) -> str:
        from arts.ops.base import show

        f = self.f
        if isinstance(f, sympy.core.relational.Relational):
            return f"{show(f.lhs)} {self._OPS.get(f.rel_op, f.rel_op)} {show(f.rhs)}"
        return str(f)


# ---- products --------------------------------------------------------------------------------

@_register
class MmSpec(OpSpec):
    """``torch.mm(a, b)``: two matrices, no broadcasting."""

    name = "mm"
    doc = "torch.mm"
    arity = (2, 2)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        a, b = tuple(inputs[0]), tuple(inputs[1])
        if len(a) != 2 or len(b) != 2:
            raise StaticShapeError(f"mm: both arguments must be matrices, got ranks {len(a)} and {len(b)}",
                                   code="rank-mismatch", expected="rank 2 and rank 2",
                                   found=f"rank {len(a)} and rank {len(b)}")
        return Inferred((a[0], b[1]), keep(eq(b[0], a[1], "mm: inner dimensions differ")))


@_register
class BmmSpec(OpSpec):
    """``torch.bmm(a, b)``: batches of matrices of equal batch size, no broadcasting."""

    name = "bmm"
    doc = "torch.bmm"
    arity = (2, 2)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        a, b = tuple(inputs[0]), tuple(inputs[1])
        if len(a) != 3 or len(b) != 3:
            raise StaticShapeError(f"bmm: both arguments must be 3-d, got ranks {len(a)} and {len(b)}",
                                   code="rank-mismatch", expected="rank 3 and rank 3",
                                   found=f"rank {len(a)} and rank {len(b)}")
        return Inferred((a[0], a[1], b[2]), keep(eq(b[0], a[0], "bmm: batch sizes differ"),
                                                 eq(b[1], a[2], "bmm: inner dimensions differ")))


def _einsum_parse(eq_text: str, n: int) -> tuple[list[list[str]], list[str] | None]:
    text = eq_text.replace(" ", "")
    lhs, arrow, rhs = text.partition("->")
    terms = lhs.split(",")
    if len(terms) != n:
        raise StaticShapeError(f"einsum: the equation {eq_text!r} names {len(terms)} operands, {n} given",
                               code="arity")

    def labels(term: str) -> list[str]:
        out, i = [], 0
        while i < len(term):
            if term.startswith("...", i):
                out.append("...")
                i += 3
            elif term[i].isalpha():
                out.append(term[i])
                i += 1
            else:
                raise InputError(f"einsum: bad character {term[i]!r} in {eq_text!r}")
        return out

    return [labels(t) for t in terms], (labels(rhs) if arrow else None)


@_register
class EinsumSpec(OpSpec):
    """``torch.einsum(equation, *operands)``: each label's sizes must agree or be 1 (torch
    broadcasts them), ``...`` dimensions broadcast; repeated labels in one operand (diagonals) are
    not modelled."""

    name = "einsum"
    doc = "torch.einsum"
    arity = (1, None)
    params = (Param("equation", None, _str),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        terms, out_labels = _einsum_parse(p["equation"], len(inputs))
        sizes: dict[str, Any] = {}
        ell: tuple = ()
        conds: list = []
        count: dict[str, int] = {}
        for k, (term, shape) in enumerate(zip(terms, inputs)):
            shape = tuple(sympy.sympify(s) for s in shape)
            named = [t for t in term if t != "..."]
            if len(set(named)) != len(named):
                raise Unsupported(f"einsum: a label repeated within operand {k} ({p['equation']!r})")
            if "..." in term:
                if len(shape) < len(named):
                    raise rank_error("einsum", f"an at least {len(named)}-d operand {k}", shape)
                j = term.index("...")
                m = len(shape) - len(named)
                parts = list(shape[:j]) + list(shape[j + m:])
                ell, c = broadcast("einsum", [ell, shape[j:j + m]]) if ell or m else (ell, [])
                conds += c
            else:
                if len(shape) != len(named):
                    raise StaticShapeError(f"einsum: operand {k} has rank {len(shape)} but its subscripts "
                                           f"{''.join(term)!r} name {len(named)} dimensions", code="rank-mismatch",
                                           expected=f"rank {len(named)}", found=f"rank {len(shape)}")
                parts = list(shape)
            for lab, s in zip(named, parts):
                count[lab] = count.get(lab, 0) + 1
                if lab in sizes:
                    b, c = broadcast(f"einsum (label {lab})", [(sizes[lab],), (s,)])
                    sizes[lab] = b[0]
                    conds += c
                else:
                    sizes[lab] = s
        has_ellipsis = any("..." in t for t in terms)
        if out_labels is None:
            out_labels = (["..."] if has_ellipsis else []) + sorted(lab for lab, c in count.items() if c == 1)
        if len(set(out_labels)) != len(out_labels):
            raise StaticShapeError(f"einsum: an output label appears twice in {p['equation']!r}",
                                   code="shape-mismatch")
        if has_ellipsis and "..." not in out_labels:
            raise Unsupported(f"einsum: '...' in the inputs but not in the output ({p['equation']!r})")
        out: list[Any] = []
        for lab in out_labels:
            if lab == "...":
                out.extend(ell)
            elif lab not in sizes:
                raise StaticShapeError(f"einsum: output label {lab!r} does not appear in the inputs",
                                       code="shape-mismatch")
            else:
                out.append(sizes[lab])
        return Inferred(tuple(out), keep(*conds))


# ---- normalisation and activations with parameters ---------------------------------------------

@_register
class FunctionalBatchNormSpec(OpSpec):
    """``F.batch_norm(x, running_mean, running_var, weight, bias, training)`` (timm's
    ``BatchNormAct2d``): any rank ≥ 2, channels in dimension 1; with ``training=True``, more than
    one value per channel."""

    name = "batch_norm"
    doc = "torch.nn.functional.batch_norm"
    params = (Param("num_features", None, int_param(1, optional=True)), Param("training", False, bool_param))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        if len(x) < 2:
            raise rank_error("batch_norm", "an at least 2-d", x)
        conds = []
        if p["num_features"] is not None:
            conds.append(eq(x[1], p["num_features"], f"batch_norm expects {p['num_features']} channels",
                            code="channel-mismatch"))
        if p["training"]:
            conds.append(more_than_one([x[0], *x[2:]], 1, "batch_norm needs more than 1 value per channel "
                                       "(batch size times spatial size) when training", "any"))
        return Inferred(x, keep(*conds))


@_register
class PReLUSpec(OpSpec):
    """``nn.PReLU(num_parameters)``: with more than one parameter, dimension 1 holds the channels
    (a 1-d input has one channel)."""

    name = "prelu"
    torch_name = "PReLU"
    doc = "torch.nn.PReLU"
    params = (Param("num_parameters", 1, int_param(1)),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        k = p["num_parameters"]
        if k == 1:
            return Inferred(x)
        if len(x) < 2:
            raise StaticShapeError(f"prelu: {k} parameters but a rank-{len(x)} input has 1 channel",
                                   code="channel-mismatch", expected=f"{k} channels", found="1 channel")
        return Inferred(x, keep(eq(x[1], k, f"prelu expects {k} channels (dimension 1)", code="channel-mismatch")))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        return nn.PReLU(p["num_parameters"])


# ---- sampling ----------------------------------------------------------------------------------

@_register
class UnfoldSpec(OpSpec):
    """``F.unfold`` / ``nn.Unfold``: ``(N, C, H, W)`` (or unbatched ``(C, H, W)``) to
    ``(N, C*kh*kw, L)`` with ``L`` the number of sliding blocks, each count at least 1."""

    name = "unfold"
    torch_name = "Unfold"
    doc = "torch.nn.functional.unfold / nn.Unfold"
    params = (Param("kernel_size", None, tuple_param(2, 1)), Param("dilation", 1, tuple_param(2, 1)),
              Param("padding", 0, tuple_param(2, 0)), Param("stride", 1, tuple_param(2, 1)))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(sympy.sympify(s) for s in inputs[0])
        if len(x) not in (3, 4):
            raise rank_error("unfold", "a 3-d (unbatched) or 4-d", x)
        conds, blocks = [], []
        for j, S in enumerate(x[-2:]):
            k, d, pad, s = (p[n][j] for n in ("kernel_size", "dilation", "padding", "stride"))
            o = sympy.floor((S + 2 * pad - d * (k - 1) - 1) / s) + 1
            conds.append(ge(o, 1, f"unfold: no sliding block fits spatial dimension {j}", code="too-small"))
            blocks.append(o)
        kk = p["kernel_size"][0] * p["kernel_size"][1]
        lead = x[:-3]
        return Inferred(tuple(lead) + (x[-3] * kk, blocks[0] * blocks[1]), keep(*conds))


@_register
class GridSampleSpec(OpSpec):
    """``F.grid_sample(x, grid)``: ``(N, C, H, W)`` with grid ``(N, Ho, Wo, 2)`` gives
    ``(N, C, Ho, Wo)`` (5-d: grid ``(N, Do, Ho, Wo, 3)``)."""

    name = "grid_sample"
    doc = "torch.nn.functional.grid_sample"
    arity = (2, 2)
    params = (Param("mode", "bilinear", _str),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x, g = tuple(inputs[0]), tuple(inputs[1])
        if len(x) not in ((4,) if p["mode"] == "bicubic" else (4, 5)):
            raise rank_error("grid_sample", "a 4-d" if p["mode"] == "bicubic" else "a 4-d or 5-d", x)
        if len(g) != len(x):
            raise StaticShapeError(f"grid_sample: grid has rank {len(g)}, the input rank {len(x)}",
                                   code="rank-mismatch", expected=f"rank {len(x)}", found=f"rank {len(g)}")
        conds = [eq(g[0], x[0], "grid_sample: grid and input batch sizes differ"),
                 eq(g[-1], len(x) - 2, f"grid_sample: the last grid dimension must be {len(x) - 2}")]
        return Inferred((x[0], x[1], *g[1:-1]), keep(*conds))


_ = prod


# ---- indexing by a constant index tensor -------------------------------------------------------

def _size_list(v: Any, name: str) -> tuple[int, ...]:
    vals = _int_tuple(v, name)
    if any(k < 1 for k in vals):
        raise InputError(f"parameter {name} must hold positive sizes, got {list(vals)}")
    return vals


@_register
class TakeSpec(OpSpec):
    """``x[..., idx, ...]`` with one index tensor of known values (a module buffer, e.g. Swin's
    ``relative_position_index``) at dimension ``dim``: that dimension is replaced by the index's
    shape, and every index value ``v`` must satisfy ``-size <= v < size``."""

    name = "take"
    doc = "advanced indexing along one dimension by an index tensor of known values (x[:, idx])"
    params = (Param("dim", 0, int_param()), Param("index_shape", None, _size_list),
              Param("low", 0, int_param()), Param("high", 0, int_param()))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(sympy.sympify(s) for s in inputs[0])
        d = norm_dim(p["dim"], len(x), "index")
        S, low, high = x[d], p["low"], p["high"]
        if low > high:
            raise InputError(f"parameter low ({low}) must not exceed high ({high})")
        need = max(high + 1, -low)  # v >= 0 needs S > v; v < 0 needs S >= -v
        c = ge(S, need, Text("index: the index values ({} to {}) must lie in [-{}, {}) (dimension {})", low, high,
                             S, S, d), code="too-small")
        return Inferred(x[:d] + tuple(sympy.Integer(k) for k in p["index_shape"]) + x[d + 1:], keep(c))


# ---- torchvision's Swin window attention --------------------------------------------------------

def _opt_shape(v: Any, name: str) -> tuple[int, ...] | None:
    return None if v is None else _int_tuple(v, name)


@_register
class WindowAttentionSpec(OpSpec):
    """torchvision's ``shifted_window_attention(x, qkv_weight, proj_weight, bias, window_size, ...)``
    on ``x = (B, H, W, C)``: pads H, W up to multiples of the window, attends within each of the
    ``nW = ceil(H/w0) * ceil(W/w1)`` windows of ``N = w0*w1`` tokens, and crops back: the output is
    ``(B, H, W, C)``.  ``C`` must be the qkv weight's input size; the relative position bias
    (input 1) must broadcast to the scores ``(B*nW, heads, N, N)`` without enlarging them; the
    weights must agree with each other and with ``num_heads`` (``3*heads*(C//heads)`` qkv features,
    ``C`` divisible by the heads, a projection from ``C`` to ``C``).  A shift changes no shape."""

    name = "window_attention"
    doc = "torchvision.models.swin_transformer.shifted_window_attention"
    arity = (2, 2)
    params = (Param("in_features", None, int_param(1)), Param("qkv_features", None, int_param(1)),
              Param("proj_in", None, int_param(1)), Param("proj_out", None, int_param(1)),
              Param("num_heads", None, int_param(1)), Param("window_size", None, tuple_param(2, 1)),
              Param("qkv_bias", None, _opt_shape), Param("proj_bias", None, _opt_shape),
              Param("logit_scale", None, _opt_shape))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(sympy.sympify(s) for s in inputs[0])
        bias = tuple(sympy.sympify(s) for s in inputs[1])
        if len(x) != 4:
            raise rank_error("shifted_window_attention", "a 4-d (B, H, W, C)", x)
        B, H, W, C = x
        c, heads, (w0, w1) = p["in_features"], p["num_heads"], p["window_size"]

        def static(ok: bool, msg: str) -> None:
            if not ok:
                raise StaticShapeError(f"shifted_window_attention: {msg}", code="shape-mismatch")

        qb, pb = p["qkv_bias"], p["proj_bias"]
        static(qb is None or prod(qb) == p["qkv_features"], f"qkv bias of {qb} for {p['qkv_features']} features")
        static(p["qkv_features"] == 3 * heads * (c // heads),
               f"{p['qkv_features']} qkv features cannot be split into 3 x {heads} heads x {c // heads}")
        static(c % heads == 0, f"{c} channels are not divisible by {heads} heads")
        static(p["proj_in"] == c, f"the projection takes {p['proj_in']} features, the attention gives {c}")
        static(pb is None or prod(pb) == p["proj_out"], f"projection bias of {pb} for {p['proj_out']} features")
        static(p["proj_out"] == c, f"the projection gives {p['proj_out']} channels, the windows hold {c}")
        n = w0 * w1
        windows = B * (sympy.floor((H + w0 - 1) / w0)) * sympy.floor((W + w1 - 1) / w1)
        scores = (windows, sympy.Integer(heads), sympy.Integer(n), sympy.Integer(n))
        conds = [eq(C, c, f"shifted_window_attention expects {c} channels (dimension 3)", code="channel-mismatch")]
        for what, shape in (("relative position bias", bias), ("logit scale", p["logit_scale"])):
            if shape is None:
                continue
            if len(shape) > 4:
                raise StaticShapeError(f"shifted_window_attention: a {what} of rank {len(shape)} enlarges the "
                                       f"attention scores", code="broadcast")
            for b, a in zip(reversed(tuple(shape)), reversed(scores)):
                b = sympy.sympify(b)
                conds.append(cond(sympy.Or(sympy.Eq(b, 1), sympy.Eq(b, a)),
                                  Text("shifted_window_attention: the {} size {} must be 1 or the scores' {}",
                                       what, b, a), code="broadcast", expected=Text("{} or 1", a), found=b))
        return Inferred(x, keep(*conds))


# ---- repeat by sizes computed from tensors -------------------------------------------------------

@_register
class SizedRepeatSpec(OpSpec):
    """``x.repeat(1, 1, W)`` with repeats computed from other tensors' sizes (timm XCiT's positional
    encoding): argument 0 is repeated, later arguments are read for sizes.  A repeat of 0 (an empty
    tensor in torch) is a ``too-small`` error, as every size in arts is positive."""

    name = "sized_repeat"
    doc = "Tensor.repeat with repeats that may be computed from other tensors' sizes"
    arity = (1, None)
    params = (Param("repeats", None, _expr_list()),)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(sympy.sympify(s) for s in inputs[0])
        r = [resolve(k, inputs, self.name) for k in p["repeats"]]
        if len(r) < len(x):
            raise StaticShapeError(f"repeat: {len(r)} repeats for a tensor of rank {len(x)} (at least the rank "
                                   f"is needed)", code="rank-mismatch", expected=f"≥ {len(x)} repeats",
                                   found=f"{len(r)}")
        conds = [ge(k, 1, f"repeat: repeat {i} must be positive", code="too-small") for i, k in enumerate(r)]
        new = len(r) - len(x)
        return Inferred(tuple(r[:new]) + tuple(s * k for s, k in zip(x, r[new:])), keep(*conds))


# ---- repeat_interleave ---------------------------------------------------------------------------

def _optional_expr(v: Any, name: str) -> Any:
    return None if v is None else _expr_list()(v, name)


def _counts(v: Any, name: str) -> Any:
    return None if v is None else _int_tuple(v, name)


@_register
class RepeatInterleaveSpec(OpSpec):
    """``x.repeat_interleave(repeats, dim)``: each element repeated ``repeats`` times along ``dim``
    (``dim=None``: of the flattened tensor).  ``repeats`` is one size (an int or an expression over
    the later arguments' sizes: timm GCViT's ``B // q_global.shape[0]``) or ``counts``, the values of
    a tensor of repeats (one per element of that dimension: the result's size is their sum).
    ``output_size`` (torch's hint) must equal the result's size.  A result of size 0 (an empty
    tensor in torch) is a ``too-small`` error, as every size in arts is positive."""

    name = "repeat_interleave"
    doc = "torch.repeat_interleave / Tensor.repeat_interleave with a size or a tensor of known repeats"
    arity = (1, None)
    params = (Param("repeats", None, _optional_expr), Param("counts", None, _counts),
              Param("dim", None, int_param(optional=True)), Param("output_size", None, _optional_expr))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = [sympy.sympify(s) for s in inputs[0]]
        if (p["repeats"] is None) == (p["counts"] is None):
            raise InputError("repeat_interleave: give exactly one of the parameters repeats and counts")
        if p["dim"] is None:  # the flattened tensor
            x, d = [prod(x) if x else sympy.Integer(1)], 0
        elif not x:  # torch unsqueezes dim + 1 of the 0-d input
            raise rank_error("repeat_interleave with a dim", "an input of rank ≥ 1 (not 0-d)", tuple(x))
        else:
            d = norm_dim(p["dim"], len(x), "repeat_interleave")
        conds = []
        counts = p["counts"]
        if counts is not None and len(counts) > 1:  # one repeat per element of dimension d
            if any(k < 0 for k in counts):
                raise StaticShapeError(f"repeat_interleave: repeats {list(counts)} must be non-negative",
                                       code="shape-mismatch")
            where = "in the flattened input" if p["dim"] is None else f"along dimension {d}"
            conds.append(eq(x[d], len(counts), Text("repeat_interleave: {} repeats for {} elements " + where,
                                                    len(counts), x[d])))
            size: Any = sympy.Integer(sum(counts))
            if size < 1:
                raise StaticShapeError("repeat_interleave: every repeat is 0 (an empty result)", code="too-small")
        else:
            r = sympy.Integer(counts[0]) if counts is not None else resolve(p["repeats"][0], inputs, self.name)
            conds.append(ge(r, 1, Text("repeat_interleave: repeats {} must be positive", r), code="too-small"))
            size = x[d] * r
        if p["output_size"] is not None:
            given = resolve(p["output_size"][0], inputs, self.name)
            conds.append(eq(size, given, Text("repeat_interleave: output_size {} is not the result's size {}",
                                              given, size)))
        x[d] = size
        return Inferred(tuple(x), keep(*conds))
