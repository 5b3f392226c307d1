"""Vectorised feature subnetworks: every feature's MLP in one batched matmul.

Weights of layer ``l`` have shape ``(F, in_l, out_l)``; the input ``(B, F)`` becomes
``(F, B, 1)`` and flows through ``torch.baddbmm`` for all features at once, so 100
features cost about what 10 do. Bayesian layers hold a mean-field Gaussian posterior
``N(mu, softplus(rho)^2)`` per weight (Bayes by Backprop, Blundell et al. 2015) and draw
``S`` weight samples that are shared by all inputs of a call (needed for coherent shape
function draws); ``prior_sigma=None`` gives the deterministic NAM.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class FeatureNets(nn.Module):
    """``F`` independent MLPs ``R -> R^n_out``, one per feature, evaluated in parallel.

    Parameters
    ----------
    n_features : int
    hidden_sizes : tuple of int
    n_out : int
        Outputs per feature (1, or the number of classes for a multiclass model).
    activation : {"relu", "exu"}
        ``"exu"``: the NAM's exp-centred first unit ``clip(exp(w) (x - c), 0, 1)``.
    prior_sigma : float or None
        Prior standard deviation; ``None``: deterministic weights.
    dropout : float
        Dropout on hidden units.
    """

    def __init__(
        self, n_features, hidden_sizes, n_out, activation="relu", prior_sigma=1.0, dropout=0.0
    ):
        super().__init__()
        self.n_features = n_features
        self.activation = activation
        self.prior_sigma = prior_sigma
        self.dropout = dropout
        sizes = [1, *hidden_sizes, n_out]
        self.w_mu = nn.ParameterList()
        self.b_mu = nn.ParameterList()
        self.w_rho = nn.ParameterList()
        self.b_rho = nn.ParameterList()
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            if i == 0 and activation == "exu":
                w = torch.randn(n_features, a, b) * 0.5 + 4.0  # NAM: N(4, 0.5) log-slopes
                bias = torch.randn(n_features, 1, b)  # centres c
            else:
                bound = 1.0 / math.sqrt(a)
                w = (torch.rand(n_features, a, b) * 2 - 1) * bound * math.sqrt(3)
                bias = torch.zeros(n_features, 1, b)
            self.w_mu.append(nn.Parameter(w))
            self.b_mu.append(nn.Parameter(bias))
            if prior_sigma is not None:
                self.w_rho.append(nn.Parameter(torch.full_like(w, -5.0)))
                self.b_rho.append(nn.Parameter(torch.full_like(bias, -5.0)))

    @property
    def bayesian(self) -> bool:
        return self.prior_sigma is not None

    def sample_weights(self, n_draws: int, generator=None, mean: bool = False):
        """``n_draws`` weight samples per layer, each ``(S, F, in, out)``."""
        out = []
        for i in range(len(self.w_mu)):
            ws = []
            for mu, rho_list in ((self.w_mu[i], self.w_rho), (self.b_mu[i], self.b_rho)):
                if not self.bayesian or mean:
                    ws.append(mu.unsqueeze(0).expand(n_draws, *mu.shape))
                else:
                    sigma = F.softplus(rho_list[i])
                    eps = torch.randn((n_draws, *mu.shape), generator=generator, device=mu.device)
                    ws.append(mu + sigma * eps)
            out.append(tuple(ws))
        return out

    def forward(self, x, weights):
        """Per-feature outputs for inputs ``x`` (B, F) under weights ``(S, F, ...)``.

        Returns
        -------
        out : tensor of shape (S, B, F, n_out)
        """
        S = weights[0][0].shape[0]
        B = x.shape[0]
        h = x.T.reshape(1, self.n_features, B, 1).expand(S, -1, -1, -1)
        h = h.reshape(S * self.n_features, B, 1)
        n_layers = len(weights)
        for i, (w, b) in enumerate(weights):
            w = w.reshape(S * self.n_features, *w.shape[2:])
            b = b.reshape(S * self.n_features, *b.shape[2:])
            if i == 0 and self.activation == "exu":
                h = torch.clamp(torch.exp(w) * (h - b), 0.0, 1.0)  # (S*F, B, h1)
            else:
                h = torch.baddbmm(b, h, w)
                if i < n_layers - 1:
                    h = F.relu(h)
            if i < n_layers - 1 and self.dropout > 0 and self.training:
                h = F.dropout(h, self.dropout, training=True)
        return h.reshape(S, self.n_features, B, -1).permute(0, 2, 1, 3)

    def kl(self) -> torch.Tensor:
        """KL(q || N(0, prior_sigma^2)) summed over all weights (0 if deterministic)."""
        if not self.bayesian:
            return torch.zeros(())
        total = torch.zeros(())
        sp = self.prior_sigma
        for mus, rhos in ((self.w_mu, self.w_rho), (self.b_mu, self.b_rho)):
            for mu, rho in zip(mus, rhos, strict=True):
                sigma = F.softplus(rho)
                total = (
                    total
                    + (
                        math.log(sp) - torch.log(sigma) + (sigma**2 + mu**2) / (2 * sp**2) - 0.5
                    ).sum()
                )
        return total
