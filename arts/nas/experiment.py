"""A grid of searches (spaces x seeds), each optionally followed by retraining its best
architecture from scratch; a table of mean +- std like the paper's Table 2 and a combined plot
like its Figure 3.

Runs go to ``OUT/<space>/seed<S>/`` (the search) and ``OUT/<space>/seed<S>/retrain/`` (the honest
protocol: the best candidates retrained from scratch, chosen on validation, reported on test).
They run in-process (one job), in separate processes (``jobs`` at a time) or as Ray tasks (``ray``:
a cluster address, or ``local``), each with a few torch threads unless ``--threads`` says otherwise;
every finished epoch is echoed as a progress line.  Every run checkpoints every epoch, so rerunning
the same command after an interruption resumes the unfinished runs and reuses the finished ones.
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


def _retrain_config(cfg: SearchConfig, arch: str, epochs: int, out: str, threads: int | None) -> Any:
    from arts.nas.train import TrainConfig

    return TrainConfig(arch=arch, dataset=cfg.dataset, image_size=cfg.image_size, epochs=epochs,
                       batch_size=cfg.batch_size, lr=cfg.child_lr, lr_min=cfg.child_lr_min, lr_t0=cfg.lr_t0,
                       lr_tmul=cfg.lr_tmul, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                       augment=cfg.augment, seed=cfg.seed, device=cfg.device, out=out, amp=cfg.amp,
                       split_seed=cfg.split_seed, max_train=cfg.max_train, threads=threads, progress=False)


def candidate_files(cfg: SearchConfig, search_result: dict[str, Any], k: int) -> list[str]:
    """Graph files of the ``k`` best candidates of the search's last evaluation (ranked on its
    validation batch), written next to ``best_arch.json``; the first is ``best_arch.json`` itself."""
    from arts.nas import common
    from arts.nas.search import save_arch
    from arts.nas.spaces import prepare

    best = search_result["best_arch"]
    if k <= 1:
        return [best]
    meta = common.read_json(best)["meta"]
    cands = common.read_json(search_result["candidates"])["candidates"]
    macro = prepare(cfg.space, cfg.dedupe, cfg.by_type).macro(meta["layers"], meta["channels"], meta["input"][0],
                                                              meta["num_classes"])
    files = []
    for i, c in enumerate(cands[:k]):
        path = os.path.join(os.path.dirname(best), f"candidate{i}.json")
        save_arch(path, macro, c["arc"], meta["input"][0], cfg.dropout,
                  {**meta, "arc": c["arc"], "select_acc_shared": c["select_acc"], "candidate": i})
        files.append(path)
    return files


def run_one(job: dict[str, Any], retrain_epochs: int, threads: int | None, retrain_top: int = 1,
            echo: Callable[[str], None] | None = None) -> dict[str, Any]:
    """One search, then (``retrain_epochs`` > 0) the honest protocol: the ``retrain_top`` best
    candidates retrained from scratch, the one with the best final *validation* accuracy chosen,
    its *test* accuracy reported.  In a worker process, a Ray task or in-process.  Errors come
    back as a message."""
    import torch

    from arts.nas.search import search
    from arts.nas.train import train

    if threads:
        torch.set_num_threads(threads)
    cfg = SearchConfig(**job["search"])
    res: dict[str, Any] = {"label": job["label"], "seed": job["seed"], "dir": job["dir"]}

    def epoch_line(epoch: int) -> None:
        if echo is not None:
            echo(_epoch_line(job, epoch, cfg.epochs))

    try:
        r = search(cfg, argv=[], on_epoch_end=epoch_line)
        res["search"] = r
        if retrain_epochs > 0:
            files = candidate_files(cfg, r, retrain_top)
            trained = []
            for i, f in enumerate(files):
                out = os.path.join(job["dir"], "retrain") if len(files) == 1 else \
                    os.path.join(job["dir"], "retrain", f"candidate{i}")
                t = train(_retrain_config(cfg, f, retrain_epochs, out, threads), argv=[])
                trained.append({**t, "arch": f})
            chosen = max(trained, key=lambda t: t["val_acc"])  # ranked on validation, reported on test
            res["retrain"] = {**chosen, "candidates": len(trained), "ranked_on": "final validation accuracy"}
    except InputError as e:
        res["error"] = str(e)
    except KeyboardInterrupt:
        res["error"] = "interrupted"
    return res


def _epoch_line(job: dict[str, Any], epoch: int, epochs: int) -> str:
    """A progress line from the run's metrics.csv (also readable from another process)."""
    rows = _metrics(job["dir"])
    r = rows[epoch - 1] if 0 < epoch <= len(rows) else {}
    if not r:
        return f"  {job['label']} seed {job['seed']}: epoch {epoch}/{epochs}"
    return (f"  {job['label']} seed {job['seed']}: epoch {epoch}/{epochs}: val {float(r['val_acc']):.4f} "
            f"test {float(r['test_acc']):.4f} ({float(r['epoch_s']):.1f}s)")


