"""RandomizedNetworkClassifier: randomized networks trained with GradDiv (Lee, Kim, Lee)."""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_consistent_length, check_is_fitted, validate_data

from ..utils import (
    build_module,
    check_torch_seed,
    map_row_chunks,
    to_numpy,
    to_tensor,
    torch_rng,
)
from ._attacks import _Target
from ._base import _TRAINING_CONSTRAINTS, _RobustNetClassifier

_ACTIVATIONS = (
    torch.nn.ReLU,
    torch.nn.LeakyReLU,
    torch.nn.ELU,
    torch.nn.GELU,
    torch.nn.SiLU,
    torch.nn.Tanh,
    torch.nn.Sigmoid,
)


def _noise_hook(layer, inputs, output):
    """Forward hook: Gaussian noise on a hidden activation (noise injection)."""
    return output + layer._sklpriv_noise_std * torch.randn_like(output)


class _RandomizedNet(torch.nn.Module):
    """``members``; each forward pass draws one member (or, with one member and
    ``noise_std > 0``, fresh Gaussian noise at the input and after every activation).

    ``member`` picks a member instead of drawing one. Draws come from torch's global
    generator: the estimator seeds it (:func:`sklpriv.utils.torch_rng`).
    """

    def __init__(self, members, noise_std: float = 0.0):
        super().__init__()
        self.members = torch.nn.ModuleList(members)
        self.noise_std = float(noise_std)
        if self.noise_std > 0:
            for layer in self.members.modules():
                if isinstance(layer, _ACTIVATIONS):
                    layer._sklpriv_noise_std = self.noise_std
                    layer.register_forward_hook(_noise_hook)

    def draw(self, n: int) -> list[int]:
        """``n`` member indices: distinct while ``n <= n_members``, then with repeats."""
        k = len(self.members)
        if n <= k:
            return torch.randperm(k)[:n].tolist()
        return torch.randint(k, (n,)).tolist()

    def forward(self, x, member: int | None = None):
        if member is None:
            member = int(torch.randint(len(self.members), (1,)))
        if self.noise_std > 0:
            x = x + self.noise_std * torch.randn_like(x)
        return self.members[member](x)


