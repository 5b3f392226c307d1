"""Privacy accounting, warnings and mechanisms."""

from ._accounting import (
    dp_to_zcdp,
    epsilon_spent,
    gaussian_sigma,
    noise_multiplier_for,
    zcdp_to_dp,
)
from ._warnings import PrivacyLeakWarning

__all__ = [
    "PrivacyLeakWarning",
    "dp_to_zcdp",
    "epsilon_spent",
    "gaussian_sigma",
    "noise_multiplier_for",
    "zcdp_to_dp",
]
