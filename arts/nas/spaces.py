"""Search spaces for ENAS macro search: the paper's named spaces and user-defined ones.

A :class:`SearchSpace` is the list of the controller's choices (an op may appear several
times: the paper's "6{...}" repeats a set of ops six times among the choices) together with the
*seed* each choice stands in for.  Every choice must be proven type-equivalent (Def. 2) to its
seed before a single weight is allocated (:func:`check_space`); for the macro space every seed
is ENAS's ``conv2d(kernel_size=3, padding=1)``, so every architecture of the space is well-typed
by construction -- :func:`check_image_size` then runs :func:`arts.graph.enas.verify_space` on the
dataset's actual image size.

Named spaces (``arts spaces`` lists them):

* ``S0``: the ENAS macro ops (:data:`arts.graph.enas.MACRO_S0`).
* ``3a`` ... ``3G``: the paper's Table 1/2 (dilated convolutions, repeated sets, transposed ones).
* ``T1-kd04`` ... ``T1-pd16``: as the authors built them -- S0, the settings Algorithm 1 generates
  for Table 3's ranges with their duplicates, and ``ceil(n/4)`` copies each of the 3x3 avg and max
  pools (choices: kd04 24, kd08 78, kd12 168, kd16 294, kp04 21, kp08 46, kp12 78, kp16 112, pd04
  23, pd08 48, pd12 82, pd16 114).  ``prepare(..., dedupe_ops=True)`` gives the deduplicated
  layout (distinct convs, distinct type-equivalent pools).

Every choice is its own branch of the shared network (its own weights), duplicates included.

This module does not import torch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from arts.errors import InputError
from arts.graph.fileformat import read_data_file
from arts.graph.enas import MACRO_S0, MacroSpace
from arts.ops.base import Op, as_op

#: The op every macro choice stands in for (ENAS's 3x3 "same" convolution).
MACRO_SEED = "conv2d(kernel_size=3, padding=1)"
MAX_POOL_SEED = "max_pool2d(kernel_size=3, stride=1, padding=1)"
AVG_POOL_SEED = "avg_pool2d(kernel_size=3, stride=1, padding=1)"

#: Table 2's five dilated convolutions (3a-3d, 3G).
DILATED = (
    "conv2d(kernel_size=3, padding=2, dilation=2)",
    "conv2d(kernel_size=3, padding=3, dilation=3)",
    "conv2d(kernel_size=5, padding=4, dilation=2)",
    "conv2d(kernel_size=5, padding=6, dilation=3)",
    "conv2d(kernel_size=5, padding=12, dilation=6)",
)
#: The same five as transposed convolutions (stride 1), for 3G.
TRANSPOSED = tuple(s.replace("conv2d", "conv_transpose2d") for s in DILATED)

#: Table 3: the ranges of Algorithm 1 for the brute-force spaces (None: derived).
T1_SETTINGS: dict[str, dict[str, tuple[int, int]]] = {}
for _n in (4, 8, 12, 16):
    T1_SETTINGS[f"kd{_n:02d}"] = {"K": (1, _n), "D": (1, _n)}
    T1_SETTINGS[f"kp{_n:02d}"] = {"K": (2, _n), "P": (1, _n)}
    T1_SETTINGS[f"pd{_n:02d}"] = {"P": (1, _n), "D": (1, _n)}
_T1_ORDER = [f"{k}{n:02d}" for k in ("kd", "kp", "pd") for n in (4, 8, 12, 16)]

_TABLE2: dict[str, tuple[str, tuple[tuple[int, Sequence[str]], ...]]] = {
    "S0": ("ENAS macro ops (baseline)", ()),
    "3a": ("S0 + the five dilated convs of Table 2", ((1, DILATED),)),
    "3b": ("S0 + 6 x the five dilated convs", ((6, DILATED),)),
    "3c": ("S0 + 20 x the five dilated convs", ((20, DILATED),)),
    "3d": ("S0 + 50 x the five dilated convs", ((50, DILATED),)),
    "3E": ("S0 + conv(k=3, p=2, d=2) (Table 1)", ((1, DILATED[:1]),)),
    "3F": ("S0 + conv(k=3, p=2, d=2), conv(k=3, p=3, d=3)", ((1, DILATED[:2]),)),
    "3G": ("S0 + the five dilated convs + the same five transposed", ((1, DILATED), (1, TRANSPOSED))),
}


def known_spaces() -> list[str]:
    """Codes of the named spaces, in the paper's order."""
    return list(_TABLE2) + [f"T1-{c}" for c in _T1_ORDER]


