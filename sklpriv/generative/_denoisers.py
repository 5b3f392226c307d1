"""Raw denoiser networks ``F(x, c_noise, y=None, emb=None)`` of the diffusion estimators:
an MLP for table rows, a small U-Net for images, and the condition embedding they share.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class ConditionEmbedding(nn.Module):
    """One embedding table per condition attribute, summed; each table has one extra
    row, index ``cardinality``, for "no condition" (classifier-free guidance).

    Parameters
    ----------
    cardinalities : sequence of int
        Number of values of each attribute.
    dim : int
        Embedding width.
    """

    def __init__(self, cardinalities, dim: int):
        super().__init__()
        self.cardinalities = [int(c) for c in cardinalities]
        self.dim = int(dim)
        self.tables = nn.ModuleList(nn.Embedding(c + 1, dim) for c in self.cardinalities)

    def null(self, n: int, device=None) -> torch.Tensor:
        """The "no condition" indices of ``n`` rows."""
        return torch.tensor(self.cardinalities, device=device).expand(n, -1)

    def forward(self, y: torch.Tensor | None, n: int, device=None) -> torch.Tensor:
        if not self.tables:
            return torch.zeros(n, self.dim, device=device)
        y = self.null(n, device) if y is None else y
        return sum(table(y[:, k]) for k, table in enumerate(self.tables))


class _NoiseEmbedding(nn.Module):
    """Sinusoidal features of ``c_noise`` through a two-layer MLP."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, c_noise):
        half = self.dim // 2
        freqs = torch.exp(-math.log(1e4) * torch.arange(half, device=c_noise.device) / half)
        angles = 100.0 * c_noise.reshape(-1, 1).float() * freqs  # c_noise = ln(sigma) / 4
        return self.mlp(torch.cat([angles.sin(), angles.cos()], dim=1))


class _Embedded(nn.Module):
    """Shared front of the denoisers: noise-level plus condition embedding."""

    def __init__(self, cardinalities, dim: int):
        super().__init__()
        self.noise = _NoiseEmbedding(dim)
        self.condition = ConditionEmbedding(cardinalities, dim)

    def embed(self, c_noise, y=None, emb=None):
        n = len(c_noise)
        cond = self.condition(y, n, c_noise.device) if emb is None else emb
        return self.noise(c_noise) + cond


class MLPDenoiser(_Embedded):
    """An MLP over table rows; the embedding is added inside every hidden layer.

    Parameters
    ----------
    n_features : int
    hidden : sequence of int
        Hidden widths.
    cardinalities : sequence of int
        Values of each condition attribute (empty: unconditional).
    emb_dim : int, default=128
    """

    def __init__(self, n_features: int, hidden, cardinalities=(), emb_dim: int = 128):
        super().__init__(cardinalities, emb_dim)
        widths = [n_features, *hidden]
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(widths, widths[1:], strict=False)
        )
        self.inject = nn.ModuleList(nn.Linear(emb_dim, b) for b in widths[1:])
        self.out = nn.Linear(widths[-1], n_features)

    def forward(self, x, c_noise, y=None, emb=None):
        e = nn.functional.silu(self.embed(c_noise, y, emb))
        h = x
        for layer, inject in zip(self.layers, self.inject, strict=True):
            h = nn.functional.silu(layer(h) + inject(e))
        return self.out(h)


class _ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, emb_dim: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(min(8, c_in), c_in), nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(min(8, c_out), c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, e):
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        h = h + self.emb(e)[:, :, None, None]
        h = self.conv2(nn.functional.silu(self.norm2(h)))
        return self.skip(x) + h


class UNetDenoiser(_Embedded):
    """A small two-resolution U-Net for ``(channels, height, width)`` images.

    Parameters
    ----------
    channels : int
    base : int, default=32
        Channels at full resolution (twice that at half resolution).
    cardinalities : sequence of int
    emb_dim : int, default=128
    """

    def __init__(self, channels: int, base: int = 32, cardinalities=(), emb_dim: int = 128):
        super().__init__(cardinalities, emb_dim)
        self.conv_in = nn.Conv2d(channels, base, 3, 1, 1)
        self.down1 = _ResBlock(base, base, emb_dim)
        self.pool = nn.Conv2d(base, base, 3, 2, 1)
        self.down2 = _ResBlock(base, 2 * base, emb_dim)
        self.mid = _ResBlock(2 * base, 2 * base, emb_dim)
        self.up = _ResBlock(3 * base, base, emb_dim)
        self.norm_out = nn.GroupNorm(min(8, base), base)
        self.conv_out = nn.Conv2d(base, channels, 3, 1, 1)

    def forward(self, x, c_noise, y=None, emb=None):
        e = nn.functional.silu(self.embed(c_noise, y, emb))
        h1 = self.down1(self.conv_in(x), e)
        h2 = self.mid(self.down2(self.pool(h1), e), e)
        u = nn.functional.interpolate(h2, size=h1.shape[-2:], mode="nearest")
        h = self.up(torch.cat([u, h1], dim=1), e)
        return self.conv_out(nn.functional.silu(self.norm_out(h)))
