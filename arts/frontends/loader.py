"""Load a model file the way ``python model.py`` would, find its models, check each one.

``check_file("model.py", name=None, inputs=None, where=None)`` runs the file as a module (its
directory first on ``sys.path``, ``__name__`` set to the file's stem -- never ``"__main__"``, so an
``if __name__ == "__main__":`` block does not run), then collects the *targets*: objects defined
in that file that are

* an ``nn.Module`` subclass that can be built without arguments,
* a function returning an ``nn.Module`` (called without arguments), or
* a module-level ``nn.Module`` instance.

``PATH:NAME`` picks one; without a name, every such object is checked -- classes that need
constructor arguments are skipped, and a function is only called when it visibly returns a
module (a return annotation, or ``return SomeModuleClass(...)``), so ``main()`` or ``train()``
never runs.  Every problem with the file itself is an :class:`~arts.errors.InputError` with the
file (and line) it concerns -- never a traceback.
"""

from __future__ import annotations

import ast
import contextlib
import importlib.util
import inspect
import io
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from arts.errors import InputError
from arts.graph.report import Report
from arts.messages import a_or_an

__all__ = ["MAX_BYTES", "Target", "check_file", "load_targets"]

#: Largest model file arts will run.
MAX_BYTES = 5 * 1024 * 1024


@dataclass
class Target:
    name: str
    kind: str  # "class" | "function" | "instance"
    obj: Any
    line: int | None = None


def _read(path: str) -> str:
    if not isinstance(path, str) or not path:
        raise InputError("no model file given")
    if not os.path.exists(path):
        raise InputError("no such file", path)
    if os.path.isdir(path):
        raise InputError("is a directory; give a model file (model.py or model.py:Name)", path)
    if not path.endswith(".py"):
        raise InputError("not a Python file (.py); graph files are .json, .yaml or .yml", path)
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise InputError(f"file is too large ({size / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB)", path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"cannot read the file: {e.strerror or e}", path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8 text (byte {e.start})", path) from None
    if "\x00" in text:
        raise InputError("binary file (contains NUL bytes), not Python source", path)
    return text


def _top_level_names(tree: ast.Module) -> dict[str, int]:
    """Names bound at the top level of the file (assignments, defs, classes) and their lines."""
    out: dict[str, int] = {}

    def bind(t: ast.AST, line: int) -> None:
        if isinstance(t, ast.Name):
            out.setdefault(t.id, line)
        elif isinstance(t, (ast.Tuple, ast.List)):
            for e in t.elts:
                bind(e, line)

    def visit(body: Sequence[ast.stmt]) -> None:
        for st in body:
            if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.setdefault(st.name, st.lineno)
            elif isinstance(st, ast.Assign):
                for t in st.targets:
                    bind(t, st.lineno)
            elif isinstance(st, (ast.AnnAssign, ast.AugAssign)):
                bind(st.target, st.lineno)
            elif isinstance(st, (ast.If, ast.Try, ast.With)):
                for part in ("body", "orelse", "finalbody"):
                    visit(getattr(st, part, []) or [])
                for h in getattr(st, "handlers", []) or []:
                    visit(h.body)

    visit(tree.body)
    return out


def _module_name(path: str) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    safe = "".join(c if c.isalnum() or c == "_" else "_" for c in stem) or "model"
    if safe[0].isdigit():
        safe = "_" + safe
    name = safe
    k = 1
    while name in sys.modules:
        k += 1
        name = f"{safe}_arts{k}"
    return name


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """The model file may print; keep stdout clean for --json/--sarif output."""
    with contextlib.redirect_stdout(sys.stderr if sys.stderr is not None else io.StringIO()):
        yield


def _located(path: str, abspath: str, tb: Any) -> str:
    from arts.frontends.locations import frame_site

    site = frame_site(tb, prefer=abspath)
    if site is not None and site.file == abspath:
        return f"{path}:{site.line}"
    if site is not None:
        from arts.frontends.locations import display_path

        return f"{display_path(site.file)}:{site.line}"
    return path


def _exec(path: str, text: str) -> tuple[Any, ast.Module]:
    abspath = os.path.abspath(path)
    try:
        tree = ast.parse(text, filename=path)
        code = compile(tree, abspath, "exec")
    except SyntaxError as e:
        line = e.lineno or 0
        where = f"{path}:{line}" if line else path
        detail = f": {e.text.strip()}" if e.text and e.text.strip() else ""
        raise InputError(f"syntax error: {e.msg}{detail}", where) from None
    except ValueError as e:  # e.g. source with NUL bytes
        raise InputError(f"cannot compile: {e}", path) from None
    if not tree.body or all(isinstance(st, ast.Expr) and isinstance(st.value, ast.Constant) for st in tree.body):
        raise InputError("the file is empty: it defines no nn.Module", path)
    name = _module_name(path)
    spec = importlib.util.spec_from_loader(name, loader=None, origin=abspath)
    assert spec is not None
    mod = importlib.util.module_from_spec(spec)
    mod.__file__ = abspath
    sys.modules[name] = mod
    try:
        with _stdout_to_stderr():
            exec(code, mod.__dict__)  # noqa: S102 - running the user's model file is the point
    except SystemExit as e:
        sys.modules.pop(name, None)
        raise InputError(f"the file called sys.exit({e.code!r}) when run as a module", path) from None
    except ImportError as e:
        sys.modules.pop(name, None)
        what = f"cannot import {e.name!r}" if getattr(e, "name", None) else "import failed"
        raise InputError(f"{what}: {e}", _located(path, abspath, e.__traceback__)) from None
    except Exception as e:  # noqa: BLE001 - any error of the user's code is an input error
        sys.modules.pop(name, None)
        raise InputError(f"running the file raised {type(e).__name__}: {e}",
                         _located(path, abspath, e.__traceback__)) from None
    return mod, tree


def _required_args(fn: Callable[..., Any]) -> list[str]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    return [p.name for p in sig.parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _returns_module(fn: Any, mod: Any, tree: ast.Module) -> bool:
    """Whether ``fn`` visibly returns an nn.Module: by annotation, or by ``return SomeModule(...)``."""
    from torch import nn

    ann = getattr(fn, "__annotations__", {}).get("return")
    if isinstance(ann, str):
        ann = mod.__dict__.get(ann.split(".")[-1], getattr(nn, ann.split(".")[-1], None))
    if isinstance(ann, type) and issubclass(ann, nn.Module):
        return True
    for st in tree.body:
        if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef)) and st.name == fn.__name__:
            for r in ast.walk(st):
                if isinstance(r, ast.Return) and isinstance(r.value, ast.Call):
                    f = r.value.func
                    cname = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                    obj = mod.__dict__.get(cname) if cname else None
                    if obj is None and isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and \
                            f.value.id == "nn":
                        obj = getattr(nn, f.attr, None)
                    if isinstance(obj, type) and issubclass(obj, nn.Module):
                        return True
    return False


