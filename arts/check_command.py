"""``arts check [PATH[:NAME]]... [--input SHAPE]... [--where CONSTRAINTS] [--strict] [--json | --sarif]``.

DESIGN.md §4.  Each PATH is a file, a directory (every file of a known kind in it, recursively)
or a glob; with no PATH, the ``paths`` of ``[tool.arts]`` in ``./pyproject.toml``
(:mod:`arts.config`).  All targets are checked in one process; the exit status is the worst of
them (2 input error > 1 type error > 3 unknown > 0 ok), and text output ends with one summary
line when more than one target was checked.

**File kinds.**  :data:`CHECKERS` maps a file suffix to the function that checks such a file
(``.py``: the torch.fx front end; ``.json``/``.yaml``/``.yml``: graph files).  It is the only
place that knows suffixes: directory walks, globs and the "unknown kind" message all read it.
Another front end plugs in with ``register_checker((".onnx",), check_onnx)``, where
``check_onnx(request) -> list[Report]`` reads :class:`Request`.

**Readings** (:meth:`arts.graph.report.Report.judged`).  With declared intent -- ``--where``, a
fixed size in ``--input`` (after batch and channels), a ``[tool.arts]`` target, a ``where`` in a
graph file, shape annotations or ``arts_where`` in the code (:mod:`arts.frontends.annotations`)
-- every failure inside the declared sizes is an error.  Without it, the accepted domain is the
model's *signature*: printed, exit 0, and only certain bugs are errors.  ``--strict``: every
size must work.
"""

from __future__ import annotations

import argparse
import glob as globmod
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from arts.cli import EXIT_OK, EXIT_REFUTED, EXIT_UNKNOWN, EXIT_USAGE, verb
from arts.config import Config, load_config
from arts.errors import InputError

GRAPH_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass
class Request:
    """One file to check, with everything the user declared for it."""

    path: str
    name: str | None = None
    inputs: list[str] | None = None
    where: str | None = None
    mode: str = "eval"
    config: Config | None = None
    discovered: bool = False  #: found by a directory walk or a glob (a .py without models is skipped)

    def wheres(self, *more: str | None) -> str | None:
        """``--where`` joined with further constraint strings (config, code)."""
        parts = [w for w in (self.where, *more) if w]
        return ", ".join(parts) if parts else None


Checker = Callable[[Request], list[Any]]

#: suffix -> checker; the one place that knows file kinds (see the module docstring).
CHECKERS: dict[str, Checker] = {}


def register_checker(suffixes: Iterable[str], checker: Checker) -> None:
    """Make ``arts check`` handle files ending in ``suffixes`` with ``checker``."""
    for s in suffixes:
        CHECKERS[s.lower()] = checker


