"""Exact evaluation of dimension expressions at integer points.

``compile_expr`` turns a sympy expression into a Python closure over an environment
``{symbol_name: int}`` that computes with ints and ``Fraction`` only -- never floats -- so
``floor`` is exact at any size.  This is the solver's workhorse: deciding a condition over a
domain means evaluating it at finitely many well-chosen points.
"""

from __future__ import annotations

import math
import operator
from fractions import Fraction
from functools import lru_cache
from typing import Any, Callable

import sympy
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanFalse, BooleanTrue

from arts.errors import Unsupported

Env = dict
Fn = Callable[[Env], Any]


def _norm(x: Any) -> Any:
    if isinstance(x, Fraction) and x.denominator == 1:
        return x.numerator
    return x


def _floor(x: Any) -> int:
    return math.floor(x)


def _ceil(x: Any) -> int:
    return math.ceil(x)


def _over_integer(arg: Any) -> tuple[Any, int | None]:
    """``arg == num/den`` with ``den`` a positive integer and ``num`` free of rational coefficients."""
    if not isinstance(arg, (sympy.Add, sympy.Mul)):
        return arg, None
    terms = sympy.Add.make_args(arg)
    den = 1
    for t in terms:
        c, _ = t.as_coeff_Mul()
        if not c.is_Rational:
            return arg, None
        den = den * int(c.q) // math.gcd(den, int(c.q))
    if den == 1:
        return arg, None
    num = sympy.Add(*(t * den for t in terms))
    if any(not t.as_coeff_Mul()[0].is_Integer for t in sympy.Add.make_args(num)):
        return arg, None
    return num, den


_REL = {
    sympy.Eq: operator.eq,
    sympy.Ne: operator.ne,
    sympy.Lt: operator.lt,
    sympy.Le: operator.le,
    sympy.Gt: operator.gt,
    sympy.Ge: operator.ge,
}


def _compile(e: Any) -> Fn:
    if isinstance(e, (bool, BooleanTrue, BooleanFalse)):
        truth = bool(e)
        return lambda env: truth
    if isinstance(e, sympy.Integer):
        iv = int(e)
        return lambda env: iv
    if isinstance(e, sympy.Rational):
        fv = Fraction(int(e.p), int(e.q))
        return lambda env: fv
    if isinstance(e, sympy.Symbol):
        name = e.name
        return lambda env: env[name]
    if isinstance(e, sympy.Add):
        parts = [_compile(a) for a in e.args]
        if len(parts) == 2:
            a, b = parts
            return lambda env: _norm(a(env) + b(env))
        return lambda env: _norm(sum(p(env) for p in parts))
    if isinstance(e, sympy.Mul):
        parts = [_compile(a) for a in e.args]

        def mul(env: Env) -> Any:
            r: Any = 1
            for p in parts:
                r = r * p(env)
            return _norm(r)

        return mul
    if isinstance(e, sympy.Pow):
        base = _compile(e.base)
        if not (e.exp.is_Integer):
            raise Unsupported(f"non-integer power in {e}")
        n = int(e.exp)
        if n >= 0:
            return lambda env: base(env) ** n
        return lambda env: _norm(Fraction(1) / Fraction(base(env)) ** (-n))
    if isinstance(e, (sympy.floor, sympy.ceiling)):
        num, den = _over_integer(e.args[0])
        if den is not None:  # floor(num/den) with integer arithmetic: no Fractions on the hot path
            numerator = _compile(num)
            if isinstance(e, sympy.floor):
                return lambda env: numerator(env) // den
            return lambda env: -((-numerator(env)) // den)
        a = _compile(e.args[0])
        return (lambda env: _floor(a(env))) if isinstance(e, sympy.floor) else (lambda env: _ceil(a(env)))
    if isinstance(e, sympy.Mod):
        a, m = _compile(e.args[0]), _compile(e.args[1])
        return lambda env: _norm(a(env) % m(env))
    if isinstance(e, (sympy.Max, sympy.Min)):
        parts = [_compile(a) for a in e.args]
        f = max if isinstance(e, sympy.Max) else min
        return lambda env: f(p(env) for p in parts)
    if isinstance(e, sympy.Abs):
        a = _compile(e.args[0])
        return lambda env: abs(a(env))
    if isinstance(e, Relational):
        op = _REL.get(type(e))
        if op is None:
            raise Unsupported(f"relation {type(e).__name__}")
        lhs, rhs = _compile(e.lhs), _compile(e.rhs)
        return lambda env: op(lhs(env), rhs(env))
    if isinstance(e, sympy.And):
        parts = [_compile(a) for a in e.args]
        return lambda env: all(p(env) for p in parts)
    if isinstance(e, sympy.Or):
        parts = [_compile(a) for a in e.args]
        return lambda env: any(p(env) for p in parts)
    if isinstance(e, sympy.Not):
        a = _compile(e.args[0])
        return lambda env: not a(env)
    if isinstance(e, sympy.Implies):
        a, b = (_compile(x) for x in e.args)
        return lambda env: (not a(env)) or bool(b(env))
    if isinstance(e, sympy.Equivalent):
        parts = [_compile(a) for a in e.args]
        return lambda env: len({bool(p(env)) for p in parts}) == 1
    if isinstance(e, sympy.ITE):
        c, a, b = (_compile(x) for x in e.args)
        return lambda env: bool(a(env)) if c(env) else bool(b(env))
    if isinstance(e, sympy.Xor):
        parts = [_compile(a) for a in e.args]
        return lambda env: sum(bool(p(env)) for p in parts) % 2 == 1
    if isinstance(e, sympy.Piecewise):
        pieces = [(_compile(v), _compile(c)) for v, c in e.args]

        def pw(env: Env) -> Any:
            for v, c in pieces:
                if c(env):
                    return v(env)
            raise Unsupported(f"no piece of {e} applies")

        return pw
    raise Unsupported(f"cannot evaluate {type(e).__name__} in {e}")


@lru_cache(maxsize=65536)
def compile_expr(e: Any) -> Fn:
    """Compile ``e`` (an expression or a boolean condition) to an exact evaluator."""
    return _compile(sympy.sympify(e) if not isinstance(e, (bool, sympy.Basic)) else e)


def evaluate(e: Any, env: Env) -> Any:
    """Evaluate ``e`` exactly at ``env`` (a mapping from symbol names to ints)."""
    return compile_expr(e)(env)
