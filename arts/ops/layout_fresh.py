"""Layouts of fresh results whose format torch *picks*: convs, pools, norms, resizes, products, attention.

These ops allocate a new tensor.  Its strides are not those of the input but one of two formats,
chosen from the input's strides: row-major ("contiguous") or channels-last (NHWC / NDHWC strides),
when the input "suggests" channels-last (``TensorBase::suggest_memory_format``, the C++
``is_channels_last_strides_2d_s4`` and its 3-d twin; Python: ``torch._prims_common``).
With sizes >= 1 that test is, over the order ``o = (1, 3, 2, 0)`` (5-d: ``(1, 4, 3, 2, 0)``)::

    s[1] != 0  and  s[o[k]] >= s[o[k-1]] * n[o[k-1]] for k >= 1  and  s[2] * n[2] != s[1]

(the last clause is torch's fallback to NCHW for ``N111``-like ambiguous strides).

**Strides of size-1 dimensions are not known.**  arts carries strides only up to what a later
``view`` needs: a dimension of size 1 (literal, or a symbol equal to 1 at some size) may have any
stride in torch (``contiguous()`` returns a tensor unchanged when only such strides differ,
``expand`` keeps a size-1 dimension's stride, ...), while the test above reads them.  So every
decision here treats the stride of a dimension of size 1 as free, and claims a format only when it
holds for every value of the free strides:

* *never channels-last* -- for each set ``S`` of dimensions that may be 1, the chain above, restricted
  to the dimensions outside ``S`` (free strides in between can always bridge), fails, or ``s[1] == 0``,
  or the tie-break holds with both strides known;
* *always channels-last* -- no dimension is 1, and the test holds on the tracked strides.

Each is asked of the live domain only where the two candidate outputs differ (an output of size
``N, O, 1, 1`` is the same in both formats); undecided -> ``unknown``, never a guess.

**Which ops may claim channels-last.**  The format of the output can differ between backends.
Channels-last is claimed only where every device agrees, else only the contiguous case is:

* convolutions: only contiguous.  CPU (mkldnn and the slow kernels), cuDNN and depthwise-on-cuDNN
  give channels-last for such an input, but conv3d's slow CPU kernel, CUDA with cuDNN disabled and
  meta tensors (no device: torch's ``meta_conv`` leaves every result contiguous) give contiguous;
  conv1d makes its input contiguous and runs as a 2-d conv on ``unsqueeze(2)`` (so a contiguous
  input with odd size-1 strides can still come out transposed);
* 2-d pools (max, avg, adaptive) and 2-d/3-d interpolation: both formats, the same on CPU and meta
  and shared by CUDA (structured kernels set the output format in their meta function;
  ``adaptive_avg_pool2d`` to ``1`` is a ``mean`` restrided to channels-last);
* 1-d pools (run as 2-d pools of ``unsqueeze(-2)``; max_pool1d without grad on CPU is always
  contiguous), 3-d pools, group and instance norm: only contiguous;
* batch norm: CPU allocates row-major or channels-last, meta and CUDA keep a dense input's
  strides: of a channels-last input, the result is *one of* the two formats (``Layout.alts``);
* a conv whose format is not decided (CPU/cuDNN channels-last, meta contiguous) is likewise one
  of the two formats: a later ``view`` is decided with each and must agree.

**Products.**  ``mm``/``bmm`` allocate a contiguous result on every device (structured kernels), and
``matmul`` returns ``_unsafe_view`` of one of them (its fold of a 2-d @ 3-d product transposes and
then copies with ``contiguous()``), so all three are contiguous whatever the inputs' strides
(checked with and without grad).  ``scaled_dot_product_attention`` of 4-d inputs returns, by
backend: math -> contiguous; flash (CPU/CUDA) and memory-efficient -> a ``(B, L, H, E)`` buffer
transposed to ``(B, H, L, E)``; cuDNN -> strides in the query's stride order.  It is claimed
contiguous only where all of them agree: ``H == 1`` or ``L == 1``, and the query's strides
decrease from batch to feature on the output's dimensions of size other than 1.

Every claim is checked against torch by tests/test_layout_fresh.py.
"""

