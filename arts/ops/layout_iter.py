"""Output strides of torch's elementwise ops, ``cat`` and constant ``pad``, computed symbolically.

torch does not give a fresh result of a non-contiguous input contiguous strides.  What it gives is
an algorithm over the inputs' sizes and strides; this module runs that algorithm with every
comparison (``stride < stride``, ``size == 1``, ...) decided over the live domain:

* **TensorIterator** (every unary, binary and broadcasting elementwise op,
  ``TensorIteratorBase::build``): when all operands have one shape it first tries a fast setup --
  all contiguous: a contiguous result; all channels-last-contiguous (4-d): channels-last strides;
  all non-overlapping and dense with identical strides: those strides.  Otherwise each operand's
  strides are taken with 0 on broadcast dimensions (``compute_strides``), the dimensions are
  sorted by an insertion sort whose comparison asks the operands in order and may be ambiguous
  (``reorder_dimensions``), and the result has contiguous strides in that order
  (``compatible_stride``).  A Python number operand (``x * 2``) is a 0-d tensor: the shapes
  differ, so no fast setup.  On CPU an operand of another dtype is first converted with
  ``.to()``, which keeps a dense operand's strides and gives another ``infer_dense_strides``;
  arts does not track dtypes, so both are computed and must agree.
* **clone / empty_like** (``preserve_format``): a non-overlapping-and-dense input's strides,
  otherwise ``infer_dense_strides`` (TensorIterator's sort for that one tensor).
* **cat**: contiguous unless every input's ``suggest_memory_format`` is channels-last (4-d) or
  channels-last-3d (5-d), which then is the result's (``cat_compute_output_memory_format``).
* **constant pad** (``constant_pad_nd``): with no positive amount a clone of the narrowed input;
  otherwise a fresh tensor in the input's ``suggest_memory_format``.

**Undecided comparisons.**  A comparison the domain does not settle is forked on (at most
:data:`FORKS` times per op): the algorithm runs on both sides, under that assumption, and the
result stands only when every branch gives exactly the same strides.  So do facts arts cannot
see (whether an operand is dense when its layout does not say, which operands a dtype
conversion copies): both possibilities are run and must agree.  Otherwise the layout is
``unknown``, with the reason.  Strides of size-1 dimensions are compared exactly too: they steer
TensorIterator's sort (``(1, 1, K) + (M, 1, 1)`` depends on them).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import sympy

from arts.ops import layout as L
from arts.ops.layout import CONTIGUOUS, Ctx, Layout, make, rule, strides_of, unknown

#: Most forks (undecided comparisons and unseen facts) one op's layout may take.  A size that is a
#: product (a token count ``d*h*w``) is compared with 1 factor by factor: 16 covers three factors.
FORKS = 16


#: Name prefix of the boolean symbols that stand for facts arts does not see (forked on).
FACT = "fact:"


def fact(name: str) -> sympy.Symbol:
    return sympy.Symbol(FACT + name)


class _Undecided(Exception):
    def __init__(self, c: Any) -> None:
        self.c = c


class _GiveUp(Exception):
    pass


class Ask:
    """Decides one comparison: by sympy, by the forced answer of a fork taken, or over the live
    domain (under the forks' assumptions); raises :class:`_Undecided` otherwise."""

    def __init__(self, known: L.Known, forced: dict, memo: dict) -> None:
        self.known, self.forced, self.memo = known, forced, memo

    def __call__(self, c: Any) -> bool:
        c = rebuilt(unpiece(sympy.sympify(c)))  # comparisons rebuilt and in canonical form
        if isinstance(c, sympy.Not) and isinstance(c.args[0], (sympy.And, sympy.Or)):
            c = sympy.to_nnf(c)  # a negated compound is forked on its parts too
        if self.forced:
            c = canonical(_substitute(c, _pinned(self.forced)))
        if c is sympy.true or c is sympy.false:
            return bool(c)
        if c in self.forced:
            return self.forced[c]
        neg = sympy.Not(c)
        if neg in self.forced:
            return not self.forced[neg]
        if isinstance(c, sympy.Symbol) and c.name.startswith(FACT):  # a fact arts cannot see: forked on
            raise _Undecided(c)
        v = self.memo.get(c, "?")
        if v == "?":
            v = self.memo[c] = self.known(c)
        if v is None and self.forced:
            hyp = sympy.And(*[k if b else sympy.Not(k) for k, b in self.forced.items()
                              if not (isinstance(k, sympy.Symbol) and k.name.startswith(FACT))])
            if hyp is not sympy.true:
                if self.known(sympy.Implies(hyp, c)):
                    v = True
                elif self.known(sympy.Implies(hyp, sympy.Not(c))):
                    v = False
        if v is None and isinstance(c, (sympy.And, sympy.Or)):
            # a compound is forked on one of its parts: simpler assumptions for later questions
            dominant = isinstance(c, sympy.Or)
            parts = []
            for a in c.args:
                try:
                    b = self(a)
                except _Undecided as u:
                    parts.append(u)
                    continue
                if b is dominant:
                    return dominant
            if not parts:
                return not dominant
            raise parts[0]
        if v is None:
            raise _Undecided(c)
        return bool(v)


def _canon_rel(r: sympy.Basic) -> sympy.Basic:
    """One spelling per comparison of a size with a number: ``1 < X`` is ``Ne(X, 1)`` (sizes are
    at least 1), ``Eq(X + 1, 1)`` is ``Eq(X, 0)``."""
    if isinstance(r, (sympy.StrictLessThan, sympy.StrictGreaterThan)):
        small, big = (r.lhs, r.rhs) if isinstance(r, sympy.StrictLessThan) else (r.rhs, r.lhs)
        if small == 1 and _is_size(big):
            r = sympy.Ne(big, 1)
        else:
            return r
    if isinstance(r, (sympy.Eq, sympy.Ne)):
        a, b = r.lhs, r.rhs
        if a.is_Number and not b.is_Number:
            a, b = b, a
        if b.is_Number and isinstance(a, sympy.Add):
            const, rest = a.as_coeff_Add()
            if const != 0:
                a, b = rest, b - const
        return type(r)(a, b)
    return r


def canonical(c: sympy.Basic) -> sympy.Basic:
    if c is sympy.true or c is sympy.false:
        return c
    if isinstance(c, sympy.core.relational.Relational):
        return _canon_rel(c)
    rels = c.atoms(sympy.core.relational.Relational)
    return c.xreplace({r: _canon_rel(r) for r in rels}) if rels else c


def _is_size(e: sympy.Basic) -> bool:
    return not e.is_Number and L._monomial(e) is not None


def _pinned(forced: dict) -> dict:
    """Sizes the forks taken pin to a number: ``Eq(X, 1)`` taken, ``1 < X`` refused (a size
    is at least 1), and ``e + k`` pinned pins ``e`` too."""
    out: dict = {}
    for k, b in forced.items():
        val = None
        if isinstance(k, sympy.Eq) and b or isinstance(k, sympy.Ne) and not b:
            x, n = (k.lhs, k.rhs) if k.rhs.is_Number else (k.rhs, k.lhs)
            if n.is_Number:
                val = (x, n)
        elif isinstance(k, sympy.StrictLessThan) and not b and k.lhs == 1 and _is_size(k.rhs):
            val = (k.rhs, sympy.Integer(1))
        elif isinstance(k, sympy.StrictGreaterThan) and not b and k.rhs == 1 and _is_size(k.lhs):
            val = (k.lhs, sympy.Integer(1))
        if val is None:
            continue
        x, n = val
        out[x] = n
        if isinstance(x, sympy.Add):
            const, rest = x.as_coeff_Add()
            if const != 0:
                out[rest] = n - const
    return out


def _relation(r: sympy.Basic) -> sympy.Basic:
    """A comparison rebuilt with this module's constructors (common sizes cancelled)."""
    a, b = r.lhs, r.rhs
    if isinstance(r, sympy.Eq):
        return L._eq(a, b)
    if isinstance(r, sympy.Ne):
        return L._ne(a, b)
    if isinstance(r, sympy.StrictLessThan):
        return _lt(a, b)
    if isinstance(r, sympy.StrictGreaterThan):
        return _lt(b, a)
    if isinstance(r, sympy.LessThan):
        return sympy.Not(_lt(b, a))
    if isinstance(r, sympy.GreaterThan):
        return sympy.Not(_lt(a, b))
    return r


def _substitute(c: sympy.Basic, pins: dict) -> sympy.Basic:
    """``c`` with the pinned sizes replaced, its comparisons put back in canonical form."""
    if not pins:
        return c
    reps = {}
    for rel in c.atoms(sympy.core.relational.Relational):
        r = rel.xreplace(pins)
        if r == rel:
            continue
        if isinstance(r, sympy.core.relational.Relational):
            r = _relation(r)
        reps[rel] = r
    return c.xreplace(reps) if reps else c


def rebuilt(c: sympy.Basic) -> sympy.Basic:
    """``c`` with its comparisons rebuilt by this module's constructors: a case of a Piecewise
    stride (``64 < 64*w``) is then spelt as the forks spell it (``Ne(w, 1)``), and one comparison
    one way (``Eq(w + 1, 1)`` is ``Eq(w, 0)``)."""
    if not isinstance(c, sympy.Basic) or c in (sympy.true, sympy.false):
        return c
    rels = c.atoms(sympy.core.relational.Relational)
    return c.xreplace({r: canonical(_relation(r)) for r in rels}) if rels else c


def unpiece(c: sympy.Basic) -> sympy.Basic:
    """A condition on ``Piecewise`` strides (an expand's) as one on the sizes: each comparison
    with a Piecewise becomes the disjunction of its pieces, each under its condition."""
    if not c.has(sympy.Piecewise):
        return c
    from arts.solver.piecewise import cases as piece_cases

    reps = {}
    for rel in c.atoms(sympy.core.relational.Relational):
        if not rel.has(sympy.Piecewise):
            continue
        # arts's own case split first: sympy's piecewise_fold took 22 s on one of DaViT's window
        # views (nested Piecewise strides of a pad of slices), the split 0.1 s
        split = piece_cases(rel, UNPIECE_CASES, depth=16)
        if split is not None and all(isinstance(v, sympy.logic.boolalg.Boolean) and not v.has(sympy.ITE)
                                      for v, _ in split):
            reps[rel] = sympy.Or(*(sympy.And(cond, v) for v, cond in split))
            continue
        f = sympy.piecewise_fold(rel)
        if not isinstance(f, sympy.Piecewise):
            reps[rel] = f
            continue
        cases: list[Any] = []
        before: list[Any] = []
        for value, cond in f.args:
            if not isinstance(value, sympy.logic.boolalg.Boolean) or value.has(sympy.Piecewise):
                break
            cases.append(sympy.And(*before, cond, value))
            before.append(sympy.Not(cond))
        else:
            reps[rel] = sympy.Or(*cases)
    return c.xreplace(reps) if reps else c


#: Most cases :func:`unpiece` splits one comparison into with :func:`arts.solver.piecewise.cases`
#: (beyond it, sympy's piecewise_fold).
UNPIECE_CASES = 256


def explore(run: Callable[[Ask], Any], known: L.Known, forks: int = FORKS) -> Any:
    """``run``'s strides over every branch of its undecided comparisons, or None.

    Branches on a fact arts does not see must give exactly the same strides; branches on a
    condition on the sizes may differ (a size-1 dimension's stride often does), and the stride is
    then the ``Piecewise`` of the two by that condition (exact, and at most 2**forks pieces).
    ``run`` returns a tuple of strides, or None when it cannot tell."""
    memo: dict = {}
    taken = [0]

    def go(forced: dict) -> Any:
        try:
            return run(Ask(known, forced, memo))
        except _Undecided as u:
            if taken[0] >= forks:
                raise _GiveUp() from None
            taken[0] += 1
            yes, no = go({**forced, u.c: True}), go({**forced, u.c: False})
            if yes is None or no is None:
                return None
            if _identical(yes, no):
                return yes
            if isinstance(u.c, sympy.Symbol) and u.c.name.startswith(FACT):
                return None
            return tuple(L.cases(u.c, a, b) for a, b in zip(yes, no))

    try:
        return go({})
    except _GiveUp:
        return None


def _identical(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(L._same(x, y) for x, y in zip(a, b))


# ---- comparisons --------------------------------------------------------------------------------

def _zero(s: Any) -> sympy.Basic:
    s = sympy.sympify(s)
    if s == 0:
        return sympy.true
    if L._monomial(s) is not None:  # a product of sizes: positive
        return sympy.false
    return sympy.Eq(s, 0)


def _lt(a: Any, b: Any) -> sympy.Basic:
    """``a < b`` with the sizes common to both products cancelled."""
    a, b = sympy.sympify(a), sympy.sympify(b)
    if a == b:
        return sympy.false
    ma, mb = L._monomial(a), L._monomial(b)
    if ma is not None and mb is not None:
        (ca, fa), (cb, fb) = ma, mb
        lhs = ca * sympy.Mul(*[k ** (v - fb.get(k, 0)) for k, v in fa.items() if v - fb.get(k, 0) > 0])
        rhs = cb * sympy.Mul(*[k ** (v - fa.get(k, 0)) for k, v in fb.items() if v - fa.get(k, 0) > 0])
        a, b = lhs, rhs
        if a.is_Number and a < cb:  # c < c' * (a product of sizes >= 1)
            return sympy.true
        if a.is_Number and a == cb and not b.is_Number:  # c < c * (a product): some factor is not 1
            return sympy.Or(*[L._ne(k, 1) for k in sorted(sympy.Mul.make_args(b / cb), key=sympy.default_sort_key)
                              if not k.is_Number])
        if b.is_Number and b <= ca:  # c * (a product >= 1) < c' <= c is false
            return sympy.false
    return sympy.Lt(a, b)


def _gt_size(a: Any, b: Any) -> sympy.Basic:
    return _lt(b, a)


def is_contiguous(shape: Sequence[Any], strides: Sequence[Any]) -> sympy.Basic:
    """torch's ``is_contiguous()``: row-major strides over the dimensions of size other than 1."""
    parts = [sympy.Or(L._eq(s, 1), L._eq(t, L._prod(list(shape)[d + 1:])))
             for d, (s, t) in enumerate(zip(shape, strides))]
    return sympy.And(*parts)


_CL_ORDER = {4: (1, 3, 2, 0), 5: (1, 4, 3, 2, 0)}


def is_channels_last_contiguous(shape: Sequence[Any], strides: Sequence[Any]) -> sympy.Basic:
    """``is_contiguous(memory_format=torch.channels_last)`` of a 4-d tensor."""
    if len(shape) != 4:
        return sympy.false
    parts: list[Any] = []
    seen: list[Any] = []
    for d in _CL_ORDER[4]:
        parts.append(sympy.Or(L._eq(shape[d], 1), L._eq(strides[d], L._prod(seen))))
        seen.append(shape[d])
    return sympy.And(*parts)


def channels_last_strides(shape: Sequence[Any]) -> tuple:
    """``get_channels_last_strides_2d`` / ``_3d``: channel stride 1, then the last dimension
    backwards to the batch."""
    out: list[Any] = [None] * len(shape)
    acc: sympy.Expr = sympy.Integer(1)
    for d in _CL_ORDER[len(shape)]:
        out[d] = acc
        acc = acc * sympy.sympify(shape[d])
    return tuple(out)


def channels_last_like(shape: Sequence[Any], strides: Sequence[Any], ask: Ask) -> bool:
    """``is_channels_last_strides_2d_s4`` / ``_3d_s5`` (what ``suggest_memory_format`` reads)."""
    if ask(_zero(strides[1])):
        return False
    low: sympy.Expr = sympy.Integer(0)
    for d in _CL_ORDER[len(shape)]:
        if ask(_lt(strides[d], low)):
            return False
        if d == 0 and ask(L._eq(low, strides[1])):
            return False
        low = sympy.sympify(strides[d]) * sympy.sympify(shape[d])  # times 1 when the size is 1
    return True


def suggest_memory_format(shape: Sequence[Any], strides: Sequence[Any] | None, ask: Ask) -> str | None:
    """``Tensor.suggest_memory_format()``: "contiguous", "channels_last" or "channels_last_3d"
    (None: the strides are not known and the rank allows channels-last)."""
    if len(shape) not in (4, 5):
        return "contiguous"
    if strides is None:
        return None
    if channels_last_like(shape, strides, ask):
        return "channels_last" if len(shape) == 4 else "channels_last_3d"
    return "contiguous"


def format_strides(shape: Sequence[Any], fmt: str) -> tuple:
    return L.contiguous_strides(tuple(shape)) if fmt == "contiguous" else channels_last_strides(shape)


# ---- TensorIterator -----------------------------------------------------------------------------

def _perm(shape: Sequence[Any], operands: Sequence[Sequence[Any]], ask: Ask, zero_ambiguous: bool) -> list[int]:
    """``reorder_dimensions``' insertion sort (fastest dimension first) over the operands'
    strides (``infer_dense_strides`` is the same sort for one tensor)."""
    n = len(shape)
    perm = list(range(n - 1, -1, -1))

    def should_swap(d0: int, d1: int) -> int:
        for st in operands:
            s0, s1 = st[d0], st[d1]
            if ask(sympy.Or(_zero(s0), _zero(s1))):
                if zero_ambiguous:
                    return 0
                continue
            if ask(_lt(s0, s1)):
                return -1
            if ask(_lt(s1, s0)):
                return 1
            if ask(_gt_size(shape[d0], shape[d1])):
                return 1
        return 0

    for i in range(1, n):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            cmp = should_swap(perm[d0], perm[d1])
            if cmp > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif cmp < 0:
                break
    return perm


def _compatible(shape: Sequence[Any], perm: Sequence[int]) -> tuple:
    out: list[Any] = [None] * len(shape)
    acc: sympy.Expr = sympy.Integer(1)
    for d in perm:
        out[d] = acc
        acc = acc * sympy.sympify(shape[d])
    return tuple(out)


def infer_dense_strides(shape: Sequence[Any], strides: Sequence[Any], ask: Ask) -> tuple:
    if not shape:
        return ()
    return _compatible(shape, _perm(shape, [strides], ask, zero_ambiguous=True))


class Operand:
    """A tensor operand: its shape, its strides, and whether it is known to be non-overlapping
    and dense (True), known not to be (False), or not known (None)."""

    def __init__(self, shape: Sequence[Any], strides: Sequence[Any], dense: bool | None, tag: int) -> None:
        self.shape = tuple(sympy.sympify(s) for s in shape)
        self.strides = tuple(sympy.sympify(t) for t in strides)
        self.dense = dense
        self.tag = tag


def operand(shape: Sequence[Any], lay: Layout, tag: int) -> Operand | None:
    st = strides_of(tuple(shape), lay)
    if st is None:
        return None
    dense = True if (lay.contiguous or lay.dense) else None
    return Operand(shape, st, dense, tag)


def _dense(op: Operand, ask: Ask) -> bool:
    """Whether the operand is non-overlapping and dense: known, refuted by an expanded
    dimension, or forked on."""
    if op.dense is not None:
        return op.dense
    overlap = sympy.Or(*[sympy.And(L._ne(s, 1), _zero(t)) for s, t in zip(op.shape, op.strides)])
    if ask(overlap):
        return False
    return ask(fact(f"dense{op.tag}"))


def _converted(op: Operand, ask: Ask) -> Operand:
    """The operand after CPU's dtype promotion may have copied it with ``.to()`` (a fact arts
    cannot see: forked on): a dense one keeps its strides, another gets ``infer_dense_strides``."""
    if not op.shape or _dense(op, ask):
        return op
    if not ask(fact(f"converted{op.tag}")):
        return op
    return Operand(op.shape, infer_dense_strides(op.shape, op.strides, ask), True, op.tag)


def iterator_strides(out: Sequence[Any], operands: Sequence[Operand], ask: Ask, scalar: bool = False) -> tuple:
    """The strides TensorIterator gives a fresh result of shape ``out`` (``scalar``: one more
    operand is a Python number, a 0-d tensor)."""
    out = tuple(sympy.sympify(s) for s in out)
    n = len(out)
    ops = [_converted(op, ask) for op in operands]
    if n == 0:
        return ()
    same = not scalar and all(len(op.shape) == n for op in ops) and ask(
        sympy.And(*[L._eq(a, b) for op in ops for a, b in zip(op.shape, out)]))
    if same:
        if all(ask(is_contiguous(op.shape, op.strides)) for op in ops):
            return L.contiguous_strides(out)
        if n == 4 and all(ask(is_channels_last_contiguous(op.shape, op.strides)) for op in ops):
            return channels_last_strides(out)
        last = ops[-1]
        if all(_dense(op, ask) for op in ops) and all(
                ask(sympy.And(*[L._eq(a, b) for a, b in zip(op.strides, last.strides)])) for op in ops[:-1]):
            return last.strides
    stride_bytes = []
    for op in ops:
        off = n - len(op.shape)
        sb: list[Any] = [sympy.Integer(0)] * off
        for i, (s, t) in enumerate(zip(op.shape, op.strides)):
            o = out[off + i]
            if s == o:
                sb.append(t)
            else:
                sb.append(sympy.Integer(0) if ask(sympy.And(L._eq(s, 1), L._ne(o, 1))) else t)
        stride_bytes.append(sb)
    return _compatible(out, _perm(out, stride_bytes, ask, zero_ambiguous=False))


def clone_strides(op: Operand, ask: Ask) -> tuple:
    """``clone()`` / ``empty_like`` in ``preserve_format``."""
    return op.strides if _dense(op, ask) else infer_dense_strides(op.shape, op.strides, ask)


# ---- rules --------------------------------------------------------------------------------------

def _result(c: Ctx, strides: Any, what: str) -> Layout:
    """A fresh result (dense, strides known or not)."""
    if strides is None:
        return Layout("unknown", dense=True, origin=c.here,
                      reason=f"the strides torch gives {what} depend on the sizes (or on facts arts does not "
                             f"see, such as dtypes)")
    return make(c.out, strides, c.here, dense=True)


def fresh_dense(op: Any) -> bool:
    """Whether ``op``'s result is known dense without computing its strides: a fresh
    TensorIterator result or copy (allocated as a permutation of a contiguous tensor)."""
    p = op.params
    if p.get("inplace"):
        return False
    if op.name in ("add", "sub", "mul", "div"):
        return True
    if op.name == "broadcast_op":
        return p.get("fn") in BINARY
    fn = op.name if op.name != "pointwise" else p.get("fn")
    return fn in UNARY or fn in WITH_SCALAR or fn in CLONES


def _operands(c: Ctx, idx: Sequence[int]) -> list[Operand] | None:
    ops = []
    for i in idx:
        op = operand(tuple(c.shapes[i]), c.layouts[i], i)
        if op is None:
            return None
        ops.append(op)
    return ops


def elementwise(c: Ctx, idx: Sequence[int], scalar: bool | None) -> Layout:
    """A fresh TensorIterator result of the inputs ``idx`` (``scalar``: with a Python number
    operand; None: perhaps, both are run)."""
    ops = _operands(c, idx)
    if ops is None:
        bad = next(c.layouts[i] for i in idx if strides_of(tuple(c.shapes[i]), c.layouts[i]) is None)
        return Layout("unknown", dense=True, origin=bad.origin or c.here,
                      reason=f"the layout {c.op.name} gives an input of unknown layout is not modelled ({bad.reason})")

    fn = c.p.get("fn") if c.op.name == "pointwise" else None

    def run(ask: Ask) -> tuple:
        sc = scalar if scalar is not None else ask(fact("scalar"))
        if fn == "rtruediv":
            # ``2 / x`` is ``x.reciprocal() * 2``: a unary iterator, then one with the number
            first = iterator_strides(c.out, ops, ask, scalar=False)
            return iterator_strides(c.out, [Operand(c.out, first, True, 9)], ask, scalar=True)
        return iterator_strides(c.out, ops, ask, scalar=sc)
    return _result(c, explore(run, c.known), f"{c.op.name}'s result")


#: Functions of one tensor that torch computes with a unary TensorIterator (no other operand).
UNARY = frozenset({
    "exp", "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "abs", "neg", "negative", "sin", "cos",
    "tan", "erf", "sign", "floor", "ceil", "round", "trunc", "reciprocal", "square", "clamp", "clip", "clamp_min",
    "clamp_max", "logit", "tanhshrink", "hardshrink", "softshrink", "celu", "nan_to_num", "logical_not",
    "bitwise_not", "isnan", "isfinite", "sigmoid", "tanh", "relu", "hardtanh", "leaky_relu", "elu", "invert",
    "relu6", "selu", "gelu", "silu", "hardswish", "hardsigmoid", "mish", "softplus",
    "pow"})  # x ** k: a unary iterator (pow.Tensor_Scalar); 2 ** x is "rpow", not modelled
#: Functions of a tensor and a Python number: a binary TensorIterator with a 0-d operand.
WITH_SCALAR = frozenset({
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "truediv", "floor_divide",
    "floordiv", "remainder", "mod", "fmod", "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
    "logical_xor", "bitwise_and", "bitwise_or", "and_", "or_", "xor", "atan2", "hypot", "rsub",
    "rtruediv"})
#: Either (a unary or a binary iterator with a number: both are run).
EITHER: frozenset = frozenset()
#: Fresh copies in ``preserve_format``.
CLONES = frozenset({"clone", "zeros_like", "ones_like", "rand_like", "randn_like", "empty_like", "full_like"})


def pointwise(c: Ctx) -> Layout | None:
    """The layout of a ``pointwise`` (or activation) result computed by TensorIterator or a
    clone, or None when the function is not one of those."""
    fn = c.op.name if c.op.name != "pointwise" else c.p.get("fn")
    if fn in CLONES:
        ops = _operands(c, [0])
        if ops is None:
            return None
        op = ops[0]
        return _result(c, explore(lambda ask: clone_strides(op, ask), c.known), f"{fn}'s copy")
    if fn in UNARY:
        return elementwise(c, [0], False)
    if fn in WITH_SCALAR:
        return elementwise(c, [0], True)
    if fn in EITHER:
        return elementwise(c, [0], None)
    return None


#: broadcast_op functions computed as one binary TensorIterator of the two inputs.
BINARY = frozenset({
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "floor_divide", "remainder",
    "fmod", "pow", "maximum", "minimum", "fmax", "fmin", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
    "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "atan2", "hypot", "float_power"})


@rule("add", "sub", "mul", "div", "broadcast_op")
def _binary(c: Ctx) -> Layout:
    """A broadcasting binary op: one TensorIterator over both inputs; in place, the first input
    itself.  addcmul/addcdiv (one three-input iterator, split in two nodes here) and ONNX's
    chained ``where`` keep the default."""
    if c.p.get("inplace"):
        return c.layouts[0]
    fn = c.op.name if c.op.name != "broadcast_op" else c.p.get("fn")
    if fn not in BINARY:
        return L._default(c)
    return elementwise(c, [0, 1], False)


@rule("cat")
def _cat(c: Ctx) -> Layout:
    """cat: contiguous unless every input suggests the same channels-last format."""
    r = len(c.out)
    if r not in (4, 5):
        return CONTIGUOUS
    sts = [strides_of(tuple(s), lay) for s, lay in zip(c.shapes, c.layouts)]
    if any(st is None for st in sts):
        return Layout("unknown", dense=True, origin=c.here,
                      reason="cat of an input of unknown layout: whether torch makes it channels-last is not known")

    def fmt(ask: Ask) -> str:
        got = None
        for s, st in zip(c.shapes, sts):
            f = suggest_memory_format(tuple(s), st, ask)
            if f == "contiguous":
                return f
            if got is not None and got != f:
                return "contiguous"
            got = f
        return got or "contiguous"
    strides = explore(lambda ask: format_strides(c.out, fmt(ask)), c.known)
    if strides is None:
        return unknown(c.here, "whether cat's result is channels-last depends on the sizes")
    return make(c.out, strides, c.here, dense=True)


def _pad_amounts(c: Ctx) -> list:
    if c.op.name == "pad":
        return [sympy.sympify(a) for a in c.p["pad"]]
    from arts.ops.frontend_ops import resolve

    return [resolve(a, c.shapes, c.op.name) for a in c.p["pad"]]


@rule("pad", "sized_pad")
def _pad(c: Ctx) -> Layout:
    """Constant ``F.pad`` (``constant_pad_nd``): with no positive amount, a clone of the input
    narrowed by the negative ones; otherwise a fresh tensor in the input's suggested memory
    format.  Other modes keep the default."""
    if c.p.get("mode", "constant") != "constant":
        return L._default(c)
    shape, lay = c.inp()
    amounts = _pad_amounts(c)
    st = strides_of(tuple(shape), lay)
    none_positive = sympy.And(*[sympy.Le(a, 0) for a in amounts])
    narrowed = sympy.Or(*[sympy.Lt(a, 0) for a in amounts])

    def run(ask: Ask) -> Any:
        if ask(none_positive):
            if st is None:
                return None
            dense = True if (lay.contiguous or lay.dense) and not ask(narrowed) else None
            return clone_strides(Operand(c.out, st, dense, 0), ask)
        fmt = suggest_memory_format(shape, st, ask)
        return None if fmt is None else format_strides(c.out, fmt)
    return _result(c, explore(run, c.known), "pad's result")
