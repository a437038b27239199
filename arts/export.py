"""``dynamic_shapes``: the accepted domain of a model, stated in torch.export's terms.

``torch.export.export(m, args, dynamic_shapes=...)`` wants, for every dynamic input size, a
``Dim`` with a range, or a *derived* dim ``a * Dim(...) + b``; it refuses the spec ("Constraints
violated") when some size in the range would take the traced program down another path.  arts
knows the exact accepted domain, so it can write that spec:

* a symbol whose accepted sizes are an interval ``lo ≤ H ≤ hi`` -> ``Dim("H", min=lo, max=hi)``;
* a congruence ``H ≡ r (mod m)`` from ``H ≥ lo`` on -> ``m * Dim("H_m", min=k) + r``;
* an equality between sizes (``W == H``, ``W == 2*H + 1``) -> the same ``Dim`` (or one derived
  from it);
* a fixed size -> static (left out of the spec).

Where the domain is not expressible in those terms, the spec covers the largest sound sub-domain
arts can justify, and a note says what was dropped:

* a finite union or exception points of one size -> one interval or one residue class (the
  unbounded one when there is one, else the widest);
* a formula tying several sizes together (``16*floor(H/4)*floor(W/4) == 1024``) -> those sizes
  fixed at the smallest accepted point;
* torch.export specializes sizes 0 and 1: at sizes where an intermediate dimension would be 1
  (``max_pool2d`` of ``H = 2``), export emits a guard its own range analysis cannot discharge and
  refuses the whole range.  Those sizes are dropped (a note names them); the input symbols
  themselves keep ``min=1`` (export handles an input size of 1 when its example is not 1);
* a ``ceil_mode`` pool tests whether its last window starts in the padding, a floor relation
  export cannot decide over a range: a size whose tests have one answer at every size becomes
  ``Dim.DYNAMIC(min, max)`` (export keeps the test as a runtime check, which passes); otherwise
  the size keeps one residue class on which the test is affine (see :func:`_branch_classes`).

The example sizes (:attr:`DynamicShapes.example`) lie in the sub-domain, with every ``Dim`` at 2
or more and distinct sizes for distinct ``Dim``s, so export does not specialize on them.

>>> import torch.nn as nn
>>> from arts.export import dynamic_shapes
>>> spec = dynamic_shapes(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.MaxPool2d(2)), "N,3,H,W")
>>> spec.domain
'N ≥ 1 and H ≥ 4 and W ≥ 4'
"""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Sequence

import sympy

from arts.errors import InputError, Unsupported
from arts.solver.domain import Domain
from arts.solver.intset import IntSet
from arts.solver.quasiaffine import period_of, truth_set

__all__ = ["DimPlan", "DynamicShapes", "dynamic_shapes", "emit_torch_export", "plan_from_report"]


@dataclass(frozen=True)
class DimPlan:
    """One root ``Dim``: ``name`` ranging over ``min..max`` (``max`` None: unbounded); ``dynamic``:
    given as ``Dim.DYNAMIC(min, max)`` (export then keeps guards it cannot decide as runtime checks)."""

    name: str
    min: int
    max: int | None
    dynamic: bool = False

    def render(self) -> str:
        rng = f"min={self.min}" + (f", max={self.max}" if self.max is not None else "")
        return f"Dim.DYNAMIC({rng})" if self.dynamic else f"Dim({self.name!r}, {rng})"

    def contains(self, k: int) -> bool:
        return k >= self.min and (self.max is None or k <= self.max)


@dataclass(frozen=True)
class SizePlan:
    """One input size: static ``value``, or ``mul * root + add``."""

    value: int | None = None
    root: str | None = None
    mul: int = 1
    add: int = 0

    def render(self) -> str:
        if self.root is None:
            return str(self.value)
        text = self.root if self.mul == 1 else f"{self.mul} * {self.root}"
        if self.add:
            text += f" + {self.add}" if self.add > 0 else f" - {-self.add}"
        return text


class _PlainDictType(type):
    """The metaclass of :class:`DynamicShapes`: the class compares (and hashes) equal to ``dict``.

    torch.export walks ``dynamic_shapes`` with ``torch.utils._pytree``, which looks node types up
    by ``type(x)`` in its registries (``type(x) in {dict, OrderedDict, defaultdict}``) and refuses
    any other type, dict subclasses included.  A spec that carries notes must still be usable
    directly, so this class is found under ``dict`` there; ``isinstance`` and ``is`` are untouched.
    """

    def __eq__(cls, other: object) -> bool:
        return other is dict or type.__eq__(cls, other)

    def __ne__(cls, other: object) -> bool:
        return not cls.__eq__(other)

    def __hash__(cls) -> int:
        return hash(dict)


