"""Metrics for generated time series."""

__all__: list[str] = []
