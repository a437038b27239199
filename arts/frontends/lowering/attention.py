"""Attention and sequence layers: ``F.scaled_dot_product_attention``, ``nn.MultiheadAttention``,
``nn.TransformerEncoderLayer``/``TransformerEncoder``, ``nn.RNN``/``LSTM``/``GRU``, ``F.embedding``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from arts.frontends.lowering.conv import _const_shape
from arts.frontends.lowering.registry import lowers
from arts.frontends.lowering.values import NotLowered, TensorVal

if TYPE_CHECKING:
    from arts.frontends.lowering.lowerer import Lowerer


@lowers("F.scaled_dot_product_attention")
def _sdpa(L: Lowerer, node: Any, name: str, q: Any, k: Any, v: Any, attn_mask: Any = None, dropout_p: Any = 0.0,
          is_causal: Any = False, scale: Any = None, enable_gqa: Any = False) -> Any:
    if enable_gqa is not False:
        raise NotLowered("enable_gqa=True")
    if is_causal is not False and attn_mask is not None:
        raise NotLowered("is_causal with an explicit mask")
    args = [L.tensor(q, "the query"), L.tensor(k, "the key"), L.tensor(v, "the value")]
    if attn_mask is not None:
        args.append(L.tensor(attn_mask, "the mask"))
    return L.emit(node, "scaled_dot_product_attention", {}, args)


@lowers("nn.MultiheadAttention")
def _mha(L: Lowerer, node: Any, m: Any, query: Any, key: Any, value: Any, key_padding_mask: Any = None,
         need_weights: Any = True, attn_mask: Any = None, average_attn_weights: Any = True,
         is_causal: Any = False) -> Any:
    if key_padding_mask is not None or attn_mask is not None:
        raise NotLowered("attention masks")
    if not isinstance(need_weights, bool) or not isinstance(average_attn_weights, bool):
        raise NotLowered("computed need_weights or average_attn_weights")
    args = [L.tensor(query, "the query"), L.tensor(key, "the key"), L.tensor(value, "the value")]
    params = {"embed_dim": m.embed_dim, "num_heads": m.num_heads, "kdim": m.kdim, "vdim": m.vdim,
              "batch_first": bool(m.batch_first), "average_attn_weights": average_attn_weights}
    out = L.emit(node, "multihead_attention", {**params, "part": "output"}, args)
    weights = L.emit(node, "multihead_attention", {**params, "part": "weights"}, args,
                     suffix="_weights") if need_weights else None
    return (out, weights)


@lowers("nn.TransformerEncoderLayer", "nn.TransformerEncoder")
def _encoder(L: Lowerer, node: Any, m: Any, src: Any, mask: Any = None, src_key_padding_mask: Any = None,
             is_causal: Any = None, **kwargs: Any) -> Any:
    kwargs.pop("src_mask", None) if kwargs.get("src_mask") is None else None
    if mask is not None or src_key_padding_mask is not None or kwargs:
        raise NotLowered("masks")
    layer = m.layers[0] if hasattr(m, "layers") else m
    d_model = layer.self_attn.embed_dim
    return L.emit(node, "transformer_encoder", {"d_model": d_model, "batch_first": bool(layer.self_attn.batch_first)},
                  [L.tensor(src, "the input")])


@lowers("nn.LSTM", "nn.GRU", "nn.RNN")
def _recurrent(L: Lowerer, node: Any, m: Any, x: Any, hx: Any = None) -> Any:
    if hx is not None:
        raise NotLowered("an initial state")
    t = L.tensor(x, "the input")
    params = {"mode": m.mode, "input_size": m.input_size, "hidden_size": m.hidden_size, "num_layers": m.num_layers,
              "bidirectional": bool(m.bidirectional), "batch_first": bool(m.batch_first),
              "proj_size": int(getattr(m, "proj_size", 0))}
    out = L.emit(node, "recurrent", {**params, "part": "output"}, [t])
    h = L.emit(node, "recurrent", {**params, "part": "h"}, [t], suffix="_h")
    if m.mode == "LSTM":
        return (out, (h, L.emit(node, "recurrent", {**params, "part": "c"}, [t], suffix="_c")))
    return (out, h)


@lowers("F.embedding")
def _embedding(L: Lowerer, node: Any, name: str, x: Any, weight: Any, *rest: Any, **kwargs: Any) -> TensorVal:
    w = _const_shape(L, weight, "the weight")
    if len(w) != 2:
        raise NotLowered(f"a weight of rank {len(w)}")
    return L.emit(node, "embedding", {"num_embeddings": w[0], "embedding_dim": w[1]}, [L.tensor(x, "the input")])
