"""The training engine of every non-private torch estimator: skorch, plus small pieces.

An estimator builds its torch module, then calls :func:`fit_net` with an *objective*
``objective(module, X, y, training) -> scalar loss`` and its special needs as skorch
callbacks; it keeps the fitted :class:`LossNet` as ``net_``. Everything a training loop
does beyond skorch's own loop is one callback here:

- :class:`TensorLoader`: batches are index slices of in-memory tensors (no per-item
  collation); shuffling draws from the estimator's ``torch.Generator``;
- :class:`EMA`: Polyak averaging on ``torch.optim.swa_utils.AveragedModel``; validation,
  early-stopping snapshots and the final state use the averaged weights;
- :class:`WarmupPlateau`: a linear warm-up (torch ``LambdaLR``), then a step-level
  ``ReduceLROnPlateau`` on the training loss;
- :class:`StepBudget`: stop after ``max_steps`` optimiser steps, mid-epoch if need be
  (the cut epoch is closed as any other: validation, callbacks, its history row);
- :class:`EpochProgress`: the ``verbose`` progress bar (one tick per epoch, the losses);
- skorch's own ``EarlyStopping(load_best=True)``, ``GradientNormClipping`` and
  ``LRScheduler`` for the rest.

DP training is not done here: its Poisson sampling and accountant are not skorch's job.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping
from skorch.dataset import Dataset, unpack_data
from skorch.helper import predefined_split
from skorch.utils import to_device
from torch.optim.swa_utils import AveragedModel

from ._torch import get_device


class TensorLoader:
    """An ``iterator_train``/``iterator_valid`` for skorch over in-memory tensors.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset
        Holds ``X`` (a tensor, or a tuple/dict of tensors with one first dimension) and
        ``y`` (a tensor or ``None``).
    batch_size : int, default=128
        Rows per batch (the last batch may be smaller).
    shuffle : bool, default=False
        A new permutation every epoch, drawn from ``generator``.
    generator : torch.Generator or None, default=None
        Seeds the permutations.

    Examples
    --------
    >>> import torch
    >>> from skorch.dataset import Dataset
    >>> from sklpriv.utils import TensorLoader
    >>> loader = TensorLoader(Dataset(torch.arange(10.0), torch.arange(10)), batch_size=4)
    >>> [len(xb) for xb, yb in loader], len(loader)
    ([4, 4, 2], 3)
    """

    def __init__(self, dataset, batch_size: int = 128, shuffle: bool = False, generator=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        X, y = self.dataset.X, self.dataset.y
        n = len(self.dataset)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                idx = slice(start, start + self.batch_size)
            else:
                idx = order[start : start + self.batch_size].to(_device_of(X))
            yield _take(X, idx), _take(y, idx)


def _device_of(X) -> torch.device:
    while isinstance(X, (tuple, list, dict)):
        X = next(iter(X.values())) if isinstance(X, dict) else X[0]
    return X.device


def _take(X, idx):
    if X is None:
        return None
    if isinstance(X, dict):
        return {k: v[idx] for k, v in X.items()}
    if isinstance(X, (tuple, list)):
        return type(X)(v[idx] for v in X)
    return X[idx]


class LossNet(NeuralNet):
    """A skorch ``NeuralNet`` whose loss is the estimator's objective.

    Overrides skorch's documented override points ``train_step_single`` and
    ``validation_step``: the loss is ``objective(module_, X, y, training)`` (no separate
    forward pass and criterion), so an estimator can draw noise, weights or diffusion
    times inside its loss.

    Parameters
    ----------
    module : torch.nn.Module
        The initialised network (trained in place).
    objective : callable
        ``objective(module, X, y, training) -> scalar tensor``.
    **kwargs
        skorch ``NeuralNet`` parameters (``optimizer``, ``lr``, ``max_epochs``,
        ``batch_size``, ``callbacks``, ``train_split``, ``device``, ...).

    Examples
    --------
    >>> import torch
    >>> from sklpriv.utils import LossNet, TensorLoader
    >>> def mse(module, X, y, training):
    ...     return ((module(X) - y) ** 2).mean()
    >>> x = torch.linspace(-1, 1, 64)[:, None]
    >>> net = LossNet(torch.nn.Linear(1, 1), mse, optimizer=torch.optim.Adam, lr=0.1,
    ...               max_epochs=50, batch_size=16, train_split=None, verbose=0,
    ...               iterator_train=TensorLoader).fit(x, 3 * x)
    >>> bool(net.history[-1, "train_loss"] < 1e-2)
    True
    """

    def __init__(self, module, objective, **kwargs):
        super().__init__(module, criterion=torch.nn.Identity, **kwargs)
        self.objective = objective

    def get_iterator(self, dataset, training=False):
        """Skorch's iterator; in training, cut short once a :class:`StepBudget` is spent."""
        iterator = super().get_iterator(dataset, training=training)
        for _, cb in self.callbacks_ if training else ():
            if isinstance(cb, StepBudget):
                iterator = _Budgeted(iterator, cb)
        return iterator

    def train_step_single(self, batch, **fit_params):
        """Objective and gradients of one training batch."""
        self._set_training(True)
        Xi, yi = _on_device(batch, self.device)
        loss = self.objective(self.module_, Xi, yi, True)
        loss.backward()
        return {"loss": loss, "y_pred": None}

    def validation_step(self, batch, **fit_params):
        """Objective of one validation batch (eval mode, no gradients)."""
        self._set_training(False)
        Xi, yi = _on_device(batch, self.device)
        with torch.no_grad():
            loss = self.objective(self.module_, Xi, yi, False)
        return {"loss": loss, "y_pred": None}


