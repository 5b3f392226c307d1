"""Vectorised feature subnetworks: every feature's MLP in one batched matmul.

Weights of layer ``l`` have shape ``(F, in_l, out_l)``; the input ``(B, F)`` becomes
``(F, B, 1)`` and flows through ``torch.baddbmm`` for all features at once, so 100
features cost about what 10 do. Bayesian layers hold a mean-field Gaussian posterior
``N(mu, softplus(rho)^2)`` per weight (Bayes by Backprop, Blundell et al. 2015) and draw
``S`` weight samples that are shared by all inputs of a call (needed for coherent shape
function draws); ``prior_sigma=None`` gives the deterministic NAM.

At prediction the subnetworks need not be run at all: a subnetwork maps one input through
affine maps and ReLU (or ExU's clipped linear units), so it is linear between *knots*,
the inputs where some unit switches on or off (a few hundred per subnetwork).
:meth:`FeatureNets.piecewise_linear` finds them layer by layer and
:class:`PiecewiseLinear` evaluates the functions from their values and slopes at the
knots: a search among the knots and one multiply-add per input instead of a forward pass
through every layer (tens of times less work), exact up to float64 rounding, and every
input's result depends on nothing but that input.
"""

from __future__ import annotations

import math

import numpy as np
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
# Knots further out than this (in standardised input units) are dropped: the piecewise-
# linear form is exact for inputs up to it (the estimators refuse inputs beyond it).
KNOT_RANGE = 1e150
# More knots than this in one draw of one subnetwork: no piecewise-linear form (the caller
# runs the network instead). Default-sized subnetworks have a few hundred.
MAX_KNOTS = 4096
_KNOT_BLOCK = 2**22  # candidate knots held at once while finding them (32 MiB of float64)


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
        h = self._stack(h.reshape(S * n_net, B, 1), _flat(weights))
        return h.reshape(S, n_net, B, -1).permute(0, 2, 1, 3)

    @torch.no_grad()
    def last_hidden(self, x):
        """The inputs of every subnetwork's last layer at the posterior means.

        The subnetworks are linear in their last layer's weights on these features: the
        basis of the last-layer posterior. Evaluation mode (no dropout).

        Parameters
        ----------
        x : tensor of shape (B, F)

        Returns
        -------
        h : tensor of shape (B, n_net_features, H)
            ``H``: the last hidden size (1, the input itself, without hidden layers).
        """
        n_layers = len(self.b_mu)
        xn = x[:, self.net_features]
        h = xn.T.reshape(len(self.net_features), -1, 1)
        if n_layers > 1:
            pairs = zip(self.w_mu[: n_layers - 1], self.b_mu[: n_layers - 1], strict=True)
            h = self._stack(h, [(w.detach(), b.detach()) for w, b in pairs], activate_last=True)
        return h.permute(1, 0, 2)

    def _stack(self, h, weights, activate_last: bool = False):
        """Inputs ``h`` (G, B, 1) of G subnetworks through layers ``(w, b)`` (G, ...).

        The last layer given gets no activation (unless ``activate_last``): a truncated
        stack returns that layer's pre-activations.
        """
        n_layers = len(weights)
        for i, (w, b) in enumerate(weights):
            if i == 0 and self.activation == "exu":
                h = torch.clamp(torch.exp(w) * (h - b), 0.0, 1.0)  # (G, B, h1)
            else:
                h = torch.baddbmm(b, h, w)
                if i < n_layers - 1 or activate_last:
                    h = F.relu(h)
            if i < n_layers - 1 and self.dropout > 0 and self.training:
                h = F.dropout(h, self.dropout, training=True)
        return h

    @torch.no_grad()
    def piecewise_linear(self, weights, max_knots: int = MAX_KNOTS):
        """Exact piecewise-linear form of every subnetwork under every weight draw.

        The knots are found layer by layer: a unit's pre-activation is linear between the
        knots of the layers below it, so it crosses zero at most once between two of them
        (or beyond the outermost, on a ray), and each crossing is a knot of the layers
        above. The functions are then stored by their slopes between the knots and their
        value at one end of each segment. Evaluation mode only (no dropout).

        Parameters
        ----------
        weights : list of tuple of tensor
            Weight draws from :meth:`sample_weights`, in float64 for exact knots.
        max_knots : int, default=MAX_KNOTS
            Give up (return ``None``) when one draw of one subnetwork has more knots.

        Returns
        -------
        pwl : PiecewiseLinear or None
            ``pwl(x, j)`` equals ``forward``'s output column ``j`` for every draw.
        """
        S = weights[0][0].shape[0]
        n_layers = len(self.b_mu)
        parts = []
        if self.net_features:
            nets = self._net_knots(_flat(weights[:n_layers]), max_knots)
            if nets is None:
                return None
            parts.append([a.reshape(S, len(self.net_features), *a.shape[1:]) for a in nets])
        if self.linear_features:  # f(x) = 0 + (x - 0) * LINEAR_GAIN * w, as in forward
            g = LINEAR_GAIN * weights[n_layers][0][:, 0]  # (S, F_lin, n_out)
            t = torch.tensor([-1.0, 1.0], dtype=g.dtype).expand(*g.shape[:2], 2)
            slopes = torch.stack([g, g], 2)
            parts.append([t, torch.zeros_like(t), torch.zeros_like(slopes), slopes])
        P = max(p[0].shape[-1] for p in parts)
        arrays = (
            torch.cat([_pad_last(p[i], P, dim=2) for p in parts], 1)[:, self.order].numpy()
            for i in range(4)
        )
        return PiecewiseLinear(*arrays)

    def _net_knots(self, weights, max_knots):
        """Knots, values and slopes of G = S * n_net subnetworks, in blocks (memory)."""
        width = max([1, *(w.shape[-1] for w, _ in weights)])
        block = max(1, _KNOT_BLOCK // (max_knots * width))
        out = []
        for g in range(0, weights[0][0].shape[0], block):
            blk = [(w[g : g + block], b[g : g + block]) for w, b in weights]
            res = self._block_knots(blk, max_knots)
            if res is None:
                return None
            out.append(res)
        P = max(r[0].shape[1] for r in out)
        return [torch.cat([_pad_last(r[i], P, dim=1) for r in out]) for i in range(4)]

    def _block_knots(self, weights, max_knots):
        """Knots (with sentinels), anchors, values there and slopes of a block of nets."""
        w0, b0 = weights[0]  # (G, 1, h1), (G, 1, h1)
        if self.activation == "exu":  # clip(exp(w) (x - c), 0, 1): kinks at c, c + exp(-w)
            real = torch.cat([b0[:, 0], b0[:, 0] + torch.exp(-w0[:, 0])], 1)
        else:
            real = -b0[:, 0] / w0[:, 0]  # relu(w x + b); w = 0 gives no knot (inf/nan)
        real = _compact(real)
        for layer in range(1, len(weights) - 1):
            if real.shape[1] > max_knots:
                return None
            pts = _with_sentinels(real)
            a = self._stack(pts[:, :, None], weights[: layer + 1])  # its pre-activations
            real = _compact(torch.cat([real, _zero_crossings(pts, a)], 1))
        if real.shape[1] > max_knots:
            return None
        pts = _with_sentinels(real)
        values = self._stack(pts[:, :, None], weights)  # (G, P, n_out)
        dt = (pts[:, 1:] - pts[:, :-1])[..., None]
        slopes = torch.where(dt > 0, (values[:, 1:] - values[:, :-1]) / dt.clamp_min(1e-300), 0.0)
        # past the last knot (the outer sentinel): the ray's slope, from the last segment
        slopes = torch.cat([slopes, slopes[:, -1:]], 1)
        # each segment is anchored at its end nearer 0: a far knot (a unit switching at
        # 1e12) would otherwise cost the inputs near the data their precision
        right = pts[:, 1:].abs() < pts[:, :-1].abs()
        at = torch.arange(pts.shape[1]) + torch.cat([right, right[:, :1] & False], 1)
        anchor_values = values.gather(1, at[..., None].expand(-1, -1, values.shape[-1]))
        return pts, pts.gather(1, at), anchor_values, slopes

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


def _flat(weights):
    """Layers ``(w, b)`` of shape (S, F, ...) as (S * F, ...): one batch of subnetworks."""
    return [(w.reshape(-1, *w.shape[2:]), b.reshape(-1, *b.shape[2:])) for w, b in weights]


def _pad_last(a, size, dim):
    """Pad ``a`` to ``size`` along ``dim`` by repeating its last entry."""
    n = a.shape[dim]
    if n == size:
        return a
    last = a.narrow(dim, n - 1, 1)
    return torch.cat([a, last.expand(*a.shape[:dim], size - n, *a.shape[dim + 1 :])], dim)


def _compact(c):
    """Finite entries of each row of ``c`` (G, N), sorted, then ``inf``: (G, Q >= 1)."""
    fin = torch.isfinite(c) & (c.abs() <= KNOT_RANGE)
    cnt = fin.sum(1)
    out = torch.full((len(c), max(1, int(cnt.max()))), torch.inf, dtype=c.dtype)
    rows = torch.repeat_interleave(torch.arange(len(c)), cnt)
    cols = torch.arange(len(rows)) - (torch.cumsum(cnt, 0) - cnt)[rows]
    out[rows, cols] = c[fin]
    return out.sort(1).values


def _with_sentinels(real):
    """Knots (G, Q) (sorted, ``inf``-padded) with two points beyond each end: (G, Q + 4).

    ``pts[:, :2]`` lie left of every knot, ``pts[:, -2:]`` right of every knot (the
    padding repeats ``pts[:, -2]``), so the rays beyond the knots are known by two points.
    """
    fin = torch.isfinite(real)
    has = fin.any(1)
    lo = torch.where(has, real[:, 0], 0.0)
    hi = torch.where(has, torch.where(fin, real, -torch.inf).amax(1), 0.0)
    d = 1.0 + (hi - lo) + torch.maximum(lo.abs(), hi.abs()) * 2.0**-20
    filled = torch.where(fin, real, (hi + d)[:, None])
    ends = [lo - 2 * d, lo - d], [hi + d, hi + 2 * d]
    return torch.cat([torch.stack(ends[0], 1), filled, torch.stack(ends[1], 1)], 1)


def _zero_crossings(pts, a):
    """Where the piecewise-linear ``a`` (G, P, U), known at ``pts`` (G, P), crosses 0.

    Between two points (a sign change) or beyond the outer ones (on the rays, extrapolated
    from the two outermost points); ``inf`` where a unit does not cross.
    """
    t0, t1 = pts[:, :-1, None], pts[:, 1:, None]
    a0, a1 = a[:, :-1], a[:, 1:]
    # from the end nearer the crossing: no cancellation on a long segment
    near0 = a0.abs() <= a1.abs()
    x = torch.where(near0, t0 + (t1 - t0) * (a0 / (a0 - a1)), t1 - (t1 - t0) * (a1 / (a1 - a0)))
    inner = torch.where(a0 * a1 < 0, x, torch.inf)
    al, al2 = a[:, 0], a[:, 1]
    left = pts[:, :1] - (pts[:, 1:2] - pts[:, :1]) * al / (al2 - al)
    left = torch.where(al * (al2 - al) > 0, left, torch.inf)
    ar, ar2 = a[:, -1], a[:, -2]
    right = pts[:, -1:] + (pts[:, -1:] - pts[:, -2:-1]) * ar / (ar2 - ar)
    right = torch.where(ar * (ar2 - ar) > 0, right, torch.inf)
    return torch.cat([inner.flatten(1), left, right], 1)


class PiecewiseLinear:
    """Functions of one input, linear between knots: ``f(x) = v_k + (x - a_k) m_k``.

    ``k`` is the last knot at or below ``x`` (the first knot for inputs below all of
    them), so the outer segments extend to infinity; ``a_k`` is one end of segment ``k``
    and ``v_k`` the value there. Made by :meth:`FeatureNets.piecewise_linear`.

    Parameters
    ----------
    knots : ndarray of shape (n_draws, n_features, n_knots)
        Sorted along the last axis (padded by repeating the last knot).
    anchors : ndarray of shape (n_draws, n_features, n_knots)
        Where each segment's value is given.
    values, slopes : ndarray of shape (n_draws, n_features, n_knots, n_out)
        Each function's value at the anchors and slope on the segments.
    """

    def __init__(self, knots, anchors, values, slopes):
        self.knots = knots
        self.anchors = anchors
        self.values = values
        self.slopes = slopes

    def __call__(self, x, j):
        """Function ``j`` of every draw at ``x``.

        The knot of each input is found by merging: ``x`` is sorted once for all draws and
        the knots are searched among it (a few hundred searches instead of one per input).

        Parameters
        ----------
        x : ndarray of shape (n,)
        j : int
            Feature.

        Returns
        -------
        out : ndarray of shape (n_draws, n, n_out)
        """
        x = np.asarray(x, dtype=np.float64)
        order = np.argsort(x, kind="stable")
        xs = x[order]
        S, _, P = self.knots.shape
        out = np.empty((S, len(x), self.values.shape[-1]))
        ids = np.arange(-1, P)
        for s in range(S):
            t = self.knots[s, j]
            k = np.repeat(ids, np.diff(np.searchsorted(xs, t), prepend=0, append=len(xs)))
            np.maximum(k, 0, out=k)
            dx = xs - self.anchors[s, j, k]
            out[s, order] = self.values[s, j, k] + dx[:, None] * self.slopes[s, j, k]
        return out