def _concentration(grads: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per example: the mean resultant length and the mean pairwise cosine.

    ``grads`` has shape ``(n_draws, n_samples, ...)``; ``R = || mean_z g_z / ||g_z|| ||``
    (GradDiv's von Mises-Fisher statistic: 1 when every draw's gradient points the same
    way, ``1 / sqrt(n)`` for ``n`` orthogonal ones); the cosine is averaged over the
    ``n (n - 1)`` ordered pairs of distinct draws (``nan`` for one draw).
    """
    g = grads.flatten(2)
    u = g / g.norm(dim=2, keepdim=True).clamp_min(1e-12)
    resultant = u.mean(0).norm(dim=1)
    n = u.shape[0]
    gram = torch.einsum("sbd,tbd->bst", u, u)
    off_diagonal = gram.sum((1, 2)) - gram.diagonal(dim1=1, dim2=2).sum(1)
    cosine = off_diagonal / (n * (n - 1)) if n > 1 else torch.full_like(resultant, np.nan)
    return resultant, cosine


def _graddiv_terms(module, x, y, draws, graddiv):
    """Mean cross-entropy over the draws and GradDiv's concentration penalty.

    Each draw's input gradient of its (per-example) cross-entropy is taken with
    ``create_graph=True``, so the penalty is differentiable in the weights (double
    backprop). ``graddiv=None``: the penalty is 0 and no graph is kept.
    """
    x = x.detach().requires_grad_(graddiv is not None)
    ces, grads = [], []
    for member in draws:
        ce = F.cross_entropy(module(x, member=member), y, reduction="sum")
        ces.append(ce / len(x))
        if graddiv is not None:
            grads.append(torch.autograd.grad(ce, x, create_graph=True)[0])
    ce = torch.stack(ces).mean()
    if graddiv is None:
        return ce, torch.zeros((), dtype=ce.dtype)
    resultant, cosine = _concentration(torch.stack(grads))
    return ce, (resultant if graddiv == "resultant" else cosine).mean()


class RandomizedNetworkClassifier(_RobustNetClassifier):
    """A randomized neural classifier whose members' input gradients are kept scattered.

    The network is random at every forward pass: ``randomization="ensemble"`` draws one
    of ``n_members`` networks, ``"noise"`` adds ``N(0, noise_std^2)`` to the input and to
    the output of every activation of one network. Every training step draws
    ``n_gradient_samples`` members (distinct ones while they last) or noise draws, and
    takes their mean cross-entropy plus ``graddiv_weight`` times GradDiv's concentration
    of their normalised input gradients ``u_z = g_z / ||g_z||`` (Lee, Kim, Lee): the mean
    resultant length ``R = ||mean_z u_z||`` (``"resultant"``) or the mean pairwise cosine
    of the ``u_z`` (``"cosine"``), through double backprop. Randomized models resist
    proxy-gradient (EOT) attacks only when those gradients disagree. ``adversarial="at"``
    trains on PGD examples made against the randomized net (one draw per step) and
    regularises there. Trained through skorch (:func:`sklpriv.utils.fit_net`).

    Parameters
    ----------
    module : torch.nn.Module class or instance, default=None
        One member: ``None`` a ReLU MLP of ``hidden_layer_sizes``; a class is called as
        ``module(n_features, n_classes)`` once per member (independent initialisations);
        an instance is deep-copied per member (identical initialisations).
    randomization : {"ensemble", "noise"}, default="ensemble"
    n_members : int, default=5
        Members of the ensemble (``"noise"``: one network, this is ignored).
    noise_std : float, default=0.1
        Injected noise of ``"noise"`` (ignored by ``"ensemble"``).
    hidden_layer_sizes : tuple of int, default=(256, 256)
    graddiv : {"resultant", "cosine"} or None, default="resultant"
        The concentration penalty; ``None`` trains the same randomized net without it.
        With ``randomization="noise"`` GradDiv barely scatters the gradients (the draws
        share one network), and ``"cosine"`` can destabilise training there
        (benchmarks/results/graddiv.md): prefer the ensemble.
    graddiv_weight : float, default=0.5
    n_gradient_samples : int or None, default=None
        Draws per training step; ``None``: ``n_members`` (every member, every step) for
        ``"ensemble"``, 5 for ``"noise"``.
    n_inference_samples : int, default=10
        Random draws ``predict_proba`` averages (their seed is fixed at fit, so
        predictions repeat).
    adversarial : {"at"} or None, default=None
    radius : float, default=0.1
        Budget of ``adversarial`` and of :meth:`robust_score`'s default attack.
    norm : {"linf", "l2"}, default="linf"
    attack_steps : int, default=10
    attack_step_size : float or None, default=None
        ``None``: ``2.5 * radius / attack_steps``.
    bounds : tuple (low, high) or None, default=(0, 1)
        Input range of the attacks (``X`` is checked against it when ``adversarial``).
    lr : float, default=1e-3
        Adam's learning rate.
    batch_size : int, default=128
    max_epochs : int, default=30
    device : str or None, default="cpu"
    callbacks : list of skorch callbacks or None, default=None
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    module_ : torch.nn.Module
        The randomized net; ``module_.members`` are the members.
    net_ : sklpriv.utils.LossNet
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss`` (cross-entropy plus the weighted penalty).
    inference_seed_ : int
        Seed of the draws of the default ``predict_proba``.
    n_features_in_ : int

    Notes
    -----
    The attacks' hook ``_torch_logits`` always draws (the randomness is the model, so
    ``random`` is ignored): ``PGDAttack(clf, eot_samples=k)`` is EOT-PGD with ``k``
    draws per step, and its ``random_state`` seeds the draws. The paper's experiments
    are CIFAR-10 ResNets; the defaults here are CPU-sized MLPs.

    References
    ----------
    .. [1] S. Lee, H. Kim, J. Lee. "GradDiv: Adversarial Robustness of Randomized Neural
       Networks via Gradient Diversity Regularization." IEEE TPAMI, 2022.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklpriv.robust import RandomizedNetworkClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = RandomizedNetworkClassifier(n_members=3, hidden_layer_sizes=(32,),
    ...                                   max_epochs=10, lr=3e-3, random_state=0).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.8
    True
    >>> R, cosine = clf.gradient_concentration(X[:100] / 16, y[:100])
    >>> R.shape
    (100,)
    """

    _parameter_constraints: dict = {
        "module": [None, type, torch.nn.Module],
        "randomization": [StrOptions({"ensemble", "noise"})],
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "noise_std": [Interval(Real, 0, None, closed="neither")],
        "hidden_layer_sizes": [tuple, list],
        "graddiv": [StrOptions({"resultant", "cosine"}), None],
        "graddiv_weight": [Interval(Real, 0, None, closed="left")],
        "n_gradient_samples": [Interval(Integral, 1, None, closed="left"), None],
        "n_inference_samples": [Interval(Integral, 1, None, closed="left")],
        "adversarial": [StrOptions({"at"}), None],
        **_TRAINING_CONSTRAINTS,
    }

    def __init__(
        self,
        module=None,
        *,
        randomization: str = "ensemble",
        n_members: int = 5,
        noise_std: float = 0.1,
        hidden_layer_sizes=(256, 256),
        graddiv: str | None = "resultant",
        graddiv_weight: float = 0.5,
        n_gradient_samples: int | None = None,
        n_inference_samples: int = 10,
        adversarial: str | None = None,
        radius: float = 0.1,
        norm: str = "linf",
        attack_steps: int = 10,
        attack_step_size: float | None = None,
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
        self.randomization = randomization
        self.n_members = n_members
        self.noise_std = noise_std
        self.hidden_layer_sizes = hidden_layer_sizes
        self.graddiv = graddiv
        self.graddiv_weight = graddiv_weight
        self.n_gradient_samples = n_gradient_samples
        self.n_inference_samples = n_inference_samples
        self.adversarial = adversarial
        self.radius = radius
        self.norm = norm
        self.attack_steps = attack_steps
        self.attack_step_size = attack_step_size
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
        """Train the members (mean cross-entropy over draws plus the GradDiv penalty).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)

        Returns
        -------
        self : RandomizedNetworkClassifier
        """
        self._fit_network(X, y)
        self.inference_seed_ = check_torch_seed(check_random_state(self.random_state))
        return self

    # ---- the recipe's steps -------------------------------------------------------------
    def _needs_bounds(self) -> bool:
        return self.adversarial is not None

    def _build_module(self, n_features, n_classes):
        ensemble = self.randomization == "ensemble"
        n = self.n_members if ensemble else 1
        members = [
            build_module(self.module, self.hidden_layer_sizes, n_features, n_classes)
            for _ in range(n)
        ]
        return _RandomizedNet(members, 0.0 if ensemble else self.noise_std)

    def _n_draws(self) -> int:
        if self.n_gradient_samples is not None:
            return self.n_gradient_samples
        return self.n_members if self.randomization == "ensemble" else 5

    def _objective(self, module, x, y, training):
        """Mean cross-entropy over the step's draws plus the weighted GradDiv penalty."""
        if not training:
            return F.cross_entropy(module(x), y)
        if self.adversarial == "at" and self.radius > 0:
            x = self._attack(module)._perturb(_Target(module), x, y, self._gen)
        draws = module.draw(self._n_draws()) if self.randomization == "ensemble" else None
        draws = draws or [None] * self._n_draws()
        graddiv = self.graddiv if self.graddiv_weight > 0 else None
        ce, penalty = _graddiv_terms(module, x, y, draws, graddiv)
        return ce + self.graddiv_weight * penalty

    # ---- predictions and the paper's diagnostics ------------------------------------------
    def predict_proba(self, X, deterministic: bool = True):
        """Class probabilities, averaged over ``n_inference_samples`` random draws.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        deterministic : bool, default=True
            ``True``: the mean over ``n_inference_samples`` draws seeded by
            ``inference_seed_`` (the same answer every call, and for every row whatever
            the batch, in the ensemble). ``False``: one fresh draw from torch's global
            generator, what an attacker querying the model sees.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        net = copy.deepcopy(self.module_).double()

        def block_proba(rows):  # one block of rows; each block replays the same seed
            x = to_tensor(rows, dtype=torch.float64)
            if not deterministic:
                return torch.softmax(net(x), 1)
            with torch_rng(self.inference_seed_):
                draws = [torch.softmax(net(x), 1) for _ in range(self.n_inference_samples)]
            return torch.stack(draws).mean(0)

        with torch.no_grad():
            return to_numpy(map_row_chunks(block_proba, X))

    def _torch_logits(self, X: torch.Tensor, random: bool = False) -> torch.Tensor:
        """Logits of one random draw, differentiable in ``X`` (the attacks' hook; the
        randomness is the model, so ``random`` is ignored).
        """
        check_is_fitted(self)
        return self.module_(X.to(next(self.module_.parameters()).dtype))

    def input_gradients(self, X, y, n_samples: int | None = None, random_state=0):
        """Input gradients of the cross-entropy, one set per random draw.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        n_samples : int or None, default=None
            Draws: distinct members (``None``: all of them) for ``"ensemble"``, noise
            draws (``None``: 10) for ``"noise"``.
        random_state : int, RandomState instance or None, default=0
            Seeds the noise draws.

        Returns
        -------
        gradients : ndarray of shape (n_draws, n_samples, n_features)
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        check_consistent_length(X, y)
        yt = torch.as_tensor(self._encode_labels(np.asarray(y)), dtype=torch.long)
        net = copy.deepcopy(self.module_).double()
        x = to_tensor(X, dtype=torch.float64).requires_grad_(True)
        grads = []
        with torch_rng(check_torch_seed(random_state)):
            for member in self._diagnostic_draws(n_samples):
                ce = F.cross_entropy(net(x, member=member), yt, reduction="sum")
                grads.append(torch.autograd.grad(ce, x)[0])
        return to_numpy(torch.stack(grads))

    def gradient_concentration(self, X, y, n_samples: int | None = None, random_state=0):
        """GradDiv's diagnostics: how much the draws' input gradients agree, per example.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        n_samples : int or None, default=None
            Draws, as in :meth:`input_gradients`.
        random_state : int, RandomState instance or None, default=0
            Seeds the noise draws.

        Returns
        -------
        resultant : ndarray of shape (n_samples,)
            Mean resultant length ``R`` of the normalised gradients: 1 when all agree,
            ``1 / sqrt(n)`` for ``n`` orthogonal ones, about 0 when scattered.
        cosine : ndarray of shape (n_samples,)
            Mean pairwise cosine similarity of the gradients.
        """
        grads = torch.as_tensor(self.input_gradients(X, y, n_samples, random_state))
        resultant, cosine = _concentration(grads)
        return to_numpy(resultant), to_numpy(cosine)

    def _diagnostic_draws(self, n_samples):
        if self.randomization == "noise":
            return [None] * (10 if n_samples is None else n_samples)
        n = self.n_members if n_samples is None else n_samples
        if not 2 <= n <= self.n_members:
            raise ValueError(
                f"n_samples must lie in [2, n_members={self.n_members}] for an ensemble "
                f"(distinct members); got {n}."
            )
        return list(range(n))
