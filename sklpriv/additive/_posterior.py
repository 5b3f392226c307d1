"""The members of a BayesNAM ensemble and their last-layer posterior.

A subnetwork is linear in its last layer's weights on the features that its hidden layers
compute, and the additive model is linear in all the last layers together (with the
intercept and the weights of the two-valued features). With those features fixed at
their posterior means, the last layers' posterior is a (generalised) linear model's:

- regression (Gaussian likelihood): exact, Bayesian linear regression with the prior
  precision ``alpha`` and the noise precision ``beta`` chosen by maximising the evidence
  (MacKay 1992, the fixed-point updates on the eigenvalues of ``Phi^T Phi``);
- classification: the Laplace approximation around the trained weights, with the
  generalised Gauss-Newton curvature ``Phi^T diag(p (1 - p)) Phi`` (one block per logit:
  the curvature between logits is left out) and ``alpha`` by the same updates.

The intercept has a flat prior. A member stores the posterior mean ``theta`` (K, P) and a
root ``R`` (K, P, P) of its covariance; its weight draws are ``theta + R eps``.
"""

from __future__ import annotations

import numpy as np
import torch

from ._layers import LINEAR_GAIN

_EVIDENCE_ITERATIONS = 100
_EVIDENCE_TOL = 1e-6
_FLAT = 1e-8  # prior precision of the intercept (flat)
_PRECISION_MIN, _PRECISION_MAX = 1e-8, 1e8


class Member:
    """One member of the ensemble: subnetworks, intercept, noise, last-layer posterior.

    Parameters
    ----------
    module : FeatureNets
    intercept : torch.nn.Parameter of shape (K,)
    noise : float or None
        Observation noise sd in standardised units (regression), else ``None``.
    theta, root : ndarray of shape (K, P) and (K, P, P) or None
        The last-layer posterior (mean, covariance root); ``None``: the mean-field
        posterior of the variational fit.
    """

    def __init__(self, module, intercept, noise=None, theta=None, root=None):
        self.module = module
        self.intercept = intercept
        self.noise = noise
        self.theta = theta
        self.root = root

    def draws(self, n: int, generator=None):
        """``n`` weight draws per layer (as ``FeatureNets.sample_weights``), intercepts (n, K)."""
        if self.root is None:
            w = self.module.sample_weights(n, generator=generator)
            return w, self.intercept.detach().expand(n, -1)
        K, P = self.theta.shape
        eps = torch.randn((n, K, P), generator=generator, dtype=torch.float64)
        root = torch.from_numpy(self.root)
        theta = torch.from_numpy(self.theta) + torch.einsum("kpq,nkq->nkp", root, eps)
        w, lin, intercepts = self._split(theta.float())
        weights = list(self.module.sample_weights(n, mean=True))
        if w is not None:
            weights[len(self.module.b_mu) - 1] = (w, torch.zeros(n, w.shape[1], 1, w.shape[3]))
        if lin is not None:
            weights[-1] = (lin,)
        return weights, intercepts

    def _split(self, theta):
        """Last-layer vectors ``theta`` (n, K, P) (see :func:`design`) as the net features'
        last layer (n, F_net, H, K), the two-valued features' weights (n, 1, F_lin, K) (each
        ``None`` where there are none) and the intercepts (n, K).
        """
        m, n = self.module, len(theta)
        F_net, F_lin = len(m.net_features), len(m.linear_features)
        w = lin = None
        if F_net:
            H = (theta.shape[2] - 1 - F_lin) // F_net
            w = theta[:, :, 1 : 1 + F_net * H].reshape(n, -1, F_net, H).permute(0, 2, 3, 1)
        if F_lin:
            lin = theta[:, :, theta.shape[2] - F_lin :].permute(0, 2, 1)[:, None]
        return w, lin, theta[:, :, 0]

    def set_mean(self):
        """Write the posterior mean into the module's last layer and the intercept."""
        w, lin, intercept = self._split(torch.from_numpy(self.theta)[None].float())
        m = self.module
        with torch.no_grad():
            if w is not None:
                m.w_mu[len(m.b_mu) - 1].copy_(w[0])
                m.b_mu[len(m.b_mu) - 1].zero_()
            if lin is not None:
                m.w_mu[-1].copy_(lin[0])
            self.intercept.copy_(intercept[0])


def trained_theta(module, intercept) -> np.ndarray:
    """The trained last layers as vectors (K, P) over :func:`design`'s columns (the last
    layer's biases summed into the intercept).
    """
    m = module
    b0 = intercept.detach().double()
    cols = []
    if m.net_features:
        w = m.w_mu[len(m.b_mu) - 1].detach().double()  # (F_net, H, K)
        b0 = b0 + m.b_mu[len(m.b_mu) - 1].detach().double().sum((0, 1))
        cols.append(w.permute(2, 0, 1).reshape(len(b0), -1))
    if m.linear_features:
        cols.append(m.w_mu[-1].detach().double()[0].T)  # (K, F_lin)
    return torch.cat([b0[:, None], *cols], 1).numpy()


def design_groups(module) -> np.ndarray:
    """The feature of each column of :func:`design` but the intercept's."""
    n_net, lin = len(module.net_features), module.linear_features
    H = module.w_mu[len(module.b_mu) - 1].shape[1] if n_net else 0
    return np.r_[np.repeat(module.net_features, H), lin].astype(int)