def _on_device(batch, device):
    return tuple(None if v is None else to_device(v, device) for v in unpack_data(batch))


_POWER_AFTER = 100  # ema_pytorch's default update_after_step


class EMA(Callback):
    """Polyak averaging of the weights (an exponential moving average).

    Every ``every`` optimiser steps, ``torch.optim.swa_utils.AveragedModel`` updates the
    average with decay ``min(decay, warm-up)``: ``warmup="linear"`` uses
    ``(1 + s) / (10 + s)`` at step ``s`` (the average starts short); ``"power"`` uses
    ``1 - (2 + u)**(-2/3)`` at the ``u``-th update (ema_pytorch's curve, counted in
    updates); ``"ema_pytorch"`` is ema_pytorch's warm-up exactly, counted in optimiser
    steps like it: a copy of the weights up to step 100, then ``1 - (1 + s - 100)**(-2/3)``
    (with ``every=10``, ``"power"`` reaches a decay 10 times later). The averaged
    weights are swapped into the module for validation and at each epoch's end (so
    early-stopping snapshots hold them) and stay there after training.

    Parameters
    ----------
    decay : float, default=0.999
        Largest decay.
    every : int, default=1
        Steps between updates.
    warmup : {"linear", "power", "ema_pytorch"}, default="linear"
        The warm-up of the decay.
    exclude : tuple of str, default=()
        Parameters whose name contains one of these keep their iterates (e.g. posterior
        standard deviations).

    Examples
    --------
    >>> from sklpriv.utils import EMA
    >>> EMA(0.99).decay_at(step=1, n_updates=0)
    0.18181818181818182
    """

    def __init__(self, decay=0.999, every=1, warmup="linear", exclude=()):
        self.decay = decay
        self.every = every
        self.warmup = warmup
        self.exclude = exclude

    def decay_at(self, step: int, n_updates: int) -> float:
        """The decay of the update at optimiser step ``step`` (``n_updates`` before it)."""
        if self.warmup == "power":
            return min(self.decay, 1.0 - (2.0 + n_updates) ** (-2.0 / 3.0))
        if self.warmup == "ema_pytorch":
            if step <= _POWER_AFTER:
                return 0.0  # ema_pytorch's update_after_step: the average copies the weights
            return min(self.decay, 1.0 - (1.0 + step - _POWER_AFTER) ** (-2.0 / 3.0))
        return min(self.decay, (1.0 + step) / (10.0 + step))

    def initialize(self):
        self.averaged_, self.live_, self.step_, self.n_updates_ = None, None, 0, 0
        return self

    def on_train_begin(self, net, **kwargs):
        self.averaged_ = AveragedModel(net.module_, avg_fn=self._average, use_buffers=False)
        self.averaged_.update_parameters(net.module_)  # the average starts at the init
        self.live_, self.step_, self.n_updates_ = None, 0, 0

    def _average(self, averaged, current, n_averaged):
        return torch.lerp(averaged, current, 1.0 - self.decay_at(self.step_, self.n_updates_))

    def on_batch_begin(self, net, training, **kwargs):
        if training:
            self._use_live(net)
        else:
            self._use_average(net)

    def on_batch_end(self, net, training, **kwargs):
        if training:
            self.step_ += 1
            if self.step_ % self.every == 0:
                self.averaged_.update_parameters(net.module_)
                self.n_updates_ += 1

    def on_epoch_end(self, net, **kwargs):
        self._use_average(net)

    def on_train_end(self, net, **kwargs):
        self._use_average(net)
        self.averaged_, self.live_ = None, None  # nothing heavy in the pickle

    def _pairs(self, net):
        named = dict(self.averaged_.module.named_parameters())
        for name, p in net.module_.named_parameters():
            if not any(key in name for key in self.exclude):
                yield p, named[name]

    @torch.no_grad()
    def _use_average(self, net):
        if self.live_ is not None or not self.n_updates_:
            return
        self.live_ = [p.detach().clone() for p, _ in self._pairs(net)]
        for p, avg in self._pairs(net):
            p.copy_(avg)

    @torch.no_grad()
    def _use_live(self, net):
        if self.live_ is None:
            return
        for (p, _), live in zip(self._pairs(net), self.live_, strict=True):
            p.copy_(live)
        self.live_ = None


