"""Domains: exact sets of integer points that dimension symbols may take.

A domain is built from constraints (bounds, congruences, equalities, anything else) and keeps
them in three exact forms:

* ``subst`` -- equalities between symbols (``W == H``) become substitutions, ``W -> H``;
* ``sets`` -- every constraint on one symbol becomes an :class:`IntSet` (bounds, congruences and
  finite exceptions, exactly);
* ``residual`` -- constraints that tie several symbols together non-trivially (say
  ``16*floor(H/4)*floor(W/4) == 1024``) are kept as formulas and decided by bounded search.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence

import sympy

from arts.errors import InputError, Unsupported
from arts.solver.evaluate import compile_expr
from arts.solver.intset import IntSet
from arts.solver.ordered import ordered_product
from arts.solver.parse import parse_constraints
from arts.solver.piecewise import lift
from arts.solver.products import divisor_sets, split_atoms
from arts.solver.quasiaffine import truth_set

#: Points a bounded search may visit.
SEARCH_BUDGET = 40_000


def _sym_key(s: sympy.Symbol) -> str:
    return s.name


class Domain:
    """An exact set of assignments of positive integers to dimension symbols."""

    def __init__(self, constraints: Iterable[sympy.Basic] = (), symbols: Sequence[sympy.Symbol] = ()) -> None:
        self.constraints: tuple[sympy.Basic, ...] = tuple(
            c for c in (sympy.sympify(c) for c in constraints) if c is not sympy.true
        )
        seen: dict[sympy.Symbol, None] = {s: None for s in symbols}
        for c in self.constraints:
            for s in sorted(c.free_symbols, key=_sym_key):
                seen.setdefault(s, None)
        self.symbols: tuple[sympy.Symbol, ...] = tuple(seen)
        self.subst: dict[sympy.Symbol, sympy.Expr] = {}
        self.sets: dict[sympy.Symbol, IntSet] = {}
        self.residual: tuple[sympy.Basic, ...] = ()
        self.empty = False
        self._known: tuple[dict, dict] | None = None
        self._build()

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def parse(cls, text: "str | list[str] | None", symbols: Sequence[sympy.Symbol] = ()) -> "Domain":
        return cls(parse_constraints(text), symbols)

    def _build(self) -> None:
        rest: list[sympy.Basic] = []
        for c in self.constraints:
            for part in sympy.And.make_args(lift(expand_minmax(c))):
                # a window partition's product equation is one equation per symbol
                rest.extend(_split_parts(part))
        # equalities between symbols become substitutions
        pending: list[sympy.Basic] = []
        for c in rest:
            c = self.substitute(c)
            target = self._elimination(c)
            if target is None:
                pending.append(c)
                continue
            s, e = target
            self.subst = {k: v.xreplace({s: e}) for k, v in self.subst.items()}
            self.subst[s] = e
            pending.append(sympy.Ge(e, 1))  # the eliminated symbol is still a positive size
        residual: list[sympy.Basic] = []
        for c in pending:
            c = self.substitute(c)
            if c is sympy.true:
                continue
            if c is sympy.false:
                self.empty = True
                continue
            free = c.free_symbols
            if len(free) == 1:
                (s,) = free
                try:
                    self.sets[s] = self.sets.get(s, IntSet.everything()) & truth_set(c, s)
                    continue
                except Unsupported:
                    pass
            if c not in residual:
                residual.append(c)
                for x, st in _consequences(c):  # H*W == 16 bounds H and W: the search is finite
                    self.sets[x] = self.sets.get(x, IntSet.everything()) & st
        self.residual = tuple(residual)
        if any(st.is_empty for st in self.sets.values()):
            self.empty = True
        self._settle()

    @staticmethod
    def _elimination(c: sympy.Basic) -> tuple[sympy.Symbol, sympy.Expr] | None:
        if not isinstance(c, sympy.Eq):
            return None
        for a, b in ((c.lhs, c.rhs), (c.rhs, c.lhs)):
            if isinstance(a, sympy.Symbol) and b.free_symbols and a not in b.free_symbols:
                return a, b
        return None

    def restrict(self, *conds: sympy.Basic) -> "Domain":
        """This domain intersected with ``conds`` (incremental unless a new equality appears)."""
        parts = [q for c in conds for p in sympy.And.make_args(expand_minmax(sympy.sympify(c)))
                 for q in _split_parts(lift(self.substitute(p)))]
        if any(self._elimination(p) is not None for p in parts):
            new = Domain(self.constraints + tuple(conds), self.symbols)
            new._known = (dict(self.known[0]), {})  # proven on this domain: proven on every subset
            return new
        new = Domain.__new__(Domain)
        new._known = (dict(self.known[0]), {})
        new.constraints = self.constraints + tuple(c for c in conds if c is not sympy.true)
        syms = dict.fromkeys(self.symbols)
        for p in parts:
            for s in sorted(p.free_symbols, key=_sym_key):
                syms.setdefault(s, None)
        new.symbols = tuple(syms)
        new.subst = dict(self.subst)
        new.sets = dict(self.sets)
        new.empty = self.empty
        residual = list(self.residual)
        for c in parts:
            if c is sympy.true:
                continue
            if c is sympy.false:
                new.empty = True
                continue
            free = c.free_symbols
            if len(free) == 1:
                (s,) = free
                try:
                    new.sets[s] = new.sets.get(s, IntSet.everything()) & truth_set(c, s)
                    if new.sets[s].is_empty:
                        new.empty = True
                    continue
                except Unsupported:
                    pass
            if c not in residual:
                residual.append(c)
                for x, st in _consequences(c):
                    new.sets[x] = new.sets.get(x, IntSet.everything()) & st
                    if new.sets[x].is_empty:
                        new.empty = True
        new.residual = tuple(c for c in residual if c in self.residual or not _implied_by_sets(c, new))
        new._settle()
        return new

    @property
    def known(self) -> tuple[dict, dict]:
        """What :func:`arts.solver.decide.decide` has settled on this domain: ``({condition:
        proven verdict}, {(condition, symbols, budget): refuted verdict})``."""
        k = getattr(self, "_known", None)
        if k is None:
            k = self._known = ({}, {})
        return k

    def _implied(self, c: sympy.Basic) -> bool:
        """Whether the per-symbol sets alone already imply ``c`` (decided exactly, or False)."""
        from arts.solver.decide import decide

        bare = Domain.__new__(Domain)
        bare.constraints, bare.symbols, bare.subst = (), self.symbols, dict(self.subst)
        bare.sets, bare.residual, bare.empty = dict(self.sets), (), self.empty
        try:
            return decide(c, bare, list(self.symbols)).is_proven
        except Unsupported:
            return False

    def _settle(self) -> None:
        """Put pinned values (a symbol whose set is one number) into the residual constraints:
        those that become trivial are dropped, those left with one symbol become sets."""
        for _ in range(4):
            pinned = {s: sympy.Integer(st.head[0][0]) for s, st in self.sets.items()
                      if st.is_finite and len(st.head) == 1 and st.head[0][0] == st.head[0][1]}
            if not pinned or not self.residual:
                return
            changed = False
            keep: list[sympy.Basic] = []
            for c in self.residual:
                c2 = c.xreplace(pinned)
                if c2 == c:
                    keep.append(c)
                    continue
                changed = True
                if c2 is sympy.true:
                    continue
                if c2 is sympy.false:
                    self.empty = True
                    continue
                free = c2.free_symbols
                if len(free) == 1:
                    (s,) = free
                    try:
                        self.sets[s] = self.sets.get(s, IntSet.everything()) & truth_set(c2, s)
                        if self.sets[s].is_empty:
                            self.empty = True
                        continue
                    except Unsupported:
                        pass
                elif self._implied(c2):
                    continue
                keep.append(c2)
            self.residual = tuple(keep)
            if not changed:
                return

    def with_symbols(self, symbols: Iterable[sympy.Symbol]) -> "Domain":
        return Domain(self.constraints, tuple(self.symbols) + tuple(s for s in symbols if s not in self.symbols))

    # ---- queries ------------------------------------------------------------------------
    def substitute(self, e: sympy.Basic) -> sympy.Basic:
        if not self.subst:
            return e
        for _ in range(8):
            new = e.xreplace(self.subst)
            if new == e:
                break
            e = new
        return e

    def set_of(self, s: sympy.Symbol) -> IntSet:
        return self.sets.get(s, IntSet.everything())

    def contains(self, point: dict[str, int]) -> bool:
        """Whether the assignment (symbol name -> int) lies in this domain."""
        for s in self.symbols:
            v = point.get(s.name)
            if v is None or not isinstance(v, int) or v < 1:
                return False
        try:
            if len(self.constraints) <= 64:  # small: check every constraint as written
                return all(bool(compile_expr(c)(point)) for c in self.constraints)
            # a deep network's live domain has one constraint per node; its exact form (sets,
            # substitutions, residual) answers in time independent of the depth
            if self.empty:
                return False
            for sym, e in self.subst.items():
                if point.get(sym.name) != compile_expr(e)(point):
                    return False
            for sym, st in self.sets.items():
                if point.get(sym.name) not in st:
                    return False
            return all(bool(compile_expr(c)(point)) for c in self.residual)
        except KeyError as e:
            raise InputError(f"no size given for {e.args[0]}") from None

    def complete(self, partial: dict[str, int]) -> dict[str, int]:
        """Extend an assignment of the free symbols with the eliminated ones."""
        out = dict(partial)
        for s, e in self.subst.items():
            for f in sorted(e.free_symbols, key=lambda t: t.name):
                if f.name not in out:  # a free symbol the caller did not assign: its least size
                    st = self.sets.get(f)
                    least = st.min() if st is not None else None
                    out[f.name] = 1 if least is None else least
            out[s.name] = int(compile_expr(e)(out))
        return out

    def free_symbols(self) -> list[sympy.Symbol]:
        return [s for s in self.symbols if s not in self.subst]

    def points(self, symbols: Sequence[sympy.Symbol], budget: int = SEARCH_BUDGET) -> Iterator[dict[str, int]]:
        """Points of the sets of ``symbols`` in increasing order of their sum (bounded)."""
        return _points([self.set_of(s) for s in symbols], [s.name for s in symbols], budget)

    def min_point(self, symbols: Sequence[sympy.Symbol] | None = None) -> dict[str, int] | None:
        """The smallest point of the domain (every symbol assigned), or None if empty/unknown."""
        if self.empty:
            return None
        syms = self.free_symbols() if symbols is None else [s for s in symbols if s not in self.subst]
        if not self.residual:
            partial = {}
            for s in syms:
                m = self.set_of(s).min()
                if m is None:
                    return None
                partial[s.name] = m
            return self.complete(partial)
        # search only the symbols the residual constraints tie together; the others take their minimum
        tied = [s for s in syms if any(s in c.free_symbols for c in self.residual)]
        partial = {}
        for s in syms:
            if s not in tied:
                m = self.set_of(s).min()
                if m is None:
                    return None
                partial[s.name] = m
        checks = [compile_expr(c) for c in self.residual]
        for p in self.points(tied):
            full = self.complete({**partial, **p})
            try:
                if all(bool(f(full)) for f in checks):
                    return full
            except (ZeroDivisionError, KeyError):
                continue
        return None

    def describe(self) -> str:
        """Readable exact form, e.g. ``H ≥ 16 and H ≡ 0 (mod 16) and W = H``."""
        if self.empty:
            return "no input size"
        parts: list[str] = []
        for s in self.symbols:
            if s in self.subst:
                parts.append(f"{s} = {self.subst[s]}")
                continue
            st = self.set_of(s)
            if not st.is_everything:
                d = st.describe(s.name)
                parts.append(f"({d})" if " or " in d else d)
        for c in self.residual:
            parts.append(_show(c))
        return " and ".join(parts) if parts else "all sizes"

    def __repr__(self) -> str:
        return f"Domain({self.describe()})"


def one_size_set(c: sympy.Basic) -> str | None:
    """A comparison of one size through floors or remainders as the exact set it holds on
    (``2*floor((H - 1)/2) + 2 == H`` is ``H ≡ 0 (mod 2)``); None for any other condition."""
    if not (isinstance(c, sympy.core.relational.Relational) and len(c.free_symbols) == 1
            and c.atoms(sympy.floor, sympy.ceiling, sympy.Mod)):
        return None
    (s,) = c.free_symbols
    try:
        return truth_set(c, s).describe(s.name)
    except Exception:  # noqa: BLE001 - shown as written
        return None


def _show(c: sympy.Basic) -> str:
    from arts.solver.simplify import show_dim

    ops = {sympy.Eq: "==", sympy.Ne: "!=", sympy.Ge: "≥", sympy.Gt: ">", sympy.Le: "≤", sympy.Lt: "<"}
    one = one_size_set(c)
    if one is not None:
        return f"({one})" if " or " in one or " and " in one else one
    for kind, sign in ops.items():
        if isinstance(c, kind):
            return f"{show_dim(c.lhs)} {sign} {show_dim(c.rhs)}"
    if isinstance(c, (sympy.And, sympy.Or)):
        word = " and " if isinstance(c, sympy.And) else " or "
        return "(" + word.join(_show(a) for a in sorted(c.args, key=sympy.default_sort_key)) + ")"
    if isinstance(c, sympy.Not):
        return f"not {_show(c.args[0])}"
    if isinstance(c, sympy.ITE):  # sympy's if-then-else of conditions (from a Piecewise): its two cases
        test, then, other = c.args
        cases = [sympy.And(test, then), sympy.And(sympy.Not(test), other)]
        return _show(sympy.Or(*cases))
    return str(c)


def _implied_by_sets(c: sympy.Basic, dom: Domain) -> bool:
    """Whether the per-symbol sets of ``dom`` alone imply ``c`` class by class (then ``c`` adds
    nothing, and later decisions need no search for it); False when not shown or out of time."""
    from arts.solver.residues import proven_by_residues

    try:
        return proven_by_residues(c, sorted(c.free_symbols, key=_sym_key), dom.sets)
    except Unsupported:  # the deadline (BudgetExceeded) included: keep the constraint
        return False


def expand_minmax(c: sympy.Basic) -> sympy.Basic:
    """Relations between ``min``/``max`` and a term as plain relations (exact):
    ``min(H, W) >= 2`` is ``H >= 2 and W >= 2``, ``max(H, W) >= 4`` is ``H >= 4 or W >= 4``,
    ``x == min(a, b)`` is ``(x == a and a <= b) or (x == b and b <= a)``."""
    if not c.has(sympy.Min, sympy.Max):
        return c
    if isinstance(c, (sympy.And, sympy.Or, sympy.Not)):
        return c.func(*(expand_minmax(a) for a in c.args))
    if isinstance(c, (sympy.Eq, sympy.Ne)):
        # ``x == min(a, b)``: x is one of them, and that one is the least (the greatest for max)
        for m, other in ((c.lhs, c.rhs), (c.rhs, c.lhs)):
            if isinstance(m, (sympy.Min, sympy.Max)):
                least = sympy.Le if isinstance(m, sympy.Min) else sympy.Ge
                eq = sympy.Or(*[sympy.And(expand_minmax(sympy.Eq(a, other)),
                                          *[expand_minmax(least(a, b)) for b in m.args if b is not a])
                                for a in m.args])
                return eq if isinstance(c, sympy.Eq) else sympy.Not(eq)
        return c
    if not isinstance(c, (sympy.Ge, sympy.Gt, sympy.Le, sympy.Lt)):
        return c
    lhs, rhs = c.lhs, c.rhs
    rel = type(c)
    for side in (0, 1):
        m, other = (lhs, rhs) if side == 0 else (rhs, lhs)
        if not isinstance(m, (sympy.Min, sympy.Max)):
            continue
        # normalise to  m REL other  with m on the left
        r = rel if side == 0 else {sympy.Ge: sympy.Le, sympy.Gt: sympy.Lt, sympy.Le: sympy.Ge,
                                   sympy.Lt: sympy.Gt}[rel]
        parts = [expand_minmax(r(a, other)) for a in m.args]
        lower = r in (sympy.Ge, sympy.Gt)  # min >= k: all; max >= k: any; min <= k: any; max <= k: all
        every = lower == isinstance(m, sympy.Min)
        return sympy.And(*parts) if every else sympy.Or(*parts)
    return c


def _split_parts(c: sympy.Basic) -> tuple[sympy.Basic, ...]:
    """``c`` as conjuncts, its product equations split into one equation per symbol
    (``h*w == 49*(h//7)*(w//7)`` is ``h ≡ 0`` and ``w ≡ 0 (mod 7)``: sets, no residual)."""
    if len(c.free_symbols) < 2:
        return (c,)
    return sympy.And.make_args(split_atoms(c, constants=False))


def _consequences(c: sympy.Basic) -> list[tuple[sympy.Symbol, IntSet]]:
    """Per-symbol sets a constraint on several symbols implies (it is kept besides them)."""
    return list(implied_sets(c).items()) + list(divisor_sets(c).items()) + list(_projections(c).items())


def _projections(c: sympy.Basic) -> dict[sympy.Symbol, IntSet]:
    """For a disjunction of conjunctions of one-symbol conditions (``(h == 1 and w == 49) or (h == 7
    and w == 7) or ...``, a product's factorisations), each symbol's shadow: the union over the
    disjuncts of what each says of it.  A consequence; empty when ``c`` is not of that form."""
    if not isinstance(c, sympy.Or):
        return {}
    per: list[dict[sympy.Symbol, list]] = []
    for d in c.args:
        atoms: dict[sympy.Symbol, list] = {}
        for a in sympy.And.make_args(d):
            if len(a.free_symbols) != 1:
                return {}
            atoms.setdefault(next(iter(a.free_symbols)), []).append(a)
        per.append(atoms)
    out: dict[sympy.Symbol, IntSet] = {}
    try:
        for s in set().union(*per):
            if any(s not in atoms for atoms in per):
                continue  # a disjunct says nothing of s: no bound
            st = IntSet.nothing()
            for atoms in per:
                st = st | truth_set(sympy.And(*atoms[s]), s)
            out[s] = st
    except (Unsupported, TypeError, ValueError):
        return {}
    return out


def implied_sets(c: sympy.Basic) -> dict[sympy.Symbol, IntSet]:
    """Per-symbol sets implied by a constraint on several positive symbols: a sum of monomials with
    positive coefficients bounded by (or equal to) a constant bounds every symbol in it, and an
    equality of one monomial to a constant makes each symbol a divisor of it (``H*W == 16``:
    ``H, W`` in ``{1, 2, 4, 8, 16}``).  Exact consequences: the constraint itself is kept."""
    if not isinstance(c, (sympy.Eq, sympy.Le, sympy.Lt, sympy.Ge, sympy.Gt)):
        return {}
    if isinstance(c, (sympy.Ge, sympy.Gt)):
        c = (sympy.Le if isinstance(c, sympy.Ge) else sympy.Lt)(c.rhs, c.lhs)
    g = sympy.expand(c.lhs - c.rhs)
    if not g.is_polynomial():
        return {}
    k = -g.as_coeff_Add()[0]
    poly = g + k
    if not k.is_Integer or k > 10**6:
        return {}
    mons = sympy.Add.make_args(poly)
    out: dict[sympy.Symbol, IntSet] = {}
    bound = int(k) - (1 if isinstance(c, sympy.Lt) else 0)
    for mono in mons:
        coeff, rest = mono.as_coeff_Mul()
        if not coeff.is_Integer or coeff <= 0 or not rest.free_symbols:
            return {}
        if not all(x.is_positive and x.is_integer for x in rest.free_symbols):
            return {}
    others = len(mons) - 1  # every other monomial is at least 1
    for mono in mons:
        coeff, rest = mono.as_coeff_Mul()
        cap = (bound - others) // int(coeff)
        for x in rest.free_symbols:
            st = IntSet.between(1, cap)
            if isinstance(c, sympy.Eq) and len(mons) == 1 and cap >= 1:
                powers = rest.as_powers_dict()
                if all(e.is_Integer for e in powers.values()):
                    e = int(powers[x])
                    st = IntSet.finite(d for d in range(1, cap + 1) if cap % (d ** e) == 0) \
                        if cap <= 10**5 else st
            out[x] = out.get(x, IntSet.everything()) & st
    return out


def _points(sets: list[IntSet], names: list[str], budget: int) -> Iterator[dict[str, int]]:
    k = len(sets)
    if k == 0:
        yield {}
        return
    per = max(2, int(budget ** (1.0 / k)))
    cols = [st.take(per) for st in sets]
    if any(not c for c in cols):
        return
    total = 1
    for c in cols:
        total *= len(c)
    if total <= 4 * budget:
        for t in ordered_product(cols):  # smallest first, without sorting the whole grid
            yield dict(zip(names, t))
        return
    # too many symbols for a grid (2**k points): the smallest point, each neighbour of it along one
    # symbol, then seeded draws -- a search, never a proof (the caller says unknown without a failure)
    import random

    base = tuple(c[0] for c in cols)
    seen = {base}
    yield dict(zip(names, base))
    n = 1
    for i, c in enumerate(cols):
        for v in c[1:]:
            t = base[:i] + (v,) + base[i + 1:]
            if t not in seen and n < budget:
                seen.add(t)
                n += 1
                yield dict(zip(names, t))
    rng = random.Random(0)
    while n < budget:
        t = tuple(rng.choice(c) for c in cols)
        n += 1
        if t not in seen:
            seen.add(t)
            yield dict(zip(names, t))


def exhaustive(sets: list[IntSet], budget: int) -> bool:
    """Whether the product of ``sets`` is finite and within ``budget`` points."""
    total = 1
    for st in sets:
        if not st.is_finite:
            return False
        total *= sum(b - a + 1 for a, b in st.head)
        if total > budget:
            return False
    return True
