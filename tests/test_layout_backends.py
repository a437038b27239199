"""Layouts that do not depend on which backend torch runs on, against torch's real tensors.

* a ``view`` that keeps every size succeeds whatever the input's strides (overlapping, gapped,
  odd size-1 strides): arts asks no stride condition of it, even on a layout it does not know.
"""

from __future__ import annotations

from typing import Any

import sympy
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arts.ops import Op
from arts.ops.layout import Layout, layout_conditions, same_shape
from arts.solver.symbols import dim

torch.set_num_threads(1)

SETTINGS = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(sizes=st.lists(st.integers(1, 4), min_size=1, max_size=5), data=st.data())
def test_same_shape_view_succeeds_for_any_strides(sizes: list[int], data: Any) -> None:
    strides = data.draw(st.lists(st.integers(0, 30), min_size=len(sizes), max_size=len(sizes)))
    span = 1 + sum((n - 1) * s for n, s in zip(sizes, strides))
    x = torch.arange(span, dtype=torch.float32).as_strided(sizes, strides)
    y = x.view(*sizes)  # torch's computeStride: must not raise
    assert torch.equal(y, x)
    shape = tuple(sympy.Integer(n) for n in sizes)
    op = Op.make("view", {"shape": list(sizes)})
    unknown = Layout("unknown", dense=False, origin="t", reason="not modelled")
    assert layout_conditions(op, "v", [shape], [unknown], shape) == []


def test_view_that_changes_a_size_still_needs_the_strides() -> None:
    N, C, H, W = (dim(s) for s in "NCHW")
    assert not same_shape((N, C, H, W), (N, C, H * W))
    assert not same_shape((N, C, H, W), (N, C, W, H))
    assert same_shape((N, C, H, W), (N, sympy.Integer(1) * C, H, W))
