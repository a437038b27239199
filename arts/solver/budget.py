"""A wall-clock bound on one decision, on top of the step budgets.

Every loop of the solver is bounded by a step budget (points searched, evaluations, classes), so a
decision always ends; the deadline is the last guard that keeps the sum of those bounded in time
too.  Past it a decision answers ``unknown`` with the reason, never a guess.  The outermost
:func:`decision_budget` sets the deadline; nested decisions share it.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Iterator

from arts.errors import BudgetExceeded

#: Seconds one decision (one call of :func:`arts.solver.decide.decide`) may take.
DECIDE_SECONDS = 20.0

_state = threading.local()


@contextmanager
def decision_budget(seconds: float | None = None) -> Iterator[None]:
    """Run a decision under a deadline (the enclosing one, if a decision is already running)."""
    outer = getattr(_state, "deadline", None)
    if outer is None:
        _state.deadline = time.monotonic() + (DECIDE_SECONDS if seconds is None else seconds)
        _state.seconds = DECIDE_SECONDS if seconds is None else seconds
    try:
        yield
    finally:
        if outer is None:
            _state.deadline = None


def deadline_check() -> None:
    """Raise :class:`BudgetExceeded` when the running decision is past its deadline."""
    d = getattr(_state, "deadline", None)
    if d is not None and time.monotonic() >= d:
        raise BudgetExceeded(f"the decision took longer than its budget of {_state.seconds:g} s")


def expired() -> str | None:
    """Why the running deadline has passed (its reason), or None while there is time left (or no
    deadline): the checker's walk asks it once a node, so that past the deadline no solver phase
    (deciding, restricting the live domain, resolving shapes) keeps running."""
    try:
        deadline_check()
    except BudgetExceeded as e:
        return str(e)
    return None
