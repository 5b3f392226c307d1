"""Digits with a style attribute correlated with the class (fair-sampling experiments)."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import grey_dilation
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state


def make_styled_digits(correlation: float = 0.8, random_state=None):
    """The digits of sklearn, some drawn with a thick stroke, the style correlated with class.

    A digit of class 0-4 is thick with probability ``correlation``, a digit of class 5-9
    with probability ``1 - correlation``: at 0.8 the class group and the style share 60
    points of dependence (``P(class 0-4 | thick) - P(class 0-4 | thin) = 0.6``). The thick
    stroke is a 2x2 grey dilation of the 8x8 image.

    Parameters
    ----------
    correlation : float, default=0.8
        In [0, 1]; 0.5 makes style independent of class.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    X : ndarray of shape (1797, 64)
        Pixels in [0, 16].
    digit : ndarray of shape (1797,)
        The class.
    style : ndarray of shape (1797,)
        1 thick, 0 thin.

    Examples
    --------
    >>> from sklpriv.datasets import make_styled_digits
    >>> X, digit, style = make_styled_digits(random_state=0)
    >>> X.shape, round(float(style[digit < 5].mean()), 1), round(float(style[digit >= 5].mean()), 1)
    ((1797, 64), 0.8, 0.2)
    """
    if not 0 <= correlation <= 1:
        raise ValueError(f"correlation must lie in [0, 1]; got {correlation!r}.")
    rng = check_random_state(random_state)
    X, digit = load_digits(return_X_y=True)
    p_thick = np.where(digit < 5, correlation, 1 - correlation)
    style = (rng.random_sample(len(X)) < p_thick).astype(int)
    images = X.reshape(-1, 8, 8).copy()
    for i in np.flatnonzero(style):
        images[i] = grey_dilation(images[i], size=(2, 2))
    return images.reshape(len(X), 64), digit, style
