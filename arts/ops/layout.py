"""Memory layout through a graph: which strides each tensor has, and when ``view`` is legal.

torch's ``Tensor.view`` needs more than a matching element count: the requested shape must be
expressible over the input's *strides* (``at::detail::computeStride``).  After a ``transpose``,
``permute``, ``expand`` or a strided slice that fails for most sizes ("view size is not compatible
with input tensor's size and stride ... Use .reshape(...) instead").  So the checker carries a
:class:`Layout` for every tensor next to its symbolic shape:

* ``contiguous`` -- row-major strides, implied by the shape (what convs, pools, ``cat``,
  ``contiguous()`` and every fresh result of contiguous inputs have);
* ``strided`` -- explicit stride expressions over the sizes (after ``transpose``, ``permute``,
  ``expand``, slicing, ``unsqueeze``/``squeeze``, and views of those);
* ``unknown`` -- arts does not model the layout (a conv of a channels-last-like input picks
  channels-last; elementwise ops of overlapping inputs): a later ``view`` is ``unknown``,
  never ``ok``.

**The view condition.**  computeStride walks the old dimensions from the last, grouping them into
chunks that are contiguous in memory: a chunk ends before old dimension ``b`` when dimension
``b-1`` has a size other than 1 and its stride is not the size times the stride of the next
dimension of size other than 1 (the last dimension's stride when all later sizes are 1).  Each
chunk must be covered exactly by consecutive new dimensions.  With positive sizes that is: for
every chunk boundary ``b``, the product of the old sizes from ``b`` on equals the product of some
suffix of the new shape.  :func:`view_condition` writes exactly that as a sympy formula over the
sizes (it depends on which sizes equal 1 and on products of groups); the checker decides it over
the live domain like any other condition.  Sizes of 1 never matter, nor do their strides.

**Rules** (:data:`RULES`, by op name) give the output layout; an op with no rule produces a
contiguous result when all its tensor inputs are contiguous, and an ``unknown`` layout otherwise.
That default is the sound one: torch's elementwise ops, convs and pools may keep (or pick)
a non-contiguous layout for non-contiguous inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import sympy

from arts.errors import Unsupported
from arts.ops.base import Condition, Op, Shape, StaticShapeError, Text, cond, norm_dim

__all__ = ["Layout", "CONTIGUOUS", "contiguous_strides", "view_condition", "view_strides",
           "layout_conditions", "output_layout", "plain"]

Known = Callable[[Any], "bool | None"]


@dataclass(frozen=True)
class Layout:
    """How a tensor lies in memory.  ``kind`` is "contiguous", "strided" or "unknown".

    ``strides`` (strided only) are sympy expressions over the input sizes, in elements.
    ``dense``: a permutation of a contiguous tensor (no gaps, no overlap), the case where torch's
    elementwise ops keep the input's strides; on an unknown layout (a fresh result of a non-contiguous
    input, strides not modelled), it still says that no two elements share memory.  ``origin`` names the node that
    made the tensor non-contiguous (``"t1 (transpose(dim0=1, dim1=2))"``); ``reason`` says why
    the layout is unknown.  ``loose`` (contiguous only): row-major at every dimension of size other
    than 1, but the strides at size-1 dimensions are not known (``.contiguous()`` of a tensor of
    unknown layout returns it unchanged when torch calls it contiguous): a ``view`` may use it, a
    rule that reads strides (TensorIterator, the memory-format test) may not.  ``alts`` (unknown
    only): the result is one of these layouts, which one depending on the backend.
    """

    kind: str
    strides: tuple | None = None
    dense: bool = False
    origin: str | None = None
    reason: str | None = None
    loose: bool = False
    #: (unknown only) the layouts torch may give, by backend (CPU, CUDA, meta, and a choice of
    #: kernel by size): each a contiguous or strided layout.  A rule sees one at a time
    #: (:func:`output_layout`), and a ``view`` is decided only where all of them agree.
    alts: tuple | None = None

    @property
    def contiguous(self) -> bool:
        return self.kind == "contiguous"


CONTIGUOUS = Layout("contiguous")


def _s(e: Any) -> sympy.Expr:
    return sympy.sympify(e)


def _prod(xs: Sequence[Any]) -> sympy.Expr:
    return sympy.Mul(*[_s(x) for x in xs]) if xs else sympy.Integer(1)


def _is_one(e: Any) -> bool:
    return _s(e) == 1


def contiguous_strides(shape: Shape) -> tuple:
    """Row-major strides of ``shape`` (torch's: the last is 1, each the product of later sizes)."""
    out = []
    acc: sympy.Expr = sympy.Integer(1)
    for s in reversed(tuple(shape)):
        out.append(acc)
        acc = acc * _s(s)
    return tuple(reversed(out))


def strides_of(shape: Shape, lay: Layout) -> tuple | None:
    """The strides of a tensor of ``shape`` with layout ``lay`` (None: not known).  They are
    torch's exactly, at every dimension: size-1 dimensions' strides too (TensorIterator's sort
    reads them)."""
    if lay.kind == "contiguous":
        if lay.loose:
            return None
        return lay.strides if lay.strides is not None else contiguous_strides(shape)
    return lay.strides if lay.kind == "strided" else None


def _same(a: Any, b: Any) -> bool:
    a, b = _s(a), _s(b)
    if a == b:
        return True
    ma, mb = _monomial(a), _monomial(b)
    if ma is not None and mb is not None:
        return ma == mb
    return sympy.expand(a - b) == 0


def pins(c: Any) -> dict:
    """Replacements that hold wherever ``c`` does, for a condition that fixes sizes: ``Eq(X, 1)``
    gives ``{X: 1}``; ``Eq(a - b, 1)`` (a size that is a difference: a window count) gives
    ``{b: a - 1}``, the replaced term one no other term contains (sympy spreads a number over a
    sum, ``1344*(a - b)`` is ``1344*a - 1344*b``, which ``{a - b: 1}`` would not reach)."""
    out: dict = {}
    for e in (c.args if isinstance(c, sympy.And) else (c,)):
        if not isinstance(e, sympy.Eq):
            continue
        x, n = (e.lhs, e.rhs) if e.rhs.is_Number else (e.rhs, e.lhs)
        if not n.is_Number or x.is_Number:
            continue
        if not isinstance(x, sympy.Add):
            out[x] = n
            continue
        terms = sympy.Add.make_args(x)
        for t in terms:
            k, base = t.as_coeff_Mul()
            if k in (1, -1) and not base.is_Number and not any(o is not t and o.has(base) for o in terms):
                out[base] = (n - (x - t)) / k
                break
    return out


def cases(c: Any, a: Any, b: Any) -> sympy.Expr:
    """``a`` where ``c`` holds, else ``b``: one of them where they agree under the case that fixes
    sizes (``Piecewise((1344*w, Eq(w, 1)), (1344, True))`` is 1344), else their ``Piecewise``."""
    a, b = _s(a), _s(b)
    if _same(a, b):
        return a
    for hyp, keep in ((c, b), (sympy.Not(c), a)):
        ps = pins(hyp)
        if ps and _same(a.xreplace(ps), b.xreplace(ps)):
            return keep
    return sympy.Piecewise((a, c), (b, True))


def make(shape: Shape, strides: Sequence[Any], origin: str | None, dense: bool) -> Layout:
    """A strided layout, or a contiguous one when the strides are row-major for every size:
    CONTIGUOUS when they are at every dimension, a contiguous layout that keeps its strides when
    they differ only at dimensions of size 1 (torch's ``is_contiguous()`` ignores those, its
    TensorIterator does not)."""
    strides = tuple(_s(t) for t in strides)
    want = contiguous_strides(shape)
    if all(_same(t, w) for t, w in zip(strides, want)):
        return CONTIGUOUS
    if all(_is_one(s) or _same(t, w) for s, t, w in zip(shape, strides, want)):
        return Layout("contiguous", strides, True, origin)
    return Layout("strided", strides, dense, origin)


def plain(lay: Layout) -> bool:
    """Contiguous with row-major strides at every dimension (size-1 ones too)."""
    return lay.kind == "contiguous" and lay.strides is None and not lay.loose


def unknown(origin: str | None, reason: str) -> Layout:
    return Layout("unknown", origin=origin, reason=reason)


# ---- the view condition -----------------------------------------------------------------------

def _monomial(e: sympy.Expr) -> tuple[sympy.Rational, dict] | None:
    """``e`` as ``coefficient * prod(base**exp)`` over positive size factors (anything but a
    number, a product or a power counts as one factor: ``floor((H - 1)/2) + 1`` is a size), or
    None when ``e`` may be 0 or is not such a product (a Piecewise stride of an expand)."""
    coef: sympy.Rational = sympy.Integer(1)
    bases: dict = {}
    for f in sympy.Mul.make_args(e):
        if f.is_Number:
            if not (f.is_Rational and f > 0):
                return None
            coef = coef * f
            continue
        if isinstance(f, sympy.Add):  # sympy spreads a number over a sum: 64*(w + 1) is 64*w + 64
            content, prim = f.as_content_primitive()
            if content != 1 and not prim.could_extract_minus_sign():
                coef, f = coef * content, prim
        if f.has(sympy.Piecewise):
            return None
        b, x = (f.base, f.exp) if isinstance(f, sympy.Pow) else (f, sympy.Integer(1))
        if not x.is_Integer:
            return None
        bases[b] = bases.get(b, 0) + int(x)
    return coef, bases


def _eq(a: Any, b: Any) -> sympy.Basic:
    """``a == b`` for products of sizes, with common factors cancelled (sizes are positive), so
    that most atoms mention one symbol: ``16*W == 16*H*N*W`` is ``H == 1 and N == 1``."""
    a, b = _s(a), _s(b)
    if a == b:
        return sympy.true
    ma, mb = _monomial(a), _monomial(b)
    if ma is None or mb is None:
        return sympy.Eq(a, b)
    (ca, fa), (cb, fb) = ma, mb
    diff = {k: fa.get(k, 0) - fb.get(k, 0) for k in set(fa) | set(fb)}
    left = {k: v for k, v in diff.items() if v > 0}
    right = {k: -v for k, v in diff.items() if v < 0}
    if not left and not right:
        return sympy.true if ca == cb else sympy.false
    for one, other, c_one, c_other in ((left, right, ca, cb), (right, left, cb, ca)):
        if not other:  # c_one * prod(one) == c_other, every factor >= 1
            if c_one > c_other:
                return sympy.false
            if c_one == c_other:
                return sympy.And(*[sympy.Eq(k, 1) for k in sorted(one, key=sympy.default_sort_key)])
    lhs = ca * sympy.Mul(*[k ** v for k, v in left.items()])
    rhs = cb * sympy.Mul(*[k ** v for k, v in right.items()])
    return sympy.Eq(lhs, rhs)


def _ne(a: Any, b: Any) -> sympy.Basic:
    e = _eq(a, b)
    if e is sympy.true or e is sympy.false:
        return sympy.Not(e)
    return sympy.Not(e) if not isinstance(e, sympy.Eq) else sympy.Ne(*e.args)


def boundary(shape: Shape, strides: Sequence[Any], b: int) -> sympy.Basic:
    """Whether computeStride starts a new chunk between old dimensions ``b-1`` and ``b``.

    A chunk ends there when size ``b-1`` is not 1 and stride ``b-1`` is not ``size_j * stride_j``
    for the first ``j >= b`` of size other than 1 (``stride[-1]`` when every later size is 1).
    """
    r = len(shape)
    cases = []
    ones: list[sympy.Basic] = []  # sizes b..j-1 are all 1
    for j in range(b, r):
        if _s(shape[j]) == 1:
            continue
        is_first = sympy.And(*ones, _ne(shape[j], 1)) if ones else _ne(shape[j], 1)
        cases.append(sympy.And(is_first, _ne(strides[b - 1], _s(shape[j]) * _s(strides[j]))))
        if _s(shape[j]).is_Integer:  # a literal size other than 1: no later j can be first
            break
        ones.append(_eq(shape[j], 1))
    else:
        cases.append(sympy.And(*ones, _ne(strides[b - 1], strides[r - 1])))
    return sympy.And(_ne(shape[b - 1], 1), sympy.Or(*cases))


def view_condition(shape: Shape, strides: Sequence[Any], new: Shape) -> sympy.Basic:
    """Exactly when ``view(new)`` of a tensor of ``shape``/``strides`` succeeds in torch, given
    that the element counts agree and every size is positive."""
    r = len(shape)
    if r == 0:
        return sympy.true
    suffixes = []
    for v in range(len(new) + 1):
        e = _prod(list(new)[v:])
        if e not in suffixes:
            suffixes.append(e)
    prefixes = [_prod(list(new)[:v]) for v in range(len(new) + 1)]
    parts = []
    for b in range(1, r):
        bd = boundary(shape, strides, b)
        if bd is sympy.false:
            continue
        q = _prod(list(shape)[b:])
        match = sympy.Or(*(_eq(q, s) for s in suffixes))
        if match is sympy.true:
            continue
        # the element counts agree, so a suffix matches exactly when the prefix before it does:
        # ``N, L, C`` viewed as ``N, h, w, C`` splits after N whatever L == h*w looks like
        p = _prod(list(shape)[:b])
        if any(_eq(p, x) is sympy.true for x in prefixes):
            continue
        parts.append(sympy.Or(sympy.Not(bd), match))
    return tidy(sympy.And(*parts))


#: Most distinct comparisons a formula may have for :func:`tidy` to minimise it.
TIDY_ATOMS = 8


def tidy(f: sympy.Basic) -> sympy.Basic:
    """``f`` as a minimal boolean formula over its equalities (an equivalent formula: ``Ne`` is
    read as the negation of ``Eq``), so that domains print as ``Eq(N, 1) | (Eq(H, 1) & Eq(W, 1))``."""
    if f is sympy.true or f is sympy.false:
        return f
    rels = f.atoms(sympy.core.relational.Relational)
    if any(not isinstance(r, (sympy.Eq, sympy.Ne)) for r in rels):
        return f
    eqs = sorted({sympy.Eq(*r.args, evaluate=False) for r in rels}, key=sympy.default_sort_key)
    if len(eqs) > TIDY_ATOMS:
        return f
    names = {e: sympy.Dummy(f"b{i}") for i, e in enumerate(eqs)}
    to_bool = {r: (names[sympy.Eq(*r.args, evaluate=False)] if isinstance(r, sympy.Eq)
                   else sympy.Not(names[sympy.Eq(*r.args, evaluate=False)])) for r in rels}
    g = sympy.simplify_logic(f.xreplace(to_bool), force=True)
    back = {b: sympy.Eq(*e.args) for e, b in names.items()}
    return g.xreplace(back)


def static_known(c: Any) -> bool | None:
    c = _s(c)
    if c is sympy.true:
        return True
    if c is sympy.false:
        return False
    return None


#: Most undecided comparisons view_strides forks on (each fork walks both ways).
MAX_FORKS = 6


def view_strides(shape: Shape, strides: Sequence[Any], new: Shape, known: Known = static_known) -> tuple | None:
    """The strides torch gives ``view(new)`` (computeStride), or None when they cannot be told.

    ``known`` decides each comparison (True, False, or None: depends on the sizes).  Where a
    chunk boundary is undecided, both walks are made (at most :data:`MAX_FORKS`); a stride on
    which they differ is the ``Piecewise`` of the two, by the boundary's condition.
    """
    old_l, new_l, strides_l = [_s(x) for x in shape], [_s(x) for x in new], [_s(t) for t in strides]
    if not old_l:
        return tuple(sympy.Integer(1) for _ in new_l)
    return _by_pieces(old_l, strides_l, new_l, known, PIECE_SPLITS)


#: Most Piecewise strides (an expand's, a pad's, an add's by which sizes are 1) view_strides splits on,
#: each both ways (timm's Hiera: tokens plus a position embedding hinge on four conditions).  Only a
#: walk that would otherwise give up splits this deep.
PIECE_SPLITS = 5


def _by_pieces(shape: list, strides: list, new: list, known: Known, splits: int) -> tuple | None:
    """The walk over strides with ``Piecewise`` entries, one piece at a time: a piece the domain
    decides is taken; otherwise both are walked, under their conditions, and merged."""
    pws = sorted({p for t in strides for p in t.atoms(sympy.Piecewise)}, key=sympy.count_ops)
    if not pws:
        return _walk(shape, strides, new, known, [], [0], {})
    if splits <= 0:
        return None
    c = pws[0].args[0][1]
    same = [p for p in pws if p.args[0][1] == c]  # every Piecewise on this condition at once

    def piece(p: sympy.Piecewise, taken: bool) -> Any:
        if taken:
            return p.args[0][0]
        rest = p.args[1:]
        return rest[0][0] if len(rest) == 1 and rest[0][1] == sympy.true else sympy.Piecewise(*rest)

    def under(taken: bool, hyp: Any) -> tuple | None:
        k: Known = (lambda q: known(sympy.Implies(hyp, q))) if hyp is not None else known
        reps = {p: piece(p, taken) for p in same}
        sts = [t.xreplace(reps) for t in strides]
        ps = pins(c) if taken else {}
        if ps:  # ``size == k`` holds here: the other pieces on it settle
            sts = [t.xreplace(ps) for t in sts]
        return _by_pieces(shape, sts, new, k, splits - 1)
    v = known(c)
    if v is True:
        return under(True, None)
    if v is False:
        return under(False, None)
    yes, no = under(True, c), under(False, sympy.Not(c))
    if yes is None or no is None:
        return None
    return tuple(cases(c, a, b) for a, b in zip(yes, no))


def _fork(shape: list, strides: list, new: list, known: Known, assumed: list, forks: list,
          forced: dict[Any, bool], key: Any, c: Any) -> tuple | None:
    """Both walks of an undecided step ``c``; a stride on which they differ is the Piecewise of
    the two by ``c`` (exact)."""
    if forks[0] >= MAX_FORKS:
        return None
    forks[0] += 1
    yes = _walk(shape, strides, new, known, assumed + [c], forks, {**forced, key: True})
    no = _walk(shape, strides, new, known, assumed + [sympy.Not(c)], forks, {**forced, key: False})
    if yes is None or no is None:
        return None
    if all(_same(a, b) for a, b in zip(yes, no)):
        return yes
    return tuple(cases(c, a, b) for a, b in zip(yes, no))


def _settled(a: sympy.Basic, b: sympy.Basic) -> sympy.Basic:
    """Of two conditions equivalent where the element counts agree, one sympy settles, else one of
    (in)equalities of sizes to 1 (``N*h > 1``: ``N != 1 or h != 1``), else ``a``."""
    def rank(f: sympy.Basic) -> int:
        if f is sympy.true or f is sympy.false:
            return 0
        rels = f.atoms(sympy.core.relational.Relational)
        return 1 if all(isinstance(r, (sympy.Eq, sympy.Ne)) and 1 in r.args for r in rels) else 2
    return b if rank(b) < rank(a) else a


def _walk(shape: list, strides: list, new: list, known: Known, assumed: list, forks: list,
          forced: dict[Any, bool]) -> tuple | None:
    """One walk of computeStride; ``forced`` fixes the decisions already forked on (chunk
    boundaries and how far a chunk's new dimensions reach), ``assumed`` holds their conditions."""
    from arts.ops.layout_iter import _lt
    def ask(c: Any) -> bool | None:
        c = _s(c)
        if c is sympy.true or c is sympy.false:
            return bool(c)
        if not assumed:
            return known(c)
        return known(sympy.Implies(sympy.And(*assumed), c))

    out: list[Any] = [None] * len(new)
    view_d = len(new) - 1
    base = strides[-1]
    tensor_numel: sympy.Expr = sympy.Integer(1)
    view_numel: sympy.Expr = sympy.Integer(1)
    d = len(shape) - 1
    while d >= 0:
        tensor_numel = tensor_numel * shape[d]
        if d == 0:
            end: bool | None = True
        elif d in forced:
            end = forced[d]
        else:
            c = sympy.And(_ne(shape[d - 1], 1), _ne(strides[d - 1], tensor_numel * base))
            end = ask(c)
            if end is None:
                return _fork(shape, strides, new, known, assumed, forks, forced, d, c)
        if not end:
            d -= 1
            continue
        while view_d >= 0:
            key = ("more", d, view_d)
            # view_numel < tensor_numel, or (the element counts agree and the later chunks matched)
            # the new prefix before this dimension is larger than the old one: whichever is settled
            less = _settled(_lt(view_numel, tensor_numel), _lt(_prod(shape[:d]), _prod(new[:view_d + 1])))
            mc = sympy.Or(less, _eq(new[view_d], 1))
            more = forced[key] if key in forced else ask(mc)
            if more is None:
                return _fork(shape, strides, new, known, assumed, forks, forced, key, mc)
            if not more:
                break
            out[view_d] = view_numel * base
            view_numel = view_numel * new[view_d]
            view_d -= 1
        if not ask(_settled(_eq(view_numel, tensor_numel), _eq(_prod(shape[:d]), _prod(new[:view_d + 1])))):
            return None
        if d > 0:
            base = strides[d - 1]
            tensor_numel = sympy.Integer(1)
            view_numel = sympy.Integer(1)
        d -= 1
    if view_d != -1:
        return None
    return tuple(out)


# ---- per-op rules -----------------------------------------------------------------------------

@dataclass
class Ctx:
    """What a layout rule sees: the op, the node, input shapes and layouts, the output shape."""

    op: Op
    node: str
    shapes: list
    layouts: list
    out: tuple
    known: Known = static_known
    mode: str = "eval"

    @property
    def p(self) -> dict[str, Any]:
        return self.op.params

    @property
    def here(self) -> str:
        return f"{self.node} ({self.op})"

    def inp(self, i: int = 0) -> tuple[tuple, Layout]:
        return tuple(self.shapes[i]), self.layouts[i]


RULES: dict[str, Callable[[Ctx], Layout]] = {}
CONDITIONS: dict[str, Callable[[Ctx], list]] = {}


#: Ops whose result is contiguous whatever their inputs' layouts (so those need not be computed).
ALWAYS_CONTIGUOUS: set[str] = set()


def rule(*names: str, always_contiguous: bool = False) -> Callable[[Callable[[Ctx], Layout]], Callable[[Ctx], Layout]]:
    """Register a layout rule (``always_contiguous``: it returns CONTIGUOUS for every input)."""
    def deco(f: Callable[[Ctx], Layout]) -> Callable[[Ctx], Layout]:
        for n in names:
            RULES[n] = f
            if always_contiguous:
                ALWAYS_CONTIGUOUS.add(n)
            else:
                ALWAYS_CONTIGUOUS.discard(n)
        return f
    return deco


def always_contiguous(op: Op) -> bool:
    """Whether ``op``'s result is contiguous whatever its inputs' layouts."""
    return op.name in ALWAYS_CONTIGUOUS


#: When a condition rule has something to say (op, mode -> bool; absent: always), and whether it
#: reads only whether the input is dense (then a fresh result's strides need not be computed).
APPLIES: dict[str, Callable[[Op, str], bool]] = {}
DENSITY_ONLY: set[str] = set()


def conditions(*names: str, applies: Callable[[Op, str], bool] | None = None,
               density_only: bool = False) -> Callable[[Callable[[Ctx], list]], Callable[[Ctx], list]]:
    def deco(f: Callable[[Ctx], list]) -> Callable[[Ctx], list]:
        for n in names:
            CONDITIONS[n] = f
            if applies is not None:
                APPLIES[n] = applies
            if density_only:
                DENSITY_ONLY.add(n)
        return f
    return deco


def _default(c: Ctx) -> Layout:
    """Ops with no rule make a fresh result (convs, pools, norms, binary ops, cat, ...; in place, the
    input itself after the no-overlap check): contiguous from contiguous inputs; otherwise its
    strides are not modelled, but torch allocates every fresh result as a permutation of a
    contiguous tensor, so it is dense (no element shares memory: an in-place op on it is legal)."""
    if all(plain(lay) for lay in c.layouts):
        return CONTIGUOUS
    if all(lay.contiguous for lay in c.layouts):
        return Layout("unknown", dense=True, origin=c.here,
                      reason=f"the layout {c.op.name} gives a contiguous input with unusual strides at its size-1 "
                             f"dimensions is not modelled")
    return Layout("unknown", dense=True, origin=c.here,
                  reason=f"the layout {c.op.name} gives a non-contiguous input is not modelled")


def _restride(c: Ctx, f: Callable[[tuple, tuple], tuple], dense_kept: bool = True) -> Layout:
    """Output strides as a function of the input's: for views that only move strides around."""
    shape, lay = c.inp()
    st = strides_of(shape, lay)
    if st is None:  # strides unknown: a permutation keeps a dense tensor dense, a slice or expand not
        if lay.loose:
            return _restride_loose(c, f, dense_kept)
        return lay if dense_kept or not lay.dense else Layout("unknown", origin=lay.origin, reason=lay.reason)
    new = f(shape, st)
    return make(c.out, new, lay.origin or c.here, dense=(lay.contiguous or lay.dense) and dense_kept)


def _restride_loose(c: Ctx, f: Callable[[tuple, tuple], tuple], dense_kept: bool) -> Layout:
    """A view that moves the strides of a *loose* tensor (row-major wherever a size is not 1,
    size-1 strides unknown).  Each of these views gives a dimension of size other than 1 the
    stride of an input dimension of size other than 1 (times a slice's step, or 0 where an expand
    broadcasts), so the result's strides there are ``f`` of the row-major strides.  Where those are
    row-major again at every dimension of size other than 1 (torch's ``is_contiguous()``, decided
    over the live domain: a transpose that only moves size-1 dimensions, ``(N, 1, L, E)`` to
    ``(N, L, 1, E)`` in one-head attention) the result is loose too; otherwise unknown."""
    shape, lay = c.inp()
    from arts.ops.layout_iter import is_contiguous

    moved = f(shape, contiguous_strides(shape))
    if c.known(is_contiguous(c.out, moved)) is not True:
        return Layout("unknown", dense=dense_kept, origin=lay.origin, reason=lay.reason)
    if all(c.known(_ne(s, 1)) is True for s in c.out):  # no size-1 dimension: the strides are exact
        return CONTIGUOUS
    return Layout("contiguous", dense=True, origin=lay.origin, loose=True, reason=lay.reason)


#: Ops whose result torch may hand back as a non-contiguous view although every input is
#: contiguous: einsum (a permuted view of its product), attention and recurrent layers
#: (batch_first outputs and CPU flash attention return transposed buffers).  Their layout is not
#: modelled: a later ``view`` is unknown, never ok.
UNMODELLED = ("einsum", "scaled_dot_product_attention", "multihead_attention", "recurrent",
              "transformer_encoder")


@rule(*UNMODELLED)
def _unmodelled(c: Ctx) -> Layout:
    return unknown(c.here, f"arts does not model the memory layout of {c.op.name}'s result")


@rule("contiguous")
def _contiguous(c: Ctx) -> Layout:
    """``x.contiguous()`` is ``x`` itself when torch calls it contiguous (whatever its size-1
    dimensions' strides), else a row-major copy: :func:`contiguous_result`."""
    return contiguous_result(c)


def contiguous_result(c: Ctx) -> Layout:
    """The layout of ``x.contiguous()``.  torch's ``is_contiguous()`` ignores size-1 dimensions, so
    a strided input that is row-major wherever its sizes are not 1 comes back unchanged, strides and
    all; that test is decided over the live domain (a ``Piecewise`` by it where it depends on the
    sizes).  An input of unknown layout comes back ``loose`` unless no size can be 1."""
    shape, lay = c.inp()
    if lay.contiguous:
        return lay
    st = strides_of(shape, lay)
    if st is None:
        if all(c.known(_ne(s, 1)) is True for s in shape):
            return CONTIGUOUS
        return Layout("contiguous", dense=True, origin=lay.origin or c.here, loose=True,
                      reason=f"the strides of size-1 dimensions after {lay.origin or c.here} are not known")
    row = contiguous_strides(shape)
    same = sympy.And(*[sympy.Or(_eq(n, 1), _eq(t, r)) for n, t, r in zip(shape, st, row)])
    k = c.known(same)
    if k is True:
        return make(shape, st, lay.origin, dense=True)
    if k is False:
        return CONTIGUOUS
    return make(shape, tuple(cases(same, t, r) for t, r in zip(st, row)),
                lay.origin, dense=True)


@rule("layer_norm", "linear", "softmax", "log_softmax", always_contiguous=True)
def _fresh_contiguous(c: Ctx) -> Layout:
    """torch's layer_norm makes its input contiguous and allocates a contiguous result
    (native_layer_norm); linear is an ``mm`` of the (reshaped) input into a fresh contiguous
    buffer, viewed back to the batch shape; softmax's structured kernels allocate a row-major
    result whatever the input's strides (row-major at every dimension, size-1 ones too: checked on
    permuted, sliced, expanded and channels-last inputs in tests/test_frontend_library_rules.py)."""
    return CONTIGUOUS


@rule("identity")
def _same_layout(c: Ctx) -> Layout:
    return c.layouts[0]


_DROPOUTS = ("dropout", "alpha_dropout", "dropout1d", "dropout2d", "dropout3d")


def returns_first_input(op: Op, mode: str) -> bool:
    """Whether ``op`` returns its first input itself (the rules here give it the input's layout):
    identity, an in-place activation or binary op, a dropout outside training."""
    if op.name == "identity":
        return True
    if op.name in _DROPOUTS:
        return mode != "train" or op.params.get("p") == 0
    return bool(op.params.get("inplace")) and (op.name in _ACTIVATIONS or op.name in ("add", "sub", "mul", "div",
                                                                                       "broadcast_op"))


@rule(*_DROPOUTS)
def _dropout(c: Ctx) -> Layout:
    if c.mode != "train" or c.p.get("p") == 0:
        return c.layouts[0]  # eval mode (and p=0) returns the input itself
    return _elementwise(c) if c.op.name in ("dropout", "alpha_dropout") else _default(c)


#: ``pointwise`` functions that keep a dense input's strides (TensorIterator, or preserve_format),
#: checked in torch on a permuted input (tests/test_layout_torch.py).  Others (cumsum, roll,
#: logsigmoid, ...) give a contiguous result there, and an unknown layout here.
KEEPS_DENSE_STRIDES = frozenset({
    "exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "abs", "neg", "negative", "sin", "cos", "tan",
    "erf", "sign", "floor", "ceil", "round", "trunc", "reciprocal", "square", "clamp", "clip", "clamp_min",
    "clamp_max", "logit", "softsign", "tanhshrink", "hardshrink", "softshrink", "celu", "normalize", "clone",
    "zeros_like", "ones_like", "rand_like", "randn_like", "empty_like", "full_like", "nan_to_num", "logical_not",
    "bitwise_not", "float_power", "isnan", "isfinite", "flip", "sigmoid", "tanh", "relu", "hardtanh", "leaky_relu",
    "elu", "fill", "zero", "dropout",
    # conversions return the input itself, or a copy in preserve_format (a dense input's strides)
    "float", "double", "half", "bfloat16", "int", "long", "bool", "to", "cpu", "cuda", "type", "type_as"})
#: ``pointwise`` functions that return their input itself or a view with its strides.
SAME_TENSOR = frozenset({"detach", "requires_grad", "identity", "t"})


_ACTIVATIONS = ("relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "sigmoid", "tanh", "hardswish",
                "hardsigmoid", "hardtanh", "mish", "softplus")


@rule(*_ACTIVATIONS, "pointwise")
def _elementwise(c: Ctx) -> Layout:
    """torch's unary elementwise ops keep a dense input's strides (TensorIterator); in place
    they return the input itself."""
    lay = c.layouts[0]
    fn = c.p.get("fn")
    if fn == "contiguous":
        return contiguous_result(c)
    if isinstance(fn, str) and "memory_format" in fn:  # .to(memory_format=torch.channels_last) ...
        return unknown(c.here, f"{fn} is a memory format arts does not model")
    if c.p.get("inplace") or fn in SAME_TENSOR or (isinstance(fn, str) and fn.endswith("_")
                                                   and not fn.endswith("__")):
        return lay  # x.relu_() returns x itself
    from arts.ops import layout_iter

    exact = layout_iter.pointwise(c)
    if exact is not None:
        return exact
    if isinstance(fn, str) and fn not in KEEPS_DENSE_STRIDES:
        return _default(c)
    if lay.contiguous or lay.dense:  # a dense input's strides are kept (unknown ones stay unknown, dense)
        return lay
    return unknown(lay.origin or c.here, f"the layout {c.op.name} gives a non-dense input is not modelled")


@rule("permute")
def _permute(c: Ctx) -> Layout:
    dims = [norm_dim(d, len(c.shapes[0]), "permute") for d in c.p["dims"]]
    return _restride(c, lambda s, t: tuple(t[d] for d in dims))


@rule("transpose")
def _transpose(c: Ctx) -> Layout:
    r = len(c.shapes[0])
    if r == 0:
        return c.layouts[0]
    a, b = norm_dim(c.p["dim0"], r, "transpose"), norm_dim(c.p["dim1"], r, "transpose")

    def f(s: tuple, t: tuple) -> tuple:
        out = list(t)
        out[a], out[b] = out[b], out[a]
        return tuple(out)
    return _restride(c, f)


@rule("unsqueeze")
def _unsqueeze(c: Ctx) -> Layout:
    r = len(c.shapes[0])
    d = norm_dim(c.p["dim"], r + 1, "unsqueeze")

    def f(s: tuple, t: tuple) -> tuple:
        new = sympy.Integer(1) if d >= r else _s(s[d]) * _s(t[d])
        return t[:d] + (new,) + t[d:]
    return _restride(c, f)


@rule("squeeze")
def _squeeze(c: Ctx) -> Layout:
    shape = c.shapes[0]
    d = c.p["dim"]
    targets = range(len(shape)) if d is None else [
        norm_dim(i, max(len(shape), 1), "squeeze") for i in (d if isinstance(d, tuple) else (d,))]
    drop = {i for i in targets if i < len(shape) and _s(shape[i]) == 1}
    return _restride(c, lambda s, t: tuple(x for i, x in enumerate(t) if i not in drop))


@rule("unbind_part")
def _select(c: Ctx) -> Layout:
    """``x.unbind(d)[i]`` is torch's ``select(d, i)`` view: dimension ``d`` is dropped, the other
    strides are the input's (``q, k, v = qkv.unbind(0)`` in attention)."""
    d = norm_dim(c.p["dim"], len(c.shapes[0]), "unbind")
    return _restride(c, lambda s, t: t[:d] + t[d + 1:], dense_kept=False)


@rule("chunk_part", "split_part", "sized_split_part")
def _narrow(c: Ctx) -> Layout:
    return _restride(c, lambda s, t: t, dense_kept=False)


@rule("slice")
def _slice(c: Ctx) -> Layout:
    d = norm_dim(c.p["dim"], len(c.shapes[0]), "slice")

    def f(s: tuple, t: tuple) -> tuple:
        return t[:d] + (_s(t[d]) * c.p["step"],) + t[d + 1:]
    return _restride(c, f, dense_kept=False)


@rule("index")
def _index(c: Ctx) -> Layout:
    shape = c.shapes[0]
    items = list(c.p["index"])
    used = sum(1 for it in items if it[0] in ("int", "slice"))
    if any(it[0] == "ellipsis" for it in items):
        k = items.index(("ellipsis",))
        items = items[:k] + [("slice", None, None, None)] * (len(shape) - used) + items[k + 1:]
    else:
        items += [("slice", None, None, None)] * (len(shape) - used)

    def f(s: tuple, t: tuple) -> tuple:
        out, d = [], 0
        for it in items:
            if it[0] == "none":
                out.append(_s(s[d]) * _s(t[d]) if d < len(s) else sympy.Integer(1))
                continue
            if it[0] == "slice":
                out.append(_s(t[d]) * (it[3] or 1))
            d += 1
        return tuple(out)
    return _restride(c, f, dense_kept=False)


def _expand_strides(c: Ctx, shape: tuple, t: tuple, target: tuple) -> tuple:
    """torch's ``inferExpandGeometry``: a kept dimension keeps its stride, an expanded one (size
    1 to another) gets 0; a new leading dimension gets 0, or the next dimension's size times its
    stride when its size is 1."""
    off = len(target) - len(shape)
    if not shape:  # a 0-d tensor expands with stride 0 everywhere
        return tuple(sympy.Integer(0) for _ in target)
    out: list[Any] = [None] * len(target)
    for i in range(len(target) - 1, -1, -1):
        want = _s(target[i])
        if i >= off:
            s, st = _s(shape[i - off]), _s(t[i - off])
        else:  # a new dimension: size 1
            s = sympy.Integer(1)
            st = _s(target[i + 1]) * out[i + 1] if i + 1 < len(target) else sympy.Integer(1)
        if s == want:
            out[i] = st
        elif s == 1 and want.is_Integer:
            out[i] = sympy.Integer(0)
        else:  # the stride is kept where the sizes agree (also 1 to 1), else s is 1: stride 0
            e = _eq(s, want)
            out[i] = st if e is sympy.true else sympy.Integer(0) if e is sympy.false else sympy.Piecewise(
                (st, e), (sympy.Integer(0), True))
    return tuple(out)


@rule("expand", "expand_as", "sized_expand")
def _expand(c: Ctx) -> Layout:
    return _restride(c, lambda s, t: _expand_strides(c, s, t, c.out), dense_kept=False)


def _view_like(c: Ctx, new: tuple) -> Layout:
    shape, lay = c.inp()
    if plain(lay):  # one chunk: the new strides are row-major (size-1 dimensions' too)
        return CONTIGUOUS
    st = strides_of(shape, lay)
    if st is None:
        return lay
    out = view_strides(shape, st, new, c.known)
    if out is None:
        return unknown(lay.origin, f"the strides view gives after {lay.origin} depend on the sizes")
    return make(c.out, out, lay.origin, lay.dense)


@rule("view", "sized_view", "unflatten")
def _view(c: Ctx) -> Layout:
    return _view_like(c, c.out)


@rule("reshape", "sized_reshape", "flatten")
def _reshape(c: Ctx) -> Layout:
    """reshape is a view when computeStride succeeds and a contiguous copy otherwise."""
    shape, lay = c.inp()
    if c.op.name == "flatten":
        r = max(len(shape), 1)
        if len(shape) and norm_dim(c.p["start_dim"], r, "flatten") == norm_dim(c.p["end_dim"], r, "flatten"):
            return lay  # torch.flatten returns the input itself
    if plain(lay):
        return CONTIGUOUS
    if lay.contiguous:  # torch calls it contiguous: a view
        return _view_like(c, c.out)
    st = strides_of(shape, lay)
    if st is None:
        return unknown(lay.origin, f"whether {c.op.name} copies the tensor after {lay.origin} is not known")
    from arts.ops.layout_iter import unpiece

    viewable = unpiece(view_condition(shape, st, _exact(c.out, shape)))
    ok = c.known(viewable)
    if ok is False:
        return CONTIGUOUS
    if ok is None:
        # a view keeps the order of the elements in memory, so it is contiguous (torch's sense)
        # exactly where its input is: when that holds wherever the view is taken, the result is
        # contiguous either way (a row-major copy, or a view whose size-1 strides are the input's)
        from arts.ops.layout_iter import is_contiguous

        seen = view_strides(shape, st, c.out, lambda q: c.known(sympy.Implies(viewable, q)))
        if seen is not None:  # the view's strides where it is taken, row-major elsewhere: exact
            return make(c.out, [cases(viewable, v, r) for v, r in zip(seen, contiguous_strides(c.out))],
                        lay.origin, dense=lay.dense)
        if c.known(sympy.Implies(viewable, is_contiguous(shape, st))) is True:
            return Layout("contiguous", dense=True, origin=lay.origin, loose=True)
        return unknown(lay.origin, f"whether {c.op.name} copies the tensor after {lay.origin} depends on the sizes")
    return _view_like(c, c.out)


def same_shape(old: Sequence[Any], new: Sequence[Any]) -> bool:
    """Whether ``view(new)`` keeps every size (``x.view(B, -1, H, W)`` of a ``B, C, H, W`` tensor).
    Such a view succeeds whatever the strides: each of computeStride's chunks of old dimensions is
    covered by the very same new dimensions (with positive sizes; a chunk starts after a size other
    than 1, where the greedy walk over size-1 new dimensions stops too).  Its strides may still
    differ from the input's at size-1 dimensions."""
    return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new))


