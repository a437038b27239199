"""Output of `arts check model.py`: compiler-like text, the JSON contract, SARIF 2.1.0."""

from __future__ import annotations

import json
import os
import textwrap

import pytest

pytest.importorskip("torch")

from arts.frontends.loader import check_file
from arts.frontends.sarif import SARIF_VERSION, to_sarif
from arts.messages import CODES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The parts of the SARIF 2.1.0 schema (https://json.schemastore.org/sarif-2.1.0.json) that a
# consumer relies on, written out here because the tests run without network access.
SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "$schema": {"type": "string"},
        "runs": {"type": "array", "items": {
            "type": "object",
            "required": ["tool"],
            "properties": {
                "tool": {"type": "object", "required": ["driver"], "properties": {"driver": {
                    "type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string"}, "version": {"type": "string"},
                                   "rules": {"type": "array", "items": {
                                       "type": "object", "required": ["id"],
                                       "properties": {"id": {"type": "string"},
                                                      "shortDescription": {"type": "object",
                                                                           "required": ["text"]}}}}}}}},
                "results": {"type": "array", "items": {
                    "type": "object",
                    "required": ["message"],
                    "properties": {
                        "ruleId": {"type": "string"},
                        "ruleIndex": {"type": "integer", "minimum": -1},
                        "level": {"enum": ["none", "note", "warning", "error"]},
                        "message": {"type": "object", "anyOf": [{"required": ["text"]}, {"required": ["id"]}],
                                    "properties": {"text": {"type": "string"}}},
                        "locations": {"type": "array", "items": {"type": "object", "properties": {
                            "physicalLocation": {
                                "type": "object",
                                "properties": {
                                    "artifactLocation": {"type": "object", "properties": {"uri": {"type": "string"}}},
                                    "region": {"type": "object", "properties": {
                                        "startLine": {"type": "integer", "minimum": 1}}}}}}}},
                    }}},
            }}},
    },
}


@pytest.fixture(scope="module")
def unet_reports():
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return check_file("examples/unet.py")
    finally:
        os.chdir(cwd)


def test_text_reads_like_a_compiler(unet_reports) -> None:
    _, nopad = unet_reports
    text = nopad.format()
    assert "examples/unet.py:60: error: cat: input 1 differs from input 0 in dimension 3" in text
    assert "\n    x = torch.cat([x2, x1], dim=1)      # node: cat\n" in text
    assert "  counterexample: N=1, H=16, W=24" in text
    assert "  note: reached from examples/unet.py:84: x = self.up1(x5, x4)" in text
    assert "  accepted: H ≥ 16 and H ≡ 0 (mod 16) and W ≥ 16 and W ≡ 0 (mod 16)" in text
    assert text.splitlines()[0].startswith("examples/unet.py:")
    assert "note: no input shape given: assumed x: N,3,H,W (from self.inc = " not in text  # the layer, not the block
    assert "assumed x: N,3,H,W (from self.inc.double_conv.0 = nn.Conv2d(3, ...))" in text


def test_json_contract(unet_reports) -> None:
    docs = [r.to_json() for r in unet_reports]
    text = json.dumps(docs)  # a file with several targets prints a list
    back = json.loads(text)
    assert [d["target"] for d in back] == ["examples/unet.py:UNet", "examples/unet.py:UNetNoPad"]
    for d in back:
        assert {"ok", "target", "domain", "diagnostics", "shapes"} <= set(d)
        for diag in d["diagnostics"]:
            assert {"severity", "code", "node", "message", "file", "line", "expected", "found",
                    "counterexample"} <= set(diag)
    nopad = back[1]
    assert nopad["ok"] is False
    assert nopad["shapes"]["outc"] == ["N", "2", "H", "W"]
    cat = next(x for x in nopad["diagnostics"] if x["node"] == "cat")
    assert cat["file"] == "examples/unet.py" and cat["line"] == 60
    assert cat["counterexample"] == {"N": 1, "H": 16, "W": 24}


def test_sarif_structure(unet_reports) -> None:
    log = to_sarif(unet_reports)
    json.dumps(log)
    assert log["version"] == SARIF_VERSION
    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert set(CODES) <= set(ids)
    results = run["results"]
    assert results
    for res in results:
        assert res["ruleId"] in ids and ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        assert res["message"]["text"]
    errors = [r for r in results if r["level"] == "error"]
    assert len(errors) == 6  # UNet: too small; UNetNoPad: too small + four cats
    loc = next(r for r in errors if r["properties"]["node"] == "cat_3")["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "examples/unet.py"
    assert loc["region"]["startLine"] == 60
    try:
        import jsonschema
    except ImportError:
        return
    jsonschema.validate(log, SARIF_SUBSET)


def test_sarif_unknown_is_a_warning(tmp_path) -> None:
    p = tmp_path / "m.py"
    p.write_text(textwrap.dedent("""
        import torch, torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3)
            def forward(self, x):
                return torch.fft.rfft2(self.conv(x))
    """))
    [r] = check_file(str(p))
    log = to_sarif([r])
    [w] = [x for x in log["runs"][0]["results"] if x["ruleId"] == "unsupported"]
    assert w["level"] == "warning"
    assert w["locations"][0]["physicalLocation"]["region"]["startLine"] == 8
