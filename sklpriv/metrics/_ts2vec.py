"""A compact TS2Vec encoder (Yue et al., AAAI 2022) for the context-FID of generated series.

Dilated residual convolutions over time, timestamp masking and random overlapping crops,
trained with the hierarchical (instance + temporal) contrastive loss; a window's
representation is the max over time of its per-step representations.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class _ConvBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, dilation: int):
        super().__init__()
        pad = dilation  # kernel 3: same length
        self.conv1 = nn.Conv1d(c_in, c_out, 3, padding=pad, dilation=dilation)
        self.conv2 = nn.Conv1d(c_out, c_out, 3, padding=pad, dilation=dilation)
        self.proj = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x):  # (B, c, L)
        res = x if self.proj is None else self.proj(x)
        x = self.conv2(F.gelu(self.conv1(F.gelu(x))))
        return x + res


class TSEncoder(nn.Module):
    """(B, L, C) -> (B, L, output_dims)."""

    def __init__(
        self, input_dims: int, hidden_dims: int = 64, output_dims: int = 320, depth: int = 10
    ):
        super().__init__()
        self.input_fc = nn.Linear(input_dims, hidden_dims)
        dims = [hidden_dims] * depth + [output_dims]
        self.blocks = nn.Sequential(
            *(
                _ConvBlock(dims[i - 1] if i else hidden_dims, dims[i], 2**i)
                for i in range(len(dims))
            )
        )

    def forward(self, x, generator=None):
        h = self.input_fc(x)
        if self.training:  # timestamp masking (binomial, p = 0.5)
            keep = torch.rand(h.shape[:2], generator=generator) > 0.5
            h = h * keep[..., None].to(h.dtype)
        return self.blocks(h.transpose(1, 2)).transpose(1, 2)


def _instance_loss(z1, z2):
    B = z1.shape[0]
    if B == 1:
        return z1.new_zeros(())
    z = torch.cat([z1, z2], dim=0).transpose(0, 1)  # T x 2B x d
    sim = z @ z.transpose(1, 2)
    logits = torch.tril(sim, diagonal=-1)[:, :, :-1] + torch.triu(sim, diagonal=1)[:, :, 1:]
    logits = -F.log_softmax(logits, dim=-1)
    i = torch.arange(B)
    return (logits[:, i, B + i - 1].mean() + logits[:, B + i, i].mean()) / 2


def _temporal_loss(z1, z2):
    T = z1.shape[1]
    if T == 1:
        return z1.new_zeros(())
    z = torch.cat([z1, z2], dim=1)  # B x 2T x d
    sim = z @ z.transpose(1, 2)
    logits = torch.tril(sim, diagonal=-1)[:, :, :-1] + torch.triu(sim, diagonal=1)[:, :, 1:]
    logits = -F.log_softmax(logits, dim=-1)
    t = torch.arange(T)
    return (logits[:, t, T + t - 1].mean() + logits[:, T + t, t].mean()) / 2


def hierarchical_contrastive_loss(z1, z2, alpha: float = 0.5):
    loss, levels = z1.new_zeros(()), 0
    while z1.shape[1] > 1:
        loss = loss + alpha * _instance_loss(z1, z2) + (1 - alpha) * _temporal_loss(z1, z2)
        levels += 1
        z1 = F.max_pool1d(z1.transpose(1, 2), kernel_size=2).transpose(1, 2)
        z2 = F.max_pool1d(z2.transpose(1, 2), kernel_size=2).transpose(1, 2)
    if z1.shape[1] == 1:
        loss = loss + alpha * _instance_loss(z1, z2)
        levels += 1
    return loss / levels


def fit_ts2vec(
    X: np.ndarray, *, n_iters: int = 200, batch_size: int = 8, lr: float = 1e-3, seed: int = 0
) -> TSEncoder:
    """Train the encoder on windows ``X`` (n, L, C) with TS2Vec's defaults (200 iterations
    of batch 8 for small data sets, AdamW lr 1e-3, hidden 64, output 320, depth 10).
    """
    rng = np.random.RandomState(seed)
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        enc = TSEncoder(X.shape[2])
    opt = torch.optim.AdamW(enc.parameters(), lr=lr)
    data = torch.from_numpy(np.asarray(X, dtype=np.float32))
    L = data.shape[1]
    enc.train()
    for _ in range(n_iters):
        x = data[rng.randint(len(data), size=min(batch_size, len(data)))]
        # two overlapping random crops; the loss compares their common segment
        crop = rng.randint(2, L + 1) if L > 1 else 1
        left = rng.randint(L - crop + 1)
        right = left + crop
        e_left, e_right = rng.randint(left + 1), rng.randint(right, L + 1)
        z1 = enc(x[:, e_left:right], gen)[:, -crop:]
        z2 = enc(x[:, left:e_right], gen)[:, :crop]
        loss = hierarchical_contrastive_loss(z1, z2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return enc.eval()


@torch.no_grad()
def encode(enc: TSEncoder, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Instance-level representations (max over time), shape (n, output_dims)."""
    data = torch.from_numpy(np.asarray(X, dtype=np.float32))
    out = [enc(data[i : i + batch_size]).amax(dim=1) for i in range(0, len(data), batch_size)]
    return torch.cat(out).double().numpy()