from __future__ import annotations

import itertools
from typing import Any, Sequence

import sympy

from arts.ops.layout import (
    CONTIGUOUS, Ctx, Layout, _eq, _monomial, _ne, _s, contiguous_strides, either, make, plain, rule, strides_of,
)

__all__ = ["channels_last_strides", "never_channels_last", "always_channels_last", "SIZE1_STRIDES_MATTER"]

#: False (arts.ops.layout's contract): a layout need only be torch's on dimensions of size other
#: than 1 (a ``view`` never reads the others), so input strides at size-1 dimensions are taken as
#: free, and where the two formats agree on the other dimensions the result is claimed without
#: deciding the format (attention's backends need agree only there).  True: arts's strides are
#: torch's at every dimension, size-1 ones too, inputs and results (for a contract whose rules read
#: them, as TensorIterator and ``suggest_memory_format`` do): torch's test is decided on the tracked
#: strides, every result must be exact, and attention and group norm (whose ``empty_like`` copies the
#: size-1 strides of an input ``contiguous()`` leaves alone) stay unknown.
SIZE1_STRIDES_MATTER = True


def channels_last_strides(shape: Sequence[Any]) -> tuple:
    """torch's channels-last strides of a 4-d or 5-d shape (channels fastest, then W, H, (D), N)."""
    shape = [_s(x) for x in shape]
    perm = [0] + list(range(2, len(shape))) + [1]  # dimensions from slowest to fastest
    out: list[Any] = [None] * len(shape)
    acc: sympy.Expr = sympy.Integer(1)
    for d in reversed(perm):
        out[d] = acc
        acc = acc * shape[d]
    return tuple(out)


def _order(r: int) -> tuple[int, ...]:
    return (1, 3, 2, 0) if r == 4 else (1, 4, 3, 2, 0)


def _lt(a: Any, b: Any) -> sympy.Basic:
    """``a < b`` for strides, settled without the solver when both are products of sizes."""
    a, b = _s(a), _s(b)
    if a == b:
        return sympy.false
    ma, mb = _monomial(a), _monomial(b)
    if ma is not None and mb is not None:
        (ca, fa), (cb, fb) = ma, mb
        diff = {k: fb.get(k, 0) - fa.get(k, 0) for k in set(fa) | set(fb)}
        diff = {k: v for k, v in diff.items() if v}
        r = cb / ca  # b / a == r * prod(k**v)
        if all(v > 0 for v in diff.values()):  # b/a = r * (a product >= 1)
            if r > 1:
                return sympy.true
            if r == 1:  # a < b iff some factor exceeds 1
                return sympy.Or(*[_ne(k, 1) for k in sorted(diff, key=sympy.default_sort_key)])
        if all(v < 0 for v in diff.values()) and r <= 1:  # b/a <= r <= 1
            return sympy.false
    return sympy.Lt(a, b)


def _may_be_one(n: Any) -> bool:
    n = _s(n)
    return not (n.is_Integer and n != 1)


def _one(n: Any) -> sympy.Basic:
    return _eq(n, 1)


def _cases(shape: Sequence[Any]) -> list[tuple[frozenset, sympy.Basic]]:
    """Each set ``S`` of dimensions that may be 1, with the condition "exactly the sizes in S are 1"."""
    maybe = [d for d, n in enumerate(shape) if _may_be_one(n) and not _s(n) == 1]
    fixed = frozenset(d for d, n in enumerate(shape) if _s(n) == 1)
    out = []
    for k in range(len(maybe) + 1):
        for sub in itertools.combinations(maybe, k):
            S = fixed | frozenset(sub)
            parts = [_one(shape[d]) if d in S else _ne(shape[d], 1) for d in maybe]
            c = sympy.And(*parts)
            if c is not sympy.false:
                out.append((S, c))
    return out


