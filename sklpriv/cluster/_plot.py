"""Figure of a fitted DPMorseClustering (matplotlib is optional: the ``plot`` extra)."""

from __future__ import annotations

import numpy as np

from ._morse import GaussianMixtureDensity


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover
        raise ImportError("Plotting needs matplotlib: pip install 'sklpriv[plot]'.") from exc
    return plt


def plot_morse(est, X=None, ax=None, n_grid=200):
    """Density contours, sub-cluster means, saddles and merge of a fitted estimator."""
    plt = _import_pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    w, mu, cov = est.subcluster_weights_, est.subcluster_means_, est.subcluster_covariances_
    D = mu.shape[1]
    colors = plt.get_cmap("tab10")
    if D == 1:
        lo, hi = est.bounds_[0][0], est.bounds_[1][0]
        t = np.linspace(lo, hi, n_grid)[:, None]
        ax.plot(t[:, 0], np.exp(est.score_samples(t)), color="k")
        if X is not None:
            X = np.asarray(X, dtype=float)
            ax.scatter(X[:, 0], np.zeros(len(X)), c=est.predict(X), cmap="tab10", s=4, alpha=0.3)
        for k, m in enumerate(mu[:, 0]):
            ax.axvline(m, color=colors(est.subcluster_labels_[k] % 10), lw=1)
        for p in est.saddles_["points"][:, 0]:
            ax.axvline(p, color="k", ls=":", lw=1)
        ax.set_xlabel("x0")
        ax.set_ylabel("density")
        return ax
    if D == 2:
        center, V = np.zeros(2), np.eye(2)
    else:  # first two principal axes of the mixture's total covariance
        center = w @ mu
        total = np.einsum("k,kij->ij", w, cov) + np.einsum(
            "k,ki,kj->ij", w, mu - center, mu - center
        )
        evals, evecs = np.linalg.eigh(total)
        V = evecs[:, ::-1][:, :2]
    pmu = (mu - center) @ V
    pcov = np.einsum("di,kde,ej->kij", V, cov, V)
    dens = GaussianMixtureDensity(w, pmu, pcov)
    pts = []
    if X is not None:
        X = np.asarray(X, dtype=float)
        pts.append((X - center) @ V)
    lo_b, hi_b = (est.bounds_[0] - center) @ V, (est.bounds_[1] - center) @ V
    if D == 2:
        lo, hi = np.minimum(lo_b, hi_b), np.maximum(lo_b, hi_b)
    else:
        allp = np.vstack([pmu] + pts)
        span = allp.max(0) - allp.min(0)
        lo, hi = allp.min(0) - 0.2 * span, allp.max(0) + 0.2 * span
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], n_grid), np.linspace(lo[1], hi[1], n_grid))
    z = np.exp(dens.logpdf(np.column_stack([gx.ravel(), gy.ravel()]))).reshape(gx.shape)
    ax.contour(gx, gy, z, levels=15, cmap="Greys", linewidths=0.8)
    if X is not None:
        ax.scatter(
            pts[0][:, 0],
            pts[0][:, 1],
            c=[colors(c % 10) for c in est.predict(X)],
            s=3,
            alpha=0.25,
            linewidths=0,
        )
    for k, m in enumerate(pmu):
        ax.scatter(
            *m,
            marker="o",
            s=60,
            color=colors(est.subcluster_labels_[k] % 10),
            edgecolor="k",
            zorder=3,
        )
    sad = est.saddles_
    psad = (sad["points"] - center) @ V
    for p, (a, b), merged in zip(psad, sad["subclusters"], sad["merged"], strict=True):
        ls = "-" if merged else "--"
        for k in (a, b):
            ax.plot([p[0], pmu[k, 0]], [p[1], pmu[k, 1]], ls=ls, color="k", lw=1)
        ax.scatter(
            *p, marker="X", s=80, color="red" if merged else "orange", edgecolor="k", zorder=4
        )
    ax.set_title(
        f"DP-Morse: {est.n_subclusters_} sub-clusters, {len(psad)} saddles, eps={est.epsilon_:.3g}"
    )
    ax.set_xlabel("x0" if D == 2 else "principal axis 1")
    ax.set_ylabel("x1" if D == 2 else "principal axis 2")
    return ax
