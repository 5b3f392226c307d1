"""BayesNAMRegressor and BayesNAMClassifier: additive models whose explanations carry
their own uncertainty.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from scipy.special import expit, softmax
from scipy.stats import norm
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.preprocessing import QuantileTransformer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils import (
    EMA,
    LabelEncodedClassifierMixin,
    check_torch_seed,
    fit_net,
    history_rows,
    to_numpy,
    to_tensor,
    torch_rng,
)
from ._layers import KNOT_RANGE, FeatureNets
from ._posterior import (
    Member,
    design,
    design_groups,
    gaussian_posterior,
    laplace_posterior,
    trained_theta,
)

_N_REFERENCE = 1000  # training rows kept to centre the shape functions and draw the rug
_CHUNK_ELEMENTS = 2**21  # draws x rows x outputs per block at prediction (16 MiB of f64)
_FORWARD_ELEMENTS = 2**24  # hidden activations per forward pass without knots (128 MiB)
_MAX_LAST_LAYER = 8192  # last-layer posterior: at most this many weights (a P x P matrix)
_MAX_DISCRETE = 10  # features with at most this many distinct values: not quantile-encoded
# |X| and |y| up to this: room in float64 to centre them and for predictions far beyond
_MAX_ABS = float(np.finfo(np.float64).max) * 2.0**-30


def _check_range(A, name):
    """Refuse values so large that centring them or predicting on their scale overflows."""
    big = float(np.max(np.abs(A))) if np.size(A) else 0.0
    if big > _MAX_ABS:
        raise ValueError(
            f"{name} has values up to {big:.3g} in absolute value, beyond what BayesNAM "
            f"standardises safely in float64 ({_MAX_ABS:.3g}): rescale {name}, e.g. divide "
            "it by a power of ten."
        )


def _moments(A):
    """Column means and sds in float64, free of overflow and underflow at any scale."""
    a = np.max(np.abs(A), axis=0)
    a = np.where(a > 0, a, 1.0)
    U = A / a
    return U.mean(0) * a, U.std(0) * a


def _band(draws, level, n_members=1):
    """Posterior mean, ``level`` credible band and sd over the draws (axis 0).

    The band is the normal one, ``mean -/+ z sd`` (see :func:`_draw_mean_var`): each
    member's last-layer posterior is Gaussian, and with tens of draws the empirical 2.5%
    and 97.5% quantiles fall inside the tails they estimate (covering the truth less
    often).
    """
    mean, var = _draw_mean_var(draws, n_members)
    sd = np.sqrt(var)
    z = float(norm.ppf(0.5 + level / 2))
    return mean, mean - z * sd, mean + z * sd, sd


def _draw_mean(e):
    """Mean over the draws (axis 0), added draw by draw.

    Each row's result then depends on nothing but its own values: numpy's pairwise sums
    would group the terms differently for a block of one row.
    """
    total = e[0].copy()
    for d in e[1:]:
        total += d
    return total / len(e)


def _draw_mean_var(e, n_members=1):
    """Mean and variance over the draws (axis 0), each row on its own (see _draw_mean).

    The draws come in ``n_members`` equal blocks, one per member: the variance is the
    members' mean variance plus the variance between their means, the latter with
    ``ddof=1`` (unbiased for the bootstrap variance from a few members).
    """
    blocks = e.reshape(n_members, -1, *e.shape[1:])
    means = np.stack([_draw_mean(b) for b in blocks])
    within = _draw_mean(
        np.stack([_draw_mean((b - m) ** 2) for b, m in zip(blocks, means, strict=True)])
    )
    mean = _draw_mean(means)
    if n_members == 1:
        return mean, within
    return mean, within + _draw_mean((means - mean) ** 2) * n_members / (n_members - 1)


class _BaseBayesNAM(BaseEstimator):
    _parameter_constraints: dict = {
        "hidden_sizes": [tuple, list],
        "activation": [StrOptions({"relu", "exu"})],
        "feature_encoding": [StrOptions({"standard", "quantile"})],
        "prior_sigma": [Interval(Real, 0, None, closed="neither"), None],
        "posterior": [StrOptions({"last-layer", "mean-field"})],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "kl_weight": [Interval(Real, 0, None, closed="left")],
        "feature_dropout": [Interval(Real, 0, 1, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "n_posterior_samples": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "ema_decay": [Interval(Real, 0, 1, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "device": [str, None],
        "callbacks": [list, tuple, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        hidden_sizes=(64, 64, 32),
        activation: str = "relu",
        feature_encoding: str = "standard",
        prior_sigma: float | None = 1.0,
        posterior: str = "last-layer",
        n_estimators: int = 10,
        kl_weight: float = 1.0,
        feature_dropout: float = 0.02,
        dropout: float = 0.0,
        n_posterior_samples: int = 30,
        lr: float = 3e-3,
        ema_decay: float | None = None,
        batch_size: int = 256,
        max_epochs: int = 100,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        patience: int = 10,
        device: str | None = "cpu",
        callbacks=None,
        random_state=None,
        verbose: int = 0,
    ):
        self.hidden_sizes = hidden_sizes
        self.activation = activation
        self.feature_encoding = feature_encoding
        self.prior_sigma = prior_sigma
        self.posterior = posterior
        self.n_estimators = n_estimators
        self.kl_weight = kl_weight
        self.feature_dropout = feature_dropout
        self.dropout = dropout
        self.n_posterior_samples = n_posterior_samples
        self.lr = lr
        self.ema_decay = ema_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    # ---- subclass hooks (the names DPSAT's base uses too) ----------------------------------
    @abstractmethod
    def _encode_y(self, y, reset: bool = True, classes=None) -> torch.Tensor:
        """Validate ``y`` and return the training target tensor (fitting the encoding)."""

    @abstractmethod
    def _n_outputs(self) -> int:
        """Number of additive predictors (one per logit, or one)."""

    @abstractmethod
    def _loss(self, eta, yb) -> torch.Tensor:
        """Mean negative log-likelihood of a batch; ``eta`` of shape (B, n_outputs)."""

    @abstractmethod
    def _extra_params(self) -> list:
        """New trainable parameters beyond the subnetworks and the intercept."""

    # ---- model --------------------------------------------------------------------------
    def _fit_scaling(self, X, n_unique):
        """Fit the quantile encoding and the standardisation; the training inputs (float32).

        Means and scales are computed in float64 on columns divided by their largest
        magnitude, so they neither overflow nor underflow whatever the units of X: X times
        1e30 gives the same inputs as X.
        """
        self.quantile_transformer_, self.quantile_features_ = None, np.zeros(0, dtype=int)
        E = X
        if self.feature_encoding == "quantile":
            cols = [j for j, u in enumerate(n_unique) if u > _MAX_DISCRETE]
            self.quantile_features_ = np.asarray(cols, dtype=int)
            if cols:
                self.quantile_transformer_ = QuantileTransformer(
                    n_quantiles=min(1000, len(X)),
                    output_distribution="normal",
                    subsample=None,
                    random_state=0,
                ).fit(X[:, cols])
                E = X.copy()
                E[:, cols] = self.quantile_transformer_.transform(X[:, cols])
        mean, scale = _moments(E)
        # a two-valued column is scaled by its range (0/1 steps), not its sd: a rare
        # category's sd is tiny (California's 5 ISLAND rows: 0.011), and dividing by it
        # made the input of its rows huge (89) and every Adam step on its weight move
        # their prediction by several units
        two = np.asarray(n_unique) == 2
        scale[two] = np.ptp(E[:, two], axis=0)
        scale = np.where(scale > 0, scale, np.abs(mean))  # a constant: its own magnitude
        self.x_mean_, self.x_scale_ = mean, np.where(scale > 0, scale, 1.0)
        return self._standardise(E).astype(np.float32)

    def _standardise(self, E):
        """``(E - x_mean_) / x_scale_`` in float64, refusing inputs too far out to evaluate."""
        with np.errstate(over="ignore", invalid="ignore"):
            Z = (E - self.x_mean_) / self.x_scale_
        far = ~(np.abs(Z) <= KNOT_RANGE)  # also inf and nan from an overflow
        if far.any():
            j = int(np.flatnonzero(far.any(0))[0])
            raise ValueError(
                f"X has values too far outside the data BayesNAM was fitted on: feature "
                f"{self._feature_names()[j]} up to {np.max(np.abs(E[:, j])):.3g}, more than "
                f"{KNOT_RANGE:.0e} times its training scale ({self.x_scale_[j]:.3g}) from its "
                "training mean. Pass X in the units it was fitted in."
            )
        return Z

    def _encode(self, X):
        """Subnetwork inputs in float64: (quantile-encoded, then) standardised features."""
        X = np.asarray(X, dtype=np.float64)
        if self.quantile_transformer_ is not None:
            X = X.copy()
            cols = self.quantile_features_
            X[:, cols] = self.quantile_transformer_.transform(X[:, cols])
        return self._standardise(X)

    def _eta(self, Z, weights, mask=None):
        """Additive predictor per draw: (S, B, n_out); contributions (S, B, F, n_out)."""
        contrib = self.module_(Z, weights)
        if mask is not None:
            contrib = contrib * mask[None, :, :, None]
        return self.intercept_param_.to(contrib.dtype) + contrib.sum(2), contrib

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the Bayesian additive model by variational inference (ELBO).

        Loss per batch: mean negative log-likelihood + ``kl_weight * KL(q || p) / n``, with
        whole features dropped per sample (feature dropout) during training.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Any units: the features are standardised in float64 (values up to about
            1e299 in magnitude).
        y : array-like of shape (n_samples,)
            Targets (regressor: any units, standardised in float64 like X) or labels.

        Returns
        -------
        self : object
        """
        X, y = validate_data(self, X, y, reset=True, dtype=np.float64)
        _check_range(X, "X")
        rng = check_random_state(self.random_state)
        seed = check_torch_seed(rng)
        n = len(X)
        n_unique = [len(np.unique(X[:, j])) for j in range(X.shape[1])]
        Z = to_tensor(self._fit_scaling(X, n_unique))  # = _encode(X), in float32
        yt = self._encode_y(y)
        ref = rng.choice(n, size=min(n, _N_REFERENCE), replace=False)
        self.X_reference_ = X[np.sort(ref)]
        lin = [j for j, u in enumerate(n_unique) if u <= 2]  # two-valued: one weight
        self._fit_members(Z, yt, lin, rng, seed)
        self.n_iter_ = len(self.history_)
        self._draw_seed = int(rng.randint(2**31 - 1))
        weights, intercepts = self._draws()
        self._intercepts = intercepts.numpy()
        # every draw's subnetworks in exact piecewise-linear form: what prediction and the
        # explanations evaluate (None: too many knots, they run the networks instead)
        self._pwl = self.module_.piecewise_linear(weights)
        self._summarise()
        return self

    def _fit_members(self, Z, yt, lin, rng, seed):
        """Train every member on its rows, then give it its last-layer posterior."""
        members, history = [], []
        for k, (tr, val) in enumerate(self._member_rows(len(Z), rng)):
            centres = self._exu_centres(Z[tr], lin, rng)
            self._fit_module(Z, yt, tr, val, lin, centres, seed + k)
            members.append(self._member(Z[tr], yt[tr]))
            history += [{**row, "member": k} for row in self.history_]
        self.members_ = members
        self.module_, self.intercept_param_ = members[0].module, members[0].intercept
        self.history_ = history

    def _member_rows(self, n, rng):
        """(training rows, validation rows) per member.

        One member: every row but a validation split. Several: bootstrap samples (rows
        drawn with replacement, as in bagging), each validated on its out-of-bag rows.
        """
        if self.n_estimators == 1:
            return [self._split_rows(n, rng)]
        rows = []
        for _ in range(self.n_estimators):
            tr = rng.randint(0, n, size=n)
            oob = np.setdiff1d(np.arange(n), tr) if self.early_stopping else np.zeros(0, int)
            rows.append((tr, oob))
        return rows

    def _member(self, Z, yt):
        """The member just trained, with its last-layer posterior (fitted on rows ``Z``)."""
        module = self.module_.eval()
        member = Member(module, self.intercept_param_, self._trained_noise())
        if self.posterior == "last-layer" and self.prior_sigma is not None:
            n_params = 1 + len(module.linear_features)
            if module.net_features:
                n_params += len(module.net_features) * module.w_mu[len(module.b_mu) - 1].shape[1]
            if n_params * self._n_outputs() > _MAX_LAST_LAYER:
                raise ValueError(
                    f"posterior='last-layer' would need a covariance of {n_params} x "
                    f"{n_params} per output, beyond {_MAX_LAST_LAYER}: use fewer features, a "
                    "smaller last hidden layer or posterior='mean-field'."
                )
            self._last_layer_posterior(member, design(module, Z), yt)
        return member

    def _trained_noise(self):
        """The observation noise sd of the member just trained (standardised units)."""
        return None

    @abstractmethod
    def _last_layer_posterior(self, member, Phi, yt):
        """Set ``member``'s last-layer posterior from its design matrix ``Phi``."""

    def _n_draws(self):
        """Weight draws of the ensemble: ``n_posterior_samples`` rounded up to a multiple of
        the members, so that every member has the same share.
        """
        m = len(self.members_)
        return m * math.ceil(self.n_posterior_samples / m)

    def _split_rows(self, n, rng):
        """Training and validation rows (no validation without early stopping)."""
        idx = rng.permutation(n)
        n_val = int(round(self.validation_fraction * n)) if self.early_stopping else 0
        if n_val < 1 or n - n_val < 2:
            n_val = 0
        return idx[n_val:], idx[:n_val]

    def _exu_centres(self, Z_train, lin, rng):
        """ExU centres at distinct training values of each subnetwork's feature.

        Not at N(0, 1) as in NAM: a heavy-tailed column (capital gain) gets units where
        its values are, and a column with few values gets units at each of them.
        ``None`` for ReLU subnetworks.
        """
        n_features = Z_train.shape[1]
        if not (self.activation == "exu" and self.hidden_sizes and len(lin) < n_features):
            return None
        return np.stack(
            [
                rng.choice(np.unique(Z_train[:, j].numpy()), size=self.hidden_sizes[0])
                for j in range(n_features)
                if j not in lin
            ]
        )

    def _fit_module(self, Z, yt, tr, val, lin, centres, seed):
        """Build the subnetworks and train them on rows ``tr`` (early stopping on ``val``)."""
        with torch_rng(seed):
            holder = self._build_module(Z.shape[1], lin, centres)
            self._n_train = len(tr)
            callbacks = []
            if self.ema_decay is not None:  # the posterior means only; the sds keep theirs
                callbacks.append(EMA(self.ema_decay, exclude=("w_rho", "b_rho")))
            self.net_ = fit_net(
                holder,
                self._objective,
                (Z[tr], yt[tr]),
                valid=(Z[val], yt[val]) if len(val) else None,
                lr=self.lr,
                batch_size=self.batch_size,
                max_epochs=self.max_epochs,
                patience=self.patience,
                callbacks=callbacks,
                user_callbacks=self.callbacks,
                generator=torch.Generator().manual_seed(seed),
                device=self.device,
                verbose=self.verbose,
                desc=type(self).__name__,
            )
        holder.cpu()
        self.history_ = history_rows(self.net_)

    def _build_module(self, n_features, lin, centres):
        """The subnetworks, the intercept and the extra parameters, in one module."""
        self.module_ = FeatureNets(
            n_features,
            tuple(self.hidden_sizes),
            self._n_outputs(),
            self.activation,
            # the last-layer posterior comes after training: the networks train at their
            # means (no weight noise, no KL), a MAP-style fit as the Laplace method has it
            None if self.posterior == "last-layer" else self.prior_sigma,
            self.dropout,
            linear_features=lin,
            exu_centres=centres,
        )
        self.intercept_param_ = torch.nn.Parameter(torch.zeros(self._n_outputs()))
        holder = torch.nn.Module()
        holder.net = self.module_
        holder.extra = torch.nn.ParameterList([self.intercept_param_, *self._extra_params()])
        return holder

    def _objective(self, holder, zb, yb, training):
        """ELBO per row (training: a weight draw, feature dropout) or validation NLL at the
        posterior means.
        """
        if not training:
            eta, _ = self._eta(zb, self.module_.sample_weights(1, mean=True))
            return self._loss(eta[0], yb)
        weights, mask = self.module_.sample_weights(1), None
        if self.feature_dropout > 0:  # whole features dropped per row
            p = self.feature_dropout
            mask = (torch.rand(zb.shape, device=zb.device) > p).float() / (1 - p)
        eta, _ = self._eta(zb, weights, mask)
        return self._loss(eta[0], yb) + self.kl_weight * self.module_.kl() / self._n_train

    @torch.no_grad()
    def _draws(self):
        """Every member's share of the weight draws, concatenated: ``(weights, intercepts)``,
        the weights per layer ``(S, F, ...)`` and the intercepts ``(S, n_out)``.
        """
        gen = torch.Generator().manual_seed(self._draw_seed)
        shares = np.array_split(np.arange(self._n_draws()), len(self.members_))
        parts = [m.draws(len(c), gen) for m, c in zip(self.members_, shares, strict=True)]
        # float64 at prediction: results do not depend on batch composition or row order
        layers = [
            tuple(torch.cat([p[0][i][k] for p in parts]).double() for k in range(len(layer)))
            for i, layer in enumerate(parts[0][0])
        ]
        return layers, torch.cat([p[1] for p in parts]).double()

    def _draw_intercepts(self):
        """The intercept of every draw, (S, n_out)."""
        if len(self._intercepts) == self._n_draws():
            return self._intercepts
        return self._draws()[1].numpy()  # n_posterior_samples changed after fit

    def _width(self):
        return max([1, *self.hidden_sizes])

    def _outputs(self):
        """How to evaluate every draw's subnetworks: ``(fn, rows)``.

        ``fn(Z)`` yields, feature by feature, the raw outputs (S, m, n_out) of every
        posterior draw for a block of at most ``rows`` encoded rows ``Z`` (m, F): from the
        exact piecewise-linear form (a search among the knots and a multiply-add per row,
        each row on its own), or, for a model without one, forward passes in float64.
        """
        S, K = self._n_draws(), self._n_outputs()
        pwl = getattr(self, "_pwl", None)  # None: too many knots, or pickled before them
        if pwl is not None and pwl.knots.shape[0] == S:  # (n_posterior_samples unchanged)

            def from_knots(Z):
                return (pwl(Z[:, j], j) for j in range(Z.shape[1]))

            return from_knots, max(1, _CHUNK_ELEMENTS // (S * K))
        w = self._draws()[0]

        @torch.no_grad()
        def forward(Z):
            out = to_numpy(self.module_(torch.from_numpy(Z), w))
            return (out[:, :, j] for j in range(Z.shape[1]))

        return forward, max(1, _FORWARD_ELEMENTS // (S * self.n_features_in_ * self._width()))

    def _blocks(self, X):
        """``(rows, outputs)`` per block of rows of the validated ``X``: memory bounded."""
        fn, size = self._outputs()
        for i in range(0, len(X), size):
            yield slice(i, i + size), fn(self._encode(X[i : i + size]))

    def _eta_blocks(self, X):
        """Additive predictor of every draw, (S, m, n_out), per block of rows of ``X``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        b = self._draw_intercepts()[:, None, :]
        for rows, outputs in self._blocks(X):
            eta = None
            for f in outputs:  # summed feature by feature: each row's sum is its own
                eta = f + b if eta is None else np.add(eta, f, out=eta)
            yield rows, eta

    def _raw_draws(self, X):
        """Raw per-feature outputs of every draw: (S, n, F, n_out)."""
        out = np.empty((self._n_draws(), len(X), self.n_features_in_, self._n_outputs()))
        for rows, outputs in self._blocks(X):
            for j, f in enumerate(outputs):
                out[:, rows, j] = f
        return out

    def _centres(self):
        """Each draw's mean subnetwork outputs on the reference data: (S, F, n_out)."""
        return self._raw_draws(self.X_reference_).mean(1)

    def _contrib_draws(self, X):
        """Centred per-feature contributions of every posterior draw: (S, n, F, n_out)."""
        return self._raw_draws(X) - self._centres()[:, None]  # centring per draw

    def _summarise(self):
        """Feature importances per draw: I_j = mean_i |f~_j(x_ij)| (reference data)."""
        c = self._contrib_draws(self.X_reference_)
        imp = np.abs(c).mean(1).sum(-1) * self._out_scale()  # (S, F), output units
        self.feature_importances_ = imp.mean(0)
        self.feature_importances_std_ = imp.std(0)
        self.feature_importance_draws_ = imp

    # ---- explanations -------------------------------------------------------------------
    def _feature_names(self):
        if hasattr(self, "feature_names_in_"):
            return [str(f) for f in self.feature_names_in_]
        return [f"x{j}" for j in range(self.n_features_in_)]

    def feature_contributions(self, X, return_std: bool = False):
        """Per-sample, per-feature contributions ``f_j(x_j)`` (centred, posterior mean).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return the posterior standard deviation of each contribution.

        Returns
        -------
        contributions : ndarray of shape (n_samples, n_features) \
                or (n_samples, n_features, n_classes) for a multiclass model
        std : ndarray of the same shape
            Only when ``return_std=True``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        centre, scale = self._centres(), self._out_scale()
        mean = np.empty((len(X), self.n_features_in_, self._n_outputs()))
        std = np.empty_like(mean)
        for rows, outputs in self._blocks(X):
            for j, f in enumerate(outputs):
                m, v = _draw_mean_var((f - centre[:, None, j]) * scale, len(self.members_))
                mean[rows, j], std[rows, j] = m, np.sqrt(v)
        if mean.shape[-1] == 1:
            mean, std = mean[..., 0], std[..., 0]
        return (mean, std) if return_std else mean

    def _out_scale(self):
        return 1.0

    def shape_functions(self, n_points: int = 100, level: float = 0.95) -> pd.DataFrame:
        """Every feature's shape function on a grid, with its credible band.

        A band is the ``level`` (default 95%) posterior credible interval of the
        *centred* shape function ``f_j(t) - mean_i f_j(x_ij)``: the quantiles, over
        ``n_posterior_samples`` draws of the weights, of that curve at each grid point.
        It is not a confidence interval over resampled data (EBM's bagging spread) nor
        a band on the prediction.

        Parameters
        ----------
        n_points : int, default=100
            Grid points per continuous feature (features with at most 10 distinct values,
            such as one-hot columns, use those values).
        level : float, default=0.95
            Credible level.

        Returns
        -------
        shapes : pandas.DataFrame
            Columns ``feature``, ``x``, ``mean``, ``lower``, ``upper``, ``std`` (and
            ``class`` for a multiclass model), one row per feature and grid point.
        """
        check_is_fitted(self)
        names = self._feature_names()
        Xr = self.X_reference_
        grids = []
        for j in range(self.n_features_in_):
            u = np.unique(Xr[:, j])
            grids.append(u if len(u) <= 10 else np.linspace(u[0], u[-1], n_points))
        m = max(len(g) for g in grids)
        G = np.tile(np.median(Xr, axis=0), (m, 1))  # other columns: any valid value
        for j, g in enumerate(grids):
            G[:, j] = np.pad(g, (0, m - len(g)), mode="edge")
        c = self._contrib_draws(G) * self._out_scale()  # (S, m, F, K)
        rows = []
        classes = getattr(self, "classes_", None)
        K = c.shape[-1]
        for j, g in enumerate(grids):
            for k in range(K):
                mean, lower, upper, std = _band(c[:, : len(g), j, k], level, len(self.members_))
                frame = {
                    "feature": names[j],
                    "x": g,
                    "mean": mean,
                    "lower": lower,
                    "upper": upper,
                    "std": std,
                }
                if K > 1:
                    frame["class"] = classes[k]
                rows.append(pd.DataFrame(frame))
        return pd.concat(rows, ignore_index=True)

    def explanation_report(self, level: float = 0.95) -> pd.DataFrame:
        """What a user should look at: where the explanations are not to be trusted.

        Per feature: its importance (mean |contribution|) with its posterior sd, the
        *inconsistency* (mean over the grid of the posterior sd of the shape function),
        the band width where data are dense (weighted by the data), whether the sign of
        the effect is uncertain (the band contains 0 over most of the data while the
        feature matters), and a plain-language note.

        Returns
        -------
        report : pandas.DataFrame
            Sorted by importance.
        """
        check_is_fitted(self)
        shapes = self.shape_functions(level=level)
        names = self._feature_names()
        c = self._contrib_draws(self.X_reference_).sum(-1) * self._out_scale()  # (S, n_ref, F)
        _, lo, hi, _ = _band(c, level, len(self.members_))
        width_dense = (hi - lo).mean(0)  # averaged over data points: dense regions weigh
        zero_in = ((lo <= 0) & (hi >= 0)).mean(0)
        spread = np.abs(c.mean(0)).mean(0)
        rows = []
        top = self.feature_importances_.max() if self.n_features_in_ else 1.0
        for j, name in enumerate(names):
            sd = shapes.loc[shapes.feature == name, "std"].mean()
            imp = self.feature_importances_[j]
            sign_uncertain = bool(zero_in[j] > 0.8 and imp > 0.1 * top)
            wide = bool(width_dense[j] > 2 * max(spread[j], 1e-12) and imp > 0.05 * top)
            note = []
            if wide:
                note.append(
                    "band wide where data are dense: the data do not pin this "
                    "effect down (correlated features or too few samples)"
                )
            if sign_uncertain:
                note.append("sign of the effect uncertain")
            if imp < 0.05 * top and not wide:
                note.append("negligible effect")
            rows.append(
                {
                    "feature": name,
                    "importance": imp,
                    "importance_std": self.feature_importances_std_[j],
                    "inconsistency": sd,
                    "band_width_on_data": width_dense[j],
                    "sign_uncertain": sign_uncertain,
                    "wide_band": wide,
                    "note": "; ".join(note),
                }
            )
        return pd.DataFrame(rows).sort_values("importance", ascending=False, ignore_index=True)

    def plot_shape_functions(self, features=None, ax=None, **kwargs):
        """Shape functions with their 95% credible bands and a data rug.

        Parameters
        ----------
        features : list of int or str, default=None
            Features to draw (default: all).
        ax : matplotlib Axes or array of Axes, default=None
        **kwargs
            Passed to :meth:`ShapeFunctionDisplay.from_estimator`.

        Returns
        -------
        display : ShapeFunctionDisplay
        """
        from ._plot import ShapeFunctionDisplay

        return ShapeFunctionDisplay.from_estimator(self, features=features, ax=ax, **kwargs)

    def plot_importances(self, ax=None):
        """Feature importances with error bars (posterior sd).

        Returns
        -------
        ax : matplotlib Axes
        """
        from ._plot import plot_importances

        return plot_importances(self, ax=ax)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class BayesNAMRegressor(RegressorMixin, _BaseBayesNAM):
    """Bayesian neural additive model for regression: shape functions with credible bands.

    ``f(x) = b + sum_j f_j(x_j)``, each ``f_j`` a small MLP whose weights have a
    Bayesian weights, trained with feature dropout (whole features dropped per sample) and
    a Gaussian likelihood. Two posteriors:

    - ``posterior="last-layer"`` (default): the subnetworks train at their means, then the
      weights of every subnetwork's last layer (with the intercept and the two-valued
      features' weights) get their exact posterior given the features the hidden layers
      compute: Bayesian linear regression, with the prior precision and the noise chosen
      by maximising the evidence (MacKay; sklearn's ``BayesianRidge`` computes the same).
      The additive model is refitted on those features, so the bands and the fit come
      from one posterior.
    - ``posterior="mean-field"``: the BayesNAM paper's mean-field Gaussian posterior on
      every weight (Bayes by Backprop, the ELBO with ``kl_weight``).

    With ``n_estimators > 1`` (default 10) the model is a bagged ensemble of such members,
    each fitted to a bootstrap sample of the rows: the bands then hold both the posterior
    of each member and the spread between members (how differently the features come out
    of a resampled data set), which the posterior of one network does not see. Prediction
    averages over all members' draws.

    Parameters
    ----------
    hidden_sizes : tuple of int, default=(64, 64, 32)
        Hidden layers of every feature subnetwork.
    activation : {"relu", "exu"}, default="relu"
        ``"exu"``: NAM's exp-centred first unit ``clip(exp(w) (x - c), 0, 1)`` with
        log-slopes ``w`` initialised N(4, 0.5) as in NAM; their prior is centred there,
        N(4, prior_sigma^2), the other weights' at 0. The centres ``c`` start at
        distinct training values of the feature (NAM: N(0, 1)), so that steep units sit
        where the data are, also in a heavy tail (a capital-gain column).
    feature_encoding : {"standard", "quantile"}, default="standard"
        Input of each subnetwork. ``"standard"``: the standardised feature.
        ``"quantile"``: features with more than 10 distinct values are first mapped
        through their empirical quantiles to a standard normal (one-hot and other discrete
        columns stay standardised). This gives the subnetworks resolution where data are
        dense, but a point mass (a column that is mostly 0) is pushed to the end of the
        normal and squeezes the other values together, a gap in the training data shrinks
        to nothing in the encoded input and values outside the training range are
        clipped, so the bands *cannot* widen there: keep ``"standard"`` when you want the
        uncertainty to flag sparse regions. Shape functions are reported in the
        feature's own units either way.
    prior_sigma : float or None, default=1.0
        Prior sd of the weights (``posterior="mean-field"``; the last-layer posterior
        chooses its prior precision by the evidence). ``None``: deterministic weights,
        i.e. a plain NAM (a bagged NAM ensemble with ``n_estimators > 1``).
    posterior : {"last-layer", "mean-field"}, default="last-layer"
        See above. The last-layer posterior holds a ``P x P`` covariance per output,
        ``P = 1 + (net features) x hidden_sizes[-1] + (two-valued features)``, and
        refuses ``P`` beyond 8192 (then use ``"mean-field"``). A classifier's is the
        Laplace approximation around the trained last layers (the curvature between
        the logits of a multiclass model left out), not refitted.
    n_estimators : int, default=10
        Members of the bagged ensemble, each trained on a bootstrap sample of the rows
        and early-stopped on its out-of-bag rows. 1: one model on all rows but a
        ``validation_fraction`` split. Fit time grows with it; prediction does not
        (the ``n_posterior_samples`` draws are shared out among the members).
    kl_weight : float, default=1.0
        ELBO (``posterior="mean-field"``): expected log-likelihood minus ``kl_weight *
        KL / n_samples`` (KL summed over all weights, divided by the number of training
        samples; torchbnn's "mean" KL divides by the number of weights instead). Below 1:
        a tempered posterior, narrower bands for a better fit on large data.
    feature_dropout : float, default=0.02
        Probability ``p`` of dropping a whole feature's contribution per sample
        (training). On average a ridge ``p / (1 - p) * sum_j f_j(x)^2`` on every
        feature's contribution, which splits the credit of correlated features; the
        last-layer posterior includes it. (The former default, 0.1, shrinks effects by
        about 10%: the bands then missed the truth.)
    dropout : float, default=0.0
        Dropout on hidden units.
    n_posterior_samples : int, default=30
        Weight draws at prediction and for the explanations, rounded up to a multiple of
        ``n_estimators`` (every member has the same share).
    lr : float, default=3e-3
        Adam learning rate.
    ema_decay : float or None, default=None
        Polyak averaging: an exponential moving average over optimiser steps of the
        weights' posterior means (and of the intercept and noise), with decay
        ``min(ema_decay, (1 + step) / (10 + step))``. The averaged means are the ones
        validated for early stopping, kept and used for prediction. The posterior sds
        are not averaged: they grow through the short training, so an average would lag
        behind and narrow the bands. ``None``: the last iterate. An optimisation
        device, not part of the model. The warm-up term is the smaller one for the
        first ``(10 * ema_decay - 1) / (1 - ema_decay)`` steps (1,790 for 0.995).
    batch_size : int, default=256
    max_epochs : int, default=100
    early_stopping : bool, default=True
        Stop when the loss on a held-out ``validation_fraction`` stops improving.
    validation_fraction : float, default=0.1
        With one member (the members of an ensemble validate on their out-of-bag rows).
    patience : int, default=10
    device : str or None, default="cpu"
        Torch device of the training (``"auto"`` / ``None``: CUDA when available; see
        :func:`sklpriv.utils.get_device`); prediction runs on the CPU in float64.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (or ``(name, callback)`` pairs) for the training net, e.g.
        ``skorch.callbacks.Checkpoint`` or a TensorBoard/MLflow logger; they run after
        the estimator's own (EMA, early stopping) and see ``net.history``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the validation split, the shuffling, the weight draws
        and feature dropout.
    verbose : int, default=0
        > 0: a progress bar with train/validation losses.

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Defined only when X has string feature names.
    members_ : list of Member
        The ensemble's members: ``module`` (the trained subnetworks), ``intercept``,
        ``noise`` and the last-layer posterior ``theta`` (mean) and ``root`` (its
        covariance is ``root @ root.T``), or ``None`` for the mean-field posterior.
    module_ : FeatureNets
        The first member's subnetworks.
    quantile_transformer_ : QuantileTransformer or None
        Fitted on the continuous features when ``feature_encoding="quantile"``.
    noise_std_ : float
        Observation noise sd (data units): the members' root mean square.
    feature_importances_, feature_importances_std_ : ndarray of shape (n_features,)
        Mean ``|centred contribution|`` over the data (units of y): posterior mean and sd.
    history_ : list of dict
        Per epoch of every member: ``member``, ``epoch``, ``train_loss`` (and
        ``valid_loss``).
    net_ : sklpriv.utils.LossNet
        The skorch net that trained the last member (early stopping restores its best
        epoch).
    n_iter_ : int
        Epochs run, summed over the members.

    See Also
    --------
    BayesNAMClassifier : the classifier.

    Notes
    -----
    How far to trust a band (``benchmarks/results/bayesnam_posterior.md``). On additive
    data with a known answer (n = 1000, 5 seeds) the default 95% bands contain the true
    centred shape at 91% of the grid points, with a mean width 1.36 times the 95% spread
    of a 20-member bootstrap NAM ensemble (which itself covers the truth at 82%), and
    shape R^2 0.99. One member with the last-layer posterior covers 78% (the posterior of
    one network does not see how differently its hidden features would come out of
    another sample); the mean-field posterior of the paper, one network, 72% (its sds
    start at 0.0067 and early stopping ends training long before the ELBO converges;
    converged, 1000 epochs with ``kl_weight=0.1``, 94%, but a diabetes R^2 of 0.40). On
    diabetes the defaults' 5-fold R^2 is 0.475 (``RidgeCV``: 0.480; the mean-field
    network: 0.445). The bands are normal bands, ``mean -/+ 1.96 sd`` over the draws,
    with the spread between members counted with ``ddof=1``.

    Large data (``benchmarks/results/bayesnam.md``, 5 splits): on California housing the
    defaults (with ExU units and ``ema_decay=0.995``) reach an RMSE of 0.488 (EBM's main
    effects: 0.486, one NAM 0.493, five NAMs 0.490) at 182 CPU seconds per fit (one
    network: 17), and their bands contain a 5-NAM ensemble's mean shape at 91% of the
    grid points (diabetes and breast cancer: 100%). Without the feature-dropout ridge in
    the posterior they contained it at 78%: latitude and longitude, two strongly
    correlated features, split their effect differently from the NAMs.

    Prediction and the explanations do not run the subnetworks. Each draw of a
    subnetwork is a piecewise-linear function of its one input (its ReLU or ExU units
    switch at a few hundred inputs, the knots); ``fit`` finds the knots and the values and
    slopes there, and predicting is a search among the knots and one multiply-add per row,
    feature and draw, in float64, over blocks of rows of bounded memory, each row's result
    independent of the others. With the defaults, 100,000 rows x 10 features take about
    0.4 s and 60 MiB on two cores (forward passes: 23 s and 520 MiB); figures in
    ``benchmarks/results/bayesnam_predict.md``. X and y are standardised in float64, so
    their units do not matter (X or y times 1e30 gives the same model).

    References
    ----------
    .. [1] H. Kim, J. Park, Y. Choi, S. Lee, J. Lee. "BayesNAM: Leveraging Inconsistency
       for Reliable Explanations." arXiv:2411.06367.
    .. [2] R. Agarwal et al. "Neural Additive Models: Interpretable Machine Learning with
       Neural Nets." NeurIPS 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklpriv import BayesNAMRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(500, 3))
    >>> y = X[:, 0] ** 2 + np.sin(3 * X[:, 1]) + 0.1 * rng.randn(500)
    >>> reg = BayesNAMRegressor(max_epochs=30, random_state=0).fit(X, y)
    >>> mean, std = reg.predict(X[:5], return_std=True)
    >>> shapes = reg.shape_functions()
    >>> sorted(shapes.columns)
    ['feature', 'lower', 'mean', 'std', 'upper', 'x']
    """

    def _encode_y(self, y, reset=True, classes=None):
        # standardised in float64 (any units: y times 1e30 gives the same targets), trained
        # on in float32, and predictions are unscaled in float64
        y = np.asarray(y, dtype=np.float64)
        _check_range(y, "y")
        mean, sd = (float(v[0]) for v in _moments(y[:, None]))
        self.y_mean_ = mean
        self.y_scale_ = sd if sd > 0 else (abs(mean) or 1.0)
        return to_tensor(((y - mean) / self.y_scale_).astype(np.float32))[:, None]

    def _n_outputs(self):
        return 1

    def _extra_params(self):
        self.log_noise_ = torch.nn.Parameter(torch.tensor(math.log(0.5)))
        return [self.log_noise_]

    def _loss(self, eta, yb):
        var = torch.exp(2 * self.log_noise_)
        return 0.5 * (((eta - yb) ** 2) / var + 2 * self.log_noise_ + math.log(2 * math.pi)).mean()

    def _out_scale(self):
        return self.y_scale_

    def _trained_noise(self):
        return float(torch.exp(self.log_noise_.detach()))

    def _last_layer_posterior(self, member, Phi, yt):
        # Gaussian likelihood: the exact posterior, refitted on the member's rows, of the
        # objective the networks trained on (feature dropout: a ridge on contributions)
        p = self.feature_dropout
        theta, root, noise = gaussian_posterior(
            Phi, yt[:, 0].double().numpy(), design_groups(member.module), p / (1 - p)
        )
        member.theta, member.root, member.noise = theta, root, noise
        member.set_mean()

    def _noise(self):
        """The ensemble's observation noise sd (standardised units): the members' rms."""
        return float(np.sqrt(np.mean([m.noise**2 for m in self.members_])))

    @property
    def noise_std_(self) -> float:
        """Learned observation noise sd in the units of ``y`` (the members' rms noise)."""
        check_is_fitted(self)
        return self._noise() * self.y_scale_

    def predict(self, X, return_std: bool = False):
        """Posterior predictive mean (and total predictive sd).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return the predictive sd: the spread of the draws plus the learned noise,
            like ``GaussianProcessRegressor.predict(return_std=True)``. With the defaults
            the spread of the draws is as under-dispersed as the bands (see Notes): on
            diabetes it adds about 8 to a noise sd of 44, so the sd is mostly noise.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,)
        y_std : ndarray of shape (n_samples,)
            Only when ``return_std=True``.
        """
        mean, var = [], []
        for _, eta in self._eta_blocks(X):  # standardised units, unscaled at the end
            m, v = _draw_mean_var(eta[..., 0], len(self.members_))
            mean.append(m)
            var.append(v)
        mean = np.concatenate(mean) * self.y_scale_ + self.y_mean_
        if not return_std:
            return mean
        return mean, np.sqrt(np.concatenate(var) + self._noise() ** 2) * self.y_scale_


class BayesNAMClassifier(ClassifierMixin, LabelEncodedClassifierMixin, _BaseBayesNAM):
    """Bayesian neural additive model for classification (one additive model per logit).

    Binary problems have one additive logit, multiclass ones one per class (softmax).
    Probabilities average over ``n_posterior_samples`` weight draws. Parameters,
    explanations and bands as in :class:`BayesNAMRegressor` (contributions are on the
    logit scale).

    Parameters
    ----------
    hidden_sizes, activation, feature_encoding, prior_sigma, posterior, n_estimators, kl_weight, \
feature_dropout, dropout, n_posterior_samples, lr, ema_decay, batch_size, max_epochs, \
early_stopping, validation_fraction, patience, device, callbacks, random_state, verbose
        As in :class:`BayesNAMRegressor`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    members_ : list of Member
    module_ : FeatureNets
    feature_importances_, feature_importances_std_ : ndarray of shape (n_features,)
    history_ : list of dict
    net_ : sklpriv.utils.LossNet
    n_iter_ : int

    See Also
    --------
    BayesNAMRegressor : the regressor.

    References
    ----------
    .. [1] H. Kim, J. Park, Y. Choi, S. Lee, J. Lee. "BayesNAM: Leveraging Inconsistency
       for Reliable Explanations." arXiv:2411.06367.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklpriv import BayesNAMClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = BayesNAMClassifier(hidden_sizes=(16,), max_epochs=20, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """

    def _torch_logits(self, X: torch.Tensor, random: bool = False) -> torch.Tensor:
        """Logits of an input tensor, differentiable in ``X`` (the hook of the attacks in
        :mod:`sklpriv.robust`): at the posterior means, or one weight draw (``random``).

        The quantile encoding is not differentiable: a ``TypeError`` then.
        """
        check_is_fitted(self)
        if self.quantile_transformer_ is not None:
            raise TypeError(
                "feature_encoding='quantile' has no gradient: attack a model "
                "fitted with feature_encoding='standard'."
            )
        mean = torch.as_tensor(self.x_mean_, dtype=X.dtype)
        Z = ((X - mean) / torch.as_tensor(self.x_scale_, dtype=X.dtype)).float()
        members = self.members_
        if random:  # one draw of one member
            members = [members[int(torch.randint(len(members), ()))]]
        etas = []
        for m in members:
            w, b = m.draws(1) if random else (m.module.sample_weights(1, mean=True), m.intercept)
            etas.append(b.reshape(1, 1, -1) + m.module(Z, w).sum(2))
        eta = torch.stack(etas).mean(0)[0]  # (averaged over the members at their means)
        return torch.cat([torch.zeros_like(eta), eta], 1) if eta.shape[1] == 1 else eta

    def _encode_y(self, y, reset=True, classes=None):
        self._fit_labels(y, classes)
        return torch.as_tensor(self._encode_labels(y), dtype=torch.long)

    def _n_outputs(self):
        return 1 if len(self.classes_) <= 2 else len(self.classes_)

    def _extra_params(self):
        return []

    def _last_layer_posterior(self, member, Phi, yt):
        # the Laplace approximation around the trained last layers (not refitted)
        theta = trained_theta(member.module, member.intercept)
        eta = Phi @ theta.T
        proba = expit(eta) if theta.shape[0] == 1 else softmax(eta, axis=1)
        member.theta, member.root = theta, laplace_posterior(Phi, theta, proba)[0]
        member.set_mean()

    def _loss(self, eta, yb):
        if eta.shape[1] == 1:
            return torch.nn.functional.binary_cross_entropy_with_logits(eta[:, 0], yb.float())
        return torch.nn.functional.cross_entropy(eta, yb)

    def predict_proba(self, X):
        """Class probabilities averaged over posterior draws.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        proba = []
        for _, eta in self._eta_blocks(X):
            if eta.shape[-1] == 1:
                p1 = _draw_mean(expit(eta[..., 0]))
                proba.append(np.stack([1 - p1, p1], axis=1))
            else:
                proba.append(_draw_mean(softmax(eta, axis=-1)))
        proba = np.concatenate(proba)
        if len(self.classes_) == 1:
            proba = np.ones((len(proba), 1))
        return proba
