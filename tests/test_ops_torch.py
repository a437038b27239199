"""Property tests of every op's rule against torch, the oracle.

For random valid parameters and random small input shapes: the rule's conditions hold exactly
when torch runs the op, and then the rule's output shape is torch's.  Input shapes are partly
symbolic (``dim("x0_2")``, shared symbols for equal sizes, literals) so the symbolic path of each
rule is exercised; the conditions and the output are then evaluated at the concrete sizes with
:func:`arts.solver.evaluate.evaluate`.  Conditions with ``mode="train"`` are checked against
torch in training mode, the others in eval mode.

arts sizes are positive: a torch result with an empty dimension counts as a rejection.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import pytest
import sympy
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arts.errors import Unsupported
from arts.ops import REGISTRY, Op, StaticShapeError
from arts.solver.evaluate import evaluate
from arts.solver.symbols import dim

torch.set_num_threads(1)

#: Per op: deterministic examples (derandomize), no deadline (torch's first call is slow).
SETTINGS = settings(max_examples=80, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))

TORCH_ERRORS = (RuntimeError, ValueError, IndexError)  # NotImplementedError is a RuntimeError

#: Every op name some property test below exercises.
COVERED: set[str] = set()


def family(*names: str, examples: int = 80) -> Callable[[Any], Any]:
    """A property test run once per op name (``name`` argument) with its own examples."""
    def deco(f: Any) -> Any:
        COVERED.update(names)
        f = settings(SETTINGS, max_examples=examples)(given(data=st.data())(f))
        return pytest.mark.parametrize("name", names)(f)
    return deco


# ---- the oracle ---------------------------------------------------------------------------------

def symbolize(draw: Any, shapes: list[tuple[int, ...]]) -> tuple[list[tuple], dict[str, int]]:
    """Replace sizes by symbols: literal, a symbol of its own, or a symbol shared by equal sizes."""
    env: dict[str, int] = {}
    out = []
    for i, s in enumerate(shapes):
        t = []
        for j, v in enumerate(s):
            how = draw(st.sampled_from(["lit", "sym", "shared", "shared"]))
            if how == "lit":
                t.append(sympy.Integer(v))
                continue
            name = f"x{i}_{j}" if how == "sym" else f"S{v}"
            env[name] = v
            t.append(dim(name))
        out.append(tuple(t))
    return out, env


def run_torch(op: Op, shapes: list[tuple[int, ...]], train: bool) -> Any:
    """torch's output shape, or the exception it raised, or "empty" for an empty result."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.manual_seed(0)
            module = op.spec.build(op.params, shapes)
            module.train(train)
            with torch.no_grad():
                y = module(*[torch.zeros(s) for s in shapes])
        except TORCH_ERRORS as e:
            return e
    shape = tuple(y.shape)
    return "empty" if 0 in shape else shape


def check(draw: Any, name: str, params: dict[str, Any], shapes: list[tuple[int, ...]],
          symbolic: bool = True, literal_if_unsupported: bool = False) -> None:
    """Assert that the rule of ``name(params)`` agrees with torch on ``shapes``.

    ``literal_if_unsupported``: when the rule cannot handle the symbolic shapes (squeezing a
    symbolic size), check it on the literal sizes instead.
    """
    assert name in COVERED, f"{name} is tested but not declared with @family"
    op = Op.make(name, params)
    sym, env = symbolize(draw, shapes) if symbolic else ([tuple(map(sympy.Integer, s)) for s in shapes], {})
    try:
        inferred = op.apply(sym)
    except Unsupported:
        if not (symbolic and literal_if_unsupported):
            raise
        check(draw, name, params, shapes, symbolic=False)
        return
    except StaticShapeError as e:
        for train in (False, True):
            got = run_torch(op, shapes, train)
            assert not isinstance(got, tuple), (
                f"{op} on {shapes}: rule says static error ({e.message}) but torch gives {got}")
        return
    ok = {False: True, True: True}
    failed = {False: None, True: None}
    for c in inferred.conditions:
        holds = bool(evaluate(c.formula, env))
        for train in (False, True):
            if not holds and (c.mode == "any" or train):
                ok[train] = False
                failed[train] = failed[train] or c.message
    for train in (False, True):
        got = run_torch(op, shapes, train)
        where = f"{op} on {shapes} (symbolic {sym}, {'train' if train else 'eval'} mode)"
        if ok[train]:
            assert isinstance(got, tuple), f"{where}: rule accepts but torch gives {got!r}"
            want = tuple(int(evaluate(e, env)) for e in inferred.shape)
            assert got == want, f"{where}: rule says {want} ({inferred.shape}) but torch gives {got}"
        else:
            assert not isinstance(got, tuple), f"{where}: rule rejects ({failed[train]}) but torch gives {got}"


