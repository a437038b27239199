"""Algorithm 1 (``arts.ops.generate.generate``) against an independent brute-force oracle.

The oracle knows nothing of sympy or of arts' solver: for every candidate ``(k, p, d)`` in a box it
evaluates torch's documented output-size formula with plain Python integers for every input size
``H`` in ``1..300`` and keeps the candidate when it accepts exactly the sizes the seed accepts and
gives the same output on each.  For these families that is exact: both functions are
``floor((H + a) / s) + 1`` on ``H >= -a`` (or ``(H - 1)*s + b`` on the sizes where that is positive),
which agree on 300 consecutive sizes only if they are the same function.  The box is large enough:
equal functions need ``2p' - d'(k'-1) = 2p - d(k-1)`` (same stride), so with two parameters at most
16 the third is at most ``2*16 + 4 + 1 = 37`` (kernel, dilation) or ``(16*15 + 4)/2 = 122`` (padding);
the oracle also checks that nothing it finds touches the edge of its box.

The paper's printed Algorithm 1 is replayed too: its kernel formula has a sign slip, so on the
``pd`` settings it produces convolutions that are not type-equivalent to the seed.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache

import pytest

from arts.ops import parse_op
from arts.ops.generate import generate, generation_json

HS = range(1, 301)
BOX = {"kernel_size": range(1, 81), "padding": range(301), "dilation": range(1, 81)}
ROLE = {"K": "kernel_size", "P": "padding", "D": "dilation"}

#: The paper's Table 3 (seed: conv2d with k=3, p=1, d=1).
TABLE3 = {}
for _n in (4, 8, 12, 16):
    TABLE3[f"kd{_n:02d}"] = {"K": (1, _n), "P": None, "D": (1, _n)}
    TABLE3[f"kp{_n:02d}"] = {"K": (2, _n), "P": (1, _n), "D": None}
    TABLE3[f"pd{_n:02d}"] = {"K": None, "P": (1, _n), "D": (1, _n)}

#: Ops each Table 3 setting yields (``docs/generate.md`` quotes these).
TABLE3_COUNTS = {"kd04": 12, "kd08": 48, "kd12": 108, "kd16": 192,
                 "kp04": 9, "kp08": 26, "kp12": 48, "kp16": 70,
                 "pd04": 11, "pd08": 28, "pd12": 50, "pd16": 72}

SEED = "conv2d(kernel_size=3, padding=1)"


# ---- the oracle -----------------------------------------------------------------------------

def out_size(family: str, H: int, k: int, p: int, d: int, s: int) -> int | None:
    """torch's output size along one axis, or None when torch rejects the input."""
    if family == "conv_transpose2d":
        o = (H - 1) * s - 2 * p + d * (k - 1) + 1
        return o if o >= 1 else None
    # conv2d and max_pool2d (floor mode) share the formula; both reject when it is below 1
    span = H + 2 * p - d * (k - 1) - 1
    return span // s + 1 if span >= 0 else None


def valid(family: str, k: int, p: int, d: int) -> bool:
    # torch: a pool's padding should be at most half of its kernel size
    return k >= 1 and p >= 0 and d >= 1 and not (family == "max_pool2d" and 2 * p > k)


def same_type(family: str, a: tuple[int, int, int], b: tuple[int, int, int], s: int) -> bool:
    return all(out_size(family, H, *a, s) == out_size(family, H, *b, s) for H in HS)


