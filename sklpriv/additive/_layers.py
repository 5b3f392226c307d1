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

# The weights of the two-valued features enter as LINEAR_GAIN * w: with Adam this is a 10x
# learning rate for those single weights (a subnetwork moves many weights at once). The KL
# uses prior_sigma / LINEAR_GAIN, so the prior on the effective slope is unchanged.
LINEAR_GAIN = 10.0
# NAM initialises the ExU log-slopes N(4, 0.5): steep units that can follow jagged shapes.
# Their prior is centred there too (N(EXU_LOG_SLOPE, prior_sigma^2)): a prior at 0 (slope
# 1) pulls every log-slope towards smooth units and cost California 0.001-0.002 RMSE.
EXU_LOG_SLOPE = 4.0


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
    linear_features : sequence of int
        Features with two distinct values (one-hot columns): any function of them is
        affine, so they get one (Bayesian) weight instead of a subnetwork, which makes
        one-hot-heavy data (Adult: 60 of 66 columns) about ten times cheaper.
    exu_centres : array-like of shape (n_net_features, hidden_sizes[0]) or None
        Initial ExU centres (inputs where each unit switches on), e.g. drawn from the
        feature's distinct training values so that a heavy-tailed feature has units where
        its values are; ``None``: N(0, 1).
    """

    def __init__(
        self,
        n_features,
        hidden_sizes,
        n_out,
        activation="relu",
        prior_sigma=1.0,
        dropout=0.0,
        linear_features=(),
        exu_centres=None,
    ):
        super().__init__()
        self.n_features = n_features
        self.activation = activation
        self.prior_sigma = prior_sigma
        self.dropout = dropout
        lin = sorted(set(int(j) for j in linear_features))
        self.net_features = [j for j in range(n_features) if j not in lin]
        self.linear_features = lin
        # output column j of forward() comes from position order[j] of [nets, linear]
        pos = {j: i for i, j in enumerate(self.net_features + lin)}
        self.order = [pos[j] for j in range(n_features)]
        n_net = len(self.net_features)
        sizes = [1, *hidden_sizes, n_out]
        self.w_mu = nn.ParameterList()
        self.b_mu = nn.ParameterList()
        self.w_rho = nn.ParameterList()
        self.b_rho = nn.ParameterList()
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            if not n_net:
                break
            if i == 0 and activation == "exu":
                w = torch.randn(n_net, a, b) * 0.5 + EXU_LOG_SLOPE  # NAM: N(4, 0.5)
                bias = torch.randn(n_net, 1, b)  # centres c
                if exu_centres is not None:
                    bias = torch.as_tensor(exu_centres, dtype=torch.float32).reshape(n_net, 1, b)
            else:
                bound = 1.0 / math.sqrt(a)
                w = (torch.rand(n_net, a, b) * 2 - 1) * bound * math.sqrt(3)
                bias = torch.zeros(n_net, 1, b)
            self.w_mu.append(nn.Parameter(w))
            self.b_mu.append(nn.Parameter(bias))
            if prior_sigma is not None:
                self.w_rho.append(nn.Parameter(torch.full_like(w, -5.0)))
                self.b_rho.append(nn.Parameter(torch.full_like(bias, -5.0)))
        if lin:  # a function on two values is affine: one weight per output (no bias,
            # the intercept and the centring absorb it)
            w = torch.zeros(1, len(lin), n_out)
            self.w_mu.append(nn.Parameter(w))
            if prior_sigma is not None:
                self.w_rho.append(nn.Parameter(torch.full_like(w, -5.0)))

    def _layers(self):
        """(mu, rho or None) per parameter tensor, grouped per layer."""
        rhos_w = list(self.w_rho) if self.bayesian else [None] * len(self.w_mu)
        rhos_b = list(self.b_rho) if self.bayesian else [None] * len(self.b_mu)
        layers = []
        for i, (mu, rho) in enumerate(zip(self.w_mu, rhos_w, strict=True)):
            if i < len(self.b_mu):
                layers.append([(mu, rho), (self.b_mu[i], rhos_b[i])])
            else:  # the linear block of the two-valued features
                layers.append([(mu, rho)])
        return layers

    @property
    def bayesian(self) -> bool:
        return self.prior_sigma is not None

    def sample_weights(self, n_draws: int, generator=None, mean: bool = False):
        """``n_draws`` weight samples per layer, each ``(S, F, in, out)``."""
        out = []
        for layer in self._layers():
            ws = []
            for mu, rho in layer:
                if rho is None or mean:
                    ws.append(mu.unsqueeze(0).expand(n_draws, *mu.shape))
                else:
                    eps = torch.randn((n_draws, *mu.shape), generator=generator, device=mu.device)
                    ws.append(mu + F.softplus(rho) * eps)
            out.append(tuple(ws))
        return out

    def forward(self, x, weights):
        """Per-feature outputs for inputs ``x`` (B, F) under weights ``(S, F, ...)``.

        Returns
        -------
        out : tensor of shape (S, B, F, n_out)
        """
        S = weights[0][0].shape[0]
        parts = []
        n_net_layers = len(self.b_mu)
        if self.net_features:
            xn = x[:, self.net_features] if self.linear_features else x  # no copy if all
            parts.append(self._nets(xn, weights[:n_net_layers], S))
        if self.linear_features:
            (w,) = weights[n_net_layers]  # (S, 1, F_lin, n_out)
            parts.append(x[:, self.linear_features][None, :, :, None] * (LINEAR_GAIN * w))
        out = torch.cat(parts, 2) if len(parts) > 1 else parts[0]
        if self.linear_features and self.net_features:
            out = out[:, :, self.order]
        return out

    def _nets(self, x, weights, S):
        n_net = x.shape[1]
        B = x.shape[0]
        h = x.T.reshape(1, n_net, B, 1).expand(S, -1, -1, -1)
        h = h.reshape(S * n_net, B, 1)
        n_layers = len(weights)
        for i, (w, b) in enumerate(weights):
            w = w.reshape(S * n_net, *w.shape[2:])
            b = b.reshape(S * n_net, *b.shape[2:])
            if i == 0 and self.activation == "exu":
                h = torch.clamp(torch.exp(w) * (h - b), 0.0, 1.0)  # (S*F, B, h1)
            else:
                h = torch.baddbmm(b, h, w)
                if i < n_layers - 1:
                    h = F.relu(h)
            if i < n_layers - 1 and self.dropout > 0 and self.training:
                h = F.dropout(h, self.dropout, training=True)
        return h.reshape(S, n_net, B, -1).permute(0, 2, 1, 3)

    def kl(self) -> torch.Tensor:
        """KL(q || p) summed over all weights (0 if deterministic).

        The prior is N(0, prior_sigma^2) for every weight but the ExU log-slopes, whose
        prior is N(EXU_LOG_SLOPE, prior_sigma^2), centred at NAM's initialisation.
        """
        if not self.bayesian:
            return torch.zeros(())
        total = torch.zeros(())
        for i, layer in enumerate(self._layers()):
            linear = i >= len(self.b_mu)  # the two-valued features' block
            sp = self.prior_sigma / (LINEAR_GAIN if linear else 1.0)
            for k, (mu, rho) in enumerate(layer):
                sigma = F.softplus(rho)
                if i == 0 and k == 0 and not linear and self.activation == "exu":
                    mu = mu - EXU_LOG_SLOPE
                kl = math.log(sp) - torch.log(sigma) + (sigma**2 + mu**2) / (2 * sp**2) - 0.5
                total = total + kl.sum()
        return total
