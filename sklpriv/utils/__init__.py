"""Shared helpers: estimator discovery, torch seeding and devices, the skorch engine."""

from ._chunks import PREDICT_CHUNK, map_row_chunks
from ._classes import LabelEncodedClassifierMixin
from ._discovery import all_estimators
from ._engine import (
    EMA,
    EpochProgress,
    LossNet,
    StepBudget,
    TensorLoader,
    WarmupPlateau,
    fit_net,
    history_rows,
    progress_bar,
)
from ._modules import ModuleLogitsMixin, build_module, forward_float64
from ._plotting import import_pyplot
from ._torch import (
    check_torch_seed,
    get_device,
    to_numpy,
    to_tensor,
    torch_generator,
    torch_rng,
    torch_threads,
)
from ._validation import check_heads, check_series, validate_series

__all__ = [
    "EMA",
    "EpochProgress",
    "LabelEncodedClassifierMixin",
    "LossNet",
    "PREDICT_CHUNK",
    "ModuleLogitsMixin",
    "StepBudget",
    "TensorLoader",
    "WarmupPlateau",
    "all_estimators",
    "build_module",
    "check_heads",
    "check_series",
    "check_torch_seed",
    "fit_net",
    "forward_float64",
    "get_device",
    "history_rows",
    "import_pyplot",
    "map_row_chunks",
    "progress_bar",
    "to_numpy",
    "to_tensor",
    "torch_generator",
    "torch_rng",
    "torch_threads",
    "validate_series",
]
