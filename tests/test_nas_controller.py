"""The ENAS controller: valid architectures, finite log-probabilities, entropy, the type-level
mode and compatibility masking."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from arts.graph.check import typecheck
from arts.nas.controller import Controller
from arts.nas.spaces import ShapeOracle, get_space, space_from_data

torch.set_num_threads(1)


def val(t: torch.Tensor) -> float:
    return float(t.detach())


def make(space_name: str = "3E", layers: int = 5, **kw: object) -> tuple:
    sp = get_space(space_name)
    macro = sp.macro(layers, 8, 1, 10)
    torch.manual_seed(0)
    return sp, macro, Controller(len(sp), layers, 64, types=sp.types(), **kw)


def test_samples_are_valid_architectures() -> None:
    _sp, macro, ctrl = make()
    for _ in range(20):
        s = ctrl()
        macro.check_arc(s.arc)  # raises on a malformed arc
        assert len(s.arc) == macro.arc_length
        assert math.isfinite(val(s.log_prob)) and val(s.log_prob) < 0
        assert val(s.entropy) > 0
        assert math.isfinite(val(s.skip_penalty)) and val(s.skip_penalty) >= -1e-6
        assert s.skip_slots == macro.layers * (macro.layers - 1) // 2
        assert 0 <= s.skip_count <= s.skip_slots


def test_scoring_a_given_arc_reproduces_its_log_prob() -> None:
    _, _, ctrl = make()
    s = ctrl()
    again = ctrl(arc=s.arc)
    assert again.arc == s.arc
    assert val(again.log_prob) == pytest.approx(val(s.log_prob), abs=1e-5)


def test_entropy_near_uniform_at_initialisation() -> None:
    sp, _macro, ctrl = make(layers=1)
    s = ctrl()
    # one op choice, no skips: entropy of a nearly uniform distribution over the 7 ops
    assert val(s.entropy) == pytest.approx(math.log(len(sp)), rel=0.05)


def test_gradients_flow_to_every_parameter() -> None:
    _, _, ctrl = make()
    s = ctrl()
    loss = -s.log_prob * 0.5 + 0.8 * s.skip_penalty
    loss.backward()
    for name, p in ctrl.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_reinforce_moves_towards_rewarded_op() -> None:
    sp, _macro, ctrl = make(layers=2, tanh_constant=None)
    opt = torch.optim.Adam(ctrl.parameters(), lr=0.05)
    for _ in range(60):
        s = ctrl()
        reward = 1.0 if s.arc[0] == 6 else 0.0
        loss = -s.log_prob * (reward - 1 / len(sp))
        opt.zero_grad()
        loss.backward()
        opt.step()
    hits = sum(ctrl().arc[0] == 6 for _ in range(50))
    assert hits > 25


MIXED = ["conv2d(kernel_size=3, padding=1)", "conv2d(kernel_size=3, padding=2, dilation=2)",
         "conv2d(kernel_size=5)", "conv2d(kernel_size=3)", "max_pool2d(kernel_size=3, stride=1, padding=1)"]


def test_type_level_distribution() -> None:
    sp = space_from_data(MIXED, "mixed")
    assert sp.types() == [[0, 1, 4], [2], [3]]
    torch.manual_seed(0)
    ctrl = Controller(len(sp), 3, 64, types=sp.types(), type_level=True)
    h = torch.randn(1, 64)
    with torch.no_grad():
        logp = ctrl.op_distribution(h, None)
        t_logp = torch.log_softmax(ctrl._squash(ctrl.w_type(h)[0], ctrl.op_bound()), -1)
    assert float(logp.exp().sum()) == pytest.approx(1.0, abs=1e-5)
    # the probability of a type is the sum of its ops' probabilities
    assert float(logp.exp()[[0, 1, 4]].sum()) == pytest.approx(float(t_logp.exp()[0]), abs=1e-5)
    s = ctrl()
    assert math.isfinite(val(s.log_prob)) and val(s.entropy) > 0
    assert val(ctrl(arc=s.arc).log_prob) == pytest.approx(val(s.log_prob), abs=1e-5)


@pytest.mark.parametrize("type_level", [False, True])
def test_masking_only_samples_well_typed_networks(type_level: bool) -> None:
    sp = space_from_data(MIXED, "mixed")
    macro = sp.macro(4, 8, 1, 10)
    oracle = ShapeOracle(macro, 1, 8, 8)
    torch.manual_seed(1)
    ctrl = Controller(len(sp), 4, 64, types=sp.types(), type_level=type_level)
    seen_ops: set[int] = set()
    for _ in range(25):
        s = ctrl(oracle)
        assert math.isfinite(val(s.log_prob))
        seen_ops.update(s.arc[a] for a, _ in macro.layer_slices())
        rep = typecheck(macro.to_graph(s.arc, "N,1,8,8"), where=["N >= 2"], mode="train")
        assert rep.ok, (s.arc, [d.message for d in rep.diagnostics])
        assert val(ctrl(oracle, arc=s.arc).log_prob) == pytest.approx(val(s.log_prob), abs=1e-5)
    assert {2, 3} & seen_ops  # the shrinking ops are still used where they fit


def test_without_masking_a_mixed_space_yields_ill_typed_networks() -> None:
    sp = space_from_data(MIXED, "mixed")
    macro = sp.macro(4, 8, 1, 10)
    torch.manual_seed(1)
    ctrl = Controller(len(sp), 4, 64)
    bad = 0
    for _ in range(25):
        s = ctrl()
        rep = typecheck(macro.to_graph(s.arc, "N,1,8,8"), where=["N >= 2"], mode="train")
        bad += not rep.ok
    assert bad > 0


def test_default_op_logits_are_bounded_by_1_5_tanh() -> None:
    """The authors' macro controller: op logits 1.5 * tanh (bound tanh_constant / op_tanh_reduce,
    op_tanh_reduce 1); the most likely of 7 ops can reach e^1.5 / (e^1.5 + 6 e^-1.5) ~ 0.77."""
    _, _, ctrl = make()
    assert ctrl.op_bound() == pytest.approx(1.5)
    with torch.no_grad():
        ctrl.w_soft.weight.zero_()
        ctrl.w_soft.weight[6] = 100.0
        ctrl.w_soft.weight[:6] = -100.0
        logp = ctrl.op_distribution(torch.ones(1, 64), None)
    best = math.exp(1.5) / (math.exp(1.5) + 6 * math.exp(-1.5))
    assert float(logp.exp()[6]) == pytest.approx(best, rel=1e-4)
    _, _, reduced = make(op_tanh_reduce=2.5)
    assert reduced.op_bound() == pytest.approx(0.6)


def test_skip_penalty_is_the_sigmoid_kl_averaged_over_layers() -> None:
    layers = 5
    _, _, ctrl = make(layers=layers)
    with torch.no_grad():
        ctrl.v_attn.weight.zero_()  # every skip logit pair is [0, 0]: sigmoid 0.5 against [0.6, 0.4]
    s = ctrl()
    per_slot = 0.5 * math.log(0.5 / 0.6) + 0.5 * math.log(0.5 / 0.4)
    mean_over_layers = sum(i * per_slot for i in range(1, layers)) / (layers - 1)
    assert val(s.skip_penalty) == pytest.approx(mean_over_layers, rel=1e-5)


def test_batched_samples_score_like_single_ones() -> None:
    _, macro, ctrl = make(layers=4)
    torch.manual_seed(3)
    batch = ctrl.sample(8)
    assert len({tuple(s.arc) for s in batch}) > 1
    for s in batch:
        macro.check_arc(s.arc)
        one = ctrl(arc=s.arc)
        assert val(one.log_prob) == pytest.approx(val(s.log_prob), abs=1e-5)
        assert val(one.entropy) == pytest.approx(val(s.entropy), abs=1e-5)
        assert val(one.skip_penalty) == pytest.approx(val(s.skip_penalty), abs=1e-6)
        assert s.skip_count == sum(s.arc[a + 1:b].count(1) for a, b in macro.layer_slices())
    rescored = ctrl.score([s.arc for s in batch])
    assert [val(r.log_prob) for r in rescored] == pytest.approx([val(s.log_prob) for s in batch], abs=1e-5)