@dataclass(frozen=True)
class SearchSpace:
    """The controller's choices (``ops``, repeats allowed) and the seed each one stands in for."""

    name: str
    ops: tuple[Op, ...]
    seeds: tuple[Op, ...]
    description: str = ""
    source: str = "named"
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.ops:
            raise InputError("a search space needs at least one op", self.name)
        if len(self.ops) != len(self.seeds):  # pragma: no cover - internal
            raise ValueError("one seed per op")

    def __len__(self) -> int:
        return len(self.ops)

    def unique(self) -> tuple[list[Op], list[int]]:
        """The distinct ops (by complete-equivalence, Def. 1) and, per choice, its index among them.

        (The shared child network gives every *choice* its own branch, as the authors' code does;
        this is for reporting and for the type partition.)"""
        keys: dict[tuple, int] = {}
        distinct: list[Op] = []
        index: list[int] = []
        for o in self.ops:
            k = o.complete_key()
            if k not in keys:
                keys[k] = len(distinct)
                distinct.append(o)
            index.append(keys[k])
        return distinct, index

    def types(self) -> list[list[int]]:
        """Indices of the choices grouped into types (Def. 2), in order of first appearance."""
        return _partition(tuple(self.ops))

    def to_json(self) -> dict[str, Any]:
        from arts.ops.generate import generation_json

        return {"name": self.name, "ops": generation_json(self.ops), "types": self.types()}

    def macro(self, layers: int, channels: int, in_channels: int, num_classes: int) -> MacroSpace:
        """The ENAS macro space over these choices."""
        return MacroSpace(ops=self.ops, layers=layers, channels=channels, in_channels=in_channels,
                          num_classes=num_classes, name=self.name)


@lru_cache(maxsize=256)
def _partition(ops: tuple[Op, ...]) -> list[list[int]]:
    from arts.ops.types import partition

    return partition(list(ops))


# ---- named spaces -----------------------------------------------------------------------------

def _table2(code: str) -> SearchSpace:
    desc, extra = _TABLE2[code]
    ops = [as_op(o) for o in MACRO_S0]
    for times, group in extra:
        for _ in range(times):
            ops.extend(as_op(o) for o in group)
    seed = as_op(MACRO_SEED)
    return SearchSpace(code, tuple(ops), (seed,) * len(ops), desc, "paper Table 2")


def generated_convs(code: str) -> list[Op]:
    """Algorithm 1 on ``conv2d(kernel_size=3, padding=1)`` with Table 3's ranges for ``code``
    (``kd04`` ... ``pd16``), completely-equivalent duplicates and S0's own convs removed."""
    return list(_generated_convs(code))


@cache
def _generated_convs(code: str) -> tuple[Op, ...]:
    from arts.ops.generate import generate

    ranges = T1_SETTINGS[code]
    ops = generate(MACRO_SEED, dedupe=True, **ranges)  # type: ignore[arg-type]
    s0 = {as_op(o).complete_key() for o in MACRO_S0}
    return tuple(o for o in ops if o.complete_key() not in s0)