def _exact(new: tuple, old: tuple) -> tuple:
    """The new shape with an inferred ``floor(numel/P)`` entry as the exact quotient ``numel/P``
    (they agree wherever the element-count condition holds, which the view condition assumes)."""
    numel = _prod(list(old))
    new = tuple(_s(e) for e in new)
    out = []
    for i, e in enumerate(new):
        if isinstance(e, sympy.floor):
            rest = _prod([x for j, x in enumerate(new) if j != i])
            if _same(e.args[0] * rest, numel):
                e = e.args[0]
        out.append(e)
    return tuple(out)


@conditions("view", "sized_view")
def _view_stride_condition(c: Ctx) -> list:
    shape, lay = c.inp()
    if lay.contiguous or same_shape(shape, _exact(c.out, shape)):
        return []
    st = strides_of(shape, lay)
    if st is None:
        raise Unsupported(f"cannot decide whether the sizes fit the input's memory layout "
                          f"({lay.reason}); use .reshape(...) or .contiguous() first")
    from arts.ops.layout_iter import rebuilt, unpiece

    # Piecewise strides: each piece under its condition, then minimised again (the pieces'
    # comparisons rebuilt, so ``Eq(64*w, w)`` is false and ``Ne(w, 1)`` the negation of ``Eq(w, 1)``)
    f = tidy(rebuilt(unpiece(view_condition(shape, st, _exact(c.out, shape)))))
    new = [str(x) for x in c.op.params.get("shape", c.out)]
    msg = Text("view: shape [{}] is not compatible with the memory layout its input has after {}; "
               "use .reshape(...) or call .contiguous() first", ", ".join(new), lay.origin)
    k = cond(f, msg, code="view-stride", expected="a shape expressible over the input's strides",
             found=Text("sizes ({}) with strides ({})", ", ".join(map(str, shape)), ", ".join(map(str, st))))
    return [k] if k is not None else []


