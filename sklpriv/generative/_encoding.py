"""Data and condition encodings of the diffusion estimators: table rows (numeric columns
scaled, categorical columns one-hot) and images to the model's space and back, and
condition labels to embedding indices and back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype
from sklearn.preprocessing import QuantileTransformer


def _check_finite(values: np.ndarray, name: str) -> None:
    if not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or infinity: the diffusion model needs finite data.")


class TableEncoder:
    """Numeric columns standardised to ``scale`` (``numeric="standard"``) or mapped to
    normal scores by their training quantiles, times ``scale`` (``"quantile"``, TabDDPM's
    choice for heavy-tailed columns); categorical columns (object, category, bool,
    string) one-hot in ``{-scale, +scale}`` and decoded by argmax.

    Numeric columns come back clipped to their training range; a DataFrame comes back
    with the same columns, dtypes and categories (integer columns rounded), an array as a
    float array.
    """

    def __init__(self, scale: float = 0.5, numeric: str = "standard"):
        self.scale = scale
        self.numeric = numeric

    def fit(self, X):
        self.frame_ = isinstance(X, pd.DataFrame)
        df = X if self.frame_ else pd.DataFrame(np.asarray(X))
        self.columns_, self.dtypes_ = list(df.columns), df.dtypes.to_dict()
        self.numeric_ = [c for c in df.columns if _is_numeric(df[c])]
        self.categories_ = {
            c: pd.Categorical(df[c]).categories for c in df.columns if c not in self.numeric_
        }
        num = df[self.numeric_].to_numpy(dtype=np.float64)
        _check_finite(num, "X")
        for c in self.categories_:
            if df[c].isna().any():
                raise ValueError(f"X column {c!r} has missing values: fill or drop them.")
        self.mean_ = num.mean(0) if len(num) else np.zeros(0)
        std = num.std(0) if len(num) else np.zeros(0)
        self.std_ = np.where(std > 0, std, 1.0)
        self.quantiles_ = None
        if self.numeric == "quantile" and num.shape[1]:
            self.quantiles_ = QuantileTransformer(
                n_quantiles=min(1000, len(num)), output_distribution="normal", random_state=0
            ).fit(num)
        self.min_, self.max_ = num.min(0, initial=np.inf), num.max(0, initial=-np.inf)
        self.n_features_out_ = len(self.numeric_) + sum(len(v) for v in self.categories_.values())
        return self

    def transform(self, X) -> np.ndarray:
        df = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
        if list(df.columns) != self.columns_:
            raise ValueError(
                f"X has columns {list(df.columns)}; the model was fit on {self.columns_}."
            )
        num = df[self.numeric_].to_numpy(dtype=np.float64)
        _check_finite(num, "X")
        blocks = [self._numeric_to_model(num)]
        for c, cats in self.categories_.items():
            codes = pd.Categorical(df[c], categories=cats).codes
            if (codes < 0).any():
                raise ValueError(f"X column {c!r} has values outside its training categories.")
            blocks.append((2.0 * np.eye(len(cats))[codes] - 1.0) * self.scale)
        return np.concatenate(blocks, axis=1)

    def _numeric_to_model(self, num: np.ndarray) -> np.ndarray:
        if self.quantiles_ is not None:
            return self.quantiles_.transform(num) * self.scale
        return (num - self.mean_) / self.std_ * self.scale

    def _numeric_from_model(self, Z: np.ndarray) -> np.ndarray:
        if self.quantiles_ is not None:
            return self.quantiles_.inverse_transform(Z / self.scale)
        return Z / self.scale * self.std_ + self.mean_

    def inverse_transform(self, Z: np.ndarray):
        k = len(self.numeric_)
        num = np.clip(self._numeric_from_model(Z[:, :k]), self.min_, self.max_)
        if not self.frame_:
            return num
        out = {c: num[:, j] for j, c in enumerate(self.numeric_)}
        start = k
        for c, cats in self.categories_.items():
            block = Z[:, start : start + len(cats)]
            out[c] = cats[block.argmax(1)]
            start += len(cats)
        return self._restore(out)

    def _restore(self, out: dict) -> pd.DataFrame:
        df = pd.DataFrame({c: out[c] for c in self.columns_})
        for c in self.numeric_:
            values = df[c].to_numpy(dtype=np.float64)
            if np.issubdtype(np.dtype(self.dtypes_[c]), np.integer):
                values = np.round(values)
            df[c] = values.astype(self.dtypes_[c])
        for c in self.categories_:
            dtype = self.dtypes_[c]
            if isinstance(dtype, pd.CategoricalDtype):
                df[c] = pd.Categorical(df[c], categories=dtype.categories, ordered=dtype.ordered)
            else:
                df[c] = df[c].astype(dtype)
        return df


def _is_numeric(col: pd.Series) -> bool:
    return is_numeric_dtype(col) and not is_bool_dtype(col)


class ImageScaler:
    """Images ``(n, h, w)`` or ``(n, c, h, w)`` from their training range to [-1, 1]."""

    def fit(self, X: np.ndarray):
        _check_finite(X, "X")
        self.ndim_ = X.ndim
        self.image_shape_ = tuple(X.shape[1:])
        self.low_, self.high_ = float(X.min()), float(X.max())
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1:] != self.image_shape_:
            raise ValueError(f"X has images of shape {X.shape[1:]}; expected {self.image_shape_}.")
        _check_finite(X, "X")
        span = (self.high_ - self.low_) or 1.0
        Z = 2.0 * (X - self.low_) / span - 1.0
        return Z[:, None] if X.ndim == 3 else Z

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        span = (self.high_ - self.low_) or 1.0
        X = np.clip((Z + 1.0) / 2.0 * span + self.low_, self.low_, self.high_)
        return X[:, 0] if self.ndim_ == 3 else X


class ConditionEncoder:
    """Condition labels (one attribute: a 1-D ``y``; several: a 2-D array or DataFrame)
    to embedding indices ``(n, n_attributes)`` and back, with their joint training
    frequencies for drawing conditions.
    """

    def fit(self, y):
        self.frame_ = isinstance(y, pd.DataFrame)
        arr = y if self.frame_ else np.asarray(y)
        self.one_d_ = not self.frame_ and arr.ndim == 1
        df = arr if self.frame_ else pd.DataFrame(arr.reshape(len(arr), -1))
        if df.isna().any().any():
            raise ValueError("y has missing values: every row needs its condition.")
        self.names_ = (
            list(df.columns)
            if self.frame_
            else (["y"] if self.one_d_ else [f"y{j}" for j in range(df.shape[1])])
        )
        self.categories_ = [np.asarray(pd.Categorical(df[c]).categories) for c in df.columns]
        self.dtypes_ = df.dtypes.to_list()
        idx = self._codes(df, "y")
        self.rows_, counts = np.unique(idx, axis=0, return_counts=True)
        self.frequencies_ = counts / counts.sum()
        return self

    @property
    def cardinalities(self) -> list[int]:
        return [len(c) for c in self.categories_]

    def index(self, attribute) -> int:
        """Position of an attribute given by name or position."""
        if attribute in self.names_:
            return self.names_.index(attribute)
        if isinstance(attribute, int | np.integer) and 0 <= attribute < len(self.names_):
            return int(attribute)
        raise ValueError(f"unknown condition attribute {attribute!r}; they are {self.names_}.")

    def code(self, attribute: int, value, name: str) -> int:
        cats = self.categories_[attribute]
        hits = np.flatnonzero(cats == value)
        if not hits.size:
            raise ValueError(
                f"{name}={value!r} is not a value of condition {self.names_[attribute]!r}; "
                f"its values are {cats.tolist()}."
            )
        return int(hits[0])

    def transform(self, y, n: int, name: str = "y") -> np.ndarray:
        """Indices ``(n, k)``; a single value (or one row, or a dict name -> value) is
        repeated ``n`` times.
        """
        if isinstance(y, dict):
            missing = set(self.names_) - set(y)
            if missing:
                raise ValueError(f"{name} misses the condition(s) {sorted(missing)}.")
            y = pd.DataFrame([{c: y[c] for c in self.names_}])
        if isinstance(y, pd.DataFrame):
            df = y[self.names_] if set(self.names_) <= set(y.columns) else y
        else:
            arr = np.asarray(y, dtype=object)
            if arr.ndim == 0 or (
                arr.ndim == 1 and len(self.names_) > 1 and len(arr) == len(self.names_)
            ):
                arr = arr.reshape(1, -1)
            df = pd.DataFrame(arr.reshape(len(arr), -1))
        if df.shape[1] != len(self.names_):
            raise ValueError(
                f"{name} has {df.shape[1]} attributes; the model has {len(self.names_)}."
            )
        idx = self._codes(df, name)
        if len(idx) == 1 and n > 1:
            idx = np.repeat(idx, n, axis=0)
        if len(idx) != n:
            raise ValueError(f"{name} has {len(idx)} rows for n_samples={n}.")
        return idx

    def _codes(self, df: pd.DataFrame, name: str) -> np.ndarray:
        out = np.empty(df.shape, dtype=np.int64)
        for j in range(df.shape[1]):
            lookup = {v: i for i, v in enumerate(self.categories_[j].tolist())}
            for i, v in enumerate(df.iloc[:, j].tolist()):
                out[i, j] = lookup[v] if v in lookup else self.code(j, v, name)
        return out

    def inverse_transform(self, idx: np.ndarray):
        cols = [self.categories_[j][idx[:, j]] for j in range(idx.shape[1])]
        if self.one_d_:
            return cols[0]
        if self.frame_:
            df = pd.DataFrame(dict(zip(self.names_, cols, strict=True)))
            return df.astype(dict(zip(self.names_, self.dtypes_, strict=True)))
        return np.column_stack(cols)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` condition rows from their joint training frequencies."""
        return self.rows_[rng.choice(len(self.rows_), size=n, p=self.frequencies_)]


class BoundsScaler:
    """Rows or images from public ``bounds`` to [-1, 1] (no statistic of the data: the
    differentially private generators' scaling); values outside are clipped.
    """

    def __init__(self, bounds):
        self.bounds = (float(bounds[0]), float(bounds[1]))

    def fit(self, X: np.ndarray):
        self.image_shape_ = tuple(X.shape[1:])
        self.n_features_out_ = int(np.prod(self.image_shape_))
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1:] != self.image_shape_:
            raise ValueError(f"X has shape {X.shape[1:]} per sample; expected {self.image_shape_}.")
        _check_finite(X, "X")
        lo, hi = self.bounds
        Z = 2.0 * (np.clip(X, lo, hi) - lo) / (hi - lo) - 1.0
        return Z[:, None] if X.ndim == 3 else Z

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        lo, hi = self.bounds
        X = np.clip((Z + 1.0) / 2.0 * (hi - lo) + lo, lo, hi)
        return X[:, 0] if len(self.image_shape_) == 2 else X
