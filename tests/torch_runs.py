"""The torch oracle the front-end tests share: whether a model runs on an input of a shape."""

from __future__ import annotations

import torch
from torch import nn


def runs(model: nn.Module, *shape: int) -> bool:
    try:
        with torch.no_grad():
            model(torch.zeros(*shape))
        return True
    except Exception:  # noqa: BLE001 - any failure: torch rejects the size
        return False
