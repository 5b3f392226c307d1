"""The EDM core of the diffusion estimators (Karras, Aittala, Aila, Laine, NeurIPS 2022).

One place for the formulation the diffusion estimators share: the preconditioned
denoiser ``D(x; sigma) = c_skip x + c_out F(c_in x, c_noise)``, the log-normal training
noise levels and the weighted loss, the rho-7 noise levels of the sampler, Heun's
second-order sampler, and the mapping of a DDPM cosine-schedule time onto EDM noise
levels (attribute switching's ``tau``). Everything that varies along a trajectory, which
condition (attribute switching) or which network (DP-SynGen's stages), is a function of
the noise level ``sigma`` handed to the sampler.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

SIGMA_MIN, SIGMA_MAX, RHO = 0.002, 80.0, 7.0
_COSINE_S = 0.008  # the DDPM cosine schedule's offset (Nichol & Dhariwal)


def preconditioning(sigma: torch.Tensor, sigma_data: float):
    """EDM's ``c_skip, c_out, c_in, c_noise`` at noise levels ``sigma`` (Table 1)."""
    s2, d2 = sigma**2, sigma_data**2
    c_skip = d2 / (s2 + d2)
    c_out = sigma * sigma_data / (s2 + d2).sqrt()
    c_in = 1.0 / (s2 + d2).sqrt()
    c_noise = sigma.log() / 4.0
    return c_skip, c_out, c_in, c_noise


class EDMDenoiser(torch.nn.Module):
    """``D(x; sigma, cond) = c_skip x + c_out F(c_in x, c_noise, cond)`` around a raw
    network ``F(x, c_noise, y=None, emb=None)`` (sklpriv's MLP or U-Net denoisers).

    Parameters
    ----------
    net : torch.nn.Module
        The raw network; ``y`` are condition indices, ``emb`` a raw condition embedding.
    sigma_data : float
        Standard deviation of the (scaled) data.
    """

    def __init__(self, net: torch.nn.Module, sigma_data: float):
        super().__init__()
        self.net = net
        self.sigma_data = float(sigma_data)

    def forward(self, x, sigma, y=None, emb=None):
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1)
        sigma = sigma.expand(len(x)) if sigma.numel() == 1 else sigma
        c_skip, c_out, c_in, c_noise = preconditioning(sigma, self.sigma_data)
        shape = (-1,) + (1,) * (x.dim() - 1)
        out = self.net(x * c_in.reshape(shape), c_noise, y=y, emb=emb)
        return c_skip.reshape(shape) * x + c_out.reshape(shape) * out


def edm_loss(denoiser, x, sigma, noise, y=None, emb=None) -> torch.Tensor:
    """Per-example EDM loss ``lambda(sigma) ||D(x + sigma n; sigma) - x||^2`` (mean over
    the features), ``lambda = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2``;
    conditioned on labels ``y`` or on a raw condition embedding ``emb``.
    """
    s = sigma.reshape((-1,) + (1,) * (x.dim() - 1))
    return weighted_error(denoiser(x + s * noise, sigma, y=y, emb=emb), x, sigma, denoiser)


def weighted_error(pred, target, sigma, denoiser) -> torch.Tensor:
    """Per-example ``lambda(sigma) ||pred - target||^2`` (mean over the features) between
    two denoised outputs: the squared error of the raw network's outputs, since
    ``lambda c_out^2 = 1``.
    """
    d = denoiser.sigma_data
    weight = (sigma**2 + d**2) / (sigma * d) ** 2
    return weight * ((pred - target) ** 2).flatten(1).mean(1)


def training_sigmas(n: int, p_mean: float, p_std: float, generator) -> torch.Tensor:
    """``ln sigma ~ N(p_mean, p_std^2)``: EDM's training noise levels."""
    return (p_mean + p_std * torch.randn(n, generator=generator)).exp()


def karras_sigmas(
    steps: int, sigma_min: float = SIGMA_MIN, sigma_max: float = SIGMA_MAX, rho: float = RHO
) -> torch.Tensor:
    """The sampler's ``steps`` noise levels from ``sigma_max`` to ``sigma_min`` then 0
    (EDM eq. 5), float64.
    """
    i = torch.arange(steps, dtype=torch.float64)
    ramp = sigma_max ** (1 / rho) + i / max(steps - 1, 1) * (
        sigma_min ** (1 / rho) - sigma_max ** (1 / rho)
    )
    return torch.cat([ramp**rho, torch.zeros(1, dtype=torch.float64)])


def heun_sample(
    denoise: Callable, x_T: torch.Tensor, sigmas: torch.Tensor, on_step: Callable | None = None
) -> torch.Tensor:
    """EDM's deterministic Heun sampler (Algorithm 1, no churn).

    ``denoise(x, sigma, i)`` is the denoiser at step ``i`` (its condition or network may
    depend on ``i``; both evaluations of a step use the same one). ``x_T`` is standard
    normal noise; the trajectory starts at ``sigmas[0] * x_T``. ``on_step(i, x, d)``, if
    given, sees each step's state and first-order direction ``d = (x - D) / sigma``.
    """
    x = x_T * sigmas[0].to(x_T.dtype)
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i].item(), sigmas[i + 1].item()
        d = (x - denoise(x, s, i)) / s
        if on_step is not None:
            on_step(i, x, d)
        x_next = x + (s_next - s) * d
        if s_next > 0:
            d2 = (x_next - denoise(x_next, s_next, i)) / s_next
            x_next = x + (s_next - s) * 0.5 * (d + d2)
        x = x_next
    return x


def _cosine_alpha_bar(tau: float) -> float:
    f = lambda t: math.cos((t + _COSINE_S) / (1 + _COSINE_S) * math.pi / 2) ** 2  # noqa: E731
    return f(tau) / f(0.0)


def tau_to_sigma(tau: float) -> float:
    """EDM noise level of a DDPM cosine-schedule time ``tau`` in [0, 1] (1 = noise):
    ``sigma = sqrt((1 - abar(tau)) / abar(tau))``; ``inf`` at 1, 0 at 0.
    """
    if tau >= 1:
        return math.inf
    abar = _cosine_alpha_bar(max(float(tau), 0.0))
    return math.sqrt(max(1.0 - abar, 0.0) / abar)


def sigma_to_tau(sigma: float) -> float:
    """The inverse of :func:`tau_to_sigma`."""
    if math.isinf(sigma):
        return 1.0
    abar = 1.0 / (1.0 + float(sigma) ** 2)
    c0 = math.cos(_COSINE_S / (1 + _COSINE_S) * math.pi / 2)
    angle = math.acos(min(1.0, math.sqrt(abar) * c0))
    return max(0.0, angle * 2 / math.pi * (1 + _COSINE_S) - _COSINE_S)
