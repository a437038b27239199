"""The shape of an operation: parameters, dimension function, accepted inputs.

An :class:`OpSpec` describes one family (``conv2d``): its torch parameters with torch's defaults,
and a pure *rule* from input shapes and parameters to an output shape plus the conditions the
inputs must meet.  An :class:`Op` is a spec with concrete, validated, canonical parameters.

Conditions come in two kinds:

* :class:`Condition` -- a sympy boolean over the input sizes (``H + 2*p - d*(k-1) >= 1``,
  ``C == 3``); decided by :mod:`arts.solver` over a domain.
* :class:`StaticShapeError` -- a failure that holds whatever the sizes are (wrong rank, an
  unsatisfiable broadcast of two constants); raised by the rule.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

import sympy

from arts.errors import InputError
from arts.solver.simplify import simplify_dim
from arts.solver.symbols import dim

Shape = tuple  # tuple[sympy.Expr, ...]

#: Symbol for the channel count of channel-preserving ops (ENAS style) in default inputs.
C = dim("C")


@dataclass(frozen=True)
class Condition:
    """One requirement on the input sizes, with what a person should be told when it fails.

    ``code`` is a diagnostic code from :mod:`arts.messages`; ``expected``/``found`` are the two
    sides, when the condition is a comparison.  ``message``, ``expected`` and ``found`` may be
    strings, sympy expressions or :class:`Text`; they are rendered only when a diagnostic is
    printed (printing sympy expressions is far slower than deciding them).
    """

    formula: sympy.Basic
    message: Any
    code: str = "shape-mismatch"
    expected: Any = None
    found: Any = None
    mode: str = "any"  # "any", or "train" for conditions that only hold in training mode

    @property
    def message_text(self) -> str:
        return render(self.message)

    @property
    def expected_text(self) -> str | None:
        return None if self.expected is None else render(self.expected)

    @property
    def found_text(self) -> str | None:
        return None if self.found is None else render(self.found)


class Text:
    """A message rendered on demand: ``Text("{}: sizes {} and {}", op, a, b)``."""

    __slots__ = ("fmt", "args")

    def __init__(self, fmt: str, *args: Any) -> None:
        self.fmt = fmt
        self.args = args

    def __str__(self) -> str:
        return self.fmt.format(*(render(a) for a in self.args))

    def __repr__(self) -> str:
        return f"Text({str(self)!r})"

    def lower(self) -> str:
        return str(self).lower()


def render(x: Any) -> str:
    """Text of a message part: sympy expressions printed the way a person writes them."""
    if isinstance(x, str):
        return x
    if isinstance(x, sympy.Basic):
        return show(x)
    return str(x)


class StaticShapeError(Exception):
    """The rule rejects these inputs for every size (wrong rank, constant mismatch...)."""

    def __init__(self, message: str, code: str = "shape-mismatch", expected: str | None = None,
                 found: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.expected = expected
        self.found = found


@dataclass(frozen=True)
class Inferred:
    """What a rule returns: the output shape and the conditions on the inputs."""

    shape: Shape
    conditions: tuple[Condition, ...] = ()
    extra_outputs: tuple[Shape, ...] = ()


# ---- parameter kinds ------------------------------------------------------------------------

class Param:
    """A constructor parameter: name, default, and a converter that validates and canonicalises."""

    def __init__(self, name: str, default: Any, convert: Callable[[Any, str], Any], doc: str = "") -> None:
        self.name = name
        self.default = default
        self.convert = convert
        self.doc = doc


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def int_param(lo: int | None = None, optional: bool = False) -> Callable[[Any, str], Any]:
    def conv(v: Any, name: str) -> Any:
        if v is None and optional:
            return None
        if not _is_int(v):
            raise InputError(f"parameter {name} must be an integer, got {v!r}")
        if lo is not None and v < lo:
            raise InputError(f"parameter {name} must be ≥ {lo}, got {v}")
        return v
    return conv


def tuple_param(n: int, lo: int, optional: bool = False) -> Callable[[Any, str], Any]:
    """An int or a tuple of ``n`` ints (torch's ``_pair``/``_triple``), each ≥ ``lo``."""
    def conv(v: Any, name: str) -> Any:
        if v is None and optional:
            return None
        if v is None:
            raise InputError(f"parameter {name} is required")
        vals = (v,) * n if _is_int(v) else v
        if not isinstance(vals, (tuple, list)) or len(vals) != n or not all(_is_int(x) for x in vals):
            raise InputError(f"parameter {name} must be an integer or {n} integers, got {v!r}")
        for x in vals:
            if x < lo:
                raise InputError(f"parameter {name} must be ≥ {lo}, got {v!r}")
        return tuple(vals)
    return conv


def bool_param(v: Any, name: str) -> bool:
    if not isinstance(v, bool):
        raise InputError(f"parameter {name} must be true or false, got {v!r}")
    return v


def float_param(lo: float | None = None) -> Callable[[Any, str], Any]:
    def conv(v: Any, name: str) -> Any:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InputError(f"parameter {name} must be a number, got {v!r}")
        if lo is not None and v < lo:
            raise InputError(f"parameter {name} must be ≥ {lo}, got {v}")
        return v
    return conv


def choice_param(*choices: Any) -> Callable[[Any, str], Any]:
    def conv(v: Any, name: str) -> Any:
        if v not in choices:
            raise InputError(f"parameter {name} must be one of {', '.join(map(repr, choices))}, got {v!r}")
        return v
    return conv


def any_param(v: Any, name: str) -> Any:
    return v


# ---- specs and ops --------------------------------------------------------------------------

class OpSpec:
    """One family of operations.  Subclasses set ``name``, ``params`` and implement ``rule``.

    ``arity`` is ``(min, max)`` number of tensor inputs (``max`` None: variadic).
    ``spatial`` is the number of spatial dims for 1d/2d/3d ops (used for default inputs).
    """

    name: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    arity: ClassVar[tuple[int, int | None]] = (1, 1)
    spatial: ClassVar[int | None] = None
    torch_name: ClassVar[str | None] = None
    doc: ClassVar[str] = ""

    def canonical(self, params: dict[str, Any]) -> dict[str, Any]:
        """Validate ``params`` (torch names) and fill defaults; InputError names the parameter."""
        known = {p.name: p for p in self.params}
        for k in params:
            if k not in known:
                raise InputError(f"unknown parameter {k!r} for {self.name} "
                                 f"(known: {', '.join(known) or 'none'})")
        out: dict[str, Any] = {}
        for p in self.params:
            v = params.get(p.name, p.default)
            out[p.name] = p.convert(v, p.name)
        self.validate(out)
        return out

    def validate(self, p: dict[str, Any]) -> None:
        """Cross-parameter checks (torch's constructor errors). Raise InputError."""

    def complete_form(self, p: dict[str, Any]) -> dict[str, Any]:
        """Parameters with shape-irrelevant differences removed (for complete-equivalence)."""
        return dict(p)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        raise NotImplementedError

    def default_input(self, p: dict[str, Any]) -> list[Shape]:
        """Default symbolic inputs: ``N, C, <spatial dims>``."""
        n = self.spatial if self.spatial is not None else 2
        names = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}[n]
        return [tuple([dim("N"), C] + [dim(x) for x in names])] * max(1, self.arity[0])

    def profile(self, p: dict[str, Any]) -> Any:
        """Optional fast route to the canonical type key on the default input (see
        :mod:`arts.ops.types`); None means "use the symbolic route"."""
        return None

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        """A ``torch.nn.Module`` computing this op for concrete input shapes (torch is imported here)."""
        raise NotImplementedError(f"{self.name} cannot be compiled to torch yet")


