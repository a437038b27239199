"""Attention, recurrent and embedding layers: the shapes of sequence models.

Sequence layouts follow torch: ``(L, N, E)`` by default, ``(N, L, E)`` with ``batch_first``, and
``(L, E)`` unbatched.  Layers that return several tensors (``nn.LSTM``, ``nn.MultiheadAttention``)
are one op per returned tensor, selected by ``part``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy

from arts.errors import InputError
from arts.ops.base import (
    REGISTRY, Inferred, OpSpec, Param, Shape, StaticShapeError, bool_param, choice_param, eq, int_param, keep,
    rank_error, register,
)
from arts.ops.merge import broadcast

__all__: list[str] = []


def _register(cls: type) -> type:
    if cls.name not in REGISTRY:  # type: ignore[attr-defined]
        register(cls)
    return cls


def _seq(x: Shape, batch_first: bool, op: str) -> tuple[Any, Any | None, Any]:
    """(length, batch or None when unbatched, features) of a sequence input."""
    if len(x) == 2:
        return x[0], None, x[1]
    if len(x) == 3:
        return (x[1], x[0], x[2]) if batch_first else (x[0], x[1], x[2])
    raise rank_error(op, "a 2-d (unbatched) or 3-d", x)


def _layout(L: Any, N: Any | None, E: Any, batch_first: bool) -> tuple:
    if N is None:
        return (L, E)
    return (N, L, E) if batch_first else (L, N, E)


@_register
class SdpaSpec(OpSpec):
    """``F.scaled_dot_product_attention(q, k, v[, attn_mask])``: ``q (..., L, E)``, ``k (..., S, E)``,
    ``v (..., S, Ev)`` with broadcast batch dimensions give ``(..., L, Ev)``; a mask must broadcast
    to ``(..., L, S)``."""

    name = "scaled_dot_product_attention"
    doc = "torch.nn.functional.scaled_dot_product_attention"
    arity = (3, 4)

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        q, k, v = (tuple(sympy.sympify(s) for s in t) for t in inputs[:3])
        if min(len(q), len(k), len(v)) < 2:
            raise StaticShapeError("scaled_dot_product_attention: query, key and value must all be at least "
                                   f"2-d, got ranks {len(q)}, {len(k)}, {len(v)}", code="rank-mismatch")
        conds = [eq(k[-1], q[-1], "scaled_dot_product_attention: query and key feature sizes differ"),
                 eq(v[-2], k[-2], "scaled_dot_product_attention: key and value sequence lengths differ")]
        batch, c1 = broadcast("scaled_dot_product_attention", [q[:-2], k[:-2]])
        batch, c2 = broadcast("scaled_dot_product_attention", [batch, v[:-2]])
        conds += c1 + c2
        if len(inputs) == 4:
            _, c3 = broadcast("scaled_dot_product_attention (mask)", [tuple(batch) + (q[-2], k[-2]),
                                                                      tuple(inputs[3])])
            full, _ = broadcast("mask", [tuple(batch) + (q[-2], k[-2]), tuple(inputs[3])])
            if len(full) != len(batch) + 2:
                raise StaticShapeError("scaled_dot_product_attention: the mask has more dimensions than the "
                                       "attention weights", code="broadcast")
            conds += c3
        return Inferred(tuple(batch) + (q[-2], v[-1]), keep(*conds))


@_register
class MultiheadAttentionSpec(OpSpec):
    """``nn.MultiheadAttention(query, key, value)``: ``part="output"`` is the attended values (the
    query's layout, ``embed_dim`` features), ``part="weights"`` the attention weights
    ``(N, L, S)`` (``(N, heads, L, S)`` without averaging; ``(L, S)`` unbatched)."""

    name = "multihead_attention"
    doc = "torch.nn.MultiheadAttention"
    arity = (3, 3)
    params = (Param("embed_dim", None, int_param(1)), Param("num_heads", 1, int_param(1)),
              Param("kdim", None, int_param(1, optional=True)), Param("vdim", None, int_param(1, optional=True)),
              Param("batch_first", False, bool_param), Param("part", "output", choice_param("output", "weights")),
              Param("average_attn_weights", True, bool_param))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        q, k, v = (tuple(t) for t in inputs)
        if not len(q) == len(k) == len(v):
            raise StaticShapeError(f"multihead_attention: query, key and value must have the same rank, got "
                                   f"{len(q)}, {len(k)}, {len(v)}", code="rank-mismatch")
        bf = p["batch_first"]
        Lq, Nq, Eq = _seq(q, bf, self.name)
        S, Nk, Ek = _seq(k, bf, self.name)
        Sv, Nv, Ev = _seq(v, bf, self.name)
        E = p["embed_dim"]
        kdim = p["kdim"] if p["kdim"] is not None else E
        vdim = p["vdim"] if p["vdim"] is not None else E
        conds = [eq(Eq, E, f"multihead_attention expects {E} query features", code="channel-mismatch"),
                 eq(Ek, kdim, f"multihead_attention expects {kdim} key features", code="channel-mismatch"),
                 eq(Ev, vdim, f"multihead_attention expects {vdim} value features", code="channel-mismatch"),
                 eq(Sv, S, "multihead_attention: key and value sequence lengths differ")]
        if Nq is not None:
            conds += [eq(Nk, Nq, "multihead_attention: key and query batch sizes differ"),
                      eq(Nv, Nq, "multihead_attention: value and query batch sizes differ")]
        if p["part"] == "output":
            return Inferred(_layout(Lq, Nq, sympy.Integer(E), bf), keep(*conds))
        w = (Lq, S) if p["average_attn_weights"] else (sympy.Integer(p["num_heads"]), Lq, S)
        return Inferred(w if Nq is None else (Nq, *w), keep(*conds))


@_register
class TransformerLayerSpec(OpSpec):
    """``nn.TransformerEncoderLayer`` / ``nn.TransformerEncoder`` (no masks): a sequence of
    ``d_model`` features in, the same shape out."""

    name = "transformer_encoder"
    doc = "torch.nn.TransformerEncoderLayer / TransformerEncoder"
    params = (Param("d_model", None, int_param(1)), Param("batch_first", False, bool_param))

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        _seq(x, p["batch_first"], self.name)
        return Inferred(x, keep(eq(x[-1], p["d_model"], f"transformer_encoder expects {p['d_model']} features "
                                                       "(d_model)", code="channel-mismatch")))


@_register
class RecurrentSpec(OpSpec):
    """``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` without an initial state: ``part="output"`` is
    ``(L, N, D*H_out)`` (batch_first: ``(N, L, ...)``), ``part="h"`` the final hidden state
    ``(D*num_layers, N, H_out)``, ``part="c"`` (LSTM) the final cell state
    ``(D*num_layers, N, hidden_size)``; unbatched inputs drop ``N``."""

    name = "recurrent"
    doc = "torch.nn.RNN / LSTM / GRU"
    params = (Param("mode", "LSTM", choice_param("RNN_TANH", "RNN_RELU", "LSTM", "GRU")),
              Param("input_size", None, int_param(1)), Param("hidden_size", None, int_param(1)),
              Param("num_layers", 1, int_param(1)), Param("bidirectional", False, bool_param),
              Param("batch_first", False, bool_param), Param("proj_size", 0, int_param(0)),
              Param("part", "output", choice_param("output", "h", "c")))

    def validate(self, p: dict[str, Any]) -> None:
        if p["part"] == "c" and p["mode"] != "LSTM":
            raise InputError("parameter part='c' (cell state) is for LSTM only")

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        x = tuple(inputs[0])
        bf = p["batch_first"]
        L, N, F = _seq(x, bf, self.name)
        c = eq(F, p["input_size"], f"{p['mode'].split('_')[0].lower()} expects {p['input_size']} input features",
               code="channel-mismatch")
        D = 2 if p["bidirectional"] else 1
        h_out = p["proj_size"] or p["hidden_size"]
        if p["part"] == "output":
            return Inferred(_layout(L, N, sympy.Integer(D * h_out), bf), keep(c))
        size = h_out if p["part"] == "h" else p["hidden_size"]
        lead = sympy.Integer(D * p["num_layers"])
        shape = (lead, sympy.Integer(size)) if N is None else (lead, N, sympy.Integer(size))
        return Inferred(shape, keep(c))


@_register
class EmbeddingSpec(OpSpec):
    """``nn.Embedding`` / ``F.embedding``: integer indices of any shape, one ``embedding_dim``
    vector each."""

    name = "embedding"
    torch_name = "Embedding"
    doc = "torch.nn.Embedding"
    params = (Param("num_embeddings", None, int_param(1, optional=True)),
              Param("embedding_dim", None, int_param(1)))

    def default_input(self, p: dict[str, Any]) -> list[Shape]:
        from arts.solver.symbols import dim

        return [(dim("N"), dim("L"))]

    def rule(self, p: dict[str, Any], inputs: Sequence[Shape]) -> Inferred:
        return Inferred(tuple(inputs[0]) + (sympy.Integer(p["embedding_dim"]),))

    def build(self, p: dict[str, Any], inputs: Sequence[tuple[int, ...]]) -> Any:
        import torch.nn as nn

        return nn.Embedding(p["num_embeddings"] or 1, p["embedding_dim"])
