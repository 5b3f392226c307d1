"""The old training loop, kept only until BayesNAM is on the skorch engine (``_engine``)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch


def train_module(
    module: torch.nn.Module,
    batch_loss: Callable[..., torch.Tensor],
    train_tensors: Sequence[torch.Tensor],
    *,
    val_loss: Callable[[], float] | None = None,
    lr: float = 1e-3,
    batch_size: int = 256,
    max_epochs: int = 100,
    patience: int | None = 10,
    generator: torch.Generator | None = None,
    verbose: int = 0,
    desc: str = "training",
    on_epoch_end: Callable[[int], None] | None = None,
    lr_factor: Callable[[int], float] | None = None,
    max_steps: int | None = None,
    grad_clip: float | None = None,
    betas: tuple[float, float] = (0.9, 0.999),
    ema_decay: float | Callable[[int], float | None] | None = None,
    ema_params: Sequence[torch.nn.Parameter] | None = None,
    step_lr: Callable[[int, float | None], float] | None = None,
) -> list[dict]:
    """Train ``module`` with Adam on shuffled mini-batches; keep the best validation state.

    Parameters
    ----------
    module : torch.nn.Module
        Module whose parameters are trained (put in ``train()`` mode during epochs and
        ``eval()`` mode for the validation loss and at the end).
    batch_loss : callable
        ``batch_loss(*batch_tensors) -> scalar loss``.
    train_tensors : sequence of tensors
        Tensors with the same first dimension (on the module's device), sliced into
        batches.
    val_loss : callable or None, default=None
        ``val_loss() -> float`` evaluated after every epoch; ``None``: no early stopping.
    lr, batch_size, max_epochs : float, int, int
        Adam learning rate, batch size, epochs.
    patience : int or None, default=10
        Epochs without validation improvement before stopping.
    generator : torch.Generator or None
        Seeds the shuffling.
    verbose : int, default=0
        > 0: a progress bar with the losses.
    desc : str
        Label of the progress bar.
    on_epoch_end : callable or None
        Called with the epoch number after each epoch.
    lr_factor : callable or None
        ``lr_factor(epoch) -> float``: the learning rate of epoch ``epoch`` (1-based) is
        ``lr * lr_factor(epoch)``; ``None``: constant.
    max_steps : int or None, default=None
        Stop after this many optimiser steps (the last epoch may be partial).
    grad_clip : float or None, default=None
        Clip the gradient's global norm to this value before each step.
    betas : tuple of float, default=(0.9, 0.999)
        Adam's betas.
    ema_decay : float, callable or None, default=None
        Keep an exponential moving average of the parameters over optimiser steps
        (Polyak averaging), decay ``min(ema_decay, (1 + step) / (10 + step))``, or
        ``ema_decay(step)`` for a callable (``None``: no update at that step). The
        averaged parameters are validated, kept as the best state and left in the module
        at the end (once updated at least once). ``None``: the iterates themselves.
    ema_params : sequence of parameters or None, default=None
        The parameters averaged with ``ema_decay`` (the others keep their iterates);
        ``None``: all trained parameters.
    step_lr : callable or None, default=None
        A per-step schedule: ``step_lr(0, None)`` gives the factor of ``lr`` for the first
        optimiser step and ``step_lr(step, loss)``, called after each step with that
        step's loss, the factor for the next one (e.g. :class:`WarmupPlateau`); it
        overrides ``lr_factor``.

    Returns
    -------
    history : list of dict
        Per epoch: ``epoch``, ``train_loss`` and, with validation, ``valid_loss``.

    Examples
    --------
    >>> import torch
    >>> from sklpriv.utils import train_module
    >>> net = torch.nn.Linear(1, 1)
    >>> x = torch.linspace(-1, 1, 64)[:, None]
    >>> y = 3 * x
    >>> hist = train_module(net, lambda xb, yb: ((net(xb) - yb) ** 2).mean(), [x, y],
    ...                     lr=0.1, batch_size=16, max_epochs=50, patience=None,
    ...                     generator=torch.Generator().manual_seed(0))
    >>> hist[-1]["train_loss"] < 1e-2
    True
    """
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, betas=betas)
    ema, averaged = None, params if ema_params is None else list(ema_params)
    if ema_decay is not None:
        ema = [p.detach().clone() for p in averaged]
    if ema_decay is None or callable(ema_decay):
        schedule = ema_decay
    else:
        schedule = lambda step: min(ema_decay, (1 + step) / (10 + step))  # noqa: E731 warm-up
    n_averaged = 0
    step = 0
    n = train_tensors[0].shape[0]
    if step_lr is not None:
        _set_lr(opt, lr * step_lr(0, None))
    history: list[dict] = []
    best, best_state, wait = float("inf"), None, 0
    progress = None
    if verbose:
        from tqdm.auto import tqdm

        progress = tqdm(total=max_epochs, desc=desc, unit="epoch")
    try:
        for epoch in range(1, max_epochs + 1):
            module.train()
            if lr_factor is not None and step_lr is None:
                _set_lr(opt, lr * lr_factor(epoch))
            perm = torch.randperm(n, generator=generator).to(train_tensors[0].device)
            total, seen = 0.0, 0
            for start in range(0, n, batch_size):
                idx = perm[start : start + batch_size]
                opt.zero_grad()
                loss = batch_loss(*(t[idx] for t in train_tensors))
                loss.backward()
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(params, grad_clip)
                opt.step()
                step += 1
                if step_lr is not None:
                    _set_lr(opt, lr * step_lr(step, float(loss.detach())))
                decay = schedule(step) if schedule is not None else None
                if decay is not None:
                    n_averaged += 1
                    with torch.no_grad():
                        for pe, p in zip(ema, averaged, strict=True):
                            pe.lerp_(p, 1 - decay)
                total += float(loss.detach()) * len(idx)
                seen += len(idx)
                if max_steps is not None and step >= max_steps:
                    break
            row = {"epoch": epoch, "train_loss": total / seen}
            improved = False
            if val_loss is not None:
                module.eval()
                with torch.no_grad():
                    live = _swap_in(averaged, ema if n_averaged else None)  # the average
                    row["valid_loss"] = float(val_loss())
                    if row["valid_loss"] < best - 1e-7:
                        improved, best = True, row["valid_loss"]
                        best_state = copy.deepcopy(module.state_dict())
                    _swap_in(averaged, live)
            history.append(row)
            if on_epoch_end is not None:
                on_epoch_end(epoch)
            if progress is not None:
                progress.update(1)
                progress.set_postfix({k: f"{v:.4f}" for k, v in row.items() if k != "epoch"})
            if val_loss is not None:
                wait = 0 if improved else wait + 1
                if patience is not None and wait >= patience:
                    break
            if max_steps is not None and step >= max_steps:
                break
    finally:
        if progress is not None:
            progress.close()
    if best_state is not None:
        module.load_state_dict(best_state)
    elif n_averaged:
        with torch.no_grad():
            _swap_in(averaged, ema)
    module.eval()
    return history


def _set_lr(opt, value):
    for group in opt.param_groups:
        group["lr"] = value


def _swap_in(params, values):
    """Copy ``values`` into ``params`` in place; return the previous values (None: no-op)."""
    if values is None:
        return None
    old = [p.detach().clone() for p in params]
    for p, v in zip(params, values, strict=True):
        p.copy_(v)
    return old
