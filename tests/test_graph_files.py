"""Graph files: the format round-trips, and every kind of bad file is one clear input error."""

from __future__ import annotations

import json

import pytest

from arts.cli import main
from arts.errors import InputError
from arts.graph import load_graph, typecheck
from arts.graph.fileformat import graph_to_dict, save_graph

GOOD = {
    "inputs": {"x": ["N", 3, "H", "W"]},
    "where": ["H >= 16"],
    "nodes": [
        {"name": "c1", "op": "conv2d", "args": ["x"],
         "params": {"in_channels": 3, "out_channels": 16, "kernel_size": 3, "padding": 1}},
        {"name": "p1", "op": "max_pool2d", "args": ["c1"], "params": {"kernel_size": 2}},
        {"name": "u1", "op": "upsample", "args": ["p1"], "params": {"scale_factor": 2}},
        {"name": "cat1", "op": "cat", "args": ["c1", "u1"], "params": {"dim": 1}},
    ],
    "outputs": ["cat1"],
}


def write(tmp_path, data, name="g.json"):
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(p)


def test_design_example_loads_and_checks(tmp_path):
    report = typecheck(write(tmp_path, GOOD))
    assert report.status == "error"
    assert report.domain == "H ≥ 16 and H ≡ 0 (mod 2) and W ≥ 2 and W ≡ 0 (mod 2)"
    (d,) = [d for d in report.diagnostics if d.code == "shape-mismatch"]
    assert d.node == "cat1" and d.line is not None and d.file.endswith("g.json")


def test_yaml_and_round_trip(tmp_path):
    import yaml

    p = write(tmp_path, yaml.safe_dump(GOOD), "g.yaml")
    G = load_graph(p)
    out = str(tmp_path / "again.json")
    save_graph(G, out)
    assert graph_to_dict(load_graph(out))["nodes"] == graph_to_dict(G)["nodes"]


def test_nodes_in_any_order(tmp_path):
    data = dict(GOOD, nodes=list(reversed(GOOD["nodes"])))
    assert typecheck(write(tmp_path, data)).domain == typecheck(write(tmp_path, GOOD, "h.json")).domain


def _bad(**changes):
    data = json.loads(json.dumps(GOOD))
    for k, v in changes.items():
        data[k] = v
    return data


BAD = [
    ("malformed", "{ not json", "malformed JSON at line 1"),
    ("empty", "", "the file is empty"),
    ("not_object", "[1, 2]", "must hold an object"),
    ("no_inputs", _bad(inputs={}), '"inputs" must be a non-empty object'),
    ("bad_size", _bad(inputs={"x": ["N", 3.5, "H", "W"]}), "positive integer or a name"),
    ("neg_size", _bad(inputs={"x": ["N", -3, "H", "W"]}), "must be a positive integer"),
    ("no_outputs", _bad(outputs=[]), '"outputs" must be a non-empty list'),
    ("unknown_output", _bad(outputs=["zz"]), "unknown output 'zz'"),
    ("unknown_arg", _bad(nodes=[dict(GOOD["nodes"][0], args=["y"])]), "node 'c1': unknown argument 'y'"),
    ("unknown_op", _bad(nodes=[dict(GOOD["nodes"][0], op="conv9d")]), "node 'c1': unknown op 'conv9d'"),
    ("unknown_param", _bad(nodes=[dict(GOOD["nodes"][0], params={"kernel": 3})]), "unknown parameter 'kernel'"),
    ("negative_param", _bad(nodes=[dict(GOOD["nodes"][0], params={"kernel_size": -1})]), "kernel_size must be ≥ 1"),
    ("duplicate", _bad(nodes=[GOOD["nodes"][0], GOOD["nodes"][0]], outputs=["c1"]), "duplicate name 'c1'"),
    ("cycle", _bad(nodes=[{"name": "a", "op": "relu", "args": ["b"]}, {"name": "b", "op": "relu", "args": ["a"]}],
                   outputs=["b"]), "cycle: a -> b -> a"),
    ("bad_where", _bad(where=["H >>= 3"]), "malformed constraint"),
    ("unknown_key", dict(GOOD, extra=1), "unknown top-level key"),
]


@pytest.mark.parametrize("name,data,message", BAD, ids=[b[0] for b in BAD])
def test_bad_graph_files(tmp_path, capsys, name, data, message):
    p = write(tmp_path, data)
    with pytest.raises(InputError) as e:
        typecheck(p)
    assert message in str(e.value) and p in str(e.value)
    assert main(["check", p]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_wrong_arity_is_a_diagnostic_not_a_crash(tmp_path):
    data = _bad(nodes=[{"name": "s", "op": "add", "args": ["x"]}], outputs=["s"])
    report = typecheck(write(tmp_path, data))
    assert report.status == "error" and report.diagnostics[0].code == "arity"


def test_check_verb_json_and_exit_codes(tmp_path, capsys):
    p = write(tmp_path, GOOD)
    assert main(["check", p, "--json"]) == 1
    (out,) = json.loads(capsys.readouterr().out)  # a list of reports, always
    assert set(out) >= {"ok", "target", "domain", "diagnostics", "shapes"} and out["ok"] is False
    d = out["diagnostics"][0]
    assert set(d) >= {"severity", "code", "node", "message", "file", "line", "expected", "found", "counterexample"}
    assert main(["check", p, "--where", "H % 2 == 0, W % 2 == 0"]) == 0
