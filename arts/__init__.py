"""arts -- the Neural Architecture Type System.

A symbolic type checker for neural-network graphs: every op has a dimension function (its output
shape as an exact sympy expression of its input shape) and an input domain; arts decides the
NeuralArTS paper's relations between ops (complete-, type-, instant-equivalence, forward- and
complete-compatibility) with certificates, generates type-equivalent ops (Algorithm 1), and checks
whole networks for every input size at once.

Layers: ``arts.solver`` (sympy only) < ``arts.ops`` < ``arts.graph`` (networkx) < front ends,
``arts.nas`` and the CLI (torch, imported lazily).  The public names below are loaded on first
use, so ``import arts.solver`` stays free of networkx and torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "ArtsError": "arts.errors", "InputError": "arts.errors", "Unsupported": "arts.errors",
    "Status": "arts.solver.verdict", "Verdict": "arts.solver.verdict",
    "Op": "arts.ops.base", "parse_op": "arts.ops.base",
    "equivalent": "arts.ops.relations", "compatible": "arts.ops.relations",
    "generate": "arts.ops.generate", "partition": "arts.ops.types",
    "GraphBuilder": "arts.graph.graph", "Report": "arts.graph.report", "load_graph": "arts.graph.fileformat",
    "typecheck": "arts.graph.check", "to_module": "arts.graph.compile",
    "check_module": "arts.frontends.torch_fx",
    "dynamic_shapes": "arts.export", "DynamicShapes": "arts.export",
}

if TYPE_CHECKING:  # pragma: no cover
    from arts.errors import ArtsError as ArtsError, InputError as InputError, Unsupported as Unsupported
    from arts.export import DynamicShapes as DynamicShapes, dynamic_shapes as dynamic_shapes
    from arts.frontends.torch_fx import check_module as check_module
    from arts.graph.check import typecheck as typecheck
    from arts.graph.compile import to_module as to_module
    from arts.graph.fileformat import load_graph as load_graph
    from arts.graph.graph import GraphBuilder as GraphBuilder
    from arts.graph.report import Report as Report
    from arts.ops.base import Op as Op, parse_op as parse_op
    from arts.ops.generate import generate as generate
    from arts.ops.relations import compatible as compatible, equivalent as equivalent
    from arts.ops.types import partition as partition
    from arts.solver.verdict import Status as Status, Verdict as Verdict


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'arts' has no attribute {name!r}")
    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = sorted(_EXPORTS) + ["__version__"]
