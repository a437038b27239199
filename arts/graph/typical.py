"""Counterexamples near the sizes people use, not at the domain's corner.

The solver's counterexample is the *smallest* failing point (``N=1, H=1, W=1``): exact, but it
reads like a technicality when the user declared ``H % 16 == 0`` and means 224x224 images.
:func:`typical_counterexample` searches, within a bounded number of evaluations, for a failing
point of the live domain whose sizes are round and close to typical ones (batch near 1, every
other size near 32..224), and checks it by substitution before returning it.  When nothing is
found within the budget the solver's point is kept, so the answer is never worse than before.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence

import sympy

from arts.solver.domain import Domain
from arts.solver.evaluate import compile_expr

__all__ = ["BUDGET", "candidates", "typical_counterexample", "typical_member"]

#: Most points evaluated per search.
BUDGET = 3000
#: Symbol names read as a batch size (typical value 1).
BATCH_NAMES = frozenset({"N", "B", "batch", "BATCH", "n", "b"})
_ROUND = (64, 32, 128, 224, 96, 48, 256, 160, 192, 112, 80)
_LIMIT = 1024
_PER_SYMBOL = 400


def _ordered(sym: str) -> list[int]:
    """Sizes for ``sym`` in order of preference: round sizes first, then multiples of 16, 8, 4,
    2 and any size, each tier nearest 64 first (so an odd size near 64 is still reached)."""
    if sym in BATCH_NAMES:
        head = [1, 2, 4, 8, 16, 32, 3, 5, 6, 7]
        return head + [v for v in range(1, _LIMIT + 1) if v not in head]
    out: list[int] = list(_ROUND)
    seen = set(out)
    for step, top in ((16, 512), (8, 256), (4, 160), (2, 128), (1, 256), (1, _LIMIT)):
        for v in sorted(range(step, top + 1, step), key=lambda v: (abs(v - 64), v)):
            if v not in seen:
                seen.add(v)
                out.append(v)
    return out


def candidates(domain: Domain, sym: sympy.Symbol, k: int = _PER_SYMBOL) -> list[int]:
    """The first ``k`` preferred sizes of ``sym`` that its set in ``domain`` allows."""
    st = domain.set_of(sym)
    return [v for v in _ordered(sym.name) if v in st][:k]


def _tuples(lengths: list[int], budget: int) -> Iterator[tuple[int, ...]]:
    """Rank tuples: all first choices; then one coordinate moved (every rank); then two moved
    (a square of first ranks); at most ``budget`` in all."""
    k = len(lengths)
    base = (0,) * k
    yield base
    n = 1
    for rank in range(1, max(lengths, default=1)):
        for i in range(k):
            if rank < lengths[i]:
                n += 1
                if n > budget:
                    return
                yield base[:i] + (rank,) + base[i + 1:]
    side = max(2, int((budget - n) ** 0.5 / max(1, k - 1)))
    for i, j in itertools.combinations(range(k), 2):
        for t in sorted(itertools.product(range(1, min(side, lengths[i])), range(1, min(side, lengths[j]))),
                        key=lambda t: (sum(t), t)):
            n += 1
            if n > budget:
                return
            r = list(base)
            r[i], r[j] = t
            yield tuple(r)


def _search(live: Domain, symbols: Sequence[sympy.Symbol], wanted: Callable[[dict[str, int]], bool],
            budget: int) -> dict[str, int] | None:
    """The first point of ``live`` (typical sizes first) for which ``wanted`` holds."""
    if live.empty:
        return None
    free = [s for s in symbols if s not in live.subst]
    cols = [candidates(live, s) for s in free]
    if any(not c for c in cols):
        return None
    for t in _tuples([len(c) for c in cols], budget):
        partial = {s.name: cols[i][r] for i, (s, r) in enumerate(zip(free, t))}
        try:
            point = live.complete(partial)
            if live.contains(point) and wanted(point):
                return {s.name: point[s.name] for s in symbols}
        except (ZeroDivisionError, KeyError, ValueError, TypeError):
            continue
    return None


def typical_counterexample(formula: sympy.Basic, live: Domain, symbols: Sequence[sympy.Symbol],
                           fallback: dict[str, int], budget: int = BUDGET) -> dict[str, int]:
    """A point of ``live`` at which ``formula`` is false, with typical sizes; else ``fallback``.

    Every size starts at its most typical value; one size is moved before two.  Each point is
    checked by substitution (it lies in ``live``, and ``formula`` is false there)."""
    check = compile_expr(formula)
    found = _search(live, symbols, lambda p: not bool(check(p)), budget)
    return found if found is not None else fallback


def typical_member(domain: Domain, symbols: Sequence[sympy.Symbol], budget: int = BUDGET) -> dict[str, int] | None:
    """A point of ``domain`` with typical sizes (checked by substitution), or None if none is found."""
    return _search(domain, symbols, lambda p: True, budget)
