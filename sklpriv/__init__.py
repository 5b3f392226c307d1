"""sklpriv: scikit-learn estimators for private, explainable and temporal machine learning.

Every public estimator is re-exported here, e.g. ``from sklpriv import DPSATClassifier``.
"""

__version__ = "0.1.0"

from .additive import BayesNAMClassifier, BayesNAMRegressor  # noqa: E402
from .cluster import DPMorseClustering  # noqa: E402
from .forecasting import CATSForecaster  # noqa: E402
from .generative import (  # noqa: E402
    ConceptEraser,
    DiffusionGenerator,
    DPDiffusionGenerator,
    MaskedDiffusionLM,
    TimeBridgeGenerator,
)
from .neural_network import DPSATClassifier, DPSATRegressor  # noqa: E402
from .robust import AdversarialClassifier, RandomizedNetworkClassifier  # noqa: E402

__all__ = [
    "AdversarialClassifier",
    "BayesNAMClassifier",
    "BayesNAMRegressor",
    "CATSForecaster",
    "ConceptEraser",
    "DPMorseClustering",
    "DiffusionGenerator",
    "DPDiffusionGenerator",
    "DPSATClassifier",
    "DPSATRegressor",
    "MaskedDiffusionLM",
    "RandomizedNetworkClassifier",
    "TimeBridgeGenerator",
    "__version__",
]
