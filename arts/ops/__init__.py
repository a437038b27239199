"""The universe U of operations: parameters, dimension functions, accepted inputs, torch builders."""

from arts.ops import conv as _conv  # noqa: F401  (registers the families)
from arts.ops import pool as _pool  # noqa: F401
from arts.ops.base import (
    REGISTRY as REGISTRY,
    Condition as Condition,
    Inferred as Inferred,
    Op as Op,
    OpSpec as OpSpec,
    StaticShapeError as StaticShapeError,
    as_op as as_op,
    get_spec as get_spec,
    parse_op as parse_op,
)
from arts.ops.relations import compatible as compatible, equivalent as equivalent