class _WarmupFactor:
    """``LambdaLR`` factor: linear from ``start`` to 1 over ``warmup`` steps."""

    def __init__(self, start: float, warmup: int):
        self.start, self.warmup = start, warmup

    def __call__(self, step: int) -> float:
        if not self.warmup:
            return 1.0
        return self.start + (1.0 - self.start) * min(step / self.warmup, 1.0)


class WarmupPlateau(Callback):
    """Linear warm-up, then halve the learning rate when the training loss plateaus.

    Diffusion-TS's ``ReduceLROnPlateauWithWarmup`` on torch's schedulers, stepped every
    optimiser step: a ``LambdaLR`` takes the rate from ``start * lr`` to ``lr`` over
    ``warmup`` steps; afterwards a ``ReduceLROnPlateau`` (relative ``threshold``,
    ``patience`` steps) fed each step's training loss multiplies it by ``factor``, never
    below ``min_lr``. (torch's ``SequentialLR`` does not accept ``ReduceLROnPlateau``.)

    Parameters
    ----------
    start : float, default=0.0
        Factor of the first step.
    warmup : int, default=0
        Warm-up steps.
    factor, patience, threshold, min_lr : float, int, float, float
        ``ReduceLROnPlateau``'s (defaults 0.5, 3000, 0.1, 0.0).

    Examples
    --------
    >>> import torch
    >>> from sklpriv.utils import WarmupPlateau
    >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    >>> sched = WarmupPlateau(start=0.1, warmup=10, patience=5).bind(opt)
    >>> rates = [sched.step_with(1.0) for _ in range(17)]
    >>> [round(r, 2) for r in rates[:1] + rates[4:5] + rates[9:10]], rates[-1]
    ([0.19, 0.55, 1.0], 0.5)
    """

    def __init__(self, start=0.0, warmup=0, factor=0.5, patience=3000, threshold=0.1, min_lr=0.0):
        self.start = start
        self.warmup = warmup
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.min_lr = min_lr

    def bind(self, optimizer):
        """Bind to ``optimizer`` (sets the first step's rate); return ``self``."""
        self.optimizer_, self.steps_ = optimizer, 0
        self.warmup_ = torch.optim.lr_scheduler.LambdaLR(
            optimizer, _WarmupFactor(self.start, self.warmup)
        )
        self.plateau_ = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            factor=self.factor,
            patience=self.patience,
            threshold=self.threshold,
            min_lr=self.min_lr,
        )
        return self

    def step_with(self, loss: float) -> float:
        """Advance one optimiser step with its loss; return the next step's rate."""
        self.steps_ += 1
        if self.steps_ <= self.warmup:
            self.warmup_.step()
        else:
            self.plateau_.step(loss)
        return self.optimizer_.param_groups[0]["lr"]

    def on_train_begin(self, net, **kwargs):
        self.bind(net.optimizer_)

    def on_batch_end(self, net, training, loss=None, **kwargs):
        if training:
            self.step_with(float(loss.detach()))

    def on_train_end(self, net, **kwargs):
        self.optimizer_ = self.warmup_ = self.plateau_ = None


