"""``arts check`` as CI uses it: help, readings (signature / intent / strict), many PATHs,
``[tool.arts]``, deterministic text/JSON/SARIF, and what the verb imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from arts.cli import build_parser, main

ROOT = str(Path(__file__).resolve().parents[1])
ENV = {**os.environ, "PYTHONPATH": ROOT}


def graph(tmp: Path, name: str, nodes: list, inputs=None, where=None) -> str:
    data = {"inputs": inputs or {"x": ["N", 3, "H", "W"]}, "nodes": nodes, "outputs": [nodes[-1]["name"]]}
    if where:
        data["where"] = where
    p = tmp / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return str(p)


POOL = [{"name": "p", "op": "max_pool2d", "args": ["x"], "params": {"kernel_size": 2}}]
POOL_CAT = [
    {"name": "p", "op": "max_pool2d", "args": ["x"], "params": {"kernel_size": 2}},
    {"name": "u", "op": "upsample", "args": ["p"], "params": {"scale_factor": 2}},
    {"name": "c", "op": "cat", "args": ["x", "u"], "params": {"dim": 1}},
]
CHANNELS = [{"name": "conv", "op": "conv2d", "args": ["x"],
             "params": {"in_channels": 4, "out_channels": 8, "kernel_size": 3, "padding": 1}}]
NOTHING = [  # 3*floor(H/4)*floor(W/4) features can never be 2: no size at all is accepted
    {"name": "p", "op": "max_pool2d", "args": ["x"], "params": {"kernel_size": 4}},
    {"name": "f", "op": "flatten", "args": ["p"]},
    {"name": "fc", "op": "linear", "args": ["f"], "params": {"in_features": 2, "out_features": 5}},
]


def run(args, cwd=ROOT, seed=None):
    env = dict(ENV)
    if seed is not None:
        env["PYTHONHASHSEED"] = str(seed)
    return subprocess.run([sys.executable, "-m", "arts", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          check=False, timeout=300)


# ---- help -----------------------------------------------------------------------------------------

def _verbs() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(sub.choices)


def test_every_verb_is_listed():
    assert {"check", "equiv", "compat", "generate", "types"} <= set(_verbs())


@pytest.mark.parametrize("verb", _verbs())
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_of_every_verb(verb, flag, capsys):
    assert main([verb, flag]) == 0
    out = capsys.readouterr()
    assert out.out.startswith(f"usage: arts {verb}") and "internal error" not in out.err


def test_check_help_shows_the_percent_in_where():
    proc = run(["check", "--help"])
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "H % 16 == 0" in text and "--strict" in text


# ---- readings -------------------------------------------------------------------------------------

def test_signature_reading_passes_a_model_that_needs_a_minimum_size(tmp_path, capsys):
    p = graph(tmp_path, "pool.json", POOL_CAT)
    assert main(["check", p]) == 0
    out = capsys.readouterr().out
    last = out.strip().splitlines()[-1]
    assert last == f"{p}: ok; signature: x: N,3,H,W for H ≥ 2 and H ≡ 0 (mod 2) and W ≥ 2 and W ≡ 0 (mod 2)"
    assert ": note: " in out and ": error: " not in out  # where the sizes are narrowed, as notes


def test_strict_keeps_every_size(tmp_path, capsys):
    p = graph(tmp_path, "pool.json", POOL_CAT)
    assert main(["check", p, "--strict"]) == 1
    out = capsys.readouterr().out
    assert "error: max_pool2d output height must be positive" in out and "counterexample: N=1, H=1, W=1" in out


def test_declared_intent_errors_with_a_typical_counterexample(tmp_path, capsys):
    p = graph(tmp_path, "pool.json", POOL_CAT)
    assert main(["check", p, "--where", "H >= 16, W >= 16"]) == 1
    out = capsys.readouterr().out
    cx = [line for line in out.splitlines() if "counterexample:" in line]
    assert len(cx) == 1
    sizes = dict(kv.split("=") for kv in cx[0].split(": ", 1)[1].split(", "))
    # inside the declared domain, and a size people use (the odd one near 64), not H=1
    assert all(int(sizes[k]) >= 16 for k in ("H", "W")) and max(int(sizes["H"]), int(sizes["W"])) >= 32
    assert main(["check", p, "--where", "H % 2 == 0, W % 2 == 0"]) == 0


def test_fixed_sizes_in_input_are_intent_symbols_are_not(tmp_path):
    p = graph(tmp_path, "pool.json", POOL_CAT)
    assert main(["check", p, "--input", "N,3,H,W"]) == 0
    assert main(["check", p, "--input", "1,3,H,W"]) == 0  # a batch size is not a declared image size
    assert main(["check", p, "--input", "N,3,33,32"]) == 1
    assert main(["check", p, "--input", "N,3,32,32"]) == 0


def test_certain_bugs_fail_without_intent(tmp_path, capsys):
    assert main(["check", graph(tmp_path, "ch.json", CHANNELS)]) == 1
    out = capsys.readouterr().out
    assert "error: conv2d expects 4 input channels [channel-mismatch]" in out
    assert main(["check", graph(tmp_path, "none.json", NOTHING)]) == 1
    out = capsys.readouterr().out
    assert "error: linear expects 2 input features" in out and "[empty-domain]" not in out


def test_one_cause_one_diagnostic(tmp_path, capsys):
    big = [{"name": "p", "op": "max_pool2d", "args": ["x"], "params": {"kernel_size": 64}}]
    p = graph(tmp_path, "big.json", big)
    assert main(["check", p, "--where", "H == 32, W == 32"]) == 1
    out = capsys.readouterr().out
    assert out.count(": error: ") == 1 and "empty-domain" not in out and "counterexample: N=1, H=32, W=32" in out


def test_contradictory_intent_is_an_input_error(tmp_path, capsys):
    p = graph(tmp_path, "pool.json", POOL)
    assert main(["check", p, "--where", "H >= 8, H <= 4"]) == 2
    assert "admit no input size" in capsys.readouterr().err


# ---- many PATHs -------------------------------------------------------------------------------------

def test_directory_glob_and_summary(tmp_path, capsys):
    graph(tmp_path / "m", "a.json", POOL)
    graph(tmp_path / "m" / "sub", "b.json", CHANNELS)
    (tmp_path / "m" / "helpers.py").write_text("X = 1\n", encoding="utf-8")  # no model: skipped in a walk
    assert main(["check", str(tmp_path / "m")]) == 1  # worst of ok and error
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1] == "arts: checked 2 targets in 2 files: 1 ok, 1 error"
    assert main(["check", str(tmp_path / "m" / "*.json")]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith(": ok; signature: x: N,3,H,W for H ≥ 2 and W ≥ 2")
    assert main(["check", str(tmp_path / "m" / "*.yaml")]) == 2
    assert "matches no file" in capsys.readouterr().err


def test_a_bad_file_among_good_ones_is_one_line_and_exit_2(tmp_path, capsys):
    good = graph(tmp_path, "a.json", POOL)
    bad = tmp_path / "b.json"
    bad.write_text("{not json", encoding="utf-8")
    assert main(["check", good, str(bad)]) == 2
    out = capsys.readouterr()
    assert out.err.count("arts: error: ") == 1 and str(bad) in out.err
    assert "checked 1 target in 1 file: 1 ok, 1 not checked (input error)" in out.out


def test_json_is_always_a_list_with_notes(tmp_path, capsys):
    p = graph(tmp_path, "pool.json", POOL)
    assert main(["check", p, "--json"]) == 0
    (rep,) = json.loads(capsys.readouterr().out)
    assert rep["ok"] is True and rep["reading"] == "signature" and rep["signature"] == "x: N,3,H,W for H ≥ 2 and W ≥ 2"
    assert rep["notes"] and rep["diagnostics"][0]["severity"] == "note"
    assert set(rep["diagnostics"][0]) >= {"severity", "code", "node", "message", "file", "line", "expected", "found",
                                         "counterexample", "notes"}


# ---- [tool.arts] ------------------------------------------------------------------------------------

def test_tool_arts_paths_and_targets(tmp_path, monkeypatch, capsys):
    graph(tmp_path / "models", "pool.json", POOL_CAT)
    graph(tmp_path / "models", "plain.json", POOL)
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.arts]
        paths = ["models/"]
        [tool.arts.targets."models/pool.json"]
        where = "H >= 16, W >= 16"
    """), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 1  # the declared sizes include odd ones
    out = capsys.readouterr().out
    assert "models/pool.json: error (1 error); declared: H ≥ 16 and W ≥ 16" in out
    assert out.strip().splitlines()[-1] == "arts: checked 2 targets in 2 files: 1 ok, 1 error"
    assert main(["check", "models/plain.json"]) == 0


