"""Privacy accounting, warnings, secure noise seeding and mechanisms."""

from ._accounting import (
    ACCOUNTANTS,
    check_accountant,
    check_delta,
    dp_to_zcdp,
    epsilon_spent,
    gaussian_sigma,
    noise_multiplier_for,
    zcdp_to_dp,
)
from ._audit import epsilon_lower_bound, membership_inference, membership_scores
from ._ledger import PrivacyLedger
from ._random import noise_rng, noise_seed, noise_seeds, noise_torch_generator
from ._warnings import PrivacyLeakWarning

__all__ = [
    "ACCOUNTANTS",
    "PrivacyLeakWarning",
    "PrivacyLedger",
    "check_accountant",
    "check_delta",
    "dp_to_zcdp",
    "epsilon_lower_bound",
    "epsilon_spent",
    "gaussian_sigma",
    "membership_inference",
    "membership_scores",
    "noise_multiplier_for",
    "noise_rng",
    "noise_seed",
    "noise_seeds",
    "noise_torch_generator",
    "zcdp_to_dp",
]
