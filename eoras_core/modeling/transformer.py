"""DETR-style post-norm transformer decoder with head-averaged cross-attention maps.

Parameter names follow torch.nn.MultiheadAttention (`in_proj_weight`, `out_proj`) so
published checkpoints load; the module itself is ours so that memory projections can be
computed once per frame and reused across the sequential slot recurrence.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sincos_table(n: int, dim: int) -> torch.Tensor:
    """(1, n, dim): P[i, 2j] = sin(i / 10000^(2j/dim)), P[i, 2j+1] = cos(same)."""
    pos = torch.arange(n, dtype=torch.float64)[:, None]
    freq = torch.pow(10000.0, torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    table = torch.zeros(n, dim, dtype=torch.float64)
    table[:, 0::2] = torch.sin(pos / freq)
    table[:, 1::2] = torch.cos(pos / freq)
    return table[None].float()


class Attention(nn.Module):
    """Multi-head attention; `forward` returns (output (B,Lq,D), head-averaged weights (B,Lq,Lk) or None)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def project_kv(self, key: torch.Tensor, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B,L,D) key/value inputs -> per-head keys and values (B,h,L,D/h)."""
        d = key.shape[-1]
        w, b = self.in_proj_weight, self.in_proj_bias
        k = F.linear(key, w[d : 2 * d], b[d : 2 * d])
        v = F.linear(value, w[2 * d :], b[2 * d :])
        return self._split(k), self._split(v)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        return x.view(b, n, self.heads, d // self.heads).transpose(1, 2)

    def forward(
        self, query: torch.Tensor, kv: tuple[torch.Tensor, torch.Tensor], need_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        d = query.shape[-1]
        q = self._split(F.linear(query, self.in_proj_weight[:d], self.in_proj_bias[:d]))
        k, v = kv
        if need_weights:
            # Scores and softmax in float32 even under autocast: QK^T rounded to bf16 before the
            # softmax shifts the attention maps the studio shows.
            dtype = torch.promote_types(q.dtype, torch.float32)
            with torch.autocast("cuda" if q.is_cuda else "cpu", enabled=False):
                attn = torch.softmax((q.to(dtype) / math.sqrt(q.shape[-1])) @ k.to(dtype).transpose(-2, -1), dim=-1)
                out = (attn @ v.to(dtype)).to(q.dtype)
            weights = attn.mean(dim=1)
        else:
            out = F.scaled_dot_product_attention(q, k, v)
            weights = None
        b, h, n, dh = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, h * dh)), weights


class DecoderLayer(nn.Module):
    """Self-attention, cross-attention, FFN; each followed by add & LayerNorm (post-norm)."""

    def __init__(self, dim: int, heads: int, ffn_dim: int) -> None:
        super().__init__()
        self.self_attn = Attention(dim, heads)
        self.multihead_attn = Attention(dim, heads)
        self.linear1 = nn.Linear(dim, ffn_dim)
        self.linear2 = nn.Linear(ffn_dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.norm3 = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(0.1)

    def self_block(self, x: torch.Tensor, qpos: torch.Tensor) -> torch.Tensor:
        """Self-attention of the queries, add & norm: depends on the queries alone."""
        q = x + qpos
        a, _ = self.self_attn(q, self.self_attn.project_kv(q, x))
        return self.norm1(x + self.dropout(a))

    def memory_block(
        self, x: torch.Tensor, qpos: torch.Tensor, memory_kv: tuple[torch.Tensor, torch.Tensor], need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Cross-attention to the memory and the FFN, each with add & norm."""
        a, weights = self.multihead_attn(x + qpos, memory_kv, need_weights)
        x = self.norm2(x + self.dropout(a))
        a = self.linear2(self.dropout(F.relu(self.linear1(x))))
        return self.norm3(x + self.dropout(a)), weights

    def forward(
        self, x: torch.Tensor, qpos: torch.Tensor, memory_kv: tuple[torch.Tensor, torch.Tensor],
        need_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.memory_block(self.self_block(x, qpos), qpos, memory_kv, need_weights)


class TransformerDecoder(nn.Module):
    """A stack of decoder layers; memory keys/values are projected once and can be reused."""

    def __init__(self, dim: int, heads: int, ffn_dim: int, num_layers: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(dim, heads, ffn_dim) for _ in range(num_layers))

    def memory_kv(self, memory: torch.Tensor, pos: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Memory tokens (B,L,D) + positions -> one (keys, values) pair per layer."""
        return [layer.multihead_attn.project_kv(memory + pos, memory) for layer in self.layers]

    def forward(
        self, x: torch.Tensor, qpos: torch.Tensor, memory_kv: list[tuple[torch.Tensor, torch.Tensor]],
        need_weights: bool = False, repeat: int = 1,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Queries (B,Lq,D) -> (updated queries, last layer's head-averaged cross-attention (B,Lq,Lk)).

        With repeat=r the same B queries meet r memories (memory batch r*B, repeat-major):
        the first self-attention depends on the queries only, so it runs once, not r times.
        """
        weights = None
        for i, layer in enumerate(self.layers):
            last = i == len(self.layers) - 1
            if i == 0:
                x = layer.self_block(x, qpos)
                if repeat > 1:
                    x = x.repeat(repeat, 1, 1)
            else:
                x = layer.self_block(x, qpos)
            x, weights = layer.memory_block(x, qpos, memory_kv[i], need_weights and last)
        return x, weights
