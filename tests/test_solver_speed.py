"""The solver's fast paths give the answers of the plain computation they replace.

* ``ordered_product`` against sorting the whole product, ``IntSet.take`` against iterating;
* ``decide`` with its per-domain memory (and proven answers carried through ``restrict``)
  against ``decide`` without it, along chains of restrictions like the checker's walk;
* relations on ``Piecewise`` sizes lifted into cases against the relation as written, and the
  broadcast sizes against ``torch.broadcast_shapes``;
* past the deadline the checker stops with ``unknown`` and answers nothing inside the
  over-approximated domain.
"""

from __future__ import annotations

import itertools

import pytest
import sympy
from hypothesis import given, settings, strategies as st

import arts.solver.decide as decide_mod
from arts.graph.check import typecheck
from arts.graph.graph import GraphBuilder
from arts.ops.merge import broadcast
from arts.solver.budget import decision_budget
from arts.solver.decide import decide
from arts.solver.domain import Domain
from arts.solver.evaluate import evaluate
from arts.solver.intset import IntSet
from arts.solver.ordered import ordered_product
from arts.solver.parse import parse_constraints
from arts.solver.piecewise import lift
from arts.solver.symbols import dim

H, W, N = dim("H"), dim("W"), dim("N")
PROFILE = settings(max_examples=120, deadline=None, derandomize=True)


def intsets():
    simple = st.one_of(
        st.integers(1, 30).map(IntSet.at_least),
        st.tuples(st.integers(0, 6), st.integers(1, 7)).map(lambda t: IntSet.congruent(*t)),
        st.lists(st.integers(1, 40), max_size=6).map(IntSet.finite),
        st.tuples(st.integers(1, 30), st.integers(1, 40)).map(lambda t: IntSet.between(*t)),
    )
    return st.one_of(simple, st.tuples(simple, simple).map(lambda t: t[0] & t[1]),
                     st.tuples(simple, simple).map(lambda t: t[0] | t[1]))


@PROFILE
@given(intsets(), st.integers(0, 80))
def test_take_is_the_least_members_in_order(s, n):
    assert s.take(n) == list(itertools.islice(iter(s), n))


@PROFILE
@given(st.lists(st.lists(st.integers(1, 60), max_size=7).map(lambda c: sorted(set(c))), max_size=4))
def test_ordered_product_is_the_sorted_product(cols):
    assert list(ordered_product(cols)) == sorted(itertools.product(*cols), key=lambda t: (sum(t), t))


# ---- decide with and without its memory ---------------------------------------------------------

ATOMS = [
    H >= 4, W >= 3, sympy.Eq(sympy.Mod(H, 2), 0), sympy.Eq(sympy.Mod(W, 4), 1),
    sympy.floor((H - 1) / 2) + 1 >= 3, sympy.Eq(sympy.floor(H / 4), sympy.floor(W / 4)),
    H * W >= 20, sympy.Ne(H, W), H + W <= 40, sympy.Eq(sympy.floor((W - 3) / 2) + 1, 5),
    sympy.Eq(sympy.Piecewise((W, sympy.Eq(sympy.floor(H / 2), 1)), (sympy.floor(H / 2), True), evaluate=False), W),
]


def conditions():
    atom = st.sampled_from(ATOMS)
    return st.one_of(atom, st.tuples(atom, atom).map(lambda t: sympy.Or(*t)),
                     st.tuples(atom, atom).map(lambda t: sympy.And(*t)), atom.map(sympy.Not))


def _walk(steps: list, cached: bool) -> list:
    """The checker's pattern: decide each condition (and again, and its negation) on the live
    domain, then restrict the live domain by it."""
    old = decide_mod.CACHE
    decide_mod.CACHE = cached
    try:
        live = Domain(parse_constraints("H <= 48, W <= 48"), [H, W])
        out = []
        for c in steps:
            for q in (c, c, sympy.Not(c)):
                v = decide(q, live, [H, W], budget=3_000)
                out.append((v.status, v.counterexample))
            live = live.restrict(c)
            out.append(live.describe())
        return out
    finally:
        decide_mod.CACHE = old


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(conditions(), min_size=1, max_size=4))
def test_remembered_answers_are_the_computed_ones(steps):
    assert _walk(steps, True) == _walk(steps, False)


def test_proven_answers_carry_over_to_restrictions():
    dom = Domain(parse_constraints("H >= 8"), [H])
    cond = sympy.floor((H - 1) / 2) + 1 >= 4
    assert decide(cond, dom, [H]).is_proven
    smaller = dom.restrict(sympy.Eq(sympy.Mod(H, 2), 0))
    assert cond in smaller.known[0]  # carried over, not decided again
    assert decide(cond, smaller, [H]).is_proven
    assert cond not in Domain(parse_constraints("H >= 8"), [H]).known[0]


# ---- Piecewise sizes ----------------------------------------------------------------------------

PW = sympy.Piecewise((W, sympy.Eq(sympy.floor((H - 1) / 2) + 1, 1)), (sympy.floor((H - 1) / 2) + 1, True),
                     evaluate=False)
LIFTABLE = [
    sympy.Eq(PW, sympy.floor(H / 4) + 1),
    sympy.Eq(2 * PW, W),
    PW >= 5,
    sympy.Or(sympy.Eq(PW, 1), sympy.Eq(sympy.floor((PW - 1) / 2) + 1, sympy.floor(W / 3))),
    sympy.Eq(sympy.Piecewise((PW, sympy.Eq(W, 1)), (W, True), evaluate=False), 3),
]


@pytest.mark.parametrize("cond", LIFTABLE)
def test_lifted_relations_mean_the_same(cond):
    lifted = lift(cond)
    assert not lifted.has(sympy.Piecewise)
    for h, w in itertools.product(range(1, 30), range(1, 30)):
        env = {"H": h, "W": w}
        assert bool(evaluate(lifted, env)) == bool(evaluate(cond, env)), env


