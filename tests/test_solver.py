"""The symbolic core against brute force: integer sets, truth sets, decisions, simplification."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sympy
from hypothesis import given, settings, strategies as st

from arts.errors import BudgetExceeded, InputError
from arts.solver.decide import decide
from arts.solver.domain import Domain
from arts.solver.evaluate import compile_expr, evaluate
from arts.solver.intset import IntSet
from arts.solver.parse import parse_constraints
from arts.solver.quasiaffine import period_of, truth_set
from arts.solver.simplify import simplify_dim
from arts.solver.symbols import dim

H, W, N = dim("H"), dim("W"), dim("N")
PROFILE = settings(max_examples=150, deadline=None, derandomize=True)


# ---- IntSet -----------------------------------------------------------------------------------

def intsets():
    return st.one_of(
        st.integers(1, 30).map(IntSet.at_least),
        st.tuples(st.integers(0, 6), st.integers(1, 7)).map(lambda t: IntSet.congruent(*t)),
        st.lists(st.integers(1, 40), max_size=6).map(IntSet.finite),
        st.tuples(st.integers(1, 30), st.integers(1, 40)).map(lambda t: IntSet.between(*t)),
    )


@PROFILE
@given(intsets(), intsets(), st.sampled_from(["&", "|", "-"]))
def test_intset_algebra_matches_membership(a, b, op):
    r = {"&": a & b, "|": a | b, "-": a - b}[op]
    f = {"&": lambda x, y: x and y, "|": lambda x, y: x or y, "-": lambda x, y: x and not y}[op]
    for x in range(1, 200):
        assert (x in r) == f(x in a, x in b)
    # canonical: rebuilding from membership gives the same representation
    assert IntSet.from_predicate(lambda x: x in r, 100, 420) == r


def test_intset_describe():
    assert (IntSet.at_least(16) & IntSet.congruent(0, 16)).describe("H") == "H ≥ 16 and H ≡ 0 (mod 16)"
    assert (IntSet.finite([1]) | IntSet.at_least(3)).describe("H") == "H ≥ 3 or H = 1"
    assert IntSet.between(3, 10).describe("H") == "3 ≤ H ≤ 10"
    assert IntSet.everything().describe("H") == "H ≥ 1"
    # a pattern with a few exceptions: the pattern and the exceptions, not every size in the head
    sam = IntSet.congruent(0, 16) - IntSet.finite([1024])
    assert sam.describe("H") == "H ≡ 0 (mod 16) and H ≠ 1024"
    assert (IntSet.at_least(40) | IntSet.finite([2, 5, 9])).describe("H") == "H ≥ 40 or H = 2 or H = 5 or H = 9"


@settings(max_examples=200)
@given(st.sets(st.integers(1, 60), max_size=6), st.integers(1, 6), st.integers(0, 5), st.integers(1, 40))
def test_intset_describe_is_the_set(points, period, residue, start):
    """The printed set, read back (every size up to 200), is the set."""
    a, f = IntSet.at_least(start) & IntSet.congruent(residue % period, period), IntSet.finite(points)
    s = (a - f) | (f - a)
    text = s.describe("H")
    for x in range(1, 200):
        assert _reads(text, x) == (x in s), (text, x)


def _reads(text: str, x: int) -> bool:
    """Evaluate a description of a set of H (the forms describe() prints) at H = x."""
    import re
    e = text.replace("no size", "False")
    e = re.sub(r"H mod (\d+) ∈ \{([\d, ]+)\}", lambda m: f"(x % {m[1]} in ({m[2]},))", e)
    e = re.sub(r"H ≢ (\d+) \(mod (\d+)\)", r"(x % \2 != \1)", e)
    e = re.sub(r"H ≡ (\d+) \(mod (\d+)\)", r"(x % \2 == \1)", e)
    e = re.sub(r"(\d+) ≤ H ≤ (\d+)", r"(\1 <= x <= \2)", e)
    e = e.replace("H ≥", "x >=").replace("H ≤", "x <=").replace("H ≠", "x !=").replace("H =", "x ==")
    return bool(eval(e, {"x": x}))  # noqa: S307 - our own printed text


# ---- quasi-affine truth sets -------------------------------------------------------------------

def qa_exprs():
    """Random chains of conv/pool/transposed-conv/upsample dimension functions of H."""
    step = st.tuples(st.sampled_from(["conv", "ceil", "tconv", "up"]), st.integers(1, 5), st.integers(1, 3),
                     st.integers(0, 3))

    def build(steps):
        e = H
        for kind, k, s, p in steps:
            if kind == "conv":
                e = sympy.floor((e + 2 * p - k) / s) + 1
            elif kind == "ceil":
                e = sympy.ceiling((e + p - k + 1) / s)
            elif kind == "tconv":
                e = (e - 1) * s - 2 * p + k
            else:
                e = e * s
        return e

    return st.lists(step, min_size=1, max_size=4).map(build)


@PROFILE
@given(qa_exprs(), qa_exprs(), st.sampled_from([sympy.Eq, sympy.Ge, sympy.Gt, sympy.Ne]))
def test_truth_set_is_exact(a, b, rel):
    cond = rel(a, b)
    try:
        s = truth_set(cond, H)
    except BudgetExceeded:
        return
    for h in range(1, 400):
        assert (h in s) == bool(evaluate(cond, {"H": h})), h


@PROFILE
@given(qa_exprs())
def test_period_of(e):
    L, D = period_of(e, H)
    for h in range(-20, 60):
        assert evaluate(e, {"H": h + L}) == evaluate(e, {"H": h}) + D


@PROFILE
@given(qa_exprs())
def test_simplify_dim_is_exact(e):
    s = simplify_dim(e)
    for h in range(1, 200):
        assert evaluate(s, {"H": h}) == evaluate(e, {"H": h})



@PROFILE
@given(qa_exprs(), st.integers(2, 9), st.integers(-3, 3), st.integers(-2, 2), st.sampled_from([1, 2, 3]),
       st.sampled_from(["pad", "pad_halve", "mod"]))
def test_simplify_dim_round_up_is_exact(e, n, c, j, div, form):
    """A size padded up to a multiple (``x + (n - x % n) % n``, Swin's windows; ``x + x % 2``, patch
    merging), then halved, becomes one floor (:func:`arts.solver.simplify._round_up`), exactly --
    also with offsets and multiples of ``n`` added inside the ``Mod`` where the form does not match."""
    padded = e + c + sympy.Mod((n - 1) * e + j * n * H + 3 - c, n)
    expr = {"pad": padded, "pad_halve": sympy.floor(padded / div), "mod": sympy.Mod(e, n) / div + e}[form]
    s = simplify_dim(expr)
    for h in range(1, 160):
        assert evaluate(s, {"H": h}) == evaluate(expr, {"H": h}), (expr, s, h)


def test_simplify_dim_window_pad_then_merge_is_one_floor():
    """Swin: pad floor(H/4) up to a multiple of 7, crop back, pad to even and halve, twice."""
    x = sympy.floor(H / 4)
    assert simplify_dim(sympy.floor((x + sympy.Mod(6 * x, 7)) / 7)) == sympy.floor((H + 24) / 28)
    half = simplify_dim(sympy.floor((x + sympy.Mod(x, 2)) / 2))
    assert half == sympy.floor((H + 4) / 8)
    assert simplify_dim(sympy.floor((half + sympy.Mod(half, 2)) / 2)) == sympy.floor((H + 12) / 16)

# ---- decide -----------------------------------------------------------------------------------

@PROFILE
@given(qa_exprs(), qa_exprs(), st.integers(1, 12))
def test_decide_matches_brute_force(a, b, lo):
    cond = sympy.Eq(a, b)
    dom = Domain([sympy.Ge(H, lo)], [H])
    v = decide(cond, dom, [H])
    fails = [h for h in range(lo, 600) if not evaluate(cond, {"H": h})]
    if v.is_proven:
        assert not fails
    elif v.is_refuted:
        assert v.counterexample == {"H": fails[0]}  # the smallest failing input
    else:
        assert "budget" in v.reason or "evaluations" in v.reason


def test_decide_two_symbols_product_is_searched():
    cond = sympy.Eq(16 * sympy.floor(H / 4) * sympy.floor(W / 4), 1024)
    v = decide(cond, Domain([], [N, H, W]), [N, H, W])
    assert v.is_refuted and v.counterexample == {"N": 1, "H": 1, "W": 1}


def test_decide_counterexample_assigns_every_symbol_and_respects_equalities():
    dom = Domain(parse_constraints("W == H, H >= 5"), [N, H, W])
    v = decide(sympy.Eq(sympy.floor(H / 2) * 2, H), dom, [N, H, W])
    assert v.is_refuted and v.counterexample == {"N": 1, "H": 5, "W": 5}


def test_decide_unknown_is_never_ok():
    v = decide(H**2 >= 10 * H - 5, Domain([], [H]), [H])
    assert v.is_refuted and v.counterexample == {"H": 1}
    v = decide(H**3 - 6 * H**2 + 11 * H - 5 >= 0, Domain([], [H]), [H])  # true, but not quasi-affine
    assert v.is_unknown


# ---- domains and parsing -----------------------------------------------------------------------

def test_domain_forms():
    d = Domain(parse_constraints("H >= 16, H % 16 == 0, W == H"), [N, H, W])
    assert d.describe() == "H ≥ 16 and H ≡ 0 (mod 16) and W = H"
    assert d.contains({"N": 1, "H": 32, "W": 32}) and not d.contains({"N": 1, "H": 32, "W": 16})
    assert Domain(parse_constraints("H < 1")).empty


def test_a_residual_if_then_else_reads_as_its_cases():
    c = sympy.ITE(sympy.Eq(H % 7, 0), sympy.false, sympy.Eq(W, 1))
    d = Domain([H >= 1, W >= 1, sympy.Or(c, sympy.Eq(N, 2))], [N, H, W])
    text = d.describe()
    assert "ITE" not in text and "W == 1" in text.replace("W = 1", "W == 1")
    for n, h, w in [(1, 7, 1), (1, 8, 1), (1, 8, 2), (2, 7, 3)]:
        holds = n == 2 or (h % 7 != 0 and w == 1)
        assert d.contains({"N": n, "H": h, "W": w}) == holds


@pytest.mark.parametrize("text", ["H >=", "H >= 1,, W >= 2", "import os", "H.x >= 1", "__import__('os')", "H"])
def test_bad_constraints_are_input_errors(text):
    with pytest.raises(InputError):
        parse_constraints(text)


def test_symbolic_core_imports_no_torch_or_networkx():
    code = ("import sys, arts.solver.decide, arts.solver.relations, arts.solver.algorithm1, arts.solver.canonical; "
            "print('torch' in sys.modules, 'networkx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_ops_and_graph_import_no_torch():
    code = "import sys, arts, arts.ops, arts.graph; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


@PROFILE
@given(qa_exprs(), qa_exprs(), st.integers(1, 4), st.integers(1, 40), st.integers(1, 6))
def test_monotone_products_are_decided_exactly(a, b, n_lo, k, h_lo):
    """``N*f(H)*g(W) >= k`` (BatchNorm's training condition) against brute force."""
    from arts.solver.decide import _monotone

    cond = sympy.Ge(N * a * b.subs(H, W), k)
    dom = Domain([sympy.Ge(N, n_lo), sympy.Ge(H, h_lo), sympy.Ge(W, h_lo)], [N, H, W])
    v = decide(cond, dom, [N, H, W])
    pts = [(n, h, w) for n in range(n_lo, n_lo + 3) for h in range(h_lo, 60) for w in range(h_lo, 60)]
    fails = [p for p in pts if not evaluate(cond, dict(zip("NHW", p)))]
    if v.is_proven:
        assert not fails
    elif v.is_refuted:
        assert not evaluate(cond, v.counterexample) and dom.contains(v.counterexample)
    if _monotone(cond, [N, H, W], dom) is not None:
        assert not v.is_unknown  # the exact route answered


def test_batchnorm_training_condition_is_decided():
    from arts.graph.enas import MacroSpace
    from arts.graph import typecheck

    space = MacroSpace(layers=3, channels=4)
    G = space.to_graph(space.random_arc(__import__("random").Random(0)))
    assert typecheck(G, mode="train", where="N >= 2").status == "ok"
    r = typecheck(G, mode="train")
    assert r.status == "error" and r.diagnostics[0].counterexample == {"N": 1, "H": 1, "W": 1}
    import torch

    from arts.graph.compile import to_module

    m = to_module(G).train()
    for n, h, w in [(1, 1, 1), (1, 2, 1), (1, 3, 3), (1, 5, 5), (2, 1, 1)]:
        try:
            m(torch.zeros(n, 3, h, w))
            ran = True
        except ValueError:
            ran = False
        assert r.accepts(N=n, H=h, W=w) == ran
    assert typecheck(G).status == "ok"  # eval mode: every size


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 12), st.integers(2, 16))
def test_a_condition_restating_a_domain_equation_is_proven_and_nothing_else(n, k, d):
    """``H' * W' == n`` on the domain, asked in another spelling (expanded, scaled by ``k``): proven
    without search; an equation with another constant is never proven."""
    H, W = dim("H"), dim("W")
    hp, wp = sympy.floor((H - 1) / d) + 1, sympy.floor((W - 1) / d) + 1
    dom = Domain([sympy.Eq(hp * wp, n)], [H, W])
    assert decide(sympy.Eq(k * n, sympy.expand(k * hp * wp)), dom, [H, W]).is_proven
    assert decide(sympy.Or(sympy.Eq(H, 1), sympy.Eq(sympy.expand(hp * wp) / n, 1)), dom, [H, W]).is_proven
    assert not decide(sympy.Eq(sympy.expand(hp * wp), n + 1), dom, [H, W]).is_proven


