"""Optimisers: SAM (non-private) and DP-SAT (an opacus ``DPOptimizer``)."""

from ._dpsat import DPSATOptimizer
from ._sam import SAM

__all__ = ["SAM", "DPSATOptimizer"]
