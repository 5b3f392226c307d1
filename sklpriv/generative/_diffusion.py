"""DiffusionGenerator: conditional EDM diffusion for table rows and small images, with
fair sampling by attribute switching (Choi, Park, Kim, Lee, Park, AAAI 2024).
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_is_fitted,
    validate_data,
)

from ..utils import EMA, check_torch_seed, fit_net, history_rows, torch_rng
from ._denoisers import MLPDenoiser, UNetDenoiser
from ._edm import (
    EDMDenoiser,
    edm_loss,
    heun_sample,
    karras_sigmas,
    tau_to_sigma,
    training_sigmas,
)
from ._encoding import ConditionEncoder, ImageScaler, TableEncoder
from ._switching import switch_curve
from ._timebridge import _check_n_samples, _sampling_generator

_SCORE_SIGMAS = np.geomspace(0.02, 20.0, 10)  # score()'s fixed grid, whatever p_mean/p_std
_CHUNK = 4096


class DiffusionGenerator(BaseEstimator):
    """Conditional diffusion model (EDM) for table rows and small images.

    ``fit(X, y=None)`` learns ``p(X | y)``: ``X`` is a numeric array or a DataFrame
    (numeric columns standardised to ``sigma_data``, categorical ones one-hot, decoded
    back to the same columns, dtypes and categories) with an MLP denoiser, or images
    ``(n, h, w)`` / ``(n, c, h, w)`` (scaled to [-1, 1]) with a small U-Net; ``y`` is none,
    one label column or several attributes (a 2-D array or DataFrame: one embedding per
    attribute, summed). Training follows EDM (Karras et al. 2022): preconditioning with
    ``sigma_data``, ``ln sigma ~ N(p_mean, p_std^2)``, the ``lambda(sigma)``-weighted
    loss, condition dropout for classifier-free guidance and an EMA of the weights.
    ``sample`` runs Heun's sampler on the rho-7 levels; every choice along a trajectory
    is a noise level, so attribute switching (``switch_to``, ``switch_step``) changes the
    condition at one.

    Parameters
    ----------
    denoiser : {"auto", "mlp", "unet"}, default="auto"
        ``"auto"``: U-Net for images, MLP for tables (``"mlp"`` flattens images).
    numeric_scaling : {"quantile", "standard"}, default="quantile"
        Numeric table columns: normal scores of their training quantiles (TabDDPM's
        choice: heavy tails and spikes, as Adult's capital gains, diffuse well) or
        standardisation; either times ``sigma_data``.
    hidden : tuple of int, default=(256, 256, 256)
        Hidden widths of the MLP denoiser.
    channels : int, default=32
        Full-resolution channels of the U-Net (twice that at half resolution).
    emb_dim : int, default=128
        Width of the noise-level and condition embeddings.
    sigma_data : float, default=0.5
        Standard deviation of the scaled data (tables are standardised to it).
    p_mean, p_std : float, default=-1.2, 1.2
        Log-normal training noise levels (EDM's values).
    sampling_steps : int, default=40
        Heun steps of the sampler (``2 * steps - 1`` network evaluations).
    condition_dropout : float, default=0.1
        Probability that a training row's conditions are replaced by "none".
    lr : float, default=1e-3
        Adam's learning rate.
    batch_size : int, default=128
    max_epochs : int, default=200
    max_steps : int or None, default=None
        Optimiser steps, overriding ``max_epochs`` when given.
    ema_decay : float, default=0.999
        Decay of the EMA of the weights the sampler uses.
    device : str or None, default="cpu"
    callbacks : list of skorch callbacks or None, default=None
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation and training (``sample`` has its own ``random_state``).
    verbose : int, default=0

    Attributes
    ----------
    module_ : EDMDenoiser
        The preconditioned denoiser ``D(x; sigma, y=None, emb=None)``; its ``net`` is the
        raw MLP or U-Net, whose ``condition`` embeds label indices.
    net_ : sklpriv.utils.LossNet
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss``.
    conditions_ : dict
        Condition attribute name -> its values (empty when unconditional).
    n_features_in_ : int
        Columns (tables) or the flattened image size.
    image_shape_ : tuple of int
        Shape of one image (images only).

    Notes
    -----
    Conditioning on a raw embedding instead of labels (ConceptEraser's search, or a
    learned prompt): ``sample(n, y_embedding=e)`` with ``e`` of shape ``(n, emb_dim)`` or
    ``(emb_dim,)``, in the space of ``module_.net.condition(indices, n)``.

    References
    ----------
    .. [1] T. Karras, M. Aittala, T. Aila, S. Laine. "Elucidating the Design Space of
       Diffusion-Based Generative Models." NeurIPS 2022.
    .. [2] Y. Choi, J. Park, H. Kim, J. Lee, S. Park. "Fair Sampling in Diffusion Models
       through Switching Mechanism." AAAI 2024.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklpriv.generative import DiffusionGenerator
    >>> X, y = load_digits(return_X_y=True)
    >>> gen = DiffusionGenerator(numeric_scaling="standard", hidden=(64, 64), max_epochs=2,
    ...                          sampling_steps=8, random_state=0).fit(X, y)
    >>> samples, labels = gen.sample(5, y=3, random_state=0, return_y=True)
    >>> samples.shape, labels.tolist()
    ((5, 64), [3, 3, 3, 3, 3])
    """

    _parameter_constraints: dict = {
        "denoiser": [StrOptions({"auto", "mlp", "unet"})],
        "numeric_scaling": [StrOptions({"quantile", "standard"})],
        "hidden": [tuple, list],
        "channels": [Interval(Integral, 1, None, closed="left")],
        "emb_dim": [Interval(Integral, 2, None, closed="left")],
        "sigma_data": [Interval(Real, 0, None, closed="neither")],
        "p_mean": [Real],
        "p_std": [Interval(Real, 0, None, closed="neither")],
        "sampling_steps": [Interval(Integral, 1, None, closed="left")],
        "condition_dropout": [Interval(Real, 0, 1, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "max_steps": [Interval(Integral, 1, None, closed="left"), None],
        "ema_decay": [Interval(Real, 0, 1, closed="left")],
        "device": [str, None],
        "callbacks": [list, tuple, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        denoiser: str = "auto",
        numeric_scaling: str = "quantile",
        hidden=(256, 256, 256),
        channels: int = 32,
        emb_dim: int = 128,
        sigma_data: float = 0.5,
        p_mean: float = -1.2,
        p_std: float = 1.2,
        sampling_steps: int = 40,
        condition_dropout: float = 0.1,
        lr: float = 1e-3,
        batch_size: int = 128,
        max_epochs: int = 200,
        max_steps: int | None = None,
        ema_decay: float = 0.999,
        device: str | None = "cpu",
        callbacks=None,
        random_state=None,
        verbose: int = 0,
    ):
        self.denoiser = denoiser
        self.numeric_scaling = numeric_scaling
        self.hidden = hidden
        self.channels = channels
        self.emb_dim = emb_dim
        self.sigma_data = sigma_data
        self.p_mean = p_mean
        self.p_std = p_std
        self.sampling_steps = sampling_steps
        self.condition_dropout = condition_dropout
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.max_steps = max_steps
        self.ema_decay = ema_decay
        self.device = device
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    # ---- fit ----------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the (conditional) distribution of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), DataFrame, or images of shape
            (n_samples, h, w) or (n_samples, c, h, w)
        y : array-like of shape (n_samples,) or (n_samples, n_attributes), DataFrame or None
            Condition labels (one attribute or several); ``None``: unconditional.

        Returns
        -------
        self : DiffusionGenerator
        """
        Z = self._fit_encoding(X)
        Y = self._fit_conditions(y, len(Z))
        seed = check_torch_seed(check_random_state(self.random_state))
        with torch_rng(seed):
            self.module_ = EDMDenoiser(self._build_net(Z.shape[1:]), self.sigma_data)
            self._train(torch.as_tensor(Z, dtype=torch.float32), Y, seed)
        self.module_.cpu().eval()
        return self

    def _fit_encoding(self, X) -> np.ndarray:
        """Fit the data encoding; the training data in the model's space."""
        if not isinstance(X, pd.DataFrame) and np.ndim(X) in (3, 4):
            X = np.asarray(X, dtype=np.float64)
            if self.denoiser == "mlp":
                raise ValueError("denoiser='mlp' takes 2-D rows: reshape the images to rows.")
            self.encoder_ = ImageScaler().fit(X)
            self.image_shape_ = self.encoder_.image_shape_
            self.n_features_in_ = int(np.prod(self.image_shape_))
            return self.encoder_.transform(X)
        if self.denoiser == "unet":
            raise ValueError("denoiser='unet' needs images of shape (n, h, w) or (n, c, h, w).")
        X = self._check_rows(X, reset=True)
        if len(X) < 2:
            raise ValueError(f"X has n_samples={len(X)}; a diffusion model needs at least 2.")
        self.encoder_ = TableEncoder(self.sigma_data, self.numeric_scaling).fit(X)
        return self.encoder_.transform(X)

    def _check_rows(self, X, reset: bool):
        """A DataFrame (names and width checked) or a finite 2-D float array."""
        if isinstance(X, pd.DataFrame):
            _check_feature_names(self, X, reset=reset)
            _check_n_features(self, X, reset=reset)
            return X
        return validate_data(self, X, reset=reset, dtype=np.float64)

    def _fit_conditions(self, y, n: int):
        if y is None:
            self.cond_encoder_, self.conditions_ = None, {}
            return None
        y = y if isinstance(y, pd.DataFrame) else np.asarray(y)
        if len(y) != n:
            raise ValueError(f"y has {len(y)} rows but X has {n}.")
        self.cond_encoder_ = ConditionEncoder().fit(y)
        enc = self.cond_encoder_
        self.conditions_ = dict(zip(enc.names_, enc.categories_, strict=True))
        return torch.as_tensor(enc.transform(y, n), dtype=torch.long)

    def _cardinalities(self) -> list[int]:
        return [] if self.cond_encoder_ is None else self.cond_encoder_.cardinalities

    def _build_net(self, shape, cardinalities=None):
        cards = self._cardinalities() if cardinalities is None else cardinalities
        if len(shape) == 3:
            return UNetDenoiser(shape[0], self.channels, cards, self.emb_dim)
        return MLPDenoiser(shape[0], self.hidden, cards, self.emb_dim)

    def _train(self, Z: torch.Tensor, Y, seed: int):
        self._gen = torch.Generator().manual_seed(seed)
        try:
            self.net_ = fit_net(
                self.module_,
                self._objective,
                (Z, Y),
                lr=self.lr,
                batch_size=self.batch_size,
                max_epochs=self._epochs(len(Z)),
                callbacks=[EMA(self.ema_decay)],
                user_callbacks=self.callbacks,
                generator=self._gen,
                device=self.device,
                verbose=self.verbose,
                desc=type(self).__name__,
                max_steps=self.max_steps,
            )
        finally:
            del self._gen
        self.history_ = history_rows(self.net_)

    def _epochs(self, n: int) -> int:
        if self.max_steps is None:
            return self.max_epochs
        return math.ceil(self.max_steps / math.ceil(n / self.batch_size))

    def _objective(self, module, x, y, training):
        """EDM loss of a batch at log-normal noise levels, conditions dropped at random."""
        gen = self._gen
        sigma = training_sigmas(len(x), self.p_mean, self.p_std, gen).to(x)
        noise = torch.randn(x.shape, generator=gen).to(x)
        if y is not None and self.condition_dropout > 0:
            drop = (torch.rand(len(x), generator=gen) < self.condition_dropout).to(y.device)
            y = torch.where(drop[:, None], module.net.condition.null(len(x), y.device), y)
        return edm_loss(module, x, sigma, noise, y).mean()

    # ---- sampling -----------------------------------------------------------------------
    def sample(
        self,
        n_samples: int = 1,
        *,
        y=None,
        random_state=None,
        guidance: float | None = None,
        switch_to=None,
        switch_step: float | None = None,
        return_y: bool = False,
        y_embedding=None,
    ):
        """Generate rows or images, optionally conditioned, guided and switched.

        Parameters
        ----------
        n_samples : int, default=1
        y : condition or None, default=None
            One value (repeated), one row of attributes, or ``n_samples`` of them;
            ``None``: conditions drawn from their joint training frequencies.
        random_state : int, RandomState instance or None, default=None
            Seeds the noise (and the drawn conditions).
        guidance : float or None, default=None
            Classifier-free guidance scale ``w``: ``D_c + w (D_c - D_uncond)``.
        switch_to : condition or None, default=None
            Attribute switching: the condition from ``switch_step`` on (same layout as
            ``y``).
        switch_step : float in [0, 1] or None, default=None
            The switching time ``tau`` as a fraction of the diffusion (1 = pure noise,
            0 = data), mapped onto EDM noise levels through the DDPM cosine schedule,
            ``sigma(tau) = sqrt((1 - abar(tau)) / abar(tau))``: steps at noise above
            ``sigma(tau)`` use ``y``, the rest ``switch_to``. 1 is ``switch_to``
            throughout, 0 ``y`` throughout.
        return_y : bool, default=False
            Also return the final conditions (``switch_to`` where switched).
        y_embedding : array-like of shape (n_samples, emb_dim) or (emb_dim,), optional
            A raw condition embedding used instead of ``y``.

        Returns
        -------
        X : ndarray or DataFrame
            In the data's units and layout.
        y : ndarray or DataFrame
            Only with ``return_y=True``.
        """
        check_is_fitted(self)
        n = _check_n_samples(n_samples)
        gen = _sampling_generator(random_state)
        rng = np.random.default_rng(int(torch.randint(2**31 - 1, (1,), generator=gen)))
        idx0 = self._condition_rows(y, n, rng, "y", y_embedding is not None)
        idx1, sigma_switch = self._switch(switch_to, switch_step, n, idx0)
        emb = self._embedding(y_embedding, n)
        Z = self._generate(n, gen, idx0, idx1, sigma_switch, guidance, emb)
        X = self._decode(Z)
        if not return_y:
            return X
        final = idx0 if idx1 is None else idx1
        return X, (None if final is None else self.cond_encoder_.inverse_transform(final))

    def _condition_rows(self, y, n, rng, name, raw=False):
        """Condition indices ``(n, k)`` for ``y`` (``None``: drawn; unconditional: None)."""
        if self.cond_encoder_ is None:
            if y is not None:
                raise ValueError(f"{name} given, but the model was fit without y.")
            return None
        if y is None:
            return None if raw else self.cond_encoder_.draw(n, rng)
        return self.cond_encoder_.transform(y, n, name)

    def _switch(self, switch_to, switch_step, n, idx0):
        if (switch_to is None) != (switch_step is None):
            raise ValueError("switch_to and switch_step go together: pass both or neither.")
        if switch_to is None:
            return None, None
        if idx0 is None:
            raise ValueError("attribute switching needs a conditional model and y.")
        if not isinstance(switch_step, Real) or not 0 <= switch_step <= 1:
            raise ValueError(f"switch_step must be a float in [0, 1]; got {switch_step!r}.")
        idx1 = self.cond_encoder_.transform(switch_to, n, "switch_to")
        return idx1, tau_to_sigma(float(switch_step))

    def _embedding(self, y_embedding, n):
        if y_embedding is None:
            return None
        e = torch.as_tensor(np.asarray(y_embedding, dtype=np.float32))
        e = e.expand(n, -1) if e.dim() == 1 else e
        if e.shape != (n, self.emb_dim):
            raise ValueError(
                f"y_embedding must have shape ({n}, {self.emb_dim}); got {tuple(e.shape)}."
            )
        return e

    @torch.no_grad()
    def _generate(self, n, gen, idx0, idx1, sigma_switch, guidance, emb=None):
        """Heun trajectories from fresh noise, ``idx0`` above ``sigma_switch``, then
        ``idx1``; the model's space, numpy.
        """
        x_T = torch.randn((n, *self._model_shape()), generator=gen)
        sigmas = karras_sigmas(self.sampling_steps)
        out = []
        for lo in range(0, n, _CHUNK):
            part = slice(lo, lo + _CHUNK)
            c0, c1 = _rows(idx0, part), _rows(idx1, part)
            e = None if emb is None else emb[part]

            def denoise(x, s, i, c0=c0, c1=c1, e=e):
                switched = c1 is not None and sigmas[i].item() <= sigma_switch * (1 + 1e-9)
                return self._guided(x, s, c1 if switched else c0, guidance, e)

            out.append(heun_sample(denoise, x_T[part], sigmas))
        return torch.cat(out).numpy().astype(np.float64)

    def _denoiser_at(self, sigma: float):
        """The denoiser serving noise level ``sigma`` and whether it takes conditions
        (one here; DPDiffusionGenerator's stages swap in their own).
        """
        return self.module_, True

    def _guided(self, x, sigma, y, guidance, emb=None):
        """``D(x; sigma, y)``, with classifier-free guidance when ``guidance`` is set."""
        if guidance and self.cond_encoder_ is None:
            raise ValueError("guidance needs a conditional model (fit with y).")
        module, conditioned = self._denoiser_at(sigma)
        if not conditioned:
            return module(x, sigma)
        cond = module(x, sigma, y=y, emb=emb)
        if not guidance:
            return cond
        return cond + guidance * (cond - module(x, sigma, y=None))

    def _model_shape(self) -> tuple:
        if hasattr(self, "image_shape_"):
            return (1, *self.image_shape_) if len(self.image_shape_) == 2 else self.image_shape_
        return (self.encoder_.n_features_out_,)

    def _decode(self, Z: np.ndarray):
        X = self.encoder_.inverse_transform(Z)
        if isinstance(X, pd.DataFrame):
            return X
        return X.astype(np.float64)

    # ---- attribute switching ------------------------------------------------------------
    def estimate_switch_step(
        self, attribute, s0, s1, n_samples: int = 256, random_state=0
    ) -> tuple[float, dict]:
        """The paper's search for the switching time ``tau`` between two values.

        Two trajectories from the same noise, one conditioned on ``s0``, one on ``s1``
        (the other attributes drawn from their training frequencies, the same for both);
        at each step ``d_i = ln((1 + sigma_i^2) / (1 + sigma_{i+1}^2)) (eps_0 - eps_1)`` with
        ``eps = (x - D(x; sigma)) / sigma``: the paper's
        ``beta_t (eps(x_t^0, t, s0) - eps(x_t^1, t, s1))`` summed over the DDPM steps the
        EDM step spans (``sum beta_t ~ ln(abar_lo / abar_hi)``, ``abar = 1 / (1 +
        sigma^2)``, with ``eps`` held at the step's value); ``tau`` minimises
        ``D(tau) = mean_n || sum_{steps above tau} d_i - sum_{steps below} d_i ||`` over the
        sampler's noise levels.

        Parameters
        ----------
        attribute : str or int
            The condition attribute (name or position).
        s0, s1 : values of ``attribute``
        n_samples : int, default=256
        random_state : int, RandomState instance or None, default=0

        Returns
        -------
        tau : float
            For ``sample(..., switch_step=tau)``.
        curve : dict
            ``tau``, ``sigma`` and ``distance`` of every candidate (see
            :func:`plot_switch_search`).
        """
        check_is_fitted(self)
        j, rows0, rows1, gen = self._switch_pair(attribute, s0, s1, n_samples, random_state)
        x_T = torch.randn((len(rows0), *self._model_shape()), generator=gen)
        sigmas = karras_sigmas(self.sampling_steps)
        steps = [self._directions(x_T, sigmas, rows) for rows in (rows0, rows1)]
        # the sum of DDPM's beta_t over the steps an EDM step spans: -sum ln(1 - beta_t)
        # = ln(abar_lo / abar_hi), abar = 1 / (1 + sigma^2)
        gaps = torch.log((1 + sigmas[:-1] ** 2) / (1 + sigmas[1:] ** 2))
        gaps = gaps.float().reshape(-1, *([1] * x_T.dim()))
        curve = switch_curve(gaps * (steps[0] - steps[1]), sigmas)
        return float(curve["tau"][int(np.argmin(curve["distance"]))]), curve

    def _switch_pair(self, attribute, s0, s1, n_samples, random_state):
        if self.cond_encoder_ is None:
            raise ValueError("attribute switching needs a model fit with conditions y.")
        enc, n = self.cond_encoder_, _check_n_samples(n_samples)
        j = enc.index(attribute)
        gen = _sampling_generator(random_state)
        rng = np.random.default_rng(int(torch.randint(2**31 - 1, (1,), generator=gen)))
        rows0 = enc.draw(n, rng)
        rows1 = rows0.copy()
        rows0[:, j], rows1[:, j] = enc.code(j, s0, "s0"), enc.code(j, s1, "s1")
        return j, rows0, rows1, gen

    @torch.no_grad()
    def _directions(self, x_T, sigmas, rows):
        """Each Heun step's first-order direction ``(x - D) / sigma`` along a trajectory."""
        y = torch.as_tensor(rows, dtype=torch.long)
        out = []
        heun_sample(
            lambda x, s, i: self._guided(x, s, y, None),
            x_T,
            sigmas,
            on_step=lambda i, x, d: out.append(d),
        )
        return torch.stack(out)

    def sample_fair(
        self,
        n_samples: int = 1,
        *,
        sensitive=0,
        target=None,
        switch_step: float | None = None,
        guidance: float | None = None,
        random_state=None,
        return_y: bool = False,
    ):
        """Fair samples by attribute switching: the content no longer depends on the
        final value of the ``sensitive`` attribute.

        Every sample starts conditioned on a value ``s0`` drawn from the training
        frequencies (with the other attributes) and switches at ``switch_step`` to a value
        ``s1`` drawn independently of ``s0``, uniformly or from ``target``; what was
        decided before the switch (the content) is then independent of ``s1``. Flipping
        every sample to "the other value" would only reverse the dependence.

        Parameters
        ----------
        n_samples : int, default=1
        sensitive : str or int, default=0
            The sensitive condition attribute.
        target : dict or array-like or None, default=None
            Distribution of ``s1`` (value -> probability, or probabilities in the order of
            ``conditions_[sensitive]``); ``None``: uniform.
        switch_step : float or None, default=None
            ``None``: :meth:`estimate_switch_step` between the two most frequent values.
        guidance : float or None, default=None
        random_state : int, RandomState instance or None, default=None
        return_y : bool, default=False
            Also return the final conditions (with ``s1``).

        Returns
        -------
        X : ndarray or DataFrame
        y : ndarray or DataFrame
            Only with ``return_y=True``.
        """
        check_is_fitted(self)
        if self.cond_encoder_ is None:
            raise ValueError("sample_fair needs a model fit with conditions y.")
        enc, n = self.cond_encoder_, _check_n_samples(n_samples)
        j = enc.index(sensitive)
        tau = self._fair_tau(j) if switch_step is None else switch_step
        gen = _sampling_generator(random_state)
        rng = np.random.default_rng(int(torch.randint(2**31 - 1, (1,), generator=gen)))
        rows0 = enc.draw(n, rng)
        rows1 = rows0.copy()
        rows1[:, j] = rng.choice(enc.cardinalities[j], size=n, p=self._target_p(j, target))
        Z = self._generate(n, gen, rows0, rows1, tau_to_sigma(float(tau)), guidance)
        X = self._decode(Z)
        return (X, enc.inverse_transform(rows1)) if return_y else X

    def _fair_tau(self, j: int) -> float:
        enc = self.cond_encoder_
        weight = np.zeros(enc.cardinalities[j])
        np.add.at(weight, enc.rows_[:, j], enc.frequencies_)
        if (weight > 0).sum() < 2:
            raise ValueError(f"condition {enc.names_[j]!r} has a single value: nothing to switch.")
        a, b = np.argsort(-weight)[:2]
        cats = enc.categories_[j]
        return self.estimate_switch_step(j, cats[a], cats[b])[0]

    def _target_p(self, j: int, target) -> np.ndarray:
        k = self.cond_encoder_.cardinalities[j]
        if target is None:
            return np.full(k, 1.0 / k)
        if isinstance(target, dict):
            p = np.zeros(k)
            for value, prob in target.items():
                p[self.cond_encoder_.code(j, value, "target")] = prob
        else:
            p = np.asarray(target, dtype=np.float64)
        if p.shape != (k,) or (p < 0).any() or not np.isclose(p.sum(), 1.0):
            raise ValueError(f"target must give {k} probabilities that sum to 1; got {target!r}.")
        return p

    # ---- score --------------------------------------------------------------------------
    @torch.no_grad()
    def score(self, X, y=None) -> float:
        """Negative EDM denoising loss on a fixed grid of noise levels (higher is better).

        The grid (10 levels from 0.02 to 20) and the noise (seed 0) are the same whatever
        ``p_mean``/``p_std``, so :class:`~sklearn.model_selection.GridSearchCV` can
        compare candidates trained with different noise distributions.

        Parameters
        ----------
        X : array-like, DataFrame or images
        y : condition labels or None, default=None
            ``None`` scores the unconditional denoiser (no condition).

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        Z = torch.as_tensor(self._encode(X), dtype=torch.float32)
        Y = None
        if y is not None and self.cond_encoder_ is not None:
            Y = torch.as_tensor(self.cond_encoder_.transform(y, len(Z), "y"), dtype=torch.long)
        gen = torch.Generator().manual_seed(0)
        losses = []
        for s in _SCORE_SIGMAS:
            noise = torch.randn(Z.shape, generator=gen)
            sigma = torch.full((len(Z),), float(s))
            module, conditioned = self._denoiser_at(float(s))
            losses.append(edm_loss(module, Z, sigma, noise, Y if conditioned else None).mean())
        return -float(torch.stack(losses).mean())

    def _encode(self, X) -> np.ndarray:
        if hasattr(self, "image_shape_"):
            return self.encoder_.transform(np.asarray(X, dtype=np.float64))
        return self.encoder_.transform(self._check_rows(X, reset=False))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.target_tags.required = False
        return tags


def _rows(idx, part):
    return None if idx is None else torch.as_tensor(idx[part], dtype=torch.long)
