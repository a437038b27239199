"""ENAS macro search with weight sharing on a (type-checked) search space.

One epoch, as in ENAS: (1) train the shared child network for one pass over the training data,
a freshly sampled architecture per mini-batch (SGD, Nesterov momentum, cosine learning rate);
(2) train the controller for ``ctrl_steps`` steps, each sampling an architecture and rewarding
it with its shared-weight accuracy on a validation mini-batch (REINFORCE, moving-average
baseline, entropy bonus, skip penalty towards the target skip rate); (3) the paper's evaluation:
sample ``eval_archs`` architectures, score each on the whole validation set with the shared
weights, report the best one's validation and test accuracy, and save it as ``best_arch.json``.

Every sampled architecture is built as an arts graph (``MacroSpace.to_graph``) and type-checked
at the actual input size before it runs (cached per architecture); the space itself is proven
type-equivalent to its seeds and verified on the image size before a weight is allocated.

Outputs in ``--out``: ``metrics.csv`` (one row per epoch), ``best_arch.json`` (a graph file),
``val_accuracy.png``, ``run.json`` (config, versions, seed, result), ``checkpoint.pt`` (every
epoch; a rerun with the same ``--out`` resumes from it), ``log.txt``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from arts.errors import InputError

METRIC_COLUMNS = ["epoch", "child_loss", "child_train_acc", "val_acc", "test_acc", "reward", "baseline",
                  "entropy", "skip_rate", "lr", "arcs_checked", "check_s", "epoch_s", "wall_s"]


@dataclass
class SearchConfig:
    """Every knob of a search (the command line's flags).  Defaults are ENAS's, scaled to CPU."""

    space: str = "S0"
    dataset: str = "digits"
    image_size: int | None = None
    epochs: int = 10
    layers: int = 6
    channels: int = 16
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"
    out: str = "runs/search"
    # child (shared weights)
    child_lr: float = 0.05
    child_lr_min: float = 0.0005
    momentum: float = 0.9
    weight_decay: float = 1e-4
    grad_clip: float = 5.0
    dropout: float = 0.1
    # controller
    ctrl_lr: float = 3.5e-4
    ctrl_hidden: int = 64
    ctrl_steps: int = 30
    entropy_weight: float = 1e-4
    baseline_decay: float = 0.99
    skip_target: float = 0.4
    skip_weight: float = 0.8
    tanh_constant: float | None = 1.5
    op_tanh_reduce: float = 2.5
    temperature: float | None = None
    eval_archs: int = 10
    # type-aware options
    type_level: bool = False
    mask: bool = False
    dedupe: bool = False
    by_type: bool = False
    # running
    amp: bool = False
    split_seed: int = 0
    max_train: int | None = None
    threads: int | None = None
    progress: bool = True

    def validate(self) -> None:
        def need(ok: bool, flag: str, what: str) -> None:
            if not ok:
                raise InputError(what, flag)

        need(self.epochs >= 1, "--epochs", f"must be at least 1, got {self.epochs}")
        need(self.layers >= 1, "--layers", f"must be at least 1, got {self.layers}")
        need(self.channels >= 2 and self.channels % 2 == 0, "--channels",
             f"must be even and at least 2 (factorized reductions split the channels in two), got {self.channels}")
        need(self.batch_size >= 2, "--batch-size", f"must be at least 2 (batch norm), got {self.batch_size}")
        need(self.child_lr > 0 and self.child_lr_min >= 0, "--lr", "learning rates must be positive")
        need(self.ctrl_lr > 0, "--ctrl-lr", "must be positive")
        need(self.ctrl_hidden >= 1, "--ctrl-hidden", "must be positive")
        need(self.ctrl_steps >= 0, "--ctrl-steps", "must be 0 or more")
        need(self.eval_archs >= 1, "--eval-archs", "must be at least 1")
        need(0 < self.skip_target < 1, "--skip-target", "must lie strictly between 0 and 1")
        need(0 <= self.baseline_decay < 1, "--baseline-decay", "must lie in [0, 1)")
        need(0 <= self.dropout < 1, "--dropout", "must lie in [0, 1)")
        need(self.max_train is None or self.max_train >= 2, "--max-train", "must be at least 2")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - declared dependency
        raise InputError("search needs torch (pip install torch)") from None
    return torch


class ArcChecker:
    """Type-checks each architecture once (at the actual input size, training mode)."""

    def __init__(self, macro: Any, channels: int, height: int, width: int) -> None:
        self.macro = macro
        self.shape = f"N,{channels},{height},{width}"
        self.cache: dict[tuple, bool] = {}
        self.checked = 0
        self.seconds = 0.0

    def __call__(self, arc: Sequence[int]) -> None:
        key = tuple(arc)
        if key in self.cache:
            return
        from arts.graph.check import typecheck

        t = time.perf_counter()
        G = self.macro.to_graph(list(arc), self.shape)
        rep = typecheck(G, where=["N >= 2"], mode="train")
        self.seconds += time.perf_counter() - t
        self.checked += 1
        if not rep.ok:
            errs = [d for d in rep.diagnostics if d.severity == "error"] or list(rep.diagnostics)
            why = f"{errs[0].node}: {errs[0].message}" if errs else rep.status
            raise InputError(f"sampled architecture {list(arc)} is not well-typed on {self.shape} ({why}); "
                             "the space needs --mask (compatibility masking)")
        if len(self.cache) > 50_000:
            self.cache.clear()
        self.cache[key] = True


def arch_graph(macro: Any, arc: Sequence[int], channels: int, dropout: float) -> Any:
    """The graph file of an architecture: symbolic ``N, H, W``, the search's dropout."""
    from arts.ops.base import Op

    G = macro.to_graph(list(arc), f"N,{channels},H,W")
    if "drop" in G.nodes:
        G.nodes["drop"]["op"] = Op.make("dropout", {"p": dropout})
    return G


def save_arch(path: str, macro: Any, arc: Sequence[int], channels: int, dropout: float, meta: dict[str, Any]) -> None:
    from arts.graph.fileformat import graph_to_dict

    G = arch_graph(macro, arc, channels, dropout)
    data = {"name": f"{macro.name}:{','.join(map(str, arc))}", **graph_to_dict(G), "meta": meta}
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def search(config: SearchConfig, on_epoch_end: Callable[[int], None] | None = None,
           on_step: Callable[[int, int], None] | None = None, argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run (or resume) a search; returns the result recorded in ``run.json``."""
    config.validate()
    torch = _import_torch()
    from arts.nas import common
    from arts.nas.data import load_dataset
    from arts.nas.spaces import ShapeOracle, all_equivalent, check_image_size, check_space, prepare

    out = config.out
    cfg = config.to_json()
    ckpt_path = os.path.join(out, "checkpoint.pt")
    run_path = os.path.join(out, "run.json")
    if os.path.exists(run_path) and os.path.exists(ckpt_path):
        common.check_resume(common.read_json(run_path).get("config", {}), cfg, out)
    t_setup = time.perf_counter()
    # -- the space, checked before a weight is allocated (and before --out is created) --
    sp = prepare(config.space, config.dedupe, config.by_type)
    proofs = check_space(sp, allow_mixed=config.mask)
    mixed = not all_equivalent(proofs)
    ds = load_dataset(config.dataset, config.image_size, config.split_seed, config.max_train)
    macro = sp.macro(config.layers, config.channels, ds.channels, ds.num_classes)
    proven = check_image_size(macro, ds.channels, ds.height, ds.width, mixed=mixed,
                              where=f"space {sp.name} on {ds.name}")
    dev = common.resolve_device(config.device)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the output folder: {e.strerror}", out) from None
    log = common.Log(os.path.join(out, "log.txt"), config.progress)
    n_proven = sum(p.verdict.is_proven for p in proofs)
    log(f"space {sp.name}: {len(sp)} choices ({len(sp.unique()[0])} distinct ops, {len(sp.types())} type(s)); "
        f"{n_proven}/{len(proofs)} type-equivalences proven; {proven}")
    log(ds.describe())
    amp = bool(config.amp and dev.type == "cuda")
    if config.amp and not amp:
        log("--amp has no effect on cpu; running in float32")
    with common.threads(config.threads):
        return _run(config, cfg, sp, macro, ds, dev, amp, mixed, proofs, log, ckpt_path, run_path,
                    on_epoch_end, on_step, argv, time.perf_counter() - t_setup, torch, ShapeOracle)


def _run(config: SearchConfig, cfg: dict[str, Any], sp: Any, macro: Any, ds: Any, dev: Any, amp: bool, mixed: bool,
         proofs: Any, log: Any, ckpt_path: str, run_path: str, on_epoch_end: Any, on_step: Any, argv: Any,
         setup_s: float, torch: Any, ShapeOracle: Any) -> dict[str, Any]:

    from arts.nas import common
    from arts.nas.child import SharedChild
    from arts.nas.controller import Controller
    from arts.nas.plot import plot_curves

    out = config.out
    torch.manual_seed(config.seed)
    data_gen = torch.Generator().manual_seed(config.seed + 7919)
    ds.to(dev)
    child = SharedChild(macro, ds.height, ds.width, dropout=config.dropout).to(dev)
    types = sp.types()
    controller = Controller(len(sp), config.layers, config.ctrl_hidden, types=types, type_level=config.type_level,
                            tanh_constant=config.tanh_constant, op_tanh_reduce=config.op_tanh_reduce,
                            temperature=config.temperature, skip_target=config.skip_target)
    oracle = ShapeOracle(macro, ds.channels, ds.height, ds.width) if config.mask else None
    child_opt = torch.optim.SGD(child.parameters(), lr=config.child_lr, momentum=config.momentum, nesterov=True,
                                weight_decay=config.weight_decay)
    ctrl_opt = torch.optim.Adam(controller.parameters(), lr=config.ctrl_lr, betas=(0.0, 0.999), eps=1e-3)
    scaler = torch.amp.GradScaler("cuda") if amp else None
    checker = ArcChecker(macro, ds.channels, ds.height, ds.width)

    start_epoch = 0
    rows: list[dict[str, Any]] = []
    baseline: float | None = None
    best: dict[str, Any] | None = None
    wall_before = 0.0
    resumed = False
    if os.path.exists(ckpt_path):
        st = common.load_checkpoint(ckpt_path)
        child.load_state_dict(st["child"])
        controller.load_state_dict(st["controller"])
        child_opt.load_state_dict(st["child_opt"])
        ctrl_opt.load_state_dict(st["ctrl_opt"])
        if scaler is not None and st.get("scaler"):
            scaler.load_state_dict(st["scaler"])
        common.set_rng_state(st["rng"])
        data_gen.set_state(st["data_gen"])
        start_epoch, rows, baseline, best = st["epoch"], st["rows"], st["baseline"], st["best"]
        wall_before = float(rows[-1]["wall_s"]) if rows else 0.0
        resumed = True
        log(f"resuming {out} after epoch {start_epoch}")

    run_info = {"config": cfg, "versions": common.versions(), "seed": config.seed, "device": common.device_name(dev),
                "amp": amp, "space": {"name": sp.name, "choices": len(sp), "distinct": len(sp.unique()[0]),
                                      "types": types, "mixed_types": mixed, "ops": [str(o) for o in sp.ops]},
                "dataset": ds.describe(), "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "resumed_after_epoch": start_epoch if resumed else None,
                "parameters_shared": sum(p.numel() for p in child.parameters()), "result": None}
    if resumed and os.path.exists(run_path):
        old = common.read_json(run_path)
        run_info["started"] = old.get("started", run_info["started"])
    common.write_json(run_path, run_info)

    steps_per_epoch = max(1, len(ds.train) // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    B = config.batch_size
    C, H, W = ds.channels, ds.height, ds.width

    def autocast() -> Any:
        return torch.autocast(device_type="cuda", dtype=torch.float16) if amp else _null()

    def arch_accuracy(arc: Sequence[int], split: str) -> float:
        return common.accuracy(child, ds.batches(split, 256), forward=lambda x: _fw(x, arc))

    def _fw(x: Any, arc: Sequence[int]) -> Any:
        with autocast():
            return child(x, arc)

    def save_state(epoch: int) -> None:
        common.save_checkpoint(ckpt_path, {
            "epoch": epoch, "child": child.state_dict(), "controller": controller.state_dict(),
            "child_opt": child_opt.state_dict(), "ctrl_opt": ctrl_opt.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else None, "rng": common.rng_state(),
            "data_gen": data_gen.get_state(), "rows": rows, "baseline": baseline, "best": best})

    def write_outputs() -> None:
        common.write_csv(os.path.join(out, "metrics.csv"), rows, METRIC_COLUMNS)
        if rows:
            plot_curves(os.path.join(out, "val_accuracy.png"), {sp.name: [[r["val_acc"] for r in rows]]},
                        title=f"ENAS on {sp.name} ({ds.name}), seed {config.seed}")

    if start_epoch >= config.epochs:
        log(f"{out} already holds {start_epoch} finished epoch(s) (--epochs {config.epochs}); nothing to do")
    epoch = start_epoch
    t0 = time.perf_counter()
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - declared dependency
        tqdm = None
    try:
        for epoch in range(start_epoch + 1, config.epochs + 1):
            te = time.perf_counter()
            checked0, check_s0 = checker.checked, checker.seconds
            # (1) the shared child
            child.train()
            controller.eval()
            losses, correct, seen = 0.0, 0, 0
            batches = ds.batches("train", B, shuffle=True, generator=data_gen, drop_last=True)
            bar = tqdm(batches, total=steps_per_epoch, desc=f"epoch {epoch}/{config.epochs}", unit="batch",
                       leave=False, dynamic_ncols=True) if tqdm is not None and config.progress else batches
            lr = config.child_lr
            for step, (x, y) in enumerate(bar):
                if on_step is not None:
                    on_step(epoch, step)
                with torch.no_grad():
                    arc = controller(oracle).arc
                checker(arc)
                lr = common.cosine_lr((epoch - 1) * steps_per_epoch + step, total_steps, config.child_lr,
                                      config.child_lr_min)
                loss, logits = common.sgd_step(child, lambda t, a=arc: child(t, a), x, y, child_opt, lr, scaler,
                                               config.grad_clip, autocast)
                losses += float(loss.detach()) * len(y)
                correct += int((logits.detach().argmax(1) == y).sum())
                seen += len(y)
                if hasattr(bar, "set_postfix"):
                    bar.set_postfix(loss=f"{losses / seen:.3f}", acc=f"{correct / seen:.3f}",
                                    reward=f"{baseline:.3f}" if baseline is not None else "-")
            if hasattr(bar, "close"):
                bar.close()
            # (2) the controller
            child.eval()
            controller.train()
            rewards, ents, skips, slots = [], [], 0, 0
            for _ in range(config.ctrl_steps):
                s = controller(oracle)
                checker(s.arc)
                with torch.no_grad():
                    x, y = ds.sample_batch("val", B, data_gen)
                    with autocast():
                        acc = float((child(x, s.arc).argmax(1) == y).float().mean())
                reward = acc + config.entropy_weight * float(s.entropy.detach())
                baseline = reward if baseline is None else \
                    baseline - (1 - config.baseline_decay) * (baseline - reward)
                loss = -s.log_prob * (reward - baseline) + config.skip_weight * s.skip_penalty
                ctrl_opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(controller.parameters(), 5.0)
                ctrl_opt.step()
                rewards.append(reward)
                ents.append(float(s.entropy.detach()))
                skips += s.skip_count
                slots += s.skip_slots
            # (3) the paper's protocol: best of eval_archs sampled architectures, shared weights
            controller.eval()
            with torch.no_grad():
                cands = [controller(oracle) for _ in range(config.eval_archs)]
            scored = []
            for s in cands:
                checker(s.arc)
                scored.append((arch_accuracy(s.arc, "val"), s.arc))
            val_acc, best_arc = max(scored, key=lambda t: t[0])
            test_acc = arch_accuracy(best_arc, "test")
            if config.ctrl_steps == 0:
                ents = [float(s.entropy) for s in cands]
                skips = sum(s.skip_count for s in cands)
                slots = sum(s.skip_slots for s in cands)
            epoch_s = time.perf_counter() - te
            row = {"epoch": epoch, "child_loss": losses / max(seen, 1), "child_train_acc": correct / max(seen, 1),
                   "val_acc": val_acc, "test_acc": test_acc,
                   "reward": sum(rewards) / len(rewards) if rewards else float("nan"),
                   "baseline": baseline if baseline is not None else float("nan"),
                   "entropy": sum(ents) / len(ents) if ents else float("nan"),
                   "skip_rate": skips / slots if slots else 0.0, "lr": lr,
                   "arcs_checked": checker.checked - checked0, "check_s": checker.seconds - check_s0,
                   "epoch_s": epoch_s, "wall_s": wall_before + (time.perf_counter() - t0)}
            rows.append(row)
            best = {"epoch": epoch, "arc": list(best_arc), "val_acc": val_acc, "test_acc": test_acc}
            save_arch(os.path.join(out, "best_arch.json"), macro, best_arc, C, config.dropout, {
                "space": sp.name, "arc": list(best_arc), "dataset": ds.name, "input": [C, H, W],
                "layers": config.layers, "channels": config.channels, "num_classes": ds.num_classes,
                "epoch": epoch, "seed": config.seed, "val_acc_shared": val_acc, "test_acc_shared": test_acc,
                "dropout": config.dropout})
            save_state(epoch)
            write_outputs()
            log(f"epoch {epoch}/{config.epochs}: loss {row['child_loss']:.3f}, train acc {row['child_train_acc']:.3f}, "
                f"reward {row['reward']:.3f}, entropy {row['entropy']:.2f}, val {val_acc:.4f}, test {test_acc:.4f} "
                f"({epoch_s:.1f}s, {row['arcs_checked']} archs type-checked in {row['check_s']:.2f}s)")
            if on_epoch_end is not None:
                on_epoch_end(epoch)
    except KeyboardInterrupt:
        done = rows[-1]["epoch"] if rows else 0
        raise InputError(f"interrupted in epoch {epoch}: {done} finished epoch(s) are saved in {out}; resume with "
                         f"the same command and --out ({common.resume_command(argv)})") from None
    except Exception as e:
        if common.is_oom(e):
            raise InputError(common.oom_message(dev, f"batch size {B}, {config.layers} layers, {config.channels} "
                                                     f"channels, {len(sp.unique()[0])} ops per layer", out)) from None
        raise
    write_outputs()
    result = {"epochs": rows[-1]["epoch"] if rows else 0, "best": best,
              "val_acc": best["val_acc"] if best else None, "test_acc": best["test_acc"] if best else None,
              "wall_s": rows[-1]["wall_s"] if rows else 0.0,
              "best_arch": os.path.join(out, "best_arch.json"),
              "arcs_type_checked": checker.checked, "type_check_s": checker.seconds}
    run_info["result"] = result
    run_info["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    common.write_json(run_path, run_info)
    return result


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None