def test_a_padded_window_count_has_no_unevaluated_constant_floor():
    """DaViT's windows of a size padded to a multiple of 28, quartered: collapsing
    ``floor((28*floor((H - 1)/28) + 31)/4)`` once left ``floor(3/4)`` unevaluated, which sympy calls
    non-real and then refuses to compare (a ``TypeError`` out of ``decide``).  The collapsed size
    is exact and decidable."""
    H = dim("H")
    raw = sympy.floor((28 * sympy.floor((H - 1) / 28) + 31) / 4, evaluate=False)
    e = simplify_dim(raw)
    assert not any(isinstance(t, sympy.floor) and t.args[0].is_Number for t in sympy.preorder_traversal(e))
    for h in range(1, 200):
        assert int(e.subs(H, h)) == (28 * ((h - 1) // 28) + 31) // 4
    assert decide(sympy.Ge(e, 7), Domain([], [H]), [H]).is_proven


# ---- rounded sizes regrouped by the domain, equations of products shown factor by factor -----

@PROFILE
@given(st.integers(1, 8), st.integers(-8, 8), st.integers(2, 6), st.integers(1, 40),
       st.sets(st.integers(0, 23), min_size=1, max_size=6))
def test_regroup_is_the_same_function_on_the_domain(b, c, k, lo, residues):
    """floor((H + c)/b) rewritten over the domain's residues agrees with the original at every
    size of the domain, and writes it as k*floor(...) + r wherever the values share a class."""
    from arts.solver.regroup import regroup

    S = IntSet.make(lo, [], 24, residues)
    e = sympy.floor((H + c) / b) * N + sympy.floor((H + c) / b) ** 2
    r = regroup(e, {H: S})
    before, after = compile_expr(e), compile_expr(r)
    for h in S.take(60):
        for n in (1, 3):
            assert after({"H": h, "N": n}) == before({"H": h, "N": n}), (h, n, r)


def test_regroup_cancels_a_block_count_quotient():
    """HaloNet: after asserting h = floor((H-1)/16) + 1 is a multiple of 8, the -1 of a block
    reshape, N*C*h*w / (64*C*floor(h/8)*floor(w/8)), is N."""
    from arts.solver.regroup import regroup

    dom = Domain([sympy.Eq(sympy.Mod(sympy.floor((H - 1) / 16) + 1, 8), 0),
                  sympy.Eq(sympy.Mod(sympy.floor((W - 1) / 16) + 1, 8), 0)])
    h, w = sympy.floor((H - 1) / 16) + 1, sympy.floor((W - 1) / 16) + 1
    q = sympy.floor(N * 3 * h * w / (64 * 3 * simplify_dim(sympy.floor(h / 8)) * simplify_dim(sympy.floor(w / 8))))
    assert simplify_dim(regroup(q, dom.sets)) == N
    assert decide(sympy.Eq(sympy.Mod(N * 3 * h * w, 64 * 3 * simplify_dim(sympy.floor(h / 8))
                                     * simplify_dim(sympy.floor(w / 8))), 0), dom).is_proven


def test_an_equation_of_products_is_proven_factor_by_factor_and_nothing_else():
    """TinyViT's window partition at stride 16: the element count N*pad(h)*pad(w)*C equals
    N*(pad(h)//14*14)*(pad(w)//14*14)*C for every size, although it is a product of two symbols'
    floors (outside the quasi-affine fragment, and 224*224 residue classes, too many to visit); a
    variant with one more window in one factor is not proven."""
    def pad(x):
        s = sympy.floor((x - 1) / 16) + 1
        return s + sympy.Mod(13 * s, 14)
    def eq(a, b):  # as the front end hands it over: both sides expanded
        return sympy.Eq(sympy.expand(a), sympy.expand(b))
    dom = Domain([H >= 1, W >= 1, sympy.Mod(13 * (sympy.floor((W - 1) / 16) + 1), 14) > 0])
    good = eq(160 * N * pad(H) * pad(W), 31360 * N * sympy.floor(pad(H) / 14) * sympy.floor(pad(W) / 14))
    assert decide(good, dom).is_proven
    bad = eq(160 * N * pad(H) * pad(W), 31360 * N * sympy.floor(pad(H) / 14) * sympy.floor((pad(W) + 14) / 14))
    v = decide(bad, dom)
    assert not v.is_proven
    if v.is_refuted:
        p = v.counterexample
        assert not bool(bad.subs({H: p["H"], W: p["W"], N: p["N"]}))


@PROFILE
@given(st.integers(1, 4), st.integers(1, 4), st.integers(2, 5), st.integers(2, 5))
def test_a_window_partition_equation_splits_into_its_exact_per_symbol_sets(s1, s2, k1, k2):
    """h*w == k1*k2*floor(h/k1)*floor(w/k2) (a view into windows) holds exactly where h ≡ 0 (mod k1)
    and w ≡ 0 (mod k2): the sets split_product_equation gives, checked at every size up to 80."""
    from arts.solver.products import split_product_equation

    h, w = sympy.floor((H - 1) / s1) + 1, sympy.floor((W - 1) / s2) + 1
    c = sympy.Eq(sympy.expand(h * w * N), sympy.expand(k1 * k2 * N * sympy.floor(h / k1) * sympy.floor(w / k2)))
    sets = split_product_equation(c)
    assert sets is not None
    holds_at = compile_expr(c)
    for x in range(1, 81):
        for y in range(1, 81, 7):
            holds = bool(holds_at({"H": x, "W": y, "N": 2}))
            assert holds == (x in sets.get(H, IntSet.everything()) and y in sets.get(W, IntSet.everything())), (x, y)
    dom = Domain([c])
    assert not dom.residual and dom.contains({"H": k1 * s1, "W": k2 * s2, "N": 1})


def test_a_product_equal_to_a_constant_bounds_each_factor_to_its_divisors():
    """GCViT's global query, h*w == 49 with h = floor((H-1)/32) + 1: each factor divides 49, so H
    and W are finite; the equation itself stays in the domain."""
    from arts.solver.products import divisor_sets

    h, w = sympy.floor((H - 1) / 32) + 1, sympy.floor((W - 1) / 32) + 1
    c = sympy.Eq(sympy.expand(h * w) / 49, 1)
    sets = divisor_sets(c)
    assert sets[H].is_finite and sets[W].is_finite
    holds_at = compile_expr(c)
    for x in range(1, 1700, 3):
        for y in (1, 200, 224, 1568):
            if bool(holds_at({"H": x, "W": y})):
                assert x in sets[H] and y in sets[W]
    dom = Domain([c])
    assert dom.residual and dom.contains({"H": 224, "W": 224}) and not dom.contains({"H": 224, "W": 1568})


def test_a_fixed_size_model_is_decided_size_by_size_with_the_batch_free():
    """GCViT's global query fixes H and W to a few sizes (h*w == 49 at stride 32), N is free: a
    window view's condition over products of H's and W's floors (outside the quasi-affine
    fragment, with periods too long for residue classes) is decided at each of those sizes, exactly
    in N; a variant that fails for N > 1 is refuted with a point that really fails."""
    h, w = sympy.floor((H - 1) / 32) + 1, sympy.floor((W - 1) / 32) + 1
    dom = Domain([sympy.Eq(sympy.expand(h * w) / 49, 1), H >= 209, W >= 209,
                  sympy.Eq(sympy.Mod(H, 4), 0), sympy.Eq(sympy.Mod(W, 4), 0)])
    gh, gw = sympy.floor((H + 15) / 224), sympy.floor((W + 15) / 224)
    hh, hw = sympy.floor((H + 15) / 16), sympy.floor((W + 15) / 16)
    good = sympy.Or(sympy.Eq(N, 1), sympy.Eq(50176 * gh * gw, 256 * hh * hw))
    assert decide(good, dom).is_proven
    bad = sympy.Or(sympy.Eq(N, 1), sympy.Eq(50176 * gh * gw, 256 * hh * hw + 256 * (H - 212)))
    v = decide(bad, dom)
    assert v.is_refuted and dom.contains(v.counterexample)
    assert not bool(compile_expr(bad)(v.counterexample))


@PROFILE
@given(st.integers(1, 4), st.integers(2, 5), st.integers(1, 12), st.booleans())
def test_split_atoms_keeps_the_formula_at_every_size(s1, k, n, negate):
    """Atoms of products split into one-symbol equations (a window partition's element count, a
    product equal to a constant) leave the formula the same function of the sizes, and leave no
    atom on two symbols."""
    from arts.solver.products import split_atoms

    h, w = sympy.floor((H - 1) / s1) + 1, sympy.floor((W - 1) / 2) + 1
    window = sympy.Eq(sympy.expand(96 * h * w), sympy.expand(96 * k * h * sympy.floor(w / k)))
    constant = sympy.Eq(sympy.expand(3 * h * w), 3 * n)
    f = sympy.Or(sympy.Eq(N, 1), sympy.Not(window) if negate else window, constant)
    g = split_atoms(f)
    assert all(len(a.free_symbols) == 1 for a in g.atoms(sympy.core.relational.Relational))
    fa, ga = compile_expr(f), compile_expr(g)
    for x in range(1, 40):
        for y in range(1, 40, 3):
            p = {"H": x, "W": y, "N": 2}
            assert bool(fa(p)) == bool(ga(p)), (p, g)


def _window_floor(draw_s: int, x: sympy.Symbol) -> sympy.Expr:
    return sympy.floor((x - 1) / draw_s) + 1


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(2, 4), st.integers(1, 9), st.integers(0, 3),
       st.sampled_from(["window", "constant", "both"]))
def test_decisions_on_products_of_sizes_agree_with_brute_force(s1, s2, k, n, lo, kind):
    """The new routes (regrouping, split products, factorisations, fixed sizes) against brute force
    on a box of sizes: proven means no point of the domain in the box fails; refuted means the
    counterexample is in the domain and really fails."""
    h, w = _window_floor(s1, H), _window_floor(s2, W)
    window = sympy.Eq(sympy.expand(N * h * w), sympy.expand(k * k * N * sympy.floor(h / k) * sympy.floor(w / k)))
    constant = sympy.Eq(sympy.expand(h * w), n)
    dom_c = [H >= 1 + lo, W >= 1 + lo] + ([window] if kind != "constant" else [])
    dom = Domain(dom_c)
    formula = {"window": sympy.Or(sympy.Eq(N, 1), sympy.Eq(sympy.floor(k * k * N * sympy.floor(h / k)
                                                                      * sympy.floor(w / k) / (h * w)), N)),
               "constant": sympy.Or(constant, H > n * s1),
               "both": sympy.Implies(window, sympy.Ne(sympy.expand(h * w), n))}[kind]
    v = decide(formula, dom)
    f, inside = compile_expr(formula), [compile_expr(c) for c in dom_c]
    if v.is_refuted:
        p = v.counterexample
        assert dom.contains(p) and not bool(f(p)), (p, formula)
    elif v.is_proven:
        for x in range(1, 41):
            for y in range(1, 41):
                for m in (1, 2, 5):
                    p = {"H": x, "W": y, "N": m}
                    if all(bool(c(p)) for c in inside):
                        assert bool(f(p)), (p, formula, dom)
