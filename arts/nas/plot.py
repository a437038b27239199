"""Validation-accuracy plots (matplotlib, Agg backend: no display needed), like the paper's Figure 3."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_curves(path: str, curves: Mapping[str, Sequence[Sequence[float]]], title: str = "",
                ylabel: str = "validation accuracy (shared weights, best of sampled)",
                ylim: tuple[float, float] = (0.0, 100.0)) -> bool:
    """One line per key; each value is a list of runs (one accuracy per epoch).  Several runs of
    one key are drawn as their mean with a band of +- one standard deviation.  Epochs are whole
    numbers on the x axis; the y axis is fixed (0-100 % by default), so that a difference of a
    point looks like one.  Returns False (and draws nothing) when matplotlib is not installed."""
    try:
        import numpy as np

        plt = _plt()
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for name, runs in curves.items():
        runs = [list(r) for r in runs if len(r)]
        if not runs:
            continue
        n = min(len(r) for r in runs)
        a = np.array([r[:n] for r in runs], dtype=float) * 100
        x = np.arange(1, n + 1)
        mean = a.mean(0)
        line = ax.plot(x, mean, marker="o" if n <= 30 else None, ms=3,
                       label=f"{name}" + (f" (n={len(runs)})" if len(runs) > 1 else ""))
        if len(runs) > 1:
            sd = a.std(0, ddof=1)
            ax.fill_between(x, mean - sd, mean + sd, color=line[0].get_color(), alpha=0.15)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(*ylim)
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel if len(ylabel) < 40 else "val. accuracy (%)")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)
    return True
