"""Search spaces: the paper's named spaces (Tables 1-3), user space files, and the checks that run
before a weight is allocated."""

from __future__ import annotations

import json
import math

import pytest

from arts.errors import InputError
from arts.graph.enas import MACRO_S0
from arts.nas import spaces as S
from arts.ops.base import as_op

S0 = [str(as_op(o)) for o in MACRO_S0]
D5 = ["conv2d(kernel_size=3, padding=2, dilation=2)", "conv2d(kernel_size=3, padding=3, dilation=3)",
      "conv2d(kernel_size=5, padding=4, dilation=2)", "conv2d(kernel_size=5, padding=6, dilation=3)",
      "conv2d(kernel_size=5, padding=12, dilation=6)"]
T5 = [s.replace("conv2d", "conv_transpose2d") for s in D5]


def names(sp: S.SearchSpace) -> list[str]:
    return [str(o) for o in sp.ops]


def test_known_codes_in_paper_order() -> None:
    assert S.known_spaces() == ["S0", "3a", "3b", "3c", "3d", "3E", "3F", "3G",
                                "T1-kd04", "T1-kd08", "T1-kd12", "T1-kd16", "T1-kp04", "T1-kp08", "T1-kp12",
                                "T1-kp16", "T1-pd04", "T1-pd08", "T1-pd12", "T1-pd16"]


@pytest.mark.parametrize("code, extra", [
    ("S0", []), ("3a", D5), ("3b", D5 * 6), ("3c", D5 * 20), ("3d", D5 * 50), ("3E", D5[:1]), ("3F", D5[:2]),
    ("3G", D5 + T5),
])
def test_table2_spaces_exactly(code: str, extra: list[str]) -> None:
    sp = S.get_space(code)
    assert names(sp) == S0 + extra
    distinct, index = sp.unique()
    assert len(distinct) == len(set(S0 + extra))
    assert len(index) == len(sp)
    assert sp.types() == [list(range(len(sp)))]  # one type: every op is type-equivalent


def test_table2_repetition_counts() -> None:
    assert [len(S.get_space(c)) for c in ("3a", "3b", "3c", "3d")] == [11, 36, 106, 256]
    sp = S.get_space("3d")
    assert sum(1 for o in names(sp) if o == D5[4]) == 50


def test_codes_are_case_insensitive() -> None:
    assert S.get_space("3e").name == "3E"
    assert S.get_space("s0").name == "S0"
    assert S.get_space("t1_kd4").name == "T1-kd04"


def test_unknown_code_lists_the_known_ones() -> None:
    with pytest.raises(InputError) as e:
        S.get_space("3Z")
    msg = str(e.value)
    assert "unknown search space '3Z'" in msg and "S0, 3a" in msg and "T1-pd16" in msg


T1_CONVS = {"kd04": 8, "kd08": 39, "kd12": 95, "kd16": 175, "kp04": 8, "kp08": 24, "kp12": 46, "kp16": 68,
            "pd04": 9, "pd08": 26, "pd12": 48, "pd16": 70}


#: Choices of the T1 spaces as the authors built them (S0 + Algorithm 1's settings with duplicates
#: + ceil(n/4) copies of each 3x3 pool), from their code's ``n_branches``.
T1_CHOICES = {"kd04": 24, "kd08": 78, "kd12": 168, "kd16": 294, "kp04": 21, "kp08": 46, "kp12": 78, "kp16": 112,
              "pd04": 23, "pd08": 48, "pd12": 82, "pd16": 114}


@pytest.mark.parametrize("code", sorted(T1_CHOICES))
def test_t1_spaces_as_the_authors_built_them(code: str) -> None:
    from arts.ops.generate import generate

    sp = S.get_space(f"T1-{code}")
    assert len(sp) == T1_CHOICES[code]
    settings = generate("conv2d(kernel_size=3, padding=1)", dedupe=False, **S.T1_SETTINGS[code])  # type: ignore
    n = len(settings)
    pools = math.ceil(n / 4)
    assert len(sp) == 6 + n + 2 * pools
    assert names(sp) == S0 + [str(o) for o in settings] + \
        [S0[4]] * pools + [S0[5]] * pools  # plain 3x3 avg pools, then 3x3 max pools
    # duplicates kept: S0's 3x3 conv is among the generated settings
    assert "conv2d(kernel_size=3, padding=1)" in names(sp)[6:]
    proofs = S.check_space(sp)
    assert all(p.verdict.is_proven for p in proofs) and len(proofs) == len(sp)


