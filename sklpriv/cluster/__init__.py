"""Clustering estimators."""

from ._dp_morse import DPMorseClustering

__all__ = ["DPMorseClustering"]