@dataclass(eq=False, repr=False)
class DynamicShapes(dict, metaclass=_PlainDictType):  # type: ignore[type-arg]
    """A value for ``torch.export.export(..., dynamic_shapes=...)`` (a dict: input name ->
    ``{axis: Dim}`` or None), carrying what arts knows about it.

    ``notes``: what was dropped from the accepted domain and why; ``domain``: the sub-domain the
    spec covers, printed; ``accepted``: the model's accepted domain, printed; ``example``: sizes
    (symbol -> int) in the sub-domain to export with; ``certified``: False when part of the model
    could not be translated (the spec then covers the translated part only).
    """

    inputs: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    roots: dict[str, DimPlan] = field(default_factory=dict)
    sizes: dict[str, list[SizePlan]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    domain: str = ""
    accepted: str = ""
    example: dict[str, int] = field(default_factory=dict)
    certified: bool = True
    target: str = ""

    def __post_init__(self) -> None:
        dict.__init__(self, self._torch_value())

    def __repr__(self) -> str:
        return f"DynamicShapes({dict.__repr__(self)}, domain={self.domain!r}, notes={self.notes!r})"

    def _torch_value(self) -> dict[str, Any]:
        if not self.sizes:
            return {}
        from torch.export import Dim

        dims = {r.name: (Dim.DYNAMIC if r.dynamic else partial(Dim, r.name))(
                    min=r.min, **({"max": r.max} if r.max is not None else {})) for r in self.roots.values()}
        out: dict[str, Any] = {}
        for name, plans in self.sizes.items():
            axes: dict[int, Any] = {}
            for i, p in enumerate(plans):
                if p.root is None:
                    continue
                d = dims[p.root]
                axes[i] = d if p.mul == 1 and p.add == 0 else p.mul * d + p.add
            out[name] = axes or None
        return out

    # ---- queries ---------------------------------------------------------------------------
    def example_shapes(self) -> dict[str, tuple[int, ...]]:
        """The concrete input shapes at :attr:`example`."""
        return {n: self.concrete(n, self.example) for n in self.inputs}

    def concrete(self, name: str, sizes: dict[str, int]) -> tuple[int, ...]:
        """The concrete shape of input ``name`` at ``sizes`` (symbol name -> int)."""
        out = []
        for e in self.inputs[name]:
            e = sympy.sympify(e)
            out.append(int(e.xreplace({s: sympy.Integer(sizes[s.name]) for s in e.free_symbols})))
        return tuple(out)

    def example_inputs(self, dtype: Any = None) -> tuple[Any, ...]:
        """Random tensors at :attr:`example`, one per input, to pass to ``torch.export.export``."""
        import torch

        return tuple(torch.randn(*s, dtype=dtype or torch.float32) for s in self.example_shapes().values())

    def admits(self, shapes: Sequence[Sequence[int]]) -> bool:
        """Whether concrete input ``shapes`` (one per input) lie in the spec's sub-domain."""
        if len(shapes) != len(self.sizes):
            return False
        ks: dict[str, int] = {}
        for plans, shape in zip(self.sizes.values(), shapes):
            if len(plans) != len(shape):
                return False
            for p, v in zip(plans, shape):
                if p.root is None:
                    if v != p.value:
                        return False
                    continue
                k, rem = divmod(v - p.add, p.mul)
                if rem or not self.roots[p.root].contains(k) or ks.setdefault(p.root, k) != k:
                    return False
        return True

    # ---- rendering -------------------------------------------------------------------------
    def source(self) -> str:
        """The spec as Python source (``from torch.export import Dim`` ... ``dynamic_shapes = {...}``)."""
        lines = ["from torch.export import Dim", ""]
        for r in self.roots.values():
            lines.append(f"{r.name} = {r.render()}")
        items = []
        for name, plans in self.sizes.items():
            axes = [f"{i}: {p.render()}" for i, p in enumerate(plans) if p.root is not None]
            items.append(f"    {name!r}: " + ("{" + ", ".join(axes) + "}" if axes else "None") + ",")
        lines.append("dynamic_shapes = {")
        lines.extend(items)
        lines.append("}")
        shapes = ", ".join(f"{n}={tuple(s)}" for n, s in self.example_shapes().items())
        lines.append(f"# example input shapes: {shapes}")
        lines.append(f"# covers: {self.domain}")
        if self.accepted != self.domain:
            lines.append(f"# accepted by the model: {self.accepted}")
        for n in self.notes:
            lines.append(f"# note: {n}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "certified": self.certified,
            "accepted": self.accepted,
            "domain": self.domain,
            "dims": {r.name: {"min": r.min, "max": r.max, **({"hint": "DYNAMIC"} if r.dynamic else {})}
                     for r in self.roots.values()},
            "inputs": {
                name: {str(i): ({"dim": p.root, "mul": p.mul, "add": p.add} if p.root is not None
                                else {"static": p.value}) for i, p in enumerate(plans)}
                for name, plans in self.sizes.items()},
            "example": {n: list(s) for n, s in self.example_shapes().items()},
            "notes": list(self.notes),
            "source": self.source(),
        }


# ---- planning ---------------------------------------------------------------------------------

def _affine(e: sympy.Expr) -> tuple[sympy.Symbol, int, int] | None:
    """``e == a*t + b`` with integers a >= 1, b: (t, a, b)."""
    free = e.free_symbols
    if len(free) != 1:
        return None
    (t,) = free
    poly = sympy.Poly(e, t) if e.is_polynomial(t) else None
    if poly is None or poly.degree() != 1:
        return None
    a, b = poly.all_coeffs()
    if not (a.is_Integer and b.is_Integer) or a < 1:
        return None
    return t, int(a), int(b)


def _export_floor(sub: Domain, shapes: dict[str, tuple], inputs: set[str]) -> tuple[Domain, list[str]]:
    """Drop the sizes where an intermediate dimension would be 1 (torch.export specializes 0/1)."""
    before = {s: sub.set_of(s) for s in sub.free_symbols()}
    conds = []
    for node, shape in shapes.items():
        if node in inputs:
            continue
        for e in shape:
            e = sub.substitute(sympy.sympify(e))
            free = e.free_symbols
            if len(free) != 1 or isinstance(e, sympy.Symbol):
                continue
            (s,) = free
            try:
                ones = truth_set(sympy.Eq(e, 1), s) & sub.set_of(s)
            except Unsupported:
                continue
            if ones.is_empty or ones == sub.set_of(s):
                continue  # never 1, or 1 on the whole domain (a constant to export)
            conds.append(sympy.Ne(e, 1))
    if not conds:
        return sub, []
    new = sub.restrict(*conds)
    if new.empty:
        return sub, []
    notes = []
    for s, st in before.items():
        dropped = st - new.set_of(s)
        if not dropped.is_empty:
            notes.append(f"dropped {dropped.describe(s.name)}: an intermediate size is 1 there, and torch.export "
                         f"specializes sizes 0 and 1")
    return new, notes


def _affine_period(exprs: list[sympy.Basic], x: sympy.Symbol, start: int) -> int:
    """The least ``m`` such that every expression of ``exprs`` is affine in ``x`` on each residue
    class mod ``m`` (``e(x + m) - e(x)`` constant); each is quasi-affine (:func:`period_of`)."""
    from arts.solver.evaluate import compile_expr

    L = 1
    for e in exprs:
        L = math.lcm(L, period_of(e, x)[0])
    fns = [compile_expr(e) for e in exprs]
    name = x.name
    values = [[f({name: start + i}) for i in range(2 * L)] for f in fns]
    for m in sorted(d for d in range(1, L + 1) if L % d == 0):
        # e(x + m) - e(x) is periodic with period L, so one period of x decides it
        if all(len({v[i + m] - v[i] for i in range(L)}) == 1 for v in values):
            return m
    return L  # pragma: no cover - L itself always qualifies


def _branch_classes(sub: Domain, branches: Sequence[tuple[str, Sequence[tuple[Any, Any, bool]]]],
                    inputs: dict[str, tuple]) -> tuple[Domain, list[str], set[sympy.Symbol]]:
    """Make the ``ceil_mode`` pools' branch something torch.export accepts, per input size.

    torch computes a ceil-mode pool's output as ``o = ceil((I + 2p - d(k-1) - 1) / s) + 1``, less
    one when the last window would start in the right padding: it tests ``(o - 1)*s >= I + p``.
    Tracing that test with a dynamic ``I`` gives torch.export a guard such as
    ``2*((H - 4)//2) < H - 2`` (``I = H - 2``, k = 3, s = 2): a floor relation that export's range
    analysis cannot decide over a range, so with a ``Dim`` it refuses the whole spec.

    * Where the test has one answer at every size (``p - d(k-1) + s - 2`` below 0 or at least
      ``s - 1``: the last window always fits, as with no padding and ``k >= s``), the size is
      returned in the third value: it becomes ``Dim.DYNAMIC(min, max)``, with which export keeps
      the test as a runtime check, and that check passes at every size.  Only for a size that one
      input axis has alone, with no residue class (a derived dim cannot be a ``Dim.DYNAMIC``).
    * Otherwise the size keeps one residue class ``H = m*K + r`` on which the pools' input and output
      sizes are affine: there the test is an affine comparison in ``K``, and export decides it.

    ``branches``: (pool node, [(input size, output size, whether the test is constant) per pooled
    axis]).  Returns the restricted domain, a note per size, and the sizes to give as hints.
    """
    by_symbol: dict[sympy.Symbol, tuple[list[sympy.Basic], list[str], list[bool]]] = {}
    for node, axes in branches:
        for I, o, constant in axes:
            for e in (I, o):
                e = sub.substitute(sympy.sympify(e))
                free = e.free_symbols
                if len(free) != 1:
                    continue  # a constant (nothing to decide), or sizes tied together (left as they are)
                (x,) = free
                es, nodes, consts = by_symbol.setdefault(x, ([], [], []))
                es.append(e)
                consts.append(constant)
                if node not in nodes:
                    nodes.append(node)
    uses: dict[sympy.Symbol, int] = {}
    for shape in inputs.values():
        for e in shape:
            for t in sympy.sympify(e).free_symbols:
                uses[t] = uses.get(t, 0) + 1
    targets = {t for e in sub.subst.values() for t in e.free_symbols}
    conds, notes, chosen = [], [], []
    hints: set[sympy.Symbol] = set()
    for x, (exprs, nodes, consts) in sorted(by_symbol.items(), key=lambda kv: kv[0].name):
        st = sub.set_of(x)
        if st.is_empty:
            continue
        where = ", ".join(nodes[:3]) + (", ..." if len(nodes) > 3 else "")
        if all(consts) and st.period == 1 and uses.get(x) == 1 and x not in targets and x not in sub.subst:
            hints.add(x)
            notes.append(f"{x} is a Dim.DYNAMIC: torch's ceil_mode pooling ({where}) tests whether its last window "
                         f"starts in the padding, with the same answer at every size, but torch.export cannot "
                         f"decide that floor relation over a range and would refuse a Dim; with Dim.DYNAMIC it "
                         f"keeps the test as a runtime check, which passes at every size of the spec")
            continue
        try:
            m = _affine_period(exprs, x, max(st.min() or 1, 1))
        except Unsupported:
            continue
        if m == 1:
            continue
        best: tuple[Any, ...] | None = None
        for r in range(m):
            piece = st & IntSet.congruent(r, m)
            if piece.is_empty:
                continue
            size = len(piece.take(10 ** 6)) if piece.is_finite else math.inf
            # the most sizes; then the multiples of m (224, 256, 512, ...); then the smallest first size
            key = (size, r == 0, -(piece.min() or 0))
            if best is None or key > best[0]:
                best = (key, r)
        if best is None:
            continue
        r = best[1]
        conds.append(sympy.Eq(sympy.Mod(x - r, m), 0))
        chosen.append((x, r, m, where))
    if not conds:
        return sub, notes, hints
    new = sub.restrict(*conds)
    if new.empty:  # pragma: no cover - each class was chosen inside the domain
        return sub, notes, hints
    for x, r, m, where in chosen:
        dropped = sub.set_of(x) - new.set_of(x)
        if dropped.is_empty:
            continue
        kept = "the multiples of " + str(m) if r == 0 else f"{x} ≡ {r} (mod {m})"
        notes.append(f"dropped {dropped.describe(x.name)}: torch's ceil_mode pooling ({where}) tests whether its "
                     f"last window starts inside the input, a floor relation in {x} that torch.export cannot "
                     f"decide over a range; it is affine on each residue class mod {m}, and the spec keeps {kept}")
    return new, notes, hints


def _choose(st: IntSet, s: str) -> tuple[str, int, int, int, int | None]:
    """The largest piece of ``st`` export can state: (kind, mul, add, kmin, kmax)."""
    if st.residues:
        p = st.period
        best = None
        for r in sorted(st.residues):
            m = next(x for x in range(st.start, st.start + p) if x % p == r)
            if best is None or m < best:
                best = m
        assert best is not None
        if p == 1:
            return "dim", 1, 0, best, None
        r = best % p
        kmin = (best - r) // p
        if kmin >= 1:
            return "dim", p, r, kmin, None
        return "dim", p, r - p, 1, None  # size = p*K + (r - p), K >= 1: first size is r
    widest = max(st.head, key=lambda iv: (iv[1] - iv[0], iv[0]))
    return "dim", 1, 0, widest[0], widest[1]


def _piece(kind_mul: tuple[str, int, int, int, int | None]) -> IntSet:
    _, mul, add, kmin, kmax = kind_mul
    lo = mul * kmin + add
    if kmax is None:
        return IntSet.make(lo, (), mul, {add}) if mul > 1 else IntSet.at_least(lo)
    hi = mul * kmax + add
    return IntSet.between(lo, hi) & (IntSet.congruent(add, mul) if mul > 1 else IntSet.everything())


def _describe_piece(choice: tuple[str, int, int, int, int | None], name: str) -> str:
    """A piece in words: ``8 ≤ H ≤ 1032 and H ≡ 0 (mod 4)`` rather than every member."""
    _, mul, add, kmin, kmax = choice
    if kmax is None or mul == 1 or kmin == kmax:
        return _piece(choice).describe(name)
    return f"{mul * kmin + add} ≤ {name} ≤ {mul * kmax + add} and {name} ≡ {add % mul} (mod {mul})"


def _nondecreasing(e: sympy.Basic, corner: dict[str, int]) -> bool:
    """Whether ``e`` is evidently nondecreasing in every size at or above ``corner`` (symbol name ->
    smallest size): sums of such terms, positive multiples, floors and ceilings of them, and
    products and powers of such factors that are nonnegative at the corner (so everywhere above)."""
    from arts.solver.evaluate import compile_expr

    if not e.free_symbols:
        return True
    if isinstance(e, sympy.Symbol):
        return True
    if isinstance(e, sympy.Add):
        return all(_nondecreasing(a, corner) for a in e.args)
    if isinstance(e, (sympy.floor, sympy.ceiling)):
        return _nondecreasing(e.args[0], corner)
    if isinstance(e, sympy.Pow):
        base, n = e.args
        factors = [base] if n.is_Integer and n > 0 else None
    elif isinstance(e, sympy.Mul):
        coeff, rest = e.as_coeff_Mul()
        factors = list(sympy.Mul.make_args(rest)) if coeff.is_Rational and coeff > 0 else None
    else:
        return False
    if factors is None:
        return False
    for f in factors:
        if not _nondecreasing(f, corner):
            return False
        try:
            if compile_expr(f)(corner) < 0:
                return False
        except (KeyError, ZeroDivisionError):
            return False
    return True


def _upward_closed(c: sympy.Basic, corner: dict[sympy.Symbol, int]) -> bool:
    """Whether the formula ``c`` (``a >= b``, ``a > b``, ``a <= b``, ``a < b``) holds at ``corner`` and
    at every larger size: it holds there, and ``a - b`` (``b - a``) is nondecreasing in every size."""
    from arts.solver.evaluate import compile_expr

    if not isinstance(c, (sympy.GreaterThan, sympy.StrictGreaterThan, sympy.LessThan, sympy.StrictLessThan)):
        return False
    if not c.free_symbols <= set(corner):
        return False
    diff = c.lhs - c.rhs if isinstance(c, (sympy.GreaterThan, sympy.StrictGreaterThan)) else c.rhs - c.lhs
    at = {t.name: v for t, v in corner.items()}
    try:
        return bool(compile_expr(c)(at)) and _nondecreasing(diff, at)
    except (KeyError, ZeroDivisionError):
        return False


def _root_name(s: str, mul: int, taken: set[str]) -> str:
    base = s if mul == 1 else f"{s}_{mul}"
    name, i = base, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def _resolve_piecewise(c: sympy.Basic, sets: dict[sympy.Symbol, IntSet]) -> sympy.Basic:
    """``c`` with every ``Piecewise`` whose conditions are decided on ``sets`` replaced by its piece
    (broadcasting's ``size == 1`` branches, once sizes of 1 are excluded)."""
    for _ in range(8):
        changed = False
        for pw in sorted(c.atoms(sympy.Piecewise), key=sympy.count_ops):
            pieces = list(pw.args)
            while pieces:
                value, cond = pieces[0]
                if cond is sympy.true:
                    break
                free = cond.free_symbols
                if len(free) != 1:
                    break
                (x,) = free
                try:
                    ts = truth_set(cond, x)
                except Unsupported:
                    break
                st = sets.get(x, IntSet.everything())
                if (ts & st).is_empty:
                    pieces = pieces[1:]
                elif st.issubset(ts):
                    pieces = [(value, sympy.true)]
                else:
                    break
            if pieces and pieces[0][1] is sympy.true:
                c = c.xreplace({pw: pieces[0][0]})
                changed = True
        if not changed:
            return c
    return c


def _narrow(sub: Domain) -> tuple[dict[sympy.Symbol, IntSet], list[sympy.Basic]]:
    """Per-symbol sets and the residual formulas left once decided Piecewise branches are gone."""
    sets = {x: sub.set_of(x) for x in sub.free_symbols()}
    residual = list(sub.residual)
    for _ in range(4):
        keep: list[sympy.Basic] = []
        changed = False
        for c in residual:
            c2 = _resolve_piecewise(c, sets)
            if c2 is sympy.true:
                changed = True
                continue
            free = c2.free_symbols
            if len(free) == 1:
                (x,) = free
                try:
                    sets[x] = sets[x] & truth_set(c2, x)
                    changed = True
                    continue
                except Unsupported:
                    pass
            keep.append(c2)
        residual = keep
        if not changed:
            break
    return sets, residual


#: Points a verified box (sizes tied by a formula) may hold, and steps it may grow per size.
BOX_POINTS, BOX_STEPS = 4096, 256


def _box(tied: list[sympy.Symbol], pieces: dict[sympy.Symbol, tuple[str, int, int, int, int | None]],
         residual: list[sympy.Basic], subst: dict[sympy.Symbol, sympy.Expr],
         hint: dict[str, int] | None) -> dict[sympy.Symbol, tuple[int, int]] | None:
    """A box of root values (kmin, kmax) per tied symbol on which every residual formula holds,
    each point checked by evaluation; None if no start point is found."""
    import itertools

    from arts.solver.evaluate import compile_expr

    checks = [compile_expr(c) for c in residual]

    def size(x: sympy.Symbol, k: int) -> int:
        _, mul, add, _, _ = pieces[x]
        return mul * k + add

    def holds(ks: dict[sympy.Symbol, int]) -> bool:
        point = {x.name: size(x, k) for x, k in ks.items()}
        for e, f in subst.items():
            try:
                point[e.name] = int(compile_expr(f)(point))
            except KeyError:
                pass
        try:
            return all(bool(f(point)) for f in checks)
        except (ZeroDivisionError, KeyError):
            return False

    def ok_range(x: sympy.Symbol, k: int) -> bool:
        kmax = pieces[x][4]
        return kmax is None or k <= kmax

    cols = [[k for k in range(pieces[x][3], pieces[x][3] + 12) if ok_range(x, k)] for x in tied]
    combos = sorted(itertools.product(*cols), key=lambda t: (sum(t), t))
    if hint is not None:  # the domain's smallest point, when it lies in the pieces
        ks_hint = []
        for x in tied:
            _, mul, add, kmin, _ = pieces[x]
            k, rem = divmod(hint[x.name] - add, mul)
            ks_hint.append(k if not rem and k >= kmin and ok_range(x, k) else None)
        if all(k is not None for k in ks_hint):
            combos.insert(0, tuple(ks_hint))  # type: ignore[arg-type]
    start = None
    for combo in combos:
        ks = dict(zip(tied, combo))
        if holds(ks):
            start = ks
            break
    if start is None:
        return None
    box = {x: (k, k) for x, k in start.items()}
    for x in tied:
        for _ in range(BOX_STEPS):
            lo, hi = box[x]
            if not ok_range(x, hi + 1):
                break
            others = [range(box[y][0], box[y][1] + 1) if y is not x else [hi + 1] for y in tied]
            total = 1
            for r in others:
                total *= len(r)
            n_box = total * (hi - lo + 2) // 1
            if n_box > BOX_POINTS:
                break
            if not all(holds(dict(zip(tied, pt))) for pt in itertools.product(*others)):
                break
            box[x] = (lo, hi + 1)
    return box


def plan_from_report(report: Any, inputs: dict[str, tuple], shapes: dict[str, tuple] | None = None,
                     branches: Sequence[tuple[str, Sequence[tuple[Any, Any, bool]]]] = ()) -> DynamicShapes:
    """Turn a check report (its accepted domain) into a :class:`DynamicShapes` for ``inputs``
    (forward's parameter names -> symbolic shapes).  ``branches``: the size expressions at
    ``ceil_mode`` pools (see :func:`_branch_classes`)."""
    from arts.solver.domain import _show

    if report.static_failure or report.accepted.empty:
        raise InputError("no input size is accepted, so there is nothing to export", report.target)
    notes: list[str] = []
    sub: Domain = report.accepted
    if report.unknown_nodes:
        notes.append(f"not certified: node(s) {', '.join(report.unknown_nodes)} could not be translated, so the "
                     f"spec covers the translated part only: a size in it may still fail in the rest of the model")
    sub, dropped = _export_floor(sub, shapes if shapes is not None else report.shapes, set(inputs))
    notes.extend(dropped)
    sub, dropped, hints = _branch_classes(sub, branches, inputs)
    notes.extend(dropped)
    sets, residual = _narrow(sub)
    if any(st.is_empty for st in sets.values()):
        raise InputError("no input size is accepted once sizes of 1 are excluded, so there is nothing to export",
                         report.target)
    used: list[sympy.Symbol] = []
    for shape in inputs.values():
        for e in shape:
            for t in sorted(sympy.sympify(e).free_symbols, key=lambda t: t.name):
                if t not in used:
                    used.append(t)
    free_used = [t for t in used if t not in sub.subst]
    # symbols a formula ties together get a verified box; a non-affine equality fixes its sizes
    tied = [t for t in free_used if any(t in c.free_symbols for c in residual)]
    fixed: set[sympy.Symbol] = set()
    for t, e in sub.subst.items():
        if _affine(e) is None:
            fixed |= {t} | e.free_symbols
    point = sub.min_point() if fixed else None
    if fixed and point is None:
        raise InputError(f"cannot find an accepted size for {', '.join(sorted(str(t) for t in fixed))}",
                         report.target)
    taken: set[str] = set()
    roots: dict[sympy.Symbol, tuple[DimPlan, int, int]] = {}  # symbol -> (root, mul, add)
    static: dict[sympy.Symbol, int] = {}
    pieces: dict[sympy.Symbol, tuple[str, int, int, int, int | None]] = {}
    for t in free_used:
        if t in fixed:
            assert point is not None
            static[t] = point[t.name]
            continue
        st = sets.get(t, IntSet.everything())
        choice = _choose(st, t.name)
        lost = st - _piece(choice)
        if not lost.is_empty:
            notes.append(f"dropped {lost.describe(t.name)}: torch.export states one interval or one residue "
                         f"class per size")
        pieces[t] = choice
    tied = [t for t in tied if t in pieces]
    if tied:  # formulas that hold at the pieces' smallest sizes and grow with every size need no box
        corner = {t: pieces[t][1] * pieces[t][3] + pieces[t][2] for t in pieces}
        residual = [c for c in residual if not _upward_closed(c, corner)]
        tied = [t for t in tied if any(t in c.free_symbols for c in residual)]
    if tied:
        formulas = "; ".join(_show(c) for c in residual)
        try:
            hint = sub.min_point()
        except Unsupported:
            hint = None
        box = _box(tied, pieces, residual, {e: f for e, f in sub.subst.items() if e not in fixed}, hint)
        names = ", ".join(str(t) for t in tied)
        if box is None:
            pt = sub.min_point()
            if pt is None:
                raise InputError(f"cannot find an accepted size for {names}", report.target)
            for t in tied:
                static[t] = pt[t.name]
                del pieces[t]
            shown = ", ".join(f"{t}={pt[t.name]}" for t in tied)
            notes.append(f"fixed {shown}: a formula ties {names} together ({formulas}), which torch.export "
                         f"cannot state")
        else:
            for t in tied:
                kind, mul, add, _, _ = pieces[t]
                pieces[t] = (kind, mul, add, box[t][0], box[t][1])
            covered = " and ".join(_describe_piece(pieces[t], t.name) for t in tied)
            notes.append(f"a formula ties {names} together ({formulas}), which torch.export cannot state: the spec "
                         f"covers the box {covered}, every point of which was checked")
    for t, (_, mul, add, kmin, kmax) in pieces.items():
        if kmax is not None and kmin == kmax:
            static[t] = mul * kmin + add
            continue
        roots[t] = (DimPlan(_root_name(t.name, mul, taken), kmin, kmax, dynamic=t in hints and mul == 1), mul, add)
    if fixed:
        shown = ", ".join(f"{t}={point[t.name]}" for t in sorted(fixed, key=lambda t: t.name) if point)
        notes.append(f"fixed {shown}: an equality that is not affine ties them, which torch.export cannot state")
    # eliminated symbols: derived from their target's root
    for t in used:
        if t not in sub.subst:
            continue
        if t in fixed:
            assert point is not None
            static[t] = point[t.name]
            continue
        aff = _affine(sub.subst[t])
        assert aff is not None
        u, a, b = aff
        if u in static:
            static[t] = a * static[u] + b
        elif u in roots:
            root, mul, add = roots[u]
            roots[t] = (root, a * mul, a * add + b)
        else:  # pragma: no cover - a target symbol always appears in some input shape
            raise InputError(f"{t} = {sub.subst[t]} names a size no input has", report.target)
    # example: every root at 2 or more, distinct sizes for distinct roots
    ks: dict[str, int] = {}
    seen_values: set[int] = set(static.values())
    for root, mul, add in roots.values():
        if root.name in ks:
            continue
        k = max(root.min, 2)
        while (mul * k + add) in seen_values and (root.max is None or k < root.max):
            k += 1
        if root.max is not None and k > root.max:
            k = root.max
        ks[root.name] = k
        seen_values.add(mul * k + add)
    example = {t.name: v for t, v in static.items()}
    for t, (root, mul, add) in roots.items():
        example[t.name] = mul * ks[root.name] + add
    sizes: dict[str, list[SizePlan]] = {}
    for name, shape in inputs.items():
        plans = []
        for e in shape:
            e = sympy.sympify(e)
            if e.is_Integer:
                plans.append(SizePlan(value=int(e)))
            elif isinstance(e, sympy.Symbol) and e in roots:
                root, mul, add = roots[e]
                plans.append(SizePlan(root=root.name, mul=mul, add=add))
            elif isinstance(e, sympy.Symbol) and e in static:
                plans.append(SizePlan(value=static[e]))
            else:
                raise InputError(f"input {name}: size {e} is not a symbol or an integer", report.target)
        sizes[name] = plans
    roots_by_name = {r.name: r for r, _, _ in roots.values()}
    covered = _describe_plan(roots, static)
    return DynamicShapes(inputs={k: tuple(v) for k, v in inputs.items()}, roots=roots_by_name, sizes=sizes,
                         notes=notes, domain=covered, accepted=report.domain, example=example,
                         certified=_certain(report), target=report.target)


def _certain(report: Any) -> bool:
    """Whether every size the report accepts surely runs: no untranslated node, nothing undecided;
    a report that is ``unknown`` only outside its captured region qualifies, since the accepted
    sizes lie inside the region, where the checked graph is the model."""
    if report.unknown_nodes:
        return False
    if report.status != "unknown":
        return True
    causes = {d.code for d in report.diagnostics if d.severity == "warning"}
    return bool(getattr(report, "region", ())) and causes <= {"captured-region"}


def _describe_plan(roots: dict[sympy.Symbol, tuple[DimPlan, int, int]], static: dict[sympy.Symbol, int]) -> str:
    parts = []
    first: dict[str, sympy.Symbol] = {}
    for t, (root, mul, add) in roots.items():
        if root.name in first:
            u = first[root.name]
            _, mu, au = roots[u]
            # t = mul*K + add, u = mu*K + au  ->  t = (mul/mu)*(u - au) + add
            expr = sympy.Rational(mul, mu) * (sympy.Symbol(u.name) - au) + add
            parts.append(f"{t} = {sympy.expand(expr)}")
            continue
        first[root.name] = t
        parts.append(_describe_piece(("dim", mul, add, root.min, root.max), t.name))
    for t, v in static.items():
        parts.append(f"{t} = {v}")
    return " and ".join(parts) if parts else "the example sizes only"


# ---- public entry points ------------------------------------------------------------------------

def _param_names(module: Any, n: int) -> list[str]:
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:n]
    return names if len(names) == n else [f"input{i + 1}" for i in range(n)]


