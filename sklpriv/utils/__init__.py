"""Shared helpers: estimator discovery, torch seeding and tensor conversion."""

from ._discovery import all_estimators
from ._torch import (
    check_torch_seed,
    get_device,
    to_numpy,
    to_tensor,
    torch_generator,
    torch_rng,
    torch_threads,
)
from ._training import WarmupPlateau, train_module
from ._validation import check_series, validate_series

__all__ = [
    "WarmupPlateau",
    "all_estimators",
    "check_series",
    "check_torch_seed",
    "get_device",
    "to_numpy",
    "to_tensor",
    "torch_generator",
    "torch_rng",
    "torch_threads",
    "train_module",
    "validate_series",
]