def never_channels_last(shape: Sequence[Any], strides: Sequence[Any]) -> sympy.Basic:
    """A condition on the sizes under which the tensor does not suggest channels-last, whatever the
    strides of its size-1 dimensions (see the module docstring).  Sufficient, not necessary."""
    r = len(shape)
    if r not in (4, 5):
        return sympy.true
    if SIZE1_STRIDES_MATTER:
        return sympy.Not(_test(shape, strides))
    order = _order(r)
    parts = []
    for S, c in _cases(shape):
        kept = [d for d in order if d not in S]
        fails: list[sympy.Basic] = []
        if 1 not in S:
            fails.append(_eq(strides[1], 0))
        elif kept:  # s[1] >= 1 is free: the first known stride must still be >= 1
            fails.append(_eq(strides[kept[0]], 0))
        for a, b in zip(kept, kept[1:]):
            fails.append(_lt(strides[b], _s(strides[a]) * _s(shape[a])))
        if 1 not in S and 2 not in S:
            fails.append(_eq(_s(strides[2]) * _s(shape[2]), strides[1]))
        f = sympy.Or(*fails)
        if f is sympy.true:
            continue
        parts.append(sympy.Or(sympy.Not(c), f))
    return sympy.And(*parts)


def always_channels_last(shape: Sequence[Any], strides: Sequence[Any]) -> sympy.Basic:
    """A condition under which the tensor suggests channels-last whatever its size-1 strides: no
    size is 1, and torch's test holds on the strides arts tracks."""
    r = len(shape)
    if r not in (4, 5):
        return sympy.false
    test = _test(shape, strides)
    return test if SIZE1_STRIDES_MATTER else sympy.And(*[_ne(n, 1) for n in shape], test)


def _test(shape: Sequence[Any], strides: Sequence[Any]) -> sympy.Basic:
    """torch's channels-last test on these very strides."""
    order = _order(len(shape))
    parts: list[sympy.Basic] = [_ne(strides[1], 0)]
    for a, b in zip(order, order[1:]):
        parts.append(sympy.Not(_lt(strides[b], _s(strides[a]) * _s(shape[a]))))
    parts.append(_ne(_s(strides[2]) * _s(shape[2]), strides[1]))
    return sympy.And(*parts)


def _differ(out: Sequence[Any], a: Sequence[Any], b: Sequence[Any]) -> sympy.Basic:
    """Where two stride tuples of shape ``out`` differ on a dimension of size other than 1."""
    return sympy.Or(*[sympy.And(_ne(n, 1), _ne(x, y)) for n, x, y in zip(out, a, b)])


def _ask(c: Ctx, f: sympy.Basic) -> bool:
    return f is sympy.true or c.known(f) is True


def _unknown(c: Ctx, why: str) -> Layout:
    return Layout("unknown", dense=True, origin=c.here, reason=f"{c.op.name}: {why}")


def _by_format(c: Ctx, shape: Sequence[Any], strides: Sequence[Any], out: Sequence[Any],
               may_be_channels_last: bool) -> tuple | None:
    """The strides of a fresh ``out`` in the format torch picks for an input of ``shape``/``strides``
    (both 4-d or both 5-d), or None when that cannot be told."""
    cl = channels_last_strides(out)
    rows = contiguous_strides(tuple(out))
    differ = sympy.true if SIZE1_STRIDES_MATTER else _differ(out, cl, rows)
    if differ is sympy.false:
        return rows
    if _ask(c, sympy.Implies(differ, never_channels_last(shape, strides))):
        return rows
    if may_be_channels_last and _ask(c, sympy.Implies(differ, always_channels_last(shape, strides))):
        return cl
    return None


def _input(c: Ctx) -> tuple[tuple, tuple] | None:
    shape, lay = c.inp()
    st = strides_of(shape, lay)
    return (shape, tuple(st)) if st is not None else None