@cache
def extra_pools(kind: str, n: int) -> tuple[Op, ...]:
    """``n`` pools of ``kind`` ("max" or "avg") type-equivalent to S0's 3x3 stride-1 pools, smallest
    kernels first, skipping S0's own and the 1x1 (identity) pool.

    Max pools come from Algorithm 1 on the max-pool seed (kernel and dilation ranged, padding
    derived); avg pools have no dilation, so they are the odd kernels ``k`` with padding
    ``(k-1)/2``, each proven type-equivalent to the seed before it is used."""
    from arts.ops.generate import generate
    from arts.ops.relations import equivalent

    if n <= 0:
        return ()
    s0 = {as_op(o).complete_key() for o in MACRO_S0}
    found: list[Op] = []
    if kind == "max":
        kmax = 2 * n + 6
        while True:
            cands = generate(MAX_POOL_SEED, K=(2, kmax), D=(1, 2), dedupe=True)
            cands = [o for o in cands if o.complete_key() not in s0]
            cands.sort(key=lambda o: (o.params["kernel_size"][0], o.params["dilation"][0]))
            if len(cands) >= n:
                return tuple(cands[:n])
            kmax *= 2  # pragma: no cover - the first range always suffices
    if kind != "avg":  # pragma: no cover - internal
        raise ValueError(kind)
    k = 5
    while len(found) < n:
        o = as_op(f"avg_pool2d(kernel_size={k}, stride=1, padding={(k - 1) // 2})")
        if equivalent(AVG_POOL_SEED, o).type.is_proven:
            found.append(o)
        k += 2
    return tuple(found)


def _t1(code: str) -> SearchSpace:
    """Table 3's space as the authors built it: S0, then Algorithm 1's settings exactly as generated
    (duplicates included, S0's own 3x3 conv among them; each choice has its own weights), then
    ``ceil(n/4)`` plain 3x3 avg pools and as many 3x3 max pools (copies of S0's)."""
    from arts.ops.generate import generate

    r = T1_SETTINGS[code]
    convs = generate(MACRO_SEED, dedupe=False, **r)  # type: ignore[arg-type]
    n_pools = math.ceil(len(convs) / 4)
    pools = [as_op(AVG_POOL_SEED)] * n_pools + [as_op(MAX_POOL_SEED)] * n_pools
    ops = [as_op(o) for o in MACRO_S0] + list(convs) + pools
    rng = ", ".join(f"{k}=[{lo}, {hi}]" for k, (lo, hi) in r.items())
    desc = (f"S0 + {len(convs)} settings of Algorithm 1 ({rng}, duplicates kept) + {n_pools} copies each "
            "of the 3x3 avg and max pools")
    return SearchSpace(f"T1-{code}", tuple(ops), (as_op(MACRO_SEED),) * len(ops), desc, "paper Table 3")


def _t1_dedupe(code: str) -> SearchSpace:
    """The deduplicated variant (``--dedupe``): Algorithm 1's distinct convs other than S0's, plus
    one *distinct* type-equivalent avg and max pool per four of them (see :func:`extra_pools`)."""
    convs = generated_convs(code)
    n_pools = math.ceil(len(convs) / 4)
    pools = list(extra_pools("avg", n_pools)) + list(extra_pools("max", n_pools))
    ops = [as_op(o) for o in MACRO_S0] + convs + pools
    seeds = [as_op(MACRO_SEED)] * len(ops)
    r = T1_SETTINGS[code]
    rng = ", ".join(f"{k}=[{lo}, {hi}]" for k, (lo, hi) in r.items())
    desc = (f"S0 + {len(convs)} generated convs (Algorithm 1, {rng}) + {n_pools} avg and {n_pools} max pools")
    return SearchSpace(f"T1-{code}", tuple(ops), tuple(seeds), desc, "paper Table 3",
                       ("deduplicated",))


def _canonical_code(name: str) -> str | None:
    n = name.strip()
    low = n.lower().replace("_", "-")
    if low in ("s0", "baseline", "enas"):
        return "S0"
    for code in _TABLE2:
        if low == code.lower():
            return code
    if low.startswith("t1-"):
        rest = low[3:]
    elif low.startswith("t1"):
        rest = low[2:]
    else:
        return None
    rest = rest.lstrip("-")
    if len(rest) >= 3 and rest[:2] in ("kd", "kp", "pd") and rest[2:].isdigit():
        code = f"{rest[:2]}{int(rest[2:]):02d}"
        if code in T1_SETTINGS:
            return f"T1-{code}"
    return None


