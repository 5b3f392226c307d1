"""Differentially private neural network estimators."""

__all__: list[str] = []
