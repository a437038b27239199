"""Every diagnostic code arts emits, in one registry, with its one-line meaning.

Codes appear in text output as ``[code]``, in JSON as ``"code"`` and in SARIF as rule ids.
docs/diagnostics.md documents each one with an example.
"""

from __future__ import annotations

CODES: dict[str, str] = {
    "shape-mismatch": "two sizes that must be equal can differ (cat, reshape, layer norm, ...)",
    "broadcast": "operands of an elementwise op cannot be broadcast together",
    "channel-mismatch": "a layer's declared channels/features differ from its input's",
    "rank-mismatch": "a tensor has the wrong number of dimensions for the op",
    "too-small": "an input is too small for a kernel, window or padding",
    "arity": "an op gets the wrong number of inputs",
    "unsupported": "arts cannot model this node exactly; the check is incomplete (unknown)",
    "undecided": "arts could not decide whether this condition always holds (unknown)",
    "empty-domain": "no input size at all is accepted",
    "assert-failed": "a size check in the model's own code (torch._assert) fails for some input sizes",
    "assumed-input": "note: the input shape was not given and was assumed from the model's first layer",
}


def describe(code: str) -> str:
    return CODES.get(code, code)
