"""The CATS network: cross-attention-only time series transformer (Kim et al., NeurIPS 2024).

Shapes: ``B`` windows, ``L`` input length, ``C`` channels, ``P`` patch length, ``N`` input
patches, ``M = ceil(H / P)`` horizon patches, ``D = d_model``. The model is channel
independent: the ``C`` channels of a window are ``B * C`` separate series that share every
weight (only the horizon queries may be per channel).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def qam_end_for_horizon(horizon: int) -> float:
    """The paper's query-adaptive-masking end probability for a horizon (Sec. 4.1)."""
    for h, p in ((96, 0.2), (192, 0.3), (336, 0.5)):
        if horizon <= h:
            return p
    return 0.7


class QueryAdaptiveMasking(nn.Module):
    """Drop whole horizon queries' updates with a probability rising over the horizon.

    Probability ``linspace(start, end, M)`` for the ``M`` queries, one Bernoulli draw per
    query shared over the batch and ``d_model``, no rescaling (Sec. 3.3, as the reference
    code does); identity in ``eval()``.
    """

    def __init__(self, start: float, end: float):
        super().__init__()
        self.start, self.end = start, end

    def forward(self, x):  # x: (B, M, D)
        if not self.training:
            return x
        p = torch.linspace(self.start, self.end, x.shape[1], device=x.device, dtype=x.dtype)
        keep = torch.bernoulli(1 - p)
        return x * keep[None, :, None]


class CrossAttention(nn.Module):
    """Multi-head cross-attention with residual attention scores (RealFormer-style)."""

    def __init__(self, d_model: int, n_heads: int, dropout: float):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}.")
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.q = nn.Linear(d_model, d_model)
        self.k = nn.Linear(d_model, d_model)
        self.v = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, query, memory, prev_scores=None):
        B, M, D = query.shape
        N = memory.shape[1]
        q = self.q(query).view(B, M, self.n_heads, self.d_head).transpose(1, 2)
        k = self.k(memory).view(B, N, self.n_heads, self.d_head).transpose(1, 2)
        v = self.v(memory).view(B, N, self.n_heads, self.d_head).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.d_head)  # (B, h, M, N)
        if prev_scores is not None:  # residual attention: previous layer's raw scores
            scores = scores + prev_scores
        attn = torch.softmax(scores, dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(B, M, D)
        return self.drop(self.out(out)), attn, scores


class DecoderLayer(nn.Module):
    """Cross-attention, add & post-LN, GEGLU FFN, add & post-LN; QAM on both updates."""

    def __init__(self, d_model, n_heads, d_ff, dropout, qam_start, qam_end):
        super().__init__()
        self.attn = CrossAttention(d_model, n_heads, dropout)
        self.qam_attn = QueryAdaptiveMasking(qam_start, qam_end)
        self.norm_attn = nn.LayerNorm(d_model)
        self.ff_in = nn.Linear(d_model, d_ff)  # GEGLU halves it: d_ff -> d_ff / 2
        self.ff_drop = nn.Dropout(dropout)
        self.ff_out = nn.Linear(d_ff // 2, d_model)
        self.qam_ffn = QueryAdaptiveMasking(qam_start, qam_end)
        self.norm_ffn = nn.LayerNorm(d_model)

    def forward(self, queries, memory, prev_scores=None):
        upd, attn, scores = self.attn(queries, memory, prev_scores)
        queries = self.norm_attn(queries + self.qam_attn(upd))
        a, gate = self.ff_in(queries).chunk(2, dim=-1)
        upd = self.ff_out(self.ff_drop(a * F.gelu(gate)))
        queries = self.norm_ffn(queries + self.qam_ffn(upd))
        return queries, attn, scores


class CATSNet(nn.Module):
    """Input windows ``(B, L, C)`` -> forecasts ``(B, H, C)``.

    Parameters
    ----------
    n_channels, seq_len, horizon, patch_len, stride : int
    d_model, n_heads, d_ff, n_layers : int
    dropout : float
    qam_start, qam_end : float
    share_queries : bool
        One set of horizon queries for every channel (``[M, P]``) instead of ``[C, M, P]``.
    """

    def __init__(
        self,
        n_channels: int,
        seq_len: int,
        horizon: int,
        patch_len: int = 24,
        stride: int = 24,
        d_model: int = 128,
        n_heads: int = 16,
        d_ff: int = 256,
        n_layers: int = 3,
        dropout: float = 0.2,
        qam_start: float = 0.1,
        qam_end: float = 0.2,
        share_queries: bool = False,
    ):
        super().__init__()
        self.seq_len, self.horizon = seq_len, horizon
        self.patch_len, self.stride = patch_len, stride
        self.n_patches = (seq_len - patch_len) // stride + 2  # replicate-padded by stride
        self.n_queries = -(-horizon // patch_len)
        self.share_queries = share_queries
        self.embed = nn.Linear(patch_len, d_model)  # shared by input patches and queries
        self.pos = nn.Parameter(0.04 * torch.rand(self.n_patches, d_model) - 0.02)
        self.drop = nn.Dropout(dropout)
        shape = (
            (self.n_queries, patch_len)
            if share_queries
            else (n_channels, self.n_queries, patch_len)
        )
        self.queries = nn.Parameter(0.5 * torch.randn(*shape))
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, n_heads, d_ff, dropout, qam_start, qam_end)
            for _ in range(n_layers)
        )
        self.proj = nn.Linear(d_model, patch_len)  # shared over all horizon patches
        self.store_attention = False
        self.attention_: list[torch.Tensor] = []

    def forward(self, x):  # x: (B, L, C)
        B, L, C = x.shape
        z = x.transpose(1, 2)  # (B, C, L)
        # per-window instance normalisation, undone at the output (RevIN without affine)
        mean = z.mean(-1, keepdim=True)
        std = torch.sqrt(z.var(-1, keepdim=True, unbiased=False) + 1e-5)
        z = (z - mean) / std
        z = F.pad(z, (0, self.stride), mode="replicate")
        patches = z.unfold(-1, self.patch_len, self.stride)  # (B, C, N, P)
        memory = self.drop(self.embed(patches) + self.pos).reshape(B * C, self.n_patches, -1)
        q = self.embed(self.queries)  # (M, D) or (C, M, D); no positional encoding
        q = q.expand(B * C, -1, -1) if self.share_queries else q.repeat(B, 1, 1)
        scores = None
        self.attention_ = []
        for layer in self.layers:  # memory stays fixed: cross-attention only
            q, attn, scores = layer(q, memory, scores)
            if self.store_attention:
                self.attention_.append(attn.detach().reshape(B, C, *attn.shape[1:]))
        out = self.proj(q).reshape(B, C, -1)[..., : self.horizon]  # (B, C, H)
        out = out * std + mean
        return out.transpose(1, 2)
