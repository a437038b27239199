"""Decide ``for every point of a domain, cond holds`` -- proven, refuted or unknown.

The method, exact for quasi-affine conditions:

1. Apply the domain's equalities and split ``cond`` into conjuncts; conjuncts that share no
   symbol are decided separately (the domain is a product over symbols).
2. When every atom (relation) of a group mentions one symbol, each atom's truth set is an exact
   :class:`IntSet`; the atoms cut each symbol's domain into a few *classes* on which all its atoms
   are constant.  Evaluating the formula on each combination of classes decides it for every
   point, and the least member of each class of a failing combination is the smallest
   counterexample of that combination.
3. Otherwise (atoms tying symbols together, or not quasi-affine) search points in increasing
   order of size within a budget: a failing point refutes; a finite domain searched in full
   proves; anything else is ``unknown`` with the bound that was searched.

Every counterexample is checked by substitution before it is returned.
"""

from __future__ import annotations

import itertools
from typing import Callable, Iterator, Sequence

import sympy
from sympy.core.relational import Relational

from arts.errors import BudgetExceeded, Unsupported
from arts.solver.budget import deadline_check, decision_budget, expired
from arts.solver.domain import SEARCH_BUDGET, Domain, _points, exhaustive, expand_minmax
from arts.solver.evaluate import compile_expr
from arts.solver.intset import IntSet
from arts.solver.ordered import ordered_product
from arts.solver.piecewise import lift
from arts.solver.products import proven_factor_by_factor, split_atoms
from arts.solver.residues import proven_by_residues
from arts.solver.quasiaffine import EVAL_BUDGET, first_failure, truth_set
from arts.solver.regroup import has_symbolic_quotient, regroup
from arts.solver.simplify import collapse
from arts.solver.verdict import Verdict

#: Most class combinations one group may visit.
COMBO_BUDGET = 100_000


def _key(point: dict[str, int], order: Sequence[str]) -> tuple:
    return (sum(point.values()), tuple(point.get(n, 0) for n in order))


def _skeleton(formula: sympy.Basic, index: dict[sympy.Basic, int]) -> Callable[[list[bool]], bool]:
    """Compile the boolean structure of ``formula`` over atom truth values."""
    if formula in index:
        i = index[formula]
        return lambda tv: tv[i]
    if formula is sympy.true:
        return lambda tv: True
    if formula is sympy.false:
        return lambda tv: False
    if isinstance(formula, sympy.And):
        parts = [_skeleton(a, index) for a in formula.args]
        return lambda tv: all(p(tv) for p in parts)
    if isinstance(formula, sympy.Or):
        parts = [_skeleton(a, index) for a in formula.args]
        return lambda tv: any(p(tv) for p in parts)
    if isinstance(formula, sympy.Not):
        p = _skeleton(formula.args[0], index)
        return lambda tv: not p(tv)
    if isinstance(formula, sympy.Implies):
        a, b = (_skeleton(x, index) for x in formula.args)
        return lambda tv: (not a(tv)) or b(tv)
    if isinstance(formula, sympy.Equivalent):
        parts = [_skeleton(a, index) for a in formula.args]
        return lambda tv: len({p(tv) for p in parts}) == 1
    raise Unsupported(f"cannot decide {type(formula).__name__}: {formula}")