def test_lifted_relations_are_decided_exactly():
    dom = Domain(parse_constraints("H >= 3"), [H, W])
    v = decide(sympy.Eq(PW, sympy.floor((H - 1) / 2) + 1), dom, [H, W])  # H >= 3: never the first piece
    assert v.is_proven


def _shape(sizes):
    return tuple(sympy.Integer(s) if isinstance(s, int) else s for s in sizes)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from([H, W, sympy.floor(H / 2), sympy.floor((W - 1) / 2) + 1, 1, 3]),
                min_size=3, max_size=3))
def test_chained_broadcast_sizes_match_torch(sizes):
    torch = pytest.importorskip("torch")
    a = (sizes[0],)
    s1, c1 = broadcast("add", [a, (sizes[1],)])
    s2, c2 = broadcast("add", [s1, (sizes[2],)])
    s3, c3 = broadcast("add", [s2, s1])
    for h, w in itertools.product(range(1, 12), range(1, 12)):
        env = {"H": h, "W": w}
        concrete = [int(evaluate(sympy.sympify(e), env)) for e in sizes]
        try:
            t1 = torch.broadcast_shapes((concrete[0],), (concrete[1],))
            t2 = torch.broadcast_shapes(t1, (concrete[2],))
            t3 = torch.broadcast_shapes(t2, t1)
        except RuntimeError:
            ok = all(bool(evaluate(c.formula, env)) for c in c1 + c2)
            assert not ok or not all(bool(evaluate(c.formula, env)) for c in c3)
            continue
        assert all(bool(evaluate(c.formula, env)) for c in c1 + c2 + c3)
        assert tuple(int(evaluate(e, env)) for e in s3) == tuple(t3), env


# ---- the deadline -------------------------------------------------------------------------------

def test_past_the_deadline_the_check_stops_unknown():
    g = GraphBuilder()
    x = g.input("x", "N,3,H,W")
    y = g.add("max_pool2d", x, kernel_size=2)
    z = g.add("max_pool2d", y, kernel_size=2)
    g.output(z)
    full = typecheck(g.graph, where="H >= 4, W >= 4")
    assert full.status == "ok" and not full.unchecked
    with decision_budget(0.0):
        cut = typecheck(g.graph, where="H >= 4, W >= 4")
    assert cut.status == "unknown" and cut.unchecked
    assert any(d.code == "undecided" and "checking stopped" in d.message for d in cut.diagnostics)
    with pytest.raises(ValueError):
        cut.accepts(N=1, H=8, W=8)  # inside the over-approximation: not claimed
    assert not cut.accepts(N=1, H=3, W=8)  # outside it: rejected, as the full check does
    assert full.accepts(N=1, H=8, W=8) and not full.accepts(N=1, H=3, W=8)


# ---- proofs by residue classes ------------------------------------------------------------------

_F = sympy.floor
RESIDUE_CASES = [
    ("H >= 31, W >= 31", [sympy.Or(sympy.Eq(sympy.Mod(H, 32), 0), sympy.Eq(sympy.Mod(H, 32), 31))],
     sympy.Eq((_F((H - 1) / 4) + 1) * (_F((W - 1) / 4) + 1), 8 * _F((H + 3) / 32) * (_F((W - 1) / 4) + 1))),
    ("H >= 1", [sympy.Eq(sympy.Mod(H, 8), 0)], sympy.Eq(_F(H / 4), 2 * _F(H / 8))),
    ("H >= 1", [sympy.Eq(sympy.Mod(H, 8), 0)], sympy.Eq(_F(H / 4), _F(H / 8))),  # false: H=8 gives 2 and 1
    ("H >= 3, W >= 2", [], sympy.Eq(_F(N * _F(H / 2) * W / W), N * _F(H / 2))),
    ("H <= 9, W <= 5", [], sympy.Eq(_F(H / 3) * W, _F(H * W / 3))),  # false at H=1, W=3 (finite sets)
]


@pytest.mark.parametrize("where, more, cond", RESIDUE_CASES)
def test_residue_proofs_agree_with_brute_force(where, more, cond):
    from arts.solver.residues import proven_by_residues

    dom = Domain(parse_constraints(where), [N, H, W]).restrict(*more) if more else \
        Domain(parse_constraints(where), [N, H, W])
    shown = proven_by_residues(cond, [N, H, W], dom.sets)
    holds = all(bool(evaluate(cond, {"N": n, "H": h, "W": w}))
                for n, h, w in itertools.product(range(1, 5), range(1, 200), range(1, 40))
                if dom.contains({"N": n, "H": h, "W": w}))
    if shown:
        assert holds  # a proof is never wrong
    if cond is RESIDUE_CASES[0][2] or cond is RESIDUE_CASES[1][2]:
        assert shown  # and the classes do what they are for


def test_implied_residual_constraints_are_not_kept():
    dom = Domain(parse_constraints("H >= 31, W >= 31"), [H, W]).restrict(
        sympy.Or(sympy.Eq(sympy.Mod(H, 32), 0), sympy.Eq(sympy.Mod(H, 32), 31)),
        sympy.Or(sympy.Eq(sympy.Mod(W, 32), 0), sympy.Eq(sympy.Mod(W, 32), 31)))
    tied = sympy.Eq((_F((H - 1) / 4) + 1) * (_F((W - 1) / 4) + 1), 64 * _F((H + 3) / 32) * _F((W + 3) / 32))
    assert dom.restrict(tied).residual == ()
    assert dom.restrict(sympy.Eq(_F((H - 1) / 4), _F((W - 1) / 4))).residual != ()
