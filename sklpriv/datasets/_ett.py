"""Loader for ETT-format CSV files (a date column, then one column per channel)."""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd


def load_ett(path: str | PathLike) -> pd.DataFrame:
    r"""Read an ETT-format CSV (ETTh1, ETTh2, ETTm1, ...) from a path; nothing downloads.

    Parameters
    ----------
    path : str or path-like
        CSV whose first column is a timestamp and whose other columns are the channels.

    Returns
    -------
    y : pandas.DataFrame
        Float channels indexed by a ``DatetimeIndex`` (with its frequency when regular).

    Raises
    ------
    ValueError
        When the timestamps are not strictly increasing or a channel is not numeric.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklpriv.datasets import load_ett
    >>> text = "date,HUFL,OT\n2016-07-01 00:00:00,5.8,30.5\n2016-07-01 01:00:00,5.7,27.8\n"
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "tiny.csv")
    ...     _ = open(p, "w").write(text)
    ...     y = load_ett(p)
    >>> y.shape, str(y.index.freq)
    ((2, 2), '<Hour>')
    """
    df = pd.read_csv(path)
    index = pd.DatetimeIndex(pd.to_datetime(df.iloc[:, 0]), name=df.columns[0])
    y = df.iloc[:, 1:].set_axis(index)
    bad = [c for c in y.columns if not pd.api.types.is_numeric_dtype(y[c])]
    if bad:
        raise ValueError(f"Columns {bad} of {path} are not numeric: not an ETT-format file.")
    if not (index.is_monotonic_increasing and index.is_unique):
        raise ValueError(f"The timestamps of {path} are not strictly increasing.")
    y = y.astype(np.float64)
    freq = pd.infer_freq(index) if len(index) >= 3 else None
    if freq is None and len(index) == 2:
        freq = pd.tseries.frequencies.to_offset(index[1] - index[0])
    if freq is not None:
        y = y.asfreq(freq)
    return y


def ett_borders(y: pd.DataFrame, seq_len: int) -> dict[str, slice]:
    """The standard ETT split: 12/4/4 months of 30 days (train/validation/test).

    Validation and test slices start ``seq_len`` points earlier so that their first
    window has a full context (the protocol of Zhou et al. 2021 and every paper since).

    Parameters
    ----------
    y : pandas.DataFrame
        Output of :func:`load_ett`.
    seq_len : int
        Input length.

    Returns
    -------
    borders : dict of slice
        Row slices ``"train"``, ``"val"``, ``"test"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklpriv.datasets import ett_borders
    >>> index = pd.date_range("2016-07-01", periods=17420, freq="h")
    >>> y = pd.DataFrame({"a": range(17420)}, index=index)
    >>> ett_borders(y, 96)["test"]
    slice(11424, 14400, None)
    """
    step = (y.index[1] - y.index[0]) / pd.Timedelta(hours=1)
    month = int(round(30 * 24 / step))
    a, b, c = 12 * month, 16 * month, 20 * month
    if len(y) < c:
        raise ValueError(f"An ETT split needs 20 months ({c} rows); the file has {len(y)}.")
    return {"train": slice(0, a), "val": slice(a - seq_len, b), "test": slice(b - seq_len, c)}