def _candidates(mod: Any, tree: ast.Module) -> tuple[list[Target], list[str]]:
    """(targets defined in the file, descriptions of module classes skipped for needing arguments)."""
    from torch import nn

    names = _top_level_names(tree)
    out: list[Target] = []
    skipped: list[str] = []
    for n, line in sorted(names.items(), key=lambda kv: kv[1]):
        if n.startswith("__") or n not in mod.__dict__:
            continue
        obj = mod.__dict__[n]
        if isinstance(obj, type) and issubclass(obj, nn.Module):
            if obj.__module__ != mod.__name__:
                continue  # imported, not defined here
            req = _required_args(obj)
            if req:
                skipped.append(f"{n} (needs {', '.join(req)})")
                continue
            out.append(Target(n, "class", obj, line))
        elif inspect.isfunction(obj) and obj.__module__ == mod.__name__:
            if not _required_args(obj) and _returns_module(obj, mod, tree):
                out.append(Target(n, "function", obj, line))
        elif isinstance(obj, nn.Module):
            out.append(Target(n, "instance", obj, line))
    return out, skipped


def _describe(mod: Any, tree: ast.Module) -> str:
    from torch import nn

    names = _top_level_names(tree)
    parts = []
    for n in sorted(names, key=lambda k: names[k]):
        if n.startswith("_") or n not in mod.__dict__:
            continue
        obj = mod.__dict__[n]
        if isinstance(obj, type) and issubclass(obj, nn.Module):
            parts.append(f"{n} (nn.Module class)")
        elif inspect.isfunction(obj):
            parts.append(f"{n} (function)")
        elif isinstance(obj, nn.Module):
            parts.append(f"{n} (nn.Module instance)")
    return ", ".join(parts) if parts else "nothing arts can check"


