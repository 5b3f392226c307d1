"""matplotlib, imported when a picture is asked for (it is the optional ``plot`` extra)."""

from __future__ import annotations


def import_pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to install it.

    Returns
    -------
    pyplot : module

    Examples
    --------
    >>> from sklpriv.utils import import_pyplot
    >>> import_pyplot().__name__
    'matplotlib.pyplot'
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover
        raise ImportError("Plotting needs matplotlib: pip install 'sklpriv[plot]'.") from exc
    return plt
