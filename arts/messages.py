"""Every diagnostic code and the fixed message texts around them, in one registry.

Like mypy's ``errorcodes`` and ``message_registry``: :class:`Code` names every code arts emits
(text output ``[code]``, JSON ``"code"``, SARIF rule id); :data:`INFO` gives each a one-line
summary and a longer help text (SARIF ``fullDescription``/``help``; docs/diagnostics.md has an
entry per code, tests/data/check-*.test a case).  The templates below are the texts the checker,
the report and the command line print; build messages with them, not with ad-hoc f-strings, so
that wording changes in one place and tests can assert it.

>>> Code.TOO_SMALL.value
'too-small'
>>> with_op("conv2d", "conv2d expects 64 input channels")
'conv2d expects 64 input channels'
>>> with_op("relu", "input must be 4-d")
'relu: input must be 4-d'
>>> axis_name(-1, 4)
'dimension 3 (width)'
>>> a_or_an("int")
'an int'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["CODES", "Code", "INFO", "a_or_an", "axis_name", "describe", "plain", "with_op"]


class Code(str, Enum):
    """A diagnostic code; the value is the text shown in brackets."""

    SHAPE_MISMATCH = "shape-mismatch"
    BROADCAST = "broadcast"
    CHANNEL_MISMATCH = "channel-mismatch"
    RANK_MISMATCH = "rank-mismatch"
    VIEW_STRIDE = "view-stride"
    TOO_SMALL = "too-small"
    ARITY = "arity"
    UNSUPPORTED = "unsupported"
    UNDECIDED = "undecided"
    EMPTY_DOMAIN = "empty-domain"
    ASSERT_FAILED = "assert-failed"
    ASSUMED_INPUT = "assumed-input"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class CodeInfo:
    summary: str  #: one line: what the code means
    help: str  #: what to do about it


INFO: dict[Code, CodeInfo] = {
    Code.SHAPE_MISMATCH: CodeInfo(
        "two sizes that must be equal can differ (cat, reshape, layer norm, ...)",
        "Two tensors meet (a cat, a reshape, a residual add) with sizes that differ for some inputs. "
        "Restrict the input sizes (--where), or change a padding/stride so both branches agree."),
    Code.BROADCAST: CodeInfo(
        "operands of an elementwise op cannot be broadcast together",
        "An elementwise op (add, mul, ...) gets sizes that are neither equal nor 1 on some axis; "
        "usually two branches downsample differently."),
    Code.CHANNEL_MISMATCH: CodeInfo(
        "a layer's declared channels/features differ from its input's",
        "A layer was built for a different channel/feature count than it receives; fix the "
        "constructor argument (or the input shape)."),
    Code.RANK_MISMATCH: CodeInfo(
        "a tensor has the wrong number of dimensions for the op",
        "The op needs a different number of dimensions (e.g. Conv2d needs 3 or 4); check the "
        "input shape and any flatten/view before it."),
    Code.VIEW_STRIDE: CodeInfo(
        "view's shape does not fit the input's memory layout (after transpose, permute, expand, slicing)",
        "torch's view needs the new shape to be expressible over the input's strides; after a transpose, "
        "permute, expand or strided slice it usually is not. Use .reshape(...) or call .contiguous() first."),
    Code.TOO_SMALL: CodeInfo(
        "an input is too small for a kernel, window or padding",
        "Some input sizes leave nothing for a kernel or pooling window; the accepted domain says "
        "from which size on the model works. Declare it (--where) if that is intended."),
    Code.ARITY: CodeInfo(
        "an op gets the wrong number of inputs",
        "The op receives more or fewer tensors than it takes."),
    Code.UNSUPPORTED: CodeInfo(
        "arts cannot model this node exactly; the check is incomplete (unknown)",
        "A call arts does not translate; the verdict is unknown, never ok. Give the input sizes, "
        "or report the op so it can be added."),
    Code.UNDECIDED: CodeInfo(
        "arts could not decide whether this condition always holds (unknown)",
        "The condition is outside what the solver decides exactly; the verdict is unknown. "
        "A narrower --where often makes it decidable."),
    Code.EMPTY_DOMAIN: CodeInfo(
        "no input size at all is accepted",
        "No input size passes every layer (with the declared constraints, if any)."),
    Code.ASSERT_FAILED: CodeInfo(
        "a size check in the model's own code (torch._assert) fails for some input sizes",
        "The model asserts something about its input sizes (a fixed image size, an even width); the "
        "accepted domain includes that condition. Declare it (--where) if that is intended."),
    Code.ASSUMED_INPUT: CodeInfo(
        "note: the input shape was not given and was assumed from the model's first layer",
        "Give --input (or an annotation, or a [tool.arts] target) to state the input shape."),
}

#: code -> one-line meaning (kept for callers that want plain strings).
CODES: dict[str, str] = {c.value: INFO[c].summary for c in Code}


def describe(code: str) -> str:
    """The one-line meaning of ``code`` (the code itself if unknown)."""
    return CODES.get(code, code)


# ---- templates ----------------------------------------------------------------------------------

FAILS_EVERYWHERE = "this fails for every input size"
NO_SIZE_ACCEPTED = "no input size is accepted"
NO_SIZE_DECLARED = "no input size satisfies the declared constraints"
UNDECIDED = "{op}: cannot decide whether this holds for every size ({what}): {reason}"
OUT_OF_TIME = ("checking stopped here: {reason}; this node and the {rest} node(s) after it are not checked "
               "(the accepted sizes so far are an over-approximation)")
ALSO_TOO_SMALL = "{node} ({op}) also needs a larger input: fails at {point}"
VALUES_THERE = "there: {values}"
NO_TARGETS = "no model to check (no nn.Module that can be built without arguments)"
SUMMARY = "checked {targets}: {counts}"


def with_op(op: str, text: str) -> str:
    """``op: text``, unless ``text`` already names the op first (``conv2d expects ...``)."""
    t = text.strip()
    if t == op or t.startswith((f"{op} ", f"{op}:", f"{op}(")):
        return t
    return f"{op}: {t}"


_AXES = {1: ("batch",), 2: ("batch", "features"), 3: ("batch", "channels", "length"),
         4: ("batch", "channels", "height", "width"), 5: ("batch", "channels", "depth", "height", "width")}


def axis_name(i: int, rank: int) -> str:
    """``dimension 3 (width)`` for axis ``i`` (negative counts from the end) of an NC... tensor."""
    k = i + rank if i < 0 else i
    names = _AXES.get(rank)
    if names is not None and 0 <= k < rank:
        return f"dimension {k} ({names[k]})"
    return f"dimension {k}"


def a_or_an(word: str) -> str:
    """``an int``, ``a float``: the article for a type name."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