def _metrics(d: str) -> list[dict[str, str]]:
    import csv

    try:
        with open(os.path.join(d, "metrics.csv"), encoding="utf-8") as f:
            return list(csv.DictReader(f))
    except (OSError, csv.Error):
        return []


class _Progress:
    """Echoes a line per finished epoch of runs in other processes, read from their metrics.csv."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo
        self.seen: dict[str, int] = {}

    def poll(self, jobs: Sequence[dict[str, Any]]) -> None:
        for job in jobs:
            n = len(_metrics(job["dir"]))
            k = self.seen.get(job["dir"])
            if k is None:  # a resumed run: its earlier epochs are not news
                self.seen[job["dir"]] = n
                continue
            for e in range(k + 1, n + 1):
                self.echo(_epoch_line(job, e, int(job["search"]["epochs"])))
            self.seen[job["dir"]] = max(k, n)


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


def permutation_p(a: Sequence[float], b: Sequence[float], limit: int = 200_000) -> float | None:
    """Two-sided p-value of the difference of means of ``a`` and ``b`` under an exact permutation
    test (every split of the pooled values; 252 for 5 + 5 seeds).  None when either side has fewer
    than two values or the splits exceed ``limit``."""
    from itertools import combinations

    a, b = [float(x) for x in a], [float(x) for x in b]
    if len(a) < 2 or len(b) < 2 or math.comb(len(a) + len(b), len(a)) > limit:
        return None
    pooled = a + b
    total = sum(pooled)
    observed = abs(sum(a) / len(a) - sum(b) / len(b))
    hits = n = 0
    for idx in combinations(range(len(pooled)), len(a)):
        sa = sum(pooled[i] for i in idx)
        diff = abs(sa / len(a) - (total - sa) / len(b))
        hits += diff >= observed - 1e-12
        n += 1
    return hits / n


def comparisons(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each space against the first (the baseline), per metric: difference of means (points) and
    the exact permutation test's p-value."""
    out: list[dict[str, Any]] = []
    if not rows:
        return out
    base = rows[0]
    for r in rows[1:]:
        for key in ("test_shared", "test_retrain"):
            x, y = r[key], base[key]
            if len(x) >= 2 and len(y) >= 2:
                out.append({"space": r["space"], "baseline": base["space"], "metric": key,
                            "diff_points": 100 * (statistics.mean(x) - statistics.mean(y)),
                            "p": permutation_p(x, y), "n": [len(x), len(y)]})
    return out