def design(module, Z) -> np.ndarray:
    """The last-layer design matrix ``[1, h_1, ..., h_F, GAIN * x_lin]`` (n, P), float64.

    ``h_j``: the last hidden features of net feature ``j`` (in ``module.net_features``
    order); ``x_lin``: the two-valued features (their output is ``x * GAIN * w``).
    """
    cols = [np.ones((len(Z), 1))]
    if module.net_features:
        h = module.last_hidden(Z).double().numpy()
        cols.append(h.reshape(len(Z), -1))
    if module.linear_features:
        cols.append(LINEAR_GAIN * Z[:, module.linear_features].double().numpy())
    return np.concatenate(cols, 1)


def gaussian_posterior(Phi, y, groups=None, shrink: float = 0.0):
    """Bayesian linear regression with evidence-chosen ``alpha`` and ``beta``.

    ``shrink > 0`` adds ``shrink * sum_g ||Phi_g w_g||^2`` to the squared error, with
    ``Phi_g`` the columns of group ``g`` (``groups``, one label per column but the
    intercept's): the expected loss under feature dropout at rate ``p`` is the squared
    error plus ``p / (1 - p)`` times each feature's squared contribution, so with
    ``shrink = p / (1 - p)`` the posterior is that of the objective the subnetworks were
    trained on (a ridge on every feature's contribution, which splits the credit of
    correlated features). ``shrink=0`` is sklearn's ``BayesianRidge``.

    Returns
    -------
    theta : ndarray of shape (1, P)
    root : ndarray of shape (1, P, P)
    noise : float
        ``1 / sqrt(beta)``.
    """
    n = len(Phi)
    centre, ybar = Phi[:, 1:].mean(0), y.mean()
    X, yc = Phi[:, 1:] - centre, y - ybar
    A = X.T @ X
    B = np.zeros_like(A)
    if shrink > 0:
        for g in np.unique(groups):
            cols = np.flatnonzero(groups == g)
            B[np.ix_(cols, cols)] = A[np.ix_(cols, cols)]
    e, V = np.linalg.eigh(A + shrink * B)
    e = np.clip(e, 0.0, None)
    proj = V.T @ (X.T @ yc)
    alpha, beta = 1.0, 1.0 / max(yc.var(), 1e-12)
    for _ in range(_EVIDENCE_ITERATIONS):
        d = beta * e + alpha
        m = V @ (beta * proj / d)
        gamma = float(np.sum(beta * e / d))
        resid = float(np.sum((yc - X @ m) ** 2) + shrink * m @ B @ m)
        new = gamma / max(float(m @ m), 1e-12), (n - gamma) / max(resid, 1e-12)
        # standardised units: precisions far outside [1e-8, 1e8] only come from degenerate
        # data (one row, a constant target), where they would divide by zero
        new = tuple(float(np.clip(v, _PRECISION_MIN, _PRECISION_MAX)) for v in new)
        done = abs(np.log(new[0] / alpha)) + abs(np.log(new[1] / beta)) < _EVIDENCE_TOL
        alpha, beta = new
        if done:
            break
    d = beta * e + alpha
    m = V @ (beta * proj / d)
    R = V / np.sqrt(d)  # covariance V diag(1/d) V^T = R R^T
    P = Phi.shape[1]
    root = np.zeros((P, P))
    # intercept = ybar - centre . w + N(0, 1/(beta n)), independent of w (centred design)
    root[0, 0] = 1.0 / np.sqrt(beta * n)
    root[0, 1:] = -centre @ R
    root[1:, 1:] = R
    theta = np.concatenate([[ybar - centre @ m], m])
    return theta[None], root[None], float(1.0 / np.sqrt(beta))


def laplace_posterior(Phi, theta, proba):
    """The Laplace approximation around ``theta`` (K, P) with one GGN block per logit.

    ``proba`` (n, K): the predicted probability of each logit's class (for a binary model,
    of the positive class).

    Returns
    -------
    root : ndarray of shape (K, P, P)
    alpha : ndarray of shape (K,)
        The prior precision of each block (the evidence's fixed point).
    """
    K, P = theta.shape
    roots, alphas = np.empty((K, P, P)), np.empty(K)
    for k in range(K):
        w = proba[:, k] * (1 - proba[:, k])
        G = (Phi * w[:, None]).T @ Phi
        alpha = 1.0
        for _ in range(_EVIDENCE_ITERATIONS):
            prec = G + np.diag(np.r_[_FLAT, np.full(P - 1, alpha)])
            S = np.linalg.inv(prec)
            gamma = (P - 1) - alpha * np.trace(S[1:, 1:])
            new = max(gamma, 1e-12) / max(float(theta[k, 1:] @ theta[k, 1:]), 1e-12)
            new = float(np.clip(new, _PRECISION_MIN, _PRECISION_MAX))
            done = abs(np.log(new / alpha)) < _EVIDENCE_TOL
            alpha = new
            if done:
                break
        prec = G + np.diag(np.r_[_FLAT, np.full(P - 1, alpha)])
        e, V = np.linalg.eigh(prec)
        roots[k], alphas[k] = V / np.sqrt(np.clip(e, 1e-12, None)), alpha
    return roots, alphas
