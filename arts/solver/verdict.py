"""Three-valued answers: ``proven``, ``refuted`` (with a counterexample), ``unknown`` (with why)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Status(str, enum.Enum):
    PROVEN = "proven"
    REFUTED = "refuted"
    UNKNOWN = "unknown"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


@dataclass(frozen=True)
class Verdict:
    """The answer to one decision, carrying its certificate.

    ``counterexample`` is an assignment of every input symbol that lies in the domain and
    really fails (only for ``refuted``); ``reason`` says why (always for ``unknown``).
    """

    status: Status
    counterexample: dict[str, int] | None = None
    reason: str = ""
    notes: tuple[str, ...] = field(default=())

    @classmethod
    def proven(cls, reason: str = "") -> "Verdict":
        return cls(Status.PROVEN, None, reason)

    @classmethod
    def refuted(cls, counterexample: dict[str, int] | None, reason: str = "") -> "Verdict":
        return cls(Status.REFUTED, dict(counterexample) if counterexample is not None else None, reason)

    @classmethod
    def unknown(cls, reason: str) -> "Verdict":
        return cls(Status.UNKNOWN, None, reason)

    @property
    def is_proven(self) -> bool:
        return self.status is Status.PROVEN

    @property
    def is_refuted(self) -> bool:
        return self.status is Status.REFUTED

    @property
    def is_unknown(self) -> bool:
        return self.status is Status.UNKNOWN

    def to_json(self) -> dict:
        return {
            "verdict": self.status.value,
            "counterexample": self.counterexample,
            "reason": self.reason,
        }

    def __str__(self) -> str:
        text = self.status.value
        if self.counterexample:
            text += " at " + ", ".join(f"{k}={v}" for k, v in self.counterexample.items())
        if self.reason:
            text += f" ({self.reason})"
        return text


def both(a: Verdict, b: Verdict) -> Verdict:
    """Conjunction of two verdicts: refuted if either is, unknown if either is, else proven."""
    for v in (a, b):
        if v.is_refuted:
            return v
    for v in (a, b):
        if v.is_unknown:
            return v
    return Verdict.proven("; ".join(r for r in (a.reason, b.reason) if r))
