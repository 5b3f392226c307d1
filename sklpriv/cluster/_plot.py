"""Figure of a fitted DPMorseClustering (matplotlib is optional: the ``plot`` extra)."""

from __future__ import annotations

import numpy as np

from ..utils import import_pyplot
from ._morse import GaussianMixtureDensity


def plot_morse(est, X=None, ax=None, n_grid=200):
    """Density contours, sub-cluster means, saddles and merge of a fitted estimator."""
    plt = import_pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    colors = plt.get_cmap("tab10")
    X = None if X is None else np.asarray(X, dtype=float)
    if est.subcluster_means_.shape[1] == 1:
        return _plot_1d(est, X, ax, n_grid, colors)
    center, V = _plane(est)
    pmu = (est.subcluster_means_ - center) @ V
    _draw_density(est, X, ax, n_grid, center, V)
    if X is not None:
        pts = (X - center) @ V
        point_colors = [colors(c % 10) for c in est.predict(X)]
        ax.scatter(pts[:, 0], pts[:, 1], c=point_colors, s=3, alpha=0.25, linewidths=0)
    for k, m in enumerate(pmu):
        color = colors(est.subcluster_labels_[k] % 10)
        ax.scatter(*m, marker="o", s=60, color=color, edgecolor="k", zorder=3)
    n_saddles = _draw_saddles(est, ax, center, V, pmu)
    ax.set_title(
        f"DP-Morse: {est.n_subclusters_} sub-clusters, {n_saddles} saddles, eps={est.epsilon_:.3g}"
    )
    two = est.subcluster_means_.shape[1] == 2
    ax.set_xlabel("x0" if two else "principal axis 1")
    ax.set_ylabel("x1" if two else "principal axis 2")
    return ax


def _plot_1d(est, X, ax, n_grid, colors):
    lo, hi = est.bounds_[0][0], est.bounds_[1][0]
    t = np.linspace(lo, hi, n_grid)[:, None]
    ax.plot(t[:, 0], np.exp(est.score_samples(t)), color="k")
    if X is not None:
        ax.scatter(X[:, 0], np.zeros(len(X)), c=est.predict(X), cmap="tab10", s=4, alpha=0.3)
    for k, m in enumerate(est.subcluster_means_[:, 0]):
        ax.axvline(m, color=colors(est.subcluster_labels_[k] % 10), lw=1)
    for p in est.saddles_["points"][:, 0]:
        ax.axvline(p, color="k", ls=":", lw=1)
    ax.set_xlabel("x0")
    ax.set_ylabel("density")
    return ax


def _plane(est):
    """Origin and axes of the drawing plane: the data plane in 2-D, else the first two
    principal axes of the mixture's total covariance.
    """
    w, mu, cov = est.subcluster_weights_, est.subcluster_means_, est.subcluster_covariances_
    if mu.shape[1] == 2:
        return np.zeros(2), np.eye(2)
    center = w @ mu
    total = np.einsum("k,kij->ij", w, cov) + np.einsum("k,ki,kj->ij", w, mu - center, mu - center)
    _, evecs = np.linalg.eigh(total)
    return center, evecs[:, ::-1][:, :2]


def _draw_density(est, X, ax, n_grid, center, V):
    """Contours of the mixture's exact marginal density on the plane."""
    w, mu, cov = est.subcluster_weights_, est.subcluster_means_, est.subcluster_covariances_
    pmu = (mu - center) @ V
    dens = GaussianMixtureDensity(w, pmu, np.einsum("di,kde,ej->kij", V, cov, V))
    if mu.shape[1] == 2:
        lo_b, hi_b = (est.bounds_[0] - center) @ V, (est.bounds_[1] - center) @ V
        lo, hi = np.minimum(lo_b, hi_b), np.maximum(lo_b, hi_b)
    else:
        allp = np.vstack([pmu] + ([] if X is None else [(X - center) @ V]))
        span = allp.max(0) - allp.min(0)
        lo, hi = allp.min(0) - 0.2 * span, allp.max(0) + 0.2 * span
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], n_grid), np.linspace(lo[1], hi[1], n_grid))
    z = np.exp(dens.logpdf(np.column_stack([gx.ravel(), gy.ravel()]))).reshape(gx.shape)
    ax.contour(gx, gy, z, levels=15, cmap="Greys", linewidths=0.8)


def _draw_saddles(est, ax, center, V, pmu):
    """Saddles joined to the two sub-clusters they connect (solid: used by the merge)."""
    sad = est.saddles_
    psad = (sad["points"] - center) @ V
    for p, (a, b), merged in zip(psad, sad["subclusters"], sad["merged"], strict=True):
        ls = "-" if merged else "--"
        for k in (a, b):
            ax.plot([p[0], pmu[k, 0]], [p[1], pmu[k, 1]], ls=ls, color="k", lw=1)
        color = "red" if merged else "orange"
        ax.scatter(*p, marker="X", s=80, color=color, edgecolor="k", zorder=4)
    return len(psad)
