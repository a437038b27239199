"""End to end: a tiny search on synthetic data, resuming after an interruption, retraining the best
architecture, the experiment grid, and the one-line errors."""

from __future__ import annotations

import csv
import json
import os

import pytest

torch = pytest.importorskip("torch")

from arts.errors import InputError
from arts.nas import commands
from arts.nas.search import SearchConfig, search

torch.set_num_threads(1)

TINY = {"dataset": "synthetic:8", "layers": 3, "channels": 8, "batch_size": 16, "max_train": 32, "ctrl_steps": 3,
        "ctrl_aggregate": 2, "eval_archs": 2, "eval_batch": 16, "progress": False, "threads": 1}


def tiny(out: str, **kw: object) -> SearchConfig:
    return SearchConfig(**{**TINY, "space": "3E", "epochs": 2, "out": out, **kw})  # type: ignore[arg-type]


def load(path: str | os.PathLike[str]) -> dict:
    with open(path, encoding="utf-8") as f:
        return dict(json.load(f))


def rows(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    out = str(tmp_path_factory.mktemp("search") / "run")
    return out, search(tiny(out))


def test_search_writes_every_output(finished: tuple[str, dict]) -> None:
    out, result = finished
    for f in ("metrics.csv", "best_arch.json", "val_accuracy.png", "run.json", "checkpoint.pt", "log.txt"):
        assert os.path.getsize(os.path.join(out, f)) > 0, f
    m = rows(os.path.join(out, "metrics.csv"))
    assert [r["epoch"] for r in m] == ["1", "2"]
    assert {"child_loss", "val_acc", "test_acc", "reward", "entropy", "wall_s"} <= set(m[0])
    run = load(os.path.join(out, "run.json"))
    assert run["config"]["space"] == "3E" and run["seed"] == 0
    assert {"python", "torch", "arts"} <= set(run["versions"])
    assert run["result"]["val_acc"] == result["val_acc"]
    # 3E is proven for every architecture on 8x8 images: no architecture is checked on its own
    assert result["arcs_type_checked"] == 0 and run["per_arc_type_check"] is False
    assert {"select_acc", "child_s", "outside_child_s", "ctrl_s", "eval_s"} <= set(m[0])
    cands = load(os.path.join(out, "candidates.json"))["candidates"]
    assert len(cands) == 2 and cands[0]["arc"] == result["best"]["arc"]
    assert cands[0]["select_acc"] >= cands[1]["select_acc"] and result["select_acc"] == cands[0]["select_acc"]
    with open(os.path.join(out, "val_accuracy.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_run_json_records_the_authors_defaults() -> None:
    cfg = SearchConfig()
    assert (cfg.weight_decay, cfg.ctrl_lr, cfg.tanh_constant, cfg.op_tanh_reduce) == (2.5e-4, 1e-3, 1.5, 1.0)
    assert (cfg.ctrl_steps, cfg.ctrl_aggregate, cfg.skip_target, cfg.skip_weight) == (50, 20, 0.4, 0.8)
    assert (cfg.lr_t0, cfg.lr_tmul, cfg.eval_archs, cfg.eval_batch) == (10, 1, 10, 128)


def test_run_json_keys_and_op_logit_bound(finished: tuple[str, dict]) -> None:
    out, _ = finished
    run = load(os.path.join(out, "run.json"))
    c = run["config"]
    assert (c["weight_decay"], c["ctrl_lr"], c["tanh_constant"], c["op_tanh_reduce"]) == (2.5e-4, 1e-3, 1.5, 1.0)
    assert run["controller"]["op_logit_bound"] == pytest.approx(c["tanh_constant"] / c["op_tanh_reduce"])


def test_per_arc_check_kept_for_spaces_of_several_types(tmp_path) -> None:
    out = str(tmp_path / "checked")
    r = search(tiny(out, epochs=1, check_every_arc=True))
    assert r["arcs_type_checked"] > 0 and load(os.path.join(out, "run.json"))["per_arc_type_check"] is True


def test_best_arch_is_a_graph_file_arts_check_accepts(finished: tuple[str, dict]) -> None:
    from arts.graph.check import typecheck
    from arts.graph.fileformat import load_graph

    out, result = finished
    path = os.path.join(out, "best_arch.json")
    G = load_graph(path)
    rep = typecheck(path)
    assert rep.ok, [d.message for d in rep.diagnostics]
    meta = load(path)["meta"]
    assert meta["arc"] == result["best"]["arc"] and meta["space"] == "3E"
    assert G.graph["outputs"] == ["fc"]


def test_shared_child_matches_the_compiled_architecture(finished: tuple[str, dict]) -> None:
    from arts.graph.compile import to_module
    from arts.nas.child import SharedChild
    from arts.nas.search import arch_graph
    from arts.nas.spaces import get_space

    _, result = finished
    macro = get_space("3E").macro(3, 8, 3, 10)
    child = SharedChild(macro, 8, 8)
    arc = result["best"]["arc"]
    model = to_module(arch_graph(macro, arc, 3, 0.1))
    assert child.active_parameters(arc) == sum(p.numel() for p in model.parameters())
    x = torch.randn(4, 3, 8, 8)
    assert child(x, arc).shape == model(x).shape == (4, 10)


def test_arts_train_on_best_arch(finished: tuple[str, dict], tmp_path, capsys) -> None:
    out, _ = finished
    dest = str(tmp_path / "retrain")
    code = commands.main(["train", os.path.join(out, "best_arch.json"), "--dataset", "synthetic:8", "--epochs", "1",
                          "--batch-size", "16", "--max-train", "32", "--out", dest, "--no-progress", "--threads", "1"])
    assert code == 0
    assert "retrained" in capsys.readouterr().out
    for f in ("metrics.csv", "run.json", "val_accuracy.png", "checkpoint.pt"):
        assert os.path.exists(os.path.join(dest, f))
    res = load(os.path.join(dest, "run.json"))["result"]
    assert 0 <= res["test_acc"] <= 1 and res["epochs"] == 1


def test_resume_after_interruption(tmp_path) -> None:
    out = str(tmp_path / "run")

    def stop(epoch: int) -> None:
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(InputError) as e:
        search(tiny(out), on_epoch_end=stop)
    msg = str(e.value)
    assert "interrupted in epoch 1: 1 finished epoch(s) are saved in" in msg and "resume" in msg
    assert [r["epoch"] for r in rows(os.path.join(out, "metrics.csv"))] == ["1"]
    # interrupted again in the middle of epoch 2: epoch 1 is kept, epoch 2 is redone
    def mid(epoch: int, step: int) -> None:
        if epoch == 2 and step == 1:
            raise KeyboardInterrupt

    with pytest.raises(InputError, match="interrupted in epoch 2: 1 finished"):
        search(tiny(out), on_step=mid)
    result = search(tiny(out))
    m = rows(os.path.join(out, "metrics.csv"))
    assert [r["epoch"] for r in m] == ["1", "2"]
    assert result["epochs"] == 2
    assert load(os.path.join(out, "run.json"))["resumed_after_epoch"] == 1
    # the resumed run is the uninterrupted one, epoch for epoch
    straight = str(tmp_path / "straight")
    search(tiny(straight))
    s = rows(os.path.join(straight, "metrics.csv"))
    for a, b in zip(m, s):
        assert a["child_loss"] == b["child_loss"] and a["val_acc"] == b["val_acc"]


def test_resume_with_another_config_is_refused(finished: tuple[str, dict]) -> None:
    out, _ = finished
    with pytest.raises(InputError, match="holds a run with another configuration .*layers: 3 there, 4 now"):
        search(tiny(out, layers=4))


def test_more_epochs_extend_a_finished_run(tmp_path) -> None:
    out = str(tmp_path / "run")
    search(tiny(out, epochs=1))
    search(tiny(out, epochs=2))
    assert [r["epoch"] for r in rows(os.path.join(out, "metrics.csv"))] == ["1", "2"]


def test_out_of_memory_is_a_clear_message(tmp_path) -> None:
    def boom(epoch: int, step: int) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    with pytest.raises(InputError) as e:
        search(tiny(str(tmp_path / "run")), on_step=boom)
    assert str(e.value).startswith("out of memory on cpu (batch size 16, 3 layers, 8 channels, 7 branches per layer)")
    assert "--batch-size" in str(e.value)


def test_type_level_and_masking_search(tmp_path) -> None:
    space = tmp_path / "mixed.json"
    space.write_text(json.dumps(["conv2d(kernel_size=3, padding=1)", "conv2d(kernel_size=3)",
                                 "max_pool2d(kernel_size=3, stride=1, padding=1)"]))
    with pytest.raises(InputError, match=r"op #1 conv2d\(kernel_size=3\) is not type-equivalent"):
        search(tiny(str(tmp_path / "plain"), space=str(space), epochs=1))
    r = search(tiny(str(tmp_path / "masked"), space=str(space), epochs=1, mask=True, type_level=True))
    run = load(tmp_path / "masked" / "run.json")
    assert run["space"]["mixed_types"] is True and run["space"]["types"] == [[0, 2], [1]]
    from arts.graph.check import typecheck

    assert typecheck(r["best_arch"], inputs="N,3,8,8").ok


def test_masking_a_type_equivalent_space_changes_nothing(tmp_path) -> None:
    a = search(tiny(str(tmp_path / "plain"), epochs=1))
    b = search(tiny(str(tmp_path / "masked"), epochs=1, mask=True))
    assert a["best"] == b["best"]
    assert rows(str(tmp_path / "plain" / "metrics.csv"))[0]["child_loss"] == \
        rows(str(tmp_path / "masked" / "metrics.csv"))[0]["child_loss"]


def test_images_too_small_for_the_space(tmp_path) -> None:
    space = tmp_path / "k5.json"
    space.write_text(json.dumps(["conv2d(kernel_size=5)"]))
    with pytest.raises(InputError) as e:
        search(tiny(str(tmp_path / "r"), space=str(space), mask=True, dataset="synthetic:6"))
    assert "images of 6x6 are too small" in str(e.value) and "accepted: square images of at least 29x29" in str(e.value)
    assert not os.path.exists(tmp_path / "r")  # refused before a weight was allocated or a file written


def test_train_refuses_an_architecture_the_images_do_not_fit(tmp_path) -> None:
    g = {"inputs": {"x": ["N", 3, "H", "W"]}, "nodes": [
        {"name": "c", "op": "conv2d", "args": ["x"], "params": {"in_channels": 3, "out_channels": 4, "kernel_size": 7}},
        {"name": "p", "op": "adaptive_avg_pool2d", "args": ["c"], "params": {"output_size": 1}},
        {"name": "f", "op": "flatten", "args": ["p"]},
        {"name": "fc", "op": "linear", "args": ["f"], "params": {"in_features": 4, "out_features": 10}}],
        "outputs": ["fc"]}
    path = tmp_path / "k7.json"
    path.write_text(json.dumps(g))
    code = commands.main(["train", str(path), "--dataset", "synthetic:6", "--epochs", "1", "--out",
                          str(tmp_path / "o"), "--no-progress"])
    assert code == 2
    from arts.nas.train import TrainConfig, train

    with pytest.raises(InputError) as e:
        train(TrainConfig(arch=str(path), dataset="synthetic:6", epochs=1, out=str(tmp_path / "o"), progress=False))
    assert "not well-typed on the dataset's 3x6x6 images" in str(e.value) and "accepted:" in str(e.value)
    assert "H ≥ 7" in str(e.value)


def test_cli_errors_are_one_line_exit_2(tmp_path, capsys) -> None:
    assert commands.main(["search", "--space", "3Q", "--dataset", "synthetic", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("arts: error: unknown search space '3Q'; known: S0, 3a") and "\n" not in err
    assert commands.main(["search", "--space", "S0", "--dataset", f"cifar10:{tmp_path}", "--out",
                          str(tmp_path / "o")]) == 2
    assert "missing CIFAR-10 file(s) data_batch_1" in capsys.readouterr().err
    assert commands.main(["search", "--space", "S0", "--channels", "7", "--out", str(tmp_path / "o")]) == 2
    assert "--channels: must be even" in capsys.readouterr().err


def test_spaces_cli_json(capsys) -> None:
    assert commands.main(["spaces", "S0", "3b", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in data] == ["S0", "3b"]
    assert len(data[1]["ops"]) == 36 and data[1]["types"] == [list(range(36))]
    assert set(data[0]["ops"][0]) == {"op", "kernel_size", "padding", "dilation", "stride"}
    assert commands.main(["spaces", "3b", "--dedupe", "--check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("3b: 11 choices, 11 distinct ops, 1 type(s)") and "all 11 type-equivalences proven" in out


def test_registers_with_the_arts_command_line(capsys) -> None:
    import argparse

    from arts import cli

    parser = argparse.ArgumentParser(prog="arts")
    sub = parser.add_subparsers(dest="verb")
    commands.register(sub)
    args = parser.parse_args(["spaces", "3E"])
    assert args.func is commands.run_spaces and args._run is commands.run_spaces
    # through arts.cli.main (which calls commands.register): InputError -> exit 2, one line
    assert cli.main(["spaces", "3E"]) == 0
    assert capsys.readouterr().out.startswith("3E: 7 choices")
    assert cli.main(["spaces", "nope"]) == 2
    assert "unknown search space 'nope'" in capsys.readouterr().err


def test_experiment_grid(tmp_path) -> None:
    from arts.nas.experiment import experiment

    base = tiny(str(tmp_path), epochs=1)
    lines: list[str] = []
    summary = experiment(["3E"], 2, base, str(tmp_path / "exp"), jobs=1, retrain_epochs=1, echo=lines.append)
    assert summary["errors"] == []
    # a progress line per finished epoch, then one per finished run
    assert len(lines) == 5 and lines[1].startswith("  3E seed 0: epoch 1/1: val ")
    assert lines[2].startswith("[1/2] 3E seed 0: shared val")
    text = summary["table"]
    assert text.splitlines()[0].startswith(
        "| space | runs | val acc (shared) | test acc (shared) | val acc (retrained)")
    assert "| 3E " in text and " ± " in text
    for f in ("table.md", "results.json", "val_accuracy.png", "experiment.json"):
        assert os.path.exists(tmp_path / "exp" / f)
    assert os.path.exists(tmp_path / "exp" / "3E" / "seed1" / "retrain" / "metrics.csv")
    # rerunning skips the finished runs (their checkpoints hold every epoch)
    again = experiment(["3E"], 2, base, str(tmp_path / "exp"), jobs=1, retrain_epochs=1, echo=lines.append)
    assert [r["val_shared"] for r in again["rows"]] == [r["val_shared"] for r in summary["rows"]]
    assert [r["test_retrain"] for r in again["rows"]] == [r["test_retrain"] for r in summary["rows"]]


def test_experiment_in_parallel_processes(tmp_path) -> None:
    from arts.nas.experiment import experiment

    base = tiny(str(tmp_path), epochs=1)
    lines: list[str] = []
    summary = experiment(["S0"], 2, base, str(tmp_path / "par"), jobs=2, echo=lines.append)
    assert summary["errors"] == [], summary["errors"]
    assert summary["rows"][0]["runs"] == 2
    # epochs finished in the worker processes are reported while they run
    assert sum(" epoch 1/1: val " in x for x in lines) == 2
    assert os.path.exists(tmp_path / "par" / "S0" / "seed1" / "result.json")


def test_experiment_unknown_space_fails_before_running(tmp_path) -> None:
    from arts.nas.experiment import experiment

    with pytest.raises(InputError, match="unknown search space 'S9'"):
        experiment(["S0", "S9"], 1, tiny(str(tmp_path)), str(tmp_path / "e"))
    assert not os.path.exists(tmp_path / "e")


def test_experiment_honest_protocol_retrains_the_top_candidates(tmp_path) -> None:
    from arts.nas.experiment import experiment

    base = tiny(str(tmp_path), epochs=1)
    summary = experiment(["3E"], 1, base, str(tmp_path / "h"), retrain_epochs=1, retrain_top=2, echo=lambda s: None)
    assert summary["errors"] == []
    run = summary["runs"][0]
    trained = [load(tmp_path / "h" / "3E" / "seed0" / "retrain" / f"candidate{i}" / "run.json")["result"]
               for i in range(2)]
    # chosen on the final validation accuracy, reported on test
    best = max(trained, key=lambda t: t["val_acc"])
    assert run["retrain"]["test_acc"] == best["test_acc"] and run["retrain"]["candidates"] == 2


def test_experiment_ray_bad_address_is_one_line_exit_2(tmp_path, capsys) -> None:
    pytest.importorskip("ray")
    code = commands.main(["experiment", "--spaces", "S0", "--seeds", "1", "--ray", "127.0.0.1:1",
                          "--out", str(tmp_path / "r"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("arts: error: --ray: no Ray cluster answers at 127.0.0.1:1")
    assert len(err.splitlines()) == 1 and not os.path.exists(tmp_path / "r")


def test_experiment_on_a_local_ray_instance(tmp_path) -> None:
    ray = pytest.importorskip("ray")
    from arts.nas.experiment import experiment

    base = tiny(str(tmp_path), epochs=1)
    lines: list[str] = []
    try:
        summary = experiment(["S0", "3E"], 1, base, str(tmp_path / "ray"), ray="local", echo=lines.append)
    finally:
        ray.shutdown()
    assert summary["errors"] == [], summary["errors"]
    assert [r["runs"] for r in summary["rows"]] == [1, 1]
    assert lines[0].startswith("2 run(s): S0, 3E x 1 seed(s); Ray at local")
    assert sum(x.startswith("[") for x in lines) == 2
    for sp in ("S0", "3E"):
        assert os.path.exists(tmp_path / "ray" / sp / "seed0" / "result.json")


def test_exact_permutation_test() -> None:
    from arts.nas.experiment import permutation_p

    # completely separated 5 + 5 values: only the observed split and its mirror are as extreme
    assert permutation_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(2 / 252)
    assert permutation_p([1, 2, 3], [1, 2, 3]) == 1.0
    assert permutation_p([1], [2, 3]) is None
