"""The universe U of operations: parameters, dimension functions, accepted inputs, torch builders."""

from arts.ops import conv as _conv  # noqa: F401  (registers the families)
from arts.ops import pool as _pool  # noqa: F401
from arts.ops import linear as _linear  # noqa: F401
from arts.ops import norm as _norm  # noqa: F401
from arts.ops import elementwise as _elementwise  # noqa: F401
from arts.ops import merge as _merge  # noqa: F401
from arts.ops import resize as _resize  # noqa: F401
from arts.ops import enas as _enas  # noqa: F401
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
from arts.ops import frontend_ops as _frontend_ops  # noqa: F401,E402  (front-end ops: sized_pad, index, reduce, ...)
from arts.ops import tensor_ops as _tensor_ops  # noqa: F401,E402  (expand, create, einsum, batch_norm, ...)
from arts.ops import sequence_ops as _sequence_ops  # noqa: F401,E402  (attention, recurrent, embedding)
from arts.ops import guard_ops as _guard_ops  # noqa: F401,E402  (branch_guard: branches of forward on sizes)
from arts.ops import windows as _windows  # noqa: F401,E402  (fold, Tensor.unfold)