def _result(c: Ctx, strides: tuple | None, why: str) -> Layout:
    if strides is None:
        return _unknown(c, why)
    return make(c.out, strides, c.here, dense=True)


def _unsqueeze(shape: tuple, strides: tuple, d: int) -> tuple[tuple, tuple]:
    """torch's ``unsqueeze(d)``: the new stride is the size times the stride of the next dimension."""
    new = _s(shape[d]) * _s(strides[d]) if d < len(shape) else sympy.Integer(1)
    return shape[:d] + (sympy.Integer(1),) + shape[d:], strides[:d] + (new,) + strides[d:]


def _drop(strides: tuple | None, d: int) -> tuple | None:
    return None if strides is None else strides[:d] + strides[d + 1:]


# ---- convolutions --------------------------------------------------------------------------------

@rule(*[f"conv{n}d" for n in (1, 2, 3)], *[f"conv_transpose{n}d" for n in (1, 2, 3)])
def _conv(c: Ctx) -> Layout:
    """Contiguous where the input never suggests channels-last (the weight of a module is
    contiguous, and a contiguous weight never suggests it); channels-last is backend-dependent."""
    got = _input(c)
    if got is None:
        return _unknown(c, "the input's strides are not known")
    shape, st = got
    n = int(c.op.name[-2])
    if c.p.get("padding_mode", "zeros") != "zeros":  # a conv of F.pad(input, mode=...): the pad's layout
        return _unknown(c, f"the layout of padding_mode={c.p['padding_mode']!r} is not modelled")
    why = "whether torch picks channels-last for this input depends on the backend and the sizes"
    if n == 1:
        # _convolution: input.contiguous(), then a 2-d conv of input.unsqueeze(2), squeezed back.
        # contiguous() keeps only what a view needs (size-1 strides stay free), so use row-major.
        # With exact size-1 strides, both what contiguous() may keep and its copy must agree.
        batched = len(shape) == 3
        out = c.out if batched else (sympy.Integer(1),) + tuple(c.out)
        o = tuple(out[:2]) + (sympy.Integer(1),) + tuple(out[2:])
        res: tuple | None = None
        for cand in ([st, contiguous_strides(shape)] if SIZE1_STRIDES_MATTER else [contiguous_strides(shape)]):
            x, xs = (shape, tuple(cand)) if batched else _unsqueeze(shape, tuple(cand), 0)
            x, xs = _unsqueeze(x, xs, 2)
            got1 = _drop(_by_format(c, x, xs, o, False), 2)
            if got1 is None or (res is not None and got1 != res):
                return _unknown(c, why)
            res = got1
        return _result(c, res if batched else _drop(res, 0), why)
    if len(shape) == n + 1:  # unbatched: run on unsqueeze(0), squeezed back
        x, xs = _unsqueeze(shape, st, 0)
        return _result(c, _drop(_by_format(c, x, xs, (sympy.Integer(1),) + tuple(c.out), False), 0), why)
    got = _by_format(c, shape, st, c.out, False)
    if got is None and len(shape) == n + 2:
        return _formats(c, why)
    return _result(c, got, why)


def _formats(c: Ctx, why: str) -> Layout:
    """A fresh 4-d or 5-d result that every backend allocates row-major or channels-last, which
    one depending on the backend and the sizes: one of the two (``alts``)."""
    out = tuple(c.out)
    cands = [contiguous_strides(out), channels_last_strides(out)]
    return either([make(out, t, c.here, dense=True) for t in cands], c.here, f"{c.op.name}: {why}")


# ---- pools ---------------------------------------------------------------------------------------

def _pool_rank(c: Ctx) -> int:
    return int(c.op.name[-2])


@rule("max_pool1d", "avg_pool1d", "adaptive_max_pool1d", "adaptive_avg_pool1d",
      "max_pool2d", "avg_pool2d", "adaptive_max_pool2d", "adaptive_avg_pool2d",
      "max_pool3d", "avg_pool3d", "adaptive_max_pool3d", "adaptive_avg_pool3d",
      *(f"sized_adaptive_{k}_pool{n}d" for k in ("avg", "max") for n in (1, 2, 3)))
