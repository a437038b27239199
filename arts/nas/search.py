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

METRIC_COLUMNS = ["epoch", "child_loss", "child_train_acc", "select_acc", "val_acc", "test_acc", "reward", "baseline",
                  "entropy", "skip_rate", "lr", "arcs_checked", "check_s", "child_s", "outside_child_s", "ctrl_s",
                  "eval_s", "epoch_s", "wall_s"]


@dataclass
class SearchConfig:
    """Every knob of a search (the command line's flags).

    The defaults of the method are the authors' (TDeVries/enas_pytorch as used by the paper, and
    melodyguan/enas): weight decay 2.5e-4, cosine learning rate restarting every 10 epochs, op
    logits ``1.5 * tanh``, sigmoid-KL skip penalty (target 0.4, weight 0.8, mean over layers),
    controller Adam lr 1e-3, 50 controller updates per epoch of 20 sampled architectures each, 10
    architectures per evaluation ranked on one 128-image validation batch.  Only the size of the
    child (layers, channels, batch, epochs) is scaled to a CPU."""

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
    lr_t0: int = 10
    lr_tmul: int = 1
    momentum: float = 0.9
    weight_decay: float = 2.5e-4
    grad_clip: float = 5.0
    dropout: float = 0.1
    augment: str = "auto"
    # controller
    ctrl_lr: float = 1e-3
    ctrl_hidden: int = 64
    ctrl_steps: int = 50
    ctrl_aggregate: int = 20
    entropy_weight: float = 1e-4
    baseline_decay: float = 0.99
    skip_target: float = 0.4
    skip_weight: float = 0.8
    tanh_constant: float | None = 1.5
    op_tanh_reduce: float = 1.0
    temperature: float | None = None
    # evaluation (the authors' protocol)
    eval_archs: int = 10
    eval_batch: int = 128
    # type-aware options
    type_level: bool = False
    mask: bool = False
    dedupe: bool = False
    by_type: bool = False
    check_every_arc: bool = False
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
        need(self.lr_t0 >= 1, "--lr-t0", f"must be at least 1, got {self.lr_t0}")
        need(self.lr_tmul >= 1, "--lr-tmul", f"must be at least 1, got {self.lr_tmul}")
        need(self.weight_decay >= 0, "--weight-decay", "must be 0 or more")
        need(self.augment in ("auto", "on", "off"), "--augment", f"must be auto, on or off, got {self.augment!r}")
        need(self.ctrl_lr > 0, "--ctrl-lr", "must be positive")
        need(self.ctrl_hidden >= 1, "--ctrl-hidden", "must be positive")
        need(self.ctrl_steps >= 0, "--ctrl-steps", "must be 0 or more")
        need(self.ctrl_aggregate >= 1, "--ctrl-aggregate", "must be at least 1")
        need(self.eval_archs >= 1, "--eval-archs", "must be at least 1")
        need(self.eval_batch >= 1, "--eval-batch", "must be at least 1")
        need(0 < self.skip_target < 1, "--skip-target", "must lie strictly between 0 and 1")
        need(0 <= self.baseline_decay < 1, "--baseline-decay", "must lie in [0, 1)")
        need(0 <= self.dropout < 1, "--dropout", "must lie in [0, 1)")
        need(self.op_tanh_reduce > 0, "--op-tanh-reduce", "must be positive")
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
    _import_torch()
    from arts.nas import common
    from arts.nas.data import load_dataset
    from arts.nas.spaces import all_equivalent, check_image_size, check_space, prepare

    out = config.out
    cfg = config.to_json()
    ckpt_path = os.path.join(out, "checkpoint.pt")
    run_path = os.path.join(out, "run.json")
    if os.path.exists(run_path) and os.path.exists(ckpt_path):
        common.check_resume(common.read_json(run_path).get("config", {}), cfg, out)
    # -- the space, checked before a weight is allocated (and before --out is created) --
    sp = prepare(config.space, config.dedupe, config.by_type)
    proofs = check_space(sp, allow_mixed=config.mask)
    mixed = not all_equivalent(proofs)
    ds = load_dataset(config.dataset, config.image_size, config.split_seed, config.max_train, config.augment)
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
    log(ds.describe() + ("; random crop + flip on training and validation batches" if ds.augment else ""))
    amp = bool(config.amp and dev.type == "cuda")
    if config.amp and not amp:
        log("--amp has no effect on cpu; running in float32")
    run = _Run(config, cfg, sp, macro, ds, dev, amp, mixed, log, argv)
    with common.threads(common.default_threads(config.threads, dev)):
        return run.go(on_epoch_end, on_step)


