"""The traced program must be the program that runs: confirm a verdict against one real run.

``torch.fx`` runs ``forward`` on proxies, and Python decides branches on them silently: MONAI's
``if x_e is not None and torch.jit.isinstance(x_e, torch.Tensor):`` is False for a proxy, so fx
traces the branch without the skip ``cat``.  The graph arts checks is then not the model, and an
``error`` (or ``ok``) about it says nothing about the model.

So before a report says ``ok`` or ``error``, the model runs once for real at a size the domain
accepts (it must run, with the output shapes arts inferred) and at the counterexample of the first
error (it must fail).  An accepted size runs on meta tensors (parameters and buffers swapped for
meta tensors and back, no copy) and is settled on CPU wherever meta does not give arts's shapes;
a rejected one runs on CPU when small, else on meta, with CPU deciding wherever meta runs it
(meta kernels are lax the other way too: they accept some calls CPU torch rejects, e.g.
``conv_transpose2d`` with the wrong number of channels, so a meta success never refutes arts).
When torch disagrees, the report becomes ``unknown``: the trace is not the model.  To name the
branch, the user-code lines that ran under fx and under the real run are recorded
(``sys.settrace``) and the last line before the two paths part is reported.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import networkx as nx

from arts.frontends.locations import display_path, is_internal, source_line
from arts.graph.report import Diagnostic, Report

__all__ = ["confirm", "kept_attributes", "not_the_model"]

_PROBE = 32  # every size of the extra probe used when no input size is accepted at all
_CPU_ELEMENTS = 1 << 18  # rejected sizes and branch naming: inputs this small run on CPU, larger on meta


class _Failed(Exception):
    pass


def _long_inputs(G: nx.DiGraph) -> set[str]:
    """Inputs read as indices (``embedding``): they get an integer dtype."""
    out = set()
    for name in G.graph.get("inputs", {}):
        for succ in G.successors(name):
            op = G.nodes[succ].get("op")
            if op is not None and op.name == "embedding":
                out.add(name)
    return out


def _flat(y: Any) -> list[tuple[int, ...]]:
    import torch

    seen: dict[int, tuple[int, ...]] = {}

    def walk(v: Any) -> None:
        if isinstance(v, torch.Tensor):
            seen.setdefault(id(v), tuple(v.shape))
        elif isinstance(v, (tuple, list)):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)

    walk(y)
    return sorted(seen.values())


def _inputs(shapes: Sequence[tuple[int, ...]], longs: Sequence[bool], device: str) -> list[Any]:
    import torch

    out = []
    for s, is_long in zip(shapes, longs):
        if is_long:
            out.append(torch.zeros(s, dtype=torch.long, device=device))
        elif device == "meta":
            out.append(torch.empty(s, device="meta"))
        else:
            out.append(torch.randn(s))
    return out


def _run(module: Any, shapes: Sequence[tuple[int, ...]], longs: Sequence[bool], device: str,
         trace_lines: list | None = None) -> list[tuple[int, ...]]:
    """Output shapes of one real run (raises :class:`_Failed` if torch rejects it)."""
    import torch

    def call() -> Any:
        xs = _inputs(shapes, longs, device)
        if device == "meta":
            with _on_meta(module):
                return module(*xs)
        with kept_attributes(module):
            return module(*xs)

    watch = _EmptySeen()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.no_grad(), watch:
                y = _recording(call, trace_lines) if trace_lines is not None else call()
        except Exception as e:  # noqa: BLE001 - any failure of the real run is torch's "no"
            raise _Failed(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    if watch.seen:
        raise _Failed("an empty tensor (arts sizes are positive: arts rejects a size of 0)")
    return _flat(y)


def _EmptySeen() -> Any:
    """A torch function mode noting whether any call made a tensor with a size of 0."""
    import torch
    from torch.overrides import TorchFunctionMode

    class Mode(TorchFunctionMode):
        seen = False

        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            if not self.seen:
                for t in (out if isinstance(out, (tuple, list)) else (out,)):
                    if isinstance(t, torch.Tensor) and t.dim() > 0 and 0 in t.shape:
                        self.seen = True
            return out

    return Mode()


_TABLES = ("_parameters", "_buffers", "_modules")


class kept_attributes:
    """Put back every plain attribute of ``module``'s submodules on exit: a forward that changes
    its own attributes (Hugging Face's Swin sets ``self.window_size`` from the input's size) would
    otherwise check, trace or run a model that the user's fresh one is not."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.saved: list[tuple[Any, dict[str, Any]]] = []

    def __enter__(self) -> None:
        self.saved = [(m, {k: v for k, v in vars(m).items() if k not in _TABLES}) for m in self.module.modules()]

    def __exit__(self, *exc: Any) -> None:
        from torch import fx

        for m, attrs in self.saved:
            now = vars(m)
            # new attributes stay (fx stores the constants it traced as ``_tensor_constant0``...),
            # but not a traced value a forward kept
            for k in [k for k, v in now.items() if k not in attrs and isinstance(v, fx.Proxy)]:
                del now[k]
            now.update(attrs)
        self.saved = []


