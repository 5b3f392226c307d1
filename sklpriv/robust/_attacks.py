"""PGD attacks on fitted classifiers: PGD / FGSM, MI-FGSM, EOT and the noise-averaged
transfer attack (Kim, Park, Lee, arXiv 2206.09075).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import accuracy_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

from ..utils import check_torch_seed, torch_rng

_NORMS = ("linf", "l2")


class _Affine(torch.nn.Module):
    """``x * scale + offset`` (a fitted sklearn scaler as a torch layer)."""

    def __init__(self, scale, offset):
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float64))
        self.register_buffer("offset", torch.as_tensor(offset, dtype=torch.float64))

    def forward(self, x):
        return x * self.scale.to(x.dtype) + self.offset.to(x.dtype)


def _scaler_as_affine(step) -> _Affine:
    check_is_fitted(step)
    if isinstance(step, StandardScaler):
        scale = 1.0 / step.scale_ if step.scale_ is not None else np.ones(step.n_features_in_)
        mean = step.mean_ if step.mean_ is not None else np.zeros(step.n_features_in_)
        return _Affine(scale, -mean * scale)
    if isinstance(step, MinMaxScaler) and not step.clip:
        return _Affine(step.scale_, step.min_)
    if isinstance(step, MaxAbsScaler):
        return _Affine(1.0 / step.scale_, np.zeros(step.n_features_in_))
    raise TypeError(
        f"Pipeline step {step!r} is not an affine scaler: attacks support Pipelines of "
        "StandardScaler, MinMaxScaler (clip=False) and MaxAbsScaler ending in a sklpriv "
        "torch classifier."
    )


class _Target:
    """What an attack needs of a model: logits of an input tensor and label indices."""

    def __init__(self, estimator):
        self.pre, self.model = [], estimator
        if isinstance(estimator, Pipeline):
            self.pre = [_scaler_as_affine(step) for _, step in estimator.steps[:-1]]
            self.model = estimator.steps[-1][1]
        if isinstance(self.model, torch.nn.Module):
            self.classes = None
        elif callable(getattr(self.model, "_torch_logits", None)):
            check_is_fitted(self.model)
            self.classes = np.asarray(self.model.classes_)
        else:
            raise TypeError(
                f"cannot attack {type(estimator).__name__}: pass a fitted sklpriv torch "
                "classifier (DPSATClassifier, BayesNAMClassifier, ...), a Pipeline of affine "
                "scalers ending in one, or a torch.nn.Module returning logits."
            )

    def logits(self, x, random: bool = False):
        for layer in self.pre:
            x = layer(x)
        if self.classes is None:
            was = self.model.training
            self.model.train(random)  # EOT: the module's own randomness (dropout) on
            try:
                return self.model(x.to(next(self.model.parameters()).dtype))
            finally:
                self.model.train(was)
        return self.model._torch_logits(x, random=random)

    def label_index(self, y) -> torch.Tensor:
        y = np.asarray(y)
        if self.classes is None:
            return torch.as_tensor(y, dtype=torch.long)
        idx = np.searchsorted(self.classes, y).clip(0, len(self.classes) - 1)
        if not np.array_equal(self.classes[idx], y):
            raise ValueError(f"y has labels that are not in the classes {self.classes.tolist()}.")
        return torch.as_tensor(idx, dtype=torch.long)


class PGDAttack:
    """Projected gradient descent (PGD) attack, with the transfer and EOT variants.

    ``generate(X, y)`` returns adversarial examples in the estimator's input space, like
    ART's ``attack.generate``: numpy in, numpy out, same dtype and layout. Each of
    ``steps`` steps ascends the cross-entropy (descends it with ``targeted=True``) along
    the sign of the gradient (``"linf"``) or the gradient over its L2 norm (``"l2"``),
    then projects onto the ``radius`` ball around ``X`` and into ``bounds``. FGSM is
    ``steps=1, random_start=False, step_size=radius``.

    Parameters
    ----------
    estimator : fitted classifier, Pipeline or torch.nn.Module
        A sklpriv torch classifier (it implements ``_torch_logits(X, random=False)``), a
        Pipeline of affine scalers (StandardScaler, MinMaxScaler, MaxAbsScaler, as torch
        layers so that the gradient flows through them) ending in one, or a module
        returning logits (``y`` are then class indices).
    radius : float, default=0.1
        Adversarial budget (``epsilon`` is always a privacy budget in this library).
    norm : {"linf", "l2"}, default="linf"
    steps : int, default=10
    step_size : float or None, default=None
        ``None``: ``2.5 * radius / steps`` (Madry et al.).
    random_start : bool, default=True
        Start at a uniform point of the ball (L2: a random direction, a uniform radius).
    momentum : float, default=0.0
        ``> 0``: MI-FGSM, ``g_t = momentum * g_{t-1} + grad / ||grad||_1`` per example.
    input_noise : float, default=0.0
        The transfer attack (Kim, Park, Lee): each step's gradient is the mean of the
        gradients at ``n_noise`` copies ``x + N(0, input_noise^2)``. ``0`` with
        ``n_noise=1`` is plain PGD, bit for bit.
    n_noise : int, default=1
    eot_samples : int, default=1
        Expectation over transformation: the gradient is averaged over this many forward
        passes with the model's randomness on (dropout, weight draws).
    bounds : tuple (low, high) or None, default=(0, 1)
        Valid input range; ``X`` must lie in it. ``None``: unbounded.
    targeted : bool, default=False
        ``y`` are target classes to reach instead of true classes to leave.
    random_state : int, RandomState instance or None, default=None
        Seeds the random start, the noise and the model's own draws (dropout, the
        members of a randomized net).

    See Also
    --------
    robust_accuracy : accuracy under an attack.
    transfer_success_rate : how often examples fool another model.

    References
    ----------
    .. [1] A. Madry et al. "Towards Deep Learning Models Resistant to Adversarial
       Attacks." ICLR 2018.
    .. [2] J. Kim, J. Park, J. Lee. "Transferability of Adversarial Examples with Additive
       Noise." arXiv:2206.09075.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklpriv import DPSATClassifier
    >>> from sklpriv.robust import PGDAttack, robust_accuracy
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> clf = DPSATClassifier(epsilon=float("inf"), max_epochs=10, classes=range(10),
    ...                       random_state=0).fit(X, y)
    >>> attack = PGDAttack(clf, radius=0.1, steps=10, random_state=0)
    >>> X_adv = attack.generate(X[:200], y[:200])
    >>> bool(abs(X_adv - X[:200]).max() <= 0.1 + 1e-12)
    True
    >>> robust_accuracy(clf, X[:200], y[:200], attack) < clf.score(X[:200], y[:200])
    True
    """

    def __init__(
        self,
        estimator,
        *,
        radius: float = 0.1,
        norm: str = "linf",
        steps: int = 10,
        step_size: float | None = None,
        random_start: bool = True,
        momentum: float = 0.0,
        input_noise: float = 0.0,
        n_noise: int = 1,
        eot_samples: int = 1,
        bounds=(0, 1),
        targeted: bool = False,
        random_state=None,
    ):
        self.estimator = estimator
        self.radius = radius
        self.norm = norm
        self.steps = steps
        self.step_size = step_size
        self.random_start = random_start
        self.momentum = momentum
        self.input_noise = input_noise
        self.n_noise = n_noise
        self.eot_samples = eot_samples
        self.bounds = bounds
        self.targeted = targeted
        self.random_state = random_state

    def generate(self, X, y) -> np.ndarray:
        """Adversarial examples for ``X`` (true labels ``y``, or targets if targeted).

        Parameters
        ----------
        X : ndarray
            Inputs in the estimator's input space, within ``bounds``.
        y : array-like of shape (n_samples,)
            Labels (class indices for a bare module).

        Returns
        -------
        X_adv : ndarray
            Same shape and dtype as ``X``.
        """
        self._check_params()
        X = np.asarray(X)
        target = _Target(self.estimator)
        x0 = self._check_X(X)
        labels = target.label_index(y)
        if len(labels) != len(x0):
            raise ValueError(f"X has {len(x0)} rows but y has {len(labels)}.")
        if self.radius == 0 or self.steps == 0:
            return X.copy()
        seed = check_torch_seed(self.random_state)
        gen = torch.Generator().manual_seed(seed)
        with torch_rng(seed):  # the model's own draws (EOT, randomized nets) repeat too
            x = self._perturb(target, x0, labels, gen)
        return x.numpy().astype(X.dtype, copy=False).reshape(X.shape)

    def _perturb(self, target, x0, labels, gen, objective=None, start=None):
        """The PGD loop on tensors (the adversarial trainers call it too).

        ``objective(logits, labels)`` replaces the cross-entropy (TRADES' KL inner
        maximisation); ``start`` replaces the random start.
        """
        x = self._project(x0, x0 + self._start(x0, gen) if start is None else start)
        step = self.step_size if self.step_size is not None else 2.5 * self.radius / self.steps
        g_acc = torch.zeros_like(x0)
        for _ in range(self.steps):
            grad = self._gradient(target, x, labels, gen, objective)
            if self.momentum > 0:  # MI-FGSM
                l1 = grad.abs().flatten(1).sum(1).clamp_min(1e-12)
                g_acc = self.momentum * g_acc + grad / _expand(l1, grad)
                grad = g_acc
            x = self._project(x0, x + step * self._direction(grad))
        return x.detach()

    # ---- the steps ----------------------------------------------------------------------
    def _check_params(self):
        if self.norm not in _NORMS:
            raise ValueError(f"norm must be one of {_NORMS}; got {self.norm!r}.")
        for name in ("radius", "input_noise", "momentum"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0; got {getattr(self, name)!r}.")
        for name in ("steps", "n_noise", "eot_samples"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"{name} must be a non-negative int; got {v!r}.")
        if self.n_noise < 1 or self.eot_samples < 1:
            raise ValueError("n_noise and eot_samples must be >= 1.")
        if self.step_size is not None and not self.step_size > 0:
            raise ValueError(f"step_size must be > 0 or None; got {self.step_size!r}.")

    def _check_X(self, X) -> torch.Tensor:
        if not np.issubdtype(X.dtype, np.floating) or not np.isfinite(X).all():
            raise ValueError("X must be a finite floating-point array.")
        x0 = torch.as_tensor(X, dtype=torch.float64 if X.dtype == np.float64 else torch.float32)
        if self.bounds is not None:
            low, high = self.bounds
            if X.min() < low - 1e-6 or X.max() > high + 1e-6:
                raise ValueError(
                    f"X lies outside bounds={self.bounds} (min {X.min():.3g}, max "
                    f"{X.max():.3g}): pass the bounds of the estimator's input space."
                )
        return x0

    def _start(self, x0, gen):
        if not self.random_start:
            return torch.zeros_like(x0)
        if self.norm == "linf":
            return (2 * torch.rand(x0.shape, generator=gen, dtype=x0.dtype) - 1) * self.radius
        d = torch.randn(x0.shape, generator=gen, dtype=x0.dtype)
        d = d / _expand(d.flatten(1).norm(dim=1).clamp_min(1e-12), d)
        r = torch.rand(len(x0), generator=gen, dtype=x0.dtype) * self.radius
        return d * _expand(r, d)

    def _gradient(self, target, x, labels, gen, objective=None):
        """Mean input gradient over EOT passes and noisy copies (the transfer attack)."""
        objective = objective or torch.nn.functional.cross_entropy
        total = torch.zeros_like(x)
        for _ in range(self.eot_samples):
            for _ in range(self.n_noise):
                xi = x.detach()
                if self.input_noise > 0:
                    xi = xi + self.input_noise * torch.randn(x.shape, generator=gen, dtype=x.dtype)
                xi.requires_grad_(True)
                logits = target.logits(xi, random=self.eot_samples > 1)
                loss = objective(logits, labels)
                (grad,) = torch.autograd.grad(-loss if self.targeted else loss, xi)
                total += grad
        return total / (self.eot_samples * self.n_noise)

    def _direction(self, grad):
        if self.norm == "linf":
            return grad.sign()
        return grad / _expand(grad.flatten(1).norm(dim=1).clamp_min(1e-12), grad)

    def _project(self, x0, x):
        delta = x - x0
        if self.norm == "linf":
            delta = delta.clamp(-self.radius, self.radius)
        else:
            norm = delta.flatten(1).norm(dim=1)
            delta = delta * _expand((self.radius / norm.clamp_min(1e-12)).clamp(max=1.0), delta)
        x = x0 + delta
        if self.bounds is not None:
            x = x.clamp(*self.bounds)
        return x.detach()


def _expand(v, like):
    return v.reshape(-1, *([1] * (like.dim() - 1)))


def robust_accuracy(estimator, X, y, attack: PGDAttack | None = None) -> float:
    """Accuracy of ``estimator`` on the adversarial examples of ``attack``.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        Scored with its own ``predict``.
    X, y : array-like
        Clean inputs and true labels.
    attack : PGDAttack or None, default=None
        ``None``: PGD-20 at radius 0.1 (L-inf) on ``estimator``.

    Returns
    -------
    accuracy : float

    Examples
    --------
    >>> from sklpriv.robust import robust_accuracy  # see PGDAttack for a full example
    """
    attack = PGDAttack(estimator, steps=20) if attack is None else attack
    return float(accuracy_score(y, estimator.predict(attack.generate(X, y))))


def transfer_success_rate(X, X_adv, y, target) -> float:
    """How often adversarial examples fool another fitted classifier.

    Over the examples ``target`` classifies correctly when clean, the share it
    misclassifies once adversarial. ``target`` is any fitted sklearn classifier (a
    random forest, an SVC): no gradients needed.

    Parameters
    ----------
    X, X_adv : array-like of the same shape
        Clean and adversarial inputs.
    y : array-like of shape (n_samples,)
        True labels.
    target : fitted classifier

    Returns
    -------
    rate : float
        ``nan`` when the target gets no clean example right.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklpriv.robust import transfer_success_rate
    >>> X = np.zeros((4, 2)); y = np.array([0, 0, 1, 0])
    >>> clf = DummyClassifier().fit(X, y)
    >>> transfer_success_rate(X, X + 0.1, y, clf)
    0.0
    """
    y = np.asarray(y)
    correct = np.asarray(target.predict(X)) == y
    if not correct.any():
        return float("nan")
    return float(np.mean(np.asarray(target.predict(np.asarray(X_adv)[correct])) != y[correct]))