# ---- no solver internals in what users read -------------------------------------------------------

_SYMPY_PHRASES = {
    "cannot determine truth value of Relational":
        "a comparison of symbolic sizes decides the control flow here (it depends on the input size)",
    "BooleanAtom not allowed in this context": "a condition on sizes is used as a number",
}


def _split_args(text: str, start: int) -> tuple[list[str], int] | None:
    """The comma-separated arguments of the call whose '(' is at ``start``, and the index after ')'."""
    depth, args, cur = 0, [], start + 1
    for i in range(start, len(text)):
        c = text[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                args.append(text[cur:i].strip())
                return args, i + 1
        elif c == "," and depth == 1:
            args.append(text[cur:i].strip())
            cur = i + 1
    return None


def plain(text: str) -> str:
    """``text`` without sympy's spellings: ``Mod(a, b)`` -> ``a % b``; sympy's exception phrases
    reworded.

    >>> plain("16*(Mod(16*N, 25)) = 256")
    '16*(16*N % 25) = 256'
    >>> plain("Mod(H + 1, 2)")
    '(H + 1) % 2'
    """
    for k, v in _SYMPY_PHRASES.items():
        text = text.replace(k, v)
    out, i = [], 0
    while True:
        j = text.find("Mod(", i)
        if j < 0 or (j > 0 and (text[j - 1].isalnum() or text[j - 1] == "_")):
            if j < 0:
                out.append(text[i:])
                break
            out.append(text[i:j + 4])
            i = j + 4
            continue
        parsed = _split_args(text, j + 3)
        if parsed is None or len(parsed[0]) != 2:
            out.append(text[i:])
            break
        (a, b), end = parsed
        a, b = plain(a), plain(b)
        a = a if a.replace("_", "").isalnum() or a.replace("*", "").replace("_", "").isalnum() else f"({a})"
        b = b if b.replace("_", "").isalnum() else f"({b})"
        piece = f"{a} % {b}"
        wrapped = j > 0 and text[j - 1] == "(" and text[end:end + 1] == ")"
        out.append(text[i:j])
        out.append(piece if wrapped or not (text[end:end + 1].strip() or j > 0 and text[j - 1] in "*+-/") else
                   f"({piece})")
        i = end
    return "".join(out)
