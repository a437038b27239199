"""What search and retraining share: devices, run folders, checkpoints, metrics files."""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from arts.errors import InputError


def resolve_device(name: str) -> torch.device:
    """``auto`` (cuda when available, else cpu), ``cpu``, ``cuda`` or ``cuda:N``."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise InputError("--device cuda: no CUDA device is available (use --device cpu or auto)")
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s)")
        return dev
    raise InputError(f"--device must be auto, cpu or cuda, got {name!r}")


def versions() -> dict[str, str]:
    import arts

    out = {"python": platform.python_version(), "torch": torch.__version__, "arts": str(arts.__version__),
           "platform": platform.platform()}
    if torch.cuda.is_available():
        out["cuda"] = str(torch.version.cuda)
    return out


def device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return f"{dev} ({torch.cuda.get_device_name(dev)})"
    return f"cpu ({torch.get_num_threads()} threads)"


def write_json(path: str, data: Any) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=False, default=str)
        f.write("\n")
    os.replace(tmp, path)


def read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"cannot read: {e}", path) from None


def write_csv(path: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    os.replace(tmp, path)


def save_checkpoint(path: str, state: dict[str, Any]) -> None:
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - torch.load fails in many ways on a truncated or foreign file
        raise InputError(f"cannot read the checkpoint ({type(e).__name__}: {e}); delete it to start over",
                         path) from None


def cosine_lr(step: int, total: int, lr_max: float, lr_min: float) -> float:
    if total <= 0:
        return lr_max
    t = min(step, total) / total
    return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * t))


def rng_state() -> dict[str, Any]:
    st: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        st["cuda"] = torch.cuda.get_rng_state_all()
    return st


def set_rng_state(st: dict[str, Any]) -> None:
    torch.set_rng_state(st["torch"])
    if "cuda" in st and torch.cuda.is_available():
        try:
            torch.cuda.set_rng_state_all(st["cuda"])
        except RuntimeError:  # a different number of devices than when saved
            pass


#: Config keys that may change when a run is resumed (where and how, not what).
RESUMABLE = {"epochs", "out", "device", "progress", "threads", "amp"}


def check_resume(saved: dict[str, Any], config: dict[str, Any], out: str) -> None:
    diff = [k for k in sorted(set(saved) | set(config)) if k not in RESUMABLE and saved.get(k) != config.get(k)]
    if diff:
        shown = "; ".join(f"{k}: {saved.get(k)!r} there, {config.get(k)!r} now" for k in diff[:4])
        raise InputError(f"--out {out} holds a run with another configuration ({shown}); resume it with the "
                         "same options, or choose another --out")


def is_oom(e: BaseException) -> bool:
    oom = getattr(torch, "OutOfMemoryError", None)
    if oom is not None and isinstance(e, oom):
        return True
    return isinstance(e, RuntimeError) and "out of memory" in str(e).lower()


def oom_message(dev: torch.device, what: str, out: str) -> str:
    return (f"out of memory on {dev} ({what}); try a smaller --batch-size, --channels or --layers"
            f"{' or --amp' if dev.type == 'cuda' else ''}; finished epochs are saved in {out}")


def resume_command(argv: Sequence[str] | None = None) -> str:
    args = list(sys.argv[1:] if argv is None else argv)
    return "arts " + " ".join(args) if args else "the same command"


class Log:
    """Lines for the run's ``log.txt`` (and, when shown, stderr above the progress bar)."""

    def __init__(self, path: str, show: bool) -> None:
        self.path = path
        self.show = show

    def __call__(self, text: str) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
        if self.show:
            try:
                from tqdm import tqdm

                tqdm.write(text, file=sys.stderr)
            except ImportError:  # pragma: no cover - declared dependency
                print(text, file=sys.stderr)


def default_threads(n: int | None, dev: torch.device | None = None) -> int | None:
    """``--threads``, or by default on the CPU a quarter of the cores (at least 1, at most 4): torch's
    default of every core made a search about 5x slower on a busy 2-core machine, where
    several processes share the cores.  None (leave torch alone) on a GPU."""
    if n:
        return n
    if dev is not None and dev.type != "cpu":
        return None
    return max(1, min(4, (os.cpu_count() or 1) // 4))


@contextmanager
def threads(n: int | None) -> Iterator[None]:
    if not n:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def accuracy(model: Any, batches: Any, forward: Any = None) -> float:
    correct = total = 0
    with torch.no_grad():
        for x, y in batches:
            out = forward(x) if forward is not None else model(x)
            correct += int((out.argmax(1) == y).sum())
            total += int(y.numel())
    return correct / max(total, 1)


def sgd_step(model: Any, forward: Any, x: Any, y: Any, opt: Any, lr: float, scaler: Any, grad_clip: float,
             autocast: Any) -> tuple[Any, Any]:
    """One supervised step shared by search and retraining: set the learning rate, forward under
    ``autocast()``, backward (scaled when ``scaler`` is given), clip, step.  Returns (loss, logits)."""
    import torch.nn.functional as F

    for g in opt.param_groups:
        g["lr"] = lr
    opt.zero_grad(set_to_none=True)
    with autocast():
        logits = forward(x)
        loss = F.cross_entropy(logits, y)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        scaler.step(opt)
        scaler.update()
    else:
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
    return loss, logits
