"""DPSATClassifier and DPSATRegressor: DP training with sharpness-aware steps on opacus."""

from __future__ import annotations

import functools
import math
import warnings
from abc import abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from opacus import GradSampleModule
from opacus.accountants import create_accountant
from opacus.data_loader import DPDataLoader
from opacus.validators import ModuleValidator
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch.utils.data import TensorDataset

from ..optim import DPSATOptimizer
from ..privacy import (
    PrivacyLeakWarning,
    check_delta,
    epsilon_spent,
    noise_multiplier_for,
    noise_seeds,
    noise_torch_generator,
)
from ..utils import (
    LabelEncodedClassifierMixin,
    ModuleLogitsMixin,
    build_module,
    forward_float64,
    get_device,
    progress_bar,
    to_numpy,
    to_tensor,
    torch_rng,
)

_DIRECTION = {"dpsat": "gradient", "dpsat_momentum": "momentum", "dpsgd": "none", "dpsam": "none"}


def _to_device(obj, device):
    """Tensors in (nested) dicts and lists moved to ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: _to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


def _to_cpu(obj):
    """What the next call needs, on the CPU: a model fitted on a GPU unpickles anywhere."""
    return _to_device(obj, "cpu")


class _BaseDPSAT(BaseEstimator):
    """Shared fit/partial_fit/accounting of the DP-SAT estimators."""

    _parameter_constraints: dict = {
        "module": [None, type, torch.nn.Module],
        "hidden_layer_sizes": [tuple, list],
        "epsilon": [Interval(Real, 0, None, closed="right")],
        "delta": [Interval(Real, 0, 1, closed="neither")],
        "max_grad_norm": [Interval(Real, 0, None, closed="neither")],
        "noise_multiplier": [Interval(Real, 0, None, closed="left"), None],
        "method": [StrOptions(set(_DIRECTION))],
        "rho": [Interval(Real, 0, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_physical_batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "accountant": [StrOptions({"rdp", "prv"})],
        "device": [str, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        module=None,
        *,
        hidden_layer_sizes=(100,),
        epsilon: float = 3.0,
        delta: float = 1e-5,
        max_grad_norm: float = 1.0,
        noise_multiplier: float | None = None,
        method: str = "dpsat",
        rho: float = 0.03,
        lr: float = 0.1,
        momentum: float = 0.9,
        batch_size: int = 256,
        max_physical_batch_size: int | None = None,
        max_epochs: int = 20,
        accountant: str = "rdp",
        device: str | None = "cpu",
        random_state=None,
        verbose: int = 0,
    ):
        self.module = module
        self.hidden_layer_sizes = hidden_layer_sizes
        self.epsilon = epsilon
        self.delta = delta
        self.max_grad_norm = max_grad_norm
        self.noise_multiplier = noise_multiplier
        self.method = method
        self.rho = rho
        self.lr = lr
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_physical_batch_size = max_physical_batch_size
        self.max_epochs = max_epochs
        self.accountant = accountant
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ---- hooks for the subclasses ---------------------------------------------------------
    @abstractmethod
    def _encode_y(self, y, reset: bool, classes=None) -> torch.Tensor:
        """Validate ``y`` and return the training target tensor (fitting the encoding)."""

    @abstractmethod
    def _n_outputs(self) -> int:
        """Width of the network's output layer."""

    @abstractmethod
    def _loss(self, out, yb) -> torch.Tensor:
        """Mean loss of a batch (per-sample gradients are taken of it)."""

    # ---- building -------------------------------------------------------------------------
    def _build_module_for(self, n_features: int, n_outputs: int) -> torch.nn.Module:
        module = build_module(self.module, self.hidden_layer_sizes, n_features, n_outputs)
        module.train()  # the copy trains, even when a pre-trained instance came in eval mode
        errors = ModuleValidator.validate(module, strict=False)
        if errors:
            raise ValueError(
                "module has layers that per-sample gradient clipping cannot handle: "
                f"{errors}. Use opacus.validators.ModuleValidator.fix(module) (e.g. "
                "BatchNorm -> GroupNorm) before passing it."
            )
        return module

    def _calibrate(self, n_samples: int) -> None:
        """Sample rate, delta and noise multiplier (paper: opacus' search, tolerance 0.01)."""
        sample_rate = 1.0 / math.ceil(n_samples / self.batch_size)  # as opacus' DPDataLoader
        delta = check_delta(self.delta, n_samples)
        # DP-SAM's two queries on one Poisson batch form one Gaussian mechanism with
        # sensitivity sqrt(2) C: its effective noise multiplier is sigma / sqrt(2)
        queries = 2 if self.method == "dpsam" else 1
        if self.noise_multiplier is not None:
            sigma = float(self.noise_multiplier)
        elif math.isinf(self.epsilon):
            sigma = 0.0
        else:
            try:
                sigma = math.sqrt(queries) * noise_multiplier_for(
                    float(self.epsilon), delta, sample_rate, self.max_epochs, self.accountant
                )
            except ValueError as exc:
                raise ValueError(
                    f"epsilon={self.epsilon} cannot be met with delta={delta:.3g}, "
                    f"batch_size={self.batch_size}, max_epochs={self.max_epochs} on "
                    f"{n_samples} samples: no noise multiplier reaches it ({exc}). Raise "
                    "epsilon, or lower max_epochs or batch_size."
                ) from exc
        # assigned only once the budget is known to be feasible: nothing half-fitted
        self.sample_rate_, self.delta_, self._queries = sample_rate, delta, queries
        self.noise_multiplier_ = sigma

    def _effective_sigma(self) -> float:
        return self.noise_multiplier_ / math.sqrt(self._queries)

    def _spent(self) -> float:
        if self._effective_sigma() == 0:
            return math.inf
        return epsilon_spent(self.accountant_, self.delta_)

    # ---- training -------------------------------------------------------------------------
    def _fit(self, X, y, epochs: int, reset: bool):
        with warnings.catch_warnings():
            # opacus' hooks fire on module outputs since inputs need no grad (harmless);
            # its RDP search notes when the best order is the largest one it tries
            warnings.filterwarnings("ignore", message="Full backward hook is firing")
            warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
            return self._fit_unfiltered(X, y, epochs, reset)

    def _fit_unfiltered(self, X, y, epochs: int, reset: bool):
        """One ``fit`` / ``partial_fit`` call: seeds, (re)start, DP epochs, release."""
        if reset:
            self._calibrate(X.shape[0])
            self._n_calls = 0
        # fresh OS-entropy seeds per call with random_state=None; an int seed gives each
        # call (fit: 0, partial_fit: 1, 2, ...) its own stream. No generator is kept.
        init_seed, sampling_seed, noise_seed = noise_seeds(self.random_state, self._n_calls, 3)
        self._n_calls += 1
        device = get_device(self.device)
        check_delta(self.delta_, X.shape[0])  # every call protects its own records
        if reset:
            self._start(X.shape[1], init_seed)
        gsm = GradSampleModule(self.module_.to(device), loss_reduction="mean")
        opt = self._optimizer(gsm, X.shape[0], noise_torch_generator(noise_seed, device))
        dataset = TensorDataset(to_tensor(X, device=device), y.to(device))
        try:
            self._dp_epochs(gsm, opt, dataset, epochs, noise_torch_generator(sampling_seed))
        finally:
            opt.restore()
        self._release(gsm, opt)
        return self

    def _start(self, n_features: int, init_seed: int) -> None:
        """A new network and accountant (``fit``, or the first ``partial_fit``)."""
        with torch_rng(init_seed):
            self.module_ = self._build_module_for(n_features, self._n_outputs())
        self.accountant_ = create_accountant(mechanism=self.accountant)
        self.history_ = []
        self._optim_state = None
        self._last_private_grad = None

    def _optimizer(self, gsm, n_samples: int, noise_generator) -> DPSATOptimizer:
        """The base SGD (state carried over between calls) wrapped in DP-SAT's optimiser."""
        base = torch.optim.SGD(gsm.parameters(), lr=self.lr, momentum=self.momentum)
        if self._optim_state is not None:
            base.load_state_dict(self._optim_state)
        opt = DPSATOptimizer(
            base,
            noise_multiplier=self.noise_multiplier_,
            max_grad_norm=self.max_grad_norm,
            expected_batch_size=max(1, int(self.sample_rate_ * n_samples)),  # as opacus
            rho=self.rho if self.method != "dpsgd" else 0.0,
            direction=_DIRECTION[self.method],
            generator=noise_generator,
        )
        device = next(gsm.parameters()).device
        opt.last_private_grad = _to_device(self._last_private_grad, device)
        return opt

    def _dp_epochs(self, gsm, opt, dataset, epochs: int, sampling) -> None:
        """Epochs of Poisson batches; the accountant steps once per logical batch."""
        progress = progress_bar(epochs, type(self).__name__, self.verbose)
        gsm.train()
        try:
            for _ in range(epochs):
                # the calibrated rate, whatever this call's n (partial_fit on chunks):
                # the accountant steps with exactly the rate the batches are drawn at
                loader = DPDataLoader(dataset, sample_rate=self.sample_rate_, generator=sampling)
                for xb, yb in loader:
                    self._dp_step(gsm, opt, xb, yb)
                    self.accountant_.step(
                        noise_multiplier=self._effective_sigma(),
                        sample_rate=self.sample_rate_,
                    )
                self._check_finite()
                self._record_epoch(progress)
        finally:
            if progress is not None:
                progress.close()

    def _dp_step(self, gsm, opt, xb, yb) -> None:
        """One logical step: DP-SAM's extra private query first, then the DP(-SAT) step."""
        phys = self.max_physical_batch_size
        chunks = (
            [(xb, yb)]
            if phys is None or len(xb) <= phys
            else list(zip(xb.split(phys), yb.split(phys), strict=True))
        )
        perturb = opt.perturb
        if self.method == "dpsam":  # first private query: the ascent direction
            self._accumulate(gsm, opt, chunks, final=opt.private_gradient)
            g1 = [p.grad.detach().clone() for p in opt.params]
            opt.zero_grad()
            perturb = functools.partial(opt.perturb, direction=g1)
        self._accumulate(gsm, opt, chunks, final=opt.step, perturb=perturb)
        opt.zero_grad()

    def _record_epoch(self, progress) -> None:
        """Only released quantities: no training loss (an un-noised statistic)."""
        eps = self._spent()
        n_steps = sum(h[2] for h in self.accountant_.history)
        self.history_.append({"epoch": len(self.history_) + 1, "epsilon": eps, "n_steps": n_steps})
        if progress is not None:
            progress.update(1)
            progress.set_postfix(eps=f"{eps:.3f}")

    def _release(self, gsm, opt) -> None:
        """Keep what the next call needs; the module becomes a plain (CPU) module."""
        self._optim_state = _to_cpu(opt.original_optimizer.state_dict())
        self._last_private_grad = _to_cpu(opt.last_private_grad)
        gsm._close()  # remove opacus' hooks and per-sample buffers: module_ is a plain module
        self.module_ = gsm._module.cpu()
        self.module_.eval()
        self.epsilon_ = self._spent()
        self.n_steps_ = sum(h[2] for h in self.accountant_.history)

    def _check_finite(self) -> None:
        """Raise when training diverged (post-processing of the released weights)."""
        if all(bool(torch.isfinite(p).all()) for p in self.module_.parameters()):
            return
        raise ValueError(
            "DP training diverged: the network's weights are no longer finite. DP-SGD "
            "uses the inputs as given (a scaler fitted on private data would leak), so "
            "features (and regression targets) must be on a moderate scale: rescale them "
            "with bounds known a priori, e.g. to [0, 1] or [-1, 1], or lower lr."
        )

    def _accumulate(self, gsm, opt, chunks, final, perturb=None):
        """Forward/backward over the physical chunks of one logical batch.

        Every chunk is perturbed and restored on its own (virtual steps included), so a
        logical batch split k ways never leaks ``(k - 1) e`` into the weights.
        """
        for i, (xc, yc) in enumerate(chunks):
            if perturb is not None:
                perturb()
            if len(xc):
                self._loss(gsm(xc), yc).backward()
            else:  # empty Poisson batch: no per-sample gradient, the noise is still added
                for p in opt.params:
                    p.grad_sample = torch.zeros((0, *p.shape), dtype=p.dtype, device=p.device)
            if i < len(chunks) - 1:
                opt.signal_skip_step(do_skip=True)
                final()
                opt.zero_grad()
            else:
                final()

    def _check_X(self, X, reset):
        return validate_data(self, X, reset=reset, dtype=np.float32)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train from scratch; the accountant starts afresh.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = validate_data(
            self, X, y, reset=True, dtype=np.float32, multi_output=self._multi_output()
        )
        yt = self._encode_y(y, reset=True)
        return self._fit(X, yt, self.max_epochs, reset=True)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """One more epoch of DP training; the accountant continues (``epsilon_`` grows).

        The first call initialises like :meth:`fit` (noise calibrated for ``epsilon`` over
        ``max_epochs`` epochs) but trains one epoch; every call spends more privacy.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        classes : array-like, default=None
            All classes (classifier, first call only), as in sklearn's ``partial_fit``;
            must agree with the ``classes`` parameter when both are given.

        Returns
        -------
        self : object
        """
        first = not hasattr(self, "module_")
        X, y = validate_data(
            self, X, y, reset=first, dtype=np.float32, multi_output=self._multi_output()
        )
        yt = self._encode_y(y, reset=first, classes=classes)
        return self._fit(X, yt, 1, reset=first)

    def _multi_output(self) -> bool:
        return False

    def _forward(self, X) -> torch.Tensor:
        """Network outputs in float64: a row's prediction does not depend on the batch."""
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        return forward_float64(self.module_, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class DPSATClassifier(ClassifierMixin, LabelEncodedClassifierMixin, ModuleLogitsMixin, _BaseDPSAT):
    """Differentially private classifier trained by DP-SAT (or DP-SGD / DP-SAM) on opacus.

    Every step samples a Poisson batch, clips per-sample gradients to ``max_grad_norm``,
    adds Gaussian noise and averages (opacus). DP-SAT (Park et al. 2023) evaluates those
    gradients at ``w + rho * g~_{t-1} / ||g~_{t-1}||``, the sharpness-aware ascent point
    built from the *previous* privatized gradient, so it reaches flatter minima at exactly
    DP-SGD's privacy cost; naive DP-SAM pays a second private gradient per step. Nothing
    private leaks through defaults: no validation split, no early stopping, no training
    loss in ``history_``, no data-derived delta or label set, no non-private clipping.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        The network. ``None``: an MLP with ReLU and ``hidden_layer_sizes``. A class is
        called as ``module(n_features_in, n_classes)``; an instance is deep-copied (it
        must output one logit per class).
    hidden_layer_sizes : tuple of int, default=(100,)
        Hidden layers of the default MLP.
    epsilon : float, default=3.0
        Privacy budget for ``max_epochs`` epochs (``np.inf``: no noise, clipping only).
        Ignored for the noise when ``noise_multiplier`` is given.
    delta : float, default=1e-5
        Privacy parameter delta; ``fit`` rejects ``delta >= 1 / n_samples`` (such a
        delta allows releasing a record outright). A fixed public value, never derived
        from the data.
    max_grad_norm : float, default=1.0
        Per-sample clipping norm ``C``.
    noise_multiplier : float or None, default=None
        ``None``: the smallest ``sigma`` whose accountant spends at most ``epsilon`` over
        ``max_epochs`` (opacus' search, as in the paper). Given: ``epsilon_`` reports what
        it spends.
    method : {"dpsat", "dpsat_momentum", "dpsgd", "dpsam"}, default="dpsat"
        ``"dpsat_momentum"`` perturbs along the momentum buffer; ``"dpsgd"`` is plain
        DP-SGD; ``"dpsam"`` takes a second private gradient per step (its two queries on
        one batch are accounted as one Gaussian mechanism with sensitivity ``sqrt(2) C``,
        so for a target epsilon its ``noise_multiplier_`` is ``sqrt(2)`` times larger).
    rho : float, default=0.03
        Perturbation radius (paper: 0.03; 0 gives exactly DP-SGD).
    lr : float, default=0.1
        Learning rate of the base SGD (paper, on images with C = 0.1: 2).
    momentum : float, default=0.9
        Momentum of the base SGD.
    batch_size : int, default=256
        Expected (Poisson) batch size.
    max_physical_batch_size : int or None, default=None
        Split logical batches into physical ones of at most this size (memory).
    max_epochs : int, default=20
        Epochs of :meth:`fit`.
    accountant : {"rdp", "prv"}, default="rdp"
        opacus accountant (the paper: RDP); both report upper bounds. opacus' ``"gdp"``
        is refused: its central-limit approximation under-reports epsilon.
    classes : array-like of shape (n_classes,) or None, default=None
        The label set, known a priori (public). ``None``: read from the private ``y``
        with a :class:`~sklpriv.privacy.PrivacyLeakWarning` (a label held by one person
        shows in ``classes_`` and in the output width). :meth:`partial_fit`'s
        ``classes`` argument must agree with it when both are given.
    device : str or None, default="cpu"
        Torch device of the training (``"auto"`` / ``None``: CUDA when available; see
        :func:`sklpriv.utils.get_device`); the fitted ``module_`` lives on the CPU.
    random_state : int, RandomState instance or None, default=None
        ``None`` (the private setting): every ``fit`` / ``partial_fit`` call seeds the
        initialisation, the Poisson sampling and the noise afresh from OS entropy, and no
        generator is stored on the model. An int makes fits reproducible (each
        ``partial_fit`` call derives its own seed from it and a call counter) but **a
        known seed voids the privacy guarantee**: whoever knows it can rebuild the noise.
    verbose : int, default=0
        > 0: a progress bar per epoch with the epsilon spent.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features,)
        Defined only when X has string feature names.
    module_ : torch.nn.Module
        The trained network.
    epsilon_ : float
        Privacy spent so far (from the accountant).
    delta_ : float
    noise_multiplier_ : float
    sample_rate_ : float
        Poisson sampling rate ``1 / ceil(n_samples / batch_size)``.
    n_steps_ : int
        Logical (accounted) steps taken so far.
    accountant_ : opacus accountant
    history_ : list of dict
        Per epoch: ``epoch``, ``epsilon`` spent and ``n_steps`` so far. No training loss
        is recorded: it is an un-noised statistic of the private data.

    See Also
    --------
    DPSATRegressor : the regressor.
    sklpriv.optim.DPSATOptimizer : the optimiser, usable with any opacus training loop.

    References
    ----------
    .. [1] J. Park, H. Kim, Y. Choi, J. Lee. "Differentially Private Sharpness-Aware
       Training." ICML 2023.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from sklpriv import DPSATClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0  # pixels lie in 0..16: public bounds, no statistic of the data
    >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)
    >>> clf = DPSATClassifier(epsilon=8.0, max_epochs=10, classes=list(range(10)))
    >>> clf.fit(X_tr, y_tr).score(X_te, y_te) > 0.7
    True
    >>> clf.epsilon_ <= 8.0, clf.delta_
    (True, 1e-05)
    """

    def __init__(
        self,
        module=None,
        *,
        hidden_layer_sizes=(100,),
        epsilon: float = 3.0,
        delta: float = 1e-5,
        max_grad_norm: float = 1.0,
        noise_multiplier: float | None = None,
        method: str = "dpsat",
        rho: float = 0.03,
        lr: float = 0.1,
        momentum: float = 0.9,
        batch_size: int = 256,
        max_physical_batch_size: int | None = None,
        max_epochs: int = 20,
        accountant: str = "rdp",
        classes=None,
        device: str | None = "cpu",
        random_state=None,
        verbose: int = 0,
    ):
        super().__init__(
            module,
            hidden_layer_sizes=hidden_layer_sizes,
            epsilon=epsilon,
            delta=delta,
            max_grad_norm=max_grad_norm,
            noise_multiplier=noise_multiplier,
            method=method,
            rho=rho,
            lr=lr,
            momentum=momentum,
            batch_size=batch_size,
            max_physical_batch_size=max_physical_batch_size,
            max_epochs=max_epochs,
            accountant=accountant,
            device=device,
            random_state=random_state,
            verbose=verbose,
        )
        self.classes = classes

    _parameter_constraints: dict = {
        **_BaseDPSAT._parameter_constraints,
        "classes": ["array-like", None],
    }

    def _public_classes(self, y, classes):
        """The label set: the ``classes`` parameter or argument, else (with a warning) y's."""
        given = [np.unique(np.asarray(c)) for c in (self.classes, classes) if c is not None]
        if len(given) == 2 and not np.array_equal(given[0], given[1]):
            raise ValueError(
                f"partial_fit(classes={given[1].tolist()}) differs from the classes "
                f"parameter {given[0].tolist()}: pass the same label set (or only one)."
            )
        if given:
            return given[0]
        warnings.warn(
            "classes were not given and are read from the private labels: a label held "
            "by one person shows in classes_ and in the network's output width, which "
            "epsilon does not account for. Pass classes=[...] (the label set known a "
            "priori).",
            PrivacyLeakWarning,
            stacklevel=5,
        )
        return np.unique(y)

    def _encode_y(self, y, reset, classes=None):
        if reset:
            check_classification_targets(y)
            self._fit_labels(y, self._public_classes(y, classes))
        return torch.as_tensor(self._encode_labels(y), dtype=torch.long)

    def _n_outputs(self):
        return len(self.classes_)

    def _loss(self, out, yb):
        return torch.nn.functional.cross_entropy(out, yb)

    def predict_proba(self, X):
        """Class probabilities (softmax of the network's logits).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return to_numpy(torch.softmax(self._forward(X), dim=1)).astype(np.float64)


class DPSATRegressor(RegressorMixin, _BaseDPSAT):
    """Differentially private regressor trained by DP-SAT (or DP-SGD / DP-SAM) on opacus.

    Same training as :class:`DPSATClassifier` with a squared-error loss. The target is
    used as given: scale it with bounds known a priori (a scaler fitted on the private
    target would leak). Multi-output targets are supported.

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        ``None``: an MLP; a class is called as ``module(n_features_in, n_outputs)``.
    hidden_layer_sizes, epsilon, delta, max_grad_norm, noise_multiplier, method, rho, \
lr, momentum, batch_size, max_physical_batch_size, max_epochs, accountant, device, \
random_state, verbose
        As in :class:`DPSATClassifier` (a known integer ``random_state`` voids the
        guarantee).

    Attributes
    ----------
    n_features_in_ : int
    n_outputs_ : int
    module_ : torch.nn.Module
    epsilon_, delta_, noise_multiplier_, sample_rate_ : float
    accountant_ : opacus accountant
    history_ : list of dict

    See Also
    --------
    DPSATClassifier : the classifier.

    References
    ----------
    .. [1] J. Park, H. Kim, Y. Choi, J. Lee. "Differentially Private Sharpness-Aware
       Training." ICML 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from sklpriv import DPSATRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, size=(5000, 3))
    >>> y = X @ np.array([0.5, -0.3, 0.2])
    >>> reg = DPSATRegressor(epsilon=3.0, max_epochs=10, lr=0.05, momentum=0.5).fit(X, y)
    >>> reg.score(X, y) > 0.5
    True
    """

    def _encode_y(self, y, reset, classes=None):
        y = np.asarray(y, dtype=np.float32)
        if reset:
            self._y_1d = y.ndim == 1
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        return torch.as_tensor(y.reshape(len(y), -1))

    def _n_outputs(self):
        return self.n_outputs_

    def _multi_output(self):
        return True

    def _loss(self, out, yb):
        return torch.nn.functional.mse_loss(out, yb)

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        check_is_fitted(self)
        out = to_numpy(self._forward(X)).astype(np.float64)
        return out.ravel() if self._y_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
