"""The networks of the tabular torch classifiers: an MLP, or the user's module."""

from __future__ import annotations

import copy

import torch


def build_module(module, hidden_layer_sizes, n_in: int, n_out: int) -> torch.nn.Module:
    """The estimator's network: a ReLU MLP, a user class, or a copy of a user instance.

    Parameters
    ----------
    module : None, torch.nn.Module class or instance
        ``None``: ``Linear``/``ReLU`` layers of ``hidden_layer_sizes``; a class is called as
        ``module(n_in, n_out)``; an instance is deep-copied (never trained in place).
    hidden_layer_sizes : sequence of int
        Hidden widths of the default MLP.
    n_in, n_out : int
        Input features and outputs (logits).

    Returns
    -------
    module : torch.nn.Module

    Examples
    --------
    >>> from sklpriv.utils import build_module
    >>> build_module(None, (8,), 4, 3)
    Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=3, bias=True)
    )
    """
    if isinstance(module, torch.nn.Module):
        return copy.deepcopy(module)
    if module is not None:
        return module(n_in, n_out)
    layers: list[torch.nn.Module] = []
    for h in hidden_layer_sizes:
        layers += [torch.nn.Linear(n_in, h), torch.nn.ReLU()]
        n_in = h
    layers.append(torch.nn.Linear(n_in, n_out))
    return torch.nn.Sequential(*layers)


@torch.no_grad()
def forward_float64(module: torch.nn.Module, X) -> torch.Tensor:
    """Outputs of a float64 copy of ``module``: a row's result does not depend on the batch.

    Without gradients, in blocks of :data:`PREDICT_CHUNK` rows (memory bounded by a block).

    Parameters
    ----------
    module : torch.nn.Module
        Left as it is (a copy runs).
    X : array-like of shape (n_samples, ...)

    Returns
    -------
    out : torch.Tensor (float64)

    Examples
    --------
    >>> import numpy as np, torch
    >>> from sklpriv.utils import forward_float64
    >>> forward_float64(torch.nn.Linear(3, 2), np.zeros((4, 3))).dtype
    torch.float64
    """
    from ._chunks import map_row_chunks
    from ._torch import to_tensor

    net = copy.deepcopy(module).double()
    with torch.no_grad():
        return map_row_chunks(lambda block: net(to_tensor(block, dtype=torch.float64)), X)


class ModuleLogitsMixin:
    """The attacks' hook for classifiers whose ``module_`` maps X to logits."""

    def _torch_logits(self, X: torch.Tensor, random: bool = False) -> torch.Tensor:
        """Logits of an input tensor, differentiable in ``X`` (the hook of the attacks in
        :mod:`sklpriv.robust`; ``random`` is ignored: the network is deterministic).
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        return self.module_(X.to(next(self.module_.parameters()).dtype))
