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
