"""Metrics for generated time series."""

from ._generation import (
    context_fid,
    correlational_score,
    discriminative_score,
    predictive_score,
)
from ._synthetic import classification_accuracy_score, fairness_report, frechet_distance

__all__ = [
    "context_fid",
    "correlational_score",
    "discriminative_score",
    "predictive_score",
    "frechet_distance",
    "classification_accuracy_score",
    "fairness_report",
]