def _pool(c: Ctx) -> Layout:
    got = _input(c)
    if got is None:
        return _unknown(c, "the input's strides are not known")
    shape, st = got
    n = _pool_rank(c)
    why = "whether torch picks channels-last for this input depends on the sizes or the backend"
    if n == 1:
        if len(shape) != 3:
            return _unknown(c, "unbatched 1-d pools are not modelled")
        x, xs = _unsqueeze(shape, st, 2)  # unsqueeze(-2) of (N, C, L)
        o = tuple(c.out[:2]) + (sympy.Integer(1),) + tuple(c.out[2:])
        return _result(c, _drop(_by_format(c, x, xs, o, False), 2), why)
    if len(shape) == n + 1:  # unbatched: the kernels see a 3-d (4-d) tensor
        if n == 2:
            return CONTIGUOUS  # a 3-d tensor never suggests channels-last
        return _unknown(c, "unbatched 3-d pools are not modelled")
    return _result(c, _by_format(c, shape, st, c.out, n == 2), why)


# ---- norms ---------------------------------------------------------------------------------------

@rule("group_norm", "instance_norm1d", "instance_norm2d", "instance_norm3d")
def _norm(c: Ctx) -> Layout:
    """group_norm's kernel (``native_group_norm``, CPU and CUDA) allocates a fresh result with
    ``empty_like(X, memory_format)``: on CPU in the input's ``suggest_memory_format()``, on CUDA
    row-major; so row-major exactly where the input never suggests channels-last, else one of the
    two formats (``alts``).  Meta tensors run a Python decomposition (``torch._refs``) instead,
    whose result is row-major at every dimension of size other than 1 and copies other strides at
    size-1 ones; arts follows the kernels.  instance_norm is a batch norm of ``input.contiguous()``
    viewed as one batch (an unbatched input is unsqueezed first): contiguous where the input never
    suggests channels-last (its view can hand odd size-1 strides on)."""
    got = _input(c)
    if got is None:
        return _unknown(c, "the input's strides are not known")
    shape, st = got
    why = "whether torch picks channels-last for this input depends on the sizes or the backend"
    if c.op.name.startswith("instance_norm") and len(shape) == int(c.op.name[-2]) + 1:
        x, xs = _unsqueeze(shape, st, 0)
        if len(x) not in (4, 5):
            return CONTIGUOUS  # a tensor of another rank never suggests channels-last
        return _result(c, _drop(_by_format(c, x, xs, (sympy.Integer(1),) + tuple(c.out), False), 0), why)
    if len(shape) not in (4, 5):
        return CONTIGUOUS
    got = _by_format(c, shape, st, c.out, False)
    if got is None and c.op.name == "group_norm":
        return _formats(c, why)
    return _result(c, got, why)


@rule("batch_norm", "batch_norm1d", "batch_norm2d", "batch_norm3d")
def _batch_norm(c: Ctx) -> Layout:
    """Where each backend's batch norm puts its result.  CPU (``batch_norm_cpu``) allocates it
    row-major or channels-last: ``suggest_memory_format_contig`` when the input is contiguous in
    some format (row-major for a tensor that is both), else ``suggest_memory_format()``.  Meta and
    CUDA's native kernel use ``empty_like(input)``, which keeps a dense input's strides; cuDNN
    runs on ``input.contiguous(suggested format)``.  So a row-major input gives a row-major result
    everywhere, and an input with exactly channels-last strides (a conv's result on CPU) one of
    the two formats (``alts``: a later view must be legal with each).  Other inputs: unknown
    (meta's strides at size-1 dimensions of a gapped input follow yet another rule)."""
    shape, lay = c.inp()
    if plain(lay):
        return CONTIGUOUS
    got = _input(c)
    if got is None:
        return _unknown(c, "the input's strides are not known")
    shape, st = got
    if len(shape) in (4, 5) and all(_eq(a, b) is sympy.true for a, b in zip(st, channels_last_strides(shape))):
        return _formats(c, "CPU, CUDA and meta lay out its result differently")
    return _unknown(c, "the layout it gives a non-contiguous input is not modelled")