@conditions("window_attention")
def _windows_need_contiguous(c: Ctx) -> list:
    """torchvision's Swin attention views its padded input into windows; the pad keeps a
    non-contiguous input's strides (a zero pad clones them), so only a contiguous input is modelled."""
    if c.layouts[0].contiguous:
        return []
    raise Unsupported(f"shifted_window_attention of a non-contiguous input (after {c.layouts[0].origin}): "
                      f"whether its window view is legal is not modelled")


def _writes_in_place(op: Op, mode: str) -> bool:
    """Whether ``op`` writes into its first input (a dropout only when it runs: in training)."""
    p = op.params
    fn = p.get("fn")
    if not (p.get("inplace") or (isinstance(fn, str) and fn.endswith("_") and op.name == "pointwise")):
        return False
    return mode == "train" or not (op.name.startswith("dropout") or op.name == "alpha_dropout")


@conditions("relu", "relu6", "leaky_relu", "elu", "selu", "silu", "hardswish", "hardsigmoid", "hardtanh", "mish",
            "pointwise", "broadcast_op", "dropout", "alpha_dropout", "dropout1d", "dropout2d", "dropout3d",
            applies=_writes_in_place, density_only=True)
def _no_overlap_in_place(c: Ctx) -> list:
    """In-place ops refuse a tensor with internal overlap (a size > 1 with stride 0: expanded)."""
    if not _writes_in_place(c.op, c.mode):
        return []
    shape, lay = c.inp()
    if lay.contiguous or lay.dense:  # dense: no two elements share memory
        return []
    st = strides_of(shape, lay)
    if st is None:
        raise Unsupported(f"{c.op.name} in place: cannot tell whether its input overlaps itself ({lay.reason})")
    parts = [sympy.Or(_eq(s, 1), _ne(t, 0)) for s, t in zip(shape, st)]
    k = cond(sympy.And(*parts), Text("{} in place: its input has elements that share memory (after {}); "
                                     "call .clone() or .contiguous() first", c.op.name, lay.origin),
             code="view-stride", expected="no expanded dimension", found=Text("strides ({})", ", ".join(map(str, st))))
    return [k] if k is not None else []


