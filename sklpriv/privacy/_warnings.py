"""Warnings of the privacy module."""


class PrivacyLeakWarning(UserWarning):
    """Issued when a privacy guarantee is weakened, e.g. bounds read from the private data.

    Like diffprivlib's warning of the same name: data-derived bounds are a function of the
    private data that is not accounted for, so the stated epsilon no longer holds. Pass the
    bounds explicitly (from domain knowledge) to silence it.
    """
