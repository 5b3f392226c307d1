"""A ledger of the privacy that fits on the same data set spend together."""

from __future__ import annotations

import math

import pandas as pd
from sklearn.utils.validation import check_is_fitted


def _params_ending(params: dict, name: str) -> dict:
    """The entries of ``params`` named ``name`` or ``<step>__name`` (a pipeline's)."""
    return {k: v for k, v in params.items() if k == name or k.endswith("__" + name)}


class PrivacyLedger:
    """Sums the privacy spent by differentially private fits on the same data set.

    Every fit of a DP estimator on a data set spends its ``(epsilon_, delta_)``, and fits
    on the same records compose: ``k`` fits at ``(epsilon_i, delta_i)`` are together
    ``(sum epsilon_i, sum delta_i)``-DP (basic composition; tighter bounds exist for
    Gaussian mechanisms but need their noise, not their epsilons). A grid search runs one
    fit per candidate and fold, and their training rows overlap, plus the refit: its
    total is the sum over all of them, far above the epsilon of the model it returns.

    Attributes
    ----------
    entries : list of dict
        One per record: ``dataset``, ``label``, ``fits``, ``epsilon``, ``delta`` (the
        entry's total).

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklpriv import DPMorseClustering
    >>> from sklpriv.privacy import PrivacyLedger
    >>> from sklearn.datasets import make_moons
    >>> X, _ = make_moons(n_samples=5000, noise=0.05, random_state=0)
    >>> search = GridSearchCV(
    ...     DPMorseClustering(bounds=([-1.5, -1.0], [2.5, 1.5]), random_state=0),
    ...     {"epsilon": [2.0, 3.0]}, cv=2, scoring=lambda est, X: 0.0,
    ... ).fit(X)
    >>> ledger = PrivacyLedger().record_search(search, dataset="X")
    >>> ledger.total("X")[0]  # 2 folds x (2 + 3), and the refit at 2
    12.0
    """

    def __init__(self):
        self.entries: list[dict] = []

    def record(self, estimator, dataset: str = "data", label: str | None = None):
        """Add one fitted DP estimator's ``(epsilon_, delta_)``.

        Parameters
        ----------
        estimator : fitted estimator with ``epsilon_`` and ``delta_``
        dataset : str, default="data"
            The data set it was fitted on (fits on different data sets do not compose).
        label : str or None, default=None
            Shown in :meth:`to_frame` (default: the estimator's class name).

        Returns
        -------
        self : PrivacyLedger
        """
        check_is_fitted(estimator)
        if not (hasattr(estimator, "epsilon_") and hasattr(estimator, "delta_")):
            raise ValueError(
                f"{type(estimator).__name__} reports no epsilon_ and delta_: it is not a "
                "differentially private estimator."
            )
        eps, delta = float(estimator.epsilon_), float(estimator.delta_)
        return self._add(dataset, label or type(estimator).__name__, 1, eps, delta)

    def record_search(self, search, dataset: str = "data"):
        """Add every fit of a fitted ``GridSearchCV`` / ``RandomizedSearchCV``.

        One fit per candidate and cross-validation split, plus the refit, each at its
        candidate's ``epsilon`` target (an upper bound of what the fit spent) and
        ``delta``. A searched estimator must expose ``epsilon`` and ``delta`` parameters
        (in a pipeline, ``<step>__epsilon``); candidates that set ``noise_multiplier``
        instead spend what the noise implies: record their fits with :meth:`record`.

        Parameters
        ----------
        search : fitted BaseSearchCV
        dataset : str, default="data"

        Returns
        -------
        self : PrivacyLedger
        """
        check_is_fitted(search, "cv_results_")
        base = search.estimator.get_params(deep=True)
        candidates = list(search.cv_results_["params"])
        fits = [c for c in candidates for _ in range(search.n_splits_)]
        if search.refit is not False:
            fits.append(search.best_params_)
        eps = delta = 0.0
        for params in fits:
            p = {**base, **params}
            if any(v is not None for v in _params_ending(p, "noise_multiplier").values()):
                raise ValueError(
                    "a candidate sets noise_multiplier: its epsilon is not the epsilon "
                    "parameter; record its fits with PrivacyLedger.record."
                )
            e, d = _params_ending(p, "epsilon"), _params_ending(p, "delta")
            if not e or not d:
                raise ValueError(
                    f"{type(search.estimator).__name__} has no epsilon and delta "
                    "parameters: not a differentially private estimator."
                )
            eps, delta = eps + sum(map(float, e.values())), delta + sum(map(float, d.values()))
        label = f"{type(search).__name__}({type(search.estimator).__name__})"
        return self._add(dataset, label, len(fits), eps, delta)

    def _add(self, dataset, label, fits, eps, delta):
        self.entries.append(
            {"dataset": dataset, "label": label, "fits": fits, "epsilon": eps, "delta": delta}
        )
        return self

    def total(self, dataset: str = "data") -> tuple[float, float]:
        """``(epsilon, delta)`` spent on ``dataset`` by everything recorded (basic
        composition); ``(0.0, 0.0)`` when nothing was.
        """
        rows = [r for r in self.entries if r["dataset"] == dataset]
        eps = math.fsum(r["epsilon"] for r in rows)
        return eps, math.fsum(r["delta"] for r in rows)

    def to_frame(self) -> pd.DataFrame:
        """The entries, one row each, with the running total per data set."""
        frame = pd.DataFrame(self.entries, columns=["dataset", "label", "fits", "epsilon", "delta"])
        frame["epsilon_total"] = frame.groupby("dataset")["epsilon"].cumsum()
        frame["delta_total"] = frame.groupby("dataset")["delta"].cumsum()
        return frame
