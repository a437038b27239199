"""A fast path for parsing OP strings, for files of many ops (``arts types --file``).

:func:`arts.ops.base.parse_op` parses the argument list with :mod:`ast`, which costs about
15 µs per op -- most of the time of partitioning 100,000 ops.  :func:`parse_op_fast` reads the
common form ``name(key=value, ...)`` with one regular expression, where every value is an
integer, ``True``/``False``/``None`` (or ``true``/``false``/``none``/``null``), a short quoted word
(``'same'``) or a parenthesised tuple of integers, and memoises the result per distinct string
and per distinct parameter set (generated op lists repeat a lot).  Anything else -- positional
arguments, floats, lists, nested tuples, a duplicated keyword, any syntax error -- goes to
:func:`parse_op`, so errors and their messages are exactly parse_op's, and the result is always
equal to ``parse_op(text)``.

>>> parse_op_fast("conv2d(kernel_size=3, padding=1)") == parse_op("conv2d(kernel_size=3, padding=1)")
True
"""

from __future__ import annotations

import keyword
import re
from functools import lru_cache
from typing import Any

from arts.ops.base import Op, parse_op

_S = r"[ \t\n]*"  # the blanks Python allows inside parentheses (anything else: parse_op decides)
_INT = r"-?(?:0|[1-9][0-9]*)"
_WORD = r"'[A-Za-z0-9_]*'|\"[A-Za-z0-9_]*\""
_CONST = r"True|False|None|true|false|none|null"
_TUPLE = rf"\({_S}{_INT}{_S}(?:,{_S}{_INT}{_S})*,?{_S}\)"
_VALUE = rf"{_TUPLE}|{_INT}|{_WORD}|{_CONST}"
# ``key=value``; the lookahead stops ``true`` from matching the start of ``trueish``
_PAIR = rf"([A-Za-z_][A-Za-z0-9_]*){_S}={_S}({_VALUE})(?![A-Za-z0-9_])"
_PAIR_NC = rf"[A-Za-z_][A-Za-z0-9_]*{_S}={_S}(?:{_VALUE})(?![A-Za-z0-9_])"
#: a whole argument list of keywords (trailing comma allowed), checked before the pairs are read
_ARGS = re.compile(rf"{_S}(?:{_PAIR_NC}{_S}(?:,{_S}{_PAIR_NC}{_S})*,?{_S})?")
_PAIRS = re.compile(_PAIR)
_CALL = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.DOTALL)
_NAMES = {"True": True, "False": False, "None": None, "true": True, "false": False, "none": None,
          "null": None}


class _Fallback(Exception):
    """The fast grammar does not cover this text: let parse_op read it."""


def _value(text: str) -> Any:
    if text in _NAMES:
        return _NAMES[text]
    c = text[0]
    if c in "'\"":
        return text[1:-1]
    if c == "(":
        inner = text[1:-1]
        if "," not in inner:
            return int(inner)  # ``(3)`` is just 3 in Python
        return tuple(int(x) for x in inner.split(",") if x.strip())
    return int(text)


def _params(body: str) -> dict[str, Any]:
    if _ARGS.fullmatch(body) is None:
        raise _Fallback
    params: dict[str, Any] = {}
    for key, value in _PAIRS.findall(body):  # values hold no "=", so the pairs are exactly these
        if key in params or keyword.iskeyword(key):
            raise _Fallback
        params[key] = _value(value)
    return params


def parse_op_fast(text: str) -> Op:
    """``parse_op(text)``, faster on the common keyword form, memoised per string.

    Raises exactly what :func:`~arts.ops.base.parse_op` raises (an :class:`~arts.errors.InputError`).
    """
    if not isinstance(text, str):
        return parse_op(text)
    return _cached(text)


@lru_cache(maxsize=1 << 17)
def _cached(text: str) -> Op:
    m = _CALL.match(text)
    if m is None:
        return parse_op(text)
    try:
        params = _params(m.group(2) or "")
    except _Fallback:
        return parse_op(text)
    # the same op spelled differently (spaces, keyword order) is canonicalised once; the type is
    # part of the key because True == 1 for a dict, not for a parameter
    key = (m.group(1), tuple(sorted((k, type(v), v) for k, v in params.items())))
    op = _MADE.get(key)
    if op is None:
        op = Op.make(m.group(1), params)
        if len(_MADE) >= _MADE_MAX:
            _MADE.clear()
        _MADE[key] = op
    return op


_MADE: dict = {}
_MADE_MAX = 1 << 17
