"""Lower a ``torch.fx`` graph to an arts network graph, one rule per fx target.

* :mod:`.lowerer` -- the walker (one method per fx node kind) and how nodes are emitted;
* :mod:`.registry` -- :func:`lowers`, the one decorator that registers a rule under its targets;
* :mod:`.values` -- what an fx node lowers to (tensors, sizes, shapes, opaque values);
* one module per op family: :mod:`.core` (sizes, getattr, indexing, asserts), :mod:`.elementwise`,
  :mod:`.shape`, :mod:`.conv` (conv, pool, pad, resize, unfold, grid_sample), :mod:`.norm`, :mod:`.linear`,
  :mod:`.creation` (zeros, new_empty, arange), :mod:`.attention` (sdpa, MultiheadAttention, transformer
  layers, RNN/LSTM/GRU, embedding),
  :mod:`.modules` (``torch.nn`` layers with a catalogue op), :mod:`.libraries` (torchvision functions
  that fx keeps as leaves), :mod:`.indexing` (``x[idx]`` by an index of known values, read by
  :mod:`.constants`).

Adding an op: write the rule in its family's module under ``@lowers("torch.foo", "Tensor.foo")``,
and a property test against torch in ``tests/test_frontend_lowering.py``.
"""

from __future__ import annotations

from arts.frontends.lowering import attention as _attention  # noqa: F401  (registers its rules)
from arts.frontends.lowering import conv as _conv  # noqa: F401
from arts.frontends.lowering import creation as _creation  # noqa: F401
from arts.frontends.lowering import core as _core  # noqa: F401
from arts.frontends.lowering import elementwise as _elementwise  # noqa: F401
from arts.frontends.lowering import libraries as _libraries  # noqa: F401
from arts.frontends.lowering import linear as _linear  # noqa: F401
from arts.frontends.lowering import norm as _norm  # noqa: F401
from arts.frontends.lowering import shape as _shape  # noqa: F401
from arts.frontends.lowering.lowerer import Lowerer as Lowerer, lower as lower
from arts.frontends.lowering.registry import describe_target as describe_target, lowers as lowers
from arts.frontends.lowering.registry import passes_through as passes_through
from arts.frontends.lowering.values import TensorVal as TensorVal

__all__ = ["Lowerer", "TensorVal", "describe_target", "lower", "lowers", "passes_through"]