def oracle(family: str, seed: tuple[int, int, int], s: int, K=None, P=None, D=None) -> list[tuple[int, int, int]]:
    """Every valid ``(k, p, d)`` type-equivalent to ``seed``, in Cartesian order of the two ranges
    (free value ascending); a free value that never matters (the dilation of a 1x1 kernel) is
    reported once, as its smallest value."""
    ranges = {"K": K, "P": P, "D": D}
    (free,) = [r for r, v in ranges.items() if v is None]
    bound = [r for r in "KPD" if r != free]
    out = []
    lo0, hi0 = ranges[bound[0]]
    lo1, hi1 = ranges[bound[1]]
    for x in range(lo0, hi0 + 1):
        for y in range(lo1, hi1 + 1):
            found = []
            box = BOX[ROLE[free]]
            for z in box:
                vals = {bound[0]: x, bound[1]: y, free: z}
                cand = (vals["K"], vals["P"], vals["D"])
                if valid(family, *cand) and same_type(family, seed, cand, s):
                    found.append(cand)
            if len(found) == len(box):
                found = found[:1]
            else:
                assert all(c[("K", "P", "D").index(free)] not in (box[0] - 1, box[-1]) for c in found), \
                    "oracle box too small"
            out.extend(found)
    return out


# ---- the paper's printed Algorithm 1 --------------------------------------------------------

def paper_algorithm1(seed: tuple[int, int, int], K=None, P=None, D=None) -> list[tuple[int, int, int]]:
    """Algorithm 1 exactly as printed (with its formula for k')."""
    k, p, d = seed
    out = []
    Ks = range(K[0], K[1] + 1) if K else [None]
    Ps = range(P[0], P[1] + 1) if P else [None]
    Ds = range(D[0], D[1] + 1) if D else [None]
    for k2 in Ks:
        for p2 in Ps:
            for d2 in Ds:
                if K is None:
                    k2 = Fraction(2 * p2 - 2 * p - d * (k - 1), d2) + 1
                elif P is None:
                    p2 = Fraction(d2 * (k2 - 1), 2)
                else:
                    if k2 == 1:
                        continue  # 2p'/(k'-1) is undefined
                    d2 = Fraction(2 * p2, k2 - 1)
                vals = (Fraction(k2), Fraction(p2), Fraction(d2))
                if all(v.denominator == 1 for v in vals) and vals[0] >= 1 and vals[1] >= 0 and vals[2] >= 1:
                    out.append(tuple(int(v) for v in vals))
    return out


# ---- helpers --------------------------------------------------------------------------------

def triples(ops) -> list[tuple[int, int, int]]:
    out = []
    for o in generation_json(ops):
        out.append((o["kernel_size"], o["padding"], o.get("dilation", 1)))
    return out


@cache
def ours(seed: str, K=None, P=None, D=None) -> tuple:
    return tuple(generate(seed, K=K, P=P, D=D))


def seed_triple(text: str) -> tuple[tuple[int, int, int], int]:
    p = parse_op(text).params
    return (p["kernel_size"][0], p["padding"][0], p["dilation"][0]), p["stride"][0]


# ---- Table 3 --------------------------------------------------------------------------------

@pytest.mark.parametrize("code", list(TABLE3))
def test_table3_settings_match_the_oracle(code):
    s = TABLE3[code]
    got = ours(SEED, **s)
    want = oracle("conv2d", (3, 1, 1), 1, **s)
    assert triples(got) == want
    assert len(got) == TABLE3_COUNTS[code]
    assert all(o.name == "conv2d" and o.params["stride"] == (1, 1) for o in got)


def test_paper_formula_is_right_when_kernel_is_bound():
    # P or D derived: the printed formulas agree with the oracle for this "same" seed
    for code in ("kd08", "kp08"):
        assert paper_algorithm1((3, 1, 1), **TABLE3[code]) == triples(ours(SEED, **TABLE3[code]))


@pytest.mark.parametrize("code", ["pd04", "pd08", "pd12", "pd16"])
def test_paper_sign_slip_gives_wrong_kernels(code):
    s = TABLE3[code]
    printed = paper_algorithm1((3, 1, 1), **s)
    correct = triples(ours(SEED, **s))
    assert printed != correct
    # every op the printed formula adds is really not type-equivalent to the seed ...
    wrong = [t for t in printed if t not in correct]
    assert wrong
    assert not any(same_type("conv2d", (3, 1, 1), t, 1) for t in wrong if valid("conv2d", *t))
    # ... and every op it misses really is
    missed = [t for t in correct if t not in printed]
    assert missed and all(same_type("conv2d", (3, 1, 1), t, 1) for t in missed)
    # e.g. p'=2, d'=1: printed k' = (4 - 2 - 2)/1 + 1 = 1 (a 1x1 conv with padding 2: H -> H + 4);
    # solving gives k' = (4 - 2 + 2)/1 + 1 = 5
    assert (1, 2, 1) in printed and (5, 2, 1) in correct


