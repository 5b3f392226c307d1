"""DPDiffusionGenerator: DP diffusion whose coarse and cleaning stages learn from public
synthetic images (DP-SynGen: Choi, Park, Byun, Lee, arXiv 2412.09842; DPDM: Dockhorn et
al. 2023).
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from opacus.accountants import create_accountant
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data
from torch.func import functional_call, grad, vmap

from ..privacy import (
    PrivacyLeakWarning,
    check_accountant,
    check_delta,
    epsilon_spent,
    noise_multiplier_for,
    noise_seeds,
    noise_torch_generator,
)
from ..utils import EMA, fit_net, get_device, progress_bar, torch_rng
from ._diffusion import DiffusionGenerator
from ._edm import EDMDenoiser, edm_loss
from ._encoding import BoundsScaler, ConditionEncoder

_STAGES = ("coarse", "cleaning")
_STAGE_SIGMAS = (math.exp(-3), math.exp(2))  # DP-SynGen's cleaning / coarse thresholds
_SIGMA_DATA = math.sqrt(1 / 3)  # DPDM's, for data in [-1, 1]
_SYNTHETIC_LR = 1e-3  # the synthetic stages train without DP noise: a non-private rate
_CHUNK = 64  # examples per per-sample-gradient pass


def _cdf(sigma: float, mean: float, std: float) -> float:
    """``P(sigma' <= sigma)`` for ``ln sigma' ~ N(mean, std^2)``."""
    if sigma <= 0:
        return 0.0
    if math.isinf(sigma):
        return 1.0
    return float(torch.special.ndtr(torch.tensor((math.log(sigma) - mean) / std)))


class DPDiffusionGenerator(DiffusionGenerator):
    """Differentially private conditional diffusion with synthetic-data stages.

    The sampler's noise levels split into three stages at ``stage_sigmas = (lo, hi)``:
    coarse (``sigma > hi``), context, and cleaning (``sigma < lo``). The stages named in
    ``synthetic_stages`` are served by a denoiser trained, without privacy, on public
    synthetic images (``synthetic_data``: dead leaves by default, see
    :func:`sklpriv.datasets.make_dead_leaves`); the private denoiser learns only the
    remaining noise levels, so the whole budget goes there. ``synthetic_stages=()`` is
    DPDM: one private denoiser for every level.

    The private denoiser trains with DP-SGD on Poisson batches (expected size
    ``batch_size``): each example's gradient is the mean over ``noise_multiplicity`` noise
    draws (DPDM's noise multiplicity, free of privacy cost), clipped to ``max_grad_norm``;
    the sum gets Gaussian noise ``N(0, (noise_multiplier max_grad_norm)^2)``; Adam steps;
    opacus' accountant counts one step per batch. Noise levels of the private stage come
    from the log-normal ``N(p_mean, p_std^2)`` truncated to the stage (DP-SynGen does not
    release this code: truncation is our reading). Privacy rules: data are scaled from the
    public ``bounds``, never from their own range; the label set is the public
    ``classes``; ``sample`` without ``y`` draws conditions uniformly over them;
    ``history_`` holds only released figures (epsilon, steps).

    Parameters
    ----------
    epsilon : float, default=10.0
        Target budget (``inf``: no noise; clipping only).
    delta : float, default=1e-5
    max_grad_norm : float, default=1.0
    noise_multiplier : float or None, default=None
        ``None``: the smallest one meeting ``epsilon`` (opacus' search).
    accountant : {"rdp", "prv"}, default="rdp"
    noise_multiplicity : int, default=8
    synthetic_stages : tuple of {"coarse", "cleaning"}, default=("cleaning",)
    stage_sigmas : tuple of float, default=(exp(-3), exp(2))
        The paper's thresholds between cleaning / context / coarse.
    synthetic_data : "dead_leaves" or ndarray, default="dead_leaves"
        Public training data of the synthetic stages (an array: in ``bounds``, the shape
        of ``X``).
    synthetic_steps : int, default=2000
        Adam steps of the synthetic denoiser.
    classes : array-like or None, default=None
        The public label set (``None`` with ``y``: read from ``y``, with a
        PrivacyLeakWarning).
    bounds : tuple (low, high) or None, default=(0, 1)
        Public range of the data (``None``: read from ``X``, with a PrivacyLeakWarning).
    hidden : tuple of int, default=(128, 128)
        A smaller MLP than :class:`DiffusionGenerator`'s: fewer weights carry less noise.
    denoiser, channels, emb_dim, p_mean, p_std, sampling_steps, condition_dropout
        As in :class:`DiffusionGenerator`.
    sigma_data : float, default=sqrt(1/3)
        DPDM's value for data in [-1, 1].
    lr : float, default=1e-3
    batch_size : int, default=512
        Expected Poisson batch size (private stage) and batch size (synthetic stage).
    max_epochs : int, default=100
        The paper trains MNIST for 200 epochs of batches of 4096 with Adam 3e-4; the
        defaults here are that recipe scaled to a few thousand rows on a CPU, where they
        reach a useful model at epsilon 1 (benchmarks/results/dpsyngen.md).
    ema_decay : float, default=0.999
    device : str or None, default="cpu"
    random_state : int, RandomState instance or None, default=None
        ``None``: the DP noise and the Poisson sampling are seeded from the OS.
    verbose : int, default=0

    Attributes
    ----------
    epsilon_, delta_, noise_multiplier_, sample_rate_ : float
    n_steps_ : int
        Accounted private steps (one per Poisson batch).
    accountant_ : opacus accountant
    stage_sigmas_ : tuple of float
    module_ : EDMDenoiser
        The private (conditional) denoiser.
    synthetic_module_ : EDMDenoiser or None
        The synthetic stages' (unconditional) denoiser.
    history_ : list of dict
        Per epoch: ``epoch``, ``epsilon``, ``n_steps``.
    conditions_ : dict

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklpriv.generative import DPDiffusionGenerator
    >>> X, y = load_digits(return_X_y=True)
    >>> gen = DPDiffusionGenerator(epsilon=10.0, bounds=(0, 16), classes=range(10),
    ...                            hidden=(32,), max_epochs=1, synthetic_steps=20,
    ...                            noise_multiplicity=2, sampling_steps=6, random_state=0)
    >>> gen.fit(X, y).epsilon_ <= 10.0
    True
    >>> gen.sample(3, y=7, random_state=0).shape
    (3, 64)
    """

    _parameter_constraints: dict = {
        k: v
        for k, v in DiffusionGenerator._parameter_constraints.items()
        if k not in ("numeric_scaling", "max_steps", "callbacks")
    } | {
        "epsilon": [Interval(Real, 0, None, closed="right")],
        "delta": [Interval(Real, 0, 1, closed="neither")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither")],
        "noise_multiplier": [Interval(Real, 0, None, closed="left"), None],
        "accountant": [StrOptions({"rdp", "prv", "gdp"})],
        "noise_multiplicity": [Interval(Integral, 1, None, closed="left")],
        "synthetic_stages": [tuple, list],
        "stage_sigmas": [tuple, list],
        "synthetic_data": [StrOptions({"dead_leaves"}), np.ndarray],
        "synthetic_steps": [Interval(Integral, 1, None, closed="left")],
        "classes": ["array-like", None],
        "bounds": [tuple, list, None],
    }

    def __init__(
        self,
        *,
        epsilon: float = 10.0,
        delta: float = 1e-5,
        max_grad_norm: float = 1.0,
        noise_multiplier: float | None = None,
        accountant: str = "rdp",
        noise_multiplicity: int = 8,
        synthetic_stages=("cleaning",),
        stage_sigmas=_STAGE_SIGMAS,
        synthetic_data="dead_leaves",
        synthetic_steps: int = 2000,
        classes=None,
        bounds=(0.0, 1.0),
        denoiser: str = "auto",
        hidden=(128, 128),
        channels: int = 32,
        emb_dim: int = 128,
        sigma_data: float = _SIGMA_DATA,
        p_mean: float = -1.2,
        p_std: float = 1.2,
        sampling_steps: int = 40,
        condition_dropout: float = 0.1,
        lr: float = 1e-3,
        batch_size: int = 512,
        max_epochs: int = 100,
        ema_decay: float = 0.999,
        device: str | None = "cpu",
        random_state=None,
        verbose: int = 0,
    ):
        self.epsilon = epsilon
        self.delta = delta
        self.max_grad_norm = max_grad_norm
        self.noise_multiplier = noise_multiplier
        self.accountant = accountant
        self.noise_multiplicity = noise_multiplicity
        self.synthetic_stages = synthetic_stages
        self.stage_sigmas = stage_sigmas
        self.synthetic_data = synthetic_data
        self.synthetic_steps = synthetic_steps
        self.classes = classes
        self.bounds = bounds
        self.denoiser = denoiser
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
        self.ema_decay = ema_decay
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ---- fit: the recipe ----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the synthetic stages on public data, the private stage with DP-SGD.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or images (n, h, w) / (n, c, h, w)
            Private data, in ``bounds``.
        y : array-like of shape (n_samples,) or None
            Private labels, in ``classes``.

        Returns
        -------
        self : DPDiffusionGenerator
        """
        X = self._check_private_X(X)
        stages, (lo, hi) = self._check_stages()
        budget = self._calibrate(len(X))  # may raise: nothing is fitted before it
        Z = self._fit_private_encoding(X)
        Y = self._private_labels(y, len(X))
        init_seed, sampling_seed, noise_seed, synthetic_seed = noise_seeds(self.random_state, 0, 4)
        self.stage_sigmas_, self.synthetic_stages_ = (lo, hi), stages
        self.sample_rate_, self.delta_, self.noise_multiplier_ = budget
        self.synthetic_module_ = self._fit_synthetic(Z.shape[1:], synthetic_seed)
        with torch_rng(init_seed):
            self.module_ = EDMDenoiser(self._build_net(Z.shape[1:]), self.sigma_data)
        self._fit_private(torch.as_tensor(Z, dtype=torch.float32), Y, sampling_seed, noise_seed)
        return self

    # ---- checks and calibration ---------------------------------------------------------
    def _check_private_X(self, X) -> np.ndarray:
        if np.ndim(X) in (3, 4):
            X = np.asarray(X, dtype=np.float64)
            if not np.isfinite(X).all():
                raise ValueError("X contains NaN or infinity: the model needs finite data.")
            self.n_features_in_ = int(np.prod(X.shape[1:]))
        else:  # rows: numeric arrays or DataFrames, sklearn's checks and messages
            X = validate_data(self, X, dtype=np.float64)
        if len(X) < 2:
            raise ValueError(f"X has {len(X)} sample(s); a diffusion model needs at least 2.")
        if self.bounds is None:
            warnings.warn(
                "bounds=None: the data's range is read from the private X, which leaks it; "
                "pass the public bounds of the data space (e.g. (0, 16) for digits).",
                PrivacyLeakWarning,
                stacklevel=3,
            )
        lo, hi = (X.min(), X.max()) if self.bounds is None else self.bounds
        if not hi > lo:
            raise ValueError(f"bounds must be (low, high) with low < high; got {self.bounds!r}.")
        self.bounds_ = (float(lo), float(hi))
        return X

    def _check_stages(self):
        stages = tuple(self.synthetic_stages)
        if not set(stages) <= set(_STAGES):
            raise ValueError(f"synthetic_stages must be drawn from {_STAGES}; got {stages!r}.")
        if len(self.stage_sigmas) != 2 or not 0 < self.stage_sigmas[0] < self.stage_sigmas[1]:
            raise ValueError(
                f"stage_sigmas must be (low, high), 0 < low < high; got {self.stage_sigmas!r}."
            )
        return stages, (float(self.stage_sigmas[0]), float(self.stage_sigmas[1]))

    def _calibrate(self, n: int):
        """``(sample_rate, delta, noise_multiplier)``; ValueError when unreachable."""
        check_accountant(self.accountant)
        q = 1.0 / math.ceil(n / self.batch_size)  # as opacus' DPDataLoader
        delta = check_delta(self.delta, n)
        if self.noise_multiplier is not None:
            return q, delta, float(self.noise_multiplier)
        if math.isinf(self.epsilon):
            return q, delta, 0.0
        try:
            sigma = noise_multiplier_for(
                float(self.epsilon), delta, q, self.max_epochs, self.accountant
            )
        except ValueError as exc:
            raise ValueError(
                f"epsilon={self.epsilon} cannot be met with delta={delta:.3g}, batch_size="
                f"{self.batch_size}, max_epochs={self.max_epochs} on {n} samples ({exc}): raise "
                "epsilon, or lower max_epochs or batch_size."
            ) from exc
        return q, delta, sigma

    def _fit_private_encoding(self, X) -> np.ndarray:
        if X.ndim == 2 and self.denoiser == "unet":
            raise ValueError("denoiser='unet' needs images of shape (n, h, w) or (n, c, h, w).")
        if X.ndim > 2 and self.denoiser == "mlp":
            raise ValueError("denoiser='mlp' takes 2-D rows: reshape the images to rows.")
        self.encoder_ = BoundsScaler(self.bounds_).fit(X)
        if X.ndim > 2:
            self.image_shape_ = tuple(X.shape[1:])
        return self.encoder_.transform(X)

    def _private_labels(self, y, n: int):
        """Label indices; the label set is the public ``classes``, never read silently."""
        if y is None:
            self.cond_encoder_, self.conditions_ = None, {}
            return None
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != n:
            raise ValueError(f"y must be one label per row of X ({n}); got shape {y.shape}.")
        classes = self.classes
        if classes is None:
            warnings.warn(
                "classes=None: the label set is read from the private y, which leaks it; "
                "pass the public label set as classes.",
                PrivacyLeakWarning,
                stacklevel=3,
            )
            classes = np.unique(y)
        self.cond_encoder_ = ConditionEncoder().fit(np.asarray(list(classes)))  # uniform
        self.conditions_ = {"y": self.cond_encoder_.categories_[0]}
        return torch.as_tensor(self.cond_encoder_.transform(y, n), dtype=torch.long)

    # ---- stages -------------------------------------------------------------------------
    def _private_range(self):
        lo, hi = self.stage_sigmas_
        stages = self.synthetic_stages_
        return (lo if "cleaning" in stages else 0.0, hi if "coarse" in stages else math.inf)

    def _synthetic_ranges(self):
        lo, hi = self.stage_sigmas_
        ranges = [(0.0, lo)] if "cleaning" in self.synthetic_stages_ else []
        return ranges + ([(hi, math.inf)] if "coarse" in self.synthetic_stages_ else [])

    def _denoiser_at(self, sigma: float):
        lo, hi = self.stage_sigmas_
        stage = "coarse" if sigma > hi else "cleaning" if sigma < lo else "context"
        if stage in self.synthetic_stages_:
            return self.synthetic_module_, False
        return self.module_, True

    def _sigmas(self, n: int, ranges, gen) -> torch.Tensor:
        """EDM's log-normal noise levels truncated to the union of ``ranges``."""
        cdf = [
            (_cdf(a, self.p_mean, self.p_std), _cdf(b, self.p_mean, self.p_std)) for a, b in ranges
        ]
        bounds = torch.tensor(cdf, dtype=torch.float64)
        pick = torch.multinomial(bounds[:, 1] - bounds[:, 0], n, replacement=True, generator=gen)
        u = torch.rand(n, generator=gen, dtype=torch.float64)
        u = bounds[pick, 0] + u * (bounds[pick, 1] - bounds[pick, 0])
        z = torch.special.ndtri(u.clamp(1e-12, 1 - 1e-12))
        return (self.p_mean + self.p_std * z).exp().float()

    # ---- the synthetic stages (public data, no DP) --------------------------------------
    def _synthetic_images(self, shape, seed: int) -> np.ndarray:
        """The public training set in the model's space ``shape``."""
        if isinstance(self.synthetic_data, np.ndarray):
            return (
                BoundsScaler(self.bounds_).fit(self.synthetic_data).transform(self.synthetic_data)
            )
        image = shape[1:] if shape[0] == 1 else shape  # (1, h, w) -> (h, w)
        if len(shape) == 1:
            side = math.isqrt(shape[0])
            if side * side != shape[0]:
                raise ValueError(
                    f"synthetic_data='dead_leaves' needs images or square rows; rows of "
                    f"{shape[0]} values are not: pass a public array as synthetic_data."
                )
            image = (side, side)
        from ..datasets import make_dead_leaves

        leaves = make_dead_leaves(8192, image, random_state=seed % 2**32)
        return (2.0 * leaves - 1.0).reshape(len(leaves), *shape)

    def _fit_synthetic(self, shape, seed: int):
        if not self.synthetic_stages_:
            return None
        Z = torch.as_tensor(self._synthetic_images(shape, seed), dtype=torch.float32)
        if tuple(Z.shape[1:]) != tuple(shape):
            raise ValueError(
                f"synthetic_data has shape {tuple(Z.shape[1:])} per sample; X has {tuple(shape)}."
            )
        self._gen = torch.Generator().manual_seed(seed)
        try:
            with torch_rng(seed):
                module = EDMDenoiser(self._build_net(shape, cardinalities=()), self.sigma_data)
                fit_net(
                    module,
                    self._synthetic_objective,
                    (Z, None),
                    lr=_SYNTHETIC_LR,
                    batch_size=self.batch_size,
                    max_epochs=math.ceil(
                        self.synthetic_steps / math.ceil(len(Z) / self.batch_size)
                    ),
                    callbacks=[EMA(self.ema_decay)],
                    generator=self._gen,
                    device=self.device,
                    desc="synthetic stages",
                    max_steps=self.synthetic_steps,
                )
        finally:
            del self._gen
        return module.cpu().eval()

    def _synthetic_objective(self, module, x, y, training):
        sigma = self._sigmas(len(x), self._synthetic_ranges(), self._gen).to(x)
        noise = torch.randn(x.shape, generator=self._gen).to(x)
        return edm_loss(module, x, sigma, noise).mean()

    # ---- the private stage (DP-SGD) -----------------------------------------------------
    def _fit_private(self, Z, Y, sampling_seed: int, noise_seed: int):
        """Poisson batches, per-example clipped K-draw gradients, Gaussian noise, Adam."""
        self.accountant_ = create_accountant(mechanism=self.accountant)
        device = get_device(self.device)
        Z, Y = Z.to(device), None if Y is None else Y.to(device)
        self.module_.to(device)
        sampling = noise_torch_generator(sampling_seed)  # CPU generators: the draws move
        self._noise = noise_torch_generator(noise_seed)  # DP noise and the diffusion draws
        opt = torch.optim.Adam(self.module_.parameters(), lr=self.lr)
        ema = [p.detach().clone() for p in self.module_.parameters()]
        steps_per_epoch = round(1 / self.sample_rate_)
        self.history_, step = [], 0
        progress = progress_bar(self.max_epochs, type(self).__name__, self.verbose)
        try:
            for epoch in range(self.max_epochs):
                for _ in range(steps_per_epoch):
                    batch = (torch.rand(len(Z), generator=sampling) < self.sample_rate_).to(device)
                    self._dp_step(opt, Z[batch], None if Y is None else Y[batch], len(Z))
                    self.accountant_.step(
                        noise_multiplier=self.noise_multiplier_, sample_rate=self.sample_rate_
                    )
                    step += 1
                    _ema_update(ema, self.module_, min(self.ema_decay, (1 + step) / (10 + step)))
                self._record_epoch(epoch, step, progress)
        finally:
            del self._noise
            if progress is not None:
                progress.close()
        with torch.no_grad():
            for p, avg in zip(self.module_.parameters(), ema, strict=True):
                p.copy_(avg)
        self.module_.cpu().eval()

    def _record_epoch(self, epoch: int, step: int, progress) -> None:
        """Only released figures: epsilon and steps (no loss, an un-noised statistic)."""
        self.n_steps_ = step
        self.epsilon_ = (
            math.inf
            if self.noise_multiplier_ == 0
            else epsilon_spent(self.accountant_, self.delta_)
        )
        self.history_.append({"epoch": epoch + 1, "epsilon": self.epsilon_, "n_steps": step})
        if progress is not None:
            progress.update(1)
            progress.set_postfix(eps=f"{self.epsilon_:.3f}")

    def _dp_step(self, opt, x, y, n: int) -> None:
        """One private step: the noised sum of clipped per-example gradients, over the
        expected batch size ``q n`` (opacus' normalisation).
        """
        params = dict(self.module_.named_parameters())
        total = {k: torch.zeros_like(p) for k, p in params.items()}
        for lo in range(0, len(x), _CHUNK):
            part = slice(lo, lo + _CHUNK)
            grads = self._per_example_grads(x[part], None if y is None else y[part])
            factor = self.max_grad_norm / (_global_norm(grads) + 1e-6)
            factor = factor.clamp(max=1.0)
            for k, g in grads.items():
                total[k] += (g * factor.reshape(-1, *([1] * (g.dim() - 1)))).sum(0)
        std = self.noise_multiplier_ * self.max_grad_norm
        expected = max(1.0, self.sample_rate_ * n)
        for k, p in params.items():
            noise = (
                torch.normal(0.0, std, p.shape, generator=self._noise).to(p.device) if std else 0.0
            )
            p.grad = (total[k] + noise) / expected
        opt.step()
        opt.zero_grad(set_to_none=True)

    def _per_example_grads(self, x, y) -> dict:
        """Per-example gradients of the EDM loss averaged over ``noise_multiplicity``
        noise draws (DPDM), by ``torch.func``: ``{name: (n, *shape)}``.
        """
        K, n = self.noise_multiplicity, len(x)
        sigma = self._sigmas(n * K, [self._private_range()], self._noise).reshape(n, K)
        noise = torch.randn((n, K, *x.shape[1:]), generator=self._noise)
        sigma, noise = sigma.to(x.device), noise.to(x.device)
        if y is not None:
            y = y[:, None, :].expand(n, K, y.shape[1]).clone()
            drop = (torch.rand((n, K), generator=self._noise) < self.condition_dropout).to(y.device)
            y[drop] = self.module_.net.condition.null(int(drop.sum()), y.device)
        params = {k: p.detach() for k, p in self.module_.named_parameters()}
        buffers = dict(self.module_.named_buffers())
        d = self.module_.sigma_data

        def loss(params, x1, noise1, sigma1, y1):
            xk = x1.expand(K, *x1.shape)
            s = sigma1.reshape(K, *([1] * x1.dim()))
            out = functional_call(
                self.module_, (params, buffers), (xk + s * noise1, sigma1), {"y": y1}
            )
            weight = (sigma1**2 + d**2) / (sigma1 * d) ** 2
            return (weight * ((out - xk) ** 2).flatten(1).mean(1)).mean()

        in_dims = (None, 0, 0, 0, None if y is None else 0)
        return vmap(grad(loss), in_dims=in_dims)(params, x, noise, sigma, y)


def _global_norm(grads: dict) -> torch.Tensor:
    """Per-example L2 norm over every parameter."""
    return torch.sqrt(sum(g.flatten(1).pow(2).sum(1) for g in grads.values()))


@torch.no_grad()
def _ema_update(ema, module, decay: float) -> None:
    for avg, p in zip(ema, module.parameters(), strict=True):
        avg.lerp_(p.detach(), 1.0 - decay)
