"""Attribute switching's search for the switching time (Choi et al., AAAI 2024, Sec. 4)."""

from __future__ import annotations

import numpy as np
import torch

from ..utils import import_pyplot
from ._edm import sigma_to_tau


def switch_distances(diffs: torch.Tensor) -> np.ndarray:
    """``D(tau_k) = mean_n || sum_{i<k} d_i - sum_{i>=k} d_i ||`` for ``k = 1..N-1``.

    ``diffs[i]`` is step ``i``'s ``d_i`` per sample, shape ``(N, n, ...)``: the steps
    above the candidate (high noise) against those below it. The reference takes the
    norm over the batch axis, which PAPERS.md reads as a slip: here it is per sample,
    then averaged.
    """
    prefix = diffs.flatten(2).cumsum(0)
    total = prefix[-1]
    high = prefix[:-1]  # sum over i < k, k = 1..N-1
    return (high - (total - high)).norm(dim=2).mean(1).numpy()


def switch_curve(diffs: torch.Tensor, sigmas: torch.Tensor) -> dict:
    """The candidates (each step's noise level and its ``tau``) and their distances."""
    distance = switch_distances(diffs)
    cand = sigmas[1 : len(diffs)].numpy()
    return {
        "tau": np.array([sigma_to_tau(float(s)) for s in cand]),
        "sigma": cand,
        "distance": distance,
    }


def plot_switch_search(curve: dict, *, ax=None):
    """The switching-time search: ``D(tau)`` against ``tau``, its minimiser marked.

    Parameters
    ----------
    curve : dict
        The second value returned by ``DiffusionGenerator.estimate_switch_step``.
    ax : matplotlib Axes or None, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklpriv.generative import plot_switch_search
    >>> curve = {"tau": np.linspace(0.9, 0.1, 9), "distance": (np.linspace(-1, 1, 9)) ** 2}
    >>> plot_switch_search(curve).get_xlabel()
    'switching time tau (1 = noise, 0 = data)'
    """
    plt = import_pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    tau, dist = np.asarray(curve["tau"]), np.asarray(curve["distance"])
    ax.plot(tau, dist, marker=".")
    best = int(np.argmin(dist))
    ax.axvline(tau[best], color="k", ls="--", lw=1, label=f"tau = {tau[best]:.2f}")
    ax.set_xlabel("switching time tau (1 = noise, 0 = data)")
    ax.set_ylabel("D(tau)")
    ax.legend(fontsize=8)
    return ax
