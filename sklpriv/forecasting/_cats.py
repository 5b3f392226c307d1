"""CATSForecaster: the cross-attention-only time series transformer as an sktime forecaster."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from sktime.forecasting.base import BaseForecaster

from ..utils import check_heads, import_pyplot

_MAX_EVAL_BATCH = 1024  # windows per forward pass at validation / prediction
_FLOAT32_LIMIT = 1e30  # largest standardised value fed to the (float32) network


class CATSForecaster(BaseForecaster):
    """Cross-attention-only time series transformer (CATS), channel independent.

    Every channel of every series is one univariate input to a shared network: input
    windows of ``seq_len`` points are cut into patches (``patch_len``, ``stride``) and
    embedded; ``ceil(H / patch_len)`` learnable *horizon queries* go through the same
    patch embedding and attend, layer after layer, to the fixed input embeddings only
    (no self-attention, no encoder): residual attention scores, post-LN, GEGLU FFN and
    query-adaptive masking (QAM) of the query updates in training. One shared linear
    layer turns every query into ``patch_len`` forecast points. Each window is
    instance-normalised and de-normalised at the output.

    Parameters
    ----------
    seq_len : int, default=96
        Input (look-back) length.
    patch_len : int, default=24
        Patch length; the horizon is covered by ``ceil(H / patch_len)`` queries.
    stride : int or None, default=None
        Stride of the input patches (``None``: ``patch_len``, non-overlapping).
    d_model : int, default=128
    n_heads : int, default=16
    d_ff : int, default=256
        FFN width before GEGLU (which halves it).
    n_layers : int, default=3
        Cross-attention layers.
    dropout : float, default=0.2
    qam_start : float, default=0.1
        QAM drop probability of the first horizon query.
    qam_end : float or None, default=None
        QAM drop probability of the last horizon query; ``None``: the paper's rule
        0.2/0.3/0.5/0.7 for ``H <= 96/192/336/720`` (and above).
    share_queries : bool, default=False
        One set of horizon queries for all channels (fewer parameters; a model that
        forecasts any number of channels the same way). ``False``: one set per channel,
        as in the paper.
    lr : float, default=1e-3
        Adam learning rate.
    lr_schedule : {"halving", "halving_each_epoch", "constant"}, default="halving"
        ``"halving"``: the reference's ``type2`` schedule, lr halved at epochs 2, 4, 6, 8
        and 10, then constant (made for data sets with hundreds of batches per epoch);
        ``"halving_each_epoch"``: the reference's ``type1``, halved after every epoch (the
        authors' ETTh2 scripts); ``"constant"``: for short series with few batches per
        epoch.
    batch_size : int, default=32
    max_epochs : int, default=30
    patience : int, default=10
        Epochs without improvement of the validation MSE before stopping.
    validation_fraction : float, default=0.2
        Last part of the training series (time-wise, never the future) whose windows are
        the validation set for early stopping; ``0``: no validation, ``max_epochs`` run.
    scale : bool, default=True
        Standardise every column with mean and sd of the training data (the loss then
        weighs channels equally); ``False``: centre the columns and divide them all by
        one common factor, their pooled sd (the loss weighs channels by their variance,
        as in the data's units). Either way the moments are computed in float64 and the
        float32 network sees values of order one, so forecasts of ``c * y`` are ``c``
        times those of ``y`` for any finite ``c * y``; forecasts come back in data units.
    device : str or None, default="cpu"
        Torch device (``"auto"``: CUDA when available; see
        :func:`sklpriv.utils.get_device`).
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (or ``(name, callback)`` pairs) for the training net, e.g.
        ``skorch.callbacks.Checkpoint`` or a TensorBoard/MLflow logger; they run after
        the estimator's own (schedule, early stopping) and see ``net.history``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the shuffling and dropout.
    verbose : int, default=0
        > 0: a progress bar per epoch with train and validation loss.

    Attributes
    ----------
    network_ : CATSNet
        The trained torch module.
    net_ : sklpriv.utils.LossNet
        The skorch net that trained it (early stopping restores the best epoch).
    n_parameters_ : int
        Trainable parameters.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss`` (and ``valid_loss``).
    horizon_ : int
        Largest forecast step the network was trained for.

    Notes
    -----
    The network follows Kim et al. (2024), Sec. 3, and the authors' code. The model is
    global: for a panel (``pd-multiindex``), one network is trained on the windows of
    every series. ``update(y_new, update_params=False)`` only moves the context window
    (one forward pass per cutoff in a rolling evaluation); ``update_params=True``
    fine-tunes for ``max(1, max_epochs // 10)`` epochs on the windows that the new data
    complete.

    References
    ----------
    .. [1] D. Kim, J. Park, J. Lee, H. Kim. "Are Self-Attentions Effective for Time
       Series Forecasting?" NeurIPS 2024.

    Examples
    --------
    >>> import numpy as np
    >>> from sktime.datasets import load_airline
    >>> from sklpriv import CATSForecaster
    >>> y = np.log(load_airline())
    >>> f = CATSForecaster(seq_len=36, patch_len=12, d_model=16, n_heads=2, d_ff=32,
    ...                    max_epochs=5, random_state=0)
    >>> y_pred = f.fit(y[:-12], fh=np.arange(1, 13)).predict()
    >>> y_pred.shape
    (12,)
    """

    _tags = {
        "authors": ["sklpriv developers"],
        "python_dependencies": "torch",
        "y_inner_mtype": ["pd.DataFrame", "pd-multiindex"],
        "X_inner_mtype": ["pd.DataFrame", "pd-multiindex"],
        "scitype:y": "both",
        "capability:multivariate": True,
        "capability:exogenous": False,
        "requires-fh-in-fit": True,
        "capability:missing_values": False,
        "capability:insample": False,
        "capability:pred_int": False,
        "capability:random_state": True,
        "property:randomness": "derandomized",
    }
    _config = {"remember_data": False}

    _parameter_constraints: dict = {
        "seq_len": [Interval(Integral, 1, None, closed="left")],
        "patch_len": [Interval(Integral, 1, None, closed="left")],
        "stride": [Interval(Integral, 1, None, closed="left"), None],
        "d_model": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "d_ff": [Interval(Integral, 2, None, closed="left")],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "qam_start": [Interval(Real, 0, 1, closed="left")],
        "qam_end": [Interval(Real, 0, 1, closed="left"), None],
        "share_queries": ["boolean"],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions({"halving", "halving_each_epoch", "constant"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "scale": ["boolean"],
        "device": [str, None],
        "callbacks": [list, tuple, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        seq_len: int = 96,
        patch_len: int = 24,
        stride: int | None = None,
        d_model: int = 128,
        n_heads: int = 16,
        d_ff: int = 256,
        n_layers: int = 3,
        dropout: float = 0.2,
        qam_start: float = 0.1,
        qam_end: float | None = None,
        share_queries: bool = False,
        lr: float = 1e-3,
        lr_schedule: str = "halving",
        batch_size: int = 32,
        max_epochs: int = 30,
        patience: int = 10,
        validation_fraction: float = 0.2,
        scale: bool = True,
        device: str | None = "cpu",
        callbacks=None,
        random_state=None,
        verbose: int = 0,
    ):
        self.seq_len = seq_len
        self.patch_len = patch_len
        self.stride = stride
        self.d_model = d_model
        self.n_heads = n_heads
        self.d_ff = d_ff
        self.n_layers = n_layers
        self.dropout = dropout
        self.qam_start = qam_start
        self.qam_end = qam_end
        self.share_queries = share_queries
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.scale = scale
        self.device = device
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        super().__init__()
        # sktime's base sets these only when remember_data is on at construction; a user
        # (or sktime's own tests) may switch it on later with set_config
        self._y = self._X = None

    # ---- public entry points: clear errors for bad y first ------------------------------
    # These checks need y as the user passed it: sktime converts it before _fit/_update
    # (a 3-D array becomes a panel of another layout, renamed columns are aligned), so
    # they cannot move there. The index checks (sorted, regular) live in _fit/_update.
    def fit(self, y, X=None, fh=None):
        """Fit the network on every window of ``y``; see ``sktime``'s ``fit``.

        Parameters
        ----------
        y : pd.Series, pd.DataFrame, 2-D np.ndarray or pd-multiindex DataFrame
            Series, multivariate series (every column forecast; an array is
            ``(time, channels)``) or panel.
        X : ignored
        fh : ForecastingHorizon or int or array-like
            Steps to forecast (required in ``fit``: the network's horizon).

        Returns
        -------
        self : CATSForecaster

        Raises
        ------
        ValueError
            For a ``device`` that is not there (before any other work), an array ``y``
            that is not 1-D or 2-D, or a time index that is unsorted or irregular.
        """
        from ..utils import get_device

        get_device(self.device)  # fail fast, before sktime's conversions and any training
        _check_y(y)
        super().fit(y, X=X, fh=fh)
        self._fit_columns = list(y.columns) if isinstance(y, pd.DataFrame) else None
        return self

    def update(self, y, X=None, update_params=True):
        """Add new observations; see ``sktime``'s ``update``.

        Parameters
        ----------
        y : same type and columns as in ``fit``
        X : ignored
        update_params : bool, default=True
            ``False``: only move the context window; ``True``: also fine-tune.

        Returns
        -------
        self : CATSForecaster
        """
        _check_y(y)
        if self.is_fitted:
            self._check_update_columns(y)
        return super().update(y, X=X, update_params=update_params)

    def _check_update_columns(self, y) -> None:
        """ValueError when ``y`` in ``update`` has other columns than ``y`` in ``fit``."""
        fitted = self._fit_columns
        if isinstance(y, pd.DataFrame) and fitted is not None:
            same = list(y.columns) == fitted
            got, expected = f"columns {list(y.columns)}", f"columns {fitted}"
        else:
            n = 1 if isinstance(y, pd.Series) or np.ndim(y) < 2 else np.shape(y)[1]
            same = n == len(self._columns)
            got, expected = f"{n} column(s)", f"{len(self._columns)} column(s)"
        if not same:
            raise ValueError(
                f"y in update has {got}, which differ from the columns seen in fit: "
                f"{expected}. CATSForecaster forecasts the columns it was fitted on: pass "
                "them, with the same names in the same order (or refit)."
            )

    # ---- validation ---------------------------------------------------------------------
    def _check_params(self):
        """Sklearn's parameter validation, plus the rules that tie parameters together."""
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), type(self).__name__
        )
        if self.patch_len > self.seq_len:
            raise ValueError(
                f"patch_len={self.patch_len} is longer than seq_len={self.seq_len}: "
                "lower patch_len or raise seq_len."
            )
        check_heads(self.d_model, self.n_heads)
        if self.d_ff % 2:
            raise ValueError(f"d_ff={self.d_ff} must be even (GEGLU splits it in two).")

    @staticmethod
    def _series(y: pd.DataFrame) -> list[tuple[object, pd.DataFrame]]:
        """(instance key, frame with a time index) per series; key None for one series."""
        if isinstance(y.index, pd.MultiIndex):
            return [(k, g.droplevel(0)) for k, g in y.groupby(level=0, sort=False)]
        return [(None, y)]

    def _values(self, frame: pd.DataFrame) -> np.ndarray:
        """Float32 network input: ``frame`` standardised in float64 with the fit's moments."""
        return self._standardise(_finite_values(frame), "y")

    def _standardise(self, v: np.ndarray, name: str) -> np.ndarray:
        z = (v - self._mean) / self._scale  # float64: no overflow for any finite y
        if not (np.abs(z) <= _FLOAT32_LIMIT).all():
            raise ValueError(
                f"{name} has values more than {_FLOAT32_LIMIT:.0e} training standard "
                "deviations from the training mean: too far out for the float32 network; "
                "check its units against the data seen in fit."
            )
        return z.astype(np.float32)

    def _horizon(self, fh) -> int:
        steps = fh.to_relative(self.cutoff).to_numpy()
        if steps.min() < 1:
            raise ValueError(
                "CATSForecaster forecasts the future only: every step of fh must be after "
                f"the cutoff, got relative steps {steps.tolist()}."
            )
        return int(steps.max())

    # ---- fit ----------------------------------------------------------------------------
    def _fit_scaling(self, y: pd.DataFrame) -> None:
        """Per-column mean and scale (``scale=False``: one scale for all) in float64."""
        mean, sd = _moments(_finite_values(y))
        if not self.scale:  # one common factor keeps the channels' relative weights
            top = sd.max(initial=0.0)
            sd = np.full_like(sd, top * np.sqrt(np.mean((sd / top) ** 2)) if top > 0 else 0.0)
        self._mean, self._scale = mean, np.where(sd > 0, sd, 1.0)

    def _split(self, arrays: list[np.ndarray], width: int):
        """Training parts and validation parts (the last ``validation_fraction``)."""
        L, H = self.seq_len, width - self.seq_len
        train_parts, val_parts = [], []
        for a in arrays:
            n_val = int(round(self.validation_fraction * len(a)))
            if n_val and len(a) - n_val >= width and n_val >= H:
                train_parts.append(a[: len(a) - n_val])
                val_parts.append(a[len(a) - n_val - L :])  # context may reach back
            else:
                train_parts.append(a)
        if self.validation_fraction > 0 and not val_parts:
            warnings.warn(
                "The series are too short for a validation part "
                f"(validation_fraction={self.validation_fraction}); training runs "
                f"max_epochs={self.max_epochs} epochs without early stopping.",
                stacklevel=3,
            )
        return train_parts, val_parts

    def _build_network(self, n_channels: int, horizon: int):
        from ._cats_net import CATSNet, qam_end_for_horizon

        qam_end = qam_end_for_horizon(horizon) if self.qam_end is None else self.qam_end
        return CATSNet(
            n_channels,
            self.seq_len,
            horizon,
            patch_len=self.patch_len,
            stride=self.stride or self.patch_len,
            d_model=self.d_model,
            n_heads=self.n_heads,
            d_ff=self.d_ff,
            n_layers=self.n_layers,
            dropout=self.dropout,
            qam_start=self.qam_start,
            qam_end=max(qam_end, self.qam_start),
            share_queries=self.share_queries,
        )

    def _fit(self, y, X=None, fh=None):
        from ..utils import check_torch_seed, get_device, history_rows, torch_rng

        device = get_device(self.device)
        self._check_params()
        H = self._horizon(fh)
        L = self.seq_len
        self._columns = y.columns
        self._fit_scaling(y)
        arrays = [self._values(f) for _, f in self._series(y)]
        shortest = min(len(a) for a in arrays)
        if shortest < L + H:
            raise ValueError(
                f"y has a series of {shortest} time points, but one training window needs "
                f"seq_len + max(fh) = {L} + {H} = {L + H}: lower seq_len or the horizon, or "
                "give a longer series."
            )
        seed = check_torch_seed(check_random_state(self.random_state))
        train_parts, val_parts = self._split(arrays, L + H)
        train = _windows(train_parts, L + H, device)
        val = _windows(val_parts, L + H, device) if val_parts else None
        with torch_rng(seed):
            net = self._build_network(y.shape[1], H).to(device)
            self.net_ = self._train(net, train, val, seed, device)
        self.history_ = history_rows(self.net_)
        self.network_ = net.cpu().eval()
        self.horizon_ = H
        self.n_parameters_ = int(sum(p.numel() for p in net.parameters() if p.requires_grad))
        self._rng_seed = seed
        self._store_context(y, replace=True)
        return self

    def _objective(self, net, w, y, training):
        """Mean squared error of the horizon given the context, over a batch of windows."""
        L = self.seq_len
        return ((net(w[:, :L]) - w[:, L:]) ** 2).mean()

    def _train(self, net, train, val, seed, device):
        """Adam through skorch, early stopping on the validation windows, the schedule."""
        import torch
        from skorch.callbacks import LRScheduler

        from ..utils import fit_net

        schedule = []
        if self.lr_schedule == "halving":  # the reference's type2: halved at epochs 2,4,...,10
            schedule.append(
                LRScheduler(
                    policy=torch.optim.lr_scheduler.MultiStepLR,
                    milestones=[1, 3, 5, 7, 9],
                    gamma=0.5,
                    step_every="epoch",
                )
            )
        elif self.lr_schedule == "halving_each_epoch":  # the reference's type1
            schedule.append(
                LRScheduler(
                    policy=torch.optim.lr_scheduler.ExponentialLR, gamma=0.5, step_every="epoch"
                )
            )
        return fit_net(
            net,
            self._objective,
            (train, None),
            valid=None if val is None else (val, None),
            lr=self.lr,
            batch_size=self.batch_size,
            max_epochs=self.max_epochs,
            patience=self.patience,
            valid_batch_size=_MAX_EVAL_BATCH,
            callbacks=schedule,
            user_callbacks=self.callbacks,
            generator=torch.Generator().manual_seed(seed),
            device=device,
            verbose=self.verbose,
            desc="CATSForecaster",
        )

    def _store_context(self, y, replace):
        """Keep the last ``seq_len + horizon_`` points of every series (scaled)."""
        keep = self.seq_len + self.horizon_
        ctx = {} if replace else dict(self._context)
        for key, frame in self._series(y):
            vals = self._values(frame)
            if key in ctx:
                vals = np.concatenate([ctx[key][0], vals])
            ctx[key] = (vals[-keep:], frame.index[-1])
        self._context = ctx

    # ---- predict ------------------------------------------------------------------------
    def _forecast_scaled(self, contexts: np.ndarray) -> np.ndarray:
        """Scaled forecasts ``(n, horizon_, C)`` for scaled input windows ``(n, L, C)``."""
        import torch

        self.network_.eval()
        out = []
        with torch.no_grad():
            for i in range(0, len(contexts), _MAX_EVAL_BATCH):
                xb = torch.as_tensor(contexts[i : i + _MAX_EVAL_BATCH])
                out.append(self.network_(xb).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.horizon_, len(self._columns)))

    def predict_windows(self, windows) -> np.ndarray:
        """Forecasts for many context windows at once, in data units.

        The fast path for evaluating every cutoff of a test period: one batched forward
        pass instead of an ``update``/``predict`` per cutoff (same numbers).

        Parameters
        ----------
        windows : array-like of shape (n_windows, seq_len, n_columns)
            The last ``seq_len`` observations before each cutoff, columns as in ``fit``.

        Returns
        -------
        forecasts : ndarray of shape (n_windows, horizon_, n_columns)
            Steps 1..``horizon_`` after each cutoff.
        """
        self.check_is_fitted()
        w = np.asarray(windows, dtype=np.float64)
        expected = (self.seq_len, len(self._columns))
        if w.ndim != 3 or w.shape[1:] != expected:
            raise ValueError(
                f"windows must have shape (n_windows, {expected[0]}, {expected[1]}) "
                f"(seq_len, columns), got {w.shape}."
            )
        if not np.isfinite(w).all():
            raise ValueError("windows contain NaN or inf.")
        scaled = self._standardise(w, "windows")
        return self._forecast_scaled(scaled) * self._scale + self._mean

    def _predict(self, fh, X=None):
        H = self._horizon(fh)
        if H > self.horizon_:
            raise ValueError(
                f"fh reaches {H} steps ahead, but the network was trained for "
                f"{self.horizon_}: refit with the longer fh."
            )
        steps = fh.to_relative(self.cutoff).to_numpy().astype(int)
        keys = list(self._context)
        short = [k for k in keys if len(self._context[k][0]) < self.seq_len]
        if short:
            raise ValueError(f"Series {short} have fewer than seq_len={self.seq_len} points.")
        ctx = np.stack([self._context[k][0][-self.seq_len :] for k in keys])
        pred = self._forecast_scaled(ctx)[:, steps - 1] * self._scale + self._mean
        frames = []
        for k, p in zip(keys, pred, strict=True):
            cutoff = self.cutoff if k is None else pd.Index([self._context[k][1]])
            index = fh.to_absolute_index(cutoff)
            frame = pd.DataFrame(p, index=index, columns=self._columns)
            frames.append(frame)
        if keys == [None]:
            return frames[0]
        out = pd.concat(frames, keys=keys)
        out.index.names = [None, None]
        return out

    # ---- update -------------------------------------------------------------------------
    def _update(self, y, X=None, update_params=True):
        if not update_params:
            self._store_context(y, replace=False)
            return self
        import torch

        from ..utils import fit_net, history_rows, torch_rng

        L, H = self.seq_len, self.horizon_
        parts = []
        for key, frame in self._series(y):
            empty = np.zeros((0, len(self._columns)), dtype=np.float32)
            old = self._context.get(key, (empty, None))[0]
            parts.append(np.concatenate([old, self._values(frame)]))
        self._store_context(y, replace=False)
        parts = [p for p in parts if len(p) >= L + H]
        if not parts:
            return self
        windows = _windows(parts, L + H, torch.device("cpu"))
        self._rng_seed = (self._rng_seed + 1) % (2**31 - 1)
        with torch_rng(self._rng_seed):
            net = fit_net(
                self.network_,
                self._objective,
                (windows, None),
                lr=self.lr * self._final_lr_factor(),
                batch_size=self.batch_size,
                max_epochs=max(1, self.max_epochs // 10),
                user_callbacks=self.callbacks,
                generator=torch.Generator().manual_seed(self._rng_seed),
                device=self.device,
            )
        self.network_ = self.network_.cpu().eval()
        self.history_ = [*self.history_, *({**h, "update": True} for h in history_rows(net))]
        return self

    def _final_lr_factor(self) -> float:
        if self.lr_schedule == "halving":
            return _halve_every_two(self.max_epochs)
        if self.lr_schedule == "halving_each_epoch":  # the last epoch's, as for "halving"
            return 0.5 ** (self.max_epochs - 1)
        return 1.0

    # ---- interpretability ---------------------------------------------------------------
    def cross_attention(self, y=None, layer: int = -1):
        """Cross-attention of every horizon query over the input patches.

        Parameters
        ----------
        y : pd.Series or pd.DataFrame, default=None
            Context whose last ``seq_len`` points are attended to (default: the data
            seen in ``fit``/``update``, first series of a panel).
        layer : int, default=-1
            Decoder layer.

        Returns
        -------
        attention : ndarray of shape (n_channels, n_heads, n_queries, n_patches)
            Softmax weights of query ``m`` over input patch ``n``.
        """
        import torch

        self.check_is_fitted()
        if y is None:
            ctx = next(iter(self._context.values()))[0][-self.seq_len :]
        else:
            frame = y.to_frame() if isinstance(y, pd.Series) else y
            ctx = self._values(frame)[-self.seq_len :]
            if len(ctx) < self.seq_len:
                raise ValueError(f"y needs at least seq_len={self.seq_len} points.")
        net = self.network_
        net.eval()
        net.store_attention = True
        try:
            with torch.no_grad():
                net(torch.as_tensor(ctx[None]))
            return net.attention_[layer][0].numpy()
        finally:
            net.store_attention = False
            net.attention_ = []

    def plot_cross_attention(self, y=None, channel: int = 0, layer: int = -1, ax=None):
        """Heat map of horizon queries (rows) over input patches (columns), mean of heads.

        Returns
        -------
        ax : matplotlib Axes
        """
        plt = import_pyplot()

        attn = self.cross_attention(y, layer=layer)[channel].mean(0)
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.5))
        im = ax.imshow(attn, aspect="auto", cmap="viridis")
        ax.set_xticks(range(attn.shape[1]))
        ax.set_yticks(range(attn.shape[0]))
        ax.set_xlabel("input patch (oldest -> newest; last = padding)")
        ax.set_ylabel("horizon query")
        ax.set_title(f"cross-attention, layer {layer % self.n_layers + 1}")
        ax.figure.colorbar(im, ax=ax)
        return ax

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        """Tiny settings for sktime's conformance tests."""
        base = dict(
            seq_len=6,
            patch_len=3,
            d_model=8,
            n_heads=2,
            d_ff=8,
            n_layers=1,
            batch_size=16,
            max_epochs=2,
            random_state=0,
        )
        return [base, {**base, "share_queries": True, "stride": 2, "scale": False}]


