"""Where in the user's code a node came from: fx stack traces, construction sites of layers.

``user_frame`` reads a ``node.stack_trace`` (innermost frame last) and returns the innermost
frame that is the user's: not torch, not arts, not the standard library -- preferring frames in
the model file being checked.  ``recording_sites`` records, while models are built, the line
that constructed each ``nn.Module`` (``self.conv1 = nn.Conv2d(...)``), so a diagnostic on a layer
can say where the layer was defined as well as where it was called.
"""

from __future__ import annotations

import contextlib
import linecache
import functools
import os
import re
import sys
import sysconfig
import weakref
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, NamedTuple

_FRAME = re.compile(r'^\s*File "(.+)", line (\d+), in (.+)$')


class Site(NamedTuple):
    file: str  # absolute path
    line: int
    source: str | None


@lru_cache(maxsize=1)
def _internal_dirs() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(package dirs that are always internal, standard-library dirs)."""
    import torch

    import arts

    pkgs = [os.path.dirname(os.path.abspath(torch.__file__)), os.path.dirname(os.path.abspath(arts.__file__))]
    std = []
    for key in ("stdlib", "platstdlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            std.append(os.path.abspath(p))
    return tuple(d + os.sep for d in pkgs), tuple(d + os.sep for d in std)


@functools.lru_cache(maxsize=4096)
def is_internal(path: str) -> bool:
    """Frames of torch, arts, the standard library, or synthetic code (``<string>``).

    Third-party packages (site-packages) are not internal: a model may live in one.
    """
    if not path or path.startswith("<"):
        return True
    p = os.path.abspath(path)
    pkgs, std = _internal_dirs()
    if p.startswith(pkgs):
        return True
    return p.startswith(std) and (os.sep + "site-packages" + os.sep) not in p and (
        os.sep + "dist-packages" + os.sep) not in p


def source_line(file: str, line: int) -> str | None:
    text = linecache.getline(file, line)
    return text.rstrip("\n") if text.strip() else None


def user_frames(stack_trace: str | None) -> list[Site]:
    """The user frames of an fx stack trace, outermost first."""
    if not stack_trace:
        return []
    frames: list[Site] = []
    lines = stack_trace.splitlines()
    for i, text in enumerate(lines):
        m = _FRAME.match(text)
        if not m:
            continue
        file, line = m.group(1), int(m.group(2))
        src = None
        if i + 1 < len(lines) and not _FRAME.match(lines[i + 1]):
            src = lines[i + 1].rstrip() or None
        path = os.path.abspath(file) if not file.startswith("<") else file
        if not is_internal(path):
            frames.append(Site(path, line, source_line(path, line) or src))
    return frames


def user_frame(stack_trace: str | None, prefer: str | None = None) -> Site | None:
    """The innermost user frame of an fx stack trace (``prefer``: an absolute path to favour)."""
    user = user_frames(stack_trace)
    if prefer is not None:
        mine = [f for f in user if f.file == prefer]
        if mine:
            user = mine
    return user[-1] if user else None


def frame_site(tb: Any, prefer: str | None = None) -> Site | None:
    """The innermost user frame of a traceback object."""
    best: Site | None = None
    preferred: Site | None = None
    while tb is not None:
        code = tb.tb_frame.f_code
        file = os.path.abspath(code.co_filename) if not code.co_filename.startswith("<") else code.co_filename
        if not is_internal(file):
            best = Site(file, tb.tb_lineno, source_line(file, tb.tb_lineno))
            if prefer is not None and file == prefer:
                preferred = best
        tb = tb.tb_next
    return preferred or best


# ---- construction sites of layers ---------------------------------------------------------------

_SITES: weakref.WeakKeyDictionary[Any, Site] = weakref.WeakKeyDictionary()


def site_of(module: Any) -> Site | None:
    """Where ``module`` was constructed, if it was built while :func:`recording_sites` was active."""
    try:
        return _SITES.get(module)
    except TypeError:
        return None


@contextlib.contextmanager
def recording_sites() -> Iterator[None]:
    """Record the user line that constructs each ``nn.Module`` built inside this block."""
    from torch import nn

    original = nn.Module.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        f = sys._getframe(1)
        while f is not None:
            file = f.f_code.co_filename
            if not is_internal(file):
                ab = os.path.abspath(file)
                try:
                    _SITES[self] = Site(ab, f.f_lineno, source_line(ab, f.f_lineno))
                except TypeError:
                    pass
                break
            f = f.f_back  # type: ignore[assignment]

    nn.Module.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.__init__ = original  # type: ignore[method-assign]


def display_path(path: str, aliases: dict[str, str] | None = None) -> str:
    """How to print a file: the user's own spelling when known, else relative to the cwd."""
    if aliases and path in aliases:
        return aliases[path]
    if path.startswith("<"):
        return path
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith(".." + os.sep) else rel
