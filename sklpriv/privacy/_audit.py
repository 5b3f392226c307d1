"""Empirical privacy audits: a membership-inference attack and the epsilon it implies.

An upper bound from an accountant can be wrong (a bug, an approximation that is not a
bound); an attack cannot overstate privacy. The loss-threshold attack (Yeom et al. 2018)
scores every record by how well the model fits it; its ROC curve over members vs
non-members gives an AUC and an advantage ``max(TPR - FPR)``, and any threshold's
``(TPR, FPR)`` bounds epsilon from below (Kairouz et al. 2015; Jagielski et al. 2020):
an ``(epsilon, delta)``-DP model has ``TPR <= e^epsilon FPR + delta``. Over the records
of one training run this is an audit heuristic (see :func:`epsilon_lower_bound`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import beta
from sklearn.metrics import roc_auc_score, roc_curve


def membership_scores(estimator, X, y=None) -> np.ndarray:
    """How strongly the model "remembers" each record: larger means more member-like.

    Parameters
    ----------
    estimator : fitted estimator
        A classifier with ``predict_proba`` (score: log-probability of the true label,
        i.e. minus the loss) or a density model with ``score_samples`` (log-density).
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or None
        True labels (classifiers).

    Returns
    -------
    scores : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.mixture import GaussianMixture
    >>> from sklpriv.privacy import membership_scores
    >>> X = np.random.RandomState(0).normal(size=(50, 2))
    >>> membership_scores(GaussianMixture(2, random_state=0).fit(X), X).shape
    (50,)
    """
    if y is not None and hasattr(estimator, "predict_proba"):
        proba = estimator.predict_proba(X)
        classes, y = np.asarray(estimator.classes_), np.asarray(y)
        col = np.searchsorted(classes, y).clip(0, len(classes) - 1)
        if not np.array_equal(classes[col], y):
            raise ValueError("y has labels that are not in the estimator's classes_.")
        return np.log(np.clip(proba[np.arange(len(col)), col], 1e-300, None))
    if hasattr(estimator, "score_samples"):
        return np.asarray(estimator.score_samples(X), dtype=float)
    raise TypeError(
        f"{type(estimator).__name__} has neither predict_proba (with y) nor score_samples."
    )


def _clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    lo = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def _bound_at(s_in, s_out, t, delta, alpha):
    """Clopper-Pearson lower bound on epsilon of the test ``score >= t`` (both sides)."""
    tp, fp = int((s_in >= t).sum()), int((s_out >= t).sum())
    tpr_lo, _ = _clopper_pearson(tp, len(s_in), alpha)
    _, fpr_hi = _clopper_pearson(fp, len(s_out), alpha)
    best = 0.0
    # DP: TPR <= e^eps FPR + delta and 1 - FPR <= e^eps (1 - TPR) + delta
    for num, den in ((tpr_lo - delta, fpr_hi), (1 - fpr_hi - delta, 1 - tpr_lo)):
        if num > 0 and den > 0:
            best = max(best, math.log(num / den))
    return best


def epsilon_lower_bound(
    scores_in,
    scores_out,
    delta: float = 0.0,
    alpha: float = 0.05,
    n_thresholds: int = 20,
    random_state: int = 0,
) -> float:
    """Epsilon that a threshold attack on these scores shows, at confidence ``1 - alpha``.

    The scores are split in two random halves: the first chooses the threshold (among
    ``n_thresholds`` quantiles) with the largest bound, the second, which played no part
    in that choice, gives the reported bound there, from Clopper-Pearson intervals (a
    lower one on the TPR, an upper one on the FPR; ``alpha`` split over both) and the DP
    inequalities ``TPR <= e^eps FPR + delta``, ``1 - FPR <= e^eps (1 - TPR) + delta``.

    This is an audit heuristic, not a proof about the mechanism: it treats the records
    of one training run as independent trials, which holds only approximately even when
    members are drawn at random from one pool (Steinke et al. 2023 give a one-run test
    that is valid). Non-members from another distribution than the members make it
    "show" leakage that is not there. A figure above the guarantee therefore signals a
    bug or a broken assumption, worth a look; ``0`` shows nothing.

    Parameters
    ----------
    scores_in, scores_out : array-like
        Membership scores of members and of non-members (same distribution of records).
    delta : float, default=0.0
        The model's delta.
    alpha : float, default=0.05
        One minus the confidence level.
    n_thresholds : int, default=20
        Thresholds tried on the first half.
    random_state : int, default=0
        Seeds the split.

    Returns
    -------
    epsilon : float
        ``0.0`` when the test shows nothing.

    Examples
    --------
    >>> import numpy as np
    >>> from sklpriv.privacy import epsilon_lower_bound
    >>> rng = np.random.RandomState(0)
    >>> epsilon_lower_bound(rng.normal(size=500), rng.normal(size=500))
    0.0
    >>> epsilon_lower_bound(rng.normal(3, 1, 500), rng.normal(size=500)) > 1
    True
    """
    rng = np.random.RandomState(random_state)
    halves = []
    for s in (np.asarray(scores_in, float), np.asarray(scores_out, float)):
        idx = rng.permutation(len(s))
        halves.append((s[idx[: len(s) // 2]], s[idx[len(s) // 2 :]]))
    (in_a, in_b), (out_a, out_b) = halves
    grid = np.quantile(np.concatenate([in_a, out_a]), np.linspace(0.02, 0.98, n_thresholds))
    t = max(grid, key=lambda g: _bound_at(in_a, out_a, g, delta, alpha))
    return _bound_at(in_b, out_b, t, delta, alpha)


def membership_inference(
    estimator, X_in, X_out, y_in=None, y_out=None, *, delta: float = 0.0, alpha: float = 0.05
) -> dict:
    """Run the loss-threshold membership-inference attack on a fitted model.

    Parameters
    ----------
    estimator : fitted estimator
        See :func:`membership_scores`.
    X_in, X_out : array-like
        Training records (members) and records from the same distribution that were not
        trained on (non-members).
    y_in, y_out : array-like or None
        Their labels (classifiers).
    delta : float, default=0.0
        The model's delta, for the lower bound on epsilon.
    alpha : float, default=0.05
        One minus the confidence level of the lower bound.

    Returns
    -------
    result : dict
        ``auc`` (0.5: chance), ``advantage`` (``max(TPR - FPR)``, 0: chance) and
        ``epsilon_lower_bound`` (see :func:`epsilon_lower_bound`).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sklpriv.privacy import membership_inference
    >>> X, y = load_digits(return_X_y=True)
    >>> tree = DecisionTreeClassifier(random_state=0).fit(X[:200], y[:200])
    >>> res = membership_inference(tree, X[:200], X[200:400], y[:200], y[200:400])
    >>> res["auc"] > 0.6, res["epsilon_lower_bound"] > 0
    (True, True)
    """
    s_in = membership_scores(estimator, X_in, y_in)
    s_out = membership_scores(estimator, X_out, y_out)
    labels = np.r_[np.ones(len(s_in)), np.zeros(len(s_out))]
    scores = np.r_[s_in, s_out]
    fpr, tpr, _ = roc_curve(labels, scores)
    return {
        "auc": float(roc_auc_score(labels, scores)),
        "advantage": float(np.max(tpr - fpr)),
        "epsilon_lower_bound": epsilon_lower_bound(s_in, s_out, delta=delta, alpha=alpha),
    }
