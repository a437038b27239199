"""The ``arts`` command line (DESIGN.md §4).

Every verb is one :class:`Verb`: a name, a one-line help, a function that adds the verb's
options to its ``argparse`` sub-parser, and a function that runs it and returns the exit status.
Verbs are listed in :data:`VERBS` in the order ``arts --help`` shows them.

**Adding a verb.**  Write ``_configure_NAME(parser)`` and ``run_NAME(args) -> int`` and decorate
the runner with ``@verb("NAME", "one-line help", _configure_NAME)`` -- here, or in a module of
your own that you list in :data:`VERB_MODULES` (imported when the parser is built).  Import heavy
libraries (torch) inside ``run_NAME`` so that ``arts equiv`` stays fast to start.
Raise :class:`~arts.errors.InputError` for anything the user got wrong; :func:`main` prints it
as one line and exits 2.

Exit statuses (the contract):

====  ==========================================================================
0     success; the relation holds (proven)
1     the relation is refuted (a counterexample is printed)
2     usage or input error (one line on stderr: ``arts: error: ...``)
3     unknown (the decision needs something arts cannot model exactly)
4     internal error (a bug in arts; ``ARTS_DEBUG=1`` shows the traceback)
====  ==========================================================================
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

from arts.errors import ArtsError, InputError, Unsupported

EXIT_OK = 0
EXIT_REFUTED = 1
EXIT_USAGE = 2
EXIT_UNKNOWN = 3
EXIT_INTERNAL = 4

PROG = "arts"


# ---- verb registry ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Verb:
    """One subcommand: ``configure`` adds its arguments, ``run`` returns the exit status."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


#: The registration point: every verb of ``arts``, in help order.
VERBS: list[Verb] = []

#: Modules (dotted names) whose import registers more verbs with :func:`verb`.
VERB_MODULES: list[str] = ["arts.check_command"]

#: Modules with ``register(subparsers)`` that add their own verbs (each sets ``func=handler``).
REGISTRAR_MODULES: list[str] = ["arts.nas.commands"]


