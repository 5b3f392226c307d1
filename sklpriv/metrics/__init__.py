"""Metrics for generated time series."""

from ._generation import (
    context_fid,
    correlational_score,
    discriminative_score,
    predictive_score,
)

__all__ = ["context_fid", "correlational_score", "discriminative_score", "predictive_score"]
