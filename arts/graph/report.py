"""Diagnostics and reports: what a check found, in a fixed anatomy.

Every diagnostic has: a location (file:line and node), what went wrong with its ``[code]``,
expected and found in the user's notation, a counterexample (already checked by substitution),
and notes.  A report adds the inferred accepted domain and the shapes of every node.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import sympy

from arts.errors import InputError
from arts.messages import plain
from arts.solver.domain import Domain
from arts.solver.evaluate import compile_expr
from arts.solver.simplify import show_dim


@dataclass
class Diagnostic:
    severity: str  # "error" | "warning" | "note"
    code: str
    node: str | None
    message: str
    op: str | None = None
    file: str | None = None
    line: int | None = None
    expected: str | None = None
    found: str | None = None
    counterexample: dict[str, int] | None = None
    notes: list[str] = field(default_factory=list)
    source: str | None = None  # the user's line of code, when known
    #: a certain bug: the node fails for every size that reaches it (an error in every reading)
    certain: bool = False
    #: an error of the strict reading shown as a note in the signature reading (it only narrows
    #: the accepted sizes); the text then prints its head and source line only
    narrows: bool = False

    def __post_init__(self) -> None:
        # one place where every text a user reads passes: no sympy spellings in it
        self.message = plain(self.message)
        self.expected = plain(self.expected) if self.expected is not None else None
        self.found = plain(self.found) if self.found is not None else None
        self.notes = [plain(n) for n in self.notes]

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity, "code": self.code, "node": self.node, "message": self.message,
            "file": self.file, "line": self.line, "expected": self.expected, "found": self.found,
            "counterexample": self.counterexample, "notes": list(self.notes),
        }

    def format(self, accepted: str | None = None) -> str:
        if self.file and self.line is not None:
            loc = f"{self.file}:{self.line}: "
        elif self.file:
            loc = f"{self.file}: "
        else:
            loc = ""
        head = f"{loc}{self.severity}: {self.message} [{self.code}]"
        lines = [head]
        if self.narrows:
            if self.source:
                lines.append(f"    {self.source.strip()}" + (f"      # node: {self.node}" if self.node else ""))
            return "\n".join(lines)
        if self.source:
            lines.append(f"    {self.source.strip()}" + (f"      # node: {self.node}" if self.node else ""))
        elif self.node:
            lines.append(f"    node: {self.node}" + (f" ({self.op})" if self.op else ""))
        if self.expected is not None:
            lines.append(f"  expected: {self.expected}")
        if self.found is not None:
            lines.append(f"  found:    {self.found}")
        if self.counterexample:
            lines.append("  counterexample: " + ", ".join(f"{k}={v}" for k, v in self.counterexample.items()))
        for n in self.notes:
            lines.append(f"  note: {n}")
        if accepted is not None and self.severity == "error":
            lines.append(f"  accepted: {accepted}")
        return "\n".join(lines)


#: How a report is read (DESIGN.md §4): ``strict`` -- every size must work (the library's
#: ``typecheck``); ``intent`` -- every size of the declared domain must work; ``signature`` -- no
#: intent was declared: the accepted domain is the model's signature, only certain bugs are errors.
READINGS = ("strict", "intent", "signature")


@dataclass
class Report:
    """The result of checking one network.

    ``status`` is "ok" (well-typed on the whole declared domain), "error" (a type error, with a
    counterexample) or "unknown" (nothing refuted, but not everything could be decided or
    translated).  ``accepted`` is the exact inferred domain on which the network is well-typed.
    ``reading`` says what "well-typed" was asked for (see :data:`READINGS` and :meth:`judged`).
    """

    target: str
    status: str
    diagnostics: list[Diagnostic]
    shapes: dict[str, tuple]
    accepted: Domain
    declared: Domain
    symbols: tuple[sympy.Symbol, ...]
    example: dict[str, int] | None = None
    static_failure: bool = False
    unknown_nodes: tuple[str, ...] = ()
    inputs: dict[str, tuple] = field(default_factory=dict)
    reading: str = "strict"
    #: conditions bounding the region where the checked graph is the model (branches the trace
    #: took on sizes): decided inside, unknown outside; ``region_empty``: the traced branches
    #: hold for no size arts can tell (then nothing is decided)
    region: tuple[sympy.Basic, ...] = ()
    region_empty: bool = False
    #: nodes the checker did not reach because the solver's deadline passed: ``accepted`` is then
    #: an over-approximation (sizes outside it fail; sizes inside it are not known to run)
    unchecked: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def domain(self) -> str:
        """The accepted domain, printed exactly (``H ≥ 16 and H ≡ 0 (mod 16)``).

        When part of the network could not be translated, the domain covers the translated part
        only, and says so."""
        if self.static_failure:
            return "no input size"
        text = plain(self.accepted.describe())
        if self.unknown_nodes:
            text += " (translated part only)"
        if self.region:
            text += " (inside the captured region only)"
        return text

    @property
    def signature(self) -> str:
        """The input shapes and the accepted domain: ``x: N,3,H,W for H ≥ 16 and ...``."""
        head = ", ".join(f"{k}: {','.join(show_dim(e) for e in s)}" for k, s in self.inputs.items())
        dom = self.domain
        if not head:
            return dom
        return f"{head}" + ("" if dom == "all sizes" else f" for {dom}")

    def judged(self, intent: bool, strict: bool = False) -> "Report":
        """This report read the way ``arts check`` reads it (DESIGN.md §4).

        ``strict``: every size must work (the report as it is).  ``intent`` (sizes were declared):
        every size of the declared domain must work -- again the report as it is, since the
        checker decides over the declared domain.  Otherwise the *signature* reading: the
        accepted domain is the answer, and only certain bugs stay errors -- a node that fails for
        every size reaching it, or no size accepted at all; every other error only narrows the
        accepted sizes and becomes a note."""
        if strict:
            return replace(self, reading="strict")
        if intent:
            return replace(self, reading="intent")
        if self.status != "error" or self.accepted.empty or self.static_failure:
            return replace(self, reading="signature")
        example = self.example
        if example is None:  # the signature must be known non-empty: find an accepted point
            from arts.graph.typical import typical_member

            example = typical_member(self.accepted, self.symbols)
            if example is None or not (self.declared.contains(example) and self.accepted.contains(example)):
                return replace(self, reading="signature")
        diags = [d if d.severity != "error" or d.certain else replace(d, severity="note", narrows=True)
                 for d in self.diagnostics]
        if any(d.severity == "error" for d in diags):
            status = "error"
        elif self.unknown_nodes or any(d.severity == "warning" for d in diags):
            status = "unknown"
        else:
            status = "ok"
        return replace(self, status=status, diagnostics=diags, reading="signature", example=example)

    def accepts(self, **sizes: int) -> bool:
        """Whether the network is well-typed at these sizes, from the inferred domain (no torch run).

        Every input symbol must be given.  If part of the network could not be translated
        (status unknown with unsupported nodes), the answer covers the translated part only and
        a ValueError is raised instead of guessing.
        """
        missing = [s.name for s in self.symbols if s.name not in sizes]
        if missing:
            raise InputError(f"accepts() needs a size for {', '.join(missing)}")
        for k, v in sizes.items():
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise InputError(f"size {k}={v!r} must be a positive integer")
        if self.unknown_nodes:
            raise ValueError(f"cannot answer exactly: node(s) {', '.join(self.unknown_nodes)} could not be "
                             f"translated")
        if self.region_empty:
            raise ValueError("cannot answer: the branches the trace took on sizes hold for no size arts can tell")
        point = {s.name: sizes[s.name] for s in self.symbols}
        if not all(bool(compile_expr(c)(point)) for c in self.region) and self.declared.contains(point):
            raise ValueError("outside the region where the traced graph is the model: forward takes a branch "
                             "there that arts did not trace")
        if self.static_failure:
            return False
        if not self.declared.contains(point):
            return False
        ok = all(bool(compile_expr(c)(point)) for c in self.accepted.constraints)
        if ok and self.unchecked:
            raise ValueError(f"cannot answer: checking stopped at {self.unchecked[0]} (the solver's budget was spent)")
        return ok

    def shape_at(self, node: str, **sizes: int) -> tuple[int, ...]:
        """The concrete shape of ``node`` at these sizes."""
        return tuple(int(compile_expr(sympy.sympify(e))(sizes)) for e in self.shapes[node])

    @property
    def notes(self) -> list[str]:
        """The texts of the note-severity diagnostics, ``file:line: message [code]``."""
        out = []
        for d in self.diagnostics:
            if d.severity == "note":
                loc = f"{d.file}:{d.line}: " if d.file and d.line is not None else (f"{d.file}: " if d.file else "")
                out.append(f"{loc}{d.message} [{d.code}]")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "status": self.status,
            "target": self.target,
            "reading": self.reading,
            "domain": self.domain,
            "declared": plain(self.declared.describe()),
            "signature": self.signature,
            "example": self.example,
            "diagnostics": [d.to_json() for d in self.diagnostics],
            "shapes": {n: [show_dim(e) for e in s] for n, s in self.shapes.items()},
            "notes": self.notes,
        }

    def format(self) -> str:
        acc = self.domain
        out = [d.format(acc) for d in self.diagnostics]
        n_err = sum(d.severity == "error" for d in self.diagnostics)
        tail = f"{self.target}: {self.status}"
        if n_err:
            tail += f" ({n_err} error{'s' if n_err != 1 else ''})"
        if self.reading == "intent" and self.declared.constraints:
            tail += f"; declared: {plain(self.declared.describe())}"
        if self.reading == "signature" and self.inputs:
            tail += f"; signature: {self.signature}"
        else:
            tail += f"; accepted: {acc}"
        if self.example and self.status != "ok":
            tail += "; e.g. " + ", ".join(f"{k}={v}" for k, v in self.example.items())
        out.append(tail)
        return "\n".join(out)