def _check_y(y) -> None:
    """ValueError for a ``y`` that CATSForecaster cannot read as series or panel."""
    if isinstance(y, np.ndarray) and y.ndim not in (1, 2):
        raise ValueError(
            f"y must be a pd.Series, a pd.DataFrame, a 2-D array (time, channels) or a "
            f"pd-multiindex panel (a DataFrame with an (instance, time) MultiIndex); got a "
            f"{y.ndim}-D array of shape {y.shape}. For a panel of equal-length series, "
            "build the MultiIndex DataFrame: sktime.datatypes.convert_to(y, "
            "'pd-multiindex') reads an array as (instance, variable, time)."
        )
    _check_time_index(y)


def _check_time_index(y) -> None:
    """ValueError for a time index that is unsorted or irregular (per series)."""
    if not isinstance(y, pd.Series | pd.DataFrame):
        return  # sktime's own checks report other types
    if isinstance(y.index, pd.MultiIndex):
        levels = list(range(y.index.nlevels - 1))
        groups = [g.index.get_level_values(-1) for _, g in y.groupby(level=levels, sort=False)]
    else:
        groups = [y.index]
    for index in groups:
        if not (index.is_monotonic_increasing and index.is_unique):
            raise ValueError(
                "y's time index must be strictly increasing (sorted, no duplicates): "
                "call y.sort_index() and drop duplicated time points first."
            )
        _check_regular(index)