# ---- resizing ------------------------------------------------------------------------------------

#: Modes whose kernels were checked against torch (lanczos was not).
_RESIZE_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")


@rule("interpolate", "upsample", "sized_interpolate")
def _resize(c: Ctx) -> Layout:
    got = _input(c)
    if got is None:
        return _unknown(c, "the input's strides are not known")
    shape, st = got
    mode = c.p.get("mode", "nearest")
    if mode not in _RESIZE_MODES:
        return _unknown(c, f"the layout of mode {mode!r} is not modelled")
    why = "whether torch picks channels-last for this input depends on the sizes"
    if len(shape) == 3:
        if mode != "area":
            return CONTIGUOUS  # upsample_*1d: a 3-d tensor never suggests channels-last
        x, xs = _unsqueeze(shape, st, 2)  # area: adaptive_avg_pool1d, a 2-d pool of unsqueeze(-2)
        o = tuple(c.out[:2]) + (sympy.Integer(1),) + tuple(c.out[2:])
        return _result(c, _drop(_by_format(c, x, xs, o, False), 2), why)
    if len(shape) not in (4, 5):
        return _unknown(c, "an input of this rank is not modelled")
    return _result(c, _by_format(c, shape, st, c.out, not (mode == "area" and len(shape) == 5)), why)


# ---- products and attention ----------------------------------------------------------------------

@rule("matmul", "mm", "bmm", always_contiguous=True)
def _product(c: Ctx) -> Layout:
    """mm and bmm allocate contiguous results; matmul views one of them (see the module docstring)."""
    return CONTIGUOUS


@rule("scaled_dot_product_attention")
def _attention(c: Ctx) -> Layout:
    q_shape, q_lay = c.inp(0)
    if len(q_shape) != 4 and len(c.out) != 4:
        # every fused kernel (flash, memory-efficient, cuDNN; CPU's flash) takes 4-d inputs only:
        # the math path, ``softmax(q @ k^T) @ v``, whose product is a fresh row-major tensor
        return CONTIGUOUS
    if len(q_shape) != 4 or len(c.out) != 4:
        return _unknown(c, "attention of inputs of different ranks is not modelled")
    out = tuple(c.out)
    if any(_eq(a, b) is not sympy.true for a, b in zip(q_shape[:3], out[:3])):
        return _unknown(c, "attention with broadcast batch dimensions is not modelled")
    H, L = out[1], out[2]
    parts: list[sympy.Basic] = [sympy.Or(_one(H), _one(L))]  # flash / efficient: (B, L, H, E) transposed
    qs = strides_of(q_shape, q_lay)
    if qs is None:
        return _unknown(c, "the backend-dependent layout of the result is not modelled for this query")
    # cuDNN fills the output in the query's stride order (stable sort, smallest first): contiguous
    # when that order puts the dimensions of size other than 1 last to first.
    for i, j in itertools.combinations(range(4), 2):  # i before j: j must have the smaller stride
        parts.append(sympy.Or(_one(out[i]), _one(out[j]), _lt(qs[j], qs[i])))
    parts.append(sympy.Or(_one(out[3]), _ne(q_shape[3], 1)))  # the query's own E stride is known
    if _ask(c, sympy.And(*parts)):
        if not SIZE1_STRIDES_MATTER:
            return CONTIGUOUS
        # every backend's result is row-major wherever a size is not 1, but flash's (B, L, H, E)
        # buffer and math's result differ at a size-1 H: contiguous, its size-1 strides unknown
        return Layout("contiguous", dense=True, origin=c.here, loose=True,
                      reason="attention's backends give its size-1 dimensions different strides")
    return _unknown(c, "its backends (math, flash, memory-efficient, cuDNN) lay the result out differently here")
