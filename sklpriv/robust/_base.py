"""The fit recipe the robust classifiers share: validate, seed, build, train on skorch."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils import (
    LabelEncodedClassifierMixin,
    check_torch_seed,
    fit_net,
    history_rows,
    to_tensor,
    torch_rng,
)
from ._attacks import PGDAttack, robust_accuracy

# the parameters every robust classifier shares: its attack and its training
_TRAINING_CONSTRAINTS: dict = {
    "radius": [Interval(Real, 0, None, closed="left")],
    "norm": [StrOptions({"linf", "l2"})],
    "attack_steps": [Interval(Integral, 1, None, closed="left")],
    "attack_step_size": [Interval(Real, 0, None, closed="neither"), None],
    "bounds": [tuple, list, None],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "max_epochs": [Interval(Integral, 1, None, closed="left")],
    "device": [str, None],
    "callbacks": [list, tuple, None],
    "random_state": ["random_state"],
    "verbose": ["verbose"],
}


def check_in_bounds(X: np.ndarray, bounds) -> None:
    """A clear ``ValueError`` when ``X`` leaves ``bounds`` (``None``: unbounded)."""
    if bounds is not None and (X.min() < bounds[0] - 1e-6 or X.max() > bounds[1] + 1e-6):
        raise ValueError(
            f"X lies outside bounds={tuple(bounds)} (min {X.min():.3g}, max {X.max():.3g}): "
            "scale it into them, or pass the bounds of its space."
        )


class _RobustNetClassifier(ClassifierMixin, LabelEncodedClassifierMixin, BaseEstimator):
    """Shared ``fit`` / ``robust_score`` of the robust torch classifiers.

    A subclass implements ``_build_module(n_features, n_classes)`` and
    ``_objective(module, x, y, training)`` (the loss of a batch) and may override
    ``_needs_bounds()``; ``self._gen`` (a torch generator) is live during training for the
    batch attacks' random starts.
    """

    def _needs_bounds(self) -> bool:
        return True

    def _fit_network(self, X, y):
        """Validate, encode labels, seed, build and train (the common ``fit`` body)."""
        X, y = validate_data(self, X, y, reset=True, dtype=np.float32)
        if self._needs_bounds():
            check_in_bounds(X, self.bounds)
        self._fit_labels(y)
        yt = torch.as_tensor(self._encode_labels(y), dtype=torch.long)
        seed = check_torch_seed(check_random_state(self.random_state))
        self._gen = torch.Generator().manual_seed(seed)
        try:
            with torch_rng(seed):
                self.module_ = self._build_module(X.shape[1], len(self.classes_))
                self.net_ = fit_net(
                    self.module_,
                    self._objective,
                    (to_tensor(X), yt),
                    lr=self.lr,
                    batch_size=self.batch_size,
                    max_epochs=self.max_epochs,
                    user_callbacks=self.callbacks,
                    generator=self._gen,
                    device=self.device,
                    verbose=self.verbose,
                    desc=type(self).__name__,
                )
        finally:
            del self._gen
        self.module_.cpu().eval()
        self.history_ = history_rows(self.net_)
        return self

    def _attack(self, module, **kw) -> PGDAttack:
        """The training attack (or, with ``kw``, an evaluation one) at the fitted radius."""
        params = dict(radius=self.radius, norm=self.norm, steps=self.attack_steps)
        params.update(step_size=self.attack_step_size)
        params.update(kw)
        bounds = None if self.bounds is None else tuple(self.bounds)
        return PGDAttack(module, bounds=bounds, **params)

    def robust_score(self, X, y, attack: PGDAttack | None = None) -> float:
        """Accuracy under ``attack`` (default: PGD-20 at the training radius and norm).

        Parameters
        ----------
        X, y : array-like
        attack : PGDAttack or None, default=None

        Returns
        -------
        accuracy : float
        """
        check_is_fitted(self)
        if attack is None:
            attack = self._attack(self, steps=20, step_size=None, random_state=0)
        return robust_accuracy(self, np.asarray(X, dtype=np.float64), y, attack)
