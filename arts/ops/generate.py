"""Algorithm 1 (GenerateTypeEquivalentConvs), derived by solving, for any conv/pool family.

``generate(seed, K=..., P=..., D=...)``: exactly one of the three is None; the other two are
inclusive integer ranges (``(lo, hi)``) or single ints.  For each pair in their Cartesian product
(in order), the missing parameter is solved from ``f_seed == f_candidate``
(:func:`arts.solver.algorithm1.linear_equations`, derived once per family); a candidate is kept
when every value is a valid parameter (kernel >= 1, dilation >= 1, padding >= 0, and whatever else
the family's constructor demands) and it is *proven* type-equivalent to the seed.

The paper prints ``k' = (2p' - 2p - d(k-1))/d' + 1``; solving gives
``k' = (2p' - 2p + d(k-1))/d' + 1`` (the sign of ``d(k-1)`` is flipped in the paper).
"""

from __future__ import annotations

from typing import Any, Sequence

import sympy

from arts.errors import InputError, Unsupported
from arts.ops.base import Op, StaticShapeError, as_op
from arts.ops.relations import complete_equivalence, typed
from fractions import Fraction

from arts.solver.algorithm1 import linear_equations, solve_linear_at
from arts.solver.evaluate import compile_expr
from arts.solver.domain import Domain
from arts.solver.relations import type_equivalence

Range = "int | tuple[int, int] | range | None"

#: Which op parameter each of K, P, D names.
ROLES = {"K": "kernel_size", "P": "padding", "D": "dilation"}
_MIN = {"K": 1, "P": 0, "D": 1}


def _range(name: str, r: Any) -> list[int] | None:
    if r is None:
        return None
    if isinstance(r, bool):
        raise InputError(f"{name} must be an integer or a range LO:HI")
    if isinstance(r, int):
        return [r]
    if isinstance(r, range):
        return list(r)
    if isinstance(r, str):
        parts = r.split(":")
        try:
            vals = [int(p) for p in parts]
        except ValueError:
            raise InputError(f"{name} must be LO:HI with integers, got {r!r}") from None
        if len(vals) == 1:
            vals = vals * 2
        if len(vals) != 2:
            raise InputError(f"{name} must be LO:HI, got {r!r}")
        r = tuple(vals)
    if isinstance(r, (tuple, list)) and len(r) == 2 and all(isinstance(x, int) for x in r):
        lo, hi = r
        if hi < lo:
            raise InputError(f"{name} range {lo}:{hi} is empty (HI < LO)")
        if lo < _MIN[name]:
            raise InputError(f"{name} range must start at {_MIN[name]} or more ({ROLES[name]}), got {lo}")
        if hi - lo > 100_000:
            raise InputError(f"{name} range {lo}:{hi} is too long")
        return list(range(lo, hi + 1))
    raise InputError(f"{name} must be an integer or a range LO:HI, got {r!r}")


def _uniform(op: Op, key: str) -> int:
    v = op.params.get(key)
    if isinstance(v, tuple):
        if len(set(v)) != 1:
            raise InputError(f"generate needs a seed with the same {key} on every axis, got {v}")
        v = v[0]
    if not isinstance(v, int):
        raise InputError(f"seed {op} has {key}={v!r}; generate needs an integer")
    return v