def _check_regular(index: pd.Index) -> None:
    """ValueError for a DatetimeIndex whose frequency cannot be inferred (gaps)."""
    if not isinstance(index, pd.DatetimeIndex) or index.freq is not None or len(index) < 3:
        return
    if pd.infer_freq(index) is not None:
        return
    steps = index[1:] - index[:-1]
    step = pd.Series(steps).mode()[0]
    first = int(np.argmax(steps != step))
    freq = pd.infer_freq(index[0] + step * np.arange(3))  # the usual step as a frequency
    raise ValueError(
        "y's time index is a DatetimeIndex with gaps or uneven steps (no frequency can "
        f"be inferred; e.g. {index[first]} is followed by {index[first + 1]}), so "
        "forecast time points cannot be computed. Make the index regular (e.g. "
        f"y.asfreq('{freq}') for a step of {step}, then impute the NaN it adds), give it a "
        "frequency (e.g. y.to_period('M') for monthly dates), or reset it to a RangeIndex "
        "(y.reset_index(drop=True))."
    )


def _finite_values(frame: pd.DataFrame) -> np.ndarray:
    v = frame.to_numpy(dtype=np.float64)
    if not np.isfinite(v).all():
        raise ValueError(
            "y contains NaN or inf: CATSForecaster needs complete series; impute them "
            "first (e.g. sktime's Imputer in a TransformedTargetForecaster)."
        )
    return v


