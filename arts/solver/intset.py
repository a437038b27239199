"""Exact, eventually periodic sets of positive integers.

The accepted sizes of a dimension under quasi-affine conditions (those of convs, pools, their
transposes, cat and add) form a set that is periodic from some point on: a finite *head* below
``start`` and, from ``start`` upward, membership decided by ``x mod period``.  ``IntSet`` keeps
exactly that, in a canonical form (smallest period, smallest start), so two sets are equal iff
their representations are equal.  This is how arts states "H >= 16 and H = 0 (mod 16)" exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from arts.errors import BudgetExceeded

_ALL = frozenset({0})

#: Largest period or head length an IntSet may have before we give up (and answer unknown).
MAX_SPAN = 2_000_000

Interval = tuple[int, int]  # inclusive


def _intervals(points: Iterable[int]) -> tuple[Interval, ...]:
    out: list[list[int]] = []
    for x in sorted(set(points)):
        if out and out[-1][1] == x - 1:
            out[-1][1] = x
        else:
            out.append([x, x])
    return tuple((a, b) for a, b in out)


@dataclass(frozen=True)
class IntSet:
    """A subset of {1, 2, 3, ...}: ``head`` intervals below ``start``; from ``start`` on,
    ``x`` is a member iff ``x % period in residues``.  Always canonical (see :meth:`_canon`)."""

    start: int
    head: tuple[Interval, ...]
    period: int
    residues: frozenset[int]

    # ---- construction -------------------------------------------------------------------
    @staticmethod
    def make(start: int, head: Iterable[Interval], period: int, residues: Iterable[int]) -> "IntSet":
        if period > MAX_SPAN:
            raise BudgetExceeded(f"a set of sizes with period {period} is too large to track")
        start = max(1, start)
        hd = tuple((max(1, a), min(b, start - 1)) for a, b in head if min(b, start - 1) >= max(1, a))
        return IntSet._canon(start, hd, period, frozenset(r % period for r in residues))

    @staticmethod
    def _canon(start: int, head: tuple[Interval, ...], period: int, residues: frozenset[int]) -> "IntSet":
        # smallest period: the least divisor d of period under which the residues are consistent
        for d in _divisors(period) if period > 1 else ():
            if d == period:
                break
            reduced = {r % d for r in residues}
            if all(((r % d) in reduced) == (r in residues) for r in range(period)):
                residues = frozenset(reduced)
                period = d
                break
        # smallest start: pull start down while the point below agrees with the pattern
        hd = [list(iv) for iv in head]
        full = len(residues) == period
        while start > 1:
            x = start - 1
            top_touch = bool(hd) and hd[-1][1] == x
            if full and top_touch:  # whole top interval agrees with "everything"
                start = hd[-1][0]
                hd.pop()
                continue
            if not residues and not top_touch:  # gap down to the top interval agrees with "nothing"
                start = hd[-1][1] + 1 if hd else 1
                if start == x + 1:
                    break
                continue
            if top_touch != ((x % period) in residues):
                break
            start = x
            if top_touch:
                if hd[-1][0] == x:
                    hd.pop()
                else:
                    hd[-1][1] = x - 1
        return IntSet(start, tuple((a, b) for a, b in hd), period, residues)

    @staticmethod
    def everything() -> "IntSet":
        return IntSet(1, (), 1, frozenset({0}))

    @staticmethod
    def nothing() -> "IntSet":
        return IntSet(1, (), 1, frozenset())

    @staticmethod
    def at_least(lo: int) -> "IntSet":
        return IntSet(max(1, lo), (), 1, _ALL)  # already canonical

    @staticmethod
    def between(lo: int, hi: int) -> "IntSet":
        lo = max(1, lo)
        if hi < lo:
            return IntSet.nothing()
        return IntSet.make(hi + 1, ((lo, hi),), 1, ())

    @staticmethod
    def finite(points: Iterable[int]) -> "IntSet":
        pts = [p for p in points if p >= 1]
        if not pts:
            return IntSet.nothing()
        return IntSet.make(max(pts) + 1, _intervals(pts), 1, ())

    @staticmethod
    def congruent(residue: int, modulus: int) -> "IntSet":
        return IntSet.make(1, (), modulus, {residue % modulus})

    @staticmethod
    def from_predicate(pred: Callable[[int], bool], start: int, period: int, lo: int = 1) -> "IntSet":
        """The set of x >= lo with ``pred(x)``, given that ``pred`` is periodic with ``period``
        from ``start`` on (the caller proves that; this only evaluates ``[lo, start + period)``)."""
        lo = max(1, lo)
        start = max(lo, start)
        if start - lo + period > MAX_SPAN:
            raise BudgetExceeded(f"deciding needs {start - lo + period} evaluations, over the budget of {MAX_SPAN}")
        head = _intervals(x for x in range(lo, start) if pred(x))
        residues = {x % period for x in range(start, start + period) if pred(x)}
        return IntSet.make(start, head, period, residues)

    # ---- queries ------------------------------------------------------------------------
    def __contains__(self, x: object) -> bool:
        if not isinstance(x, int) or x < 1:
            return False
        if x < self.start:
            return _in_intervals(self.head, x)
        return (x % self.period) in self.residues

    @property
    def is_empty(self) -> bool:
        return not self.head and not self.residues

    @property
    def is_finite(self) -> bool:
        return not self.residues

    @property
    def is_everything(self) -> bool:
        return self.start == 1 and self.period == 1 and 0 in self.residues

    def min(self) -> int | None:
        if self.head:
            return self.head[0][0]
        return self._tail_min()

    def _tail_min(self) -> int | None:
        if not self.residues:
            return None
        for x in range(self.start, self.start + self.period):
            if x % self.period in self.residues:
                return x
        return None  # pragma: no cover

    def next_member(self, x: int) -> int | None:
        """The least member ``>= x``, or None."""
        x = max(1, x)
        if x < self.start:
            for a, b in self.head:
                if b >= x:
                    return max(a, x)
            x = self.start
        if not self.residues:
            return None
        for y in range(x, x + self.period):
            if y % self.period in self.residues:
                return y
        return None  # pragma: no cover

    def max(self) -> int | None:
        if self.residues:
            return None
        return self.head[-1][1] if self.head else None

    def __iter__(self) -> Iterator[int]:
        """Members in increasing order (infinite when the set is)."""
        for a, b in self.head:
            yield from range(a, b + 1)
        if self.residues:
            x = self.start
            while True:
                if x % self.period in self.residues:
                    yield x
                x += 1

    def take(self, n: int) -> list[int]:
        """The ``n`` least members (fewer if the set is smaller): ``islice(self, n)``, built a
        range at a time (searches take tens of thousands of sizes, hundreds of times)."""
        out: list[int] = []
        for a, b in self.head:
            if len(out) >= n:
                return out
            out.extend(range(a, min(b, a + n - len(out) - 1) + 1))
        if not self.residues or len(out) >= n:
            return out
        if len(self.residues) == self.period:  # every size from start on
            out.extend(range(self.start, self.start + n - len(out)))
            return out
        res = sorted(self.residues)
        base = self.start - self.start % self.period
        out.extend(x for x in (base + r for r in res) if x >= self.start)
        while len(out) < n:
            base += self.period
            out.extend(base + r for r in res)
        del out[n:]
        return out

    # ---- algebra --------------------------------------------------------------------------
    def _combine(self, other: "IntSet", fn: Callable[[bool, bool], bool]) -> "IntSet":
        start = max(self.start, other.start)
        period = self.period * other.period // math.gcd(self.period, other.period)
        if period > MAX_SPAN:
            raise BudgetExceeded(f"combined period {period} is too large to track")
        lo_tail = min(self.start, other.start)
        # [1, lo_tail): both sides are given by head intervals; membership is constant between cuts
        cuts = {1, lo_tail}
        for s in (self, other):
            for a, b in s.head:
                cuts.update(c for c in (a, b + 1) if 1 <= c <= lo_tail)
        pts = sorted(cuts)
        head: list[Interval] = []
        for a, nxt in zip(pts, pts[1:]):
            if fn(a in self, a in other):
                head.append((a, nxt - 1))
        # [lo_tail, start): one side is periodic there, the other given by head intervals (constant
        # between their ends): a piece where the result does not depend on the periodic side is one
        # interval or nothing, whatever its length; only the others are walked point by point
        if start > lo_tail:
            per, fixed, per_first = (self, other, True) if self.start == lo_tail else (other, self, False)
            cuts2 = {lo_tail, start}
            for a, b in fixed.head:
                cuts2.update(c for c in (a, b + 1) if lo_tail <= c <= start)
            pts2 = sorted(cuts2)
            walked = 0
            for a, nxt in zip(pts2, pts2[1:]):
                q = a in fixed
                g = (lambda p, q=q: fn(p, q)) if per_first else (lambda p, q=q: fn(q, p))
                if not per.residues or len(per.residues) == per.period:  # the periodic side is constant
                    if g(bool(per.residues)):
                        head.append((a, nxt - 1))
                    continue
                if g(True) == g(False):
                    if g(True):
                        head.append((a, nxt - 1))
                    continue
                walked += nxt - a
                if walked > MAX_SPAN:
                    raise BudgetExceeded("set head too long to track")
                head.extend((x, x) for x in range(a, nxt) if g(x in per))
        residues = {x % period for x in range(start, start + period) if fn(x in self, x in other)}
        return IntSet.make(start, _merge(head), period, residues)

    def __and__(self, other: "IntSet") -> "IntSet":
        return self._combine(other, lambda a, b: a and b)

    def __or__(self, other: "IntSet") -> "IntSet":
        return self._combine(other, lambda a, b: a or b)

    def __sub__(self, other: "IntSet") -> "IntSet":
        return self._combine(other, lambda a, b: a and not b)

    def complement(self) -> "IntSet":
        return IntSet.everything() - self

    def issubset(self, other: "IntSet") -> bool:
        return (self - other).is_empty

    # ---- printing -------------------------------------------------------------------------
    def describe(self, name: str) -> str:
        """Readable exact description, e.g. ``H ≥ 16 and H ≡ 0 (mod 16)``."""
        if self.is_everything:
            return f"{name} ≥ 1"
        if self.is_empty:
            return "no size"
        short = self._with_exceptions(name)
        if short is not None:
            return short
        parts: list[str] = []
        if self.residues:
            tail: list[str] = []
            lo = self._tail_min()
            assert lo is not None
            if lo > 1:
                tail.append(f"{name} ≥ {lo}")
            tail.extend(_describe_residues(name, self.period, self.residues))
            parts.append(" and ".join(tail) if tail else f"{name} ≥ 1")
        for a, b in self.head:
            if a == b:
                parts.append(f"{name} = {a}")
            elif not self.residues and a == 1 and len(self.head) == 1:
                parts.append(f"{name} ≤ {b}")
            else:
                parts.append(f"{a} ≤ {name} ≤ {b}")
        if len(parts) > 1:
            return " or ".join(f"({p})" if " and " in p else p for p in parts)
        return parts[0]

    #: Most sizes listed as exceptions to a periodic pattern (:meth:`_with_exceptions`).
    EXCEPTIONS = 3

    def _with_exceptions(self, name: str) -> str | None:
        """The set as its periodic pattern with a few exceptions, where the head has more than two
        pieces: ``H ≡ 0 (mod 16) and H ≠ 1024`` rather than 64 sizes listed one by one."""
        if not self.residues or len(self.head) <= 2 or self.start > 100_000:
            return None
        lo = self.head[0][0]  # the least member: the head lies below the periodic part
        missing = [x for x in range(lo, self.start) if x % self.period in self.residues
                   and not _in_intervals(self.head, x)]
        extra = [x for a, b in self.head for x in range(a, b + 1) if x % self.period not in self.residues]
        if len(missing) + len(extra) > self.EXCEPTIONS:
            return None
        first = next((x for x in range(1, self.period + 1) if x % self.period in self.residues), 1)
        base = ([f"{name} ≥ {lo}"] if lo > first else []) + _describe_residues(name, self.period, self.residues)
        base += [f"{name} ≠ {x}" for x in missing]
        text = " and ".join(base) if base else f"{name} ≥ 1"
        if extra:
            return " or ".join([f"({text})" if " and " in text else text] + [f"{name} = {x}" for x in extra])
        return text


def _describe_residues(name: str, period: int, residues: frozenset[int]) -> list[str]:
    if period == 1:
        return []
    if len(residues) == 1:
        (r,) = residues
        return [f"{name} ≡ {r} (mod {period})"]
    missing = sorted(set(range(period)) - residues)
    if len(missing) == 1:
        return [f"{name} ≢ {missing[0]} (mod {period})"]
    return [f"{name} mod {period} ∈ {{{', '.join(str(r) for r in sorted(residues))}}}"]


def _divisors(n: int) -> list[int]:
    out = set()
    i = 1
    while i * i <= n:
        if n % i == 0:
            out.add(i)
            out.add(n // i)
        i += 1
    return sorted(out)


def _in_intervals(head: tuple[Interval, ...], x: int) -> bool:
    for a, b in head:
        if a <= x <= b:
            return True
        if a > x:
            return False
    return False



def _merge(ivs: list[Interval]) -> tuple[Interval, ...]:
    out: list[list[int]] = []
    for a, b in sorted(ivs):
        if out and a <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)

