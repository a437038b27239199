"""The epoch loop search and retraining share: the learning-rate schedule, one pass of SGD over
the training data, and the handling of interruptions and out-of-memory errors around the epochs.

:func:`train_epoch` runs one pass; the model's forward is a callable of the batch (a search
passes ``lambda x: child(x, next_arc())`` so that every mini-batch runs a freshly sampled
architecture, retraining passes the compiled network).  It returns an :class:`EpochStats` with
the time spent in the child's forward/backward kept apart from the rest (sampling, checking,
data), which ``benchmarks/bench_train.py`` reports.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from arts.errors import InputError


def cosine_restarts(epoch: int, lr_max: float, lr_min: float, t0: int = 10, t_mul: int = 1) -> float:
    """Cosine learning rate with warm restarts (SGDR), per epoch (0-based), as the authors step it.

    ``t_mul`` 1: a restart every ``t0`` epochs (the authors' PyTorch code, ``child_lr_T`` 10);
    ``t_mul`` 2: ENAS's schedule, cycles of 10, 20, 40, ... epochs (``lr_T_0`` 10, ``lr_T_mul`` 2).
    """
    if t0 < 1 or t_mul < 1:
        raise InputError("the cosine cycle length and its multiplier must be at least 1", "--lr-t0")
    start, length = 0, t0
    while epoch >= start + length:
        start += length
        length *= t_mul
    t = (epoch - start) / length
    return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * t))


@dataclass
class EpochStats:
    loss: float = 0.0
    correct: int = 0
    seen: int = 0
    steps: int = 0
    model_s: float = 0.0  # the child's forward, backward and optimiser step
    other_s: float = 0.0  # everything else in the pass (sampling, checking, data)

    @property
    def mean_loss(self) -> float:
        return self.loss / max(self.seen, 1)

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.seen, 1)


def _sync(device: Any) -> None:
    import torch

    if getattr(device, "type", "cpu") == "cuda":
        torch.cuda.synchronize(device)


def train_epoch(model: Any, batches: Any, forward: Callable[[Any], Any], opt: Any, lr: float, scaler: Any,
                grad_clip: float, autocast: Callable[[], Any], before_step: Callable[[int], None] | None = None,
                bar: Any = None, device: Any = None, postfix: Callable[[EpochStats], dict[str, str]] | None = None
                ) -> EpochStats:
    """One pass of SGD over ``batches``.  ``before_step(step)`` runs before each step (outside the
    model time: a search samples and checks the next architecture there)."""
    from arts.nas.common import sgd_step

    st = EpochStats()
    t_other = time.perf_counter()
    for step, (x, y) in enumerate(batches):
        if before_step is not None:
            before_step(step)
        _sync(device)
        t = time.perf_counter()
        st.other_s += t - t_other
        loss, logits = sgd_step(model, forward, x, y, opt, lr, scaler, grad_clip, autocast)
        st.loss += float(loss.detach()) * len(y)
        st.correct += int((logits.detach().argmax(1) == y).sum())
        st.seen += len(y)
        st.steps += 1
        t_other = time.perf_counter()
        st.model_s += t_other - t
        if bar is not None and hasattr(bar, "set_postfix"):
            bar.update(1)
            bar.set_postfix(**(postfix(st) if postfix is not None else
                               {"loss": f"{st.mean_loss:.3f}", "acc": f"{st.accuracy:.3f}"}))
    st.other_s += time.perf_counter() - t_other
    return st


def progress_bar(total: int, desc: str, show: bool) -> Any:
    if not show:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - declared dependency
        return None
    return tqdm(total=total, desc=desc, unit="batch", leave=False, dynamic_ncols=True)


@contextmanager
def guarded(rows: list[dict[str, Any]], current: Callable[[], int], out: str, argv: Any, dev: Any,
            what: Callable[[], str]) -> Iterator[None]:
    """Ctrl-C and out-of-memory around the epochs: one line saying what is saved and how to resume."""
    from arts.nas import common

    try:
        yield
    except KeyboardInterrupt:
        done = rows[-1]["epoch"] if rows else 0
        raise InputError(f"interrupted in epoch {current()}: {done} finished epoch(s) are saved in {out}; resume "
                         f"with the same command and --out ({common.resume_command(argv)})") from None
    except Exception as e:
        if common.is_oom(e):
            raise InputError(common.oom_message(dev, what(), out)) from None
        raise