@pytest.mark.parametrize("code", sorted(T1_CONVS))
def test_t1_space_composition_deduplicated(code: str) -> None:
    sp = S.prepare(f"T1-{code}", dedupe_ops=True)
    convs = S.generated_convs(code)
    assert len(convs) == T1_CONVS[code]
    pools = math.ceil(len(convs) / 4)
    assert len(sp) == 6 + len(convs) + 2 * pools
    assert names(sp)[:6] == S0
    got = names(sp)[6:]
    assert got[:len(convs)] == [str(o) for o in convs]
    tail = sp.ops[6 + len(convs):]
    assert [o.name for o in tail] == ["avg_pool2d"] * pools + ["max_pool2d"] * pools
    # no completely-equivalent duplicates, nothing already in S0
    keys = [o.complete_key() for o in sp.ops]
    assert len(keys) == len(set(keys))
    # smallest kernels first
    ks = [o.params["kernel_size"][0] for o in tail[:pools]]
    assert ks == sorted(ks) and ks[0] == 5
    # every op proven type-equivalent to conv2d(kernel_size=3, padding=1), before any weight
    proofs = S.check_space(sp)
    assert all(p.verdict.is_proven for p in proofs) and len(proofs) == len(sp)


def test_t1_kd04_ops_deduplicated() -> None:
    sp = S.prepare("T1-kd04", dedupe_ops=True)
    assert names(sp)[6:] == [
        "conv2d(kernel_size=1)", "conv2d(kernel_size=2, padding=1, dilation=2)",
        "conv2d(kernel_size=2, padding=2, dilation=4)", "conv2d(kernel_size=3, padding=2, dilation=2)",
        "conv2d(kernel_size=3, padding=3, dilation=3)", "conv2d(kernel_size=3, padding=4, dilation=4)",
        "conv2d(kernel_size=4, padding=3, dilation=2)", "conv2d(kernel_size=4, padding=6, dilation=4)",
        "avg_pool2d(kernel_size=5, stride=1, padding=2)", "avg_pool2d(kernel_size=7, stride=1, padding=3)",
        "max_pool2d(kernel_size=2, stride=1, padding=1, dilation=2)", "max_pool2d(kernel_size=5, stride=1, padding=2)"]


@pytest.mark.parametrize("code", ["S0", "3a", "3b", "3c", "3d", "3E", "3F", "3G"])
def test_every_table2_op_proven_type_equivalent(code: str) -> None:
    proofs = S.check_space(S.get_space(code))
    assert proofs and all(p.verdict.is_proven for p in proofs)
    assert all(str(p.seed) == "conv2d(kernel_size=3, padding=1)" for p in proofs)


def test_transposed_convs_are_type_equivalent_to_their_conv() -> None:
    from arts.ops.relations import equivalent

    for c, t in zip(D5, T5):
        assert equivalent(c, t).type.is_proven


def test_space_json_matches_generate_format() -> None:
    d = S.get_space("3E").to_json()
    assert d["name"] == "3E"
    assert d["ops"][-1] == {"op": "conv2d", "kernel_size": 3, "padding": 2, "dilation": 2, "stride": 1}
    assert d["ops"][4] == {"op": "avg_pool2d", "kernel_size": 3, "padding": 1, "stride": 1}
    assert d["types"] == [list(range(7))]


def test_3d_follows_the_papers_text() -> None:
    # 6 + 50 x 5 = 256 choices (the authors' code declares 306 branches: a typo for 6 + 300)
    assert len(S.get_space("3d")) == 6 + 50 * 5 == 256


def test_image_size_verified_on_the_actual_size() -> None:
    m = S.get_space("3G").macro(6, 8, 1, 10)
    assert "every architecture is well-typed" in S.check_image_size(m, 1, 16, 16)


# ---- user-defined spaces ----------------------------------------------------------------------

def test_space_file_list_of_ops(tmp_path) -> None:
    f = tmp_path / "mine.json"
    f.write_text(json.dumps(["conv2d(kernel_size=3, padding=1)",
                             {"op": "conv2d", "kernel_size": 3, "padding": 2, "dilation": 2, "stride": 1}]))
    sp = S.get_space(str(f))
    assert sp.name == "mine"
    assert names(sp) == ["conv2d(kernel_size=3, padding=1)", "conv2d(kernel_size=3, padding=2, dilation=2)"]
    assert all(p.verdict.is_proven for p in S.check_space(sp))


def test_space_file_seeds_and_generate_yaml(tmp_path) -> None:
    f = tmp_path / "gen.yaml"
    f.write_text("name: gen\nbase: S0\nseeds: ['conv2d(kernel_size=3, padding=1)']\n"
                 "generate: {K: '1:4', D: '1:4'}\n")
    sp = S.get_space(str(f))
    assert sp.name == "gen"
    assert names(sp)[:6] == S0
    added = names(sp)[6:]
    assert added[0] == "conv2d(kernel_size=3, padding=1)"  # the seed
    assert "conv2d(kernel_size=4, padding=6, dilation=4)" in added
    assert len(added) == 1 + 8  # the seed plus its 8 other generated convs (duplicates dropped)
    assert all(p.verdict.is_proven for p in S.check_space(sp))
    assert len(S.dedupe(sp)) == len(sp) - 1  # the seed repeats S0's first op