REGISTRY: dict[str, OpSpec] = {}


def register(cls: type) -> type:
    spec = cls()
    if spec.name in REGISTRY:
        raise RuntimeError(f"duplicate op {spec.name}")
    REGISTRY[spec.name] = spec
    return cls


def get_spec(name: str) -> OpSpec:
    spec = REGISTRY.get(name)
    if spec is None:
        close = [n for n in REGISTRY if n.startswith(name[:4])] if name else []
        hint = f" (did you mean {', '.join(sorted(close)[:4])}?)" if close else ""
        raise InputError(f"unknown op {name!r}{hint}")
    return spec


def _freeze(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    return v


@dataclass(frozen=True)
class Op:
    """A concrete operation: a spec and its canonical parameters."""

    name: str
    items: tuple  # sorted (param, value) pairs, canonical
    _params: dict = field(default=None, compare=False, hash=False, repr=False)  # type: ignore[assignment,arg-type]

    @staticmethod
    def make(name: str, params: dict[str, Any] | None = None) -> "Op":
        spec = get_spec(name)
        try:
            canon = spec.canonical(dict(params or {}))
        except InputError as e:
            raise (e.located(name) if not e.where else e) from None
        return Op(name, tuple((k, _freeze(v)) for k, v in canon.items()), canon)

    @property
    def spec(self) -> OpSpec:
        return REGISTRY[self.name]

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params) if self._params is not None else dict(self.items)

    def apply(self, inputs: Sequence[Shape]) -> Inferred:
        """Run the rule (may raise StaticShapeError)."""
        lo, hi = self.spec.arity
        if len(inputs) < lo or (hi is not None and len(inputs) > hi):
            want = f"{lo}" if lo == hi else f"{lo} to {hi}" if hi is not None else f"at least {lo}"
            raise StaticShapeError(f"{self.name} takes {want} input(s), got {len(inputs)}", code="arity")
        return self.spec.rule(self._params if self._params is not None else dict(self.items), inputs)

    def default_input(self) -> list[Shape]:
        return self.spec.default_input(self.params)

    def complete_key(self) -> tuple:
        return (self.name, tuple(sorted((k, _freeze(v)) for k, v in self.spec.complete_form(self.params).items())))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.name}
        for k, v in self.params.items():
            out[k] = list(v) if isinstance(v, tuple) else v
        return out

    def __str__(self) -> str:
        spec = self.spec
        defaults = {p.name: p.convert(p.default, p.name) if p.default is not None else None for p in spec.params}
        shown = []
        for k, v in self.params.items():
            if defaults.get(k, object()) == v:
                continue
            if (isinstance(v, tuple) and len(set(v)) == 1
                    and k not in ("shape", "normalized_shape", "output_size", "size", "pad", "unflattened_size",
                                  "scale_factor", "dims", "dim")):
                v = v[0]
            shown.append(f"{k}={v!r}")
        return f"{self.name}({', '.join(shown)})"


