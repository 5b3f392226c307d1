"""Forecasters (sktime API)."""

from ._cats import CATSForecaster

__all__ = ["CATSForecaster"]