def verb(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None]) -> Callable:
    """Decorator registering ``run(args) -> int`` as the verb ``name``."""

    def register(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
        if any(v.name == name for v in VERBS):
            raise RuntimeError(f"arts verb {name!r} registered twice")
        VERBS.append(Verb(name, help, configure, run))
        return run

    return register


# ---- argparse with one-line errors ------------------------------------------------------------

class UsageError(Exception):
    """A command-line usage error found by argparse (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("neuralarts")
    except PackageNotFoundError:  # running from a checkout
        import arts

        return str(getattr(arts, "__version__", "unknown"))


def build_parser() -> argparse.ArgumentParser:
    """The full parser: every registered verb as a sub-parser."""
    for mod in VERB_MODULES:
        importlib.import_module(mod)
    parser = _Parser(prog=PROG, description="arts: the Neural Architecture Type System -- symbolic "
                                             "shape types for neural-network operations and graphs.",
                     epilog="exit status: 0 holds/success, 1 refuted, 2 usage or input error, "
                            "3 unknown, 4 internal error")
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for v in VERBS:
        p = sub.add_parser(v.name, help=v.help, description=v.help)
        v.configure(p)
        p.set_defaults(_run=v.run)
    for mod in REGISTRAR_MODULES:
        try:
            registrar = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if not (e.name and (mod == e.name or mod.startswith(e.name + "."))):
                raise
            continue  # that part of arts is not installed
        registrar.register(sub)
    return parser


# ---- output helpers ---------------------------------------------------------------------------

def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


class RawJSON(str):
    """Text that is already JSON (an op object rendered once and repeated many times)."""


_SCALARS = (str, int, float, bool, type(None))


def _flat(obj: Any) -> bool:
    """A container of plain scalars: printed on one line."""
    vals = obj.values() if isinstance(obj, dict) else obj
    return all(type(v) in _SCALARS for v in vals)


def _json_lines(obj: Any, indent: str, out: list[str], head: str, tail: str) -> None:
    """Indented JSON, every container of scalars on one line, written by json's C encoder (which
    ``indent=`` would switch off: 100,000 op objects print in a fraction of a second)."""
    if isinstance(obj, RawJSON):
        out.append(f"{indent}{head}{obj}{tail}")
    elif not isinstance(obj, (dict, list)) or not obj or _flat(obj):
        out.append(f"{indent}{head}{json.dumps(obj, ensure_ascii=False)}{tail}")
    elif isinstance(obj, dict):
        out.append(f"{indent}{head}{{")
        last = len(obj) - 1
        for n, (k, v) in enumerate(obj.items()):
            _json_lines(v, indent + "  ", out, json.dumps(str(k), ensure_ascii=False) + ": ",
                        "," if n < last else "")
        out.append(f"{indent}}}{tail}")
    else:
        out.append(f"{indent}{head}[")
        last = len(obj) - 1
        for n, v in enumerate(obj):
            _json_lines(v, indent + "  ", out, "", "," if n < last else "")
        out.append(f"{indent}]{tail}")


def _emit_json(obj: Any) -> None:
    lines: list[str] = []
    _json_lines(obj, "", lines, "", "")
    _out("\n".join(lines))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _point(p: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in p.items())


def _verdict_lines(name: str, v: Any) -> list[str]:
    """``type: refuted — counterexample: N=1, ...`` and the reason, indented."""
    head = f"{name}: {v.status.value}"
    if v.counterexample:
        head += f" — counterexample: {_point(v.counterexample)}"
    return [head] + [f"    {line}" for line in str(v.reason).splitlines()]


def _exit_for(v: Any) -> int:
    if v.is_proven:
        return EXIT_OK
    if v.is_refuted:
        return EXIT_REFUTED
    return EXIT_UNKNOWN


# ---- reading the user's arguments -------------------------------------------------------------

def _op(text: str) -> Any:
    from arts.ops.fastparse import parse_op_fast

    return parse_op_fast(text)


def _shapes(items: Sequence[str] | None) -> list[tuple] | None:
    """``--input`` values -> a list of shapes (None: the op's default input)."""
    if not items:
        return None
    from arts.solver.symbols import parse_shape

    out = []
    for text in items:
        try:
            out.append(parse_shape(text))
        except InputError as e:
            raise e.located("--input") from None
    return out


def _constraints(text: str | None) -> str | None:
    """Check ``--where`` here, so that its errors name the flag; the text goes on to the API."""
    if text is None:
        return None
    from arts.solver.parse import parse_constraints

    try:
        parse_constraints(text)
    except InputError as e:
        raise e.located("--where") from None
    return text


def _sizes(text: str | None, op: Any, shapes: list[tuple] | None) -> dict[str, int] | None:
    if text is None:
        return None
    from arts.solver.parse import parse_assignment

    try:
        point = parse_assignment(text)
    except InputError as e:
        raise e.located("--at") from None
    known: list[str] = []
    for s in shapes if shapes is not None else op.default_input():
        for dim in s:
            known.extend(x.name for x in sorted(dim.free_symbols, key=lambda t: t.name) if x.name not in known)
    extra = [k for k in point if k not in known]
    if extra:
        raise InputError(f"{', '.join(extra)} {'is' if len(extra) == 1 else 'are'} not a symbol of the input "
                         f"(symbols: {', '.join(known) or 'none'})", "--at")
    missing = [k for k in known if k not in point]
    if missing:
        raise InputError(f"give a size for every symbol of the input; missing {', '.join(missing)} "
                         f"(or fix them with --input, e.g. 1,3,H,W)", "--at")
    return point


def _add_relation_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("op_a", metavar="OP_A", help="first op, e.g. 'conv2d(kernel_size=3, padding=1)'")
    p.add_argument("op_b", metavar="OP_B", help="second op")
    p.add_argument("--input", metavar="SHAPE", action="append",
                   help="input shape, comma-separated sizes and symbols (default: N,C,H,W for 2-d ops); "
                        "one per positional input of OP_A")
    p.add_argument("--where", metavar="CONSTRAINTS",
                   help="conditions on the input sizes, e.g. 'H >= 16, H %% 16 == 0, W == H'")


# ---- arts equiv -------------------------------------------------------------------------------

def _configure_equiv(p: argparse.ArgumentParser) -> None:
    _add_relation_args(p)
    p.add_argument("--at", metavar="SIZES",
                   help="also decide instant-equivalence at these sizes, e.g. 'N=1,C=3,H=32,W=32' "
                        "(every symbol of the input); the exit status then follows 'instant'")
    p.add_argument("--json", action="store_true", help="print the verdicts as JSON")


@verb("equiv", "decide complete-, type- and instant-equivalence of two ops (Defs 1-3)", _configure_equiv)
def run_equiv(args: argparse.Namespace) -> int:
    """Exit by the ``type`` verdict, or by ``instant`` when ``--at`` is given."""
    from arts.ops.relations import Equivalence, complete_equivalence, equivalent
    from arts.solver.verdict import Verdict

    a, b = _op(args.op_a), _op(args.op_b)
    shapes = _shapes(args.input)
    where = _constraints(args.where)
    at = _sizes(args.at, a, shapes)
    try:
        result = equivalent(a, b, input=shapes, where=where, at=at)
    except Unsupported as e:
        unknown = Verdict.unknown(_one_line(str(e)))
        result = Equivalence(complete_equivalence(a, b), unknown, unknown if at is not None else None)
    if args.json:
        _emit_json(result.to_json())
    else:
        lines = _verdict_lines("complete", result.complete) + _verdict_lines("type", result.type)
        if result.instant is not None:
            lines += _verdict_lines("instant", result.instant)
        _out("\n".join(lines))
    return _exit_for(result.instant if result.instant is not None else result.type)


# ---- arts compat ------------------------------------------------------------------------------

def _configure_compat(p: argparse.ArgumentParser) -> None:
    _add_relation_args(p)
    p.add_argument("--json", action="store_true", help="print the verdicts as JSON")


@verb("compat", "decide forward-, backward- and complete-compatibility of two ops (Defs 4-5)",
      _configure_compat)
def run_compat(args: argparse.Namespace) -> int:
    """Exit by the ``forward`` verdict (OP_A -> OP_B)."""
    from arts.ops.relations import Compatibility, compatible
    from arts.solver.verdict import Verdict

    a, b = _op(args.op_a), _op(args.op_b)
    shapes = _shapes(args.input)
    where = _constraints(args.where)
    try:
        result = compatible(a, b, input=shapes, where=where)
    except Unsupported as e:
        unknown = Verdict.unknown(_one_line(str(e)))
        result = Compatibility(unknown, unknown, unknown)
    if args.json:
        _emit_json(result.to_json())
    else:
        _out("\n".join(_verdict_lines("forward", result.forward) + _verdict_lines("backward", result.backward)
                       + _verdict_lines("complete", result.complete)))
    return _exit_for(result.forward)


# ---- arts generate ----------------------------------------------------------------------------

_RANGE = re.compile(r"^\s*(-?\d+)\s*(?::\s*(-?\d+)\s*)?$")


def _range(flag: str, text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    m = _RANGE.match(text)
    if not m:
        raise InputError(f"expected LO:HI or a single integer, got {text!r}", flag)
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) is not None else lo
    if hi < lo:
        raise InputError(f"range {lo}:{hi} is empty (HI < LO)", flag)
    return lo, hi


def _configure_generate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", metavar="OP", required=True, help="the seed op, e.g. 'conv2d(kernel_size=3, padding=1)'")
    for flag, what in (("--K", "kernel_size"), ("--P", "padding"), ("--D", "dilation")):
        p.add_argument(flag, metavar="LO:HI", help=f"inclusive range (or one integer) of {what}")
    p.add_argument("--dedupe", action="store_true", help="drop ops completely equivalent to an earlier one")
    p.add_argument("--json", action="store_true", help="print a JSON list of op objects")


@verb("generate", "Algorithm 1: ops of the seed's family type-equivalent to it; give exactly two of "
                  "--K/--P/--D, the third is derived", _configure_generate)
def run_generate(args: argparse.Namespace) -> int:
    from arts.ops.generate import generate, generation_json

    ranges = {r: _range(f"--{r}", getattr(args, r)) for r in ("K", "P", "D")}
    given = [f"--{r}" for r, v in ranges.items() if v is not None]
    if len(given) != 2:
        raise InputError(f"give exactly two of --K, --P, --D (the third is derived); got "
                         f"{len(given)}{': ' + ', '.join(given) if given else ''}")
    seed = _op(args.seed)
    ops = generate(seed, K=ranges["K"], P=ranges["P"], D=ranges["D"], dedupe=args.dedupe)
    if args.json:
        _emit_json(generation_json(ops))
    else:
        free = next(r for r, v in ranges.items() if v is None)
        bounds = ", ".join(f"{r}={v[0]}:{v[1]}" for r, v in ranges.items() if v is not None)
        head = (f"# {len(ops)} op{'s' if len(ops) != 1 else ''} type-equivalent to {seed} "
                f"({bounds}, {free} derived{', deduplicated' if args.dedupe else ''})")
        lines = [head] + [str(o) for o in ops]
        _out("\n".join(lines))
    return EXIT_OK


# ---- arts types -------------------------------------------------------------------------------

def _configure_types(p: argparse.ArgumentParser) -> None:
    p.add_argument("ops", metavar="OP", nargs="*", help="ops to partition into types")
    p.add_argument("--file", metavar="PATH", action="append",
                   help="read ops from PATH, one per line ('#' starts a comment; '-' is stdin)")
    p.add_argument("--json", action="store_true",
                   help='print [{"type", "ops", "indices", "signature", "accepts", "reason"}, ...]')


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Parsing 100,000 ops allocates many small acyclic objects; the cycle collector only slows it."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _read_ops_file(path: str) -> list[tuple[str, str]]:
    """``(text, location)`` for every op line of ``path``."""
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise InputError(f"cannot read op file: {_one_line(reason)}", path) from None
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            out.append((line, f"{path}:{i}"))
    return out


def op_object(op: Any) -> dict[str, Any]:
    """An op as a JSON object: generate's keys (``op``, ``kernel_size``, ``padding``, ``dilation``,
    ``stride``) and every other parameter that differs from torch's default, so that
    ``arts.ops.as_op(op_object(op)) == op``."""
    from arts.ops.generate import generation_json

    obj = generation_json([op])[0]
    for p in op.spec.params:
        if p.name in obj:
            continue
        v = op.params[p.name]
        try:
            default = p.convert(p.default, p.name)
        except InputError:
            default = object()
        if v == default:
            continue
        if isinstance(v, tuple):
            v = v[0] if len(v) > 0 and len(set(v)) == 1 and p.name not in (
                "shape", "normalized_shape", "output_size", "size") else list(v)
        obj[p.name] = v
    return obj


def _signature(op: Any) -> tuple[str, str]:
    """``(N, C, H, W) -> (...)`` on the op's default input, and the accepted sizes."""
    import sympy

    from arts.ops.relations import typed
    from arts.solver.domain import Domain
    from arts.solver.symbols import format_shape

    shapes = op.default_input()
    t = typed(op, shapes)
    head = ", ".join(format_shape(s) for s in shapes)
    if t.shape is None:
        return f"{head} -> rejected", f"no input size ({t.static_error})"
    syms: list = []
    for s in shapes:
        for e in s:
            syms.extend(x for x in sorted(sympy.sympify(e).free_symbols, key=lambda x: x.name) if x not in syms)
    try:
        accepts = Domain([t.accept], syms).describe()
    except ArtsError:  # a condition the domain cannot represent exactly: show it as written
        accepts = str(t.accept)
    return f"{head} -> {format_shape(t.shape)}", accepts


def _partition(ops: Sequence[Any]) -> tuple[list[list[int]], dict[int, str]]:
    """:func:`arts.ops.types.partition`, except that an op whose type cannot be determined
    (:class:`~arts.errors.Unsupported`) gets a group of its own; returns the groups and, by
    group number, why each such group is unknown."""
    from arts.ops.types import type_key

    groups: dict[Any, list[int]] = {}
    unknown: dict[Any, str] = {}
    keys: dict[Any, Any] = {}  # type_key is a function of the op: compute it once per distinct op
    for i, op in enumerate(ops):
        key = keys.get(op)
        if key is None:
            try:
                key = keys[op] = type_key(op)
            except Unsupported as e:
                key = ("unknown", i)
                unknown[key] = _one_line(str(e))
        groups.setdefault(key, []).append(i)
    order = list(groups)
    return [groups[k] for k in order], {n: unknown[k] for n, k in enumerate(order) if k in unknown}


@verb("types", "partition ops into types (classes of type-equivalence, Def 2)", _configure_types)
def run_types(args: argparse.Namespace) -> int:
    """Exit 0, or 3 when the type of some op is unknown (it is then a group of its own)."""
    from arts.solver.symbols import format_shape

    items: list[tuple[str, str | None]] = [(t, None) for t in args.ops]
    for path in args.file or []:
        items.extend(_read_ops_file(path))
    if not items:
        raise InputError("no ops given: pass OP arguments or --file PATH")
    ops = []
    with _gc_paused():
        for text, where in items:
            try:
                ops.append(_op(text))
            except InputError as e:
                raise (e.located(where) if where else e) from None
        groups, unknown = _partition(ops)
    sigs: list[tuple[str, str | None]] = []
    for n, g in enumerate(groups):
        if n in unknown:
            head = ", ".join(format_shape(s) for s in ops[g[0]].default_input())
            sigs.append((f"{head} -> unknown", None))
        else:
            sigs.append(_signature(ops[g[0]]))
    if args.json:
        memo: dict[Any, RawJSON] = {}

        def obj(op: Any) -> RawJSON:
            o = memo.get(op)
            if o is None:
                o = memo[op] = RawJSON(json.dumps(op_object(op), ensure_ascii=False))
            return o

        _emit_json([{"type": i, "ops": [obj(ops[j]) for j in g], "indices": g, "signature": sig,
                     "accepts": acc, "reason": unknown.get(i)}
                    for i, (g, (sig, acc)) in enumerate(zip(groups, sigs))])
    else:
        lines = []
        for i, (g, (sig, acc)) in enumerate(zip(groups, sigs)):
            why = f" — {unknown[i]}" if i in unknown else f"  for {acc}"
            lines.append(f"type {i} ({len(g)} op{'s' if len(g) != 1 else ''}): {sig}{why}")
            lines.extend(f"    [{j}] {items[j][0]}" for j in g)
        _out("\n".join(lines))
    return EXIT_UNKNOWN if unknown else EXIT_OK


# ---- main -------------------------------------------------------------------------------------

def _error(text: str) -> None:
    sys.stderr.write(f"{PROG}: {_one_line(text)}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``arts`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        run = getattr(args, "_run", None) or args.func
        return int(run(args))
    except UsageError as e:
        _error(f"error: {e}")
        return EXIT_USAGE
    except InputError as e:
        _error(f"error: {e}")
        return EXIT_USAGE
    except Unsupported as e:
        _error(f"unknown: {e}")
        return EXIT_UNKNOWN
    except SystemExit as e:  # --help, --version
        code = e.code
        return code if isinstance(code, int) else (0 if code is None else EXIT_USAGE)
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except BrokenPipeError:  # `arts types --file big.txt | head`: the reader has enough
        try:  # point stdout at /dev/null so that the flush at exit does not fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # pragma: no cover - stdout is not a file
            pass
        return EXIT_OK
    except Exception as e:  # noqa: BLE001  (a bug in arts: say so, never hide it)
        _error(f"internal error: {type(e).__name__}: {e} (set ARTS_DEBUG=1 for the traceback)")
        if os.environ.get("ARTS_DEBUG") == "1":
            traceback.print_exc()
        return EXIT_INTERNAL