def has_layout_conditions(op: Op, mode: str = "eval") -> bool:
    """Whether ``op`` puts conditions on its inputs' layouts (a view does, an in-place op does)."""
    if op.name not in CONDITIONS:
        return False
    applies = APPLIES.get(op.name)
    return applies is None or applies(op, mode)


def conditions_read_density_only(op: Op) -> bool:
    """Whether ``op``'s layout conditions read only whether its inputs are dense."""
    return op.name in DENSITY_ONLY


def layout_conditions(op: Op, node: str, shapes: Sequence[Shape], layouts: Sequence[Layout], out: Shape,
                      mode: str = "eval") -> list[Condition]:
    """The layout conditions ``op`` puts on its inputs (view's stride condition).  May raise
    :class:`Unsupported` (the layout is unknown) or StaticShapeError (fails for every size).
    An input whose layout depends on the backend (``alts``) is asked each way: the conditions must
    be the same formulas (a view legal on one device and not on another is not decided)."""
    f = CONDITIONS.get(op.name)
    if f is None or not layouts or all(lay.contiguous for lay in layouts):
        return []
    combos = _combos(layouts)
    if combos is None:
        return f(Ctx(op, node, list(shapes), list(layouts), tuple(out), mode=mode))
    origin = next(lay.origin for lay in layouts if lay.alts)
    if not combos:
        raise Unsupported(f"too many backend-dependent layouts meet here (after {origin})")
    got: list = []
    for ls in combos:
        try:
            got.append({k.formula: k for k in f(Ctx(op, node, list(shapes), list(ls), tuple(out), mode=mode))})
        except StaticShapeError as e:  # fails for every size with this layout: the same with each?
            got.append(e)
    if all(isinstance(g, StaticShapeError) for g in got):
        raise got[0]
    if any(isinstance(g, StaticShapeError) for g in got) or any(set(g) != set(got[0]) for g in got):
        raise Unsupported(f"whether the sizes fit the input's memory layout depends on the backend "
                          f"(torch lays out the result of {origin} differently on CPU, CUDA and meta); "
                          f"use .reshape(...) or .contiguous() first")
    return list(got[0].values())


