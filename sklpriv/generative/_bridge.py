"""The VP diffusion bridge of TimeBridge (DDBM, Zhou et al. 2024): schedule, preconditioning,
loss weights and the stochastic Heun sampler (TimeBridge Sec. 3; DDBM Sec. 3-4).

Time runs from t = 0 (data x0) to t = T = 1 (prior draw xT). With
``log s_t = -b_d t^2 / 4 - b_min t / 2`` and ``logSNR_t = -log(exp(b_d t^2 / 2 + b_min t) - 1)``
the bridge marginal is ``x_t = a_t xT + b_t x0 + sqrt(c_t) eps`` with

    a_t = exp(logSNR_T - logSNR_t + log s_t - log s_T)
    b_t = (1 - SNR_T / SNR_t) s_t
    c_t = (1 - SNR_T / SNR_t) s_t^2 / SNR_t.
"""

from __future__ import annotations

import math

import torch

T_MAX = 1.0  # the VP bridge's end time (DDBM requires sigma_max = 1 for VP)


class VPBridge:
    """Closed forms of the VP bridge with parameters ``beta_min``, ``beta_d``, ``sigma_data``.

    Every function takes ``t`` as a float or a tensor (broadcast against the data by the
    caller) and computes in float64.
    """

    def __init__(self, beta_min: float, beta_d: float, sigma_data: float):
        self.beta_min, self.beta_d, self.sigma_data = beta_min, beta_d, sigma_data

    def _t(self, t):
        return torch.as_tensor(t, dtype=torch.float64)

    def logs(self, t):
        t = self._t(t)
        return -0.25 * self.beta_d * t**2 - 0.5 * self.beta_min * t

    def logsnr(self, t):
        t = self._t(t)
        return -torch.log(torch.expm1(0.5 * self.beta_d * t**2 + self.beta_min * t))

    def coefficients(self, t):
        """``(a_t, b_t, c_t)``: weight of the prior draw, of the data, noise variance."""
        lt, lT = self.logsnr(t), self.logsnr(T_MAX)
        st, sT = self.logs(t), self.logs(T_MAX)
        a = torch.exp(lT - lt + st - sT)
        one_minus = -torch.expm1(lT - lt)  # 1 - SNR_T / SNR_t
        b = one_minus * torch.exp(st)
        c = one_minus * torch.exp(2 * st - lt)
        return a, b, c

    def marginal(self, x0, xT, t, noise):
        """A draw of ``x_t`` given both ends (t of shape (n,), data (n, L, C))."""
        a, b, c = (v.to(x0.dtype)[:, None, None] for v in self.coefficients(t))
        return a * xT + b * x0 + c.sqrt() * noise

    def scalings(self, t):
        """DDBM preconditioning ``(c_skip, c_out, c_in)`` (prior and data variance
        ``sigma_data**2``, uncorrelated).
        """
        a, b, c = self.coefficients(t)
        sd2 = self.sigma_data**2
        A = a**2 * sd2 + b**2 * sd2 + c
        c_in = A.rsqrt()
        c_skip = b * sd2 / A
        c_out = (a**2 * sd2 * sd2 + sd2 * c).sqrt() * c_in
        return c_skip, c_out, c_in

    def loss_weight(self, t):
        """DDBM's ``bridge_karras`` weight ``1 / c_out**2``: unit weight on the network's
        own target.
        """
        _, c_out, _ = self.scalings(t)
        return c_out**-2

    def drift(self, x, x0_hat, xT, t: float, *, stochastic: bool):
        """Probability-flow (``stochastic=False``) or reverse-SDE drift of the bridge at a
        scalar time t, and ``g(t)^2`` (DDBM Eq. 8-9, VP form).
        """
        t = float(t)
        e = math.expm1(0.5 * self.beta_d * t**2 + self.beta_min * t)
        sig = math.sqrt(e)  # sqrt(1 / SNR_t)
        dsig = 0.5 * (self.beta_min + self.beta_d * t) * (sig + 1 / sig)
        s = (1 + sig**2) ** -0.5
        ds = -sig * dsig * s**3
        logs_t, logs_T = float(self.logs(t)), float(self.logs(T_MAX))
        lt, lT = float(self.logsnr(t)), float(self.logsnr(T_MAX))
        a = math.exp(lT - lt + logs_t - logs_T)
        b = -math.expm1(lT - lt) * math.exp(logs_t)
        std2 = (sig * s) ** 2
        grad_q = -(x - (a * xT + b * x0_hat)) / (std2 * -math.expm1(lT - lt))
        grad_hT = -(x - math.exp(logs_t - logs_T) * xT) / (std2 * math.expm1(lt - lT))
        f = ds * math.exp(-logs_t) * x
        g2 = 2 * math.exp(logs_t) ** 2 * sig * dsig
        return f - g2 * ((1.0 if stochastic else 0.5) * grad_q - grad_hT), g2


def uniform_times(steps: int, t_min: float = 1e-4, t_max: float = T_MAX - 1e-3):
    """DBIM's schedule: ``steps + 1`` equally spaced times from ``t_max`` down to ``t_min``."""
    return torch.linspace(t_max, t_min, steps + 1, dtype=torch.float64).tolist()


