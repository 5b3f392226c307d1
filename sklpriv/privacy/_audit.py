"""Empirical privacy audits: a membership-inference attack and the epsilon it implies.

An upper bound from an accountant can be wrong (a bug, an approximation that is not a
bound); an attack cannot overstate privacy. The loss-threshold attack (Yeom et al. 2018)
scores every record by how well the model fits it; its ROC curve over members vs
non-members gives an AUC and an advantage ``max(TPR - FPR)``, and any threshold's
``(TPR, FPR)`` bounds epsilon from below (Kairouz et al. 2015; Jagielski et al. 2020):
an ``(epsilon, delta)``-DP model has ``TPR <= e^epsilon FPR + delta``.
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
        col = np.searchsorted(estimator.classes_, np.asarray(y))
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


def epsilon_lower_bound(
    scores_in, scores_out, delta: float = 0.0, alpha: float = 0.05, n_thresholds: int = 20
) -> float:
    """Epsilon that a threshold attack on these scores proves, at confidence ``1 - alpha``.

    For each of ``n_thresholds`` thresholds (quantiles of all scores), Clopper-Pearson
    intervals bound the attack's TPR from below and FPR from above; DP implies
    ``TPR <= e^eps FPR + delta`` and ``1 - FPR <= e^eps (1 - TPR) + delta``. The largest
    epsilon over thresholds is returned, with a Bonferroni correction for the thresholds.

    Parameters
    ----------
    scores_in, scores_out : array-like
        Membership scores of members and of non-members.
    delta : float, default=0.0
        The model's delta.
    alpha : float, default=0.05
        One minus the confidence level.
    n_thresholds : int, default=20
        Number of thresholds tried.

    Returns
    -------
    epsilon : float
        ``0.0`` when no threshold proves anything.

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
    s_in, s_out = np.asarray(scores_in, float), np.asarray(scores_out, float)
    a = alpha / n_thresholds
    best = 0.0
    for t in np.quantile(np.concatenate([s_in, s_out]), np.linspace(0.02, 0.98, n_thresholds)):
        tp, fp = int((s_in >= t).sum()), int((s_out >= t).sum())
        tpr_lo, tpr_hi = _clopper_pearson(tp, len(s_in), a)
        fpr_lo, fpr_hi = _clopper_pearson(fp, len(s_out), a)
        for num, den in ((tpr_lo - delta, fpr_hi), (1 - fpr_hi - delta, 1 - tpr_lo)):
            if num > 0 and den > 0:
                best = max(best, math.log(num / den))
    return best


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
