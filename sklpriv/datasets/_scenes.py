"""Digit scenes: sklearn digits side by side with multi-hot concept labels and a
co-occurrence structure (concept-erasure experiments, ReCARE).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from scipy.ndimage import grey_dilation
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state

STYLES = ("thick", "inverted")


def make_digit_scenes(
    n_samples: int = 2000,
    *,
    n_digits: int = 2,
    co_occurrence: dict | None = None,
    style_rate: float = 0.15,
    random_state=None,
):
    """Scenes of ``n_digits`` distinct sklearn digits side by side, with their concepts.

    Each scene draws its first digit uniformly; a digit ``d`` with partners in
    ``co_occurrence[d]`` brings each partner along with its probability (a digit partner
    takes the next free slot, a style partner styles the scene); the free slots left are
    filled uniformly with digits not yet present and without partners of their own, so
    that a digit with partners is always a first digit and ``P(partner | digit)`` is at
    least the given probability (a filler may be the partner too: ``p + (1 - p) / 8``
    for a digit partner in two-digit scenes). The slots are then shuffled. Each style
    (``"thick"``: a 2x2 grey dilation of the strokes; ``"inverted"``: ``1 - x``, a light
    background) is also switched on at random with probability ``style_rate``. The concept
    vector is multi-hot: which digits are present, and which styles.

    Parameters
    ----------
    n_samples : int, default=2000
    n_digits : int, default=2
        Digits per scene (2 to 10); a scene is ``8 x (8 n_digits)`` pixels.
    co_occurrence : dict or None, default=None
        ``{digit: {partner: probability}}``, a partner being a digit 0-9 or a style name;
        e.g. ``{3: {7: 0.7}}`` puts a 7 in at least 70% of the scenes with a 3.
    style_rate : float, default=0.15
        Probability of each style regardless of the digits.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    images : ndarray of shape (n_samples, 8, 8 * n_digits)
        Values in [0, 1].
    concepts : DataFrame of shape (n_samples, 12)
        Columns ``digit_0`` ... ``digit_9``, ``thick``, ``inverted``; 0 or 1.

    Examples
    --------
    >>> from sklpriv.datasets import make_digit_scenes
    >>> images, concepts = make_digit_scenes(500, co_occurrence={3: {7: 1.0}},
    ...                                      random_state=0)
    >>> images.shape
    (500, 8, 16)
    >>> has3 = concepts["digit_3"] == 1
    >>> float(concepts.loc[has3, "digit_7"].mean())
    1.0
    """
    n, partners = _check_scene_args(n_samples, n_digits, co_occurrence, style_rate)
    rng = check_random_state(random_state)
    X, label = load_digits(return_X_y=True)
    by_class = [X[label == d].reshape(-1, 8, 8) / 16.0 for d in range(10)]
    images = np.empty((n, 8, 8 * n_digits))
    concepts = np.zeros((n, 10 + len(STYLES)), dtype=np.int64)
    for i in range(n):
        digits, styles = _draw_concepts(rng, n_digits, partners, style_rate)
        rng.shuffle(digits)
        tiles = [by_class[d][rng.randint(len(by_class[d]))] for d in digits]
        images[i] = _styled(np.concatenate(tiles, axis=1), styles)
        concepts[i, digits] = 1
        concepts[i, [10 + STYLES.index(s) for s in styles]] = 1
    columns = [f"digit_{d}" for d in range(10)] + list(STYLES)
    return images, pd.DataFrame(concepts, columns=columns)


def _check_scene_args(n_samples, n_digits, co_occurrence, style_rate):
    if not isinstance(n_samples, Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")
    if not isinstance(n_digits, Integral) or not 2 <= n_digits <= 10:
        raise ValueError(f"n_digits must be an int in [2, 10]; got {n_digits!r}.")
    if not 0 <= style_rate <= 1:
        raise ValueError(f"style_rate must lie in [0, 1]; got {style_rate!r}.")
    partners = {}
    for digit, pairs in (co_occurrence or {}).items():
        if digit not in range(10) or not isinstance(pairs, dict):
            raise ValueError(
                f"co_occurrence maps a digit 0-9 to {{partner: probability}}; got {digit!r}."
            )
        for partner, p in pairs.items():
            if partner not in range(10) and partner not in STYLES:
                raise ValueError(f"co_occurrence partner {partner!r} is not a digit or style.")
            if not 0 <= p <= 1 or partner == digit:
                raise ValueError(f"co_occurrence[{digit}][{partner!r}] = {p!r} is invalid.")
        partners[int(digit)] = dict(pairs)
    return int(n_samples), partners


def _draw_concepts(rng, n_digits, partners, style_rate):
    first = int(rng.randint(10))
    digits, styles = [first], {s for s in STYLES if rng.random_sample() < style_rate}
    for partner, p in partners.get(first, {}).items():
        if rng.random_sample() < p:
            if partner in STYLES:
                styles.add(partner)
            elif len(digits) < n_digits and partner not in digits:
                digits.append(int(partner))
    while len(digits) < n_digits:
        free = [d for d in range(10) if d not in digits and d not in partners]
        free = free or [d for d in range(10) if d not in digits]
        digits.append(int(free[rng.randint(len(free))]))
    return digits, sorted(styles)


def _styled(scene: np.ndarray, styles) -> np.ndarray:
    if "thick" in styles:
        scene = grey_dilation(scene, size=(2, 2))
    if "inverted" in styles:
        scene = 1.0 - scene
    return scene
