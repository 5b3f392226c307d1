"""Generative models: TimeBridge for time series, conditional EDM diffusion for tables and
small images (with fair sampling by attribute switching, differential privacy and
concept erasure).
"""

from ._diffusion import DiffusionGenerator
from ._dp_diffusion import DPDiffusionGenerator
from ._erasure import ConceptEraser
from ._mdlm import MaskedDiffusionLM
from ._plot_erasure import plot_concept_samples
from ._switching import plot_switch_search
from ._timebridge import TimeBridgeGenerator

__all__ = [
    "ConceptEraser",
    "DPDiffusionGenerator",
    "DiffusionGenerator",
    "MaskedDiffusionLM",
    "TimeBridgeGenerator",
    "plot_concept_samples",
    "plot_switch_search",
]
