"""Accounting for compositions of Gaussian mechanisms (zCDP / RDP -> (epsilon, delta)).

A Gaussian mechanism with L2 sensitivity ``Delta`` and noise ``sigma`` is
``rho = Delta**2 / (2 sigma**2)``-zCDP, i.e. ``(alpha, alpha * rho)``-RDP for every order
``alpha > 1``; compositions add ``rho``. Two conversions to ``(epsilon, delta)``:

- ``"zcdp"``: the classic ``epsilon = rho + 2 sqrt(rho ln(1/delta))`` (Bun & Steinke 2016),
  whose inverse is the closed form used by DP-Morse (Byun et al. 2025, Sec. 4).
- ``"rdp"``: opacus' RDP-to-DP conversion (Balle et al. 2020) over a wide grid of orders:
  tighter, so the same epsilon buys a larger ``rho`` (less noise).

DP-SGD accounting (Poisson-subsampled Gaussian steps) goes through opacus' RDP and PRV
accountants, both upper bounds; opacus' ``"gdp"`` accountant is refused: its central-limit
approximation is not a bound at the step counts of tabular training (it under-reports
epsilon by 15-20% against Google's dp-accounting PLD; ``benchmarks/results/privacy_audit.md``).
Every figure is floored at 0 (a conversion can return a negative number for a tiny
budget; ``(0, delta)``-DP then holds, as the privacy profile falls with epsilon).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from opacus.accountants import RDPAccountant
from opacus.accountants.analysis.rdp import compute_rdp, get_privacy_spent
from opacus.accountants.utils import get_noise_multiplier

_OPACUS_ALPHAS = list(RDPAccountant.DEFAULT_ALPHAS)

# wide grid of RDP orders: tight for small rho (large optimal order) and large rho alike
_ORDERS = np.concatenate([np.linspace(1.01, 10.0, 300), np.geomspace(10.0, 1e5, 600)[1:]])
_METHODS = ("rdp", "zcdp")
ACCOUNTANTS = ("rdp", "prv")  # opacus accountants whose epsilon is an upper bound


def check_accountant(accountant: str) -> str:
    """Return ``accountant`` if it gives valid upper bounds, else raise a ``ValueError``.

    Parameters
    ----------
    accountant : str
        Name of an opacus accountant.

    Returns
    -------
    accountant : str

    Examples
    --------
    >>> from sklpriv.privacy import check_accountant
    >>> check_accountant("prv")
    'prv'
    """
    if accountant == "gdp":
        raise ValueError(
            "accountant='gdp' is not supported: opacus' Gaussian-DP accountant is a "
            "central-limit approximation, not a bound, and under-reports epsilon at the "
            "step counts of tabular training (target 3: true epsilon 3.5-3.7). Use 'rdp' "
            "(the default) or 'prv' (tighter, also an upper bound)."
        )
    if accountant not in ACCOUNTANTS:
        raise ValueError(f"accountant must be one of {ACCOUNTANTS}; got {accountant!r}.")
    return accountant


def check_delta(delta: float, n_samples: int) -> float:
    """Return ``delta`` if it is below ``1 / n_samples``, else raise a ``ValueError``.

    A mechanism that publishes one random record outright is ``(0, 1/n)``-DP: a delta of
    ``1/n`` or more allows releasing someone's data, so it guarantees nothing.

    Parameters
    ----------
    delta : float
        The privacy parameter delta.
    n_samples : int
        Number of records protected (the training set's size).

    Returns
    -------
    delta : float

    Examples
    --------
    >>> from sklpriv.privacy import check_delta
    >>> check_delta(1e-5, 1000)
    1e-05
    """
    delta = float(delta)
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1); got {delta}.")
    if delta >= 1.0 / n_samples:
        raise ValueError(
            f"delta={delta:.3g} is not below 1/n_samples = 1/{n_samples} = "
            f"{1.0 / n_samples:.3g}: with such a delta a mechanism may release a record "
            "outright, so the guarantee is void. Pass a delta well below 1/n, e.g. "
            f"delta=1/n**1.1 = {1.0 / n_samples**1.1:.2g} with n the public data set size "
            "(the default 1e-5, the papers' choice, suits fewer than 100,000 rows)."
        )
    return delta


def _check(delta: float, method: str) -> None:
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1); got {delta}.")
    if method not in _METHODS:
        raise ValueError(f"accountant must be one of {_METHODS}; got {method!r}.")


def zcdp_to_dp(rho: float, delta: float, method: str = "rdp") -> float:
    """Epsilon of a ``rho``-zCDP mechanism at a given ``delta``.

    Parameters
    ----------
    rho : float
        Total zCDP parameter (``np.inf`` for no privacy).
    delta : float
        Target delta in (0, 1).
    method : {"rdp", "zcdp"}, default="rdp"
        ``"rdp"``: opacus' RDP conversion (tighter); ``"zcdp"``: the classic closed form.

    Returns
    -------
    epsilon : float

    Examples
    --------
    >>> from sklpriv.privacy import zcdp_to_dp
    >>> round(zcdp_to_dp(0.5, 1e-5, method="zcdp"), 4)
    5.3
    >>> zcdp_to_dp(0.5, 1e-5) < zcdp_to_dp(0.5, 1e-5, method="zcdp")
    True
    """
    _check(delta, method)
    if rho < 0:
        raise ValueError(f"rho must be >= 0; got {rho}.")
    if rho == 0:
        return 0.0
    if math.isinf(rho):
        return math.inf
    if method == "zcdp":
        return rho + 2.0 * math.sqrt(rho * math.log(1.0 / delta))
    eps, _ = get_privacy_spent(orders=_ORDERS, rdp=_ORDERS * rho, delta=delta)
    return max(0.0, float(eps))


def dp_to_zcdp(epsilon: float, delta: float, method: str = "rdp") -> float:
    """Largest ``rho`` whose conversion spends at most ``epsilon`` at ``delta``.

    Parameters
    ----------
    epsilon : float
        Privacy budget, ``> 0`` (``np.inf``: no privacy, returns ``np.inf``).
    delta : float
        Target delta in (0, 1).
    method : {"rdp", "zcdp"}, default="rdp"
        ``"zcdp"`` is the closed form ``eps + 2L - sqrt((eps + 2L)^2 - eps^2)``,
        ``L = ln(1/delta)``; ``"rdp"`` inverts opacus' conversion by bisection.

    Returns
    -------
    rho : float

    Examples
    --------
    >>> from sklpriv.privacy import dp_to_zcdp, zcdp_to_dp
    >>> rho = dp_to_zcdp(1.0, 1e-4, method="zcdp")
    >>> round(zcdp_to_dp(rho, 1e-4, method="zcdp"), 6)
    1.0
    """
    _check(delta, method)
    if not epsilon > 0:
        raise ValueError(
            f"epsilon must be > 0 (or np.inf for no privacy); got {epsilon}. "
            "A non-positive budget cannot be met by any amount of noise."
        )
    if math.isinf(epsilon):
        return math.inf
    L = math.log(1.0 / delta)
    closed = epsilon + 2 * L - math.sqrt((epsilon + 2 * L) ** 2 - epsilon**2)
    if method == "zcdp":
        return closed
    # the RDP conversion is tighter: rho is at least the closed form's
    lo, hi = closed, closed
    while zcdp_to_dp(hi, delta) <= epsilon:
        hi *= 2.0
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if zcdp_to_dp(mid, delta) <= epsilon:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return lo


def gaussian_sigma(sensitivity: float, rho: float) -> float:
    """Noise standard deviation of a ``rho``-zCDP Gaussian mechanism.

    Parameters
    ----------
    sensitivity : float
        L2 sensitivity of the released vector.
    rho : float
        zCDP parameter spent by this release (``np.inf``: no noise).

    Returns
    -------
    sigma : float
        ``sensitivity / sqrt(2 rho)``.

    Examples
    --------
    >>> from sklpriv.privacy import gaussian_sigma
    >>> gaussian_sigma(1.0, 0.5)
    1.0
    """
    if math.isinf(rho):
        return 0.0
    if rho <= 0:
        raise ValueError(f"rho must be > 0; got {rho}.")
    return sensitivity / math.sqrt(2.0 * rho)


@functools.lru_cache(maxsize=512)
def _rdp_per_step(noise_multiplier: float, sample_rate: float) -> np.ndarray:
    rdp = compute_rdp(
        q=sample_rate, noise_multiplier=noise_multiplier, steps=1, orders=_OPACUS_ALPHAS
    )
    return np.asarray(rdp, dtype=float)


def epsilon_spent(accountant, delta: float) -> float:
    """Epsilon spent so far by an opacus accountant.

    RDP histories are evaluated exactly as opacus' ``RDPAccountant`` does (same orders,
    same conversion), with the per-step RDP cached: RDP is linear in the number of steps,
    so reporting epsilon every epoch costs nothing. PRV accountants are asked directly
    (their upper bound); Gaussian-DP ones are refused (not a bound). Never below 0.

    Parameters
    ----------
    accountant : opacus.accountants.IAccountant
        The accountant, with its ``history`` of ``(noise_multiplier, sample_rate, steps)``.
    delta : float
        Target delta.

    Returns
    -------
    epsilon : float

    Examples
    --------
    >>> from opacus.accountants import RDPAccountant
    >>> from sklpriv.privacy import epsilon_spent
    >>> acc = RDPAccountant()
    >>> acc.history = [(1.0, 0.01, 1000)]
    >>> bool(abs(epsilon_spent(acc, 1e-5) - acc.get_epsilon(1e-5)) < 1e-9)
    True
    """
    if not accountant.history:
        return 0.0
    if not isinstance(accountant, RDPAccountant):
        check_accountant(accountant.mechanism())
        return max(0.0, float(accountant.get_epsilon(delta=delta)))
    rdp = sum(_rdp_per_step(float(s), float(q)) * n for s, q, n in accountant.history)
    eps, _ = get_privacy_spent(orders=_OPACUS_ALPHAS, rdp=rdp, delta=delta)
    return max(0.0, float(eps))


@functools.lru_cache(maxsize=256)
def noise_multiplier_for(
    epsilon: float, delta: float, sample_rate: float, epochs: int, accountant: str = "rdp"
) -> float:
    """Smallest noise multiplier spending at most ``epsilon`` (opacus' search, cached).

    The search and its tolerance (0.01 in epsilon) are opacus' ``get_noise_multiplier``;
    with ``sample_rate = 1 / ceil(N / B)`` it reproduces the DP-SAT paper's sigmas bit for
    bit. Cached because grid searches and cross-validation ask the same question often.

    Parameters
    ----------
    epsilon, delta : float
        Target budget.
    sample_rate : float
        Poisson sampling rate.
    epochs : int
        Number of epochs (steps = ``int(epochs / sample_rate)``).
    accountant : {"rdp", "prv"}, default="rdp"
        Both give upper bounds; ``"gdp"`` is refused (see :func:`check_accountant`).

    Returns
    -------
    noise_multiplier : float

    Examples
    --------
    >>> from sklpriv.privacy import noise_multiplier_for
    >>> round(noise_multiplier_for(3.0, 1e-5, 1 / 25, 30), 4)
    1.8408
    """
    check_accountant(accountant)
    return float(
        get_noise_multiplier(
            target_epsilon=epsilon,
            target_delta=delta,
            sample_rate=sample_rate,
            epochs=epochs,
            accountant=accountant,
        )
    )