class _on_meta:
    """Swap every parameter and buffer of ``module`` for a meta tensor of its shape, and back
    (cheaper than a deep copy or ``torch.func``, whose first import costs seconds); its plain
    attributes are put back too (:class:`kept_attributes`).  With ``buffers=False`` the buffers stay
    real (the guarded trace: what ``forward`` computes from them eagerly keeps its values)."""

    def __init__(self, module: Any, buffers: bool = True) -> None:
        self.module = module
        self.kinds = ("_parameters", "_buffers") if buffers else ("_parameters",)
        self.saved: list[tuple[Any, str, str, Any]] = []
        self.kept = kept_attributes(module)

    def __enter__(self) -> None:
        import torch

        self.kept.__enter__()

        for m in self.module.modules():
            for kind in self.kinds:
                table = getattr(m, kind)
                for k, v in list(table.items()):
                    if isinstance(v, torch.Tensor) and v.device.type != "meta":
                        self.saved.append((m, kind, k, v))
                        meta = torch.empty_like(v, device="meta")
                        table[k] = torch.nn.Parameter(meta, v.requires_grad) if isinstance(
                            v, torch.nn.Parameter) else meta

    def __exit__(self, *exc: Any) -> None:
        for m, kind, k, v in reversed(self.saved):
            getattr(m, kind)[k] = v
        self.saved.clear()
        self.kept.__exit__(*exc)


def _recording(fn: Callable[[], Any], lines: list) -> Any:
    """Run ``fn`` recording each user-code line executed (third-party packages included)."""
    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if is_internal(frame.f_code.co_filename):
            return None
        if event == "line":
            lines.append((frame.f_code.co_filename, frame.f_lineno))
        return tracer

    old = sys.gettrace()
    sys.settrace(tracer)
    try:
        return fn()
    finally:
        sys.settrace(old)


def _small(shapes: Sequence[tuple[int, ...]]) -> bool:
    import math

    return sum(math.prod(s) for s in shapes) <= _CPU_ELEMENTS


def _verdict_at(module: Any, shapes: Sequence[tuple[int, ...]], longs: Sequence[bool],
                accepted: bool, expect: list | None = None) -> list | None:
    """Output shapes where torch runs the model, None where it fails.

    A size arts accepts runs on meta tensors first: a CPU run pays for the compute and for each
    conv's kernel set-up (0.2-0.4 s on an Xception or a RegNet even at 1x1, 2 s for a ViT-B at
    224x224).  Meta is taken only where it gives the shapes arts ``expect``s; anything else (a
    failure, other shapes: a model may branch on ``x.is_meta``) is settled by CPU, the truth.  A
    size arts rejects runs on CPU when it is small, else on meta and then on CPU where meta runs it
    (meta kernels are lax)."""
    if accepted:
        try:
            got = _run(module, shapes, longs, "meta")
            if expect is not None and sorted(set(got)) == expect:
                return got
        except _Failed:
            pass
        try:
            return _run(module, shapes, longs, "cpu")
        except _Failed:
            return None
    if _small(shapes):
        try:
            return _run(module, shapes, longs, "cpu")
        except _Failed:
            return None
    try:
        _run(module, shapes, longs, "meta")
    except _Failed:
        return None
    try:
        return _run(module, shapes, longs, "cpu")
    except _Failed:
        return None