def _classes(formula: sympy.Basic, syms: list[sympy.Symbol], domain: Domain
             ) -> tuple[list[sympy.Basic], dict[sympy.Symbol, list[tuple[IntSet, dict[int, bool]]]]] | None:
    """Cut each symbol's set into classes on which every atom of ``formula`` (each on one symbol)
    is constant: ``(atoms, {symbol: [(class, {atom index: truth})]})``; None if the domain is empty."""
    atoms = sorted(formula.atoms(Relational), key=sympy.default_sort_key)
    owner: list[sympy.Symbol] = []
    for a in atoms:
        (s,) = a.free_symbols
        owner.append(s)
    classes: dict[sympy.Symbol, list[tuple[IntSet, dict[int, bool]]]] = {}
    for s in syms:
        base = domain.set_of(s)
        lo = base.min()
        if lo is None:
            return None
        parts: list[tuple[IntSet, dict[int, bool]]] = [(base, {})]
        for i, (a, o) in enumerate(zip(atoms, owner)):
            if o != s:
                continue
            t = truth_set(a, s, lo)  # exact on x >= lo, which holds the whole class
            nxt = []
            for c, tv in parts:
                for piece, truth in ((c & t, True), (c - t, False)):
                    if not piece.is_empty:
                        nxt.append((piece, {**tv, i: truth}))
            parts = nxt
            if len(parts) > 4096:
                raise BudgetExceeded("too many size classes")
            deadline_check()
        if not parts:
            return None
        classes[s] = parts
    total = 1
    for s in syms:
        total *= len(classes[s])
    if total > COMBO_BUDGET:
        raise BudgetExceeded(f"{total} combinations of size classes exceed the budget")
    return atoms, classes


def _failing(formula: sympy.Basic, syms: list[sympy.Symbol], domain: Domain
             ) -> Iterator[tuple[IntSet, ...]] | None:
    """The class combinations on which ``formula`` is false (None: the domain is empty)."""
    got = _classes(formula, syms, domain)
    if got is None:
        return None
    atoms, classes = got
    sk = _skeleton(formula, {a: i for i, a in enumerate(atoms)})

    def gen() -> Iterator[tuple[IntSet, ...]]:
        for n, combo in enumerate(itertools.product(*(classes[s] for s in syms))):
            if n % 1024 == 0:
                deadline_check()
            tv: dict[int, bool] = {}
            for _, t in combo:
                tv.update(t)
            if not sk([tv.get(i, False) for i in range(len(atoms))]):
                yield tuple(c for c, _ in combo)
    return gen()


def _by_classes(formula: sympy.Basic, syms: list[sympy.Symbol], domain: Domain,
                order: Sequence[str]) -> tuple[Verdict, dict[str, int] | None]:
    failing = _failing(formula, syms, domain)
    if failing is None:
        return Verdict.proven("the domain is empty"), None
    best: dict[str, int] | None = None
    for combo in failing:
        rep: dict[str, int] = {s.name: int(c.min()) for s, c in zip(syms, combo)}  # type: ignore[arg-type]
        if best is None or _key(rep, order) < _key(best, order):
            best = rep
    if best is None:
        return Verdict.proven(), None
    return Verdict.refuted(best), best


def _single(formula: sympy.Basic) -> bool:
    """Every atom of ``formula`` mentions one symbol, and nothing else does."""
    atoms = formula.atoms(Relational)
    return all(len(a.free_symbols) == 1 for a in atoms) and \
        not (formula.free_symbols - {x for at in atoms for x in at.free_symbols})


def _by_proofs(formula: sympy.Basic, syms: list[sympy.Symbol], domain: Domain) -> Verdict | None:
    """``proven`` when ``formula`` is shown on every residue class of the per-symbol sets (so on
    the domain) or, an equation of products, factor by factor; None when neither shows it."""
    if proven_by_residues(formula, syms, domain.sets):
        return Verdict.proven("shown on every residue class of the sizes")
    if proven_factor_by_factor(formula, domain):
        return Verdict.proven("shown factor by factor")
    return None


#: Most combinations of the finitely many sizes of all but one symbol :func:`_by_enumeration` visits.
MAX_ENUMERATED = 1024