def _moments(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations of finite ``v``, free of over/underflow.

    Every column is divided by its largest magnitude before averaging and squaring, so
    the moments of ``c * v`` are ``c`` times those of ``v`` for any ``c`` that keeps ``v``
    finite (e.g. data of order 1e200 or 1e-200, where ``np.std`` overflows to inf or
    underflows to 0).
    """
    top = np.abs(v).max(axis=0)
    top = np.where(top > 0, top, 1.0)
    mean = top * np.mean(v / top, axis=0)
    with np.errstate(over="ignore"):  # reported below
        dev = v - mean
    if not np.isfinite(dev).all():
        raise ValueError(
            f"y's values (largest |y| = {np.abs(v).max():.3g}) are too large to "
            "standardise in float64: their deviations from the mean overflow. Divide y by "
            "a constant (e.g. 1e300) before fitting and multiply the forecasts back."
        )
    spread = np.abs(dev).max(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    return mean, spread * np.std(dev / spread, axis=0)


def _halve_every_two(epoch: int) -> float:
    """The reference's ``type2`` schedule: lr halved at epochs 2, 4, 6, 8, 10."""
    return 0.5 ** min(epoch // 2, 5)


def _windows(parts, width, device):
    """All stride-1 windows of ``width`` points of every part: tensor (n, width, C)."""
    import torch

    wins = [
        torch.as_tensor(p).unfold(0, width, 1).transpose(1, 2) for p in parts if len(p) >= width
    ]
    return torch.cat(wins).to(device)
