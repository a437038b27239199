"""One registry of lowering rules, keyed by the fx target they translate.

A rule is registered once, with :func:`lowers`, under every target it handles, written as text so
that no torch import happens until a model is lowered::

    @lowers("torch.cat", "torch.concat", "Tensor.cat", name="cat")
    def _cat(L, node, name, tensors, dim=0): ...

Target forms: ``torch.X`` / ``F.X`` (``torch.nn.functional``) / ``operator.X`` / ``builtins.X`` /
any importable dotted path -- a ``call_function`` target, matched by identity; a path into another
library (``torchvision.ops.stochastic_depth.stochastic_depth``, a function that library marks with
``torch.fx.wrap``) -- matched by the target's ``__module__`` and ``__qualname__``, so that arts never
imports that library itself (a model that calls it has imported it); ``Tensor.X`` -- a
``call_method`` named ``X``; ``nn.X`` (or a dotted class path) -- a ``call_module`` whose module
is exactly that class.  A target that the installed torch lacks is skipped.

The rule is called as ``rule(lowerer, fx_node, name, *args, **kwargs)`` for functions and methods
(``name``: the ``name=`` given, else the target's last component) and as
``rule(lowerer, fx_node, module, *args, **kwargs)`` for modules.  ``passes=True`` marks rules that
keep their first argument's rank and channels (activations, dropout, pooling...), so that the
default-input guess (:func:`arts.frontends.torch_fx.default_input`) can look through them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Rule", "describe_target", "function_rule", "lowers", "method_rule", "module_rule", "passes_through"]

Handler = Callable[..., Any]


@dataclass(frozen=True)
class Rule:
    handler: Handler
    name: str
    passes: bool = False


_PENDING: list[tuple[str, Rule]] = []
_METHODS: dict[str, Rule] = {}
_FUNCTIONS: dict[Any, Rule] | None = None
_MODULES: dict[type, Rule] | None = None

_PREFIXES = {"F": "torch.nn.functional", "nn": "torch.nn"}
#: Roots of the targets resolved by import; any other root is matched by name (see the docstring).
_IMPORTED_ROOTS = ("torch", "operator", "builtins", "math", "F", "nn")
_BY_NAME: dict[str, Rule] = {}


def lowers(*targets: str, name: str | None = None, passes: bool = False) -> Callable[[Handler], Handler]:
    """Register the decorated function as the lowering rule of each of ``targets``."""
    def deco(fn: Handler) -> Handler:
        for t in targets:
            rule = Rule(fn, name or t.rsplit(".", 1)[-1], passes)
            if t.startswith("Tensor."):
                _METHODS[t[len("Tensor."):]] = rule
            elif t.split(".", 1)[0] not in _IMPORTED_ROOTS:
                _BY_NAME.setdefault(t, rule)
            else:
                _PENDING.append((t, rule))
        global _FUNCTIONS, _MODULES
        _FUNCTIONS = _MODULES = None  # rebuilt on next use
        return fn
    return deco


def _resolve(path: str) -> Any:
    head, _, rest = path.partition(".")
    path = f"{_PREFIXES[head]}.{rest}" if head in _PREFIXES else path
    mod_path, _, attr = path.rpartition(".")
    try:
        return getattr(importlib.import_module(mod_path), attr)
    except (ImportError, AttributeError):
        pass
    try:  # a class attribute path (torch.Tensor.add) or a module attribute not importable as such
        obj: Any = importlib.import_module(path.split(".")[0])
        for part in path.split(".")[1:]:
            obj = getattr(obj, part)
        return obj
    except (ImportError, AttributeError):
        return None


def _build() -> None:
    global _FUNCTIONS, _MODULES
    functions: dict[Any, Rule] = {}
    modules: dict[type, Rule] = {}
    for target, rule in _PENDING:
        obj = _resolve(target)
        if obj is None:
            continue
        if isinstance(obj, type):
            modules[obj] = rule
            continue
        try:
            functions.setdefault(obj, rule)
        except TypeError:  # unhashable
            pass
    _FUNCTIONS, _MODULES = functions, modules


def function_rule(target: Any) -> Rule | None:
    """The rule for a ``call_function`` target, by identity."""
    if _FUNCTIONS is None:
        _build()
    assert _FUNCTIONS is not None
    try:
        rule = _FUNCTIONS.get(target)
    except TypeError:
        rule = None
    if rule is None and _BY_NAME:
        mod, qual = getattr(target, "__module__", None), getattr(target, "__qualname__", None)
        if isinstance(mod, str) and isinstance(qual, str):
            rule = _BY_NAME.get(f"{mod}.{qual}")
    return rule


def method_rule(name: str) -> Rule | None:
    """The rule for a ``call_method`` named ``name``."""
    return _METHODS.get(name)


def module_rule(module: Any) -> Rule | None:
    """The rule registered for exactly ``type(module)`` (subclasses have their own forward)."""
    if _MODULES is None:
        _build()
    assert _MODULES is not None
    return _MODULES.get(type(module))


def passes_through(node: Any) -> bool:
    """Whether an fx call keeps its first argument's rank and channels (see ``passes=``)."""
    if node.op == "call_function":
        rule = function_rule(node.target)
    elif node.op == "call_method":
        rule = method_rule(str(node.target))
    else:
        return False
    return rule is not None and rule.passes


def describe_target(target: Any) -> str:
    """``torch.nn.functional.pad``, ``operator.add``...: how a person names an fx target."""
    mod = getattr(target, "__module__", None) or ""
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target)
    if mod in ("torch._C._nn", "torch._C._VariableFunctions", "torch._C"):
        mod = "torch.nn.functional" if mod == "torch._C._nn" else "torch"
    for sub in ("fft", "linalg", "special", "nested", "sparse"):
        if mod == f"torch._C._{sub}":
            mod = f"torch.{sub}"
            if isinstance(name, str) and name.startswith(sub + "_"):
                name = name[len(sub) + 1:]
    if mod == "torch" and isinstance(name, str) and name.startswith("_VariableFunctionsClass."):
        name = name[len("_VariableFunctionsClass."):]  # torch.cat, torch.eye: not their class's name
    if mod == "_operator":
        mod = "operator"
    return f"{mod}.{name}" if mod else str(name)


def forms(names: tuple[str, ...] | list[str], *, torch: bool = True, F: bool = True, method: bool = True,
          inplace: bool = True) -> list[str]:
    """Target texts for a family of same-named functions: ``torch.n``, ``F.n``, ``Tensor.n`` and,
    with ``inplace``, their ``n_`` forms (those torch lacks are skipped when resolved)."""
    out: list[str] = []
    for n in names:
        for f in [n] + ([n + "_"] if inplace and not n.endswith("_") else []):
            out += [f"{p}.{f}" for p, on in (("torch", torch), ("F", F), ("Tensor", method)) if on]
    return out
