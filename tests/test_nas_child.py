"""The blueprint of the macro child network and the three networks built from it: the graph
(``MacroSpace.to_graph``), the shared child (``SharedChild``) and the compiled retraining network;
plus the shared epoch loop's schedule and the per-image augmentation."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from arts.graph.compile import to_module
from arts.graph.enas import blueprint
from arts.nas.child import SharedChild, _batch_stats
from arts.nas.data import crop_flip
from arts.nas.loop import cosine_restarts
from arts.nas.search import arch_graph
from arts.nas.spaces import get_space

torch.set_num_threads(1)


def test_branches_as_the_authors_built_them() -> None:
    macro = get_space("3G").macro(3, 8, 1, 10)
    bp = blueprint(macro)
    roles = [[r for r, _ in steps] for steps in bp.branches]
    conv = ["proj", "proj_bn", "proj_relu", "op", "op_bn", "op_relu"]
    assert roles[0] == roles[1] == roles[6] == conv  # convs, separable convs, dilated convs: ReLU at the end
    assert roles[4] == roles[5] == ["proj", "proj_bn", "proj_relu", "op"]  # pools (of a ReLU output)
    assert roles[11:] == [["op"]] * 5  # 3G's transposed convs: the bare ConvTranspose2d
    child = SharedChild(macro, 8, 8)
    bare = child.layers_[0][11]
    assert [type(m).__name__ for m in bare] == ["ConvTranspose2d"]
    assert isinstance(child.layers_[0][0][-1], torch.nn.ReLU)


def test_batch_norm_after_the_skip_sum_in_every_layer() -> None:
    macro = get_space("S0").macro(4, 8, 1, 10)
    arc = [0] * macro.arc_length  # no skip at all
    G = macro.to_graph(arc, "N,1,8,8")
    for i in range(4):
        assert G.nodes[f"L{i}_bn"]["op"].name == "batch_norm2d"
    assert "head_relu" not in G  # the authors' head: pool, dropout, linear


def test_duplicate_choices_have_their_own_weights() -> None:
    sp = get_space("T1-kd04")
    macro = sp.macro(2, 8, 1, 10)
    child = SharedChild(macro, 8, 8)
    assert len(child.layers_[0]) == len(sp) == 24
    dup = [i for i, o in enumerate(sp.ops) if str(o) == "conv2d(kernel_size=3, padding=1)"]
    assert len(dup) == 2
    a, b = (child.layers_[0][i] for i in dup)
    assert a is not b and a[3].weight.data_ptr() != b[3].weight.data_ptr()


@pytest.mark.parametrize("space", ["3E", "3G", "T1-kp04"])
def test_shared_child_equals_the_compiled_graph(space: str) -> None:
    """With the same weights, the shared child running ``arc`` and the network compiled from
    ``to_graph(arc)`` compute the same function (eval mode: dropout off)."""
    macro = get_space(space).macro(3, 8, 1, 10)
    torch.manual_seed(0)
    child = SharedChild(macro, 8, 8).eval()
    arc = macro.random_arc(__import__("random").Random(3))
    model = to_module(arch_graph(macro, arc, 1, 0.1)).eval()
    _batch_stats(model)  # the shared child's batch norms use batch statistics
    assert child.active_parameters(arc) == sum(p.numel() for p in model.parameters())
    # copy the child's active modules into the compiled network, node by node (by graph node name)
    bp = child.blueprint
    head_roles = [r for r, _ in bp.head]

    def module_of(name: str) -> torch.nn.Module:
        if name in ("stem", "stem_bn"):
            return child.stem[["stem", "stem_bn"].index(name)]
        if name in head_roles:
            return child.head[head_roles.index(name)]
        if name.startswith("R"):
            i, j = name[1:].split("_from")
            return child.reductions[i][int(j)]
        layer, role = name[1:].split("_", 1)
        i = int(layer)
        if role == "bn":
            return child.layer_bn[i]
        k = arc[macro.layer_slices()[i][0]]
        return child.layers_[i][k][[r for r, _ in bp.branches[k]].index(role)]

    with torch.no_grad():
        for name, key, _ in model.plan:
            if "_skip" in name:
                continue
            model.nodes[key].load_state_dict(module_of(name).state_dict())
        x = torch.randn(4, 1, 8, 8)
        assert torch.allclose(child(x, arc), model(x), atol=1e-5)


def test_cosine_schedule_restarts() -> None:
    hi, lo = 0.05, 0.0005
    every10 = [cosine_restarts(e, hi, lo, 10, 1) for e in range(25)]
    assert every10[0] == every10[10] == every10[20] == pytest.approx(hi)
    assert every10[5] == pytest.approx(lo + 0.5 * (hi - lo))
    assert all(every10[e + 1] < every10[e] for e in range(9))
    enas = [cosine_restarts(e, hi, lo, 10, 2) for e in range(71)]
    restarts = [e for e in range(1, 71) if enas[e] > enas[e - 1]]
    assert restarts == [10, 30, 70]
    assert enas[20] == pytest.approx(lo + 0.5 * (hi - lo))  # halfway through the 20-epoch cycle


def test_crop_and_flip_are_drawn_per_image() -> None:
    x = torch.arange(2 * 6 * 6, dtype=torch.float32).reshape(1, 2, 6, 6).repeat(64, 1, 1, 1) + 1
    g = torch.Generator().manual_seed(0)
    out = crop_flip(x, g)
    assert out.shape == x.shape
    distinct = {tuple(o.flatten().tolist()) for o in out}
    assert len(distinct) > 20  # one offset and flip per image, not one per batch
    # every output is a crop of the zero-padded (possibly flipped) image
    padded = torch.nn.functional.pad(x[0], (4, 4, 4, 4))
    for o in out[:16]:
        found = any(torch.equal(o, src[:, dy:dy + 6, dx:dx + 6])
                    for src in (padded, padded.flip(2)) for dy in range(9) for dx in range(9))
        assert found
    assert not math.isnan(float(out.sum()))


def test_plot_has_integer_epoch_ticks_and_a_fixed_y_axis(tmp_path, monkeypatch) -> None:
    pytest.importorskip("matplotlib")
    from arts.nas import plot

    seen = {}
    plt = plot._plt()
    real_close = plt.close

    def keep(fig: object) -> None:
        ax = fig.axes[0]  # type: ignore[attr-defined]
        seen["xticks"] = [t for t in ax.get_xticks() if 1 <= t <= 3]
        seen["ylim"] = ax.get_ylim()
        real_close(fig)

    monkeypatch.setattr(plt, "close", keep)
    assert plot.plot_curves(str(tmp_path / "p.png"), {"S0": [[0.801, 0.805, 0.809]]})
    assert seen["xticks"] and all(float(t).is_integer() for t in seen["xticks"])
    assert seen["ylim"] == (0.0, 100.0)


def test_default_threads_leave_a_busy_small_machine_alone(monkeypatch) -> None:
    from arts.nas import common

    monkeypatch.setattr(common.os, "cpu_count", lambda: 2)
    assert common.default_threads(None, torch.device("cpu")) == 1
    monkeypatch.setattr(common.os, "cpu_count", lambda: 16)
    assert common.default_threads(None, torch.device("cpu")) == 4
    assert common.default_threads(3, torch.device("cpu")) == 3
    assert common.default_threads(None, torch.device("cuda")) is None
