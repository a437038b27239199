"""Checker cases as data files (mypy style).

A file ``tests/data/check-*.test`` holds cases::

    [case residual_block_breaks_at_odd_sizes]
    x: N,16,H,W
    where: H >= 2, W >= 2
    main = conv2d(16, 16, kernel_size=3, stride=2, padding=1)(x)
    short = avg_pool2d(kernel_size=2)(x)
    y = add()(main, short)          # E: broadcast
    out: y
    domain: ((H ≥ 4 and H ≡ 0 (mod 2)) or 2 ≤ H ≤ 3) and ...

Each node line is ``NAME = OP(params)(ARGS)``; the expected diagnostic codes are written inline
(``# E: message [code]`` for an error, ``# W: message [code]`` for a warning; the message text is
asserted exactly, and ``# E: code`` alone checks the code only) on the line of the node that fails.
``domain:`` (optional) is the exact accepted domain; ``status:`` (optional) the report status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from arts.graph.graph import GraphBuilder
from arts.ops.base import parse_op

DATA = Path(__file__).parent / "data"

_NODE = re.compile(r"^(\w+)\s*=\s*(.+?\))\s*\(([^()]*)\)\s*(?:#\s*([EW]):\s*(.+?))?\s*$")
_MESSAGE = re.compile(r"^(.*\S)\s+\[([\w-]+)\]$")


@dataclass
class Case:
    name: str
    file: str
    line: int
    builder: GraphBuilder
    expected: set = field(default_factory=set)  # {(severity, node, code)}
    messages: dict = field(default_factory=dict)  # {(node, code): message text}, when written
    domain: str | None = None
    status: str | None = None


def load_cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(DATA.glob("check-*.test")):
        cur: Case | None = None
        for i, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.rstrip()
            if not line.strip() or line.lstrip().startswith("--"):
                continue
            m = re.match(r"^\[case ([\w-]+)\]$", line)
            if m:
                cur = Case(m.group(1), path.name, i, GraphBuilder())
                cases.append(cur)
                continue
            assert cur is not None, f"{path.name}:{i}: text before the first [case]"
            if line.startswith("domain:"):
                cur.domain = line.split(":", 1)[1].strip()
            elif line.startswith("status:"):
                cur.status = line.split(":", 1)[1].strip()
            elif line.startswith("where:"):
                cur.builder.where(line.split(":", 1)[1].strip())
            elif line.startswith("out:"):
                cur.builder.output(*[x.strip() for x in line.split(":", 1)[1].split(",")])
            elif (m := _NODE.match(line)):
                name, op, args, sev, note = m.groups()
                cur.builder.add(parse_op(op), *[a.strip() for a in args.split(",") if a.strip()], name=name)
                if sev:
                    mm = _MESSAGE.match(note)
                    code = mm.group(2) if mm else note
                    if mm:
                        cur.messages[(name, code)] = mm.group(1)
                    cur.expected.add(({"E": "error", "W": "warning"}[sev], name, code))
            elif (m := re.match(r"^(\w+)\s*:\s*(.+)$", line)):
                cur.builder.input(m.group(1), m.group(2).strip())
            else:
                raise AssertionError(f"{path.name}:{i}: cannot read {line!r}")
    return cases