class _Run:
    """One search: the shared child, the controller, their optimisers and the per-epoch phases
    (child pass, controller updates, evaluation), with checkpoints after every epoch."""

    def __init__(self, config: SearchConfig, cfg: dict[str, Any], sp: Any, macro: Any, ds: Any, dev: Any, amp: bool,
                 mixed: bool, log: Any, argv: Any) -> None:
        import torch

        from arts.nas.child import SharedChild
        from arts.nas.controller import Controller
        from arts.nas.spaces import ShapeOracle

        self.config, self.cfg, self.sp, self.macro, self.ds, self.dev = config, cfg, sp, macro, ds, dev
        self.amp, self.mixed, self.log, self.argv = amp, mixed, log, argv
        self.out = config.out
        self.ckpt_path = os.path.join(self.out, "checkpoint.pt")
        self.run_path = os.path.join(self.out, "run.json")
        torch.manual_seed(config.seed)
        self.data_gen = torch.Generator().manual_seed(config.seed + 7919)
        ds.to(dev)
        self.child = SharedChild(macro, ds.height, ds.width, dropout=config.dropout).to(dev)
        self.types = sp.types()
        self.controller = Controller(len(sp), config.layers, config.ctrl_hidden, types=self.types,
                                     type_level=config.type_level, tanh_constant=config.tanh_constant,
                                     op_tanh_reduce=config.op_tanh_reduce, temperature=config.temperature,
                                     skip_target=config.skip_target)
        # masking a space proven for every architecture would allow every choice: no oracle then
        self.oracle = ShapeOracle(macro, ds.channels, ds.height, ds.width) if config.mask and mixed else None
        self.child_opt = torch.optim.SGD(self.child.parameters(), lr=config.child_lr, momentum=config.momentum,
                                         nesterov=True, weight_decay=config.weight_decay)
        self.ctrl_opt = torch.optim.Adam(self.controller.parameters(), lr=config.ctrl_lr, betas=(0.0, 0.999),
                                         eps=1e-3)
        self.scaler = torch.amp.GradScaler("cuda") if amp else None
        # every architecture of a space proven well-typed on this input needs no check of its own;
        # spaces of several types (compatibility masking) are checked per architecture, cached
        self.checker = ArcChecker(macro, ds.channels, ds.height, ds.width) \
            if (mixed or config.check_every_arc) else None
        self.rows: list[dict[str, Any]] = []
        self.baseline: float | None = None
        self.best: dict[str, Any] | None = None
        self.candidates: list[dict[str, Any]] = []

    # -- helpers --
    def autocast(self) -> Any:
        import torch

        return torch.autocast(device_type="cuda", dtype=torch.float16) if self.amp else _null()

    def check(self, arc: Sequence[int]) -> None:
        if self.checker is not None:
            self.checker(arc)

    def accuracy(self, arc: Sequence[int], split: str, augment: bool) -> float:
        import torch

        correct = total = 0
        with torch.no_grad(), self.autocast():
            for x, y in self.ds.batches(split, 256, generator=self.data_gen, augment=augment):
                correct += int((self.child(x, arc).argmax(1) == y).sum())
                total += int(y.numel())
        return correct / max(total, 1)

    def save_state(self, epoch: int) -> None:
        from arts.nas import common

        common.save_checkpoint(self.ckpt_path, {
            "epoch": epoch, "child": self.child.state_dict(), "controller": self.controller.state_dict(),
            "child_opt": self.child_opt.state_dict(), "ctrl_opt": self.ctrl_opt.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None, "rng": common.rng_state(),
            "data_gen": self.data_gen.get_state(), "rows": self.rows, "baseline": self.baseline, "best": self.best,
            "candidates": self.candidates})

    def resume(self) -> int:
        from arts.nas import common

        st = common.load_checkpoint(self.ckpt_path)
        try:
            self.child.load_state_dict(st["child"])
            self.controller.load_state_dict(st["controller"])
        except RuntimeError:
            raise InputError("the checkpoint was written by another version of the search network; delete it "
                             "to start over", self.ckpt_path) from None
        self.child_opt.load_state_dict(st["child_opt"])
        self.ctrl_opt.load_state_dict(st["ctrl_opt"])
        if self.scaler is not None and st.get("scaler"):
            self.scaler.load_state_dict(st["scaler"])
        common.set_rng_state(st["rng"])
        self.data_gen.set_state(st["data_gen"])
        self.rows, self.baseline, self.best = st["rows"], st["baseline"], st["best"]
        self.candidates = st.get("candidates", [])
        return int(st["epoch"])

    def write_outputs(self) -> None:
        from arts.nas import common
        from arts.nas.plot import plot_curves

        common.write_csv(os.path.join(self.out, "metrics.csv"), self.rows, METRIC_COLUMNS)
        if self.rows:
            plot_curves(os.path.join(self.out, "val_accuracy.png"), {self.sp.name: [[r["val_acc"] for r in self.rows]]},
                        title=f"ENAS on {self.sp.name} ({self.ds.name}), seed {self.config.seed}")

    # -- the three phases of an epoch --
    def child_phase(self, epoch: int, lr: float, on_step: Any) -> Any:
        from arts.nas.loop import progress_bar, train_epoch

        cfg = self.config
        self.child.train()
        self.controller.eval()
        steps = max(1, len(self.ds.train) // cfg.batch_size)
        current: list[list[int]] = []
        queue: list[list[int]] = []

        def next_arc(step: int) -> None:
            if on_step is not None:
                on_step(epoch, step)
            import torch

            if not queue:  # the controller is fixed during this pass: sample its architectures in batches
                with torch.no_grad():
                    queue.extend(s.arc for s in self.controller.sample(min(64, steps), self.oracle))
            arc = queue.pop(0)
            self.check(arc)
            current[:] = [arc]

        batches = self.ds.batches("train", cfg.batch_size, shuffle=True, generator=self.data_gen, drop_last=True)
        bar = progress_bar(steps, f"epoch {epoch}/{cfg.epochs}", cfg.progress)
        try:
            return train_epoch(self.child, batches, lambda x: self.child(x, current[0]), self.child_opt, lr,
                               self.scaler, cfg.grad_clip, self.autocast, before_step=next_arc, bar=bar,
                               device=self.dev)
        finally:
            if bar is not None:
                bar.close()

    def controller_phase(self) -> tuple[list[float], list[float], int, int]:
        """``ctrl_steps`` Adam updates, each averaging the REINFORCE gradients of ``ctrl_aggregate``
        architectures (sampled in one batch), each rewarded with its shared-weight accuracy on a
        validation batch (augmented as the authors' validation loader)."""
        import torch

        cfg = self.config
        self.child.eval()
        self.controller.train()
        rewards: list[float] = []
        ents: list[float] = []
        skips = slots = 0
        for _ in range(cfg.ctrl_steps):
            samples = self.controller.sample(cfg.ctrl_aggregate, self.oracle)
            loss = torch.zeros((), device=self.g_dev)
            for s in samples:
                self.check(s.arc)
                x, y = self.ds.sample_batch("val", cfg.batch_size, self.data_gen, augment=True)
                with torch.no_grad(), self.autocast():
                    acc = float((self.child(x, s.arc).argmax(1) == y).float().mean())
                ent = float(s.entropy.detach())
                reward = acc + cfg.entropy_weight * ent
                self.baseline = reward if self.baseline is None else \
                    self.baseline - (1 - cfg.baseline_decay) * (self.baseline - reward)
                loss = loss + (-s.log_prob * (reward - self.baseline) + cfg.skip_weight * s.skip_penalty)
                rewards.append(reward)
                ents.append(ent)
                skips += s.skip_count
                slots += s.skip_slots
            self.ctrl_opt.zero_grad(set_to_none=True)
            (loss / len(samples)).backward()
            torch.nn.utils.clip_grad_norm_(self.controller.parameters(), cfg.grad_clip)
            self.ctrl_opt.step()
        return rewards, ents, skips, slots

    @property
    def g_dev(self) -> Any:
        return self.controller.g_emb.device

    def eval_phase(self) -> dict[str, Any]:
        """The authors' protocol: ``eval_archs`` sampled architectures ranked on one validation
        batch of ``eval_batch`` images; the winner scored with the shared weights on the whole
        validation set (augmented, as their validation loader) and on the test set.  The reported
        validation accuracy is the winner's on the whole set, not the maximum over the batch it
        was selected on (that one is ``select_acc``)."""
        import torch

        cfg = self.config
        self.child.eval()
        self.controller.eval()
        with torch.no_grad():
            cands = self.controller.sample(cfg.eval_archs, self.oracle)
        x, y = self.ds.sample_batch("val", cfg.eval_batch, self.data_gen, augment=True)
        scored: list[dict[str, Any]] = []
        for s in cands:
            self.check(s.arc)
            with torch.no_grad(), self.autocast():
                acc = float((self.child(x, s.arc).argmax(1) == y).float().mean())
            scored.append({"arc": list(s.arc), "select_acc": acc})
        order = sorted(range(len(scored)), key=lambda k: -scored[k]["select_acc"])
        self.candidates = [scored[k] for k in order]
        win = self.candidates[0]
        return {"cands": cands, "arc": win["arc"], "select_acc": win["select_acc"],
                "val_acc": self.accuracy(win["arc"], "val", augment=True),
                "test_acc": self.accuracy(win["arc"], "test", augment=False)}

    # -- the run --
    def go(self, on_epoch_end: Any, on_step: Any) -> dict[str, Any]:
        from arts.nas import common
        from arts.nas.loop import cosine_restarts, guarded

        cfg, sp, ds = self.config, self.sp, self.ds
        start_epoch = 0
        resumed = os.path.exists(self.ckpt_path)
        if resumed:
            start_epoch = self.resume()
            self.log(f"resuming {self.out} after epoch {start_epoch}")
        wall_before = float(self.rows[-1]["wall_s"]) if self.rows else 0.0
        import torch

        run_info = {"config": self.cfg, "versions": common.versions(), "seed": cfg.seed,
                    "device": common.device_name(self.dev), "threads": torch.get_num_threads(), "amp": self.amp,
                    "space": {"name": sp.name, "choices": len(sp), "distinct": len(sp.unique()[0]),
                              "types": self.types, "mixed_types": self.mixed, "ops": [str(o) for o in sp.ops]},
                    "controller": {"op_logit_bound": self.controller.op_bound(), "skip_penalty":
                                   "sigmoid-KL towards skip_target, mean over layers"},
                    "per_arc_type_check": self.checker is not None,
                    "dataset": ds.describe(), "augment": ds.augment, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "resumed_after_epoch": start_epoch if resumed else None,
                    "parameters_shared": sum(p.numel() for p in self.child.parameters()), "result": None}
        if resumed and os.path.exists(self.run_path):
            run_info["started"] = common.read_json(self.run_path).get("started", run_info["started"])
        common.write_json(self.run_path, run_info)
        if start_epoch >= cfg.epochs:
            self.log(f"{self.out} already holds {start_epoch} finished epoch(s) (--epochs {cfg.epochs}); nothing to do")
        C, H, W = ds.channels, ds.height, ds.width
        t0 = time.perf_counter()
        state = {"epoch": start_epoch}
        def what() -> str:
            return (f"batch size {cfg.batch_size}, {cfg.layers} layers, {cfg.channels} channels, "
                    f"{len(sp)} branches per layer")

        with guarded(self.rows, lambda: state["epoch"], self.out, self.argv, self.dev, what):
            for epoch in range(start_epoch + 1, cfg.epochs + 1):
                state["epoch"] = epoch
                te = time.perf_counter()
                checked0 = self.checker.checked if self.checker else 0
                check_s0 = self.checker.seconds if self.checker else 0.0
                lr = cosine_restarts(epoch - 1, cfg.child_lr, cfg.child_lr_min, cfg.lr_t0, cfg.lr_tmul)
                st = self.child_phase(epoch, lr, on_step)
                tc = time.perf_counter()
                rewards, ents, skips, slots = self.controller_phase()
                tv = time.perf_counter()
                ev = self.eval_phase()
                if cfg.ctrl_steps == 0:
                    ents = [float(s.entropy) for s in ev["cands"]]
                    skips = sum(s.skip_count for s in ev["cands"])
                    slots = sum(s.skip_slots for s in ev["cands"])
                t_end = time.perf_counter()
                row = {"epoch": epoch, "child_loss": st.mean_loss, "child_train_acc": st.accuracy,
                       "select_acc": ev["select_acc"], "val_acc": ev["val_acc"], "test_acc": ev["test_acc"],
                       "reward": sum(rewards) / len(rewards) if rewards else float("nan"),
                       "baseline": self.baseline if self.baseline is not None else float("nan"),
                       "entropy": sum(ents) / len(ents) if ents else float("nan"),
                       "skip_rate": skips / slots if slots else 0.0, "lr": lr,
                       "arcs_checked": (self.checker.checked - checked0) if self.checker else 0,
                       "check_s": (self.checker.seconds - check_s0) if self.checker else 0.0,
                       "child_s": st.model_s, "outside_child_s": st.other_s, "ctrl_s": tv - tc, "eval_s": t_end - tv,
                       "epoch_s": t_end - te, "wall_s": wall_before + (t_end - t0)}
                self.rows.append(row)
                best_arc = ev["arc"]
                self.best = {"epoch": epoch, "arc": list(best_arc), "select_acc": ev["select_acc"],
                             "val_acc": ev["val_acc"], "test_acc": ev["test_acc"]}
                save_arch(os.path.join(self.out, "best_arch.json"), self.macro, best_arc, C, cfg.dropout, {
                    "space": sp.name, "arc": list(best_arc), "dataset": ds.name, "input": [C, H, W],
                    "layers": cfg.layers, "channels": cfg.channels, "num_classes": ds.num_classes,
                    "epoch": epoch, "seed": cfg.seed, "select_acc_shared": ev["select_acc"],
                    "val_acc_shared": ev["val_acc"], "test_acc_shared": ev["test_acc"], "dropout": cfg.dropout})
                common.write_json(os.path.join(self.out, "candidates.json"),
                                  {"epoch": epoch, "ranked_on": f"one validation batch of {cfg.eval_batch} images",
                                   "candidates": self.candidates})
                self.save_state(epoch)
                self.write_outputs()
                self.log(f"epoch {epoch}/{cfg.epochs}: loss {row['child_loss']:.3f}, train acc "
                         f"{row['child_train_acc']:.3f}, reward {row['reward']:.3f}, entropy {row['entropy']:.2f}, "
                         f"val {ev['val_acc']:.4f}, test {ev['test_acc']:.4f} ({row['epoch_s']:.1f}s: child "
                         f"{st.model_s:.1f}s + {st.other_s:.1f}s outside it, controller {row['ctrl_s']:.1f}s, "
                         f"evaluation {row['eval_s']:.1f}s)")
                if on_epoch_end is not None:
                    on_epoch_end(epoch)
        self.write_outputs()
        rows, best = self.rows, self.best
        result = {"epochs": rows[-1]["epoch"] if rows else 0, "best": best,
                  "select_acc": best["select_acc"] if best else None,
                  "val_acc": best["val_acc"] if best else None, "test_acc": best["test_acc"] if best else None,
                  "wall_s": rows[-1]["wall_s"] if rows else 0.0,
                  "best_arch": os.path.join(self.out, "best_arch.json"),
                  "candidates": os.path.join(self.out, "candidates.json"),
                  "arcs_type_checked": self.checker.checked if self.checker else 0,
                  "type_check_s": self.checker.seconds if self.checker else 0.0}
        run_info["result"] = result
        run_info["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        common.write_json(self.run_path, run_info)
        return result


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None
