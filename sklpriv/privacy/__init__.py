"""Privacy accounting, warnings and mechanisms."""

from ._accounting import dp_to_zcdp, gaussian_sigma, zcdp_to_dp
from ._warnings import PrivacyLeakWarning

__all__ = ["PrivacyLeakWarning", "dp_to_zcdp", "gaussian_sigma", "zcdp_to_dp"]