def _by_enumeration(formula: sympy.Basic, syms: list[sympy.Symbol], domain: Domain, residual: list[sympy.Basic]
                    ) -> tuple[Verdict, dict[str, int] | None] | None:
    """Decide ``formula`` where every symbol but one has finitely many sizes (a fixed-size model:
    ``H`` and ``W`` pinned to a few values, the batch ``N`` free): at each combination of those
    sizes the formula (under the residual there) is a condition on the one symbol left, whose exact
    truth set is computed.  None when the domain is not of that shape or a condition is not
    quasi-affine in the last symbol."""
    if domain.subst:
        return None
    finite = [s for s in syms if domain.set_of(s).is_finite]
    rest = [s for s in syms if s not in finite]
    if not finite or len(rest) > 1:
        return None
    values = [list(domain.set_of(s)) for s in finite]
    total = 1
    for v in values:
        total *= len(v)
    if total > MAX_ENUMERATED:
        return None
    best: dict[str, int] | None = None
    for n, combo in enumerate(ordered_product(values)):
        if n % 16 == 0:
            deadline_check()
        at = {s: sympy.Integer(v) for s, v in zip(finite, combo)}
        hyp = sympy.And(*(r.xreplace(at) for r in residual))
        f = sympy.Implies(hyp, formula.xreplace(at)) if residual else formula.xreplace(at)
        f = collapse(lift(expand_minmax(f)))
        point = {s.name: int(v) for s, v in at.items()}
        if f is sympy.true:
            continue
        if not rest:
            if f is sympy.false:
                best = point if best is None else best
                break
            return None
        (x,) = rest
        try:
            holds = IntSet.nothing() if f is sympy.false else truth_set(f, x)
        except (Unsupported, TypeError, ValueError):
            return None
        bad = domain.set_of(x) - holds
        least = bad.min()
        if least is not None:
            point[x.name] = int(least)
            if best is None or sum(best.values()) > sum(point.values()):
                best = point
    if best is None:
        return Verdict.proven("shown at each of the finitely many sizes"), None
    return Verdict.refuted(best), best


