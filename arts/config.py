"""``[tool.arts]`` in ``pyproject.toml``: what ``arts check`` checks, and the intent of each target.

The contract (DESIGN.md §4)::

    [tool.arts]
    paths = ["models/"]          # what `arts check` with no PATH checks
    strict = false               # optional: every size must work (as --strict)
    [tool.arts.targets."models/unet.py:UNet"]
    input = ["N,3,H,W"]          # one SHAPE per tensor input of forward (a string for one input)
    where = "H % 16 == 0, W % 16 == 0"

Target keys are ``PATH:NAME`` (a model in a ``.py`` file) or ``PATH`` (a graph file, or every
model of a ``.py`` file), relative to the directory holding ``pyproject.toml``.  Every mistake in
the table -- a key arts does not know, a value of the wrong type, a target naming a file that does
not exist -- is an :class:`~arts.errors.InputError` naming ``pyproject.toml`` and the key (exit 2).

>>> import arts, os
>>> root = os.path.dirname(os.path.dirname(arts.__file__))
>>> cfg = parse_config({"paths": ["examples/"], "targets": {"examples/unet.json": {"where": "H >= 2"}}}, root)
>>> cfg.paths, cfg.target(os.path.join(root, "examples", "unet.json"), None).where
(['examples/'], 'H >= 2')
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

from arts.errors import InputError

__all__ = ["Config", "TargetConfig", "find_config", "load_config", "parse_config"]

_TOP_KEYS = {"paths", "strict", "targets"}
_TARGET_KEYS = {"input", "where"}


@dataclass(frozen=True)
class TargetConfig:
    """The declared intent for one target: input shapes and constraints (either may be absent)."""

    input: list[str] | None = None
    where: str | None = None


@dataclass
class Config:
    root: str  #: the directory holding pyproject.toml; config paths are relative to it
    file: str  #: the pyproject.toml path, for messages
    paths: list[str] = field(default_factory=list)
    strict: bool = False
    targets: dict[str, TargetConfig] = field(default_factory=dict)

    def key(self, path: str, name: str | None) -> str:
        """The target key of ``path[:name]`` as written in the table (relative, ``/``-separated)."""
        rel = os.path.relpath(os.path.abspath(path), self.root).replace(os.sep, "/")
        return f"{rel}:{name}" if name else rel

    def target(self, path: str, name: str | None) -> TargetConfig | None:
        """The entry for ``path:name``, else for the whole file ``path``; None if neither."""
        if name is not None:
            t = self.targets.get(self.key(path, name))
            if t is not None:
                return t
        return self.targets.get(self.key(path, None))

    def names_for(self, path: str) -> list[str]:
        """The NAMEs configured for ``path`` (``PATH:NAME`` keys), in table order."""
        rel = self.key(path, None)
        return [k.rsplit(":", 1)[1] for k in self.targets if ":" in k and k.rsplit(":", 1)[0] == rel]


def _read_toml(path: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise InputError("reading pyproject.toml on Python 3.10 needs the 'tomli' package "
                             "(pip install tomli)", path) from None
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", path) from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"malformed TOML: {e}", path) from None


def _strings(value: Any, what: str, file: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise InputError(f"{what} must be a string or a non-empty list of strings, got {value!r}", file)


def parse_config(table: Any, root: str, file: str = "pyproject.toml") -> Config:
    """Check and convert a ``[tool.arts]`` table."""
    where = f"{file}: [tool.arts]"
    if not isinstance(table, dict):
        raise InputError("must be a table", where)
    extra = sorted(set(table) - _TOP_KEYS)
    if extra:
        raise InputError(f"unknown key(s) {', '.join(extra)} (known: {', '.join(sorted(_TOP_KEYS))})", where)
    paths = _strings(table["paths"], "paths", where) if "paths" in table else []
    strict = table.get("strict", False)
    if not isinstance(strict, bool):
        raise InputError(f"strict must be true or false, got {strict!r}", where)
    targets: dict[str, TargetConfig] = {}
    raw = table.get("targets", {})
    if not isinstance(raw, dict):
        raise InputError("targets must be a table of tables ([tool.arts.targets.\"PATH:NAME\"])", where)
    for key, entry in raw.items():
        at = f'{file}: [tool.arts.targets."{key}"]'
        if not isinstance(entry, dict):
            raise InputError("must be a table with 'input' and/or 'where'", at)
        bad = sorted(set(entry) - _TARGET_KEYS)
        if bad:
            raise InputError(f"unknown key(s) {', '.join(bad)} (known: input, where)", at)
        inputs = _strings(entry["input"], "input", at) if "input" in entry else None
        w = entry.get("where")
        if w is not None:
            w = ", ".join(_strings(w, "where", at))
        path = key.rsplit(":", 1)[0] if ":" in key and not os.path.exists(os.path.join(root, key)) else key
        if not os.path.exists(os.path.join(root, path)):
            raise InputError(f"no such file: {path}", at)
        if inputs is not None:
            from arts.solver.symbols import parse_shape

            for s in inputs:
                try:
                    parse_shape(s)
                except InputError as e:
                    raise InputError(e.message, f"{at} input") from None
        if w is not None:
            from arts.solver.parse import parse_constraints

            try:
                parse_constraints(w)
            except InputError as e:
                raise InputError(e.message, f"{at} where") from None
        targets[key.replace(os.sep, "/")] = TargetConfig(inputs, w)
    return Config(root, file, paths, strict, targets)


def find_config(directory: str = ".") -> str | None:
    """``pyproject.toml`` in ``directory`` if it has a ``[tool.arts]`` table, else None."""
    path = os.path.join(directory, "pyproject.toml")
    if not os.path.isfile(path):
        return None
    data = _read_toml(path)
    return path if isinstance(data.get("tool"), dict) and "arts" in data["tool"] else None


def load_config(directory: str = ".") -> Config | None:
    """The ``[tool.arts]`` table of ``directory/pyproject.toml``; None when there is none."""
    path = find_config(directory)
    if path is None:
        return None
    data = _read_toml(path)
    shown = os.path.relpath(path) if not os.path.isabs(directory) else path
    return parse_config(data["tool"]["arts"], os.path.abspath(directory), shown)
