"""The documentation's examples are tests: console transcripts in README.md and docs/*.md, and the
docstring examples of the arts modules.

A ```` ```console ```` block holds ``$ arts ...`` commands (``$ NAME=value arts ...`` sets a
variable for one command), each followed by its exact output and
``[exit N]`` (or ``$ echo $?`` and the status).  A command followed by no output is only shown,
not run (``arts search`` takes minutes).  Commands run from the repository root, where the docs'
``docs/model.py`` and ``examples/`` live.
"""

from __future__ import annotations

import doctest
import importlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: Modules whose docstring examples run here (the torch.fx front end's module docstring is
#: checked by tests/test_frontend_lowering.py's own cases; arts.nas needs the search extras).
DOCTEST_MODULES = [
    "arts.messages", "arts.config", "arts.cli", "arts.check_command", "arts.graph.check", "arts.graph.report",
    "arts.graph.typical", "arts.frontends.annotations", "arts.frontends.sarif", "arts.solver.domain",
    "arts.solver.intset", "arts.solver.simplify", "arts.solver.parse", "arts.ops.base",
]


def _examples() -> list[tuple[str, str, str, int]]:
    """``(where, command, expected output, expected exit)`` for every transcript command."""
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^```console\n(.*?)^```", text, re.S | re.M):
            line0 = text[: m.start()].count("\n") + 2
            lines = m.group(1).splitlines()
            i = 0
            while i < len(lines):
                if not re.match(r"\$ (?:[A-Z_]+=\S+ )*arts ", lines[i]):
                    i += 1
                    continue
                cmd, start = lines[i][2:], i
                i += 1
                body: list[str] = []
                status = None
                while i < len(lines) and not (lines[i].startswith("$ ") and lines[i] != "$ echo $?"):
                    if lines[i] == "$ echo $?" and i + 1 < len(lines):
                        status = int(lines[i + 1])
                        i += 2
                        continue
                    mm = re.fullmatch(r"\[exit (\d+)\]", lines[i])
                    if mm:
                        status = int(mm.group(1))
                    else:
                        body.append(lines[i])
                    i += 1
                if body or status is not None:
                    out.append((f"{path.name}:{line0 + start}", cmd, "\n".join(body), 0 if status is None else status))
    return out


EXAMPLES = _examples()


def test_the_docs_have_transcripts():
    assert len(EXAMPLES) >= 10
    assert any("docs/model.py" in cmd for _, cmd, _, _ in EXAMPLES)


@pytest.mark.parametrize("where,cmd,expected,status", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_console_example(where, cmd, expected, status):
    argv = shlex.split(cmd)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    while "=" in argv[0]:  # ``ARTS_MAX_CAPTURES=1 arts check ...``: the environment of that command
        name, _, value = argv.pop(0).partition("=")
        env[name] = value
    assert argv[0] == "arts"
    proc = subprocess.run([sys.executable, "-m", "arts", *argv[1:]], cwd=ROOT, capture_output=True, text=True,
                          env=env, check=False, timeout=600)
    got = (proc.stdout + proc.stderr).rstrip("\n")
    assert got == expected.rstrip("\n"), f"{where}: $ {cmd}"
    assert proc.returncode == status, f"{where}: $ {cmd}"


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, name