def _ceil_pools(G: Any, shapes: dict[str, tuple]) -> list[tuple[str, list[tuple[Any, Any, bool]]]]:
    """(node, [(input size, output size, whether torch's last-window test has one answer) per
    pooled axis]) for every ceil-mode pool with known sizes (see :func:`_branch_classes`)."""
    out = []
    for n, d in G.nodes(data=True):
        p = d["op"].params if not d.get("input") else {}
        if not p.get("ceil_mode") or n not in shapes:
            continue
        args = d.get("args") or []
        ks = tuple(p.get("kernel_size") or ())
        if not args or args[0] not in shapes or not ks:
            continue
        k = len(ks)
        strides = tuple(p.get("stride") or ks)
        pads = tuple(p.get("padding") or (0,) * k)
        dil = tuple(p.get("dilation") or (1,) * k)
        axes = []
        for i, (I, o) in enumerate(zip(shapes[args[0]][-k:], shapes[n][-k:])):
            c = pads[i] - dil[i] * (ks[i] - 1) + strides[i] - 2  # as in arts.ops.pool.pool_output
            axes.append((I, o, c < 0 or c >= strides[i] - 1))
        out.append((n, axes))
    return out


def dynamic_shapes(module: Any, *input_shapes: Any, where: Any = None, target: str | None = None,
                   file: str | None = None, aliases: dict[str, str] | None = None,
                   allow_uncertified: bool = False) -> DynamicShapes:
    """The ``dynamic_shapes`` value for ``torch.export.export(module, args, dynamic_shapes=...)``.

    Checks ``module`` (as :func:`arts.check_module`; ``input_shapes``: one SHAPE per tensor input,
    none to guess from the first layer) and states the accepted domain with ``Dim``s; see the
    module docstring for what is dropped when the domain is not expressible.  Raises
    :class:`arts.InputError` when no input size is accepted, and when arts cannot certify the spec
    (part of the model untranslated or undecided: a size in it might still fail) unless
    ``allow_uncertified`` -- then the spec covers the translated part only and says so
    (``spec.certified`` is False).
    """
    from arts.frontends.regions import one_capture
    from arts.frontends.torch_fx import analyse

    with one_capture():  # one export is one way through the branches: the spec stays in one region
        report, G = analyse(module, *input_shapes, where=where, target=target, file=file, aliases=aliases)
    if not allow_uncertified and not _certain(report):
        why = (f"node(s) {', '.join(report.unknown_nodes[:3])} could not be translated" if report.unknown_nodes
               else "part of the check is undecided")
        raise InputError(f"no certified spec: {why}, so a size in the spec might still fail; pass "
                         f"allow_uncertified=True for the spec of the translated part", report.target)
    graph_inputs = G.graph["inputs"]
    names = _param_names(module, len(graph_inputs))
    inputs = dict(zip(names, graph_inputs.values()))
    spec = plan_from_report(report, inputs, report.shapes, _ceil_pools(G, report.shapes))
    if getattr(report, "region", ()):
        spec.notes.append("only sizes inside the captured region (where every branch forward takes on sizes goes "
                          "the traced way) are in the spec; arts cannot tell about the others")
    unseen = [n for n, d in G.nodes(data=True)
              if not d.get("input") and d["op"].params.get("ceil_mode") and n not in report.shapes]
    if unseen:
        spec.notes.append(f"not modelled: torch's ceil_mode pooling ({', '.join(unseen[:3])}) branches on the size, "
                          f"and no size is known there, so torch.export may still refuse this spec")
    return spec