class StepBudget(Callback):
    """Stop training after ``max_steps`` optimiser steps, mid-epoch if need be.

    :class:`LossNet` ends the training epoch once the budget is spent (its
    ``get_iterator`` stops yielding batches), so that epoch is closed as any other
    (validation, ``on_epoch_end`` of every callback, its history row); this callback,
    placed last, then stops training with skorch's ``KeyboardInterrupt``.

    Parameters
    ----------
    max_steps : int
        Optimiser steps.

    Examples
    --------
    >>> from sklpriv.utils import StepBudget
    >>> StepBudget(100).max_steps
    100
    """

    def __init__(self, max_steps: int):
        self.max_steps = max_steps

    def initialize(self):
        self.steps_ = 0
        return self

    @property
    def spent(self) -> bool:
        """Whether ``max_steps`` steps were taken."""
        return self.steps_ >= self.max_steps

    def on_train_begin(self, net, **kwargs):
        self.steps_ = 0

    def on_batch_end(self, net, training, **kwargs):
        if training:
            self.steps_ += 1

    def on_epoch_end(self, net, **kwargs):
        if self.spent:
            raise KeyboardInterrupt


class _Budgeted:
    """A training iterator that stops yielding once a :class:`StepBudget` is spent."""

    def __init__(self, iterator, budget: StepBudget):
        self.iterator, self.budget = iterator, budget

    def __len__(self) -> int:
        return len(self.iterator)

    def __iter__(self):
        for batch in self.iterator:
            if self.budget.spent:
                return
            yield batch


class EpochProgress(Callback):
    """A tqdm bar with one tick per epoch and the last losses (the ``verbose`` bar).

    Parameters
    ----------
    desc : str
        Label of the bar.

    Examples
    --------
    >>> from sklpriv.utils import EpochProgress
    >>> EpochProgress("CATSForecaster").desc
    'CATSForecaster'
    """

    def __init__(self, desc: str = "training"):
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        self.bar_ = progress_bar(net.max_epochs, self.desc, verbose=1)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        self.bar_.update(1)
        self.bar_.set_postfix(
            {k: f"{row[k]:.4f}" for k in ("train_loss", "valid_loss") if k in row}
        )

    def on_train_end(self, net, **kwargs):
        self.bar_.close()
        self.bar_ = None


def progress_bar(total: int, desc: str, verbose: int):
    """A tqdm bar of ``total`` ticks when ``verbose``, else ``None`` (shared with DPSAT).

    Parameters
    ----------
    total : int
        Number of ticks (epochs).
    desc : str
        Label.
    verbose : int
        ``0``: no bar.

    Returns
    -------
    bar : tqdm or None

    Examples
    --------
    >>> from sklpriv.utils import progress_bar
    >>> progress_bar(10, "fit", verbose=0) is None
    True
    """
    if not verbose:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="epoch")


