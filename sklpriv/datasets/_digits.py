"""Digits with a style attribute correlated with the class (fair-sampling experiments)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import grey_dilation
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state


def make_styled_digits(correlation: float = 0.8, style: str = "thick", random_state=None):
    """The digits of sklearn, some drawn in a style correlated with their class.

    A digit of class 0-4 gets the style with probability ``correlation``, a digit of
    class 5-9 with probability ``1 - correlation``: at 0.8 the class group and the style
    share 60 points of dependence (``P(class 0-4 | styled) - P(class 0-4 | plain) =
    0.6``). ``"thick"`` is a 2x2 grey dilation of the 8x8 image (a coarse change, decided
    early in a diffusion trajectory, with the class); ``"checkerboard"`` adds a faint
    checkerboard of 6 grey levels (a fine texture, decided late).

    Parameters
    ----------
    correlation : float, default=0.8
        In [0, 1]; 0.5 makes style independent of class.
    style : {"thick", "checkerboard"}, default="thick"
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (1797, 64)
        Pixels in [0, 16].
    digit : ndarray of shape (1797,)
        The class.
    styled : ndarray of shape (1797,)
        1 styled, 0 plain.

    Examples
    --------
    >>> from sklpriv.datasets import make_styled_digits
    >>> X, digit, styled = make_styled_digits(random_state=0)
    >>> X.shape
    (1797, 64)
    >>> float(styled[digit < 5].mean().round(1)), float(styled[digit >= 5].mean().round(1))
    (0.8, 0.2)
    """
    if not 0 <= correlation <= 1:
        raise ValueError(f"correlation must lie in [0, 1]; got {correlation!r}.")
    if style not in ("thick", "checkerboard"):
        raise ValueError(f"style must be 'thick' or 'checkerboard'; got {style!r}.")
    rng = check_random_state(random_state)
    X, digit = load_digits(return_X_y=True)
    p_styled = np.where(digit < 5, correlation, 1 - correlation)
    styled = (rng.random_sample(len(X)) < p_styled).astype(int)
    images = X.reshape(-1, 8, 8).copy()
    checker = 6.0 * (np.indices((8, 8)).sum(0) % 2)
    for i in np.flatnonzero(styled):
        if style == "thick":
            images[i] = grey_dilation(images[i], size=(2, 2))
        else:
            images[i] = np.clip(images[i] + checker, 0, 16)
    return images.reshape(len(X), 64), digit, styled
