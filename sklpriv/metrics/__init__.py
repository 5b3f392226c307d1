"""Metrics for generated data: time series, tables and images, fairness and concepts."""

from ._concepts import care_score, concept_presence_rate
from ._generation import (
    boosting_discriminative_score,
    context_fid,
    correlational_score,
    discriminative_score,
    predictive_score,
)
from ._synthetic import classification_accuracy_score, fairness_report, frechet_distance

__all__ = [
    "boosting_discriminative_score",
    "care_score",
    "concept_presence_rate",
    "context_fid",
    "correlational_score",
    "discriminative_score",
    "predictive_score",
    "frechet_distance",
    "classification_accuracy_score",
    "fairness_report",
]