@lru_cache(maxsize=64)
def _named(code: str) -> SearchSpace:
    if code in _TABLE2:
        return _table2(code)
    return _t1(code[3:])


def get_space(name: str) -> SearchSpace:
    """A named space (``S0``, ``3E``, ``T1-kd04``...) or a space file (``.json``, ``.yaml``)."""
    if not isinstance(name, str) or not name.strip():
        raise InputError("give a search space: a code (" + ", ".join(known_spaces()) + ") or a file")
    code = _canonical_code(name)
    if code is not None:
        return _named(code)
    if name.endswith((".json", ".yaml", ".yml")) or os.path.sep in name or os.path.exists(name):
        return load_space_file(name)
    raise InputError(f"unknown search space {name!r}; known: {', '.join(known_spaces())}, "
                     "or a space file (.json/.yaml)")


# ---- user-defined spaces ----------------------------------------------------------------------

_FILE_KEYS = {"name", "description", "base", "ops", "seeds", "generate", "repeat"}


def load_space_file(path: str) -> SearchSpace:
    """Read a user-defined space.

    The file (JSON or YAML) holds either a list of ops (``"conv2d(kernel_size=3, padding=1)"`` or
    op objects ``{"op": "conv2d", "kernel_size": 3, "padding": 1}``), or an object::

        {"name": "mine", "base": "S0",                 # optional: start from a named space
         "ops": [...],                                  # optional: ops, each standing in for the macro seed
         "seeds": ["conv2d(kernel_size=3, padding=1)"], # optional: seeds, with
         "generate": {"K": "1:4", "D": "1:4"},          # Algorithm 1 on every seed (two of K, P, D)
         "repeat": 1}                                   # optional: repeat the added ops among the choices

    Seeds stand in for the macro seed ``conv2d(kernel_size=3, padding=1)``; generated ops stand in
    for the seed they were generated from.  Completely-equivalent duplicates among the seeds and
    their generated ops are dropped (repeat explicitly with ``repeat``).
    """
    where = path
    if not os.path.exists(path):
        raise InputError("no such space file (and not a known space code: "
                         f"{', '.join(known_spaces())})", where)
    if not path.endswith((".json", ".yaml", ".yml")):
        raise InputError("a space file must end in .json, .yaml or .yml", where)
    data = read_data_file(path)
    name = os.path.splitext(os.path.basename(path))[0]
    return space_from_data(data, name, where)


def _op_list(items: Any, what: str, where: str) -> list[Op]:
    if not isinstance(items, list) or not items:
        raise InputError(f'"{what}" must be a non-empty list of ops', where)
    out = []
    for i, o in enumerate(items):
        try:
            out.append(as_op(o))
        except InputError as e:
            raise InputError(e.message, f"{where}: {what}[{i}]" + (f": {e.where}" if e.where else "")) from None
    return out


