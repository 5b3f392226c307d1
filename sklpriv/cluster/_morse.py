"""Morse-theoretic analysis of a Gaussian mixture density (DP-Morse, Byun et al. 2025, Sec. 3).

Everything here is post-processing of a (privatized) mixture
``f(x) = sum_k w_k N(x; mu_k, S_k)``: stable equilibrium points are the density's peaks,
transition equilibrium points are its index-1 saddles (one positive Hessian eigenvalue of
``f``, i.e. one negative eigenvalue of ``-f``), and a level sweep over the saddles' density
values merges peaks into clusters.

We work on ``log f`` (same critical points, same Hessian signature at them since the
gradient vanishes there), which keeps the flow well scaled where the density is tiny; the
reference code integrates the flow over a fixed time and misses such saddles.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize


def logsumexp(a, axis=None, keepdims=False):
    """Plain numpy log-sum-exp (scipy's carries array-API overhead in this hot loop)."""
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


class GaussianMixtureDensity:
    """Log-density, gradient and Hessian of a Gaussian mixture.

    Parameters
    ----------
    weights : ndarray of shape (K,)
        Mixture weights (normalised internally).
    means : ndarray of shape (K, D)
        Component means.
    covariances : ndarray of shape (K, D, D)
        Symmetric positive definite covariances.
    """

    def __init__(self, weights, means, covariances):
        self.weights = np.asarray(weights, dtype=float) / np.sum(weights)
        self.means = np.atleast_2d(np.asarray(means, dtype=float))
        self.covariances = np.asarray(covariances, dtype=float).reshape(
            len(self.weights), self.means.shape[1], self.means.shape[1]
        )
        self.precisions = np.linalg.inv(self.covariances)
        _, logdet = np.linalg.slogdet(self.covariances)
        D = self.means.shape[1]
        self._log_norm = np.log(self.weights) - 0.5 * (D * np.log(2 * np.pi) + logdet)

    @property
    def n_features(self) -> int:
        return self.means.shape[1]

    def component_log_prob(self, X):
        """``log w_k + log N(x; mu_k, S_k)`` for every row of X, shape (n, K)."""
        X = np.atleast_2d(X)
        diff = X[:, None, :] - self.means[None, :, :]  # (n, K, D)
        maha = np.einsum("nkd,kde,nke->nk", diff, self.precisions, diff)
        return self._log_norm[None, :] - 0.5 * maha

    def logpdf(self, X):
        """Log-density at each row of X."""
        return logsumexp(self.component_log_prob(X), axis=1)

    def _parts(self, x):
        lp = self.component_log_prob(x[None, :])[0]
        r = np.exp(lp - logsumexp(lp))  # responsibilities
        g_k = -np.einsum("kde,ke->kd", self.precisions, x[None, :] - self.means)
        return r, g_k

    def grad_many(self, X):
        """Gradient of ``log f`` at every row of X, shape (n, D)."""
        lp = self.component_log_prob(X)
        r = np.exp(lp - logsumexp(lp, axis=1, keepdims=True))
        g_k = -np.einsum("kde,nke->nkd", self.precisions, X[:, None, :] - self.means[None])
        return np.einsum("nk,nkd->nd", r, g_k)

    def grad(self, x):
        """Gradient of ``log f`` at a point."""
        r, g_k = self._parts(np.asarray(x, dtype=float))
        return r @ g_k

    def hess(self, x):
        """Hessian of ``log f`` at a point."""
        r, g_k = self._parts(np.asarray(x, dtype=float))
        g = r @ g_k
        H = np.einsum("k,kd,ke->de", r, g_k, g_k) - np.einsum("k,kde->de", r, self.precisions)
        return H - np.outer(g, g)

    def min_scale(self) -> float:
        """Smallest component standard deviation: the natural length scale of the flow."""
        return float(np.sqrt(np.linalg.eigvalsh(self.covariances).min()))


def flow_to_peaks(density, X0, tol=1e-9, max_iter=5000):
    """Follow the ascent flow of ``log f`` from each row of ``X0`` to convergence.

    All starting points move together: explicit Euler steps of the gradient flow with a
    per-point step that halves whenever the density would drop and never exceeds a quarter
    of the smallest component scale (so no step jumps across a basin). Near the peak,
    where the Hessian is negative definite, Newton steps finish the convergence until the
    gradient norm (times the scale) is below ``tol``.

    Returns
    -------
    peaks : ndarray of shape (m, D)
    """
    X = np.array(X0, dtype=float, ndmin=2, copy=True)
    scale = density.min_scale()
    max_step = 0.25 * scale
    h = np.full(len(X), scale**2)
    f = density.logpdf(X)
    active = np.ones(len(X), dtype=bool)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        g = density.grad_many(X[idx])
        gnorm = np.linalg.norm(g, axis=1)
        near = gnorm * scale < 1e-3
        active[idx[near]] = False
        idx, g, gnorm = idx[~near], g[~near], gnorm[~near]
        if idx.size == 0:
            break
        step = h[idx, None] * g
        too_long = h[idx] * gnorm > max_step
        step[too_long] *= (max_step / (h[idx] * gnorm))[too_long, None]
        f_new = density.logpdf(X[idx] + step)
        ok = f_new >= f[idx]
        X[idx[ok]] += step[ok]
        f[idx[ok]] = f_new[ok]
        h[idx[ok]] = np.minimum(h[idx[ok]] * 1.5, 16 * scale**2)
        h[idx[~ok]] *= 0.5
        active[idx[~ok & (h[idx] < 1e-12 * scale**2)]] = False
    for i in range(len(X)):  # Newton polish
        for _ in range(50):
            g = density.grad(X[i])
            if np.linalg.norm(g) * scale < tol:
                break
            H = density.hess(X[i])
            if np.linalg.eigvalsh(H).max() >= 0:
                step = scale**2 * g
            else:
                step = -np.linalg.solve(H, g)
            n = np.linalg.norm(step)
            if n > max_step:
                step *= max_step / n
            for _ in range(60):
                if density.logpdf(X[i] + step)[0] >= f[i]:
                    break
                step *= 0.5
            else:
                break
            X[i] += step
            f[i] = density.logpdf(X[i])[0]
    return X


def find_peaks(density, tol=None):
    """Flow every component mean to its peak and identify distinct peaks.

    Returns
    -------
    peaks : ndarray of shape (P, D)
        Distinct local maxima of the density.
    component_peak : ndarray of shape (K,)
        Index of the peak that each component's mean flows to.
    """
    tol = 1e-3 * density.min_scale() if tol is None else tol
    peaks: list[np.ndarray] = []
    component_peak = np.empty(len(density.means), dtype=int)
    for k, p in enumerate(flow_to_peaks(density, density.means)):
        for j, q in enumerate(peaks):
            if np.linalg.norm(p - q) < max(tol, 1e-6):
                component_peak[k] = j
                break
        else:
            component_peak[k] = len(peaks)
            peaks.append(p)
    return np.array(peaks), component_peak


def _closest_peak(peaks, x, tol):
    d = np.linalg.norm(peaks - x, axis=1)
    j = int(np.argmin(d))
    return j if d[j] < tol else -1


def _string_saddle_guesses(density, pairs, peaks, n_images=25, n_iter=300):
    """Simplified string method (E, Ren & Vanden-Eijnden 2007) between pairs of peaks.

    Each string starts on the segment between its two peaks (whose lowest-density point is
    the paper's starting guess), its images move along the ascent flow of ``log f`` and are
    re-spaced uniformly by arc length, so the string relaxes to the minimum-energy path of
    ``-log f``; its lowest-density image approximates the index-1 saddle. All strings move
    together (one vectorised gradient evaluation per iteration).

    Returns
    -------
    guesses : ndarray of shape (n_pairs, D)
    """
    a = peaks[[p[0] for p in pairs]]
    b = peaks[[p[1] for p in pairs]]
    t = np.linspace(0.0, 1.0, n_images)
    S = (1 - t)[None, :, None] * a[:, None, :] + t[None, :, None] * b[:, None, :]
    n_str, _, D = S.shape
    h = 0.2 * density.min_scale() ** 2
    max_step = 0.1 * density.min_scale()
    for _ in range(n_iter):
        inner = S[:, 1:-1].reshape(-1, D)
        step = h * density.grad_many(inner)
        norm = np.linalg.norm(step, axis=1, keepdims=True)
        step *= np.minimum(1.0, max_step / np.maximum(norm, 1e-300))
        S[:, 1:-1] += step.reshape(n_str, n_images - 2, D)
        # re-space by arc length
        seg = np.linalg.norm(np.diff(S, axis=1), axis=2)
        arc = np.concatenate([np.zeros((n_str, 1)), np.cumsum(seg, axis=1)], axis=1)
        arc /= np.maximum(arc[:, -1:], 1e-300)
        new = np.empty_like(S)
        for i in range(n_str):
            for d in range(D):
                new[i, :, d] = np.interp(t, arc[i], S[i, :, d])
        moved = np.abs(new - S).max()
        S = new
        if moved < 1e-7 * density.min_scale():
            break
    logf = density.logpdf(S[:, 1:-1].reshape(-1, D)).reshape(n_str, n_images - 2)
    return S[np.arange(n_str), logf.argmin(axis=1) + 1]


@dataclass
class Saddle:
    """An index-1 saddle joining two peaks."""

    point: np.ndarray
    log_density: float
    peaks: tuple[int, int]


def find_saddle(density, x0, peaks, push=0.05, tol=None):
    """Refine ``x0`` to a critical point and keep it if it is an index-1 saddle.

    Solves ``grad log f = 0`` by Newton/Powell iterations from ``x0``, checks that the
    Hessian has exactly one positive eigenvalue and that the flows started at
    ``+-push`` along its eigenvector reach two different peaks.

    Returns
    -------
    saddle : Saddle or None
    """
    tol = 1e-2 * density.min_scale() if tol is None else tol
    sol = optimize.root(density.grad, x0, jac=density.hess, method="hybr", tol=1e-12)
    s = sol.x
    if not np.all(np.isfinite(s)) or np.linalg.norm(density.grad(s)) > 1e-6 * (
        1.0 / density.min_scale()
    ):
        return None
    evals, evecs = np.linalg.eigh(density.hess(s))
    if np.sum(evals > 0) != 1 or np.any(np.abs(evals) < 1e-12):
        return None
    v = evecs[:, -1]
    ends = [
        _closest_peak(peaks, q, tol) for q in flow_to_peaks(density, [s + push * v, s - push * v])
    ]
    if -1 in ends or ends[0] == ends[1]:
        return None
    i, j = sorted(ends)
    return Saddle(point=s, log_density=float(density.logpdf(s)[0]), peaks=(i, j))


def find_saddles(density, peaks, push=0.05):
    """Index-1 saddles between every pair of peaks (highest one per pair of peaks reached).

    For each pair, a string between the peaks (initialised on the segment, whose
    lowest-density point is the paper's starting point) relaxes to the minimum-energy
    path; its lowest-density point is refined to a critical point and verified.

    Returns
    -------
    saddles : list of Saddle
    """
    best: dict[tuple[int, int], Saddle] = {}
    P = len(peaks)
    pairs = [(a, b) for a in range(P) for b in range(a + 1, P)]
    if not pairs:
        return []
    for x0 in _string_saddle_guesses(density, pairs, peaks):
        s = find_saddle(density, x0, peaks, push=push)
        if s is not None and (s.peaks not in best or s.log_density > best[s.peaks].log_density):
            best[s.peaks] = s
    return sorted(best.values(), key=lambda s: -s.log_density)


def _sweep(saddles, peak_density, tau):
    """One pass over the saddles from the highest density down (union-find).

    Two clusters meeting at a saddle merge when the lower of their two highest peaks rises
    less than ``tau`` above the saddle (``tau = inf``: always, the paper's level sweep).
    Returns each peak's root, the persistence of every peak that died, and the saddles used.
    """
    n_peaks = len(peak_density)
    parent = list(range(n_peaks))
    top = list(peak_density)

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    persistence = np.full(n_peaks, np.inf)
    used = [False] * len(saddles)
    for idx, s in enumerate(saddles):  # sorted by decreasing density
        a, b = find(s.peaks[0]), find(s.peaks[1])
        if a == b:
            continue
        young, old = (a, b) if top[a] < top[b] else (b, a)
        p = top[young] - np.exp(s.log_density)
        if p < tau:
            parent[young] = old
            persistence[young] = p
            used[idx] = True
    return np.array([find(i) for i in range(n_peaks)]), persistence, used


def merge_peaks(saddles, n_clusters, peak_log_density, method="level"):
    """Join peaks into ``n_clusters`` clusters through the saddles.

    ``method="level"`` (the paper, Sec. 3.3): lower a level through the saddles' density
    values, connecting the peaks whose saddle lies above it; stop at the first level with
    ``n_clusters`` connected components (Kruskal's algorithm on the saddle graph).

    ``method="persistence"``: the same sweep, but a cluster only dies into another at a
    saddle when its highest peak rises little above that saddle (topological persistence,
    as in ToMATo, Chazal et al. 2013); the ``n_clusters`` most persistent peaks survive.
    Noise creates shallow peaks (a moon's tip, a wobbly sub-cluster) whose saddle is
    low but whose prominence is small too; the level sweep leaves them as clusters of
    their own, persistence merges them first.

    When no sweep gives exactly ``n_clusters`` (too few peaks or saddles), the closest
    count is returned with a warning.

    Parameters
    ----------
    saddles : list of Saddle
        Sorted by decreasing density.
    n_clusters : int
    peak_log_density : ndarray of shape (n_peaks,)
    method : {"level", "persistence"}

    Returns
    -------
    labels : ndarray of shape (n_peaks,)
        Cluster of each peak, numbered 0..n-1 in order of first appearance.
    used : list of bool
        For each saddle, whether it joined two clusters.
    """
    peak_density = np.exp(np.asarray(peak_log_density, dtype=float))
    n_peaks = len(peak_density)
    if method == "level":
        # Kruskal, stopped as soon as n_clusters components remain
        roots, _, used_all = _sweep(saddles, peak_density, np.inf)
        order = [i for i, u in enumerate(used_all) if u]
        n_merge = max(0, min(len(order), n_peaks - n_clusters))
        roots, _, used = _sweep([saddles[i] for i in order[:n_merge]], peak_density, np.inf)
        used_full = [False] * len(saddles)
        for i, u in zip(order[:n_merge], used, strict=True):
            used_full[i] = u
        used = used_full
    else:
        _, persistence, _ = _sweep(saddles, peak_density, np.inf)
        ranked = np.sort(persistence)[::-1]
        if n_clusters >= n_peaks:
            tau = 0.0
        elif np.isinf(ranked[n_clusters - 1]):
            tau = ranked[n_clusters] * (1 + 1e-9) + 1e-300
        else:
            tau = 0.5 * (ranked[n_clusters - 1] + ranked[n_clusters])
        roots, _, used = _sweep(saddles, peak_density, tau)
    n_comp = len(np.unique(roots))
    if n_comp != n_clusters:
        warnings.warn(
            f"The density has {n_peaks} peak(s) and {len(saddles)} saddle(s); the closest "
            f"achievable number of clusters is {n_comp}, not n_clusters={n_clusters}. "
            "Try more n_subclusters, a larger epsilon, or a different n_clusters.",
            UserWarning,
            stacklevel=3,
        )
    _, first = np.unique(roots, return_index=True)
    relabel = {r: c for c, r in enumerate(roots[np.sort(first)])}
    return np.array([relabel[r] for r in roots], dtype=int), used