def comparison_text(comps: Sequence[dict[str, Any]]) -> str:
    lines = []
    for c in comps:
        p = "-" if c["p"] is None else f"{c['p']:.3f}"
        lines.append(f"{c['space']} vs {c['baseline']}, {c['metric'].replace('_', ' ')}: {c['diff_points']:+.2f} "
                     f"points, exact permutation test p = {p} (n = {c['n'][0]} + {c['n'][1]})")
    return "\n".join(lines)


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
               echo: Callable[[str], None] = print, ray: str | None = None, retrain_top: int = 1) -> dict[str, Any]:
    """Run the grid (locally: in-process for one job, else ``jobs`` worker processes; with ``ray``,
    one Ray task per run on the cluster at that address, or on a local instance for ``local``)."""
    from arts.nas import common
    from arts.nas.plot import plot_curves

    base.validate()
    if jobs < 1:
        raise InputError(f"must be at least 1, got {jobs}", "--jobs")
    if retrain_epochs < 0:
        raise InputError("must be 0 (no retraining) or more", "--retrain-epochs")
    if retrain_top < 1:
        raise InputError("must be at least 1", "--retrain-top")
    runs = plan(spaces, seeds, base, out, first_seed)
    cluster = _ray_connect(ray) if ray is not None else None  # an address that does not answer fails here
    os.makedirs(out, exist_ok=True)
    labels = list(dict.fromkeys(r["label"] for r in runs))
    per_job = threads or max(1, min(4, (os.cpu_count() or 1) // (2 * jobs)))
    where = f"Ray at {ray}" if ray is not None else f"{jobs} at a time"
    common.write_json(os.path.join(out, "experiment.json"), {
        "spaces": list(spaces), "labels": labels, "seeds": list(range(first_seed, first_seed + seeds)),
        "jobs": jobs, "ray": ray, "threads_per_job": per_job, "retrain_epochs": retrain_epochs,
        "retrain_top": retrain_top, "search": dataclasses.asdict(base), "versions": common.versions(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S")})
    echo(f"{len(runs)} run(s): {', '.join(labels)} x {seeds} seed(s); {where}, {per_job} thread(s) each; "
         f"results in {out}")
    t0 = time.perf_counter()
    results: list[dict[str, Any]] = []
    if cluster is not None:
        results = _ray_grid(cluster, runs, retrain_epochs, per_job, retrain_top, base.device, echo)
    elif jobs == 1:
        try:
            for job in runs:
                r = run_one(job, retrain_epochs, per_job, retrain_top, echo)
                results.append(r)
                echo(_done_line(r, len(results), len(runs)))
                if r.get("error") == "interrupted":
                    break
        except KeyboardInterrupt:
            results.append({"label": "", "seed": -1, "dir": out, "error": "interrupted"})
    else:
        results = _parallel(runs, retrain_epochs, per_job, jobs, echo, retrain_top)
    if any(r.get("error") == "interrupted" for r in results):
        raise InputError(f"interrupted: finished runs and the finished epochs of the others are saved under {out}; "
                         "rerun the same command to resume")
    rows = summarise(results, labels)
    comps = comparisons(rows)
    text = table(rows) + ("\n\n" + comparison_text(comps) if comps else "")
    curves: dict[str, list[list[float]]] = {}
    for label in labels:
        for r in results:
            if r["label"] == label and "search" in r:
                curves.setdefault(label, []).append(_val_curve(r["dir"]))
    if curves:
        plot_curves(os.path.join(out, "val_accuracy.png"), curves,
                    title=f"ENAS on {base.dataset}: validation accuracy (mean ± std over seeds)")
    summary = {"table": text, "rows": rows, "comparisons": comps, "runs": results, "wall_s": time.perf_counter() - t0}
    common.write_json(os.path.join(out, "results.json"), summary)
    with open(os.path.join(out, "table.md"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    errors = [f"{r['label']} seed {r['seed']}: {r['error']}" for r in results if "error" in r]
    summary["errors"] = errors
    return summary


# ---- Ray --------------------------------------------------------------------------------------

def _ray_connect(address: str) -> Any:
    """``ray.init`` on ``address`` (``local``: a fresh local instance; ``auto``: the cluster this
    machine belongs to).  A host:port that does not answer is refused at once (Ray itself would
    retry for minutes)."""
    try:
        import ray
    except ImportError:
        raise InputError("--ray needs the ray package (pip install ray)", "--ray") from None
    if address not in ("local", "auto"):
        hostport = address.split("://", 1)[-1]
        host, _, port = hostport.rpartition(":")
        if not host or not port.isdigit():
            raise InputError(f"expected HOST:PORT (or local, auto), got {address!r}", "--ray")
        import socket

        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as e:
            raise InputError(f"no Ray cluster answers at {address} ({e.strerror or e}); start one with "
                             "`ray start --head` or give --ray without an address for a local instance",
                             "--ray") from None
    try:
        if address == "local":
            ray.init(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True,
                     num_cpus=os.cpu_count() or 1)
        else:
            ray.init(address=address, log_to_driver=False, ignore_reinit_error=True)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise InputError(f"cannot connect to Ray at {address}: {e}", "--ray") from None
    return ray


def _ray_grid(ray: Any, runs: Sequence[dict[str, Any]], retrain_epochs: int, threads: int, retrain_top: int,
              device: str, echo: Callable[[str], None]) -> list[dict[str, Any]]:
    """One Ray task per run (``threads`` CPUs, a GPU when the runs use one); results as they come."""
    import arts

    root = os.path.dirname(os.path.dirname(os.path.abspath(arts.__file__)))
    gpus = 1 if device.startswith("cuda") else 0
    task = ray.remote(num_cpus=threads, num_gpus=gpus, max_retries=0)(_ray_task)
    env = {"env_vars": {"PYTHONPATH": root}}
    pending = {task.options(runtime_env=env).remote(job, retrain_epochs, threads, retrain_top): job for job in runs}
    progress = _Progress(echo)
    results: list[dict[str, Any]] = []
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            progress.poll([pending[r] for r in pending])
            for ref in done:
                job = pending.pop(ref)
                try:
                    r = ray.get(ref)
                except Exception as e:  # noqa: BLE001 - a worker that died (memory, node lost) is one failed run
                    r = {"label": job["label"], "seed": job["seed"], "dir": job["dir"],
                         "error": f"Ray task failed: {type(e).__name__}: {str(e).splitlines()[0][:200]}"}
                results.append(r)
                echo(_done_line(r, len(results), len(runs)))
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref)
        results.append({"label": "", "seed": -1, "dir": "", "error": "interrupted"})
    return results


def _ray_task(job: dict[str, Any], retrain_epochs: int, threads: int, retrain_top: int) -> dict[str, Any]:
    r = run_one(job, retrain_epochs, threads, retrain_top)
    from arts.nas import common

    common.write_json(os.path.join(job["dir"], "result.json"), r)
    return r


def _parallel(runs: Sequence[dict[str, Any]], retrain_epochs: int, threads: int, jobs: int,
              echo: Callable[[str], None], retrain_top: int = 1) -> list[dict[str, Any]]:
    """Each run in its own ``python -m arts.nas.experiment --job FILE`` process, ``jobs`` at a time
    (a fresh interpreter: no fork of a process holding torch threads, and no re-import of the
    caller's main module).  Finished epochs are echoed as they land in the runs' metrics.csv."""
    import arts

    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(arts.__file__)))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    queue = list(runs)
    active: list[tuple[subprocess.Popen, dict[str, Any], Any]] = []
    results: list[dict[str, Any]] = []
    progress = _Progress(echo)
    try:
        while queue or active:
            while queue and len(active) < jobs:
                job = queue.pop(0)
                os.makedirs(job["dir"], exist_ok=True)
                jf = os.path.join(job["dir"], "job.json")
                with open(jf, "w", encoding="utf-8") as f:
                    json.dump({"job": job, "retrain_epochs": retrain_epochs, "threads": threads,
                               "retrain_top": retrain_top}, f)
                res = os.path.join(job["dir"], "result.json")
                if os.path.exists(res):
                    os.remove(res)
                progress.poll([job])
                logf = open(os.path.join(job["dir"], "worker.log"), "a", encoding="utf-8")  # noqa: SIM115
                proc = subprocess.Popen([sys.executable, "-m", "arts.nas.experiment", "--job", jf], env=env,
                                        stdout=logf, stderr=subprocess.STDOUT)
                active.append((proc, job, logf))
            time.sleep(0.5)
            progress.poll([job for _, job, _ in active])
            still = []
            for proc, job, logf in active:
                if proc.poll() is None:
                    still.append((proc, job, logf))
                    continue
                logf.close()
                progress.poll([job])
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
    r = run_one(spec["job"], spec["retrain_epochs"], spec["threads"], spec.get("retrain_top", 1))
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
    try:
        return [float(row["val_acc"]) for row in _metrics(d)]
    except (KeyError, ValueError):
        return []


if __name__ == "__main__":  # pragma: no cover - the worker process
    sys.exit(_worker(sys.argv[1:]))