# ---- parsing OP strings ---------------------------------------------------------------------

_OPCALL = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)


def _literal(node: ast.AST, text: str) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError):
        seg = ast.get_source_segment(text, node) or "?"
        if isinstance(node, ast.Name) and node.id in ("true", "false", "none", "null"):
            return {"true": True, "false": False, "none": None, "null": None}[node.id]
        raise InputError(f"value {seg!r} is not a literal") from None


def parse_op(text: str) -> Op:
    """Parse ``conv2d(kernel_size=3, padding=1)`` into an :class:`Op`.

    Positional arguments follow torch's constructor order.
    """
    if not isinstance(text, str):
        raise InputError(f"an op must be a string like conv2d(kernel_size=3), got {text!r}")
    m = _OPCALL.match(text)
    if not m:
        raise InputError(f"malformed op {text!r}: expected NAME(arg=value, ...)")
    name, body = m.group(1), m.group(2)
    spec = get_spec(name)
    params: dict[str, Any] = {}
    if body and body.strip():
        try:
            call = ast.parse(f"f({body})", mode="eval").body
        except SyntaxError:
            raise InputError(f"malformed op {text!r}") from None
        assert isinstance(call, ast.Call)
        names = [p.name for p in spec.params]
        if len(call.args) > len(names):
            raise InputError(f"{name} takes at most {len(names)} positional parameters")
        src = f"f({body})"
        for i, a in enumerate(call.args):
            params[names[i]] = _literal(a, src)
        for kw in call.keywords:
            if kw.arg is None:
                raise InputError(f"malformed op {text!r}")
            if kw.arg in params:
                raise InputError(f"parameter {kw.arg!r} given twice in {text!r}")
            params[kw.arg] = _literal(kw.value, src)
    return Op.make(name, params)


