"""ENAS macro and micro spaces as graphs: sampled architectures are checked, compiled and run."""

from __future__ import annotations

import random

import pytest
import torch
from hypothesis import given, settings, strategies as st

from arts.errors import InputError
from arts.graph import typecheck
from arts.graph.compile import to_module
from arts.graph.enas import MACRO_S0, MacroSpace, MicroSpace, verify_space
from arts.graph.fileformat import load_graph, save_graph

SMALL_MACRO = MacroSpace(layers=6, channels=8)
SMALL_MICRO = MicroSpace(cells=1, channels=8, nodes=3)


@settings(max_examples=8, deadline=None, derandomize=True)
@given(st.integers(0, 10_000), st.integers(1, 40), st.integers(1, 40))
def test_macro_samples_check_compile_and_run(seed, h, w):
    arc = SMALL_MACRO.random_arc(random.Random(seed))
    G = SMALL_MACRO.to_graph(arc)
    report = typecheck(G)
    assert report.status == "ok" and report.accepts(N=2, H=h, W=w)
    out = to_module(G).eval()(torch.zeros(2, 3, h, w))
    assert tuple(out.shape) == report.shape_at("fc", N=2, H=h, W=w) == (2, 10)


@settings(max_examples=6, deadline=None, derandomize=True)
@given(st.integers(0, 10_000), st.integers(1, 24), st.integers(1, 24))
def test_micro_samples_check_compile_and_run(seed, h, w):
    arc = SMALL_MICRO.random_arc(random.Random(seed))
    G = SMALL_MICRO.to_graph(arc)
    report = typecheck(G)
    assert report.status == "ok"
    out = to_module(G).eval()(torch.zeros(1, 3, h, w))
    assert tuple(out.shape) == (1, 10)


def test_every_macro_architecture_is_well_typed_without_enumerating():
    v = verify_space(MacroSpace())
    assert v.ok is True and "1.61e+29" in v.reason


def test_extended_space_with_type_equivalent_dilated_conv_is_well_typed():
    v = verify_space(MacroSpace(ops=MACRO_S0 + ("conv2d(kernel_size=3, padding=2, dilation=2)",
                                                "conv_transpose2d(kernel_size=5, padding=4, dilation=2)")))
    assert v.ok is True


def test_space_with_a_non_equivalent_op_is_refuted_with_a_confirmed_architecture():
    space = MacroSpace(ops=MACRO_S0 + ("conv2d(kernel_size=5, padding=1)",), layers=6, channels=8)
    v = verify_space(space, where=["H >= 8", "W >= 8"])
    assert v.ok is False and v.arc is not None and v.counterexample is not None
    G = space.to_graph(v.arc)
    rep = typecheck(G, where="H >= 8, W >= 8")
    assert rep.status == "error" and not rep.accepts(**v.counterexample)
    with pytest.raises(RuntimeError):
        to_module(G).eval()(torch.zeros(v.counterexample["N"], 3, v.counterexample["H"], v.counterexample["W"]))


def test_micro_space_is_verified():
    assert verify_space(MicroSpace(cells=1, nodes=3, channels=8)).ok is True
    bad = verify_space(MicroSpace(ops=("sep_conv2d(kernel_size=3, padding=1)", "max_pool2d(kernel_size=2, stride=1)"),
                                  cells=1, nodes=2, channels=8))
    assert bad.ok is False and bad.counterexample is not None


def test_sampled_architecture_round_trips_through_a_graph_file(tmp_path):
    arc = SMALL_MACRO.random_arc(random.Random(3))
    path = str(tmp_path / "arch.json")
    save_graph(SMALL_MACRO.to_graph(arc), path)
    report = typecheck(load_graph(path))
    assert report.status == "ok"


def test_bad_architecture_encodings_are_input_errors():
    with pytest.raises(InputError, match="entries"):
        SMALL_MACRO.to_graph([0, 1])
    with pytest.raises(InputError, match="op index"):
        SMALL_MACRO.to_graph([9] + [0] * (SMALL_MACRO.arc_length - 1))
    with pytest.raises(InputError, match="input id"):
        SMALL_MICRO.to_graph(([5, 0] * (2 * SMALL_MICRO.nodes), [0, 0] * (2 * SMALL_MICRO.nodes)))