def emit_torch_export(path: str, name: str | None = None, inputs: Sequence[str] | None = None,
                      where: Any = None, as_json: bool = False) -> tuple[str, Any, int]:
    """``arts check PATH[:NAME] --emit torch-export``: (text to print, JSON value, exit status).

    One spec per target of the model file; exit 0 when every spec is certified, 3 when part of a
    model could not be translated.
    """
    import os

    from arts.frontends.loader import _on_path, load_targets, located

    if not path.endswith(".py"):
        raise InputError("--emit torch-export needs a model file (.py)", path)
    if not os.path.exists(path):
        raise InputError("no such file", path)
    abspath = os.path.abspath(path)
    specs = []
    for t, module in load_targets(path, name):
        with _on_path(os.path.dirname(abspath)), located(path, t.name):
            spec = dynamic_shapes(module, *(inputs or []), where=where, target=f"{path}:{t.name}",
                                  file=abspath, aliases={abspath: path}, allow_uncertified=True)
        specs.append(spec)
    data = [s.to_json() for s in specs]
    text = "\n\n".join(f"# {s.target}\n{s.source()}" for s in specs)
    if as_json:
        text = json.dumps(data, indent=2, ensure_ascii=False)
    code = 0 if all(s.certified for s in specs) else 3
    return text, data, code