def space_from_data(data: Any, name: str = "custom", where: str = "space") -> SearchSpace:
    """Build a space from the parsed structure of a space file (see :func:`load_space_file`)."""
    macro = as_op(MACRO_SEED)
    if isinstance(data, list):
        listed = _op_list(data, "ops", where)
        return SearchSpace(name, tuple(listed), (macro,) * len(listed), f"{len(listed)} ops from {where}", where)
    if not isinstance(data, dict):
        raise InputError("a space file holds a list of ops or an object with \"ops\" or "
                         "\"seeds\" and \"generate\"", where)
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise InputError(f"unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(_FILE_KEYS))})",
                         where)
    if "name" in data:
        if not isinstance(data["name"], str) or not data["name"].strip():
            raise InputError('"name" must be a non-empty string', where)
        name = data["name"].strip()
    ops: list[Op] = []
    seeds: list[Op] = []
    if "base" in data:
        base = data["base"]
        if not isinstance(base, str) or _canonical_code(base) is None:
            raise InputError(f'"base" must be a known space code ({", ".join(known_spaces())}), got {base!r}', where)
        b = _named(_canonical_code(base))  # type: ignore[arg-type]
        ops += b.ops
        seeds += b.seeds
    added: list[Op] = []
    added_seeds: list[Op] = []
    if "ops" in data:
        given = _op_list(data["ops"], "ops", where)
        added += given
        added_seeds += [macro] * len(given)
    if "generate" in data and "seeds" not in data:
        raise InputError('"generate" needs "seeds" (the ops to generate from)', where)
    if "seeds" in data:
        sd = _op_list(data["seeds"], "seeds", where)
        gen = data.get("generate")
        seen: set = set()
        for s in sd:
            if s.complete_key() not in seen:
                seen.add(s.complete_key())
                added.append(s)
                added_seeds.append(macro)
        if gen is not None:
            if not isinstance(gen, dict):
                raise InputError('"generate" must be an object like {"K": "1:4", "D": "1:4"}', where)
            bad = set(gen) - {"K", "P", "D"}
            if bad:
                raise InputError(f'"generate" takes K, P, D; got {", ".join(sorted(bad))}', where)
            from arts.ops.generate import generate

            for s in sd:
                try:
                    g = generate(s, K=gen.get("K"), P=gen.get("P"), D=gen.get("D"), dedupe=True)
                except InputError as e:
                    raise InputError(e.message, f"{where}: generate from {s}") from None
                for op in g:
                    if op.complete_key() not in seen:
                        seen.add(op.complete_key())
                        added.append(op)
                        added_seeds.append(s)
    rep = data.get("repeat", 1)
    if isinstance(rep, bool) or not isinstance(rep, int) or rep < 1:
        raise InputError(f'"repeat" must be a positive integer, got {rep!r}', where)
    ops += added * rep
    seeds += added_seeds * rep
    if not ops:
        raise InputError('the space has no ops: give "ops", "seeds" or "base"', where)
    d = data.get("description")
    desc = d if isinstance(d, str) else f"{len(ops)} ops from {where}"
    return SearchSpace(name, tuple(ops), tuple(seeds), desc, where)


# ---- transformations --------------------------------------------------------------------------

def dedupe(space: SearchSpace) -> SearchSpace:
    """Drop completely-equivalent repeats (the paper's "naive elimination" heuristic)."""
    seen: set = set()
    ops, seeds = [], []
    for o, s in zip(space.ops, space.seeds):
        k = o.complete_key()
        if k in seen:
            continue
        seen.add(k)
        ops.append(o)
        seeds.append(s)
    return SearchSpace(space.name, tuple(ops), tuple(seeds), space.description, space.source,
                       space.notes + ("deduplicated",))


def by_type(space: SearchSpace) -> SearchSpace:
    """Reorder the choices so that the ops of one type are contiguous (types in order of first
    appearance, ops in their original order within a type)."""
    order = [i for t in space.types() for i in t]
    return SearchSpace(space.name, tuple(space.ops[i] for i in order), tuple(space.seeds[i] for i in order),
                       space.description, space.source, space.notes + ("grouped by type",))


def prepare(name: str, dedupe_ops: bool = False, group_by_type: bool = False) -> SearchSpace:
    """:func:`get_space`, then optionally :func:`dedupe` and :func:`by_type`.

    A deduplicated T1 space is :func:`_t1_dedupe`'s layout (distinct type-equivalent pools in place
    of the 3x3 pool copies)."""
    code = _canonical_code(name) if isinstance(name, str) else None
    if dedupe_ops and code is not None and code.startswith("T1-"):
        sp = _t1_dedupe(code[3:])
    else:
        sp = get_space(name)
        if dedupe_ops:
            sp = dedupe(sp)
    if group_by_type:
        sp = by_type(sp)
    return sp


# ---- the checks before a weight is allocated ----------------------------------------------------

@dataclass(frozen=True)
class OpProof:
    op: Op
    seed: Op
    verdict: Any  # arts.solver.verdict.Verdict


def _fmt_point(p: dict[str, int] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in p.items()) if p else "none"