def karras_times(steps: int, t_min: float = 0.002, t_max: float = T_MAX - 1e-4, rho: float = 7.0):
    """Karras et al. (2022) schedule from ``t_max`` down to ``t_min``, then 0 appended."""
    ramp = torch.linspace(0, 1, steps, dtype=torch.float64)
    lo, hi = t_min ** (1 / rho), t_max ** (1 / rho)
    times = (hi + ramp * (lo - hi)) ** rho
    return torch.cat([times, times.new_zeros(1)]).tolist()


@torch.no_grad()
def sample_bridge(denoise, xT, times, bridge: VPBridge, *, churn: float, generator, observed=None):
    """Integrate the bridge from the prior draw ``xT`` (t = T) to the data (t = 0).

    ``churn > 0``: the stochastic sampler of DDBM (an Euler-Maruyama step over the first
    ``churn`` of each interval, then a Heun step); ``churn = 0``: Heun on the probability
    flow ODE. ``observed`` (a boolean mask): those entries are reset to ``xT`` after every
    step (TimeBridge's constraint/imputation prior).
    """
    x = xT.clone()
    for i in range(len(times) - 1):
        t_i, t_next = times[i], times[i + 1]
        t_hat = t_i
        if churn > 0:
            t_hat = t_i + churn * (t_next - t_i)
            d, g2 = bridge.drift(x, denoise(x, t_i), xT, t_i, stochastic=True)
            dt = t_hat - t_i
            noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
            x = x + d * dt + noise * math.sqrt(abs(dt) * g2)
        d, _ = bridge.drift(x, denoise(x, t_hat), xT, t_hat, stochastic=False)
        dt = t_next - t_hat
        if t_next == 0:
            x = x + d * dt
        else:
            x2 = x + d * dt
            d2, _ = bridge.drift(x2, denoise(x2, t_next), xT, t_next, stochastic=False)
            x = x + 0.5 * (d + d2) * dt
        if observed is not None:
            x = torch.where(observed, xT, x)
    return x.clamp(-1, 1)


@torch.no_grad()
def sample_bridge_implicit(
    denoise, xT, times, bridge: VPBridge, *, eta: float, generator, observed=None, order=1
):
    """DBIM, the implicit sampler of diffusion bridges (Zheng et al., ICLR 2025, Sec. 3-4):
    one network evaluation per step, from ``times[0]`` down to ``times[-1]``.

    It starts with the "booting noise": x at ``times[0]`` is drawn from the bridge marginal
    around the x0 predicted from the prior draw at t = T. Each step from s to t moves the
    current draw to the bridge marginal at t around the new x0 prediction, keeping a share
    ``sqrt(c_t - w^2) / sqrt(c_s)`` of its noise and adding fresh noise of sd
    ``w = eta * s_t sigma_t sqrt(1 - SNR_s / SNR_t)`` (none on the last step): ``eta = 0``
    is deterministic after the first draw, ``eta = 1`` the DDBM posterior. ``order=2``
    (``eta = 0`` only): DBIM's second-order multistep update (Sec. 4.2), the x0 prediction
    extrapolated in ``lambda = log(b_t / sqrt(c_t))`` from the previous step's (first order
    on the first and the last step). ``observed`` as in :func:`sample_bridge`.
    """

    def draw():
        return torch.randn(xT.shape, generator=generator, dtype=xT.dtype).to(xT.device)

    def keep(x):
        return x if observed is None else torch.where(observed, xT, x)

    a, b, c = _abc(bridge, times[0])
    x0_prev = denoise(xT, T_MAX)
    x = keep(a * xT + b * x0_prev + c * draw())
    prev = T_MAX  # unused: the first step is first order
    for i, (s, t) in enumerate(zip(times[:-1], times[1:], strict=True)):
        x0_hat = denoise(x, s)
        (a_s, b_s, c_s), (a_t, b_t, c_t) = _abc(bridge, s), _abc(bridge, t)
        lt, ls = float(bridge.logsnr(t)), float(bridge.logsnr(s))
        w = eta * math.exp(float(bridge.logs(t)) - 0.5 * lt) * math.sqrt(-math.expm1(ls - lt))
        k = math.sqrt(max(c_t**2 - w**2, 0.0)) / c_s
        x = k * x + (b_t - k * b_s) * x0_hat + (a_t - k * a_s) * xT
        if order == 2 and eta == 0 and 0 < i < len(times) - 2:
            x = x + b_t * _second_order(bridge, prev, s, t) * (x0_hat - x0_prev)
        if w > 0 and i < len(times) - 2:
            x = x + w * draw()
        x, x0_prev, prev = keep(x), x0_hat, s
    return x.clamp(-1, 1)


def _abc(bridge: VPBridge, t):
    """The bridge marginal's ``(a_t, b_t, sd_t)`` as floats."""
    a, b, c = (float(v) for v in bridge.coefficients(t))
    return a, b, math.sqrt(c)


def _second_order(bridge: VPBridge, u: float, s: float, t: float) -> float:
    """DBIM's weight of the x0 difference ``x0(s) - x0(u)`` in the step from s to t:
    ``(exp(-h) + h - 1) / h_prev`` in ``lambda = log(b / sd)`` (``h = lambda_t - lambda_s``,
    ``h_prev = lambda_s - lambda_u``).
    """
    lam_u, lam_s, lam_t = (math.log(b / sd) for _, b, sd in (_abc(bridge, v) for v in (u, s, t)))
    h = lam_t - lam_s
    return (math.exp(-h) + h - 1) / (lam_s - lam_u)
