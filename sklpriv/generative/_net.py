"""A compact Diffusion-TS-style transformer (Yuan & Qiao, ICLR 2024), TimeBridge's network.

Conv embedding of the window, learnable positional encodings, an encoder of
self-attention blocks and a decoder of self- plus cross-attention blocks, every attention
input normalised by an adaptive LayerNorm on the (log-)time; each decoder block adds a
polynomial trend (degree 3) and a Fourier seasonal term (top-k frequencies of its hidden
state) to the output, which is ``trend + season``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class _TimeEmbedding(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.d = d

    def forward(self, t):  # (B,) -> (B, d)
        half = self.d // 2
        freq = torch.exp(-math.log(10000) * torch.arange(half, device=t.device) / max(half - 1, 1))
        arg = t[:, None].float() * freq[None]
        return torch.cat([arg.sin(), arg.cos()], dim=-1)


class _AdaLayerNorm(nn.Module):
    """LayerNorm whose scale and shift come from the diffusion time."""

    def __init__(self, d: int):
        super().__init__()
        self.emb = _TimeEmbedding(d)
        self.linear = nn.Linear(d, 2 * d)
        self.norm = nn.LayerNorm(d, elementwise_affine=False)

    def forward(self, x, t):
        scale, shift = self.linear(nn.functional.silu(self.emb(t)))[:, None].chunk(2, dim=-1)
        return self.norm(x) * (1 + scale) + shift


def _mlp(d: int, mult: int = 4) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d, mult * d), nn.GELU(), nn.Linear(mult * d, d))


class _ConvEmbed(nn.Module):  # (B, L, c_in) -> (B, L, c_out), kernel 3 along time
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv1d(c_in, c_out, 3, padding=1)

    def forward(self, x):
        return self.conv(x.transpose(1, 2)).transpose(1, 2)


class _Trend(nn.Module):
    """Polynomial trend: coefficients of (t, t^2, t^3) per output feature."""

    def __init__(self, L: int, d: int, C: int, degree: int = 3):
        super().__init__()
        self.to_coef = nn.Conv1d(L, degree, 3, padding=1)  # over the hidden axis
        self.to_feat = nn.Conv1d(d, C, 3, padding=1)  # over the degree axis
        grid = torch.arange(1, L + 1, dtype=torch.float32) / (L + 1)
        self.register_buffer("basis", torch.stack([grid ** (p + 1) for p in range(degree)]))

    def forward(self, h):  # (B, L, d) -> (B, L, C)
        coef = nn.functional.gelu(self.to_coef(h))  # (B, degree, d)
        coef = self.to_feat(coef.transpose(1, 2))  # (B, C, degree)
        return (coef @ self.basis).transpose(1, 2)


class _Seasonal(nn.Module):
    """Keep the top-k non-constant frequencies of the hidden state (k = floor(log L))."""

    def forward(self, h):  # (B, L, d) -> (B, L, d)
        L = h.shape[1]
        spec = torch.fft.rfft(h, dim=1)
        n_freq = spec.shape[1] - 1 - (L % 2 == 0)  # drop the mean and the Nyquist term
        k = min(max(int(math.log(L)), 1), n_freq)
        if k < 1:
            return torch.zeros_like(h)
        idx = spec[:, 1 : 1 + n_freq].abs().topk(k, dim=1).indices + 1  # (B, k, d)
        kept = torch.zeros_like(spec).scatter(1, idx, spec.gather(1, idx))
        # the inverse DFT restricted to the k frequencies: 2 / L sum_k |X_k| cos(2 pi f_k t
        # + angle X_k), computed as one irfft of the spectrum with every other bin zeroed
        return torch.fft.irfft(kept, n=L, dim=1)


class _EncoderBlock(nn.Module):
    def __init__(self, d: int, n_heads: int):
        super().__init__()
        self.ln1, self.ln2 = _AdaLayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, n_heads, batch_first=True)
        self.mlp = _mlp(d)

    def forward(self, x, t):
        h = self.ln1(x, t)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class _DecoderBlock(nn.Module):
    def __init__(self, L: int, d: int, C: int, n_heads: int):
        super().__init__()
        self.ln1, self.ln2, self.ln3 = _AdaLayerNorm(d), _AdaLayerNorm(d), nn.LayerNorm(d)
        self.self_attn = nn.MultiheadAttention(d, n_heads, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(d, n_heads, batch_first=True)
        self.split = nn.Conv1d(L, 2 * L, 1)
        self.trend, self.seasonal = _Trend(L, d, C), _Seasonal()
        self.mlp = _mlp(d)
        self.to_level = nn.Linear(d, C)

    def forward(self, x, memory, t):
        h = self.ln1(x, t)
        x = x + self.self_attn(h, h, h, need_weights=False)[0]
        h = self.ln2(x, t)
        x = x + self.cross_attn(h, memory, memory, need_weights=False)[0]
        x_trend, x_season = self.split(x).chunk(2, dim=1)
        trend, season = self.trend(x_trend), self.seasonal(x_season)
        x = x + self.mlp(self.ln3(x))
        level = x.mean(dim=1, keepdim=True)
        return x - level, self.to_level(level), trend, season


class TimeBridgeNet(nn.Module):
    """Predicts (the preconditioned) x0 from ``(x_t, time)``; windows (B, L, C)."""

    def __init__(
        self,
        n_timesteps: int,
        n_features: int,
        d_model: int = 64,
        n_heads: int = 4,
        n_encoder_layers: int = 1,
        n_decoder_layers: int = 2,
    ):
        super().__init__()
        L, C, d = n_timesteps, n_features, d_model
        self.embed = _ConvEmbed(C, d)
        self.pos_enc = nn.Parameter(torch.empty(1, L, d).uniform_(-0.02, 0.02))
        self.pos_dec = nn.Parameter(torch.empty(1, L, d).uniform_(-0.02, 0.02))
        self.encoder = nn.ModuleList(_EncoderBlock(d, n_heads) for _ in range(n_encoder_layers))
        self.decoder = nn.ModuleList(
            _DecoderBlock(L, d, C, n_heads) for _ in range(n_decoder_layers)
        )
        self.to_out = _ConvEmbed(d, C)
        self.combine_season = nn.Conv1d(d, C, 3, padding=1, padding_mode="circular", bias=False)
        self.combine_level = nn.Conv1d(n_decoder_layers, 1, 1)

    def forward(self, x, t):
        emb = self.embed(x)
        memory = emb + self.pos_enc
        for block in self.encoder:
            memory = block(memory, t)
        h = emb + self.pos_dec
        levels, trend, season = [], 0.0, 0.0
        for block in self.decoder:
            h, level, tr, se = block(h, memory, t)
            levels.append(level)
            trend, season = trend + tr, season + se
        res = self.to_out(h)
        res_mean = res.mean(dim=1, keepdim=True)
        season = self.combine_season(season.transpose(1, 2)).transpose(1, 2) + res - res_mean
        trend = self.combine_level(torch.cat(levels, dim=1)) + res_mean + trend
        return trend + season
