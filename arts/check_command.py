"""``arts check PATH[:NAME] [--input SHAPE]... [--where CONSTRAINTS] [--json | --sarif]``.

``PATH`` is a graph file (``.json``, ``.yaml``, ``.yml``: checked by :func:`arts.graph.typecheck`)
or a model file (``.py``: loaded, traced with torch.fx and checked by :mod:`arts.frontends`).
Exit status: 0 well-typed, 1 a type error, 2 usage or input error, 3 unknown.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from arts.cli import EXIT_OK, EXIT_REFUTED, EXIT_UNKNOWN, verb
from arts.errors import InputError

GRAPH_SUFFIXES = (".json", ".yaml", ".yml")


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", metavar="PATH[:NAME]", help="a model file (.py) or a graph file (.json, .yaml, .yml); "
                                                       ":NAME picks one model in a .py file")
    p.add_argument("--input", action="append", metavar="SHAPE",
                   help="input shape, e.g. N,3,H,W (one per positional input of forward, in order)")
    p.add_argument("--where", metavar="CONSTRAINTS", help='e.g. "H >= 16, H % 16 == 0, W == H"')
    p.add_argument("--mode", choices=("eval", "train"), default="eval",
                   help="also check training-only conditions with --mode train (default: eval)")
    # --- hook: torch.export spec (arts/export.py owns the logic) ---
    p.add_argument("--emit", choices=("torch-export",), help="print a torch.export dynamic_shapes spec for the "
                                                             "target (Python source; JSON with --json)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the report as JSON")
    out.add_argument("--sarif", action="store_true", help="print SARIF 2.1.0 (for code-scanning tools)")


def split_target(text: str) -> tuple[str, str | None]:
    """``model.py:ResNet`` -> (``model.py``, ``ResNet``); a path without ``:NAME`` -> (path, None)."""
    if ":" in text and not os.path.exists(text):
        path, name = text.rsplit(":", 1)
        if not name.isidentifier():
            raise InputError(f"{name!r} is not a Python name (expected PATH[:NAME])")
        return path, name
    return text, None


def reports_for(path: str, name: str | None, inputs: list[str] | None, where: str | None, mode: str) -> list[Any]:
    if os.path.isdir(path):
        raise InputError("is a directory, not a model or graph file", path)
    if not os.path.exists(path):
        raise InputError("no such file", path)
    if path.endswith(GRAPH_SUFFIXES):
        if name is not None:
            raise InputError("a graph file holds one network: drop ':NAME'", path)
        from arts.graph.check import typecheck

        return [typecheck(path, inputs=inputs, where=where, mode=mode, target=path)]
    if path.endswith(".onnx"):  # --- hook: the ONNX front end (arts/frontends/onnx.py) ---
        if name is not None:
            raise InputError("an ONNX file holds one network: drop ':NAME'", path)
        from arts.frontends.onnx import check_onnx

        return [check_onnx(path, where=where, inputs=inputs, mode=mode)]
    if path.endswith(".py"):
        from arts.frontends import check_file

        return list(check_file(path, name, inputs, where, mode))
    raise InputError("expected a model file (.py) or a graph file (.json, .yaml, .yml)", path)


@verb("check", "type-check a model file (.py) or a graph file for every input size", _configure)
def run_check(args: argparse.Namespace) -> int:
    path, name = split_target(args.path)
    if getattr(args, "emit", None) == "torch-export":  # --- hook: see arts/export.py ---
        from arts.export import emit_torch_export

        text, _, code = emit_torch_export(path, name, args.input, args.where, as_json=args.json)
        sys.stdout.write(text + "\n")
        return code
    reports = reports_for(path, name, args.input, args.where, args.mode)
    if not reports:
        raise InputError("no model to check (no nn.Module that can be built without arguments)", path)
    if args.sarif:
        from arts.frontends.sarif import to_sarif

        sys.stdout.write(json.dumps(to_sarif(reports), indent=2, ensure_ascii=False) + "\n")
    elif args.json:
        data = [r.to_json() for r in reports]
        sys.stdout.write(json.dumps(data[0] if len(data) == 1 else data, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write("\n\n".join(r.format() for r in reports) + "\n")
    statuses = {r.status for r in reports}
    if "error" in statuses:
        return EXIT_REFUTED
    if "unknown" in statuses:
        return EXIT_UNKNOWN
    return EXIT_OK
