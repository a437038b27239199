"""The points of a product of increasing columns in increasing order of their sum, lazily.

Every bounded search of the solver visits the points of a grid (one column of candidate sizes per
symbol) smallest first: by the sum of the point, ties broken by the point itself
(``sorted(product(*cols), key=lambda t: (sum(t), t))``).  Sorting the whole grid first costs the
whole grid (40 000 points or more) even when the first point already answers, and a network asks
hundreds of such questions; this module gives exactly that order one point at a time.

Method: best-first search over the tree in which a tuple of column indices is the child of the
tuple with its last non-zero index lowered by one.  Every tuple but the origin has one parent,
with a strictly smaller sum (columns are strictly increasing), so a min-heap of the frontier pops
the tuples in exactly the sorted order; each pop pushes at most one child per column.
"""

from __future__ import annotations

import heapq
from typing import Iterator, Sequence


def ordered_product(cols: Sequence[Sequence[int]]) -> Iterator[tuple[int, ...]]:
    """The tuples of ``product(*cols)`` (each column strictly increasing) in the order of
    ``(sum(t), t)``, without building the product."""
    k = len(cols)
    if any(not c for c in cols):
        return
    if k == 0:
        yield ()
        return
    origin = (0,) * k
    first = tuple(c[0] for c in cols)
    heap: list[tuple[int, tuple[int, ...], tuple[int, ...]]] = [(sum(first), first, origin)]
    while heap:
        total, vals, idx = heapq.heappop(heap)
        yield vals
        last = max((j for j in range(k) if idx[j]), default=0)
        for j in range(last, k):
            i = idx[j] + 1
            if i >= len(cols[j]):
                continue
            v = cols[j][i]
            child_vals = vals[:j] + (v,) + vals[j + 1:]
            heapq.heappush(heap, (total - vals[j] + v, child_vals, idx[:j] + (i,) + idx[j + 1:]))
