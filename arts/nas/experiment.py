"""A grid of searches (spaces x seeds), each optionally followed by retraining its best
architecture from scratch; a table of mean +- std like the paper's Table 2 and a combined plot
like its Figure 3.

Runs go to ``OUT/<space>/seed<S>/`` (the search) and ``OUT/<space>/seed<S>/retrain/`` (the proper
protocol).  They run in separate processes, at most ``jobs`` at a time, each with
``max(1, cpus // jobs)`` torch threads unless ``--threads`` says otherwise.  Every run checkpoints
every epoch, so rerunning the same command after an interruption resumes the unfinished runs and
skips the finished ones.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from arts.errors import InputError
from arts.nas.search import SearchConfig


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "space"


def plan(spaces: Sequence[str], seeds: int, base: SearchConfig, out: str, first_seed: int = 0) -> list[dict[str, Any]]:
    """The runs of the grid, each a search config (as a dict) and its folder."""
    from arts.nas.spaces import get_space

    if seeds < 1:
        raise InputError(f"must be at least 1, got {seeds}", "--seeds")
    if not spaces:
        raise InputError("give at least one space: --spaces S0,3E,...", "--spaces")
    jobs = []
    labels: dict[str, str] = {}
    for name in spaces:
        sp = get_space(name)  # unknown codes and bad files fail here, before anything runs
        label = sp.name
        if label in labels.values():
            raise InputError(f"space {name!r} appears twice in --spaces", "--spaces")
        labels[name] = label
        for s in range(first_seed, first_seed + seeds):
            d = os.path.join(out, _slug(label), f"seed{s}")
            cfg = dataclasses.replace(base, space=name, seed=s, out=d, progress=False)
            jobs.append({"label": label, "seed": s, "dir": d, "search": dataclasses.asdict(cfg)})
    return jobs


def run_one(job: dict[str, Any], retrain_epochs: int, threads: int | None) -> dict[str, Any]:
    """One search (+ retraining); in a worker process.  Errors come back as a message."""
    import torch

    from arts.nas.search import search
    from arts.nas.train import TrainConfig, train

    if threads:
        torch.set_num_threads(threads)
    cfg = SearchConfig(**job["search"])
    res: dict[str, Any] = {"label": job["label"], "seed": job["seed"], "dir": job["dir"]}
    try:
        r = search(cfg, argv=[])
        res["search"] = r
        if retrain_epochs > 0:
            tc = TrainConfig(arch=r["best_arch"], dataset=cfg.dataset, image_size=cfg.image_size,
                             epochs=retrain_epochs, batch_size=cfg.batch_size, lr=cfg.child_lr,
                             lr_min=cfg.child_lr_min, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                             seed=cfg.seed, device=cfg.device, out=os.path.join(job["dir"], "retrain"), amp=cfg.amp,
                             split_seed=cfg.split_seed, max_train=cfg.max_train, progress=False)
            res["retrain"] = train(tc, argv=[])
    except InputError as e:
        res["error"] = str(e)
    except KeyboardInterrupt:
        res["error"] = "interrupted"
    return res


def _ms(values: Sequence[float | None], scale: float = 100.0, digits: int = 2) -> str:
    v = [x * scale for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not v:
        return "-"
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    return f"{statistics.mean(v):.{digits}f} ± {statistics.stdev(v):.{digits}f}"


def summarise(results: Sequence[dict[str, Any]], labels: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for label in labels:
        rs = [r for r in results if r["label"] == label and "search" in r]
        rows.append({
            "space": label, "runs": len(rs),
            "val_shared": [r["search"]["val_acc"] for r in rs],
            "test_shared": [r["search"]["test_acc"] for r in rs],
            "val_retrain": [r["retrain"]["val_acc"] for r in rs if "retrain" in r],
            "test_retrain": [r["retrain"]["test_acc"] for r in rs if "retrain" in r],
            "search_min": [r["search"]["wall_s"] / 60 for r in rs],
            "errors": [r["error"] for r in results if r["label"] == label and "error" in r],
        })
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    head = ["space", "runs", "val acc (shared)", "test acc (shared)", "val acc (retrained)", "test acc (retrained)",
            "search min"]
    body = [[r["space"], str(r["runs"]), _ms(r["val_shared"]), _ms(r["test_shared"]), _ms(r["val_retrain"]),
             _ms(r["test_retrain"]), _ms(r["search_min"], 1.0, 1)] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    out = [line, sep] + ["| " + " | ".join(c.ljust(w) for c, w in zip(b, widths)) + " |" for b in body]
    return "\n".join(out)


def experiment(spaces: Sequence[str], seeds: int, base: SearchConfig, out: str, jobs: int = 1,
               retrain_epochs: int = 0, first_seed: int = 0, threads: int | None = None,
               echo: Callable[[str], None] = print) -> dict[str, Any]:
    from arts.nas import common
    from arts.nas.plot import plot_curves

    base.validate()
    if jobs < 1:
        raise InputError(f"must be at least 1, got {jobs}", "--jobs")
    if retrain_epochs < 0:
        raise InputError("must be 0 (no retraining) or more", "--retrain-epochs")
    runs = plan(spaces, seeds, base, out, first_seed)
    os.makedirs(out, exist_ok=True)
    labels = list(dict.fromkeys(r["label"] for r in runs))
    per_job = threads or max(1, (os.cpu_count() or 1) // jobs)
    common.write_json(os.path.join(out, "experiment.json"), {
        "spaces": list(spaces), "labels": labels, "seeds": list(range(first_seed, first_seed + seeds)),
        "jobs": jobs, "threads_per_job": per_job, "retrain_epochs": retrain_epochs,
        "search": dataclasses.asdict(base), "versions": common.versions(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S")})
    echo(f"{len(runs)} run(s): {', '.join(labels)} x {seeds} seed(s); {jobs} at a time, {per_job} thread(s) each; "
         f"results in {out}")
    t0 = time.perf_counter()
    results: list[dict[str, Any]] = []
    if jobs == 1:
        try:
            for job in runs:
                r = run_one(job, retrain_epochs, per_job)
                results.append(r)
                echo(_done_line(r, len(results), len(runs)))
                if r.get("error") == "interrupted":
                    break
        except KeyboardInterrupt:
            results.append({"label": "", "seed": -1, "dir": out, "error": "interrupted"})
    else:
        results = _parallel(runs, retrain_epochs, per_job, jobs, echo)
    if any(r.get("error") == "interrupted" for r in results):
        raise InputError(f"interrupted: finished epochs of every run are saved under {out}; rerun the same "
                         "command to resume")
    rows = summarise(results, labels)
    text = table(rows)
    curves: dict[str, list[list[float]]] = {}
    for label in labels:
        for r in results:
            if r["label"] == label and "search" in r:
                curves.setdefault(label, []).append(_val_curve(r["dir"]))
    if curves:
        plot_curves(os.path.join(out, "val_accuracy.png"), curves,
                    title=f"ENAS on {base.dataset}: validation accuracy (mean ± std over seeds)")
    summary = {"table": text, "rows": rows, "runs": results, "wall_s": time.perf_counter() - t0}
    common.write_json(os.path.join(out, "results.json"), summary)
    with open(os.path.join(out, "table.md"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    errors = [f"{r['label']} seed {r['seed']}: {r['error']}" for r in results if "error" in r]
    summary["errors"] = errors
    return summary


def _parallel(runs: Sequence[dict[str, Any]], retrain_epochs: int, threads: int, jobs: int,
              echo: Callable[[str], None]) -> list[dict[str, Any]]:
    """Each run in its own ``python -m arts.nas.experiment --job FILE`` process, ``jobs`` at a time
    (a fresh interpreter: no fork of a process holding torch threads, and no re-import of the
    caller's main module)."""
    import arts

    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(arts.__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    queue = list(runs)
    active: list[tuple[subprocess.Popen, dict[str, Any], Any]] = []
    results: list[dict[str, Any]] = []
    try:
        while queue or active:
            while queue and len(active) < jobs:
                job = queue.pop(0)
                os.makedirs(job["dir"], exist_ok=True)
                jf = os.path.join(job["dir"], "job.json")
                with open(jf, "w", encoding="utf-8") as f:
                    json.dump({"job": job, "retrain_epochs": retrain_epochs, "threads": threads}, f)
                res = os.path.join(job["dir"], "result.json")
                if os.path.exists(res):
                    os.remove(res)
                logf = open(os.path.join(job["dir"], "worker.log"), "a", encoding="utf-8")  # noqa: SIM115
                proc = subprocess.Popen([sys.executable, "-m", "arts.nas.experiment", "--job", jf], env=env,
                                        stdout=logf, stderr=subprocess.STDOUT)
                active.append((proc, job, logf))
            time.sleep(0.5)
            still = []
            for proc, job, logf in active:
                if proc.poll() is None:
                    still.append((proc, job, logf))
                    continue
                logf.close()
                r = _read_result(job, proc.returncode)
                results.append(r)
                echo(_done_line(r, len(results), len(runs)))
            active = still
    except KeyboardInterrupt:
        import signal

        for proc, _, _ in active:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # each run stops at once; its finished epochs are saved
        for proc, _, logf in active:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.terminate()
                proc.wait()
            logf.close()
        results.append({"label": "", "seed": -1, "dir": "", "error": "interrupted"})
    return results


def _read_result(job: dict[str, Any], code: int) -> dict[str, Any]:
    path = os.path.join(job["dir"], "result.json")
    try:
        with open(path, encoding="utf-8") as f:
            return dict(json.load(f))
    except (OSError, json.JSONDecodeError):
        return {"label": job["label"], "seed": job["seed"], "dir": job["dir"],
                "error": f"worker exited with status {code}; see {os.path.join(job['dir'], 'worker.log')}"}


def _worker(argv: Sequence[str]) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m arts.nas.experiment")
    p.add_argument("--job", required=True)
    a = p.parse_args(argv)
    with open(a.job, encoding="utf-8") as f:
        spec = json.load(f)
    r = run_one(spec["job"], spec["retrain_epochs"], spec["threads"])
    from arts.nas import common

    common.write_json(os.path.join(spec["job"]["dir"], "result.json"), r)
    return 0 if "error" not in r else 1


def _done_line(r: dict[str, Any], k: int, n: int) -> str:
    if "error" in r:
        return f"[{k}/{n}] {r['label']} seed {r['seed']}: error: {r['error']}"
    s = r["search"]
    line = f"[{k}/{n}] {r['label']} seed {r['seed']}: shared val {s['val_acc']:.4f} test {s['test_acc']:.4f}"
    if "retrain" in r:
        line += f"; retrained val {r['retrain']['val_acc']:.4f} test {r['retrain']['test_acc']:.4f}"
    return line + f" ({s['wall_s'] / 60:.1f} min search)"


def _val_curve(d: str) -> list[float]:
    import csv

    try:
        with open(os.path.join(d, "metrics.csv"), encoding="utf-8") as f:
            return [float(row["val_acc"]) for row in csv.DictReader(f)]
    except (OSError, KeyError, ValueError):
        return []


if __name__ == "__main__":  # pragma: no cover - the worker process
    sys.exit(_worker(sys.argv[1:]))
