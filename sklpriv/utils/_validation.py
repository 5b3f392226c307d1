"""Validation of windowed time series input: ``(n_samples, n_timesteps[, n_features])``."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data


def check_series(X, *, name: str = "X", allow_nan: bool = False, dtype=np.float64) -> np.ndarray:
    """Windows as a finite float array of shape ``(n_samples, n_timesteps, n_features)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
        Windows; 2-D input is univariate (one feature).
    name : str, default="X"
        Name used in error messages.
    allow_nan : bool, default=False
        Accept NaN (missing entries to impute); inf is always refused.
    dtype : numpy dtype, default=float64

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_features)

    Raises
    ------
    ValueError
        Wrong number of dimensions, non-numeric values, NaN (unless allowed) or inf.

    Examples
    --------
    >>> import numpy as np
    >>> from sklpriv.utils import check_series
    >>> check_series(np.zeros((4, 24))).shape
    (4, 24, 1)
    """
    arr = np.asarray(X.to_numpy() if hasattr(X, "to_numpy") else X)
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"{name} must be 3-D (n_samples, n_timesteps, n_features) or 2-D "
            f"(n_samples, n_timesteps) for univariate windows; got shape {arr.shape}. "
            "Cut a long series into windows with sklpriv.datasets.sliding_windows."
        )
    try:
        with _quiet_overflow():
            arr = check_array(
                arr,
                allow_nd=True,
                dtype=dtype,
                ensure_all_finite="allow-nan" if allow_nan else True,
                input_name=name,
            )
    except ValueError as exc:
        raise ValueError(f"{exc} ({name} must be numeric windows.)") from None
    return arr[..., None] if arr.ndim == 2 else arr


def validate_series(estimator, X, *, reset: bool, allow_nan: bool = False) -> np.ndarray:
    """``validate_data`` for windowed series: the estimator-side of :func:`check_series`.

    2-D input goes through scikit-learn's ``validate_data`` (so ``n_features_in_`` and
    ``feature_names_in_`` follow its convention: the columns, i.e. the time steps); 3-D
    input sets ``n_features_in_`` to the number of variables per time step. With
    ``reset=False`` the window length and number of variables must match ``fit``.

    Parameters
    ----------
    estimator : estimator instance
    X : array-like, 2-D or 3-D
    reset : bool
        True in ``fit``: record ``n_features_in_``, ``n_timesteps_``, ``n_channels_``,
        ``ndim_``.
    allow_nan : bool, default=False

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_channels), float64
    """
    ndim = getattr(X, "ndim", None) or np.asarray(X).ndim
    if ndim == 2:
        with _quiet_overflow():
            arr = validate_data(
                estimator,
                X,
                reset=reset,
                dtype=np.float64,
                ensure_all_finite="allow-nan" if allow_nan else True,
            )[..., None]
    else:
        arr = check_series(X, allow_nan=allow_nan)
    if reset:
        estimator.ndim_ = arr.ndim if ndim != 2 else 2
        estimator.n_timesteps_, estimator.n_channels_ = arr.shape[1], arr.shape[2]
        if ndim != 2:
            estimator.n_features_in_ = arr.shape[2]
    elif arr.shape[1:] != (estimator.n_timesteps_, estimator.n_channels_):
        raise ValueError(
            f"X has windows of shape {arr.shape[1:]} (n_timesteps, n_features), but "
            f"{type(estimator).__name__} was fitted on windows of shape "
            f"{(estimator.n_timesteps_, estimator.n_channels_)}."
        )
    return arr


def _quiet_overflow():
    """Silence the overflow of scikit-learn's finiteness fast path (a sum of all values).

    For finite data of order 1e308 that sum overflows and numpy warns, although
    scikit-learn then checks every value and the data are fine.
    """
    return np.errstate(over="ignore", invalid="ignore")


def check_heads(d_model: int, n_heads: int) -> None:
    """Raise a ``ValueError`` unless ``d_model`` is divisible by ``n_heads``.

    Parameters
    ----------
    d_model, n_heads : int
        Width of a transformer and its number of attention heads.

    Examples
    --------
    >>> from sklpriv.utils import check_heads
    >>> check_heads(64, 4)
    """
    if d_model % n_heads:
        nearest = n_heads * max(1, d_model // n_heads)
        raise ValueError(
            f"d_model={d_model} must be divisible by n_heads={n_heads}: every attention "
            f"head gets d_model / n_heads features (try d_model={nearest})."
        )
