"""Compatibility name for :mod:`arts.frontends.lowering` (the rules now live there, by op family)."""

from __future__ import annotations

from arts.frontends.lowering import Lowerer as Lowerer, TensorVal as TensorVal, describe_target as describe_target
from arts.frontends.lowering import lower as lower

__all__ = ["Lowerer", "TensorVal", "describe_target", "lower"]
