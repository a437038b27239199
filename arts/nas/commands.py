"""The verbs ``arts spaces``, ``arts search``, ``arts train`` and ``arts experiment``.

:func:`register` adds them to the main parser's sub-parsers; each handler takes the parsed
arguments and returns the exit status (0).  User errors are raised as
:class:`arts.errors.InputError` (the main command line prints them on one line and exits 2).
torch is imported inside the handlers only, so ``arts --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from arts.errors import InputError

_DEFAULTS_NOTE = ("the method's defaults are the authors' (ENAS, Pham et al. 2018, as in TDeVries/enas_pytorch); "
                  "only the child's size is scaled to a CPU: 6 layers (ENAS: 12), 16 channels (36), batch 64 (128), "
                  "10 epochs (310)")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    return v


def _opt_float(text: str) -> float | None:
    if text.lower() in ("none", "off"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None


def _add_run_args(p: argparse.ArgumentParser, search: bool = True) -> None:
    p.add_argument("--dataset", default="digits", metavar="DATA",
                   help="digits[:SIZE] (embedded, default), cifar10:DIR, synthetic[:SIZE]")
    p.add_argument("--image-size", type=_positive_int, default=None, metavar="N",
                   help="image size for digits/synthetic (default 16)")
    p.add_argument("--epochs", type=_positive_int, default=10, metavar="E", help="epochs (default 10)")
    if search:
        p.add_argument("--layers", type=_positive_int, default=6, metavar="L", help="macro layers (default 6)")
        p.add_argument("--channels", type=_positive_int, default=16, metavar="C",
                       help="channels per layer, even (default 16)")
    p.add_argument("--batch-size", type=_positive_int, default=64, metavar="B", help="batch size (default 64)")
    p.add_argument("--device", default="auto", metavar="auto|cpu|cuda", help="where to train (default auto)")
    p.add_argument("--amp", action="store_true", help="automatic mixed precision (float16) on cuda")
    p.add_argument("--lr", type=float, default=0.05, help="SGD learning rate, cosine schedule (default 0.05)")
    p.add_argument("--lr-min", type=float, default=0.0005, help="final learning rate (default 0.0005)")
    p.add_argument("--momentum", type=float, default=0.9, help="Nesterov momentum (default 0.9)")
    p.add_argument("--lr-t0", type=_positive_int, default=10, metavar="T",
                   help="cosine cycle length in epochs, restarting (default 10)")
    p.add_argument("--lr-tmul", type=_positive_int, default=1, metavar="M",
                   help="cycle length multiplier: 1 restarts every T epochs (default), 2 is ENAS's 10, 20, 40, ...")
    p.add_argument("--weight-decay", type=float, default=2.5e-4, help="weight decay (default 2.5e-4)")
    p.add_argument("--augment", default="auto", choices=["auto", "on", "off"],
                   help="random crop + flip per image (default auto: on for cifar10, off for digits/synthetic)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the train/val/test split (default 0)")
    p.add_argument("--max-train", type=_positive_int, default=None, metavar="N", help="use at most N training images")
    p.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                   help="torch CPU threads (default: a quarter of the cores, 1 to 4)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar or per-epoch lines")
    if search:
        g = p.add_argument_group("controller and shared weights (ENAS hyper-parameters)")
        g.add_argument("--grad-clip", type=float, default=5.0, help="child gradient norm bound (default 5)")
        g.add_argument("--dropout", type=float, default=0.1, help="dropout before the classifier (default 0.1)")
        g.add_argument("--ctrl-lr", type=float, default=1e-3, help="controller Adam learning rate (default 1e-3)")
        g.add_argument("--ctrl-hidden", type=_positive_int, default=64, help="controller LSTM size (default 64)")
        g.add_argument("--ctrl-steps", type=int, default=50, help="controller updates per epoch (default 50)")
        g.add_argument("--ctrl-aggregate", type=_positive_int, default=20,
                       help="sampled architectures averaged per controller update (default 20)")
        g.add_argument("--entropy-weight", type=float, default=1e-4, help="entropy bonus in the reward (default 1e-4)")
        g.add_argument("--baseline-decay", type=float, default=0.99, help="reward baseline decay (default 0.99)")
        g.add_argument("--skip-target", type=float, default=0.4, help="target skip rate (default 0.4)")
        g.add_argument("--skip-weight", type=float, default=0.8, help="weight of the skip KL penalty (default 0.8)")
        g.add_argument("--tanh-constant", type=_opt_float, default=1.5, help="logit bound (default 1.5; none)")
        g.add_argument("--op-tanh-reduce", type=float, default=1.0,
                       help="op logits are bounded by tanh-constant / op-tanh-reduce (default 1: 1.5 tanh)")
        g.add_argument("--temperature", type=_opt_float, default=None, help="softmax temperature (default none)")
        g.add_argument("--eval-archs", type=_positive_int, default=10,
                       help="architectures sampled for the per-epoch evaluation (default 10)")
        g.add_argument("--eval-batch", type=_positive_int, default=128,
                       help="validation images they are ranked on (default 128)")
        t = p.add_argument_group("type-aware options")
        t.add_argument("--type-level", action="store_true",
                       help="controller samples a type (Def. 2 class) first, then an op within it")
        t.add_argument("--mask", action="store_true",
                       help="compatibility masking: allow ops of other types; the controller only samples "
                            "well-typed networks")
        t.add_argument("--dedupe", action="store_true", help="remove completely-equivalent repeats of ops")
        t.add_argument("--by-type", action="store_true", help="order the choices by type")
        t.add_argument("--check-every-arc", action="store_true",
                       help="type-check every sampled architecture even when the space is proven for all of them")


def _search_config(args: argparse.Namespace, space: str, seed: int, out: str) -> Any:
    from arts.nas.search import SearchConfig

    return SearchConfig(
        space=space, dataset=args.dataset, image_size=args.image_size, epochs=args.epochs, layers=args.layers,
        channels=args.channels, batch_size=args.batch_size, seed=seed, device=args.device, out=out,
        child_lr=args.lr, child_lr_min=args.lr_min, lr_t0=args.lr_t0, lr_tmul=args.lr_tmul, momentum=args.momentum,
        weight_decay=args.weight_decay, augment=args.augment, ctrl_aggregate=args.ctrl_aggregate,
        eval_batch=args.eval_batch, check_every_arc=args.check_every_arc,
        grad_clip=args.grad_clip, dropout=args.dropout, ctrl_lr=args.ctrl_lr, ctrl_hidden=args.ctrl_hidden,
        ctrl_steps=args.ctrl_steps, entropy_weight=args.entropy_weight, baseline_decay=args.baseline_decay,
        skip_target=args.skip_target, skip_weight=args.skip_weight, tanh_constant=args.tanh_constant,
        op_tanh_reduce=args.op_tanh_reduce, temperature=args.temperature, eval_archs=args.eval_archs,
        type_level=args.type_level, mask=args.mask, dedupe=args.dedupe, by_type=args.by_type, amp=args.amp,
        split_seed=args.split_seed, max_train=args.max_train, threads=args.threads,
        progress=not args.no_progress)


# ---- arts spaces ------------------------------------------------------------------------------

def configure_spaces(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", metavar="NAME", help="space codes or space files (default: every named space)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--dedupe", action="store_true", help="remove completely-equivalent repeats")
    p.add_argument("--by-type", action="store_true", help="order ops by type")
    p.add_argument("--check", action="store_true",
                   help="prove every op type-equivalent to its seed (exit 1 if one is not)")


def run_spaces(args: argparse.Namespace) -> int:
    from arts.nas.spaces import check_space, known_spaces, prepare

    names = args.names or known_spaces()
    spaces = [prepare(n, args.dedupe, args.by_type) for n in names]
    status = 0
    checks: dict[str, str] = {}
    if args.check:
        for sp in spaces:
            proofs = check_space(sp, allow_mixed=True)
            bad = [p for p in proofs if not p.verdict.is_proven]
            if bad:
                status = 1
                p = bad[0]
                cx = p.verdict.counterexample
                checks[sp.name] = (f"{len(bad)} op(s) not type-equivalent to their seed, e.g. {p.op} vs {p.seed}: "
                                   f"{p.verdict.status.value}" + (f" at {_point(cx)}" if cx else ""))
            else:
                checks[sp.name] = f"all {len(proofs)} type-equivalences proven"
    if args.json:
        data = [sp.to_json() for sp in spaces]
        if args.check:
            for d, sp in zip(data, spaces):
                d["check"] = checks[sp.name]
        sys.stdout.write(_spaces_json(data))
        return status
    detail = bool(args.names)
    for sp in spaces:
        distinct, _ = sp.unique()
        types = sp.types()
        notes = f" ({', '.join(sp.notes)})" if sp.notes else ""
        print(f"{sp.name}: {len(sp)} choices, {len(distinct)} distinct ops, {len(types)} type(s) -- "
              f"{sp.description}{notes}")
        if sp.name in checks:
            print(f"  check: {checks[sp.name]}")
        if detail:
            for t, members in enumerate(types):
                if len(types) > 1:
                    print(f"  type {t}:")
                shown: dict[str, int] = {}
                for i in members:
                    shown[str(sp.ops[i])] = shown.get(str(sp.ops[i]), 0) + 1
                for s, n in shown.items():
                    print(f"    {s}" + (f"  x{n}" if n > 1 else ""))
    return status


def _spaces_json(data: list[dict[str, Any]]) -> str:
    """Indented JSON with every op object and every type on one line."""
    def one(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False)

    parts = []
    for d in data:
        lines = [f'    "{k}": {one(v)}' for k, v in d.items() if k not in ("ops", "types")]
        ops = ",\n".join(f"      {one(o)}" for o in d["ops"])
        types = ",\n".join(f"      {one(t)}" for t in d["types"])
        lines.insert(1, f'    "ops": [\n{ops}\n    ]')
        lines.insert(2, f'    "types": [\n{types}\n    ]')
        parts.append("  {\n" + ",\n".join(lines) + "\n  }")
    return "[\n" + ",\n".join(parts) + "\n]\n" if parts else "[]\n"


def _point(p: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in p.items())


# ---- arts search ------------------------------------------------------------------------------

def configure_search(p: argparse.ArgumentParser) -> None:
    p.add_argument("--space", required=True, metavar="NAME", help="space code (arts spaces) or a space file")
    _add_run_args(p)
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default runs/SPACE-seedS)")
    p.epilog = _DEFAULTS_NOTE


def run_search(args: argparse.Namespace) -> int:
    from arts.nas.search import search

    out = args.out or os.path.join("runs", f"{_slug(args.space)}-seed{args.seed}")
    cfg = _search_config(args, args.space, args.seed, out)
    r = search(cfg, argv=sys.argv[1:])
    b = r["best"]
    if b is not None:
        print(f"best architecture (epoch {b['epoch']}): {','.join(map(str, b['arc']))}")
        print(f"shared weights: val acc {b['val_acc']:.4f}, test acc {b['test_acc']:.4f} "
              f"(best of {cfg.eval_archs} sampled)")
    print(f"{r['arcs_type_checked']} architectures type-checked in {r['type_check_s']:.1f}s; "
          f"wall {r['wall_s'] / 60:.1f} min")
    print(f"wrote {out}/: metrics.csv, best_arch.json, val_accuracy.png, run.json, checkpoint.pt")
    print(f"retrain from scratch: arts train {out}/best_arch.json --dataset {cfg.dataset}")
    return 0


def _slug(name: str) -> str:
    from arts.nas.experiment import _slug as s

    return s(os.path.splitext(os.path.basename(name))[0] if name.endswith((".json", ".yaml", ".yml")) else name)


# ---- arts train -------------------------------------------------------------------------------

def configure_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("arch", metavar="ARCH_FILE", help="graph file of the architecture (e.g. best_arch.json)")
    _add_run_args(p, search=False)
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default=None, metavar="DIR", help="output folder (default: ARCH_FILE's folder/retrain)")


def run_train(args: argparse.Namespace) -> int:
    from arts.nas.train import TrainConfig, train

    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.arch)), "retrain")
    cfg = TrainConfig(arch=args.arch, dataset=args.dataset, image_size=args.image_size, epochs=args.epochs,
                      batch_size=args.batch_size, lr=args.lr, lr_min=args.lr_min, lr_t0=args.lr_t0,
                      lr_tmul=args.lr_tmul, momentum=args.momentum, weight_decay=args.weight_decay,
                      augment=args.augment, seed=args.seed, device=args.device, out=out, amp=args.amp,
                      split_seed=args.split_seed, max_train=args.max_train, threads=args.threads,
                      progress=not args.no_progress)
    r = train(cfg, argv=sys.argv[1:])
    print(f"retrained {args.arch} for {r['epochs']} epochs ({r['parameters']} parameters): "
          f"val acc {r['val_acc']:.4f}, test acc {r['test_acc']:.4f}")
    print(f"wrote {out}/: metrics.csv, run.json, val_accuracy.png, checkpoint.pt")
    return 0


# ---- arts experiment --------------------------------------------------------------------------

def configure_experiment(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spaces", required=True, metavar="A,B,...", help="space codes or files, comma-separated")
    p.add_argument("--seeds", type=_positive_int, required=True, metavar="N", help="seeds per space")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--jobs", type=_positive_int, default=1, metavar="J", help="runs in parallel (default 1)")
    p.add_argument("--retrain-epochs", type=int, default=0, metavar="R",
                   help="retrain each best architecture from scratch for R epochs (default 0: paper protocol only)")
    p.add_argument("--retrain-top", type=_positive_int, default=1, metavar="K",
                   help="with --retrain-epochs: retrain the K best candidates of the last evaluation and report "
                        "the test accuracy of the one best on validation (default 1)")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run each search as a Ray task: on the cluster at ADDRESS (HOST:PORT or auto), or without "
                        "ADDRESS on a local Ray instance")
    p.add_argument("--out", default=os.path.join("runs", "experiment"), metavar="DIR",
                   help="output folder (default runs/experiment)")
    _add_run_args(p)
    p.epilog = _DEFAULTS_NOTE


def run_experiment(args: argparse.Namespace) -> int:
    from arts.nas.experiment import experiment

    spaces = [s.strip() for s in args.spaces.split(",") if s.strip()]
    base = _search_config(args, spaces[0] if spaces else "S0", args.seed, args.out)
    base.progress = False
    def echo(line: str) -> None:
        if not args.no_progress:
            print(line, file=sys.stderr, flush=True)

    summary = experiment(spaces, args.seeds, base, args.out, jobs=args.jobs, retrain_epochs=args.retrain_epochs,
                         first_seed=args.seed, threads=args.threads, ray=args.ray, retrain_top=args.retrain_top,
                         echo=echo)
    print(summary["table"])
    print(f"wrote {args.out}/: table.md, results.json, val_accuracy.png (and one folder per run)")
    if summary["errors"]:
        raise InputError(f"{len(summary['errors'])} run(s) failed: " + "; ".join(summary["errors"][:3]))
    return 0


# ---- registration -----------------------------------------------------------------------------

VERBS: list[tuple[str, str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = [
    ("spaces", "list ENAS search spaces (the paper's S0, 3a-3G, T1-*, or files) and their types",
     configure_spaces, run_spaces),
    ("search", "ENAS macro search with weight sharing on a type-checked search space", configure_search, run_search),
    ("train", "retrain an architecture (graph file) from scratch and report its accuracy", configure_train, run_train),
    ("experiment", "run searches over spaces x seeds; table of mean ± std and a combined plot",
     configure_experiment, run_experiment),
]


def register(subparsers: Any) -> None:
    """Add ``spaces``, ``search``, ``train`` and ``experiment`` to ``subparsers`` (from
    ``parser.add_subparsers()``); each sub-parser gets ``func`` (and ``_run``, the name the arts
    command line dispatches on) set to its handler."""
    for name, help_text, configure, handler in VERBS:
        p = subparsers.add_parser(name, help=help_text, description=help_text)
        configure(p)
        p.set_defaults(func=handler, _run=handler)


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m arts.nas.commands``) until the main CLI registers the verbs."""
    parser = argparse.ArgumentParser(prog="arts")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    register(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as e:
        print(f"arts: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