def test_space_file_generated_ops_stand_in_for_their_seed(tmp_path) -> None:
    f = tmp_path / "k5.json"
    f.write_text(json.dumps({"seeds": ["conv2d(kernel_size=5, padding=2)"], "generate": {"K": "5:5", "D": "1:2"}}))
    sp = S.get_space(str(f))
    assert [str(s) for s in sp.seeds] == ["conv2d(kernel_size=3, padding=1)", "conv2d(kernel_size=5, padding=2)"]
    assert names(sp) == ["conv2d(kernel_size=5, padding=2)", "conv2d(kernel_size=5, padding=4, dilation=2)"]


def test_broken_space_is_refused_with_op_and_counterexample(tmp_path) -> None:
    f = tmp_path / "broken.json"
    f.write_text(json.dumps(["conv2d(kernel_size=3, padding=1)", "conv2d(kernel_size=5)"]))
    sp = S.get_space(str(f))
    with pytest.raises(InputError) as e:
        S.check_space(sp)
    msg = str(e.value)
    assert msg.startswith("space broken: op #1 conv2d(kernel_size=5) is not type-equivalent to "
                          "conv2d(kernel_size=3, padding=1)")
    assert "refuted" in msg and "counterexample: N=1, C=1, H=1, W=1" in msg and "--mask" in msg
    # with compatibility masking the verdicts come back instead
    proofs = S.check_space(sp, allow_mixed=True)
    assert [p.verdict.is_proven for p in proofs] == [True, False]


@pytest.mark.parametrize("text, needle", [
    ("{not json", "malformed JSON at line 1"),
    ("[]", '"ops" must be a non-empty list of ops'),
    ('{"opz": []}', "unknown key(s) opz"),
    ('["conv2d(kernel_size=3"]', "malformed op"),
    ('["conv9d()"]', "unknown op 'conv9d'"),
    ('{"generate": {"K": "1:2", "D": "1:2"}}', '"generate" needs "seeds"'),
    ('{"seeds": ["conv2d(kernel_size=3, padding=1)"], "generate": {"K": "1:2"}}', "exactly two of K, P, D"),
    ('{"base": "S9"}', '"base" must be a known space code'),
    ('{"ops": ["conv2d(kernel_size=3, padding=1)"], "repeat": 0}', '"repeat" must be a positive integer'),
    ("", "the file is empty"),
])
def test_malformed_space_files(tmp_path, text: str, needle: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(text)
    with pytest.raises(InputError) as e:
        S.get_space(str(f))
    assert needle in str(e.value)
    assert str(f) in str(e.value)


def test_missing_space_file(tmp_path) -> None:
    with pytest.raises(InputError, match="no such space file"):
        S.get_space(str(tmp_path / "nope.json"))


def test_dedupe_and_by_type() -> None:
    sp = S.dedupe(S.get_space("3d"))
    assert len(sp) == 11 and names(sp) == S0 + D5
    mixed = S.space_from_data(["conv2d(kernel_size=3, padding=1)", "max_pool2d(kernel_size=2)",
                               "conv2d(kernel_size=5, padding=2)", "conv2d(kernel_size=3)"], "mixed")
    assert mixed.types() == [[0, 2], [1], [3]]
    grouped = S.by_type(mixed)
    assert names(grouped) == ["conv2d(kernel_size=3, padding=1)", "conv2d(kernel_size=5, padding=2)",
                              "max_pool2d(kernel_size=2, stride=2)", "conv2d(kernel_size=3)"]
    assert grouped.types() == [[0, 1], [2], [3]]


def test_shape_oracle_masks_shrinking_ops() -> None:
    sp = S.space_from_data(["conv2d(kernel_size=3, padding=1)", "conv2d(kernel_size=5)"], "mixed")
    m = sp.macro(3, 8, 1, 10)
    o = S.ShapeOracle(m, 1, 6, 6)
    st = o.start()
    assert st[1] == (6, 6)
    assert o.ops_mask(0, st) == [True, True]
    st = o.step(0, 1, st)  # 6 -> 2, reduced to 1
    assert st[0] == [(1, 1)]
    assert o.ops_mask(1, st) == [True, False]  # a 5x5 conv no longer fits
    assert o.skip_mask(1, 0, st) == [True]
    # images too small for every architecture: refused with the accepted sizes
    tiny = S.space_from_data(["conv2d(kernel_size=5)"], "k5").macro(3, 8, 1, 10)
    with pytest.raises(InputError) as e:
        S.check_image_size(tiny, 1, 8, 8, mixed=True)
    assert "images of 8x8 are too small" in str(e.value)
    # 29 -> 25 -> 13 -> 9 -> 5 -> 1: three 5x5 convs with two halvings in between
    assert "accepted: square images of at least 29x29" in str(e.value)


def test_spaces_and_the_cli_parser_do_not_import_torch() -> None:
    import os
    import subprocess
    import sys

    code = ("import sys, arts.cli as c; c.build_parser(); import arts.nas.commands, arts.nas.spaces; "
            "arts.nas.spaces.get_space('3E'); "
            "assert 'torch' not in sys.modules and 'matplotlib' not in sys.modules, 'heavy import'")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