def _points(report: Report) -> list[tuple[dict[str, int], bool]]:
    """(sizes, whether arts accepts them): the example, the first error's counterexample, and, when
    nothing is accepted, a probe at moderate sizes."""
    pts: list[tuple[dict[str, int], bool]] = []
    names = [s.name for s in report.symbols]
    if report.example and not report.static_failure and not report.unknown_nodes:
        # (with untranslated nodes the accepted domain covers the translated part only)
        pts.append(({k: report.example[k] for k in names}, True))
    err = next((d for d in report.diagnostics if d.severity == "error" and d.counterexample), None)
    if err is not None and err.counterexample and set(names) <= set(err.counterexample):
        pts.append(({k: err.counterexample[k] for k in names}, False))
    if report.status == "error" and (report.static_failure or not report.example):
        probe = {k: (1 if k.startswith("N") else _PROBE) for k in names}
        if all(p != probe for p, _ in pts):
            pts.append((probe, False))
    return pts


def _branch(module: Any, trace_fn: Callable[[], Any], shapes: Sequence[tuple[int, ...]],
            longs: Sequence[bool]) -> tuple[str, int] | None:
    """The last user line both the fx trace and the real run executed before their paths parted."""
    traced: list = []
    real: list = []
    try:
        _recording(trace_fn, traced)
    except Exception:  # noqa: BLE001 - the trace succeeded before; anything here only loses the name
        return None
    try:
        _run(module, shapes, longs, "cpu" if _small(shapes) else "meta", trace_lines=real)
    except _Failed:
        pass
    # only the model's own forward code (frames of hooks or test tools elsewhere are noise)
    files = set()
    for m in module.modules():
        code = getattr(getattr(type(m), "forward", None), "__code__", None)
        if code is not None:
            files.add(code.co_filename)
    traced = [t for t in traced if t[0] in files]
    real = [t for t in real if t[0] in files]
    last = None
    for a, b in zip(traced, real):
        if a != b:
            return last
        last = a
    return None


def confirm(module: Any, report: Report, G: nx.DiGraph, trace_fn: Callable[[], Any],
            aliases: dict[str, str] | None = None) -> Report:
    """``report`` unchanged if one real run agrees with it, else ``unknown`` naming the branch
    where the trace and the real run parted (see the module docstring)."""
    if report.status not in ("ok", "error"):
        return report
    inputs = list(G.graph.get("inputs", {}))
    longs_set = _long_inputs(G)
    longs = [n in longs_set for n in inputs]
    for point, accepted in _points(report):
        try:
            shapes = [report.shape_at(n, **point) for n in inputs]
        except Exception:  # noqa: BLE001 - a point we cannot evaluate is no evidence either way
            continue
        mine = sorted({report.shape_at(o, **point) for o in G.graph.get("outputs", [])}) if accepted else None
        got = _verdict_at(module, shapes, longs, accepted, mine)
        if accepted:
            # distinct shapes on both sides: arts and torch may share or split identical results
            if got is not None and sorted(set(got)) == mine:
                continue
            if got is None:
                what = f"arts accepts {_show(point)}, but torch rejects it"
            else:
                what = f"at {_show(point)} arts infers output shapes {mine}, torch gives {got}"
        else:
            if got is None:
                continue
            what = f"arts rejects {_show(point)}, but torch runs the model there"
        return _not_the_model(report, what, _branch(module, trace_fn, shapes, longs), aliases)
    return report


_NOT_THE_MODEL = " (the trace is not the model)"


def not_the_model(report: Report) -> bool:
    """Whether :func:`confirm` found that ``report`` is about a traced graph that is not the model."""
    return any(d.code == "unsupported" and d.message.endswith(_NOT_THE_MODEL) for d in report.diagnostics)


def _show(point: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


def _not_the_model(report: Report, what: str, branch: tuple[str, int] | None,
                   aliases: dict[str, str] | None) -> Report:
    file = line = source = None
    if branch is not None:
        file, line = display_path(branch[0], aliases), branch[1]
        source = source_line(branch[0], branch[1])
        where = "torch.fx took another branch here than the real run"
    else:
        where = "torch.fx traced another program than the one that runs"
    notes = [f"{what}; the traced graph is not the model, so nothing is claimed about it"]
    for d in report.diagnostics:
        if d.severity == "error":
            loc = f"{d.file}:{d.line}: " if d.file and d.line is not None else ""
            notes.append(f"in the traced graph only: {loc}{d.message}")
    kept = [d for d in report.diagnostics if d.severity != "error"]
    kept.append(Diagnostic("warning", "unsupported", None, f"{where}{_NOT_THE_MODEL}",
                           file=file, line=line, source=source, notes=notes))
    report.diagnostics = kept
    report.status = "unknown"
    report.static_failure = False
    report.unknown_nodes = tuple(report.unknown_nodes) + ("forward",)
    return report