def check_space(space: SearchSpace, allow_mixed: bool = False) -> list[OpProof]:
    """Prove every choice type-equivalent to the seed it stands in for, and every seed to the
    macro seed.  A choice that is not (refuted or unknown) is refused with an InputError naming the
    op, its seed and the counterexample -- unless ``allow_mixed`` (compatibility masking), which
    returns the verdicts instead."""
    from arts.ops.relations import equivalent

    macro = as_op(MACRO_SEED)
    proofs: list[OpProof] = []
    done: dict[tuple, Any] = {}
    for i, (o, s) in enumerate(zip(space.ops, space.seeds)):
        for a, b in ((s, o), (macro, s)) if s.complete_key() != macro.complete_key() else ((s, o),):
            key = (a.complete_key(), b.complete_key())
            v = done.get(key)
            if v is None:
                v = done[key] = equivalent(a, b).type
            proofs.append(OpProof(b, a, v))
            if not v.is_proven and not allow_mixed:
                what = "refuted" if v.is_refuted else "not proven"
                cx = f"; counterexample: {_fmt_point(v.counterexample)}" if v.counterexample else ""
                raise InputError(
                    f"op #{i} {b} is not type-equivalent to {a}, the seed it stands in for ({what}: "
                    f"{v.reason}){cx}; not every architecture of the space would be well-typed "
                    "(search it anyway with --mask: compatibility masking)", f"space {space.name}")
    return proofs


def all_equivalent(proofs: Sequence[OpProof]) -> bool:
    return all(p.verdict.is_proven for p in proofs)


# ---- shapes at the actual image size (for compatibility masking) --------------------------------

def _holds(conds: Sequence[Any], mode: str = "train") -> bool:
    import sympy

    for c in conds:
        if c.mode != "any" and c.mode != mode:
            continue
        f = sympy.sympify(c.formula)
        if f.free_symbols:
            f = f.subs({s: 2 for s in f.free_symbols})  # only the batch size N is left: N >= 2
        if f is not sympy.true and f != sympy.true:
            return False
    return True


class ShapeOracle:
    """Concrete shapes of a macro space at one input size, for masking the controller.

    Layer outputs are tracked as ``(H, W)`` pairs (channels are preserved by every choice); the
    batch size is the symbol ``N`` with ``N >= 2`` (training batches drop the last partial batch).
    ``ops_mask`` allows an op when its branch accepts the current input *and* the remaining
    layers can still be completed; ``skip_mask`` allows a skip from a layer whose output has the
    same shape as the current one (the add would otherwise fail)."""

    def __init__(self, space: MacroSpace, channels_in: int, height: int, width: int) -> None:
        from arts.solver.symbols import dim

        self.space = space
        self.N = dim("N")
        self.ops = list(space.ops)
        self._apply_cache: dict[tuple, Any] = {}
        self._feasible: dict[tuple, bool] = {}
        from arts.graph.enas import blueprint

        bp = blueprint(space)
        self.branch = {k: [op for _, op in steps] + [bp.layer_norm] for k, steps in enumerate(bp.branches)}
        self.red = [bp.reduction]
        self.stem_hw = self._chain([op for _, op in bp.stem], (height, width), channels_in)

    def _chain(self, ops: Sequence[Op], hw: tuple[int, int] | None, c_in: int | None = None) -> tuple[int, int] | None:
        from arts.ops.base import StaticShapeError

        if hw is None:
            return None
        key = (tuple(ops), hw, c_in)
        if key in self._apply_cache:
            return self._apply_cache[key]
        shape: tuple = (self.N, c_in if c_in is not None else self.space.channels, hw[0], hw[1])
        out: tuple[int, int] | None = None
        try:
            for op in ops:
                inf = op.apply([shape])
                if not _holds(inf.conditions):
                    shape = ()
                    break
                shape = tuple(inf.shape)
            if shape and all(getattr(x, "is_Integer", False) or isinstance(x, int) for x in shape[2:]):
                h, w = int(shape[2]), int(shape[3])
                out = (h, w) if h >= 1 and w >= 1 else None
        except StaticShapeError:
            out = None
        self._apply_cache[key] = out
        return out

    def op_out(self, k: int, hw: tuple[int, int]) -> tuple[int, int] | None:
        return self._chain(self.branch[k], hw)

    def reduce(self, hw: tuple[int, int] | None) -> tuple[int, int] | None:
        return self._chain(self.red, hw)

    def feasible(self, i: int, hw: tuple[int, int] | None) -> bool:
        """Whether layers ``i..`` can be completed from a previous output of size ``hw``."""
        if hw is None:
            return False
        if i >= self.space.layers:
            return True
        key = (i, hw)
        if key not in self._feasible:
            self._feasible[key] = any(self._next_ok(i, k, hw) for k in range(len(self.ops)))
        return self._feasible[key]

    def _next_ok(self, i: int, k: int, hw: tuple[int, int]) -> bool:
        out = self.op_out(k, hw)
        if out is None:
            return False
        if i in self.space.reduction_layers:
            out = self.reduce(out)
        return self.feasible(i + 1, out)

    # -- sampling protocol: state = (layer output sizes, previous output size) --
    def start(self) -> tuple[list, tuple[int, int] | None]:
        return [], self.stem_hw

    def ops_mask(self, i: int, state: tuple[list, Any]) -> list[bool]:
        _, prev = state
        return [prev is not None and self._next_ok(i, k, prev) for k in range(len(self.ops))]

    def skip_mask(self, i: int, k: int, state: tuple[list, Any]) -> list[bool]:
        layers, prev = state
        out = self.op_out(k, prev)
        return [out is not None and s == out for s in layers]

    def step(self, i: int, k: int, state: tuple[list, Any]) -> tuple[list, Any]:
        layers, prev = state
        out = self.op_out(k, prev)
        layers = layers + [out]
        if i in self.space.reduction_layers:
            layers = [self.reduce(s) for s in layers]
        return layers, layers[-1]


