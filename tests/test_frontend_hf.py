"""Hugging Face vision models (built from small configs, random weights) against torch.

Their ``forward`` takes ``pixel_values`` plus optional flags and ``**kwargs``; only the tensor
gets a shape, the others keep their defaults.  ResNet checks its channels with a Python ``if``
that plain torch.fx cannot trace; traced through it (the channels are static), the graph is the
model at every size.  PVTv2 traces.  Wherever arts answers, torch (CPU, these models are tiny)
agrees.
"""

from __future__ import annotations

import pytest
import torch
import transformers

from arts.frontends.torch_fx import analyse

pytestmark = pytest.mark.filterwarnings("ignore")

SIZES = [(1, 1), (2, 2), (3, 5), (4, 4), (7, 9), (8, 8), (16, 12), (17, 33), (32, 32), (40, 24)]


def _runs(model: torch.nn.Module, shape: tuple[int, ...]) -> bool:
    try:
        with torch.no_grad():
            model(torch.zeros(shape))
        return True
    except Exception:  # noqa: BLE001 - any failure at this size
        return False


def _compare(model: torch.nn.Module, report) -> dict:
    answers = {}
    for h, w in SIZES:
        try:
            answers[(h, w)] = report.accepts(N=2, H=h, W=w)
        except ValueError:
            answers[(h, w)] = None  # outside the captured region, or an untranslated node
            continue
        assert answers[(h, w)] == _runs(model, (2, 3, h, w)), f"arts says {answers[(h, w)]} at H={h}, W={w}"
    return answers


def test_resnet_traced_through_its_channel_check():
    cfg = transformers.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic")
    m = transformers.ResNetModel(cfg).eval()
    report, G = analyse(m, "N,3,H,W")
    assert list(G.graph["inputs"]) == ["pixel_values"]
    [note] = [d for d in report.diagnostics if d.code == "captured-region"]
    assert note.severity == "note" and "branch(es) on sizes" in note.message
    assert not report.unknown_nodes and report.region == () and report.status == "ok"
    answers = _compare(m, report)
    assert all(a is True for a in answers.values())  # adaptive pooling: every size runs


def test_pvt_v2_keeps_its_flags_and_kwargs_at_their_defaults():
    cfg = transformers.PvtV2Config(hidden_sizes=[8, 16], depths=[1, 1], num_encoder_blocks=2,
                                   num_attention_heads=[1, 2], sr_ratios=[2, 1], mlp_ratios=[2, 2],
                                   patch_sizes=[7, 3], strides=[4, 2])
    m = transformers.PvtV2Model(cfg).eval()
    report, G = analyse(m, "N,3,H,W")
    assert list(G.graph["inputs"]) == ["pixel_values"]
    assert report.status != "ok"
    _compare(m, report)
