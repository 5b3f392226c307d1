"""Neural additive models with Bayesian feature subnetworks."""

from ._bayes_nam import BayesNAMClassifier, BayesNAMRegressor
from ._plot import ShapeFunctionDisplay

__all__ = ["BayesNAMClassifier", "BayesNAMRegressor", "ShapeFunctionDisplay"]
