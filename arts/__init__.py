"""arts -- the Neural Architecture Type System.

A symbolic type checker for neural-network graphs: every op has a dimension function (its output
shape as an exact sympy expression of its input shape) and an input domain; arts decides the
NeuralArTS paper's relations between ops (complete-, type-, instant-equivalence, forward- and
complete-compatibility) with certificates, generates type-equivalent ops (Algorithm 1), and checks
whole networks for every input size at once.

Layers: ``arts.solver`` (sympy only) < ``arts.ops`` < ``arts.graph`` (networkx) < front ends,
``arts.nas`` and the CLI (torch, imported lazily).
"""

from __future__ import annotations

from typing import Any

from arts.errors import ArtsError as ArtsError, InputError as InputError, Unsupported as Unsupported
from arts.graph import GraphBuilder as GraphBuilder, Report as Report, load_graph as load_graph
from arts.graph import typecheck as typecheck
from arts.ops import Op as Op, parse_op as parse_op
from arts.ops.generate import generate as generate
from arts.ops.relations import compatible as compatible, equivalent as equivalent
from arts.ops.types import partition as partition
from arts.solver.verdict import Status as Status, Verdict as Verdict

__version__ = "0.1.0"


def to_module(graph: Any, sizes: "dict[str, int] | None" = None) -> Any:
    """Compile a network graph to a ``torch.nn.Module`` (imports torch)."""
    from arts.graph.compile import to_module as _to_module

    return _to_module(graph, sizes)


def check_module(module: Any, *input_shapes: Any, where: Any = None) -> Report:
    """Type-check a ``torch.nn.Module`` for every input size (imports torch)."""
    from arts.frontends.torch_fx import check_module as _check_module

    return _check_module(module, *input_shapes, where=where)


__all__ = [
    "ArtsError", "InputError", "Unsupported", "GraphBuilder", "Report", "load_graph", "typecheck", "Op",
    "parse_op", "generate", "compatible", "equivalent", "partition", "Status", "Verdict", "to_module",
    "check_module", "__version__",
]
