"""The ENAS macro controller (Pham et al. 2018): an LSTM that samples, layer by layer, the op
and the skip connections of a child network.

Per layer ``i``: one LSTM step gives the op logits; the sampled op's embedding is fed to a second
step, whose output queries every earlier layer's *anchor* (ENAS's attention,
``v . tanh(W1 anchor_j + W2 h)``) for a skip bit each; the mean of the chosen anchors is the next
input.  As the authors' controller (TDeVries/enas_pytorch, melodyguan/enas ``general_controller``):

* op logits ``(tanh_constant / op_tanh_reduce) * tanh(logits / temperature)`` -- by default
  ``1.5 * tanh`` (``op_tanh_reduce`` 1: ENAS's macro controller does not reduce the op logits; its
  micro controller does, by 2.5);
* skip logits ``[-q, q]`` with ``q = tanh_constant * tanh(query / temperature)``;
* skip penalty: per layer, ``sum_j KL(sigmoid(logits_j) || [1 - target, target])`` over the
  layer's skip slots, averaged over the layers that have skip slots (weighted by the caller, 0.8).

:meth:`Controller.sample` draws several architectures in one batched pass (one LSTM step per
decision for the whole batch), the way a GPU wants it.

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
    skip_penalty: torch.Tensor  # sigmoid-KL towards the target skip rate, mean over layers
    skip_count: int
    skip_slots: int


class Controller(nn.Module):
    def __init__(self, num_ops: int, layers: int, hidden: int = 64, types: Sequence[Sequence[int]] | None = None,
                 type_level: bool = False, tanh_constant: float | None = 1.5, op_tanh_reduce: float = 1.0,
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

    def op_bound(self) -> float | None:
        """The bound on the op logits, ``tanh_constant / op_tanh_reduce`` (None: unbounded)."""
        return self.tanh_constant / self.op_tanh_reduce if self.tanh_constant is not None else None

    def op_distribution(self, h: torch.Tensor, allowed: list[bool] | None) -> torch.Tensor:
        """Log-probabilities over the ops, masked ops at -inf: (ops,) for one state ``h`` of shape
        (1, hidden), (B, ops) for a batch."""
        mask = None if allowed is None else torch.tensor(allowed, dtype=torch.bool, device=h.device)[None, :]
        logp = self._op_logp(h, mask)
        return logp[0] if h.shape[0] == 1 else logp

    def _op_logp(self, h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        logits = self._squash(self.w_soft(h), self.op_bound())  # (B, ops)
        if mask is not None and not bool(mask.any(-1).all()):
            raise RuntimeError("the mask allows no op")  # the oracle guarantees one
        if not self.type_level:
            if mask is not None:
                logits = logits.masked_fill(~mask, float("-inf"))
            return F.log_softmax(logits, dim=-1)
        assert self.w_type is not None
        t_logits = self._squash(self.w_type(h), self.op_bound())  # (B, types)
        B = h.shape[0]
        t_allowed = torch.ones(B, len(self.types), dtype=torch.bool, device=h.device)
        if mask is not None:
            t_allowed = torch.stack([mask[:, members].any(-1) for members in self.types], -1)
        t_logp = F.log_softmax(t_logits.masked_fill(~t_allowed, float("-inf")), dim=-1)
        out = torch.empty_like(logits)
        for t, members in enumerate(self.types):
            idx = torch.tensor(members, dtype=torch.long, device=h.device)
            sub = logits[:, idx]
            if mask is not None:
                sub = sub.masked_fill(~mask[:, idx], float("-inf"))
            within = F.log_softmax(sub, dim=-1)
            within = torch.where(t_allowed[:, t:t + 1], within, torch.full_like(within, float("-inf")))
            out = out.index_copy(1, idx, t_logp[:, t:t + 1] + within)
        return out

    @staticmethod
    def _entropy(logp: torch.Tensor) -> torch.Tensor:
        p = logp.exp()
        return -(p * torch.where(torch.isfinite(logp), logp, torch.zeros_like(logp))).sum(-1)

    def forward(self, oracle: Any = None, arc: Sequence[int] | None = None) -> Sample:
        """Sample one architecture (or score the given ``arc``)."""
        return self._run(1, oracle, None if arc is None else [arc])[0]

    def sample(self, n: int, oracle: Any = None) -> list[Sample]:
        """``n`` architectures in one batched pass (sequentially when an ``oracle`` masks the
        choices: its state is per architecture)."""
        if oracle is not None:
            return [self._run(1, oracle, None)[0] for _ in range(n)]
        return self._run(n, None, None)

    def score(self, arcs: Sequence[Sequence[int]]) -> list[Sample]:
        """Log-probabilities (etc.) of given architectures, in one batched pass."""
        return self._run(len(arcs), None, arcs)

    def _run(self, B: int, oracle: Any, arcs: Sequence[Sequence[int]] | None) -> list[Sample]:
        dev = self.g_emb.device
        h = torch.zeros(B, self.hidden, device=dev)
        c = torch.zeros(B, self.hidden, device=dev)
        first = self.g_emb.expand(B, -1)
        inputs = first
        anchors: list[torch.Tensor] = []
        anchors_w1: list[torch.Tensor] = []
        cols: list[torch.Tensor] = []  # (B,) long per decision, in arc order
        log_prob = torch.zeros(B, device=dev)
        entropy = torch.zeros(B, device=dev)
        penalties: list[torch.Tensor] = []
        skips_total = torch.zeros(B, dtype=torch.long, device=dev)
        state = oracle.start() if oracle is not None else None
        target = torch.tensor([1 - self.skip_target, self.skip_target], device=dev)
        given = torch.tensor([list(a) for a in arcs], dtype=torch.long, device=dev) if arcs is not None else None
        pos = 0
        for i in range(self.layers):
            h, c = self.lstm(inputs, (h, c))
            mask = None
            if oracle is not None:
                mask = torch.tensor(oracle.ops_mask(i, state), dtype=torch.bool, device=dev)[None, :]
            logp = self._op_logp(h, mask)  # (B, ops)
            op = torch.multinomial(logp.exp(), 1).squeeze(1) if given is None else given[:, pos]
            pos += 1
            log_prob = log_prob + logp.gather(1, op[:, None]).squeeze(1)
            entropy = entropy + self._entropy(logp)
            cols.append(op)
            inputs = self.w_emb(op)
            h, c = self.lstm(inputs, (h, c))
            if i > 0:
                query = torch.tanh(torch.stack(anchors_w1, 1) + self.w_attn_2(h)[:, None, :])  # (B, i, H)
                q = self.v_attn(query)  # (B, i, 1)
                logits = self._squash(torch.cat([-q, q], -1), self.tanh_constant)  # (B, i, 2)
                if oracle is not None:
                    ok = torch.tensor(oracle.skip_mask(i, int(op[0]), state), dtype=torch.bool, device=dev)
                    logits = torch.stack([logits[..., 0], logits[..., 1].masked_fill(~ok[None, :], float("-inf"))],
                                         -1)
                slogp = F.log_softmax(logits, dim=-1)
                if given is None:
                    skip = torch.multinomial(slogp.exp().reshape(B * i, 2), 1).reshape(B, i)
                else:
                    skip = given[:, pos:pos + i]
                pos += i
                log_prob = log_prob + slogp.gather(2, skip[..., None]).squeeze(2).sum(1)
                entropy = entropy + self._entropy(slogp).sum(1)
                sp = torch.sigmoid(logits)
                kl = sp * (torch.log(sp.clamp_min(1e-30)) - target.log())
                penalties.append(kl.sum((1, 2)))
                sk = skip.float()
                inputs = torch.einsum("bi,bih->bh", sk, torch.stack(anchors, 1)) / (1.0 + sk.sum(1, keepdim=True))
                cols.extend(skip.unbind(1))
                skips_total = skips_total + skip.sum(1)
            else:
                inputs = first
            if oracle is not None:
                state = oracle.step(i, int(op[0]), state)
            anchors.append(h)
            anchors_w1.append(self.w_attn_1(h))
        penalty = torch.stack(penalties, 1).mean(1) if penalties else torch.zeros(B, device=dev)
        table = torch.stack(cols, 1).tolist() if cols else [[] for _ in range(B)]
        counts = skips_total.tolist()
        slots = self.layers * (self.layers - 1) // 2
        return [Sample([int(v) for v in table[b]], log_prob[b], entropy[b], penalty[b], int(counts[b]), slots)
                for b in range(B)]