def channel_shape(draw: Any, n: int, c: int, hi: int, ranks: list[int]) -> tuple[int, ...]:
    """A ``(*batch, c, *spatial)`` shape with ``n`` spatial sizes in 1..hi, of a rank drawn from
    ``ranks`` (a rank below ``n + 1`` keeps only the last spatial sizes)."""
    rank = draw(st.sampled_from(ranks))
    spatial = [draw(st.one_of(st.integers(1, min(hi, 6)), st.integers(1, hi))) for _ in range(n)]
    if rank < n + 1:
        return tuple(spatial[n - rank:])
    return tuple([draw(st.integers(1, 3)) for _ in range(rank - n - 1)] + [c] + spatial)


def maybe(draw: Any, value: Any, other: Any) -> Any:
    """``value`` most of the time (so that inputs are often accepted), else a draw from ``other``."""
    return value if draw(st.integers(0, 3)) else draw(other)


# ---- convolutions -------------------------------------------------------------------------------

def tup(n: int, lo: int, hi: int) -> Any:
    return st.lists(st.integers(lo, hi), min_size=n, max_size=n).map(tuple)


@family("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", examples=120)
def test_conv(name: str, data: Any) -> None:
    draw = data.draw
    n = int(name[-2])
    transposed = "transpose" in name
    k, s, d = draw(tup(n, 1, 4)), draw(tup(n, 1, 3)), draw(tup(n, 1, 3))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    in_c = draw(st.one_of(st.none(), st.integers(1, 2).map(lambda m: m * groups)))
    out_c = draw(st.one_of(st.none(), st.integers(1, 2).map(lambda m: m * groups)))
    p: dict[str, Any] = {"kernel_size": k, "stride": s, "dilation": d, "groups": groups,
                         "in_channels": in_c, "out_channels": out_c, "bias": draw(st.booleans())}
    if transposed:
        p["padding"] = draw(tup(n, 0, 3))
        p["output_padding"] = tuple(draw(st.integers(0, max(si, di) - 1)) for si, di in zip(s, d))
    else:
        pads = [draw(tup(n, 0, 3)), "valid"] + (["same"] if all(x == 1 for x in s) else [])
        p["padding"] = draw(st.sampled_from(pads))
        p["padding_mode"] = draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))
    c = maybe(draw, in_c if in_c is not None else groups * draw(st.integers(1, 2)), st.integers(1, 6))
    hi = 24 if n < 3 else 10
    check(draw, name, p, [channel_shape(draw, n, c, hi, [n, n + 1, n + 1, n + 2, n + 2, n + 2, n + 3])])


@family("sep_conv2d")
def test_sep_conv2d(name: str, data: Any) -> None:
    draw = data.draw
    s = draw(tup(2, 1, 2))
    p = {"kernel_size": draw(tup(2, 1, 5)), "stride": s, "dilation": draw(tup(2, 1, 2)),
         "padding": draw(st.sampled_from([draw(tup(2, 0, 2))] + (["same"] if s == (1, 1) else []))),
         "in_channels": draw(st.one_of(st.none(), st.integers(1, 4))),
         "out_channels": draw(st.one_of(st.none(), st.integers(1, 4))), "bias": draw(st.booleans())}
    c = maybe(draw, p["in_channels"] or 3, st.integers(1, 4))
    check(draw, name, p, [channel_shape(draw, 2, c, 24, [2, 3, 4, 4, 5])])