def generate(seed: "Op | str", K: Any = None, P: Any = None, D: Any = None, *, dedupe: bool = False,
             input: Any = None) -> list[Op]:
    """Ops of the seed's family that are proven type-equivalent to ``seed``.

    >>> for o in generate("conv2d(kernel_size=3, padding=1)", K=3, D=(1, 3)):
    ...     print(o)
    conv2d(kernel_size=3, padding=1)
    conv2d(kernel_size=3, padding=2, dilation=2)
    conv2d(kernel_size=3, padding=3, dilation=3)
    """
    seed = as_op(seed)
    ranges = {"K": _range("K", K), "P": _range("P", P), "D": _range("D", D)}
    missing = [k for k, v in ranges.items() if v is None]
    if len(missing) != 1:
        raise InputError("give exactly two of K, P, D (the third is derived); got "
                         f"{3 - len(missing)}")
    (free,) = missing
    names = {p.name for p in seed.spec.params}
    for role, pname in ROLES.items():
        if pname not in names and (ranges[role] is not None or role == free):
            if role == "D" and ranges["D"] == [1]:
                continue
            raise InputError(f"{seed.name} has no {pname} parameter, so {role} cannot be "
                             f"{'derived' if role == free else 'ranged'}")
    if seed.params.get("padding") == "same":
        raise InputError("give the seed with explicit padding (not 'same')")
    for pname in ROLES.values():
        if pname in names:
            _uniform(seed, pname)
    shapes = seed.default_input()
    syms: list[sympy.Symbol] = []
    for s in shapes:
        for e in s:
            syms.extend(x for x in sympy.sympify(e).free_symbols if x not in syms)
    spatial = [e for e in shapes[0][-(seed.spec.spatial or 2):]]
    dom = Domain([], syms)
    t_seed = typed(seed, shapes)
    if t_seed.shape is None:
        raise InputError(f"seed {seed} rejects every input ({t_seed.static_error})")

    # the candidate family's dimension function with all three parameters as symbols, solved once
    # for the free one: alpha(a, b) * x + beta(a, b) == 0 for every equation
    n = seed.spec.spatial or 2
    sym = {r: sympy.Symbol(f"_{r.lower()}", integer=True) for r in ROLES}
    p_sym = dict(seed.params)
    for r, pname in ROLES.items():
        if pname in names:
            p_sym[pname] = (sym[r],) * n
    try:
        cand_shape = tuple(seed.spec.rule(p_sym, shapes).shape)
        eqs = linear_equations(t_seed.shape, cand_shape, spatial, sym[free])
    except (StaticShapeError, TypeError) as e:
        raise Unsupported(f"cannot solve {seed.name} for {ROLES[free]}: {e}") from e
    compiled = [(compile_expr(a), compile_expr(b)) for a, b in eqs]

    out: list[Op] = []
    seen: set = set()
    bound = [r for r in ("K", "P", "D") if r != free]
    for a in ranges[bound[0]]:  # type: ignore[union-attr]
        for b in ranges[bound[1]]:  # type: ignore[union-attr]
            env = {sym[bound[0]].name: a, sym[bound[1]].name: b}
            sols = solve_linear_at(compiled, env)
            if sols is None:
                sols = [Fraction(_MIN[free])]  # unconstrained (a 1x1 kernel's dilation): the canonical value
            for sol in sols:
                if sol.denominator != 1 or sol < _MIN[free]:
                    continue
                values = {ROLES[bound[0]]: a, ROLES[bound[1]]: b, ROLES[free]: int(sol)}
                params = dict(seed.params)
                params.update({k: v for k, v in values.items() if k in names})
                try:
                    cand = Op.make(seed.name, params)
                except InputError:
                    continue  # not a valid parameter set for this family
                if not type_equivalence(t_seed, typed(cand, shapes), dom, syms).is_proven:
                    continue
                if dedupe:
                    key = cand.complete_key()
                    if key in seen:
                        continue
                    seen.add(key)
                out.append(cand)
    return out


def generation_json(ops: Sequence[Op]) -> list[dict[str, Any]]:
    """The CLI's JSON: one object per op, ``{"op", "kernel_size", "padding", "dilation", "stride"}``."""
    out = []
    for o in ops:
        p = o.params
        d: dict[str, Any] = {"op": o.name}
        for k in ("kernel_size", "padding", "dilation", "stride"):
            if k in p:
                v = p[k]
                d[k] = v[0] if isinstance(v, tuple) and len(set(v)) == 1 else (list(v) if isinstance(v, tuple) else v)
        out.append(d)
    return out


_ = complete_equivalence