def _named_target(mod: Any, tree: ast.Module, name: str, path: str) -> Target:
    from torch import nn

    names = _top_level_names(tree)
    obj: Any = mod.__dict__
    parts = name.split(".")
    for i, part in enumerate(parts):
        container = obj
        obj = container.get(part) if isinstance(container, dict) else getattr(container, part, None)
        if obj is None and not (isinstance(container, dict) and part in container):
            shown = ".".join(parts[: i + 1])
            raise InputError(f"no {shown!r} in this file; it defines: {_describe(mod, tree)}", path)
    line = names.get(parts[0])
    if isinstance(obj, type) and issubclass(obj, nn.Module):
        req = _required_args(obj)
        if req:
            raise InputError(f"{name}() needs constructor argument(s) {', '.join(req)}; arts builds models without "
                             f"arguments -- give them defaults, or add a function that returns a built model "
                             f"(def make(): return {name}(...)) and check PATH:make",
                             f"{path}:{line}" if line else path)
        return Target(name, "class", obj, line)
    if isinstance(obj, nn.Module):
        return Target(name, "instance", obj, line)
    if callable(obj) and not isinstance(obj, type):
        req = _required_args(obj)
        if req:
            raise InputError(f"{name}() needs argument(s) {', '.join(req)}; arts calls it without arguments",
                             f"{path}:{line}" if line else path)
        return Target(name, "function", obj, line)
    kind = "class" if isinstance(obj, type) else type(obj).__name__
    raise InputError(f"{name} is {a_or_an(kind)}, not an nn.Module subclass, a function returning one, or an "
                     f"nn.Module instance", f"{path}:{line}" if line else path)


def _build(t: Target, path: str, abspath: str) -> Any:
    from torch import nn

    from arts.frontends.locations import recording_sites

    if t.kind == "instance":
        return t.obj
    try:
        with _stdout_to_stderr(), recording_sites():
            obj = t.obj()
    except Exception as e:  # noqa: BLE001 - the user's constructor failed
        raise InputError(f"building {t.name}() raised {type(e).__name__}: {e}",
                         _located(path, abspath, e.__traceback__)) from None
    if not isinstance(obj, nn.Module):
        raise InputError(f"{t.name}() returned a {type(obj).__name__}, not an nn.Module",
                         f"{path}:{t.line}" if t.line else path)
    return obj


@contextlib.contextmanager
def located(path: str, name: str) -> Iterator[None]:
    """Name the target ``path:name`` in an InputError raised without a location of its own (one
    already pointing into the file, ``path:line``, is kept)."""
    try:
        yield
    except InputError as e:
        if e.where and (e.where.startswith(path) or ":" in e.where):
            raise
        raise e.located(f"{path}:{name}") from None


@contextlib.contextmanager
def _on_path(directory: str) -> Iterator[None]:
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        try:
            sys.path.remove(directory)
        except ValueError:
            pass


def load_targets(path: str, name: str | None = None) -> list[tuple[Target, Any]]:
    """Run ``path`` and build its targets: a list of (target, nn.Module)."""
    import torch  # noqa: F401 - fail early and clearly if torch is missing

    from arts.frontends.locations import recording_sites

    text = _read(path)
    abspath = os.path.abspath(path)
    with _on_path(os.path.dirname(abspath)), recording_sites():
        mod, tree = _exec(path, text)
    with _on_path(os.path.dirname(abspath)):
        if name is not None:
            if not name.replace(".", "").replace("_", "").isalnum():
                raise InputError(f"malformed name {name!r} (expected PATH:NAME with NAME a Python name)")
            targets = [_named_target(mod, tree, name, path)]
        else:
            targets, skipped = _candidates(mod, tree)
            if not targets:
                extra = f" (skipped, needing constructor arguments: {', '.join(skipped)})" if skipped else ""
                raise InputError(f"defines no nn.Module that can be built without arguments{extra}; pick one "
                                 f"with {path}:NAME", path)
        return [(t, _build(t, path, abspath)) for t in targets]


def check_file(path: str, name: str | None = None, inputs: list[str] | None = None, where: Any = None,
               mode: str = "eval") -> list[Report]:
    """Check every target of a model file (or the one called ``name``); one report each.

    ``inputs``: SHAPE strings, one per tensor input of ``forward`` (None: guessed from the first
    layer, with a note saying so).
    """
    from arts.frontends.torch_fx import check_module

    if path and name is None and ":" in os.path.basename(path) and not os.path.exists(path):
        path, name = path.rsplit(":", 1)
    abspath = os.path.abspath(path) if isinstance(path, str) else path
    reports = []
    aliases = {abspath: path}
    for t, module in load_targets(path, name):
        with _on_path(os.path.dirname(abspath)), located(path, t.name):
            r = check_module(module, *(inputs or []), where=where, mode=mode, target=f"{path}:{t.name}",
                             file=abspath, aliases=aliases)
        reports.append(r)
    return reports


_ = traceback