def _with_residual(formula: sympy.Basic, syms: list[sympy.Symbol], domain: Domain, residual: list[sympy.Basic],
                   order: Sequence[str], budget: int) -> tuple[Verdict, dict[str, int] | None]:
    """Decide ``formula`` (atoms on one symbol each) on a domain whose ``residual`` constraints tie
    symbols together.

    * Residual atoms on one symbol each (``H >= 4 or W >= 4``): the residual becomes a hypothesis,
      ``residual -> formula``, decided exactly by classes.
    * Otherwise (``H != W``, ``N*(H-1)*(W-1) >= 2``): decided on the per-symbol sets alone first --
      proven there is proven on the smaller domain; else each failing class combination is searched
      for a point that satisfies the residual: found refutes, a finite combination searched in full
      without one is vacuous, anything else is unknown.
    """
    hyp = sympy.And(*residual)
    if _single(hyp):
        return _by_classes(sympy.Implies(hyp, formula), syms, domain, order)
    failing = _failing(formula, syms, domain)
    if failing is None:
        return Verdict.proven("the domain is empty"), None
    guards = [compile_expr(r) for r in residual]
    names = [s.name for s in syms]
    best: dict[str, int] | None = None
    open_combos = 0
    spent = 0
    tied = set().union(*(r.free_symbols for r in residual))
    proj = [i for i, s in enumerate(syms) if s in tied] if tied <= set(syms) and not domain.subst else None
    for combo in failing:
        if proj is not None and len(proj) < len(syms) and exhaustive([combo[i] for i in proj], budget):
            # the residual reads only some symbols, finitely many here: search those in full, the
            # others at their least members (the formula fails on the whole combination)
            least = {n: int(c.min()) for n, c in zip(names, combo)}  # type: ignore[arg-type]
            found = None
            for t in ordered_product([list(combo[i]) for i in proj]):
                spent += 1
                if spent % 1024 == 0:
                    deadline_check()
                p = {**least, **{names[i]: v for i, v in zip(proj, t)}}
                try:
                    if all(g(p) for g in guards):
                        found = p
                        break
                except (ZeroDivisionError, KeyError):
                    open_combos += 1
                    break
            if found is not None and (best is None or _key(found, order) < _key(best, order)):
                best = found
            if spent > 4 * budget:
                open_combos += 1
                break
            continue
        full = exhaustive(list(combo), budget)
        pts: Iterator[dict[str, int]]
        if full:
            pts = (dict(zip(names, t)) for t in ordered_product([list(st) for st in combo]))
        else:
            pts = _points(list(combo), names, max(64, budget // 16))
        found = None
        unclear = False  # a point where a residual could not be evaluated: the combination stays open
        for p in pts:
            spent += 1
            if spent % 1024 == 0:
                deadline_check()
            env = domain.complete(p) if domain.subst else p
            try:
                if all(g(env) for g in guards):
                    found = p
                    break
            except (ZeroDivisionError, KeyError):
                unclear = True
                continue
        if found is not None:
            if best is None or _key(found, order) < _key(best, order):
                best = found
        elif not full or unclear:
            open_combos += 1
        if spent > 4 * budget:
            open_combos += 1
            break
    if best is not None:
        return Verdict.refuted(best), best
    if open_combos:
        return Verdict.unknown(f"the condition fails on {open_combos} class(es) of sizes of which no searched "
                               f"point satisfies {', '.join(map(str, residual))}"), None
    return Verdict.proven(), None


def _by_walk(formula: sympy.Basic, syms: list[sympy.Symbol], domain: Domain, residual: list[sympy.Basic],
             why: Exception) -> tuple[Verdict, dict[str, int] | None] | None:
    """One symbol whose condition has too long a period to analyse: walk the points where its
    floors change (see :func:`first_failure`).  None when that does not apply."""
    if len(syms) != 1 or residual or not isinstance(why, BudgetExceeded):
        return None
    (s,) = syms
    try:
        y, complete = first_failure(formula, s, domain.set_of(s))
    except BudgetExceeded as e:
        return Verdict.unknown(str(e)), None
    except Unsupported:
        return None
    if y is not None:
        return Verdict.refuted({s.name: y}), {s.name: y}
    if complete:
        return Verdict.proven(), None
    return Verdict.unknown(f"{why}; no counterexample among the first {EVAL_BUDGET} segments on which "
                           f"its floors are constant"), None


def _by_search(formula: sympy.Basic, syms: list[sympy.Symbol], domain: Domain, residual: list[sympy.Basic],
               budget: int) -> tuple[Verdict, dict[str, int] | None]:
    f = compile_expr(formula)
    guards = [compile_expr(r) for r in residual]
    sets = [domain.set_of(s) for s in syms]
    full = exhaustive(sets, budget)
    names = [s.name for s in syms]
    pts: Iterator[dict[str, int]]
    if full:
        pts = (dict(zip(names, t)) for t in ordered_product([list(st) for st in sets]))
    else:
        pts = domain.points(syms, budget)
    seen = 0
    biggest: dict[str, int] = {}
    for p in pts:
        seen += 1
        if seen % 64 == 0:  # one point of a large formula can take milliseconds
            deadline_check()
        env = domain.complete(p) if domain.subst else p
        try:
            if not all(g(env) for g in guards):
                continue
            ok = bool(f(env))
        except (ZeroDivisionError, KeyError):
            continue
        for k, v in p.items():
            biggest[k] = max(biggest.get(k, 0), v)
        if not ok:
            return Verdict.refuted(p), p
    if full:
        return Verdict.proven(f"checked all {seen} points of the finite domain"), None
    bound = ", ".join(f"{k} ≤ {v}" for k, v in biggest.items())
    return Verdict.unknown(f"no counterexample with {bound or 'the searched sizes'}; "
                           "the condition is outside the decidable (quasi-affine) fragment"), None


def _monotone(formula: sympy.Basic, syms: list[sympy.Symbol],
              domain: Domain) -> tuple[Verdict, dict[str, int] | None] | None:
    """Decide conjunctions of ``c * f1(x1) * f2(x2) * ... >= k`` (or ``>``) exactly.

    Each factor depends on one symbol (all distinct), is quasi-affine with a non-negative trend
    (``f(x + L) = f(x) + D``, ``D >= 0``) and is non-negative on its set, and ``c > 0``: then the
    product's minimum over the (product) domain is the product of the factors' minima, and each
    minimum is found on the set's finite head and first period.  This is BatchNorm's "more than one
    value per channel" (``N*H*W >= 2``) and similar size products.  None when it does not apply.
    """
    from arts.solver.quasiaffine import period_of

    best: tuple[Verdict, dict[str, int] | None] | None = None
    for atom in sympy.And.make_args(formula):
        if not isinstance(atom, (sympy.Ge, sympy.Gt)):
            return None
        lhs, rhs = atom.lhs, atom.rhs
        if rhs.free_symbols or not rhs.is_Rational:
            return None
        coeff, factors = sympy.sympify(lhs).as_coeff_mul()
        if not coeff.is_Rational or coeff <= 0:
            return None
        by_sym: dict[sympy.Symbol, list[sympy.Basic]] = {}
        for f in factors:
            free = f.free_symbols
            if len(free) != 1:
                return None
            (x,) = free
            by_sym.setdefault(x, []).append(f)
        value = coeff
        point: dict[str, int] = {}
        for x, fs in by_sym.items():
            f = sympy.Mul(*fs) if len(fs) > 1 else fs[0]
            L, D = period_of(f, x)
            if D < 0:
                return None
            S = domain.set_of(x)
            if S.is_empty:
                return Verdict.proven("the domain is empty"), None
            span = L * S.period // __import__("math").gcd(L, S.period)
            head = [v for a, b in S.head for v in range(a, b + 1)]
            if len(head) + span > 100_000:
                return None
            cands = head + [v for v in range(S.start, S.start + span) if v in S]
            fn = compile_expr(f)
            vals = [(fn({x.name: v}), v) for v in cands]
            m, arg = min(vals)
            if m < 0:
                return None
            value = value * m
            point[x.name] = arg
        holds = value >= rhs if isinstance(atom, sympy.Ge) else value > rhs
        if not holds:
            for s in syms:
                if s.name not in point:
                    mn = domain.set_of(s).min()
                    if mn is None:
                        return None
                    point[s.name] = mn
            cand = (Verdict.refuted(point), point)
            if best is None or (best[1] is not None and sum(point.values()) < sum(best[1].values())):
                best = cand
    return best if best is not None else (Verdict.proven(), None)


def decide(cond: sympy.Basic, domain: Domain, symbols: Sequence[sympy.Symbol] = (),
           budget: int = SEARCH_BUDGET) -> Verdict:
    """Whether ``cond`` holds at every point of ``domain``.

    ``symbols`` are the inputs a counterexample must assign (in this order of priority for the
    tie-break of "smallest"); the domain's own symbols are always included.

    Answers are remembered on the domain (:data:`CACHE`): a network asks the same question of
    one live domain many times (every broadcast's ``Piecewise`` asks ``a == 1``), and a condition
    proven on a domain stays proven on each of its restrictions (:meth:`Domain.restrict` carries
    the proven ones over).  An ``unknown`` is kept for the same domain and budget only (the search
    is deterministic), never one the deadline made.  Past the running deadline
    (:mod:`arts.solver.budget`) the answer is ``unknown`` at once, whatever the step it was reached in.
    """
    with decision_budget():
        if not CACHE:
            return _bounded(cond, domain, symbols, budget)
        proven, verdicts = domain.known
        if cond in proven:
            return proven[cond]
        key = (cond, tuple(symbols), budget)
        got = verdicts.get(key)
        if got is not None:
            return got
        v = _bounded(cond, domain, symbols, budget)
        if v.is_proven:
            proven[cond] = v
        elif v.is_refuted or expired() is None:
            # an unknown is kept too, unless the deadline made it: asked again of this very domain
            # with this budget, the search would only repeat itself (EfficientViT asks one
            # window-size question of one domain six times, 1.6 s each)
            verdicts[key] = v
        return v


#: Whether :func:`decide` remembers its answers on the domain (off only to measure the gain,
#: ``benchmarks/bench_solver_cache.py``; the answers are the same either way).
CACHE = True


def _bounded(cond: sympy.Basic, domain: Domain, symbols: Sequence[sympy.Symbol], budget: int) -> Verdict:
    """:func:`_decide`, ``unknown`` once the running deadline has passed (in any step)."""
    try:
        deadline_check()
        return _decide(cond, domain, symbols, budget)
    except BudgetExceeded as e:
        return Verdict.unknown(str(e))
    except (TypeError, ValueError) as e:  # sympy refusing to rebuild a relation ("non-real"): no answer
        return Verdict.unknown(f"the condition could not be normalised ({type(e).__name__}: {e})")


def _decide(cond: sympy.Basic, domain: Domain, symbols: Sequence[sympy.Symbol], budget: int) -> Verdict:
    order_syms = list(dict.fromkeys(list(symbols) + list(domain.symbols) + sorted(
        sympy.sympify(cond).free_symbols, key=lambda s: s.name)))
    dom = domain.with_symbols(order_syms) if any(s not in domain.symbols for s in order_syms) else domain
    order = [s.name for s in order_syms]
    if dom.empty:
        return Verdict.proven("the domain is empty")
    cond = dom.substitute(sympy.sympify(cond))
    if has_symbolic_quotient(cond):  # a quotient of sizes (a reshape's -1) may cancel on the domain
        cond = regroup(cond, dom.sets)
    cond = collapse(lift(expand_minmax(cond)))
    cond = split_atoms(cond)  # a window partition's product equation: one equation per symbol
    # a symbol the domain pins to one value is that constant (H == 8 makes 16*H*N*W == 1024*N)
    pinned = {s: sympy.Integer(st.min()) for s, st in dom.sets.items()
              if st.is_finite and st.head == ((st.min(), st.min()),)}
    if pinned:
        cond = cond.xreplace(pinned)
    if cond is sympy.true:
        return Verdict.proven()
    if cond is sympy.false:
        point = _fill({}, dom, order_syms)
        return Verdict.refuted({n: point[n] for n in order if n in point}) if point else \
            Verdict.unknown("the condition never holds, but no point of the domain was found")
    residual = list(dom.residual)
    conjuncts = list(sympy.And.make_args(cond))
    if residual:  # a conjunct that restates an equation of the domain holds there
        known = {k for r in residual if (k := _equation_key(collapse(r))) is not None}
        conjuncts = [c for c in conjuncts if not _restates(c, known)]
        if not conjuncts:
            return Verdict.proven("the domain's own equations")
    # group conjuncts and residual constraints into components of shared symbols
    comps: list[tuple[set, list, list]] = []
    for c in conjuncts:
        comps.append((set(c.free_symbols), [c], []))
    for r in residual:
        comps.append((set(r.free_symbols), [], [r]))
    merged = True
    while merged:
        merged = False
        for i, j in itertools.combinations(range(len(comps)), 2):
            if comps[i][0] & comps[j][0]:
                a, b = comps[i], comps[j]
                comps[i] = (a[0] | b[0], a[1] + b[1], a[2] + b[2])
                del comps[j]
                merged = True
                break
    failures: list[dict[str, int]] = []
    unknowns: list[str] = []
    for syms_set, conds, res in comps:
        if not conds:
            continue
        syms = [s for s in order_syms if s in syms_set and s not in dom.subst]
        formula = sympy.And(*conds)
        proofs_tried = False
        try:
            mono = None
            if not res and _single(formula):
                v, cx = _by_classes(formula, syms, dom, order)
            elif res and _single(formula):
                v, cx = _with_residual(formula, syms, dom, res, order, budget)
            elif not res and (mono := _monotone(formula, syms, dom)) is not None:
                v, cx = mono
            elif res and (mono := _monotone(formula, syms, dom)) is not None and mono[0].is_proven:
                v, cx = mono  # proven on the per-symbol sets alone: proven on the smaller domain too
            else:
                proofs_tried = True
                proof = _by_proofs(formula, syms, dom)
                if proof is not None:
                    v, cx = proof, None
                elif (counted := _by_enumeration(formula, syms, dom, res)) is not None:
                    v, cx = counted
                else:
                    v, cx = _by_search(formula, syms, dom, res, budget)
        except Unsupported as why:
            if not proofs_tried and _by_proofs(formula, syms, dom) is not None:
                continue
            walked = _by_walk(formula, syms, dom, res, why)
            if walked is None:
                walked = _by_enumeration(formula, syms, dom, res)
            try:
                v, cx = walked if walked is not None else _by_search(formula, syms, dom, res, budget)
            except Unsupported as e:
                v, cx = Verdict.unknown(str(e)), None
        if v.is_refuted and cx is not None:
            failures.append(cx)
        elif v.is_unknown:
            unknowns.append(v.reason)
    if failures:
        best = min(failures, key=lambda p: _key(p, order))
        try:
            point = _fill(best, dom, order_syms)
            checked = point is not None and not bool(compile_expr(cond)(point)) and dom.contains(point)
        except Unsupported as e:
            return Verdict.unknown(f"cannot check the counterexample: {e}")
        if checked and point is not None:
            return Verdict.refuted({n: point[n] for n in order if n in point})
        # filling the other symbols failed to give a checked point: do not claim a refutation
        return Verdict.unknown("found a failing size for part of the input but could not complete it "
                               "to a point of the domain")
    if unknowns:
        return Verdict.unknown("; ".join(dict.fromkeys(unknowns)))
    return Verdict.proven()


def _equation_key(r: sympy.Basic) -> sympy.Basic | None:
    """One spelling of an equation ``a == b``: ``a - b`` expanded, without its content and sign
    (``H'*W' == 196`` and ``128*H'*W' == 25088`` and their expanded forms are one equation)."""
    if not isinstance(r, sympy.Eq):
        return None
    d = sympy.expand(r.lhs - r.rhs)
    if d == 0:
        return None
    _, d = d.as_content_primitive()
    return -d if d.could_extract_minus_sign() else d


def _restates(c: sympy.Basic, known: set) -> bool:
    """Whether ``c`` follows from the equations ``known`` (by their keys) without search: it is
    one of them, a disjunction with one of them, or a conjunction of such."""
    if isinstance(c, sympy.Eq):
        k = _equation_key(c)
        return k is not None and k in known
    if isinstance(c, sympy.Or):
        return any(_restates(a, known) for a in c.args)
    if isinstance(c, sympy.And):
        return all(_restates(a, known) for a in c.args)
    return False


def _fill(partial: dict[str, int], dom: Domain, syms: Sequence[sympy.Symbol]) -> dict[str, int] | None:
    rest = [s for s in syms if s.name not in partial and s not in dom.subst]
    if not rest:
        return dom.complete(partial)
    if not dom.residual:
        out = dict(partial)
        for s in rest:
            m = dom.set_of(s).min()
            if m is None:
                return None
            out[s.name] = m
        return dom.complete(out)
    for p in dom.points(rest):
        full = dom.complete({**partial, **p})
        if dom.contains(full):
            return full
    return None


def find_point(cond: sympy.Basic, domain: Domain, symbols: Sequence[sympy.Symbol] = ()) -> dict[str, int] | None:
    """A point of ``domain`` where ``cond`` holds (smallest found), or None."""
    v = decide(sympy.Not(cond), domain, symbols)
    return v.counterexample if v.is_refuted else None