def _suffix(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def _kinds() -> str:
    return ", ".join(sorted(CHECKERS))


# ---- the checkers -------------------------------------------------------------------------------

def _check_graph(req: Request) -> list[Any]:
    if req.name is not None:
        raise InputError("a graph file holds one network: drop ':NAME'", req.path)
    from arts.graph.check import typecheck

    cfg = req.config.target(req.path, None) if req.config else None
    inputs = req.inputs or (cfg.input if cfg else None)
    return [typecheck(req.path, inputs=inputs, where=req.wheres(cfg.where if cfg else None), mode=req.mode,
                      target=req.path)]


def _check_python(req: Request) -> list[Any]:
    from arts.frontends import loader
    from arts.frontends.annotations import forward_shapes, where_of
    from arts.frontends.locations import recording_sites
    from arts.frontends.torch_fx import check_module

    path = req.path
    text = loader._read(path)
    abspath = os.path.abspath(path)
    directory = os.path.dirname(abspath)
    with loader._on_path(directory), recording_sites():
        mod, tree = loader._exec(path, text)
    reports = []
    with loader._on_path(directory):
        if req.name is not None:
            targets = [loader._named_target(mod, tree, req.name, path)]
        else:
            targets, skipped = loader._candidates(mod, tree)
            have = {t.name for t in targets}
            for n in req.config.names_for(path) if req.config else []:
                if n not in have:
                    targets.append(loader._named_target(mod, tree, n, path))
            if not targets:
                if req.discovered:
                    return []
                extra = f" (skipped, needing constructor arguments: {', '.join(skipped)})" if skipped else ""
                raise InputError(f"defines no nn.Module that can be built without arguments{extra}; pick one "
                                 f"with {path}:NAME", path)
        for t in targets:
            module = loader._build(t, path, abspath)
            cfg = req.config.target(path, t.name) if req.config else None
            inputs = req.inputs or (cfg.input if cfg else None) or forward_shapes(module, path) or []
            where = req.wheres(cfg.where if cfg else None, where_of(module))
            with loader.located(path, t.name):
                r = check_module(module, *inputs, where=where, mode=req.mode, target=f"{path}:{t.name}",
                                 file=abspath, aliases={abspath: path})
            reports.append(r)
    return reports


def _check_onnx(req: Request) -> list[Any]:
    """An ONNX model (arts/frontends/onnx.py): parsed only, nothing in the file runs."""
    if req.name is not None:
        raise InputError("an ONNX file holds one network: drop ':NAME'", req.path)
    from arts.frontends.onnx import check_onnx

    cfg = req.config.target(req.path, None) if req.config else None
    inputs = req.inputs or (cfg.input if cfg else None)
    return [check_onnx(req.path, where=req.wheres(cfg.where if cfg else None), inputs=inputs, mode=req.mode)]


register_checker((".py",), _check_python)
register_checker(GRAPH_SUFFIXES, _check_graph)
register_checker((".onnx",), _check_onnx)


# ---- which files ----------------------------------------------------------------------------------

def split_target(text: str) -> tuple[str, str | None]:
    """``model.py:ResNet`` -> (``model.py``, ``ResNet``); a path without ``:NAME`` -> (path, None)."""
    if ":" in text and not os.path.exists(text):
        path, name = text.rsplit(":", 1)
        if not name.replace(".", "_").isidentifier():
            raise InputError(f"{name!r} is not a Python name (expected PATH[:NAME])")
        return path, name
    return text, None


_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages"}


def _walk(directory: str) -> list[str]:
    """Files of a known kind under ``directory``, sorted (hidden and cache directories skipped)."""
    out: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        out.extend(os.path.join(root, f) for f in sorted(files) if _suffix(f) in CHECKERS)
    return out


def expand(text: str) -> list[tuple[str, str | None, bool]]:
    """``(path, name, discovered)`` for one PATH argument: a file, a directory or a glob."""
    out: list[tuple[str, str | None, bool]]
    if any(c in text for c in "*?[") and not os.path.exists(text):
        hits = sorted(globmod.glob(text, recursive=True))
        if not hits:
            raise InputError("the pattern matches no file", text)
        out = []
        for h in hits:
            if os.path.isdir(h):
                out.extend((f, None, True) for f in _walk(h))
            elif _suffix(h) in CHECKERS:
                out.append((h, None, True))
        if not out:
            raise InputError(f"the pattern matches no file arts checks ({_kinds()})", text)
        return out
    path, name = split_target(text)
    if os.path.isdir(path):
        if name is not None:
            raise InputError("is a directory: ':NAME' picks a model in a file", path)
        files = _walk(path)
        if not files:
            raise InputError(f"is a directory holding no file arts checks ({_kinds()})", path)
        return [(f, None, True) for f in files]
    if not os.path.exists(path):
        raise InputError("no such file", path)
    if _suffix(path) not in CHECKERS:
        raise InputError(f"expected a model file (.py), a graph file (.json, .yaml, .yml) or an ONNX model "
                         f"(.onnx); arts checks {_kinds()}", path)
    return [(path, name, False)]


def reports_for(path: str, name: str | None, inputs: list[str] | None, where: str | None, mode: str,
                config: Config | None = None, discovered: bool = False) -> list[Any]:
    """The reports of one file (strict reading)."""
    if os.path.isdir(path):
        raise InputError("is a directory, not a model or graph file", path)
    if not os.path.exists(path):
        raise InputError("no such file", path)
    checker = CHECKERS.get(_suffix(path))
    if checker is None:
        raise InputError("expected a model file (.py), a graph file (.json, .yaml, .yml) or an ONNX model (.onnx)",
                         path)
    return checker(Request(path, name, inputs, where, mode, config, discovered))


# ---- intent -------------------------------------------------------------------------------------

def declares_intent(report: Any) -> bool:
    """Whether sizes were declared for ``report``: constraints, or a fixed size after batch and
    channels in an input shape (``1,3,224,224``; ``N,3,H,W`` fixes rank and channels only)."""
    if report.declared.constraints:
        return True
    for shape in report.inputs.values():
        if any(getattr(e, "is_Integer", isinstance(e, int)) for e in list(shape)[2:]):
            return True
    return False


# ---- the verb -----------------------------------------------------------------------------------

def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", metavar="PATH[:NAME]", nargs="*",
                   help="model files (.py), graph files (.json, .yaml, .yml), directories or globs; "
                        ":NAME picks one model in a .py file (default: [tool.arts] paths in pyproject.toml)")
    p.add_argument("--input", action="append", metavar="SHAPE",
                   help="input shape, e.g. N,3,H,W (one per positional input of forward, in order); "
                        "integers after batch and channels declare sizes")
    p.add_argument("--where", metavar="CONSTRAINTS",
                   help='the sizes the model is meant for, e.g. "H >= 16, H %% 16 == 0, W == H"')
    p.add_argument("--strict", action="store_true",
                   help="every input size must work (default: without declared sizes, report the "
                        "accepted sizes as the signature and fail only on certain bugs)")
    p.add_argument("--mode", choices=("eval", "train"), default="eval",
                   help="also check training-only conditions with --mode train (default: eval)")
    p.add_argument("--emit", choices=("torch-export",),
                   help="print a torch.export dynamic_shapes spec for the target (Python source; JSON with --json)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print a JSON list of reports")
    out.add_argument("--sarif", action="store_true", help="print SARIF 2.1.0 (for code-scanning tools)")


