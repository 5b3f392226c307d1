"""Generative models for time series."""

__all__: list[str] = []