# ---- other seeds ----------------------------------------------------------------------------

OTHER = [
    # (seed, family, ranges)
    ("conv2d(kernel_size=5)", "conv2d", {"K": (1, 7), "P": None, "D": (1, 4)}),  # not "same": H -> H - 4
    ("conv2d(kernel_size=5)", "conv2d", {"K": None, "P": (0, 6), "D": (1, 4)}),
    ("conv2d(kernel_size=5)", "conv2d", {"K": (2, 7), "P": (0, 6), "D": None}),
    ("conv2d(kernel_size=3, stride=2, padding=1)", "conv2d", {"K": (1, 6), "P": None, "D": (1, 6)}),
    ("conv2d(kernel_size=3, stride=2, padding=1)", "conv2d", {"K": None, "P": (0, 6), "D": (1, 4)}),
    ("conv_transpose2d(kernel_size=3, padding=1)", "conv_transpose2d", {"K": (1, 6), "P": None, "D": (1, 6)}),
    ("conv_transpose2d(kernel_size=4, stride=2, padding=1)", "conv_transpose2d",
     {"K": None, "P": (0, 6), "D": (1, 4)}),
    ("max_pool2d(kernel_size=3, stride=1, padding=1)", "max_pool2d", {"K": (1, 9), "P": None, "D": (1, 4)}),
    ("max_pool2d(kernel_size=2)", "max_pool2d", {"K": (1, 9), "P": None, "D": (1, 4)}),
    ("max_pool2d(kernel_size=2)", "max_pool2d", {"K": (2, 7), "P": (0, 3), "D": None}),
]


@pytest.mark.parametrize("seed,family,ranges", OTHER, ids=[f"{s} {sorted((k, v) for k, v in r.items() if v)}"
                                                            for s, _, r in OTHER])
def test_other_seeds_match_the_oracle(seed, family, ranges):
    st, stride = seed_triple(seed)
    got = ours(seed, **ranges)
    want = oracle(family, st, stride, **ranges)
    assert triples(got) == want
    assert want, "a setting with no solution would test little"
    assert all(o.name == family and o.params["stride"] == (stride, stride) for o in got)


def test_paper_formula_ignores_a_non_same_seed():
    # for H -> H - 4 the printed P formula still yields "same" convs (p' = d'(k'-1)/2)
    ranges = {"K": (1, 7), "P": None, "D": (1, 4)}  # shared with OTHER (cached)
    printed = paper_algorithm1((5, 0, 1), **ranges)
    correct = triples(ours("conv2d(kernel_size=5)", **ranges))
    assert printed != correct
    assert (3, 1, 1) in printed and not same_type("conv2d", (5, 0, 1), (3, 1, 1), 1)
    assert (5, 0, 1) in correct and (5, 0, 1) not in printed


def test_dedupe_keeps_first_of_complete_equivalents():
    ranges = {"K": (1, 4), "P": None, "D": (1, 4)}
    full = triples(ours(SEED, **ranges))
    deduped = triples(generate(SEED, dedupe=True, **ranges))
    assert deduped == [t for t in full if t[0] != 1 or t[2] == 1]


def test_generated_ops_agree_with_torch():
    import torch

    for op in ours(SEED, **TABLE3["pd04"]):
        for H in (1, 2, 7):
            module = op.spec.build(op.params, [(1, 1, H, H + 1)])
            with torch.no_grad():
                assert tuple(module(torch.zeros(1, 1, H, H + 1)).shape) == (1, 1, H, H + 1)
