"""Slices whose bounds are computed from sizes, and ``//`` / ``%`` of sizes by a size, against torch.

``x[:, :H, :W]`` after a pad (Swin, Twins, SAM windows), ``x[:, -A:]``, ``x[:, A - 3:H - B:2]``: the
bounds are size expressions, and arts follows Python's slice semantics exactly (a negative bound
counts from the end, every bound is clamped to ``[0, size]``, the step is a positive int): ``Min``,
``Max`` or, where the sign of a bound depends on the sizes, a ``Piecewise`` on it
(:func:`arts.ops.frontend_ops.sized_slice_length`).  ``B // (Hp * Wp // ws // ws)``: Python's
``a // b`` is ``floor(a / b)`` for every non-zero ``b``; where arts cannot prove ``b != 0`` from
the sizes being positive, ``b != 0`` is a condition of the domain (Python raises
``ZeroDivisionError`` there).  hypothesis draws the bounds; torch runs the module on meta
tensors at every point of a grid, and arts's verdict and output shapes must be torch's (arts
sizes are positive: an empty result counts as a rejection, as in test_frontend_lowering.py).
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from arts.frontends.torch_fx import analyse

SETTINGS = settings(max_examples=10, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))

#: a grid over both inputs: x is N,3,H,W and y is 1,1,A,B
GRID = [{"N": 1, "H": h, "W": 1 + (h + a) % 4, "A": a, "B": 1 + (2 * h + a) % 5}
        for h in range(1, 12) for a in range(1, 8, 2)]


def _run(model: nn.Module, shapes: list[tuple[int, ...]]) -> list[tuple[int, ...]] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad():
                y = model(*[torch.empty(*s, device="meta") for s in shapes])
        except (RuntimeError, ValueError, IndexError, ZeroDivisionError):
            return None
    outs = [t for t in (y if isinstance(y, (tuple, list)) else [y]) if isinstance(t, torch.Tensor)]
    shapes = [tuple(t.shape) for t in outs]
    return None if any(0 in s for s in shapes) else shapes


def agree(module: nn.Module, ops: tuple[str, ...] = ()) -> Any:
    """arts's verdict and output shapes equal torch's at every point of GRID."""
    report, G = analyse(module, "N,3,H,W", "1,1,A,B")
    assert report.status != "unknown", report.format()
    used = {d["op"].name for _, d in G.nodes(data=True) if d.get("op") is not None}
    assert set(ops) <= used, (ops, used)
    bad = []
    for pt in GRID:
        full = {s.name: pt[s.name] for s in report.symbols}
        concrete = [report.shape_at(name, **full) for name in G.graph["inputs"]]
        ours = report.accepts(**full)
        got = _run(module, concrete)
        mine = [report.shape_at(o, **full) for o in G.graph["outputs"]] if ours else None
        if ours != (got is not None) or (ours and mine != got):
            bad.append((pt, mine if ours else False, got))
    assert not bad, (report.format(), bad[:5])
    return report


# a bound: None, an int, or a size expression of known sign, +-(c0 + cA*A) (A = y.size(2)), or
# H - c0 (H = x.size(2), the sliced dimension itself)
BOUND = st.one_of(st.none(), st.integers(-5, 5),
                  st.tuples(st.sampled_from(["+", "-", "H"]), st.integers(0, 3), st.integers(1, 2)))


def _value(b: Any, A: Any, H: Any) -> Any:
    if not isinstance(b, tuple):
        return b
    sign, c0, ca = b
    return c0 + ca * A if sign == "+" else -(c0 + ca * A) if sign == "-" else H - c0


class Slicer(nn.Module):
    def __init__(self, start: Any, stop: Any, step: Any, last: Any) -> None:
        super().__init__()
        self.start, self.stop, self.step, self.last = start, stop, step, last

    def forward(self, x: Any, y: Any) -> Any:
        A, B, H = y.shape[2], y.shape[3], x.shape[2]
        out = x[:, :, _value(self.start, A, H):_value(self.stop, A, H):self.step]
        return out[..., -B:] if self.last else out


@SETTINGS
@given(start=BOUND, stop=BOUND, step=st.sampled_from([None, 1, 2, 3]), last=st.booleans())
def test_slice_with_size_bounds_is_torchs(start: Any, stop: Any, step: Any, last: bool) -> None:
    symbolic = isinstance(start, tuple) or isinstance(stop, tuple) or last
    agree(Slicer(start, stop, step, last), ops=("index",) if symbolic else ())


@pytest.mark.parametrize("start,stop", [(("H", 0, 0), None), (None, ("H", 0, 0))])
def test_slice_bound_of_unknown_sign_is_exact_or_unknown(start: Any, stop: Any) -> None:
    """``x[:, :, H - A:]``: the bound's sign depends on the sizes (a ``Piecewise``); the solver may
    not decide it, but the answer is never a wrong ok or error."""
    class Sub(nn.Module):
        def forward(self, x: Any, y: Any) -> Any:
            A, H = y.shape[2], x.shape[2]
            return x[:, :, (H - A if start else None):(H - A if stop else None)]

    report, G = analyse(Sub(), "N,3,H,W", "1,1,A,B")
    assert any(d["op"].name == "index" for _, d in G.nodes(data=True) if d.get("op") is not None)
    if report.status == "unknown":
        assert all(d.code == "undecided" for d in report.diagnostics if d.severity != "note"), report.format()
    else:
        agree(Sub(), ops=("index",))


class PadCrop(nn.Module):
    """Swin's window attention: pad H, W up to multiples of 7, work on windows, crop back."""

    def forward(self, x: Any, y: Any) -> Any:
        _, C, H, W = x.shape
        x = F.pad(x, (0, (7 - W % 7) % 7, 0, (7 - H % 7) % 7))
        _, _, Hp, Wp = x.shape
        x = x.reshape(-1, C, Hp // 7, 7, Wp // 7, 7).permute(0, 2, 4, 1, 3, 5).reshape(-1, C, 7, 7)
        x = x.reshape(-1, Hp // 7, Wp // 7, C, 7, 7).permute(0, 3, 1, 4, 2, 5).reshape(-1, C, Hp, Wp)
        return x[:, :, :H, :W].contiguous()


def test_pad_window_crop_is_exact_for_every_size() -> None:
    r = agree(PadCrop(), ops=("index", "sized_pad"))
    assert r.status == "ok", r.format()


class Divide(nn.Module):
    def __init__(self, form: str) -> None:
        super().__init__()
        self.form = form

    def forward(self, x: Any, y: Any) -> Any:
        A, B, H = y.shape[2], y.shape[3], x.shape[2]
        if self.form == "floordiv":  # a positive divisor: proven non-zero
            return x[:, :, :H // A]
        if self.form == "mod":
            return x[:, :, H % A:]
        if self.form == "nested":  # SAM's windows.shape[0] // (Hp * Wp // ws // ws): 0 for small sizes
            return x[:, :, :H // (A // B)]
        return x.reshape(x.shape[0], -1, H // A)  # the divisor of a view


@pytest.mark.parametrize("form", ["floordiv", "mod", "nested", "view"])
def test_floordiv_and_mod_by_a_size_are_torchs(form: str) -> None:
    agree(Divide(form), ops=("index",) if form != "view" else ("sized_reshape",))
