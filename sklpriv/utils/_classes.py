"""The classifier pieces every torch classifier shares: label encoding and ``predict``."""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted


class LabelEncodedClassifierMixin:
    """Labels in, class indices to the network, ``classes_[argmax(predict_proba)]`` out.

    A classifier calls :meth:`_fit_labels` once in ``fit`` (with the label set, or
    ``None`` to read it from ``y``) and :meth:`_encode_labels` for every ``y``; it
    implements ``predict_proba`` and inherits ``predict``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.base import BaseEstimator, ClassifierMixin
    >>> from sklpriv.utils import LabelEncodedClassifierMixin
    >>> class Clf(ClassifierMixin, LabelEncodedClassifierMixin, BaseEstimator):
    ...     def fit(self, X, y):
    ...         self._fit_labels(y)
    ...         return self
    ...     def predict_proba(self, X):
    ...         return np.tile([0.2, 0.8], (len(X), 1))
    >>> clf = Clf().fit(np.zeros((3, 2)), np.array(["a", "b", "a"]))
    >>> clf.classes_.tolist(), clf._encode_labels(np.array(["b", "a"])).tolist()
    (['a', 'b'], [1, 0])
    >>> clf.predict(np.zeros((1, 2))).tolist()
    ['b']
    """

    def _fit_labels(self, y, classes=None) -> np.ndarray:
        """Validate ``y`` as classification targets and fix ``classes_`` (sorted)."""
        check_classification_targets(y)
        self._le = LabelEncoder().fit(np.unique(y) if classes is None else classes)
        self.classes_ = self._le.classes_
        return self.classes_

    def _encode_labels(self, y) -> np.ndarray:
        """Class indices of ``y``; a ``ValueError`` naming labels outside ``classes_``."""
        unknown = np.setdiff1d(np.unique(y), self.classes_)
        if unknown.size:
            raise ValueError(
                f"y has labels {unknown.tolist()} that are not in classes="
                f"{self.classes_.tolist()}: pass the full label set as classes."
            )
        return self._le.transform(y)

    def predict(self, X):
        """Most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