def as_op(x: "Op | str | dict") -> Op:
    """Accept an Op, an OP string, or an op object ``{"op": name, **params}``."""
    if isinstance(x, Op):
        return x
    if isinstance(x, str):
        return parse_op(x)
    if isinstance(x, dict):
        d = dict(x)
        name = d.pop("op", None)
        if not isinstance(name, str):
            raise InputError(f"an op object needs an \"op\" name, got {x!r}")
        params = d.pop("params", None)
        if params is not None:
            if d:
                raise InputError(f"op object mixes \"params\" with other keys: {sorted(d)}")
            d = dict(params)
        return Op.make(name, d)
    raise InputError(f"cannot read an op from {x!r}")


# ---- helpers for rules ----------------------------------------------------------------------

def show(e: Any) -> str:
    """A size expression as a person writes it (``floor((H - 1)/2) + 1``)."""
    from arts.solver.simplify import show_dim

    return show_dim(simplify_dim(e)) if isinstance(e, sympy.Basic) else str(e)


def eq(a: Any, b: Any, message: Any, code: str = "shape-mismatch") -> Condition | None:
    """Condition ``a == b``; None if trivially true; StaticShapeError if trivially false."""
    rel = sympy.Eq(a, b)
    if rel is sympy.true:
        return None
    if rel is sympy.false:
        raise StaticShapeError(render(message), code=code, expected=render(b), found=render(a))
    return Condition(rel, message, code, expected=sympy.sympify(b), found=sympy.sympify(a))


def ge(a: Any, b: Any, message: Any, code: str = "too-small") -> Condition | None:
    rel = sympy.Ge(a, b)
    if rel is sympy.true:
        return None
    if rel is sympy.false:
        raise StaticShapeError(render(message), code=code, expected=f"≥ {render(b)}", found=render(a))
    return Condition(rel, message, code, expected=Text("≥ {}", b), found=sympy.sympify(a))


def cond(formula: Any, message: Any, code: str = "shape-mismatch", expected: Any = None,
         found: Any = None, mode: str = "any") -> Condition | None:
    f = sympy.sympify(formula)
    if f is sympy.true:
        return None
    if f is sympy.false and mode == "any":
        raise StaticShapeError(render(message), code=code, expected=None if expected is None else render(expected),
                               found=None if found is None else render(found))
    return Condition(f, message, code, expected, found, mode)


def keep(*conds: Condition | None) -> tuple[Condition, ...]:
    return tuple(c for c in conds if c is not None)


def rank_error(op: str, want: str, shape: Shape) -> StaticShapeError:
    return StaticShapeError(f"{op} expects {want} input, got rank {len(shape)}", code="rank-mismatch",
                            expected=want, found=f"rank {len(shape)} {tuple(map(str, shape))}")


def norm_dim(d: int, rank: int, op: str) -> int:
    if not -rank <= d < rank:
        raise StaticShapeError(f"{op}: dim {d} out of range for rank {rank}", code="rank-mismatch")
    return d % rank


def prod(xs: Sequence[Any]) -> Any:
    return math.prod(xs) if all(isinstance(x, int) for x in xs) else sympy.Mul(*xs)
