"""Differentially private neural network estimators."""

from ._dpsat import DPSATClassifier, DPSATRegressor

__all__ = ["DPSATClassifier", "DPSATRegressor"]
