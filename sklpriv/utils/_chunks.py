"""Row blocks for prediction: memory bounded by a block, not by the number of rows."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

PREDICT_CHUNK = 4096  # rows per block at prediction and sampling time


def map_row_chunks(func: Callable, X, chunk_size: int = PREDICT_CHUNK):
    """``func`` applied to consecutive blocks of rows of ``X``, results concatenated.

    The working memory of a prediction is then that of one block of ``chunk_size`` rows
    (plus the input and the output), whatever the number of rows.

    Parameters
    ----------
    func : callable
        Maps an array or tensor of rows to an array or tensor with one result per row
        (first axis). Its results must be all numpy arrays or all torch tensors.
    X : ndarray or torch.Tensor of shape (n_samples, ...)
    chunk_size : int, default=4096

    Returns
    -------
    out : ndarray or torch.Tensor of shape (n_samples, ...)

    Examples
    --------
    >>> import numpy as np
    >>> from sklpriv.utils import map_row_chunks
    >>> map_row_chunks(lambda b: b.sum(axis=1), np.ones((10, 3)), chunk_size=4).tolist()
    [3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0]
    """
    parts = [func(X[lo : lo + chunk_size]) for lo in range(0, len(X), chunk_size)]
    if isinstance(parts[0], torch.Tensor):
        return torch.cat(parts)
    return np.concatenate(parts)
