"""Retrain an architecture from scratch: the proper evaluation protocol.

``arts train ARCH_FILE --dataset DATA`` reads a graph file (``best_arch.json`` of a search, or any
graph file of an image classifier), type-checks it on the dataset's actual input size, compiles
it with :func:`arts.graph.compile.to_module` and trains it with the epoch loop a search uses
(:mod:`arts.nas.loop`: SGD, Nesterov momentum, cosine learning rate with restarts, weight decay
2.5e-4).  The validation and test accuracy are recorded every epoch; the result is the final
model's (no selection on the test set, no maximum over epochs).  Outputs in ``--out``: ``metrics.csv``,
``run.json``, ``val_accuracy.png``, ``checkpoint.pt`` (resumable like a search), ``log.txt``.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from arts.errors import InputError

TRAIN_COLUMNS = ["epoch", "train_loss", "train_acc", "val_acc", "test_acc", "lr", "epoch_s", "wall_s"]


@dataclass
class TrainConfig:
    arch: str = "best_arch.json"
    dataset: str = "digits"
    image_size: int | None = None
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.05
    lr_min: float = 0.0005
    lr_t0: int = 10
    lr_tmul: int = 1
    momentum: float = 0.9
    weight_decay: float = 2.5e-4
    augment: str = "auto"
    grad_clip: float = 5.0
    seed: int = 0
    device: str = "auto"
    out: str = "runs/train"
    amp: bool = False
    split_seed: int = 0
    max_train: int | None = None
    threads: int | None = None
    progress: bool = True

    def validate(self) -> None:
        if self.epochs < 1:
            raise InputError(f"must be at least 1, got {self.epochs}", "--epochs")
        if self.batch_size < 2:
            raise InputError(f"must be at least 2 (batch norm), got {self.batch_size}", "--batch-size")
        if self.lr <= 0 or self.lr_min < 0:
            raise InputError("learning rates must be positive", "--lr")
        if self.lr_t0 < 1 or self.lr_tmul < 1:
            raise InputError("the cosine cycle and its multiplier must be at least 1", "--lr-t0")


def load_arch(path: str, channels: int, height: int, width: int, num_classes: int | None = None) -> Any:
    """Load a graph file and check it on ``N, channels, height, width`` (training mode, N >= 2)."""
    from arts.graph.check import typecheck
    from arts.graph.fileformat import load_graph

    G = load_graph(path)
    ins = list(G.graph["inputs"].items())
    if len(ins) != 1:
        raise InputError(f"an image classifier takes one input, the graph has {len(ins)}", path)
    shape = f"N,{channels},{height},{width}"
    rep = typecheck(G, inputs=shape, where=["N >= 2"], mode="train")
    if not rep.ok:
        errs = [d for d in rep.diagnostics if d.severity == "error"] or list(rep.diagnostics)
        why = f"{errs[0].node}: {errs[0].message}" if errs else rep.status
        cx = errs[0].counterexample if errs and errs[0].counterexample else None
        acc = typecheck(G, inputs=f"2,{channels},H,W", mode="train")
        raise InputError(f"the architecture is not well-typed on the dataset's {channels}x{height}x{width} images "
                         f"({why}{'; counterexample: ' + str(cx) if cx else ''}); accepted: {acc.domain}", path)
    return G, rep


def train(config: TrainConfig, on_epoch_end: Callable[[int], None] | None = None,
          argv: Sequence[str] | None = None) -> dict[str, Any]:
    config.validate()
    import torch

    from arts.graph.compile import to_module
    from arts.nas import common
    from arts.nas.data import load_dataset
    from arts.nas.loop import cosine_restarts, guarded, progress_bar, train_epoch
    from arts.nas.plot import plot_curves

    out = config.out
    cfg = dataclasses.asdict(config)
    ckpt_path = os.path.join(out, "checkpoint.pt")
    run_path = os.path.join(out, "run.json")
    if os.path.exists(run_path) and os.path.exists(ckpt_path):
        common.check_resume(common.read_json(run_path).get("config", {}), cfg, out)
    ds = load_dataset(config.dataset, config.image_size, config.split_seed, config.max_train, config.augment)
    G, rep = load_arch(config.arch, ds.channels, ds.height, ds.width)
    dev = common.resolve_device(config.device)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the output folder: {e.strerror}", out) from None
    log = common.Log(os.path.join(out, "log.txt"), config.progress)
    amp = bool(config.amp and dev.type == "cuda")
    with common.threads(common.default_threads(config.threads, dev)):
        torch.manual_seed(config.seed)
        data_gen = torch.Generator().manual_seed(config.seed + 7919)
        model = to_module(G).to(dev)
        ds.to(dev)
        with torch.no_grad():
            probe = model.eval()(ds.prepare(ds.val.x[:2]))
        if probe.ndim != 2 or probe.shape[1] != ds.num_classes:
            raise InputError(f"the network outputs {tuple(probe.shape)}, expected (N, {ds.num_classes}) for "
                             f"{ds.name}", config.arch)
        opt = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum, nesterov=True,
                              weight_decay=config.weight_decay)
        scaler = torch.amp.GradScaler("cuda") if amp else None
        rows: list[dict[str, Any]] = []
        start, wall_before = 0, 0.0
        if os.path.exists(ckpt_path):
            st = common.load_checkpoint(ckpt_path)
            model.load_state_dict(st["model"])
            opt.load_state_dict(st["opt"])
            if scaler is not None and st.get("scaler"):
                scaler.load_state_dict(st["scaler"])
            common.set_rng_state(st["rng"])
            data_gen.set_state(st["data_gen"])
            start, rows = st["epoch"], st["rows"]
            wall_before = float(rows[-1]["wall_s"]) if rows else 0.0
            log(f"resuming {out} after epoch {start}")
        n_params = sum(p.numel() for p in model.parameters())
        info = {"config": cfg, "versions": common.versions(), "seed": config.seed, "device": common.device_name(dev),
                "amp": amp, "arch": os.path.abspath(config.arch), "dataset": ds.describe(), "parameters": n_params,
                "typecheck": {"status": rep.status, "domain": str(rep.domain)},
                "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "result": None}
        common.write_json(run_path, info)
        log(f"retraining {config.arch} ({n_params} parameters) on {ds.describe()}; well-typed: {rep.domain}")
        steps = max(1, len(ds.train) // config.batch_size)

        def ctx() -> Any:
            return torch.autocast(device_type="cuda", dtype=torch.float16) if amp else _Null()

        def evaluate(split: str) -> float:
            model.eval()

            def fw(x: Any) -> Any:
                with ctx():
                    return model(x)
            return common.accuracy(model, ds.batches(split, 256), forward=fw)

        t0 = time.perf_counter()
        state = {"epoch": start}
        def what() -> str:
            return f"batch size {config.batch_size}, {n_params} parameters"

        with guarded(rows, lambda: state["epoch"], out, argv, dev, what):
            for epoch in range(start + 1, config.epochs + 1):
                state["epoch"] = epoch
                te = time.perf_counter()
                model.train()
                lr = cosine_restarts(epoch - 1, config.lr, config.lr_min, config.lr_t0, config.lr_tmul)
                it = ds.batches("train", config.batch_size, shuffle=True, generator=data_gen, drop_last=True)
                bar = progress_bar(steps, f"epoch {epoch}/{config.epochs}", config.progress)
                try:
                    stats = train_epoch(model, it, model, opt, lr, scaler, config.grad_clip, ctx, bar=bar,
                                        device=dev)
                finally:
                    if bar is not None:
                        bar.close()
                val, test = evaluate("val"), evaluate("test")
                row = {"epoch": epoch, "train_loss": stats.mean_loss, "train_acc": stats.accuracy,
                       "val_acc": val, "test_acc": test, "lr": lr, "epoch_s": time.perf_counter() - te,
                       "wall_s": wall_before + time.perf_counter() - t0}
                rows.append(row)
                common.save_checkpoint(ckpt_path, {"epoch": epoch, "model": model.state_dict(), "opt": opt.state_dict(),
                                                   "scaler": scaler.state_dict() if scaler is not None else None,
                                                   "rng": common.rng_state(), "data_gen": data_gen.get_state(),
                                                   "rows": rows})
                common.write_csv(os.path.join(out, "metrics.csv"), rows, TRAIN_COLUMNS)
                name = os.path.basename(config.arch)
                plot_curves(os.path.join(out, "val_accuracy.png"), {name: [[r["val_acc"] for r in rows]]},
                            title=f"retraining {os.path.basename(config.arch)} on {ds.name}",
                            ylabel="validation accuracy")
                log(f"epoch {epoch}/{config.epochs}: loss {row['train_loss']:.3f}, train acc {row['train_acc']:.3f}, "
                    f"val {val:.4f}, test {test:.4f} ({row['epoch_s']:.1f}s)")
                if on_epoch_end is not None:
                    on_epoch_end(epoch)
    last = rows[-1] if rows else {}
    result = {"epochs": last.get("epoch", 0), "val_acc": last.get("val_acc"), "test_acc": last.get("test_acc"),
              "parameters": n_params,
              "wall_s": last.get("wall_s", 0.0)}
    info["result"] = result
    info["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    common.write_json(run_path, info)
    return result


class _Null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None
