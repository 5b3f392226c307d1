"""DPMorseClustering: DP Gaussian sub-clusters joined through Morse theory."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..privacy import (
    PrivacyLeakWarning,
    check_delta,
    dp_to_zcdp,
    gaussian_sigma,
    noise_rng,
    noise_seed,
    zcdp_to_dp,
)
from ..utils import map_row_chunks
from ._morse import GaussianMixtureDensity, find_peaks, find_saddles, merge_peaks

_EIG_FLOOR = 0.01  # covariance eigenvalue floor in box units (paper, Sec. 4)


def _check_bounds(bounds, X):
    """Return per-feature (lower, upper); data-derived bounds warn (they leak privacy)."""
    n_features = X.shape[1]
    if bounds is None:
        warnings.warn(
            "Bounds were not given and are computed from the data. This leaks privacy that "
            "epsilon does not account for. Pass bounds=(lower, upper) from domain knowledge.",
            PrivacyLeakWarning,
            stacklevel=3,
        )
        lower, upper = X.min(axis=0), X.max(axis=0)
        const = upper - lower <= 0
        lower = np.where(const, lower - 0.5, lower)  # constant feature: a unit interval
        upper = np.where(const, upper + 0.5, upper)
        return lower.astype(float), upper.astype(float)
    try:
        lower, upper = bounds
        lower = np.broadcast_to(np.asarray(lower, dtype=float), (n_features,)).copy()
        upper = np.broadcast_to(np.asarray(upper, dtype=float), (n_features,)).copy()
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "bounds must be a pair (lower, upper) of scalars or arrays of length "
            f"n_features={n_features}; got {bounds!r}."
        ) from exc
    if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
        raise ValueError("bounds must be finite.")
    if np.any(upper <= lower):
        raise ValueError(
            "bounds must satisfy lower < upper for every feature; got "
            f"lower={lower}, upper={upper}."
        )
    return lower, upper


def _spread_init(K, D, rng, n_candidates=64):
    """Data-independent initial means spread over the box [-1, 1]^D (farthest-point picks)."""
    cand = rng.uniform(-0.8, 0.8, size=(n_candidates * K, D))
    chosen = [cand[0]]
    dist = np.linalg.norm(cand - cand[0], axis=1)
    for _ in range(1, K):
        i = int(np.argmax(dist))
        chosen.append(cand[i])
        dist = np.minimum(dist, np.linalg.norm(cand - cand[i], axis=1))
    return np.array(chosen)


def _hard_assign(X, weights, means, covs):
    return GaussianMixtureDensity(weights, means, covs).component_log_prob(X).argmax(axis=1)


def dp_hard_em(X, n_components, max_iter, rho, base, rng, clip_radius=0.5):
    """Differentially private hard-assignment EM on data in the box [-1, 1]^D.

    Each M-step releases, per component, the count, a sum and second moments through one
    Gaussian mechanism: the upper triangle of the second-moment matrix (``base="gmm"``) or
    the sum of squared norms (``"kmeans"``, one shared isotropic covariance). Under
    add/remove-one adjacency a point changes one component's block, and every released
    coordinate gets the same noise, i.e. the paper's split of the budget in proportion to
    the squared sensitivities.

    ``clip_radius=None`` releases the paper's raw statistics, ``sum x`` and ``sum x x^T``,
    whose squared sensitivities follow from the box: ``1 + D + D (D + 1) / 2`` (gmm) or
    ``1 + D + D**2`` (kmeans). A float ``r`` releases them centred at the component's
    previous (already private) mean, each offset ``d = x - mu_prev`` clipped to norm ``r``
    as in DP-SGD: squared sensitivity ``1 + r**2 + r**4``, independent of ``D``, and no
    ``mu mu^T`` cancellation in the covariance. Clipping biases far points towards the
    mean; ``r = 0.5`` (a quarter of the box) rarely clips a converged sub-cluster.

    Parameters
    ----------
    X : ndarray of shape (n, D)
        Data already clipped and scaled to [-1, 1]^D.
    n_components, max_iter : int
    rho : float
        Total zCDP budget, split evenly over ``max_iter`` M-steps (``np.inf``: no noise).
    base : {"gmm", "kmeans"}
    rng : numpy.random.Generator
        From :func:`sklpriv.privacy.noise_rng` (secure seeding).
    clip_radius : float or None, default=0.5

    Returns
    -------
    weights, means, covariances, counts : ndarrays
        Privatized mixture and noisy counts of the last M-step.
    sigma : float
        Noise standard deviation used on every released coordinate.
    """
    n, D = X.shape
    K = n_components
    if clip_radius is None:
        sens2 = 1 + D + (D * (D + 1) / 2 if base == "gmm" else D**2)
    else:
        sens2 = 1 + clip_radius**2 + clip_radius**4
    sigma = gaussian_sigma(math.sqrt(sens2), rho / max_iter)
    iu = np.triu_indices(D)
    means = _spread_init(K, D, rng)
    covs = np.repeat(np.eye(D)[None] * (1.0 / K) ** (2.0 / D), K, axis=0)
    weights = np.full(K, 1.0 / K)
    counts = np.zeros(K)
    min_count = max(3.0 * sigma, D + 1.0)
    for it in range(max_iter):
        if base == "gmm":
            labels = _hard_assign(X, weights, means, covs)
        else:
            labels = np.argmin(((X[:, None, :] - means[None]) ** 2).sum(-1), axis=1)
        onehot = np.zeros((n, K))
        onehot[np.arange(n), labels] = 1.0
        if clip_radius is None:
            center = np.zeros((K, D))
            d = X
        else:
            center = means
            d = X - means[labels]
            norm = np.linalg.norm(d, axis=1, keepdims=True)
            d = d * np.minimum(1.0, clip_radius / np.maximum(norm, 1e-300))
        counts = onehot.sum(0) + rng.normal(0.0, sigma, K)
        n_safe = np.maximum(counts, 1.0)
        shift = (onehot.T @ d + rng.normal(0.0, sigma, (K, D))) / n_safe[:, None]
        weights = n_safe / n_safe.sum()
        if base == "gmm":
            outer = (d[:, :, None] * d[:, None, :])[:, iu[0], iu[1]]  # (n, D(D+1)/2)
            m2 = np.zeros((K, D, D))
            m2[:, iu[0], iu[1]] = onehot.T @ outer + rng.normal(0.0, sigma, (K, len(iu[0])))
            m2 = m2 + np.triu(m2, 1).transpose(0, 2, 1)
            covs = m2 / n_safe[:, None, None] - shift[:, :, None] * shift[:, None, :]
        else:
            sq = onehot.T @ (d**2).sum(1) + rng.normal(0.0, sigma, K)
            var = (sq.sum() - (n_safe * (shift**2).sum(1)).sum()) / (D * n_safe.sum())
            covs = np.repeat(np.eye(D)[None] * var, K, axis=0)
        means = np.clip(center + shift, -1.0, 1.0)
        # symmetrise and floor the eigenvalues (paper: 0.01)
        evals, evecs = np.linalg.eigh(0.5 * (covs + covs.transpose(0, 2, 1)))
        evals = np.maximum(evals, _EIG_FLOOR)
        covs = np.einsum("kij,kj,klj->kil", evecs, evals, evecs)
        if it < max_iter - 1:
            weights, means, covs = _split_dead(weights, means, covs, counts, min_count)
    return weights, means, covs, counts, sigma


def _split_dead(weights, means, covs, counts, min_count):
    """Re-seed empty sub-clusters by splitting the widest populated one (post-processing).

    A sub-cluster whose noisy count is below ``min_count`` holds no data; it is moved to
    one half of the populated sub-cluster with the largest ``weight * top eigenvalue``,
    which is split along its principal axis (halves at ``+-sqrt(2/pi) sd``, variance
    ``(1 - 2/pi)`` of the original there). Uses only privatized quantities: no privacy cost.
    Not in the paper, whose dead components stay dead and waste budget.
    """
    weights, means, covs = weights.copy(), means.copy(), covs.copy()
    alive = counts >= min_count
    for k in np.flatnonzero(~alive):
        if not alive.any():
            break
        top = np.linalg.eigvalsh(covs)[:, -1]
        j = int(np.argmax(np.where(alive, weights * top, -np.inf)))
        lam, vecs = np.linalg.eigh(covs[j])
        v, sd = vecs[:, -1], np.sqrt(lam[-1])
        shift = np.sqrt(2.0 / np.pi) * sd * v
        shrink = (1.0 - (1.0 - 2.0 / np.pi)) * lam[-1] * np.outer(v, v)
        covs[j] = covs[j] - shrink
        covs[k] = covs[j]
        means[k], means[j] = means[j] + shift, means[j] - shift
        weights[k] = weights[j] = weights[j] / 2.0
        alive[k] = True
    return weights, means, covs


class DPMorseClustering(ClusterMixin, BaseEstimator):
    """Differentially private clustering of non-convex clusters through Morse theory.

    A differentially private hard-assignment EM fits ``n_subclusters`` Gaussian
    sub-clusters; the density of that mixture is then analysed as a dynamical system:
    each sub-cluster mean flows to a peak (stable equilibrium point), index-1 saddles
    (transition equilibrium points) are found between peaks, and a level sweep over the
    saddles' density values joins peaks into ``n_clusters`` clusters. The Morse stage is
    post-processing of the privatized mixture: it costs no privacy, and so does
    :meth:`predict` on new data.

    Parameters
    ----------
    n_clusters : int, default=2
        Number of clusters to return. When no level of the sweep gives exactly this many,
        the closest count is used with a warning.
    epsilon : float, default=1.0
        Privacy budget (> 0). ``np.inf`` adds no noise (a non-private reference).
    delta : float, default=1e-5
        Privacy parameter delta; ``fit`` rejects ``delta >= 1 / n_samples`` (such a
        delta allows releasing a record outright).
    bounds : tuple (lower, upper) or None, default=None
        Per-feature bounds of the data (scalars or arrays of length ``n_features``). Data
        are clipped to them and scaled to the box ``[-1, 1]^D`` before anything private.
        ``None`` computes them from the data with a :class:`~sklpriv.privacy.PrivacyLeakWarning`.
    n_subclusters : int, default=8
        Number of Gaussian sub-clusters ``K0`` of the DP EM (paper: 8).
    max_iter : int, default=10
        DP EM iterations ``T`` (paper: 10); the budget is split evenly over them.
    base : {"gmm", "kmeans"}, default="gmm"
        ``"gmm"``: Gaussian sub-clusters with full covariances (the paper's best);
        ``"kmeans"``: DP k-means sub-clusters with one shared isotropic covariance.
    clip_radius : float or None, default=0.5
        Each M-step releases sub-cluster statistics centred at the previous private means,
        every offset clipped to this norm (box units, as in DP-SGD): sensitivity
        independent of the dimension and no cancellation in the covariances. ``None``
        releases the paper's raw sums and second moments with box-derived sensitivities.
    merge : {"persistence", "level"}, default="persistence"
        How peaks are joined. ``"level"`` is the paper's level sweep over the saddles'
        densities (first level with ``n_clusters`` components); ``"persistence"`` runs the
        same sweep but keeps the ``n_clusters`` peaks that rise most above their saddle
        (topological persistence), which stops noise-made shallow peaks from becoming
        clusters of their own.
    accountant : {"rdp", "zcdp"}, default="rdp"
        Conversion of the zCDP budget to ``(epsilon, delta)``: ``"zcdp"`` is the paper's
        closed form, ``"rdp"`` opacus' tighter RDP conversion (more budget, less noise, for
        the same epsilon).
    random_state : int, RandomState instance or None, default=None
        ``None`` (the private setting): every fit seeds the initialisation and the noise
        afresh from OS entropy; no generator is stored on the model. An int makes fits
        reproducible, but **a known seed voids the privacy guarantee** (whoever knows it
        can rebuild and subtract the noise).

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample (by :meth:`predict`). **Outside the privacy
        guarantee**: one label per training record is a function of that record; do not
        publish it with the model (``predict`` on the released model is private).
    subcluster_means_ : ndarray of shape (n_subclusters, n_features)
        Privatized sub-cluster means, in the data's units.
    subcluster_covariances_ : ndarray of shape (n_subclusters, n_features, n_features)
        Privatized sub-cluster covariances, in the data's units.
    subcluster_weights_ : ndarray of shape (n_subclusters,)
        Privatized mixture weights.
    subcluster_labels_ : ndarray of shape (n_subclusters,)
        Cluster of each sub-cluster.
    peaks_ : ndarray of shape (n_peaks, n_features)
        Local maxima of the privatized density (data units).
    saddles_ : dict
        ``"points"`` (n_saddles, n_features), ``"density"`` (n_saddles,) in the data's units,
        ``"subclusters"`` (n_saddles, 2): the two sub-clusters (the one nearest each peak)
        that the saddle joins, ``"peaks"`` (n_saddles, 2), ``"merged"`` (n_saddles,) bool:
        whether the level sweep used it.
    merge_level_ : float
        Density level of the sweep at which the clusters were formed.
    n_iter_ : int
        EM iterations run (always ``max_iter``: the budget is spent on all of them).
    n_subclusters_ : int
        Sub-clusters that survived (noisy count above three noise standard deviations).
    epsilon_, delta_ : float
        Privacy spent.
    rho_ : float
        zCDP budget spent.
    noise_scale_ : float
        Noise standard deviation on every released statistic (box units).
    bounds_ : tuple of ndarray
        The bounds used.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Defined only when X has string feature names.

    See Also
    --------
    sklearn.mixture.GaussianMixture : non-private mixture model.
    sklearn.cluster.KMeans : non-private k-means.

    Notes
    -----
    Deviations from the reference implementation, by design: sensitivities are derived for
    the box ``[-1, 1]^D`` and add/remove-one adjacency (the reference mixes a ``[0, 1]``
    covariance sensitivity with ``[-1, 1]`` scaling); each component's count gets its own
    noise draw (the reference shares one scalar); the initial means are data-independent
    (the reference reads the data's min/max); the Morse flow runs to convergence on the
    log-density and saddles are found with a string method (minimum-energy path) between
    peaks, refined by Newton's method and verified by the Hessian and the unstable flows.
    Sub-clusters whose noisy count is below three noise standard deviations are dropped
    (they are noise, not data); during EM such empty sub-clusters are re-seeded by
    splitting the widest populated one (post-processing, no privacy cost). Two defaults
    depart from the paper because they measurably help (see ``benchmarks/results``):
    clipped centred statistics (``clip_radius=0.5``) and the persistence merge;
    ``clip_radius=None, merge="level"`` is the paper's algorithm.

    References
    ----------
    .. [1] J. Byun, Y. Choi, J. Lee. "Improving the Utility of Differentially Private
       Clustering through Dynamical Processing." Pattern Recognition, 2025.
       arXiv:2304.13886.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_moons
    >>> from sklpriv import DPMorseClustering
    >>> X, y = make_moons(n_samples=5000, noise=0.05, random_state=0)
    >>> est = DPMorseClustering(epsilon=3.0, bounds=([-1.5, -1.0], [2.5, 1.5])).fit(X)
    >>> est.epsilon_ <= 3.0, est.delta_
    (True, 1e-05)
    >>> labels = est.predict(X)  # inductive: the released model, no extra privacy cost
    >>> labels.shape, len(set(labels)) <= est.n_clusters
    ((5000,), True)
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="right")],  # np.inf: no noise
        "delta": [Interval(Real, 0, 1, closed="neither")],
        "bounds": [tuple, list, None],
        "n_subclusters": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "base": [StrOptions({"gmm", "kmeans"})],
        "clip_radius": [Interval(Real, 0, None, closed="neither"), None],
        "merge": [StrOptions({"level", "persistence"})],
        "accountant": [StrOptions({"rdp", "zcdp"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_clusters: int = 2,
        *,
        epsilon: float = 1.0,
        delta: float = 1e-5,
        bounds=None,
        n_subclusters: int = 8,
        max_iter: int = 10,
        base: str = "gmm",
        clip_radius: float | None = 0.5,
        merge: str = "persistence",
        accountant: str = "rdp",
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.epsilon = epsilon
        self.delta = delta
        self.bounds = bounds
        self.n_subclusters = n_subclusters
        self.max_iter = max_iter
        self.base = base
        self.clip_radius = clip_radius
        self.merge = merge
        self.accountant = accountant
        self.random_state = random_state

    def _to_box(self, X):
        lower, upper = self.bounds_
        return 2.0 * (np.clip(X, lower, upper) - lower) / (upper - lower) - 1.0

    def _from_box(self, Z):
        lower, upper = self.bounds_
        return lower + (np.asarray(Z) + 1.0) * (upper - lower) / 2.0

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the private mixture and join its sub-clusters into clusters.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (finite values).
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : DPMorseClustering
            The fitted estimator.
        """
        X = validate_data(self, X, reset=True, dtype=np.float64, ensure_min_samples=2)
        delta = check_delta(self.delta, len(X))
        rng = noise_rng(noise_seed(self.random_state))  # OS entropy when None; not stored
        self.bounds_ = _check_bounds(self.bounds, X)
        Z = self._to_box(X)

        self.rho_ = dp_to_zcdp(self.epsilon, delta, method=self.accountant)
        weights, means, covs, counts, sigma = dp_hard_em(
            Z, self.n_subclusters, self.max_iter, self.rho_, self.base, rng, self.clip_radius
        )
        self.epsilon_ = zcdp_to_dp(self.rho_, delta, method=self.accountant)
        self.delta_ = delta
        self.noise_scale_ = sigma
        self.n_iter_ = self.max_iter  # DP EM runs all its (budgeted) iterations

        keep = counts > max(3.0 * sigma, 0.5)
        if not keep.any():
            warnings.warn(
                "No sub-cluster has a noisy count above the noise level: the data set is "
                "too small for this epsilon. Keeping the largest sub-cluster only.",
                UserWarning,
                stacklevel=2,
            )
            keep = counts == counts.max()
        weights, means, covs = weights[keep] / weights[keep].sum(), means[keep], covs[keep]
        self.n_subclusters_ = int(keep.sum())
        self._density = GaussianMixtureDensity(weights, means, covs)

        # Morse stage: post-processing of the privatized mixture (no privacy cost)
        peaks, comp_peak = find_peaks(self._density)
        saddles = find_saddles(self._density, peaks)
        peak_labels, used = merge_peaks(
            saddles, self.n_clusters, self._density.logpdf(peaks), method=self.merge
        )

        scale = (self.bounds_[1] - self.bounds_[0]) / 2.0
        log_jac = float(np.sum(np.log(scale)))  # density in data units = box density / |J|
        self.subcluster_weights_ = weights
        self.subcluster_means_ = self._from_box(means)
        self.subcluster_covariances_ = covs * scale[None, :, None] * scale[None, None, :]
        self.subcluster_labels_ = peak_labels[comp_peak]
        self.peaks_ = self._from_box(peaks)
        rep = [
            int(np.argmin(np.linalg.norm(means - p, axis=1) + 1e9 * (comp_peak != j)))
            for j, p in enumerate(peaks)
        ]
        D = X.shape[1]
        self.saddles_ = {
            "points": self._from_box(np.array([s.point for s in saddles]).reshape(-1, D)),
            "density": np.exp(np.array([s.log_density for s in saddles]) - log_jac),
            "subclusters": np.array(
                [[rep[s.peaks[0]], rep[s.peaks[1]]] for s in saddles], dtype=int
            ).reshape(-1, 2),
            "peaks": np.array([s.peaks for s in saddles], dtype=int).reshape(-1, 2),
            "merged": np.array(used, dtype=bool),
        }
        merged = self.saddles_["density"][self.saddles_["merged"]]
        self.merge_level_ = float(merged.min()) if merged.size else float("inf")
        self.labels_ = self.predict(X)
        return self

    def predict_subcluster(self, X):
        """Most probable sub-cluster of each sample, ``argmax_k w_k N(x; mu_k, S_k)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data.

        Returns
        -------
        subclusters : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        log_prob = self._density.component_log_prob
        return map_row_chunks(lambda rows: log_prob(self._to_box(rows)).argmax(axis=1), X)

    def predict(self, X):
        """Cluster of each sample (inductive: no access to the training data, no privacy cost).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.subcluster_labels_[self.predict_subcluster(X)]

    def fit_predict(self, X, y=None):
        """Fit and return the cluster of each training sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.fit(X).labels_

    def score_samples(self, X):
        """Log-density of the privatized mixture at each sample, in the data's units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        scale = (self.bounds_[1] - self.bounds_[0]) / 2.0
        return self._density.logpdf(self._to_box(X)) - float(np.sum(np.log(scale)))

    def plot(self, X=None, ax=None, n_grid=200):
        """Draw the density contours, sub-cluster means, saddles and the merge.

        Two-dimensional data are drawn as they are; other dimensions on the first two
        principal axes of the privatized mixture (exact marginal density on that plane).
        Means are coloured by cluster; saddles used by the merge are joined to the two
        sub-clusters they connect with solid lines, the others dashed.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            Points to draw in the background, coloured by :meth:`predict`.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        n_grid : int, default=200
            Grid resolution of the contours.

        Returns
        -------
        ax : matplotlib Axes
        """
        from ._plot import plot_morse

        check_is_fitted(self)
        return plot_morse(self, X=X, ax=ax, n_grid=n_grid)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
