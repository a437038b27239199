"""Reports as SARIF 2.1.0, for code-scanning tools (``arts check --sarif``).

One run, tool ``arts``, one rule per diagnostic code of :mod:`arts.messages`; one result per
diagnostic, with the file and line where the user wrote the failing call.  Counterexamples,
expected/found and notes go into the message text and ``properties``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from arts.graph.report import Diagnostic, Report
from arts.messages import CODES

__all__ = ["SARIF_SCHEMA", "SARIF_VERSION", "to_sarif"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {"error": "error", "warning": "warning", "note": "note"}
#: Codes the front end emits that may not (yet) be in arts.messages.CODES.
_EXTRA_CODES = {"assumed-input": "no input shape was given; the one assumed is stated in the note"}


def _rules() -> tuple[list[dict[str, Any]], dict[str, int]]:
    codes = dict(CODES)
    for k, v in _EXTRA_CODES.items():
        codes.setdefault(k, v)
    rules = []
    index = {}
    for i, (code, text) in enumerate(codes.items()):
        index[code] = i
        rules.append({"id": code, "name": "".join(p.capitalize() for p in code.split("-")),
                      "shortDescription": {"text": text}})
    return rules, index


def _message(d: Diagnostic, report: Report) -> str:
    parts = [d.message]
    if d.expected is not None:
        parts.append(f"expected: {d.expected}")
    if d.found is not None:
        parts.append(f"found: {d.found}")
    if d.counterexample:
        parts.append("counterexample: " + ", ".join(f"{k}={v}" for k, v in d.counterexample.items()))
    parts.extend(f"note: {n}" for n in d.notes)
    if d.severity == "error":
        parts.append(f"accepted: {report.domain}")
    return "\n".join(parts)


def _uri(path: str) -> str:
    return path.replace("\\", "/")


def to_sarif(reports: Report | Iterable[Report]) -> dict[str, Any]:
    """A SARIF 2.1.0 log (a JSON-ready dict) for one or several reports."""
    if isinstance(reports, Report):
        reports = [reports]
    rules, index = _rules()
    results = []
    for r in reports:
        for d in r.diagnostics:
            if d.code not in index:
                index[d.code] = len(rules)
                rules.append({"id": d.code, "shortDescription": {"text": d.code}})
            res: dict[str, Any] = {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": _LEVEL.get(d.severity, "none"),
                "message": {"text": _message(d, r)},
                "properties": {"target": r.target, "node": d.node, "status": r.status,
                               "expected": d.expected, "found": d.found, "counterexample": d.counterexample},
            }
            if d.file:
                loc: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": _uri(d.file)}}}
                if d.line is not None and d.line >= 1:
                    region: dict[str, Any] = {"startLine": int(d.line)}
                    if d.source:
                        region["snippet"] = {"text": d.source}
                    loc["physicalLocation"]["region"] = region
                if d.node:
                    loc["logicalLocations"] = [{"name": d.node, "kind": "member"}]
                res["locations"] = [loc]
            results.append(res)
    from arts import __version__

    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": "arts", "version": __version__, "rules": rules}},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }
