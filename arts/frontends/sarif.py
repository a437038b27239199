"""Reports as SARIF 2.1.0, for code-scanning tools (``arts check --sarif``).

One run, tool ``arts``, one rule per diagnostic code of :mod:`arts.messages` (with
``shortDescription``, ``fullDescription`` and ``help``), in the registry's order.  Errors and
warnings are results, located at the file and line where the user wrote the failing call; file
URIs are relative to the ``SRCROOT`` base (``originalUriBaseIds``: the directory ``arts`` ran in),
so a log produced in CI points into the checkout.  Notes (an assumed input shape, a condition
that only narrows the signature) are not alerts: they go to the invocation's
``toolExecutionNotifications``.  Counterexamples, expected/found and notes go into the message
text and ``properties``.  Output is deterministic: reports, results and keys in a fixed order.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from arts.graph.report import Diagnostic, Report
from arts.messages import INFO, Code

__all__ = ["SARIF_SCHEMA", "SARIF_VERSION", "URI_BASE", "to_sarif"]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
URI_BASE = "SRCROOT"
_LEVEL = {"error": "error", "warning": "warning", "note": "note"}
_DOCS = "docs/diagnostics.md"


def _rules() -> tuple[list[dict[str, Any]], dict[str, int]]:
    rules = []
    index = {}
    for i, code in enumerate(Code):
        info = INFO[code]
        index[code.value] = i
        rules.append({
            "id": code.value,
            "name": "".join(p.capitalize() for p in code.value.split("-")),
            "shortDescription": {"text": info.summary},
            "fullDescription": {"text": f"{info.summary}. {info.help}"},
            "help": {"text": info.help, "markdown": f"{info.help}\n\nSee `{_DOCS}`, section `{code.value}`."},
            "defaultConfiguration": {"level": "note" if code is Code.ASSUMED_INPUT else
                                     "warning" if code in (Code.UNSUPPORTED, Code.UNDECIDED) else "error"},
        })
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


def _uri(path: str, root: str) -> str:
    """``path`` relative to ``root``, ``/``-separated (as given when it lies outside ``root``)."""
    p = os.path.abspath(path)
    try:
        rel = os.path.relpath(p, root)
    except ValueError:  # another drive on Windows
        return Path(p).as_uri()
    if rel.startswith(".."):
        return Path(p).as_uri()
    return rel.replace(os.sep, "/")


def _target_file(report: Report) -> str | None:
    t = report.target
    for cand in (t, t.rsplit(":", 1)[0] if ":" in t else None):
        if cand and os.path.isfile(cand):
            return cand
    return None


def to_sarif(reports: Report | Iterable[Report], root: str | None = None) -> dict[str, Any]:
    """A SARIF 2.1.0 log (a JSON-ready dict) for one or several reports.

    ``root`` (default: the current directory) is the ``SRCROOT`` that file URIs are relative to."""
    if isinstance(reports, Report):
        reports = [reports]
    base = os.path.abspath(root or os.getcwd())
    rules, index = _rules()
    results = []
    notifications = []
    for r in reports:
        for d in r.diagnostics:
            if d.code not in index:  # a code outside the registry: still a valid log
                index[d.code] = len(rules)
                rules.append({"id": d.code, "shortDescription": {"text": d.code},
                              "fullDescription": {"text": d.code}, "help": {"text": d.code}})
            file = d.file or _target_file(r)
            loc: dict[str, Any] | None = None
            if file:
                loc = {"physicalLocation": {"artifactLocation": {"uri": _uri(file, base), "uriBaseId": URI_BASE}}}
                region: dict[str, Any] = {"startLine": int(d.line) if d.line is not None and d.line >= 1 else 1}
                if d.source and d.line is not None:
                    region["snippet"] = {"text": d.source}
                loc["physicalLocation"]["region"] = region
                if d.node:
                    loc["logicalLocations"] = [{"name": d.node, "kind": "member"}]
            if d.severity == "note":
                note: dict[str, Any] = {"level": "note", "message": {"text": _message(d, r)},
                                        "descriptor": {"id": d.code, "index": index[d.code]}}
                if loc is not None:
                    note["locations"] = [loc]
                notifications.append(note)
                continue
            res: dict[str, Any] = {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": _LEVEL.get(d.severity, "none"),
                "message": {"text": _message(d, r)},
                "properties": {"target": r.target, "node": d.node, "status": r.status, "reading": r.reading,
                               "expected": d.expected, "found": d.found, "counterexample": d.counterexample},
            }
            if loc is not None:
                res["locations"] = [loc]
            results.append(res)
    from arts import __version__

    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {"name": "arts", "version": __version__, "rules": rules}},
            "originalUriBaseIds": {URI_BASE: {"uri": Path(base).as_uri() + "/"}},
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }
