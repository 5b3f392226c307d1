"""Metrics for generated (synthetic) tabular or image data.

:func:`frechet_distance` compares the Gaussian fits of real and generated feature vectors
(FID with the feature extractor of your choice), :func:`classification_accuracy_score`
trains on synthetic rows and tests on real ones ("train on synthetic, test on real"), and
:func:`fairness_report` gathers fairlearn's group-fairness metrics of a classifier's
predictions, e.g. one trained on synthetic data.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import column_or_1d

if TYPE_CHECKING:
    import pandas as pd


def _n_rows(X, name: str) -> int:
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 0:
        raise ValueError(f"{name} must be an array of samples; got a scalar.")
    try:
        return int(shape[0]) if shape is not None else len(X)
    except TypeError:
        raise ValueError(f"{name} must be an array-like of samples; got {type(X)}.") from None


def _as_rows(values, name: str, n_expected: int | None = None) -> np.ndarray:
    """``values`` as a finite float array of shape ``(n, d)`` (trailing axes flattened)."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric; {exc}") from None
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array of samples; got a scalar.")
    arr = arr.reshape(len(arr), -1)
    if n_expected is not None and len(arr) != n_expected:
        raise ValueError(f"{name} must have one row per sample ({n_expected}); got {len(arr)}.")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no features; got shape {arr.shape}.")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


def _extract(X, features, name: str) -> np.ndarray:
    n = _n_rows(X, name)
    if n < 2:
        raise ValueError(f"{name} must have at least 2 samples to fit a Gaussian; got {n}.")
    if features is None:
        return _as_rows(X, name)
    extract = features.transform if hasattr(features, "transform") else features
    if not callable(extract):
        raise ValueError(
            f"features must be None, a callable or an object with a transform method; "
            f"got {type(features)}."
        )
    return _as_rows(extract(X), f"features({name})", n_expected=n)