@pytest.mark.parametrize("toml,fragment", [
    ('[tool.arts]\npaths = ["missing/"]\n', "missing: no such file"),
    ('[tool.arts]\npath = ["m/"]\n', "unknown key(s) path"),
    ('[tool.arts]\npaths = 3\n', "paths must be a string or a non-empty list"),
    ('[tool.arts]\npaths = ["m/"]\n[tool.arts.targets."m/nope.py:Net"]\nwhere = "H > 1"\n', "no such file: m/nope.py"),
    ('[tool.arts]\npaths = ["m/"]\n[tool.arts.targets."m/a.json"]\nwhere = "H >>> 1"\n', "malformed constraint"),
    ('[tool.arts\n', "malformed TOML"),
    ('[project]\nname = "x"\n', "no PATH given and no [tool.arts] paths"),
])
def test_bad_config_is_one_line_exit_2(tmp_path, monkeypatch, capsys, toml, fragment):
    graph(tmp_path / "m", "a.json", POOL)
    (tmp_path / "pyproject.toml").write_text(toml, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err, err


# ---- annotations in the code --------------------------------------------------------------------------

MODEL = '''
import torch
from torch import nn, Tensor

class Net(nn.Module):
    {where}
    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: "Float[Tensor, 'N 3 H W']") -> "Float[Tensor, 'N 6 H W']":
        return torch.cat([self.conv(x), nn.functional.interpolate(self.pool(x), scale_factor=2)], dim=1)
'''


def test_annotations_and_arts_where_declare_intent(tmp_path):
    ok = tmp_path / "ok.py"
    ok.write_text(MODEL.format(where='arts_where = "H % 2 == 0, W % 2 == 0"'), encoding="utf-8")
    bad = tmp_path / "bad.py"
    bad.write_text(MODEL.format(where='arts_where = "H >= 32, W >= 32"'), encoding="utf-8")
    plain = tmp_path / "plain.py"
    plain.write_text(MODEL.format(where=""), encoding="utf-8")
    proc = run(["check", str(ok), str(bad), str(plain)])
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert f"{ok}:Net: ok; declared: H ≥ 2 and H ≡ 0 (mod 2)" in out
    assert f"{bad}:Net: error (1 error); declared: H ≥ 32 and W ≥ 32" in out
    assert f"{plain}:Net: ok; signature: x: N,3,H,W for H ≥ 2 and H ≡ 0 (mod 2)" in out
    assert "assumed-input" not in out  # the annotation gave the shape
    assert "jaxtyping" not in sys.modules


# ---- deterministic output -----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", [[], ["--json"], ["--sarif"]])
def test_output_does_not_depend_on_the_hash_seed(fmt):
    args = ["check", "examples/unet.json", "examples/pyramid.json", "examples/resblock_odd.json", "--strict", *fmt]
    outs = {run(args, seed=s).stdout for s in (0, 1, 12345)}
    assert len(outs) == 1 and next(iter(outs)).strip()


# ---- SARIF ------------------------------------------------------------------------------------------

def test_sarif_has_what_code_scanning_requires():
    proc = run(["check", "examples/unet.json", "examples/linear_head.json", "--strict", "--sarif"])
    log = json.loads(proc.stdout)
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (r,) = log["runs"]
    assert r["originalUriBaseIds"]["SRCROOT"]["uri"].startswith("file://")
    rules = r["tool"]["driver"]["rules"]
    assert r["tool"]["driver"]["name"] == "arts"
    for rule in rules:
        assert rule["id"] and rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"]
    assert r["results"]
    for res in r["results"]:
        assert res["level"] in ("error", "warning")
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"] and res["message"]["text"]
        (loc,) = res["locations"]
        art = loc["physicalLocation"]["artifactLocation"]
        assert art["uriBaseId"] == "SRCROOT" and art["uri"].startswith("examples/")
        assert loc["physicalLocation"]["region"]["startLine"] >= 1


def test_sarif_notes_are_not_alerts(tmp_path):
    p = graph(tmp_path, "pool.json", POOL)
    proc = run(["check", p, "--sarif"], cwd=str(tmp_path))
    (r,) = json.loads(proc.stdout)["runs"]
    assert r["results"] == []
    (note,) = r["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "note" and note["descriptor"]["id"] == "too-small"


# ---- imports ------------------------------------------------------------------------------------------

def test_check_imports_nothing_of_the_search_side():
    code = ("import sys; from arts.cli import main; rc = main(['check', 'examples/unet.json']); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'sklearn', 'torch', 'tqdm')); "
            "print('LOADED', bad); sys.exit(0 if not bad else 9)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=ENV, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_checking_a_model_file_imports_no_search_side():
    code = ("import sys; from arts.cli import main; rc = main(['check', 'examples/unet.py:UNetNoPad']); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'sklearn')); "
            "print('LOADED', bad); sys.exit(rc if not bad else 9)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=ENV, check=False,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---- messages -----------------------------------------------------------------------------------------

def test_every_code_has_a_docs_entry_and_help():
    from arts.messages import INFO, Code

    doc = (Path(ROOT) / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    for code in Code:
        assert f"| `{code.value}` |" in doc, code
        assert INFO[code].summary and INFO[code].help


def test_a_name_that_is_not_a_model_reads_an_int(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("import torch\nx = 3\n", encoding="utf-8")
    proc = run(["check", f"{p}:x"])
    assert proc.returncode == 2 and "x is an int, not an nn.Module" in proc.stderr, proc.stderr


def test_an_unreadable_annotation_is_one_line(tmp_path):
    p = tmp_path / "m.py"
    p.write_text(MODEL.format(where="").replace("'N 3 H W'", "'*batch 3 H W'"), encoding="utf-8")
    proc = run(["check", str(p)])
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "cannot read '*batch' in the shape annotation" in proc.stderr and "give --input instead" in proc.stderr
    assert run(["check", str(p), "--input", "N,3,H,W"]).returncode == 0


def test_no_sympy_spellings_in_reports(tmp_path, capsys):
    p = graph(tmp_path, "r.json", [{"name": "f", "op": "flatten", "args": ["x"]},
                                   {"name": "r", "op": "reshape", "args": ["f"], "params": {"shape": [-1, 7]}}])
    assert main(["check", p, "--strict"]) == 1
    out = capsys.readouterr().out
    assert "Mod(" not in out and "3*H*N*W % 7 == 0" in out
