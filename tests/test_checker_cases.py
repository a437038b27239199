"""Run the checker cases in tests/data/check-*.test, and confirm every verdict in torch."""

from __future__ import annotations

import pytest
import torch

from arts.graph import typecheck
from arts.graph.compile import to_module

from checkcases import load_cases

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case):
    report = typecheck(case.builder.graph)
    found = {(d.severity, d.node, d.code) for d in report.diagnostics if d.severity in ("error", "warning")}
    assert found == case.expected, f"{case.file}:{case.line} [{case.name}]\n{report.format()}"
    texts = {(d.node, d.code): d.message for d in report.diagnostics}
    for key, text in case.messages.items():
        assert texts[key] == text, f"{case.file}:{case.line} [{case.name}] {key}"
    if case.domain is not None:
        assert report.domain == case.domain
    if case.status is not None:
        assert report.status == case.status
    if report.static_failure or report.unknown_nodes:  # nothing to run in torch
        return
    # every counterexample really fails in torch, and the example really runs with the predicted shapes
    module = to_module(case.builder.graph)
    inputs = case.builder.graph.graph["inputs"]
    for d in report.diagnostics:
        if d.severity == "error" and d.counterexample:
            with pytest.raises((RuntimeError, ValueError)):
                module(*[torch.zeros(_concrete(s, d.counterexample)) for s in inputs.values()])
    if report.example:
        out = module(*[torch.zeros(_concrete(s, report.example)) for s in inputs.values()])
        (name,) = case.builder.graph.graph["outputs"]
        assert tuple(out.shape) == report.shape_at(name, **report.example)


def _concrete(shape, point):
    return tuple(int(e.subs({s: point[s.name] for s in e.free_symbols})) for e in shape)