def fit_net(
    module: torch.nn.Module,
    objective: Callable,
    train: tuple,
    *,
    valid: tuple | None = None,
    lr: float,
    batch_size: int,
    max_epochs: int,
    patience: int | None = None,
    valid_batch_size: int | None = None,
    callbacks: Sequence[Callback] = (),
    user_callbacks: Sequence | None = None,
    generator: torch.Generator | None = None,
    device="cpu",
    verbose: int = 0,
    desc: str = "training",
    optimizer_kwargs: dict | None = None,
    max_steps: int | None = None,
) -> LossNet:
    """Train ``module`` with Adam through skorch: the one training recipe.

    Callbacks run in this order: the estimator's ``callbacks`` (EMA first, schedules),
    early stopping on the validation loss (``patience`` epochs, best state restored),
    the progress bar, the user's ``user_callbacks``, and the step budget last.

    Parameters
    ----------
    module : torch.nn.Module
        The initialised network, trained in place.
    objective : callable
        ``objective(module, X, y, training) -> scalar loss`` (see :class:`LossNet`).
    train : tuple
        ``(X, y)`` tensors (``y`` may be ``None``; ``X`` may be a tuple or dict).
    valid : tuple or None, default=None
        Validation ``(X, y)``; ``None``: no validation, no early stopping.
    lr, batch_size, max_epochs : float, int, int
        Adam's learning rate, rows per batch, epochs.
    patience : int or None, default=None
        Early-stopping patience (with ``valid``).
    valid_batch_size : int or None, default=None
        Rows per validation batch (``None``: ``batch_size``).
    callbacks : sequence of skorch callbacks, default=()
        The estimator's own needs (EMA, schedules, clipping).
    user_callbacks : sequence or None, default=None
        The estimator's ``callbacks`` parameter: skorch callbacks or ``(name, callback)``.
    generator : torch.Generator or None, default=None
        Seeds the shuffling.
    device : str or None, default="cpu"
        See :func:`get_device` (``None``: CUDA when available).
    verbose : int, default=0
        > 0: :class:`EpochProgress`.
    desc : str, default="training"
        Label of the progress bar.
    optimizer_kwargs : dict or None, default=None
        Extra Adam arguments (``betas``).
    max_steps : int or None, default=None
        :class:`StepBudget`.

    Returns
    -------
    net : LossNet
        The fitted net (``net.history`` is skorch's ``History``).

    Examples
    --------
    >>> import torch
    >>> from sklpriv.utils import fit_net
    >>> def mse(module, X, y, training):
    ...     return ((module(X) - y) ** 2).mean()
    >>> x = torch.linspace(-1, 1, 64)[:, None]
    >>> net = fit_net(torch.nn.Linear(1, 1), mse, (x, 3 * x), lr=0.1, batch_size=16,
    ...               max_epochs=50, generator=torch.Generator().manual_seed(0))
    >>> bool(net.history[-1, "train_loss"] < 1e-2)
    True
    """
    cbs = [(f"sklpriv_{i}", cb) for i, cb in enumerate(callbacks)]
    if valid is not None and patience is not None:
        cbs.append(("early_stopping", _early_stopping(patience)))
    if verbose:
        cbs.append(("progress", EpochProgress(desc)))
    cbs += _named(user_callbacks)
    if max_steps is not None:
        cbs.append(("step_budget", StepBudget(max_steps)))
    net = LossNet(
        module,
        objective,
        optimizer=torch.optim.Adam,
        lr=lr,
        max_epochs=max_epochs,
        batch_size=batch_size,
        iterator_train=TensorLoader,
        iterator_train__shuffle=True,
        iterator_train__generator=generator,
        iterator_valid=TensorLoader,
        iterator_valid__batch_size=valid_batch_size or batch_size,
        train_split=None if valid is None else predefined_split(Dataset(*valid)),
        callbacks=cbs,
        verbose=0,
        device=str(get_device(device)),
        **{f"optimizer__{k}": v for k, v in (optimizer_kwargs or {}).items()},
    )
    net.fit(*train)
    net.train_split = None  # do not keep the validation data in the fitted model
    for _, cb in net.callbacks_:
        if isinstance(cb, EarlyStopping):
            cb.best_model_weights_ = None  # restored already; no second copy in the pickle
    module.eval()
    return net


def _early_stopping(patience: int) -> EarlyStopping:
    # improvement: a validation loss 1e-7 below the best (absolute), best state restored
    return EarlyStopping(
        monitor="valid_loss",
        patience=patience,
        threshold=1e-7,
        threshold_mode="abs",
        load_best=True,
    )


def _named(user_callbacks) -> list:
    if user_callbacks is None:
        return []
    out = []
    for i, cb in enumerate(user_callbacks):
        out.append(cb if isinstance(cb, tuple) else (f"user_{i}_{type(cb).__name__}", cb))
    return out


def history_rows(net: NeuralNet) -> list[dict]:
    """Per epoch ``epoch``, ``train_loss`` (and ``valid_loss``) from a skorch history.

    A partial last epoch (stopped by a step budget) gets its batches' mean loss.

    Parameters
    ----------
    net : skorch.NeuralNet
        A fitted net.

    Returns
    -------
    history : list of dict

    Examples
    --------
    >>> import torch
    >>> from sklpriv.utils import fit_net, history_rows
    >>> net = fit_net(torch.nn.Linear(1, 1), lambda m, X, y, t: (m(X) ** 2).mean(),
    ...               (torch.ones(8, 1), None), lr=0.1, batch_size=4, max_epochs=2)
    >>> [sorted(row) for row in history_rows(net)]
    [['epoch', 'train_loss'], ['epoch', 'train_loss']]
    """
    rows = []
    for row in net.history:
        batches = [b for b in row["batches"] if "train_loss" in b]
        if not batches:
            continue
        out = {"epoch": row["epoch"]}
        if "train_loss" in row:
            out["train_loss"] = float(row["train_loss"])
        else:
            n = sum(b["train_batch_size"] for b in batches)
            out["train_loss"] = sum(b["train_loss"] * b["train_batch_size"] for b in batches) / n
        if "valid_loss" in row:
            out["valid_loss"] = float(row["valid_loss"])
        rows.append(out)
    return rows