#: Most combinations of backend-dependent input layouts an op is run on, and most layouts a
#: backend-dependent result may be one of (more: unknown).
MAX_COMBOS, MAX_ALTS = 16, 4


def _combos(layouts: Sequence[Layout]) -> list[tuple] | None:
    """Every combination of the inputs' backend-dependent layouts (None: no input has any).  The
    inputs' choices are taken as independent: a superset of what one run can give."""
    if not any(lay.alts for lay in layouts):
        return None
    out: list[tuple] = [()]
    for lay in layouts:
        out = [c + (a,) for c in out for a in (lay.alts or (lay,))]
        if len(out) > MAX_COMBOS:
            return []
    return out


def either(alts: Sequence[Layout], origin: str | None, reason: str) -> Layout:
    """A result that is one of ``alts`` (known layouts), which one depending on the backend: the
    layout itself where they are all the same, else an ``unknown`` carrying them."""
    flat = [b for a in alts for b in (a.alts or (a,))]
    uniq: list[Layout] = []
    for a in flat:
        if a.kind == "unknown":
            return a
        if all((a.kind, a.strides, a.loose) != (b.kind, b.strides, b.loose) for b in uniq):
            uniq.append(a)
    if len(uniq) == 1:
        return uniq[0]
    if len(uniq) > MAX_ALTS:
        return Layout("unknown", dense=all(a.contiguous or a.dense for a in uniq), origin=origin, reason=reason)
    return Layout("unknown", dense=all(a.contiguous or a.dense for a in uniq), origin=origin, reason=reason,
                  alts=tuple(uniq))


