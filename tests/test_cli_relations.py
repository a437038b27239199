"""The ``arts`` command line: equiv, compat, generate, types -- text, JSON, exit codes, errors.

Everything calls :func:`arts.cli.main` in-process (capsys); one test runs ``python -m arts`` in a
subprocess to prove the wiring.  Counterexamples printed by the CLI are replayed in torch.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arts import cli
from arts.errors import InputError, Unsupported
from arts.ops import as_op, parse_op
from arts.ops.fastparse import parse_op_fast

ROOT = Path(__file__).resolve().parents[1]

SEED = "conv2d(kernel_size=3, padding=1)"
#: The paper's Table 2: dilated convs added to the ENAS space, all type-equivalent to the 3x3 seed.
TABLE2 = [(3, 2, 2), (3, 3, 3), (5, 4, 2), (5, 6, 3), (5, 12, 6)]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def run_json(capsys, *argv: str) -> tuple[int, object]:
    rc, out, err = run(capsys, *argv, "--json")
    assert err == ""
    return rc, json.loads(out)


def assert_verdict_shape(v: dict) -> None:
    assert set(v) == {"verdict", "counterexample", "reason"}
    assert v["verdict"] in ("proven", "refuted", "unknown")
    assert v["counterexample"] is None or all(isinstance(x, int) for x in v["counterexample"].values())
    assert isinstance(v["reason"], str)


# ---- equiv ----------------------------------------------------------------------------------

def test_equiv_paper_example_text(capsys):
    rc, out, err = run(capsys, "equiv", "conv2d(kernel_size=3, stride=2, padding=1)", "avg_pool2d(kernel_size=2)")
    assert rc == 1 and err == ""
    lines = out.splitlines()
    assert lines[0] == "complete: refuted"
    assert lines[1] == "    different ops: conv2d vs avg_pool2d"
    assert lines[2] == "type: refuted — counterexample: N=1, C=1, H=1, W=1"
    assert lines[3].startswith("    at N=1, C=1, H=1, W=1: "
                               "conv2d(kernel_size=3, stride=2, padding=1) gives (1, 1, 1, 1)")
    assert "avg_pool2d(kernel_size=2, stride=2) rejects it" in lines[3]
    assert not any(line.startswith("instant") for line in lines)


def test_equiv_paper_example_json(capsys):
    rc, doc = run_json(capsys, "equiv", "conv2d(kernel_size=3, stride=2, padding=1)", "avg_pool2d(kernel_size=2)")
    assert rc == 1
    assert set(doc) == {"complete", "type", "instant"}
    for k in ("complete", "type"):
        assert_verdict_shape(doc[k])
    assert doc["instant"] is None
    assert doc["complete"] == {"verdict": "refuted", "counterexample": None,
                               "reason": "different ops: conv2d vs avg_pool2d"}
    assert doc["type"]["verdict"] == "refuted"
    assert doc["type"]["counterexample"] == {"N": 1, "C": 1, "H": 1, "W": 1}


def test_equiv_proven_exit_0(capsys):
    rc, out, _ = run(capsys, "equiv", SEED, "conv2d(kernel_size=3, padding=2, dilation=2)")
    assert rc == 0
    assert "complete: refuted" in out.splitlines()
    assert "type: proven" in out.splitlines()


def test_equiv_complete_proven_for_1x1_dilation(capsys):
    rc, doc = run_json(capsys, "equiv", "conv2d(kernel_size=1)", "conv2d(kernel_size=1, dilation=3)")
    assert rc == 0
    assert doc["complete"]["verdict"] == "proven"
    assert doc["type"]["verdict"] == "proven"


@pytest.mark.parametrize("k,p,d", TABLE2)
def test_table2_ops_type_equivalent_to_seed(capsys, k, p, d):
    rc, doc = run_json(capsys, "equiv", SEED, f"conv2d(kernel_size={k}, padding={p}, dilation={d})")
    assert rc == 0, doc
    assert doc["type"]["verdict"] == "proven"
    assert doc["complete"]["verdict"] == "refuted"


def test_equiv_where_restricts_the_domain(capsys):
    a, b = "conv2d(kernel_size=3, stride=2, padding=1)", "max_pool2d(kernel_size=2)"
    rc, doc = run_json(capsys, "equiv", a, b, "--where", "H % 2 == 0, W % 2 == 0")
    assert rc == 0 and doc["type"]["verdict"] == "proven"
    rc, doc = run_json(capsys, "equiv", a, b, "--where", "H % 2 == 0")
    assert rc == 1
    cx = doc["type"]["counterexample"]
    assert cx["H"] % 2 == 0 and cx["W"] % 2 == 1


def test_equiv_input_shape(capsys):
    rc, doc = run_json(capsys, "equiv", SEED, "conv2d(kernel_size=5)", "--input", "1,3,H,W")
    assert rc == 1
    assert doc["type"]["counterexample"] == {"H": 1, "W": 1}


def test_equiv_at_exits_by_instant(capsys):
    a, b = "conv2d(kernel_size=3, stride=2, padding=1)", "avg_pool2d(kernel_size=2)"
    rc, out, _ = run(capsys, "equiv", a, b, "--at", "N=1,C=1,H=32,W=32")
    assert rc == 0  # type is refuted, but they agree at 32x32
    lines = out.splitlines()
    assert lines[2].startswith("type: refuted")
    assert lines[-2] == "instant: proven"
    assert lines[-1] == "    both give (1, 1, 16, 16) at N=1, C=1, H=32, W=32"
    rc, doc = run_json(capsys, "equiv", SEED, "conv2d(kernel_size=5)", "--input", "1,3,H,W", "--at", "H=32,W=32")
    assert rc == 1
    assert_verdict_shape(doc["instant"])
    assert doc["instant"]["verdict"] == "refuted"
    assert doc["instant"]["counterexample"] == {"H": 32, "W": 32}
    assert "(1, 3, 32, 32)" in doc["instant"]["reason"] and "(1, 3, 28, 28)" in doc["instant"]["reason"]


# ---- compat ---------------------------------------------------------------------------------

def test_compat_paper_example_refuted(capsys):
    rc, out, err = run(capsys, "compat", "conv2d(kernel_size=5)", "conv2d(kernel_size=5)", "--where", "H >= 5, W >= 5")
    assert rc == 1 and err == ""
    head = out.splitlines()[0]
    assert head.startswith("forward: refuted — counterexample: ")
    assert [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")] == \
        ["forward", "backward", "complete"]
    rc, doc = run_json(capsys, "compat", "conv2d(kernel_size=5)", "conv2d(kernel_size=5)", "--where", "H >= 5, W >= 5")
    assert rc == 1
    assert set(doc) == {"forward", "backward", "complete"}
    for v in doc.values():
        assert_verdict_shape(v)
    cx = doc["forward"]["counterexample"]
    assert doc["forward"]["verdict"] == "refuted"
    assert cx["H"] >= 5 and cx["W"] >= 5 and (cx["H"] == 5 or cx["W"] == 5)


def test_compat_paper_example_proven(capsys):
    rc, out, _ = run(capsys, "compat", "conv2d(kernel_size=5)", "conv2d(kernel_size=5)", "--where", "H >= 9, W >= 9")
    assert rc == 0
    assert out.splitlines()[0] == "forward: proven"
    rc, doc = run_json(capsys, "compat", "conv2d(kernel_size=5)", "conv2d(kernel_size=5)", "--where", "H >= 9, W >= 9")
    assert rc == 0
    assert [doc[k]["verdict"] for k in ("forward", "backward", "complete")] == ["proven"] * 3


def test_compat_exits_by_forward(capsys):
    # conv -> pool is fine for every input; pool -> conv fails at 2x2 (pool gives 1x1)
    rc, doc = run_json(capsys, "compat", SEED, "max_pool2d(kernel_size=2)", "--where", "H >= 2, W >= 2")
    assert rc == 0
    assert doc["forward"]["verdict"] == "proven"
    rc, doc = run_json(capsys, "compat", "max_pool2d(kernel_size=2)", "conv2d(kernel_size=3)")
    assert rc == 1
    assert doc["forward"]["counterexample"] == {"N": 1, "C": 1, "H": 2, "W": 2}
    assert doc["complete"]["verdict"] == "refuted"


# ---- generate -------------------------------------------------------------------------------

GEN_K14_D14 = [  # (k, p, d) for --K 1:4 --D 1:4 from the 3x3 "same" seed, in Cartesian order of (K, D)
    (1, 0, 1), (1, 0, 2), (1, 0, 3), (1, 0, 4),
    (2, 1, 2), (2, 2, 4),
    (3, 1, 1), (3, 2, 2), (3, 3, 3), (3, 4, 4),
    (4, 3, 2), (4, 6, 4),
]


def test_generate_json_cartesian_order(capsys):
    rc, doc = run_json(capsys, "generate", "--seed", SEED, "--K", "1:4", "--D", "1:4")
    assert rc == 0
    assert all(set(o) == {"op", "kernel_size", "padding", "dilation", "stride"} for o in doc)
    assert all(o["op"] == "conv2d" and o["stride"] == 1 for o in doc)
    got = [(o["kernel_size"], o["padding"], o["dilation"]) for o in doc]
    assert got == GEN_K14_D14
    assert got.index((3, 2, 2)) + 1 == got.index((3, 3, 3))
    assert got == sorted(got, key=lambda t: (t[0], t[2]))


def test_generate_dedupe_drops_duplicate_1x1(capsys):
    rc, doc = run_json(capsys, "generate", "--seed", SEED, "--K", "1:4", "--D", "1:4", "--dedupe")
    assert rc == 0
    got = [(o["kernel_size"], o["padding"], o["dilation"]) for o in doc]
    assert got == [t for t in GEN_K14_D14 if t[0] != 1 or t[2] == 1]


def test_generate_table2_from_pd_setting(capsys):
    # the paper's Table 2 ops come out when K is derived from padding and dilation
    rc, doc = run_json(capsys, "generate", "--seed", SEED, "--P", "1:12", "--D", "1:6")
    assert rc == 0
    got = [(o["kernel_size"], o["padding"], o["dilation"]) for o in doc]
    for t in TABLE2:
        assert t in got
    assert got == sorted(got, key=lambda t: (t[1], t[2]))


def test_generate_single_int_and_text(capsys):
    rc, out, err = run(capsys, "generate", "--seed", SEED, "--K", "3", "--D", "1:3")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("# 3 ops type-equivalent to conv2d(kernel_size=3, padding=1)")
    assert lines[1:] == ["conv2d(kernel_size=3, padding=1)", "conv2d(kernel_size=3, padding=2, dilation=2)",
                         "conv2d(kernel_size=3, padding=3, dilation=3)"]
    for line in lines[1:]:
        parse_op(line)  # the text output is valid OP syntax (and a valid `arts types --file`)


def test_generate_empty_result_is_success(capsys):
    rc, doc = run_json(capsys, "generate", "--seed", "conv2d(kernel_size=5)", "--K", "2", "--D", "1")
    assert rc == 0 and doc == []


# ---- types ----------------------------------------------------------------------------------

TYPES_OPS = [SEED, "max_pool2d(kernel_size=2)", "conv2d(kernel_size=5)",
             "conv2d(kernel_size=3, padding=2, dilation=2)", "avg_pool2d(kernel_size=2)"]


def test_types_json(capsys):
    rc, doc = run_json(capsys, "types", *TYPES_OPS)
    assert rc == 0
    assert [g["indices"] for g in doc] == [[0, 3], [1, 4], [2]]
    assert [g["type"] for g in doc] == [0, 1, 2]
    for g in doc:
        assert set(g) == {"type", "ops", "indices", "signature", "accepts", "reason"}
        assert g["reason"] is None
        assert [as_op(o) for o in g["ops"]] == [parse_op(TYPES_OPS[i]) for i in g["indices"]]
    assert doc[0]["ops"][0] == {"op": "conv2d", "kernel_size": 3, "padding": 1, "dilation": 1, "stride": 1}
    assert doc[0]["signature"] == "(N, C, H, W) -> (N, C, H, W)"
    assert doc[0]["accepts"] == "all sizes"
    assert doc[1]["signature"] == "(N, C, H, W) -> (N, C, floor(H/2), floor(W/2))"
    assert doc[2]["signature"] == "(N, C, H, W) -> (N, C, H - 4, W - 4)"
    assert doc[2]["accepts"] == "H ≥ 5 and W ≥ 5"


def test_types_text(capsys):
    rc, out, err = run(capsys, "types", *TYPES_OPS)
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "type 0 (2 ops): (N, C, H, W) -> (N, C, H, W)  for all sizes"
    assert lines[1] == f"    [0] {SEED}"
    assert lines[2] == "    [3] conv2d(kernel_size=3, padding=2, dilation=2)"
    assert "type 2 (1 op): (N, C, H, W) -> (N, C, H - 4, W - 4)  for H ≥ 5 and W ≥ 5" in lines


def test_types_table2_is_one_type(capsys):
    ops = [SEED] + [f"conv2d(kernel_size={k}, padding={p}, dilation={d})" for k, p, d in TABLE2]
    rc, doc = run_json(capsys, "types", *ops)
    assert rc == 0
    assert [g["indices"] for g in doc] == [list(range(len(ops)))]


def test_types_file_with_comments_and_positional(capsys, tmp_path):
    f = tmp_path / "ops.txt"
    f.write_text("# generated\n\nmax_pool2d(kernel_size=2)   # a pool\n  conv2d(kernel_size=5)\n"
                 "conv2d(kernel_size=3, padding=2, dilation=2)\n", encoding="utf-8")
    rc, doc = run_json(capsys, "types", SEED, "--file", str(f))
    assert rc == 0
    assert [g["indices"] for g in doc] == [[0, 3], [1], [2]]


def test_types_file_from_stdin(capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{SEED}\nmax_pool2d(kernel_size=2)\n"))
    rc, doc = run_json(capsys, "types", "--file", "-")
    assert rc == 0
    assert [g["indices"] for g in doc] == [[0], [1]]


def test_types_pipeline_from_generate(capsys, tmp_path):
    rc, out, _ = run(capsys, "generate", "--seed", SEED, "--K", "1:4", "--D", "1:4", "--dedupe")
    f = tmp_path / "gen.txt"
    f.write_text(out, encoding="utf-8")
    rc, doc = run_json(capsys, "types", "--file", str(f))
    assert rc == 0
    assert len(doc) == 1 and len(doc[0]["ops"]) == 9


def test_types_op_object_keeps_non_default_parameters(capsys):
    rc, doc = run_json(capsys, "types", "max_pool2d(kernel_size=3, stride=2, ceil_mode=True)",
                       "conv2d(in_channels=3, out_channels=8, kernel_size=(3, 5), bias=False)")
    assert rc == 0
    objs = [o for g in doc for o in g["ops"]]
    assert objs[0] == {"op": "max_pool2d", "kernel_size": 3, "padding": 0, "dilation": 1, "stride": 2,
                       "ceil_mode": True}
    assert objs[1]["kernel_size"] == [3, 5] and objs[1]["in_channels"] == 3 and objs[1]["bias"] is False
    assert as_op(objs[1]) == parse_op("conv2d(in_channels=3, out_channels=8, kernel_size=(3, 5), bias=False)")


# ---- unknown (exit 3) and internal errors (exit 4) ------------------------------------------

def _raise_unsupported(*args, **kwargs):
    raise Unsupported("floor of a product of two symbols is outside the decidable fragment")


def test_unsupported_equiv_is_unknown(capsys, monkeypatch):
    import arts.ops.relations as rel

    monkeypatch.setattr(rel, "equivalent", _raise_unsupported)
    rc, out, err = run(capsys, "equiv", SEED, "conv2d(kernel_size=5)")
    assert rc == 3 and err == ""
    assert "type: unknown" in out.splitlines()
    assert "    floor of a product of two symbols is outside the decidable fragment" in out.splitlines()
    rc, doc = run_json(capsys, "equiv", SEED, "conv2d(kernel_size=5)", "--input", "1,3,H,W", "--at", "H=3,W=3")
    assert rc == 3
    assert doc["type"]["verdict"] == doc["instant"]["verdict"] == "unknown"
    assert doc["complete"]["verdict"] == "refuted"  # decided without the solver


def test_unsupported_compat_is_unknown(capsys, monkeypatch):
    import arts.ops.relations as rel

    monkeypatch.setattr(rel, "compatible", _raise_unsupported)
    rc, doc = run_json(capsys, "compat", SEED, "conv2d(kernel_size=5)")
    assert rc == 3
    assert all(doc[k]["verdict"] == "unknown" and "decidable" in doc[k]["reason"] for k in doc)


def test_unsupported_types_gets_its_own_group(capsys, monkeypatch):
    from arts.ops import types

    real = types.type_key

    def key(op, input=None):
        if op.name == "avg_pool2d":
            raise Unsupported("cannot model this one")
        return real(op, input)

    monkeypatch.setattr(types, "type_key", key)
    rc, doc = run_json(capsys, "types", *TYPES_OPS)
    assert rc == 3
    assert [g["indices"] for g in doc] == [[0, 3], [1], [2], [4]]
    assert doc[3]["reason"] == "cannot model this one"
    assert doc[3]["signature"] == "(N, C, H, W) -> unknown" and doc[3]["accepts"] is None
    rc, out, _ = run(capsys, "types", *TYPES_OPS)
    assert rc == 3
    assert "type 3 (1 op): (N, C, H, W) -> unknown — cannot model this one" in out.splitlines()


def test_unsupported_generate_exits_3(capsys, monkeypatch):
    import arts.ops.generate as gen

    monkeypatch.setattr(gen, "generate", _raise_unsupported)
    rc, out, err = run(capsys, "generate", "--seed", SEED, "--K", "1:3", "--D", "1:3")
    assert rc == 3 and out == ""
    assert err == "arts: unknown: floor of a product of two symbols is outside the decidable fragment\n"


def test_internal_error_exit_4_one_line(capsys, monkeypatch):
    import arts.ops.relations as rel

    def boom(*args, **kwargs):
        raise ZeroDivisionError("division by zero\nsecond line")

    monkeypatch.setattr(rel, "equivalent", boom)
    monkeypatch.delenv("ARTS_DEBUG", raising=False)
    rc, out, err = run(capsys, "equiv", SEED, SEED)
    assert rc == 4 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("arts: internal error: ZeroDivisionError: division by zero second line")
    assert "ARTS_DEBUG=1" in err and "Traceback" not in err
    monkeypatch.setenv("ARTS_DEBUG", "1")
    rc, out, err = run(capsys, "equiv", SEED, SEED)
    assert rc == 4
    assert "Traceback (most recent call last)" in err and "ZeroDivisionError" in err


# ---- bad input: exit 2, one line, names what is wrong ---------------------------------------

BAD = [
    # (argv, words the message must contain)
    (["equiv", "foo(kernel_size=3)", SEED], ["unknown op 'foo'"]),
    (["equiv", SEED, "conv2d(kernel_siz=3)"], ["unknown parameter 'kernel_siz'", "conv2d"]),
    (["equiv", "conv2d(kernel_size=-1)", SEED], ["kernel_size", "-1"]),
    (["equiv", "conv2d(kernel_size=3, padding=-2)", SEED], ["padding", "-2"]),
    (["equiv", "conv2d(padding=1)", SEED], ["kernel_size", "required"]),
    (["equiv", "conv2d(kernel_size=3", SEED], ["malformed op", "conv2d(kernel_size=3"]),
    (["equiv", "conv2d(kernel_size=x)", SEED], ["'x'", "not a literal"]),
    (["compat", SEED, "max_pool2d(kernel_size=0)"], ["kernel_size", "0"]),
    (["equiv", SEED, SEED, "--input", "N,,H,W"], ["--input", "N,,H,W"]),
    (["equiv", SEED, SEED, "--input", "N,C,H,-3"], ["--input", "-3"]),
    (["compat", SEED, SEED, "--input", "N,C,H+1,W"], ["--input", "H+1"]),
    (["equiv", SEED, SEED, "--where", "H >>= 3"], ["--where", "H >>= 3"]),
    (["compat", SEED, SEED, "--where", "H + 1"], ["--where", "not a condition"]),
    (["equiv", SEED, SEED, "--where", "Q >= 3"], ["Q", "not in the input shape"]),
    (["equiv", SEED, SEED, "--where", "H >= 3, H <= 2"], ["constraints admit no input size"]),
    (["equiv", SEED, SEED, "--at", "H=abc"], ["--at", "H='abc'"]),
    (["equiv", SEED, SEED, "--at", "H"], ["--at", "'H'", "NAME=INT"]),
    (["equiv", SEED, SEED, "--at", "H=0"], ["--at", "H=0", "positive"]),
    (["equiv", SEED, SEED, "--at", "H=3,W=3"], ["--at", "missing N, C"]),
    (["equiv", SEED, SEED, "--input", "1,3,H,W", "--at", "H=3,W=3,Z=3"], ["--at", "Z is not a symbol"]),
    (["generate", "--seed", SEED, "--K", "4:1", "--D", "1:4"], ["--K", "4:1", "HI < LO"]),
    (["generate", "--seed", SEED, "--K", "1:4", "--D", "x"], ["--D", "'x'"]),
    (["generate", "--seed", SEED, "--K", "1:4", "--D", "1:2:3"], ["--D", "'1:2:3'"]),
    (["generate", "--seed", SEED, "--K", "0:4", "--D", "1:4"], ["K range", "0"]),
    (["generate", "--seed", SEED, "--P=-1:2", "--D", "1:4"], ["P range", "-1"]),
    (["generate", "--seed", SEED, "--K", "1:4"], ["exactly two of --K, --P, --D", "got 1: --K"]),
    (["generate", "--seed", SEED, "--K", "1:4", "--P", "1:2", "--D", "1:4"], ["exactly two", "got 3"]),
    (["generate", "--seed", SEED], ["exactly two", "got 0"]),
    (["generate", "--seed", "conv9d(kernel_size=3)", "--K", "1:2", "--D", "1:2"], ["unknown op 'conv9d'"]),
    (["generate", "--K", "1:2", "--D", "1:2"], ["--seed"]),
    (["types"], ["no ops given"]),
    (["types", SEED, "pool(kernel_size=2)"], ["unknown op 'pool'"]),
    (["equiv", SEED], ["OP_B"]),
    (["equiv", SEED, SEED, "--bogus"], ["--bogus"]),
    (["frobnicate"], ["invalid choice", "'frobnicate'"]),
    ([], ["VERB"]),
    (["generate", "--seed", SEED, "--K"], ["--K", "expected one argument"]),
]


@pytest.mark.parametrize("argv,words", BAD, ids=[" ".join(a)[:60] for a, _ in BAD])
def test_bad_input_one_line_exit_2(capsys, argv, words):
    rc, out, err = run(capsys, *argv)
    assert rc == 2
    assert out == ""
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert err.startswith("arts: error: ")
    assert "Traceback" not in err
    for w in words:
        assert w in err, (w, err)


def test_unreadable_files(capsys, tmp_path):
    missing = tmp_path / "missing.txt"
    rc, out, err = run(capsys, "types", "--file", str(missing))
    assert rc == 2 and err == f"arts: error: {missing}: cannot read op file: No such file or directory\n"
    rc, out, err = run(capsys, "types", "--file", str(tmp_path))
    assert rc == 2 and err.startswith(f"arts: error: {tmp_path}: cannot read op file:")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00conv2d")
    rc, out, err = run(capsys, "types", "--file", str(binary))
    assert rc == 2 and out == ""
    assert err.startswith(f"arts: error: {binary}: cannot read op file:") and err.count("\n") == 1


def test_bad_line_in_file_is_located(capsys, tmp_path):
    f = tmp_path / "ops.txt"
    f.write_text(f"{SEED}\n# comment\n\nconv2d(kernel_size=3, padding=-1)\n", encoding="utf-8")
    rc, out, err = run(capsys, "types", "--file", str(f))
    assert rc == 2 and out == ""
    assert err.startswith(f"arts: error: {f}:4: conv2d: parameter padding")
    assert err.count("\n") == 1


def test_empty_file_is_an_error(capsys, tmp_path):
    f = tmp_path / "empty.txt"
    f.write_text("# nothing here\n\n", encoding="utf-8")
    rc, out, err = run(capsys, "types", "--file", str(f))
    assert rc == 2 and out == "" and "no ops given" in err


# ---- version, help, registry ----------------------------------------------------------------

def test_version_and_help(capsys):
    rc, out, _ = run(capsys, "--version")
    assert rc == 0 and re.fullmatch(r"arts \S+\n", out)
    rc, out, _ = run(capsys, "--help")
    assert rc == 0
    for name in ("equiv", "compat", "generate", "types"):
        assert name in out
    rc, out, _ = run(capsys, "generate", "--help")
    assert rc == 0 and "--dedupe" in out


def test_registered_verbs():
    assert {"equiv", "compat", "generate", "types"} <= {v.name for v in cli.VERBS}


def test_a_new_verb_plugs_in(capsys):
    def configure(p):
        p.add_argument("word")

    n = len(cli.VERBS)
    try:
        @cli.verb("echo-test", "say a word", configure)
        def run_echo(args):
            print(args.word)
            return 0

        rc, out, _ = run(capsys, "echo-test", "hello")
        assert rc == 0 and out == "hello\n"
        with pytest.raises(RuntimeError):
            cli.verb("echo-test", "again", configure)(run_echo)
    finally:
        del cli.VERBS[n:]


def test_console_script_entry_declared():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'(?m)^arts\s*=\s*"arts\.cli:main"', text)


def test_python_dash_m_arts_subprocess():
    env = dict(os.environ)
    env.pop("ARTS_DEBUG", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "arts", "equiv", "conv2d(kernel_size=3, stride=2, padding=1)",
                           "avg_pool2d(kernel_size=2)", "--json"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["type"]["counterexample"] == {"N": 1, "C": 1, "H": 1, "W": 1}
    proc = subprocess.run([sys.executable, "-m", "arts", "types"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 2 and proc.stderr == "arts: error: no ops given: pass OP arguments or --file PATH\n"


# ---- every refuted counterexample really fails in torch -------------------------------------

REFUTED = [
    ("equiv", "conv2d(kernel_size=3, stride=2, padding=1)", "avg_pool2d(kernel_size=2)", []),
    ("equiv", SEED, "conv2d(kernel_size=5)", []),
    ("equiv", SEED, "conv2d(kernel_size=3, padding=1, dilation=2)", []),
    ("equiv", "conv_transpose2d(kernel_size=3, stride=2)", "conv2d(kernel_size=3)", []),
    ("equiv", "max_pool2d(kernel_size=3, stride=1)", "avg_pool2d(kernel_size=3, stride=1, padding=1)", []),
    ("equiv", "conv2d(kernel_size=3, stride=2, padding=1)", "max_pool2d(kernel_size=2)", ["--where", "H % 2 == 0"]),
    ("equiv", "max_pool2d(kernel_size=3, stride=2, ceil_mode=True)", "max_pool2d(kernel_size=3, stride=2)",
     ["--where", "H >= 3, W >= 3"]),
    ("compat", "conv2d(kernel_size=5)", "conv2d(kernel_size=5)", ["--where", "H >= 5, W >= 5"]),
    ("compat", "max_pool2d(kernel_size=2)", "conv2d(kernel_size=3)", []),
    ("compat", "conv2d(kernel_size=3, stride=2)", "avg_pool2d(kernel_size=4)", ["--where", "H >= 8, W >= 8"]),
]


def _torch_run(op_text: str, shape: tuple[int, ...]):
    """The output shape torch computes, or the exception it raises."""
    import torch

    op = parse_op(op_text)
    try:
        module = op.spec.build(op.params, [shape])
        with torch.no_grad():
            return tuple(module(torch.zeros(shape)).shape)
    except (RuntimeError, ValueError) as e:
        return e


@pytest.mark.parametrize("verb,a,b,extra", REFUTED, ids=[f"{v} {a} {b}" for v, a, b, _ in REFUTED])
def test_counterexamples_fail_in_torch(capsys, verb, a, b, extra):
    rc, doc = run_json(capsys, verb, a, b, *extra)
    assert rc == 1
    key = "type" if verb == "equiv" else "forward"
    cx = doc[key]["counterexample"]
    assert doc[key]["verdict"] == "refuted" and cx is not None
    shape = tuple(cx[s] for s in ("N", "C", "H", "W"))
    ra = _torch_run(a, shape)
    if verb == "equiv":
        rb = _torch_run(b, shape)
        a_fails, b_fails = isinstance(ra, Exception), isinstance(rb, Exception)
        assert not (a_fails and b_fails), (ra, rb)
        assert a_fails != b_fails or ra != rb, (ra, rb)
    else:
        assert not isinstance(ra, Exception), ra  # A accepts the counterexample ...
        assert isinstance(_torch_run(b, ra), Exception)  # ... and B rejects what A produced


# ---- the fast op parser agrees with parse_op ------------------------------------------------

FAST_CASES = [
    "conv2d", "conv2d()", "conv2d( )", SEED, "conv2d(kernel_size=(3, 5), padding='same',)",
    "conv2d(kernel_size = ( 3 , 3 ) , padding = 1 )", "conv2d(kernel_size=(3))", "conv2d(kernel_size=(3,))",
    'conv2d(padding="valid")', "max_pool2d(kernel_size=3, ceil_mode=true)", "max_pool2d(kernel_size=3, stride=None)",
    "conv2d(3, 8, 3)", "conv2d(kernel_size=3, kernel_size=3)", "conv2d(kernel_size=03)", "conv2d(kernel_size=-1)",
    "conv2d(kernel_size=3 padding=1)", "conv2d(kernel_size=3,, padding=1)", "conv2d(, kernel_size=3)",
    "conv2d(kernel_size=truex)", "conv2d(bias=False, kernel_size=[3, 3])", "conv2d(kernel_size=1.5)",
    "conv2d(True=3)", "conv2d(kernel_size=3))", "Conv2d(kernel_size=3)", "conv2d(kernel_size=3,\n padding=1)",
    "max_pool2d(kernel_size=3, stride=nul)", "conv2d(padding='sam e')", "conv2d(kernel_size=3, padding=1) x",
    "conv2d(kernel_size=\u20033)", "conv2d(kernel_size=\uff13)", "conv2d(kernel_size=3,\tpadding=1)",
    "conv2d(kernel_size=3\r\n)", "conv2d(kernel_size=-0)", "conv2d(kernel_size=3, padding='')",
]


def _outcome(parse, text):
    try:
        return ("ok", parse(text))
    except InputError as e:
        return ("error", str(e))


@pytest.mark.parametrize("text", FAST_CASES)
def test_fastparse_agrees_with_parse_op(text):
    assert _outcome(parse_op_fast, text) == _outcome(parse_op, text)


_piece = st.sampled_from(["kernel_size", "padding", "stride", "dilation", "ceil_mode", "bias", "groups", "=",
                          ",", " ", "(", ")", "3", "-1", "0", "2", "(3, 5)", "(2,)", "True", "none", "'same'",
                          "\"valid\"", "1.5", "[1, 1]", "x", "==", "\t", "\n", "\u2003",
                          "\uff13"])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(name=st.sampled_from(["conv2d", "max_pool2d", "avg_pool2d", "conv_transpose2d", "nope"]),
       body=st.lists(_piece, max_size=12).map("".join))
def test_fastparse_agrees_with_parse_op_fuzz(name, body):
    text = f"{name}({body})"
    assert _outcome(parse_op_fast, text) == _outcome(parse_op, text)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(["kernel_size", "padding", "stride", "dilation"]),
                          st.one_of(st.integers(-2, 9), st.tuples(st.integers(0, 9), st.integers(0, 9)))),
                max_size=4, unique_by=lambda kv: kv[0]),
       st.sampled_from(["conv2d", "max_pool2d", "conv_transpose2d"]))
def test_fastparse_agrees_on_keyword_form(kvs, name):
    text = f"{name}(" + ", ".join(f"{k}={v}" for k, v in kvs) + ")"
    assert _outcome(parse_op_fast, text) == _outcome(parse_op, text)