def _gaussian(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return F.mean(axis=0), np.atleast_2d(np.cov(F, rowvar=False))


def _trace_sqrt_product(cov_a: np.ndarray, cov_b: np.ndarray) -> float:
    """``Tr((cov_a cov_b)^{1/2})``, retried with a small ridge if the root is not finite."""
    with warnings.catch_warnings():
        # singular covariances (more features than samples) are common and harmless here
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(covmean).all():
            ridge = 1e-6 * np.eye(len(cov_a))
            covmean = linalg.sqrtm((cov_a + ridge) @ (cov_b + ridge))
    return float(np.trace(np.real(covmean)))


def frechet_distance(
    real: ArrayLike,
    fake: ArrayLike,
    *,
    features: Callable[[Any], ArrayLike] | Any | None = None,
) -> float:
    """Fréchet distance between Gaussian fits of real and generated feature vectors.

    The distance behind FID: with ``mu``, ``S`` the mean and covariance of each set's
    features, ``||mu_r - mu_f||^2 + Tr(S_r + S_f - 2 (S_r S_f)^{1/2})``. The matrix square
    root is :func:`scipy.linalg.sqrtm`'s, real part taken; the result is clipped at 0
    against rounding. Lower is better; 0 for identical sets.

    Parameters
    ----------
    real, fake : array-like of shape (n_samples, ...)
        Samples, at least 2 in each. Without ``features`` each row is flattened into one
        feature vector; both sets must then have the same number of values per row.
    features : callable, transformer or None, default=None
        Maps an array of samples to their ``(n_samples, n_features)`` features, e.g. the
        hidden layer of a classifier trained on the real data. An object with a
        ``transform`` method (a fitted scikit-learn transformer) has it called. ``None``:
        the flattened rows are the features.

    Returns
    -------
    distance : float, >= 0

    Raises
    ------
    ValueError
        Fewer than 2 samples, non-numeric or non-finite values, or features of different
        dimensions; the message names the argument.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from sklpriv.metrics import frechet_distance
    >>> rng = np.random.RandomState(0)
    >>> real = rng.normal(size=(2000, 3))
    >>> round(frechet_distance(real, real), 6)
    0.0
    >>> shifted = real + [1.0, 0.0, 0.0]
    >>> round(frechet_distance(real, shifted), 6)
    1.0
    >>> pca = PCA(n_components=2).fit(real)
    >>> frechet_distance(real, shifted, features=pca) > 0
    True
    """
    F_real = _extract(real, features, "real")
    F_fake = _extract(fake, features, "fake")
    if F_real.shape[1] != F_fake.shape[1]:
        what = "features" if features is not None else "values per sample"
        raise ValueError(
            f"real and fake must have the same number of {what}; got {F_real.shape[1]} "
            f"and {F_fake.shape[1]}."
        )
    mu_r, cov_r = _gaussian(F_real)
    mu_f, cov_f = _gaussian(F_fake)
    trace = np.trace(cov_r) + np.trace(cov_f) - 2 * _trace_sqrt_product(cov_r, cov_f)
    return max(float(((mu_r - mu_f) ** 2).sum() + trace), 0.0)


def _check_labelled(X, y, x_name: str, y_name: str) -> np.ndarray:
    n = _n_rows(X, x_name)
    if n == 0:
        raise ValueError(f"{x_name} must have at least one sample.")
    try:
        y = column_or_1d(y, warn=True)
    except ValueError as exc:
        raise ValueError(f"{y_name} must be 1-D labels; {exc}") from None
    if len(y) != n:
        raise ValueError(f"{x_name} and {y_name} must have the same length; got {n} and {len(y)}.")
    return y


def classification_accuracy_score(
    X_synthetic: ArrayLike,
    y_synthetic: ArrayLike,
    X_real: ArrayLike,
    y_real: ArrayLike,
    *,
    estimator: Any | None = None,
) -> float:
    """Classification accuracy score (CAS): accuracy on real rows of a classifier trained
    on synthetic ones.

    "Train on synthetic, test on real": a clone of ``estimator`` is fitted on the
    generated, labelled rows and scored on real held-out rows. Close to the accuracy of
    the same classifier trained on real data when the generator kept the class structure;
    near chance when it did not. Higher is better.

    Parameters
    ----------
    X_synthetic : array-like of shape (n_synthetic, n_features)
    y_synthetic : array-like of shape (n_synthetic,)
        At least two classes.
    X_real : array-like of shape (n_real, n_features)
    y_real : array-like of shape (n_real,)
    estimator : classifier or None, default=None
        Cloned before fitting. ``None``: ``make_pipeline(StandardScaler(),
        LogisticRegression(max_iter=1000))``.

    Returns
    -------
    accuracy : float in [0, 1]

    Raises
    ------
    ValueError
        Features and labels of different lengths, or synthetic labels of a single class.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklpriv.metrics import classification_accuracy_score
    >>> X, y = make_classification(1000, n_features=5, class_sep=2.0, random_state=0)
    >>> X_syn, y_syn, X_real, y_real = X[:500], y[:500], X[500:], y[500:]
    >>> classification_accuracy_score(X_syn, y_syn, X_real, y_real) > 0.9
    True
    """
    y_synthetic = _check_labelled(X_synthetic, y_synthetic, "X_synthetic", "y_synthetic")
    y_real = _check_labelled(X_real, y_real, "X_real", "y_real")
    if len(np.unique(y_synthetic)) < 2:
        raise ValueError(
            f"y_synthetic must contain at least 2 classes to train a classifier; got only "
            f"{np.unique(y_synthetic).tolist()}."
        )
    shape_syn, shape_real = np.shape(X_synthetic)[1:], np.shape(X_real)[1:]
    if shape_syn != shape_real:
        raise ValueError(
            f"X_synthetic and X_real must have the same features per sample; got "
            f"{shape_syn} and {shape_real}."
        )
    if estimator is None:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    else:
        model = clone(estimator)
    model.fit(X_synthetic, y_synthetic)
    return float(accuracy_score(y_real, model.predict(X_real)))


def fairness_report(
    y_true: ArrayLike, y_pred: ArrayLike, sensitive_features: ArrayLike
) -> dict[str, float | pd.DataFrame]:
    """Group-fairness metrics of binary predictions, computed with fairlearn.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels (positive class 1).
    y_pred : array-like of shape (n_samples,)
        Binary predictions.
    sensitive_features : array-like of shape (n_samples,) or (n_samples, n_sensitive)
        Group membership; several columns define the groups by their combinations.

    Returns
    -------
    report : dict
        ``"demographic_parity_difference"`` (largest gap in selection rate between
        groups), ``"equalized_odds_difference"`` (the larger of the largest gaps in
        true- and false-positive rate), ``"accuracy"`` (overall) and ``"by_group"``: a
        :class:`pandas.DataFrame` with columns ``accuracy`` and ``selection_rate``, one
        row per group (fairlearn's ``MetricFrame.by_group``).

    Raises
    ------
    ValueError
        Inputs of different lengths, or no samples.

    See Also
    --------
    fairlearn.metrics.demographic_parity_difference
    fairlearn.metrics.equalized_odds_difference
    fairlearn.metrics.MetricFrame

    Examples
    --------
    >>> from sklpriv.metrics import fairness_report
    >>> y_true = [1, 0, 1, 0, 1, 0, 1, 0]
    >>> y_pred = [1, 1, 1, 0, 1, 0, 0, 0]
    >>> group = ["a", "a", "a", "a", "b", "b", "b", "b"]
    >>> report = fairness_report(y_true, y_pred, group)
    >>> report["demographic_parity_difference"]  # selection rates 3/4 and 1/4
    0.5
    >>> report["accuracy"]
    0.75
    >>> report["by_group"]["selection_rate"].tolist()
    [0.75, 0.25]
    """
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        equalized_odds_difference,
        selection_rate,
    )

    n = _n_rows(y_true, "y_true")
    if n == 0:
        raise ValueError("y_true must have at least one sample.")
    for name, values in (("y_pred", y_pred), ("sensitive_features", sensitive_features)):
        if _n_rows(values, name) != n:
            raise ValueError(
                f"{name} must have the same length as y_true ({n}); got {_n_rows(values, name)}."
            )
    kw = {"sensitive_features": sensitive_features}
    frame = MetricFrame(
        metrics={"accuracy": accuracy_score, "selection_rate": selection_rate},
        y_true=y_true,
        y_pred=y_pred,
        **kw,
    )
    return {
        "demographic_parity_difference": float(demographic_parity_difference(y_true, y_pred, **kw)),
        "equalized_odds_difference": float(equalized_odds_difference(y_true, y_pred, **kw)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "by_group": frame.by_group,
    }