def output_layout(op: Op, node: str, shapes: Sequence[Shape], layouts: Sequence[Layout], out: Shape,
                  known: Known = static_known, mode: str = "eval") -> Layout:
    """The layout of ``op``'s result (contiguous when every input is and the op has no rule).  An
    input whose layout depends on the backend (``alts``) is run each way (:func:`either`)."""
    f = RULES.get(op.name) or _default
    if not layouts:
        return CONTIGUOUS
    combos = _combos(layouts)
    if combos is None:
        return f(Ctx(op, node, list(shapes), list(layouts), tuple(out), known, mode))
    here = f"{node} ({op})"
    if not combos:
        return unknown(here, "too many backend-dependent layouts meet here")
    got = [f(Ctx(op, node, list(shapes), list(ls), tuple(out), known, mode)) for ls in combos]
    origin = next(lay.origin for lay in layouts if lay.alts)
    return either(got, origin, f"the layout after {origin} depends on the backend (CPU, CUDA or meta)")


def allocates_fresh(op: Op) -> bool:
    """Whether ``op``'s result is a tensor torch allocates anew, never a view of an input (convs,
    pools, norms, products, attention, cat, pad, ops without a layout rule): dense, whatever its
    strides, so an in-place op on it needs them not (they cost solver questions)."""
    if op.params.get("inplace") or op.name == "unsupported":
        return False
    f = RULES.get(op.name)
    return (f is None or f is _fresh_contiguous or f.__module__ == "arts.ops.layout_fresh"
            or op.name in ("cat", "pad", "sized_pad"))


# the rules of TensorIterator's ops, cat and pad (they register themselves in RULES)
from arts.ops import layout_iter as _layout_iter  # noqa: E402,F401
from arts.ops import layout_fresh as _layout_fresh  # noqa: E402,F401  (registers the rules of fresh results)
