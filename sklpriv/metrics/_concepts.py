"""Concept metrics for generated images judged by a concept detector (ReCARE): how
often a concept is present, and the CARE score of the concepts that co-occur with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike


def _detect(images, detector) -> np.ndarray:
    """The detector's multi-hot concepts ``(n, n_concepts)`` of the flattened images."""
    X = np.asarray(images, dtype=np.float64)
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(f"images must be a non-empty array of samples; got shape {X.shape}.")
    if not np.isfinite(X).all():
        raise ValueError("images contain NaN or infinity.")
    if not hasattr(detector, "predict"):
        raise ValueError("detector must be a fitted multi-label classifier with predict.")
    P = np.asarray(detector.predict(X.reshape(len(X), -1)))
    if P.ndim != 2 or len(P) != len(X):
        raise ValueError(
            f"detector.predict must return (n_images, n_concepts) indicators; got {P.shape}."
        )
    return P.astype(bool)


def _column(concept, n_concepts: int, names) -> int:
    if names is not None and concept in list(names):
        return list(names).index(concept)
    if isinstance(concept, Integral) and 0 <= concept < n_concepts:
        return int(concept)
    known = list(names) if names is not None else f"columns 0-{n_concepts - 1}"
    raise ValueError(f"unknown concept {concept!r}; the concepts are {known}.")


def concept_presence_rate(
    images: ArrayLike, concept, detector, *, concept_names: Sequence | None = None
) -> float:
    """Share of images in which ``detector`` finds ``concept``.

    Parameters
    ----------
    images : array-like of shape (n_images, ...)
        Flattened per image before ``detector.predict``.
    concept : str or int
        A name in ``concept_names``, or a column of the detector's output.
    detector : estimator
        A fitted multi-label classifier: ``predict`` returns ``(n_images, n_concepts)``
        0/1 indicators (e.g. ``MLPClassifier`` fit on a multi-hot ``y``).
    concept_names : sequence of str or None, default=None
        Names of the detector's columns.

    Returns
    -------
    rate : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklpriv.metrics import concept_presence_rate
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> detector = KNeighborsClassifier(1).fit(X, [[0, 1], [0, 1], [1, 0], [1, 1]])
    >>> concept_presence_rate(X, "b", detector, concept_names=["a", "b"])
    0.75
    """
    P = _detect(images, detector)
    return float(P[:, _column(concept, P.shape[1], concept_names)].mean())


def care_score(
    images: ArrayLike,
    prompts,
    care_set: Sequence,
    detector,
    *,
    concept_names: Sequence | None = None,
) -> float:
    """CARE score: how often a co-occurring concept survives in the images generated
    for prompts that contain it (ReCARE's zero-shot accuracy, with ``detector`` for CLIP).

    Every pair (image, CARE concept in that image's prompt) counts once: the score is
    the share of pairs whose concept ``detector`` finds.

    Parameters
    ----------
    images : array-like of shape (n_images, ...)
    prompts : DataFrame or array-like of shape (n_images, n_concepts)
        The multi-hot prompt of each image (a DataFrame's columns name the concepts).
    care_set : sequence of str or int
        The co-occurring concepts to check.
    detector : estimator
        As in :func:`concept_presence_rate`.
    concept_names : sequence of str or None, default=None
        Names of the detector's columns; ``None``: the DataFrame's columns.

    Returns
    -------
    score : float

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> from sklpriv.metrics import care_score
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> detector = KNeighborsClassifier(1).fit(X, [[1, 1], [1, 0], [0, 1]])
    >>> prompts = pd.DataFrame({"target": [1, 1, 1], "care": [1, 1, 0]})
    >>> care_score(X, prompts, ["care"], detector)
    0.5
    """
    P = _detect(images, detector)
    names = concept_names
    if names is None and isinstance(prompts, pd.DataFrame):
        names = list(prompts.columns)
    Q = np.asarray(prompts)
    if Q.shape != P.shape:
        raise ValueError(f"prompts must have shape {P.shape} (one row per image); got {Q.shape}.")
    cols = [_column(c, P.shape[1], names) for c in care_set]
    if not cols:
        raise ValueError("care_set is empty: there is nothing to score.")
    asked = Q[:, cols].astype(bool)
    if not asked.any():
        raise ValueError("no prompt contains a concept of care_set.")
    return float(P[:, cols][asked].mean())