def smallest_square(space: MacroSpace, channels_in: int, limit: int = 256) -> int | None:
    """The smallest square image size at which at least one architecture of ``space`` is
    well-typed (None: none up to ``limit``)."""
    for s in range(1, limit + 1):
        o = ShapeOracle(space, channels_in, s, s)
        if o.feasible(0, o.stem_hw):
            return s
    return None


def check_image_size(space: MacroSpace, channels_in: int, height: int, width: int, mixed: bool = False,
                     where: str = "") -> str:
    """Check the space on the dataset's actual image size before training; return what was proven.

    Type-equivalent spaces: :func:`arts.graph.enas.verify_space` decides whether *every*
    architecture is well-typed on ``N,C,H,W`` (``N >= 2``, training mode).  Mixed spaces
    (compatibility masking): whether *some* architecture is.  Failure is an InputError with the
    sizes that are accepted."""
    from arts.graph.enas import verify_space

    size = f"{height}x{width}"
    if mixed:
        o = ShapeOracle(space, channels_in, height, width)
        if o.feasible(0, o.stem_hw):
            return f"some architectures are well-typed on {channels_in}x{size} images; the controller is masked"
        s = smallest_square(space, channels_in)
        acc = f"square images of at least {s}x{s}" if s else "no square image size up to 256x256"
        raise InputError(f"images of {size} are too small for every architecture of space {space.name} "
                         f"({space.layers} layers, reductions after layers {space.reduction_layers}); "
                         f"accepted: {acc}", where or None)
    shape = f"N,{channels_in},{height},{width}"
    v = verify_space(space, shape, where=["N >= 2"], mode="train")
    if v.ok:
        return f"every architecture is well-typed on {channels_in}x{size} images ({v.reason})"
    if v.ok is None:
        raise InputError(f"could not prove every architecture of space {space.name} well-typed on "
                         f"{size} images: {v.reason}", where or None)
    from arts.graph.check import typecheck

    accepted = "unknown"
    if v.arc is not None:
        rep = typecheck(space.to_graph(v.arc, f"N,{channels_in},H,W"), where=["N >= 2"], mode="train")
        accepted = str(rep.domain)
    raise InputError(f"images of {size} are too small for space {space.name} ({space.layers} layers, "
                     f"reductions after layers {space.reduction_layers}): {v.reason} "
                     f"(counterexample: {_fmt_point(v.counterexample)}); accepted: {accepted}", where or None)
