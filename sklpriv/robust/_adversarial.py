"""AdversarialClassifier: adversarial training (Madry AT, TRADES, bridged AT) on skorch."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils import (
    ModuleLogitsMixin,
    build_module,
    forward_float64,
    to_numpy,
)
from ._attacks import _Target
from ._base import _TRAINING_CONSTRAINTS, _RobustNetClassifier


def _kl(log_p, log_q):
    """Batch mean of KL(p || q) from log-probabilities (TRADES' ``KLDivLoss`` / batch)."""
    return F.kl_div(log_q, log_p, reduction="batchmean", log_target=True)


def trades_loss(module, x, y, delta, beta):
    """TRADES: ``CE(f(x), y) + beta * KL(p(x) || p(x + delta))``.

    Parameters
    ----------
    module : torch.nn.Module
        Returns logits.
    x, delta : torch.Tensor
        Clean inputs and their perturbation.
    y : torch.Tensor
        Class indices.
    beta : float

    Returns
    -------
    loss : torch.Tensor

    Examples
    --------
    >>> import torch
    >>> from sklpriv.robust import bridged_loss, trades_loss
    >>> net, x, y = torch.nn.Linear(3, 2), torch.rand(4, 3), torch.tensor([0, 1, 0, 1])
    >>> d = 0.1 * torch.rand(4, 3)
    >>> bool(torch.isclose(trades_loss(net, x, y, d, 6.0), bridged_loss(net, x, y, d, 6.0, 1)))
    True
    """
    logits = module(x)
    log_p, log_q = F.log_softmax(logits, 1), F.log_softmax(module(x + delta), 1)
    return F.cross_entropy(logits, y) + beta * _kl(log_p, log_q)


def bridged_loss(module, x, y, delta, beta, n_bridges):
    """Bridged AT: ``CE(f(x), y) + beta * sum_k KL(p_{k-1} || p_k)``.

    ``p_k`` is the softmax at ``x + (k / m) delta``, ``m = n_bridges``; as in the official
    trainer (Harry24k/adversarial-defenses-pytorch, ``bat.py``) the sum is not divided
    by ``m`` and nothing is detached. ``m = 1`` is TRADES' loss.

    Parameters
    ----------
    module : torch.nn.Module
    x, delta : torch.Tensor
    y : torch.Tensor
    beta : float
    n_bridges : int

    Returns
    -------
    loss : torch.Tensor
    """
    logits = module(x)
    loss, log_prev = F.cross_entropy(logits, y), F.log_softmax(logits, 1)
    for k in range(1, n_bridges + 1):
        log_next = F.log_softmax(module(x + (k / n_bridges) * delta), 1)
        loss = loss + beta * _kl(log_prev, log_next)
        log_prev = log_next
    return loss


class AdversarialClassifier(ModuleLogitsMixin, _RobustNetClassifier):
    """A neural classifier trained against PGD: Madry AT, TRADES or bridged AT.

    Every training batch first gets its adversarial perturbation ``delta`` (PGD inside
    the ``radius`` ball, ``attack_steps`` steps), then the network takes a step on the
    method's loss: ``"at"`` the cross-entropy at ``x + delta`` (Madry et al.);
    ``"trades"`` ``CE(f(x), y) + beta KL(p(x) || p(x + delta))`` with ``delta`` from PGD
    on that KL (start ``x + 0.001 N(0, 1)``); ``"bridged"`` (Kim et al.)
    ``CE(f(x), y) + beta sum_k KL(p_{k-1} || p_k)`` over ``n_bridges`` points
    ``x + (k/m) delta`` with ``delta`` from PGD on the cross-entropy; ``"standard"`` no
    attack. ``inner_loss`` swaps the inner maximisation: ``"kl"`` is TRADES' (and the
    bridged paper's option), ``"ce"`` the cross-entropy PGD that ART's TRADES trainer
    uses. Trained through skorch (:func:`sklpriv.utils.fit_net`).

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        ``None``: a ReLU MLP with ``hidden_layer_sizes``; a class is called as
        ``module(n_features, n_classes)``; an instance is deep-copied.
    hidden_layer_sizes : tuple of int, default=(256, 256)
    method : {"bridged", "trades", "at", "standard"}, default="bridged"
    radius : float, default=0.1
        Adversarial budget.
    norm : {"linf", "l2"}, default="linf"
    attack_steps : int, default=10
    attack_step_size : float or None, default=None
        ``None``: ``2.5 * radius / attack_steps``.
    n_bridges : int, default=5
        ``m`` of bridged AT (the trainer has no default; 5 is the paper's starting point).
    beta : float, default=6.0
        Weight of the KL terms (TRADES' CIFAR value).
    inner_loss : {"ce", "kl"} or None, default=None
        What the training attack ascends. ``None``: the method's own, the KL
        ``KL(p(x) || p(x'))`` from ``x + 0.001 N(0, 1)`` for ``"trades"``, the
        cross-entropy from a uniform random start for ``"at"`` and ``"bridged"``.
    bounds : tuple (low, high) or None, default=(0, 1)
        Input range the perturbed inputs are clipped to.
    lr : float, default=1e-3
        Adam's learning rate.
    batch_size : int, default=128
    max_epochs : int, default=30
    device : str or None, default="cpu"
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks for the training net.
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    module_ : torch.nn.Module
    net_ : sklpriv.utils.LossNet
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss`` (the method's loss; for ``"at"`` the
        adversarial cross-entropy).
    n_features_in_ : int

    References
    ----------
    .. [1] H. Zhang et al. "Theoretically Principled Trade-off between Robustness and
       Accuracy." ICML 2019.
    .. [2] H. Kim, W. Lee, S. Lee, J. Lee. "Bridged Adversarial Training." Neural
       Networks, 2023.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklpriv.robust import AdversarialClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = AdversarialClassifier(hidden_layer_sizes=(64,), max_epochs=5, attack_steps=3,
    ...                             random_state=0).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.5
    True
    """

    _parameter_constraints: dict = {
        "module": [None, type, torch.nn.Module],
        "hidden_layer_sizes": [tuple, list],
        "method": [StrOptions({"bridged", "trades", "at", "standard"})],
        "n_bridges": [Interval(Integral, 1, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "inner_loss": [StrOptions({"ce", "kl"}), None],
        **_TRAINING_CONSTRAINTS,
    }

    def __init__(
        self,
        module=None,
        *,
        hidden_layer_sizes=(256, 256),
        method: str = "bridged",
        radius: float = 0.1,
        norm: str = "linf",
        attack_steps: int = 10,
        attack_step_size: float | None = None,
        n_bridges: int = 5,
        beta: float = 6.0,
        inner_loss: str | None = None,
        bounds=(0, 1),
        lr: float = 1e-3,
        batch_size: int = 128,
        max_epochs: int = 30,
        device: str | None = "cpu",
        callbacks=None,
        random_state=None,
        verbose: int = 0,
    ):
        self.module = module
        self.hidden_layer_sizes = hidden_layer_sizes
        self.method = method
        self.radius = radius
        self.norm = norm
        self.attack_steps = attack_steps
        self.attack_step_size = attack_step_size
        self.n_bridges = n_bridges
        self.beta = beta
        self.inner_loss = inner_loss
        self.bounds = bounds
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.device = device
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train the network on adversarial examples of every batch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs in ``bounds``.
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : AdversarialClassifier
        """
        return self._fit_network(X, y)

    def _build_module(self, n_features, n_classes):
        return build_module(self.module, self.hidden_layer_sizes, n_features, n_classes)

    def _delta(self, module, x, y):
        """The batch's adversarial perturbation (the network's mode left as it is)."""
        attack, target = self._attack(module), _Target(module)
        inner = self.inner_loss or ("kl" if self.method == "trades" else "ce")
        if inner == "kl":  # TPGD: ascend KL(p(x) || p(x')) from x + 0.001 N(0, 1)
            with torch.no_grad():
                log_p = F.log_softmax(module(x), 1)
            start = 0.001 * torch.randn(x.shape, generator=self._gen, dtype=x.dtype)
            x_adv = attack._perturb(
                target,
                x,
                y,
                self._gen,
                objective=lambda z, _: _kl(log_p, F.log_softmax(z, 1)),
                start=start,
            )
        else:
            x_adv = attack._perturb(target, x, y, self._gen)
        return (x_adv - x).detach()

    def _objective(self, module, x, y, training):
        """The method's loss of a batch (adversarial examples made first)."""
        if self.method == "standard" or self.radius == 0:
            return F.cross_entropy(module(x), y)
        delta = self._delta(module, x, y)
        if self.method == "at":
            return F.cross_entropy(module(x + delta), y)
        if self.method == "trades":
            return trades_loss(module, x, y, delta, self.beta)
        return bridged_loss(module, x, y, delta, self.beta, self.n_bridges)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        return to_numpy(torch.softmax(forward_float64(self.module_, X), 1))