_RANK = {EXIT_OK: 0, EXIT_UNKNOWN: 1, EXIT_REFUTED: 2, EXIT_USAGE: 3}


def _exit_of(report: Any) -> int:
    return {"error": EXIT_REFUTED, "unknown": EXIT_UNKNOWN}.get(report.status, EXIT_OK)


@dataclass
class Run:
    """Everything one ``arts check`` found: reports, and one line per file it could not check."""

    reports: list[Any] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def exit(self) -> int:
        codes = [_exit_of(r) for r in self.reports] + [EXIT_USAGE] * len(self.failures)
        return max(codes, key=lambda c: _RANK[c], default=EXIT_OK)

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for r in self.reports:
            counts[r.status] = counts.get(r.status, 0) + 1
        parts = [f"{counts[s]} {s}" for s in ("ok", "error", "unknown") if counts.get(s)]
        if self.failures:
            parts.append(f"{len(self.failures)} not checked (input error)")
        n = len(self.reports)
        return (f"arts: checked {n} target{'s' if n != 1 else ''} in {self.files} "
                f"file{'s' if self.files != 1 else ''}: {', '.join(parts) or 'nothing'}")


def check_paths(paths: list[str], inputs: list[str] | None = None, where: str | None = None,
                strict: bool = False, mode: str = "eval", config: Config | None = None) -> Run:
    """Check every target of ``paths`` in this process; each report is already judged."""
    if where is not None:
        from arts.cli import _constraints

        _constraints(where)
    run = Run()
    items: list[tuple[str, str | None, bool]] = []
    seen: set[tuple[str, str | None]] = set()
    for text in paths:
        try:
            for path, name, discovered in expand(text):
                key = (os.path.normpath(path), name)
                if key not in seen:
                    seen.add(key)
                    items.append((path, name, discovered))
        except InputError as e:
            if len(paths) == 1:
                raise
            run.failures.append(str(e))
    if len(items) == 1 and not run.failures:  # a single file: its input errors are the run's
        path, name, discovered = items[0]
        run.files = 1
        reports = reports_for(path, name, inputs, where, mode, config, discovered)
        run.reports = [r.judged(declares_intent(r), strict) for r in reports]
        return run
    for path, name, discovered in items:
        try:
            reports = reports_for(path, name, inputs, where, mode, config, discovered)
        except InputError as e:
            run.failures.append(str(e))
            continue
        if reports:
            run.files += 1
        run.reports.extend(r.judged(declares_intent(r), strict) for r in reports)
    return run


@verb("check", "type-check model files (.py), graph files, directories or globs", _configure)
def run_check(args: argparse.Namespace) -> int:
    config = load_config(".")
    paths = list(args.paths)
    if not paths:
        if config is None or not config.paths:
            raise InputError("no PATH given and no [tool.arts] paths in ./pyproject.toml")
        paths = [os.path.join(config.root, p) if not os.path.isabs(p) else p for p in config.paths]
        paths = [os.path.relpath(p) for p in paths]
    strict = bool(args.strict or (config.strict if config else False))
    if args.emit == "torch-export":  # the spec's logic lives in arts/export.py
        if len(paths) != 1:
            raise InputError("--emit torch-export takes one model file (PATH[:NAME])")
        from arts.export import emit_torch_export

        path, name = split_target(paths[0])
        text, _, code = emit_torch_export(path, name, args.input, args.where, as_json=args.json)
        sys.stdout.write(text + "\n")
        return code
    run = check_paths(paths, args.input, args.where, strict, args.mode, config)
    if not run.reports and not run.failures:
        raise InputError("no model to check (no nn.Module that can be built without arguments)",
                         ", ".join(paths))
    for line in run.failures:
        sys.stderr.write(f"arts: error: {' '.join(line.split())}\n")
    if args.sarif:
        from arts.frontends.sarif import to_sarif

        sys.stdout.write(json.dumps(to_sarif(run.reports), indent=2, ensure_ascii=False) + "\n")
    elif args.json:
        sys.stdout.write(json.dumps([r.to_json() for r in run.reports], indent=2, ensure_ascii=False) + "\n")
    else:
        text = "\n\n".join(r.format() for r in run.reports)
        if len(run.reports) + len(run.failures) > 1:
            text += ("\n" if text else "") + run.summary()
        if text:
            sys.stdout.write(text + "\n")
    return run.exit
