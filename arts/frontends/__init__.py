"""Front ends: type-check models written in other frameworks (PyTorch, through torch.fx).

Torch is imported only when a front end is used:

* :func:`arts.frontends.loader.check_file` -- ``arts check model.py[:NAME]``;
* :func:`arts.frontends.torch_fx.check_module` -- ``arts.check_module(model, "N,3,H,W")``;
* :func:`arts.frontends.sarif.to_sarif` -- reports as SARIF 2.1.0 (``--sarif``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_file", "check_module", "to_sarif"]


def check_file(path: str, name: str | None = None, inputs: Any = None, where: Any = None, mode: str = "eval") -> Any:
    from arts.frontends.loader import check_file as _check_file

    return _check_file(path, name, inputs, where, mode)


def check_module(module: Any, *input_shapes: Any, where: Any = None, mode: str = "eval") -> Any:
    from arts.frontends.torch_fx import check_module as _check_module

    return _check_module(module, *input_shapes, where=where, mode=mode)


def to_sarif(reports: Any) -> dict:
    from arts.frontends.sarif import to_sarif as _to_sarif

    return _to_sarif(reports)