@family("factorized_reduction")
def test_factorized_reduction(name: str, data: Any) -> None:
    draw = data.draw
    in_c = draw(st.one_of(st.none(), st.integers(1, 4)))
    out_c = draw(st.one_of(st.none(), st.sampled_from([2, 4, 6])))
    if out_c is None and in_c is not None and in_c % 2:
        in_c += 1
    c = maybe(draw, in_c or 2, st.integers(1, 5))
    shape = channel_shape(draw, 2, c, 5, [3, 4, 4, 4, 5])
    check(draw, name, {"in_channels": in_c, "out_channels": out_c}, [shape])


# ---- pooling ------------------------------------------------------------------------------------

@family(*[f"{kind}_pool{n}d" for kind in ("max", "avg") for n in (1, 2, 3)], examples=120)
def test_pool(name: str, data: Any) -> None:
    draw = data.draw
    n, kind = int(name[-2]), name[:3]
    k = draw(tup(n, 1, 5))
    p: dict[str, Any] = {
        "kernel_size": k,
        "stride": draw(st.one_of(st.none(), tup(n, 1, 4))),
        "padding": tuple(draw(st.integers(0, ki // 2)) for ki in k),
        "ceil_mode": draw(st.booleans()),
    }
    if kind == "max":
        p["dilation"] = draw(tup(n, 1, 3))
    else:
        p["count_include_pad"] = draw(st.booleans())
        if n > 1:
            p["divisor_override"] = draw(st.one_of(st.none(), st.integers(1, 3)))
    hi = 24 if n < 3 else 10
    check(draw, name, p, [channel_shape(draw, n, draw(st.integers(1, 3)), hi, [n, n + 1, n + 2, n + 2, n + 3])])


@family(*[f"adaptive_{kind}_pool{n}d" for kind in ("max", "avg") for n in (1, 2, 3)], examples=40)
def test_adaptive_pool(name: str, data: Any) -> None:
    draw = data.draw
    n = int(name[-2])
    out = tuple(draw(st.integers(1, 6) if n == 1 else st.one_of(st.none(), st.integers(1, 6))) for _ in range(n))
    shape = channel_shape(draw, n, draw(st.integers(1, 3)), 12, [n, n + 1, n + 2, n + 2, n + 3])
    check(draw, name, {"output_size": out}, [shape])


# ---- linear and shape ops -----------------------------------------------------------------------

def sizes(draw: Any, rank: int, hi: int = 5) -> list[int]:
    return [draw(st.integers(1, hi)) for _ in range(rank)]


@family("linear")
def test_linear(name: str, data: Any) -> None:
    draw = data.draw
    fin = draw(st.one_of(st.none(), st.integers(1, 6)))
    fout = draw(st.one_of(st.none(), st.integers(1, 6)))
    shape = sizes(draw, draw(st.integers(0, 4)))
    if shape and fin is not None and draw(st.booleans()):
        shape[-1] = fin
    check(draw, name, {"in_features": fin, "out_features": fout, "bias": draw(st.booleans())}, [tuple(shape)])


@family("flatten")
def test_flatten(name: str, data: Any) -> None:
    draw = data.draw
    shape = sizes(draw, draw(st.integers(0, 5)))
    p = {"start_dim": draw(st.integers(-6, 5)), "end_dim": draw(st.integers(-6, 5))}
    check(draw, name, {} if draw(st.integers(0, 3)) == 0 else p, [tuple(shape)])  # {}: nn.Flatten's defaults


@family("unflatten")
def test_unflatten(name: str, data: Any) -> None:
    draw = data.draw
    rank = draw(st.integers(0, 4))
    shape = sizes(draw, rank)
    parts = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    d = draw(st.integers(-rank - 1, max(rank, 1)))
    if -rank <= d < rank and draw(st.integers(0, 3)):
        shape[d] = math.prod(parts) * (draw(st.integers(1, 3)) if draw(st.booleans()) else 1)
    if draw(st.booleans()):
        parts[draw(st.integers(0, len(parts) - 1))] = -1
    check(draw, name, {"dim": d, "unflattened_size": parts}, [tuple(shape)])


@family("reshape", "view")
def test_reshape_view(name: str, data: Any) -> None:
    draw = data.draw
    shape = sizes(draw, draw(st.integers(0, 4)), 6)
    numel = math.prod(shape)
    divisors = [x for x in range(1, numel + 1) if numel % x == 0]
    kind = draw(st.sampled_from(["exact", "infer", "random"]))
    if kind == "exact":
        a = draw(st.sampled_from(divisors))
        target = [a, numel // a] if draw(st.booleans()) else [numel // a, 1, a]
    elif kind == "infer":
        a = draw(st.one_of(st.sampled_from(divisors), st.integers(1, 8)))
        target = draw(st.permutations([a, -1]))
    else:
        target = draw(st.lists(st.integers(1, 6), min_size=0, max_size=4))
    check(draw, name, {"shape": list(target)}, [tuple(shape)])


def small_shape(draw: Any) -> tuple[int, ...]:
    return tuple(draw(st.sampled_from([1, 1, 2, 3])) for _ in range(draw(st.integers(0, 4))))


@family("permute")
def test_permute(name: str, data: Any) -> None:
    draw = data.draw
    shape = small_shape(draw)
    rank = len(shape)
    dims = [x - rank if draw(st.booleans()) else x for x in draw(st.permutations(range(rank)))]
    if draw(st.integers(0, 3)) == 0:
        dims = draw(st.lists(st.integers(-5, 4), max_size=5))
    check(draw, name, {"dims": dims}, [shape])


@family("transpose")
def test_transpose(name: str, data: Any) -> None:
    draw = data.draw
    check(draw, name, {"dim0": draw(st.integers(-5, 4)), "dim1": draw(st.integers(-5, 4))}, [small_shape(draw)])


@family("unsqueeze")
def test_unsqueeze(name: str, data: Any) -> None:
    draw = data.draw
    check(draw, name, {"dim": draw(st.integers(-6, 5))}, [small_shape(draw)])


@family("squeeze")
def test_squeeze(name: str, data: Any) -> None:
    draw = data.draw
    d = draw(st.one_of(st.none(), st.integers(-5, 4), st.lists(st.integers(-5, 4), max_size=3)))
    check(draw, name, {"dim": d}, [small_shape(draw)], literal_if_unsupported=True)


def test_squeeze_symbolic_is_unsupported() -> None:
    with pytest.raises(Unsupported, match="output rank"):
        Op.make("squeeze", {"dim": 1}).apply([(dim("N"), dim("C"))])
    assert Op.make("squeeze", {"dim": 1}).apply([(dim("N"), 1, dim("H"))]).shape == (dim("N"), dim("H"))


# ---- normalisation ------------------------------------------------------------------------------

@family(*[f"{kind}_norm{n}d" for kind in ("batch", "instance") for n in (1, 2, 3)])
def test_batch_instance_norm(name: str, data: Any) -> None:
    draw = data.draw
    n = int(name[-2])
    nf = draw(st.one_of(st.none(), st.integers(1, 4)))
    p = {"num_features": nf, "affine": draw(st.booleans()), "track_running_stats": draw(st.booleans()),
         "momentum": draw(st.sampled_from([0.1, None]))}
    c = maybe(draw, nf or 2, st.integers(1, 4))
    good = [2, 3] if name == "batch_norm1d" else [n + 2] if name.startswith("batch") else [n + 1, n + 2]
    ranks = good * 3 + list(range(1, n + 4))
    check(draw, name, p, [channel_shape(draw, n if n > 1 or name != "batch_norm1d" else 1, c, 2, ranks)])


@family("layer_norm")
def test_layer_norm(name: str, data: Any) -> None:
    draw = data.draw
    shape = sizes(draw, draw(st.integers(1, 5)), 4)
    ns = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    if draw(st.integers(0, 3)):
        m = min(len(ns), len(shape))
        shape[len(shape) - m:] = ns[len(ns) - m:]
    p = {"normalized_shape": ns, "elementwise_affine": draw(st.booleans()), "bias": draw(st.booleans())}
    check(draw, name, p, [tuple(shape)])


@family("group_norm")
def test_group_norm(name: str, data: Any) -> None:
    draw = data.draw
    shape = [draw(st.integers(1, 2)) for _ in range(draw(st.integers(1, 5)))]
    g = draw(st.integers(1, 4))
    nc = draw(st.one_of(st.none(), st.integers(1, 2).map(lambda m: m * g)))
    if len(shape) >= 2:
        shape[1] = maybe(draw, nc or g * draw(st.integers(1, 2)), st.integers(1, 6))
    check(draw, name, {"num_groups": g, "num_channels": nc, "affine": draw(st.booleans())}, [tuple(shape)])


# ---- element-wise -------------------------------------------------------------------------------

_P = st.sampled_from([0.0, 0.5, 0.5, 1.0])
_ELEMENTWISE: dict[str, Callable[[Any], dict[str, Any]]] = {
    "identity": lambda d: {},
    "dropout": lambda d: {"p": d(_P)},
    "alpha_dropout": lambda d: {"p": d(_P)},
    "dropout1d": lambda d: {"p": d(_P)},
    "dropout2d": lambda d: {"p": d(_P)},
    "dropout3d": lambda d: {"p": d(_P)},
    "relu": lambda d: {"inplace": d(st.booleans())},
    "relu6": lambda d: {},
    "leaky_relu": lambda d: {"negative_slope": 0.2},
    "elu": lambda d: {"alpha": 0.5},
    "selu": lambda d: {},
    "gelu": lambda d: {"approximate": d(st.sampled_from(["none", "tanh"]))},
    "silu": lambda d: {},
    "sigmoid": lambda d: {},
    "tanh": lambda d: {},
    "hardswish": lambda d: {},
    "hardsigmoid": lambda d: {},
    "hardtanh": lambda d: {"min_val": -2.0, "max_val": 0.5},
    "mish": lambda d: {},
    "softplus": lambda d: {"beta": 2.0, "threshold": 10},
    "softmax": lambda d: {"dim": d(st.one_of(st.none(), st.integers(-6, 5)))},
    "log_softmax": lambda d: {"dim": d(st.one_of(st.none(), st.integers(-6, 5)))},
}


@family(*_ELEMENTWISE, examples=25)
def test_elementwise(name: str, data: Any) -> None:
    draw = data.draw
    check(draw, name, _ELEMENTWISE[name](draw), [tuple(sizes(draw, draw(st.integers(0, 5)), 3))])


# ---- merging ------------------------------------------------------------------------------------

_BINARY_PARAMS: dict[str, dict[str, Any]] = {
    "add": {"alpha": 2}, "sub": {}, "mul": {}, "div": {"rounding_mode": "floor"}}


@family(*_BINARY_PARAMS, examples=60)
def test_broadcast(name: str, data: Any) -> None:
    draw = data.draw
    base = sizes(draw, draw(st.integers(0, 4)), 4)

    def variant() -> tuple[int, ...]:
        r = draw(st.integers(0, len(base)))
        return tuple(draw(st.sampled_from([v, v, 1, draw(st.integers(1, 4))])) if draw(st.integers(0, 2)) else
                     draw(st.integers(1, 4)) for v in base[len(base) - r:])

    check(draw, name, _BINARY_PARAMS[name], [variant(), variant()])


def test_broadcast_output_is_exact_piecewise() -> None:
    a, b = dim("A"), dim("B")
    inferred = Op.make("add").apply([(a,), (b,)])
    (out,) = inferred.shape
    for va, vb, want in ((1, 5, 5), (5, 1, 5), (4, 4, 4), (1, 1, 1)):
        assert evaluate(out, {"A": va, "B": vb}) == want
    assert not evaluate(inferred.conditions[0].formula, {"A": 2, "B": 3})
    assert Op.make("mul").apply([(a, 3), (1,)]).shape == (a, 3)
    with pytest.raises(StaticShapeError):
        Op.make("mul").apply([(2, 3), (3, 2)])


@family("cat", "stack")
def test_cat_stack(name: str, data: Any) -> None:
    draw = data.draw
    rank = draw(st.integers(0, 4))
    base = sizes(draw, rank, 4)
    d = draw(st.integers(-rank - 2, rank + 1))
    shapes = []
    for _ in range(draw(st.integers(1, 3))):
        s = list(base)
        if s and draw(st.booleans()):
            along = name == "cat" and -rank <= d < rank and draw(st.integers(0, 3))
            s[d if along else draw(st.integers(0, rank - 1))] = draw(st.integers(1, 4))
        if draw(st.integers(0, 9)) == 0:
            s = s + [2]
        shapes.append(tuple(s))
    check(draw, name, {"dim": d}, shapes)


# ---- resizing -----------------------------------------------------------------------------------

_SCALES = [0.25, 0.5, 0.75, 1, 1.5, 2, 2.5, 3]
_MODE_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "lanczos": 4, "trilinear": 5}


@family("upsample", "interpolate", examples=150)
def test_upsample_interpolate(name: str, data: Any) -> None:
    draw = data.draw
    modes = ["nearest", "nearest-exact", "area", "linear", "bilinear", "bicubic", "trilinear"]
    mode = draw(st.sampled_from(modes + (["lanczos"] if name == "interpolate" else [])))
    rank = _MODE_RANK.get(mode) or draw(st.integers(3, 5))
    rank = maybe(draw, rank, st.integers(2, 6))
    n = min(max(rank - 2, 1), 3)
    p: dict[str, Any] = {"mode": mode}
    as_list = draw(st.booleans())
    if draw(st.booleans()):
        p["size"] = [draw(st.integers(1, 7)) for _ in range(n)] if as_list else draw(st.integers(1, 7))
    else:
        p["scale_factor"] = [draw(st.sampled_from(_SCALES)) for _ in range(n)] if as_list else draw(
            st.sampled_from(_SCALES))
        p["recompute_scale_factor"] = draw(st.sampled_from([None, False, True]))
    if mode not in ("nearest", "nearest-exact", "area"):
        p["align_corners"] = draw(st.sampled_from([None, False] + ([True] if mode != "lanczos" else [])))
    if name == "interpolate" and mode in ("bilinear", "bicubic", "lanczos"):
        p["antialias"] = mode == "lanczos" or draw(st.booleans())
    check(draw, name, p, [tuple(sizes(draw, rank, 6))])


def test_interpolate_rejects_inexact_scale_factors() -> None:
    for s in (0.1, 1 / 3, 0.7):
        op = Op.make("interpolate", {"scale_factor": s})
        with pytest.raises(Unsupported, match="dyadic"):
            op.apply([(dim("N"), dim("C"), dim("H"), dim("W"))])
    out = Op.make("upsample", {"scale_factor": 1.5}).apply([(dim("N"), dim("C"), dim("H"), 5)]).shape
    assert out[2] == sympy.floor(dim("H") * sympy.Rational(3, 2)) and out[3] == 7


@family("pixel_shuffle", "pixel_unshuffle", examples=50)
def test_pixel_shuffle(name: str, data: Any) -> None:
    draw = data.draw
    r = draw(st.integers(1, 3))
    shape = sizes(draw, draw(st.integers(2, 5)), 4)
    if len(shape) >= 3 and draw(st.booleans()):
        if name == "pixel_shuffle":
            shape[-3] = r * r * draw(st.integers(1, 2))
        else:
            shape[-2], shape[-1] = r * draw(st.integers(1, 3)), r * draw(st.integers(1, 3))
    key = "upscale_factor" if name == "pixel_shuffle" else "downscale_factor"
    check(draw, name, {key: r}, [tuple(shape)])


@family("pad", examples=300)
def test_pad(name: str, data: Any) -> None:
    draw = data.draw
    mode = draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    m = draw(st.integers(0 if mode == "constant" else 1, 3))
    lo = 0 if mode == "circular" else -4
    p: dict[str, Any] = {"pad": [draw(st.integers(lo, 4)) for _ in range(2 * m)], "mode": mode}
    if mode == "constant":
        p["value"] = draw(st.sampled_from([None, 0, 1.5]))
    rank = maybe(draw, draw(st.sampled_from([m + 1, m + 2])), st.integers(max(m - 1, 0), m + 3))
    check(draw, name, p, [tuple(sizes(draw, rank, 5))])


def test_pad_circular_negative_is_unsupported() -> None:
    with pytest.raises(Unsupported, match="circular"):
        Op.make("pad", {"pad": [1, -1], "mode": "circular"}).apply([(dim("N"), dim("C"), dim("W"))])


# ---- static errors ------------------------------------------------------------------------------

_WRONG_RANK = {
    "conv2d": (2, 3), "conv_transpose1d": (2, 2, 2, 2), "max_pool3d": (2, 2), "avg_pool1d": (1, 1, 1, 4),
    "adaptive_avg_pool2d": (3, 3), "batch_norm1d": (4,), "batch_norm2d": (2, 3, 3), "instance_norm3d": (2, 3),
    "dropout1d": (2, 2, 2, 2), "linear": (), "layer_norm": (3,), "group_norm": (4,), "pixel_shuffle": (4, 2),
    "factorized_reduction": (2, 4, 4), "sep_conv2d": (2, 2, 2, 2, 2), "cat": (), "flatten": (3,),
}
_WRONG_PARAMS: dict[str, dict[str, Any]] = {
    "conv2d": {"kernel_size": 1}, "conv_transpose1d": {"kernel_size": 1}, "sep_conv2d": {"kernel_size": 3},
    "adaptive_avg_pool2d": {"output_size": 1}, "max_pool3d": {"kernel_size": 1}, "avg_pool1d": {"kernel_size": 1},
    "layer_norm": {"normalized_shape": [1, 3]}, "group_norm": {"num_groups": 2},
    "pixel_shuffle": {"upscale_factor": 2},
}


@pytest.mark.parametrize("name", sorted(_WRONG_RANK))
def test_wrong_rank_is_static_and_torch_raises(name: str) -> None:
    shape = _WRONG_RANK[name]
    op = Op.make(name, _WRONG_PARAMS.get(name, {}))
    with pytest.raises(StaticShapeError) as info:
        op.apply([tuple(map(sympy.Integer, shape))])
    assert name in info.value.message
    for train in (False, True):
        assert not isinstance(run_torch(op, [shape], train), tuple)


# ---- coverage -----------------------------------------------------------------------------------

def _declared_elsewhere() -> set[str]:
    """Op names other test modules check against torch, declared as a module-level literal
    ``TORCH_ORACLE_COVERS = {...}`` (read with ast: nothing is imported)."""
    import ast
    from pathlib import Path

    names: set[str] = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        if path.name == Path(__file__).name:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "TORCH_ORACLE_COVERS"):
                names |= set(ast.literal_eval(node.value))
    return names


def test_every_registered_op_is_covered() -> None:
    """No op may join the registry without a property test against torch."""
    missing = sorted(set(REGISTRY) - COVERED - _declared_elsewhere())
    assert not missing, (
        "ops without a property test against torch: "
        + ", ".join(f"{n} ({type(REGISTRY[n]).__module__})" for n in missing)
        + ".  Add a @family test here, or test them in another tests/test_*.py module and list them "
          "there in a module-level TORCH_ORACLE_COVERS = {...}.")
    stale = sorted(COVERED - set(REGISTRY))
    assert not stale, f"tests cover ops that are not registered: {stale}"


def test_ops_import_without_torch() -> None:
    import subprocess
    import sys

    code = "import sys, arts.ops; assert 'torch' not in sys.modules, 'arts.ops imported torch'"
    subprocess.run([sys.executable, "-c", code], check=True)
