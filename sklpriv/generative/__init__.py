"""Generative models for time series."""

from ._timebridge import TimeBridgeGenerator

__all__ = ["TimeBridgeGenerator"]
