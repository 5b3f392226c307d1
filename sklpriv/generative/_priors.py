"""TimeBridge's priors (Sec. 4): where the bridge starts.

All priors work on data min-max scaled to [-1, 1], windows of shape (n, L, C).

- ``normal``: N(0, I), the standard diffusion prior.
- ``mean``: N(mu, diag(std^2)) with the per-time, per-feature mean and std of the windows.
- ``gp``: per feature a Gaussian with that mean and covariance
  ``variance * exp(-(i - j)^2 / (2 l^2)) + diag(std)``, ``l`` the std of all scaled values
  (as in the authors' code; the diagonal adds the std, not its square).
- ``trend``: the window's own low-pass trend (4th-order Butterworth, filtfilt) in training;
  a random training window's trend when sampling (data-dependent prior).
- imputation/constraints: linear interpolation of the observed entries (``interpolation_prior``).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.signal import butter, filtfilt

PRIORS = ("normal", "mean", "gp", "trend")


def lowpass_trend(X: np.ndarray) -> np.ndarray:
    """Zero-phase low-pass trend of every window and feature, clipped to [-1, 1]."""
    n, L, C = X.shape
    b, a = butter(4, 2 / 7, btype="low")  # the reference's cut-off (period 7)
    flat = X.transpose(0, 2, 1).reshape(-1, L)
    trend = filtfilt(b, a, flat, axis=1, padlen=min(3 * max(len(a), len(b)), L - 1))
    return np.clip(trend.reshape(n, C, L).transpose(0, 2, 1), -1, 1)


def fit_prior(kind: str, X: np.ndarray, variance: float) -> dict:
    """Fit the prior on scaled windows ``X``; returns the ``prior_`` dictionary."""
    n, L, C = X.shape
    mean = X.mean(axis=0)
    std = X.std(axis=0, ddof=1) if n > 1 else np.zeros((L, C))
    out: dict = {"kind": kind}
    if kind == "normal":
        out["mean"] = np.zeros((L, C))
        out["covariance"] = np.broadcast_to(np.eye(L), (C, L, L)).copy()
    elif kind == "mean":
        out["mean"], out["std"] = mean, std
        out["covariance"] = np.stack([np.diag(std[:, c] ** 2) for c in range(C)])
    elif kind == "gp":
        scale = X.std() if X.size > 1 else 1.0
        scale = scale if scale > 0 else 1.0
        dist = np.subtract.outer(np.arange(L), np.arange(L)).astype(float)
        kernel = variance * np.exp(-(dist**2) / (2 * scale**2))
        out["mean"], out["length_scale"] = mean, float(scale)
        out["covariance"] = np.stack([kernel + np.diag(std[:, c]) for c in range(C)])
        out["cholesky"] = np.linalg.cholesky(out["covariance"] + 1e-6 * np.eye(L))
    else:  # trend
        trends = lowpass_trend(X)
        out["mean"], out["trends"] = trends.mean(axis=0), trends.astype(np.float32)
    return out


def sample_prior(prior: dict, n: int, generator: torch.Generator, *, index=None) -> torch.Tensor:
    """``n`` prior draws of shape (n, L, C), float32 on the CPU.

    ``index`` (training only): the windows of the batch, for the data-dependent ``trend``
    prior; without it a trend prior draws random training windows' trends.
    """
    kind, mean = prior["kind"], torch.from_numpy(np.asarray(prior["mean"], dtype=np.float64))
    L, C = mean.shape
    if kind == "trend":
        trends = prior["trends"]
        if index is None:
            index = torch.randint(len(trends), (n,), generator=generator).numpy()
        return torch.from_numpy(np.asarray(trends[index], dtype=np.float32))
    eps = torch.randn((n, L, C), generator=generator, dtype=torch.float64)
    if kind == "normal":
        out = eps
    elif kind == "mean":
        out = mean + eps * torch.from_numpy(np.asarray(prior["std"], dtype=np.float64))
    else:
        # per feature c: mean[:, c] + chol_c @ eps[:, :, c]
        out = mean + torch.einsum("cij,njc->nic", torch.from_numpy(prior["cholesky"]), eps)
    return out.float()


def interpolation_prior(X: np.ndarray, observed: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Linear interpolation of the observed entries along time (constant beyond the first
    and last observation); a window/feature with nothing observed takes ``fallback``.
    """
    out = np.array(fallback, dtype=float)[None].repeat(len(X), 0)
    t = np.arange(X.shape[1])
    for i, c in zip(*np.nonzero(observed.any(axis=1)), strict=True):
        seen = observed[i, :, c]
        out[i, :, c] = np.interp(t, t[seen], X[i, seen, c])
    return out
