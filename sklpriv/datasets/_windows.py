"""Sines generator and the sliding-window view used by time series generators."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state


def make_sines(
    n_samples: int = 10000,
    n_timesteps: int = 24,
    n_features: int = 5,
    *,
    random_state: None | int | np.random.RandomState = None,
) -> np.ndarray:
    """Multivariate sine windows, the toy data of time series generation (TimeGAN, Diffusion-TS).

    Every window and feature is ``sin(f * j + phase)`` for ``j = 0 .. n_timesteps - 1`` with
    its own frequency ``f ~ U(0, 0.1)`` and phase ``phase ~ U(0, 0.1)``, then mapped to
    ``[0, 1]`` as in the reference generator (``(x + 1) / 2``).

    Parameters
    ----------
    n_samples : int, default=10000
        Number of windows.
    n_timesteps : int, default=24
        Window length.
    n_features : int, default=5
        Variables per time step.
    random_state : None, int or RandomState, default=None
        Seed of the frequencies and phases.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_features)
        Values in ``[0, 1]``.

    Examples
    --------
    >>> from sklpriv.datasets import make_sines
    >>> make_sines(100, random_state=0).shape
    (100, 24, 5)
    """
    for name, value in [
        ("n_samples", n_samples),
        ("n_timesteps", n_timesteps),
        ("n_features", n_features),
    ]:
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}.")
    rng = check_random_state(random_state)
    freq = rng.uniform(0, 0.1, size=(n_samples, 1, n_features))
    phase = rng.uniform(0, 0.1, size=(n_samples, 1, n_features))
    j = np.arange(n_timesteps)[None, :, None]
    return (np.sin(freq * j + phase) + 1) / 2


def sliding_windows(y, window: int, stride: int = 1) -> np.ndarray:
    """Cut a long series into (overlapping) windows: the input layout of generators.

    Parameters
    ----------
    y : array-like of shape (n_timepoints,) or (n_timepoints, n_features), or pandas
        Series / DataFrame
        The long series, oldest first. A DataFrame's columns are the features.
    window : int
        Window length (time steps per sample).
    stride : int, default=1
        Steps between the starts of consecutive windows (1: every start, the field's
        protocol).

    Returns
    -------
    X : ndarray of shape (n_windows, window, n_features)
        ``n_windows = (n_timepoints - window) // stride + 1``; a copy, float64.

    Raises
    ------
    ValueError
        When ``window`` is longer than the series, ``window`` or ``stride`` is not a
        positive int, or ``y`` has more than two dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklpriv.datasets import sliding_windows
    >>> sliding_windows(np.arange(6.0), window=4).shape
    (3, 4, 1)
    >>> sliding_windows(np.arange(6.0), window=4)[:, :, 0]
    array([[0., 1., 2., 3.],
           [1., 2., 3., 4.],
           [2., 3., 4., 5.]])
    """
    if isinstance(y, (pd.Series, pd.DataFrame)):
        y = y.to_numpy()
    arr = np.asarray(y, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(
            f"y must be a 1-D or 2-D series (time first); got an array of shape {arr.shape}."
        )
    for name, value in [("window", window), ("stride", stride)]:
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}.")
    if window > len(arr):
        raise ValueError(
            f"window={window} is longer than the series ({len(arr)} time points): "
            "lower window or pass a longer series."
        )
    view = np.lib.stride_tricks.sliding_window_view(arr, window, axis=0)[::stride]
    return np.ascontiguousarray(view.transpose(0, 2, 1))
