"""The ENAS macro controller (Pham et al. 2018): an LSTM that samples, layer by layer, the op
and the skip connections of a child network.

Per layer ``i``: one LSTM step gives the op logits; the sampled op's embedding is fed to a second
step, whose output queries every earlier layer's *anchor* (ENAS's attention,
``v . tanh(W1 anchor_j + W2 h)``) for a skip bit each; the mean of the chosen anchors is the next
input.  Op logits are ``(tanh_constant / op_tanh_reduce) * tanh(logits / temperature)`` and skip
logits ``tanh_constant * tanh(...)``, as in ENAS.

Type-aware options (each off by default, measured against the plain controller):

* ``type_level``: sample a *type* (Def. 2 class of the space's ops) first, then an op within it;
  the op's probability is ``p(type) * p(op | type)``.
* masking (``oracle``): a :class:`arts.nas.spaces.ShapeOracle` masks ops whose output would be
  ill-typed at the actual input size (or that leave no well-typed completion) and skip
  connections whose shapes differ, so that a controller over a space of mixed types only samples
  well-typed networks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Sample:
    """One sampled architecture with the quantities REINFORCE needs."""

    arc: list[int]
    log_prob: torch.Tensor  # scalar, differentiable
    entropy: torch.Tensor  # scalar, differentiable
    skip_penalty: torch.Tensor  # KL(p_skip || target), summed over layers
    skip_count: int
    skip_slots: int


class Controller(nn.Module):
    def __init__(self, num_ops: int, layers: int, hidden: int = 64, types: Sequence[Sequence[int]] | None = None,
                 type_level: bool = False, tanh_constant: float | None = 1.5, op_tanh_reduce: float = 2.5,
                 temperature: float | None = None, skip_target: float = 0.4) -> None:
        super().__init__()
        self.num_ops = num_ops
        self.layers = layers
        self.hidden = hidden
        self.tanh_constant = tanh_constant
        self.op_tanh_reduce = op_tanh_reduce
        self.temperature = temperature
        self.skip_target = skip_target
        self.type_level = type_level
        groups = [list(t) for t in types] if types is not None else [list(range(num_ops))]
        if sorted(i for t in groups for i in t) != list(range(num_ops)):
            raise ValueError("types must partition the op indices")
        self.types = groups
        type_of = [0] * num_ops
        for t, members in enumerate(groups):
            for i in members:
                type_of[i] = t
        self.register_buffer("type_of", torch.tensor(type_of, dtype=torch.long), persistent=False)
        self.lstm = nn.LSTMCell(hidden, hidden)
        self.g_emb = nn.Parameter(torch.empty(1, hidden))
        self.w_emb = nn.Embedding(num_ops, hidden)
        self.w_soft = nn.Linear(hidden, num_ops, bias=False)
        self.w_type = nn.Linear(hidden, len(groups), bias=False) if type_level else None
        self.w_attn_1 = nn.Linear(hidden, hidden, bias=False)
        self.w_attn_2 = nn.Linear(hidden, hidden, bias=False)
        self.v_attn = nn.Linear(hidden, 1, bias=False)
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)

    # -- logits --
    def _squash(self, logits: torch.Tensor, scale: float | None) -> torch.Tensor:
        if self.temperature is not None:
            logits = logits / self.temperature
        if scale is not None:
            logits = scale * torch.tanh(logits)
        return logits

    def _op_scale(self) -> float | None:
        return self.tanh_constant / self.op_tanh_reduce if self.tanh_constant is not None else None

    def op_distribution(self, h: torch.Tensor, allowed: list[bool] | None) -> torch.Tensor:
        """Log-probabilities over the ops (1-d), masked ops at -inf."""
        logits = self._squash(self.w_soft(h)[0], self._op_scale())
        mask = None
        if allowed is not None:
            mask = torch.tensor(allowed, dtype=torch.bool, device=logits.device)
            if not bool(mask.any()):
                raise RuntimeError("the mask allows no op")  # the oracle guarantees one
        if not self.type_level:
            if mask is not None:
                logits = logits.masked_fill(~mask, float("-inf"))
            return F.log_softmax(logits, dim=-1)
        assert self.w_type is not None
        t_logits = self._squash(self.w_type(h)[0], self._op_scale())
        out = torch.empty_like(logits)
        t_allowed = []
        for members in self.types:
            m = mask[members] if mask is not None else None
            t_allowed.append(bool(m.any()) if m is not None else True)
        t_mask = torch.tensor(t_allowed, dtype=torch.bool, device=logits.device)
        t_logp = F.log_softmax(t_logits.masked_fill(~t_mask, float("-inf")), dim=-1)
        for t, members in enumerate(self.types):
            idx = torch.tensor(members, dtype=torch.long, device=logits.device)
            sub = logits[idx]
            if mask is not None:
                sub = sub.masked_fill(~mask[idx], float("-inf"))
            within = F.log_softmax(sub, dim=-1) if t_allowed[t] else torch.full_like(sub, float("-inf"))
            out = out.index_copy(0, idx, t_logp[t] + within)
        return out

    @staticmethod
    def _entropy(logp: torch.Tensor) -> torch.Tensor:
        p = logp.exp()
        return -(p * torch.where(torch.isfinite(logp), logp, torch.zeros_like(logp))).sum(-1)

    def forward(self, oracle: Any = None, arc: Sequence[int] | None = None) -> Sample:
        """Sample an architecture (or score the given ``arc``)."""
        dev = self.g_emb.device
        h = torch.zeros(1, self.hidden, device=dev)
        c = torch.zeros(1, self.hidden, device=dev)
        inputs = self.g_emb
        anchors: list[torch.Tensor] = []
        anchors_w1: list[torch.Tensor] = []
        out: list[int] = []
        log_prob = torch.zeros((), device=dev)
        entropy = torch.zeros((), device=dev)
        penalty = torch.zeros((), device=dev)
        skips_total = 0
        slots = 0
        state = oracle.start() if oracle is not None else None
        target = torch.tensor([1 - self.skip_target, self.skip_target], device=dev)
        pos = 0
        for i in range(self.layers):
            h, c = self.lstm(inputs, (h, c))
            allowed = oracle.ops_mask(i, state) if oracle is not None else None
            logp = self.op_distribution(h, allowed)
            if arc is None:
                op = int(torch.multinomial(logp.exp(), 1).item())
            else:
                op = int(arc[pos])
            pos += 1
            log_prob = log_prob + logp[op]
            entropy = entropy + self._entropy(logp)
            out.append(op)
            inputs = self.w_emb.weight[op:op + 1]
            h, c = self.lstm(inputs, (h, c))
            if i > 0:
                query = torch.tanh(torch.cat(anchors_w1, 0) + self.w_attn_2(h))
                q = self.v_attn(query)  # (i, 1)
                logits = self._squash(torch.cat([-q, q], 1), self.tanh_constant)
                if oracle is not None:
                    ok = torch.tensor(oracle.skip_mask(i, op, state), dtype=torch.bool, device=dev)
                    logits = torch.stack([logits[:, 0], logits[:, 1].masked_fill(~ok, float("-inf"))], 1)
                slogp = F.log_softmax(logits, dim=-1)
                if arc is None:
                    skip = torch.multinomial(slogp.exp(), 1).squeeze(1)
                else:
                    skip = torch.tensor([int(x) for x in arc[pos:pos + i]], dtype=torch.long, device=dev)
                pos += i
                log_prob = log_prob + slogp.gather(1, skip[:, None]).sum()
                entropy = entropy + self._entropy(slogp).sum()
                p = slogp.exp()
                safe = torch.where(p > 0, slogp, torch.zeros_like(slogp))
                penalty = penalty + (p * (safe - target.log())).sum()
                sk = skip.float()[None, :]
                inputs = sk @ torch.cat(anchors, 0) / (1.0 + sk.sum())
                bits = [int(x) for x in skip.tolist()]
                out.extend(bits)
                skips_total += sum(bits)
                slots += i
            else:
                inputs = self.g_emb
            if oracle is not None:
                state = oracle.step(i, op, state)
            anchors.append(h)
            anchors_w1.append(self.w_attn_1(h))
        return Sample(out, log_prob, entropy, penalty, skips_total, slots)
