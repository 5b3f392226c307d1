"""The one place where privacy noise gets its randomness.

With ``random_state=None`` every call draws a fresh seed from the operating system's
entropy pool (:mod:`secrets`), as diffprivlib does: nobody who reads the fitted model, its
parameters or its pickle can rebuild the noise, and refitting with ``get_params()`` draws
new noise. opacus' ``secure_mode`` would draw every sample from a CSPRNG but needs
torchcsprng, which has no build for this torch; a fresh 63-bit OS seed per call keeps the
noise unpredictable to anyone who does not see the process's memory during the fit.

An integer seed is for reproducible research: whoever knows it can rebuild the noise and
subtract it, so it voids the guarantee. Each call of a DP estimator passes its own
``counter`` (``fit``: 0; every ``partial_fit`` call the next number) so that no two calls
ever repeat their noise (repeated noise cancels in differences of two releases).

No generator made here may be stored on, or pickled with, a fitted model.
"""

from __future__ import annotations

import secrets

import numpy as np
import torch

_SEED_BITS = 63


def noise_seed(random_state, counter: int = 0) -> int:
    """A seed for the privacy noise of one call of a DP estimator.

    Parameters
    ----------
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        ``None``: a fresh seed from OS entropy at every call (the private setting). An
        int: ``SeedSequence([random_state, counter])`` (reproducible; a known seed voids
        the guarantee). A generator instance is advanced (it is the caller's object).
    counter : int, default=0
        Which call of the estimator this is; different counters give independent seeds.

    Returns
    -------
    seed : int
        A seed in ``[0, 2**63)``.

    Examples
    --------
    >>> from sklpriv.privacy import noise_seed
    >>> noise_seed(0, 1) == noise_seed(0, 1), noise_seed(0, 1) == noise_seed(0, 2)
    (True, False)
    >>> noise_seed(None) == noise_seed(None)  # fresh OS entropy each time
    False
    """
    if counter < 0:
        raise ValueError(f"counter must be >= 0; got {counter}.")
    if random_state is None:
        return secrets.randbits(_SEED_BITS)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**_SEED_BITS - 1, dtype=np.int64))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**_SEED_BITS - 1))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        words = np.random.SeedSequence([int(random_state), int(counter)]).generate_state(2)
        return (int(words[0]) << 31 | int(words[1]) >> 1) & (2**_SEED_BITS - 1)
    raise ValueError(
        f"random_state must be None, an int, a numpy RandomState or Generator; got "
        f"{random_state!r}."
    )


def noise_seeds(random_state, counter: int = 0, n: int = 1) -> list[int]:
    """``n`` independent seeds for one call (initialisation, sampling, noise, ...).

    Parameters
    ----------
    random_state : None, int, RandomState or Generator
        As in :func:`noise_seed`.
    counter : int, default=0
        Which call of the estimator this is.
    n : int, default=1
        Number of independent seeds.

    Returns
    -------
    seeds : list of int
        Seeds in ``[0, 2**63)`` spawned from one :func:`noise_seed`.

    Examples
    --------
    >>> from sklpriv.privacy import noise_seeds
    >>> a, b = noise_seeds(0, n=2)
    >>> a != b
    True
    """
    seq = np.random.SeedSequence(noise_seed(random_state, counter))
    return [int(s.generate_state(1, dtype=np.uint64)[0] >> 1) for s in seq.spawn(n)]


def noise_rng(seed: int) -> np.random.Generator:
    """A numpy ``Generator`` (PCG64) for privacy noise, from a :func:`noise_seed` seed.

    Parameters
    ----------
    seed : int
        From :func:`noise_seed` or :func:`noise_seeds`.

    Returns
    -------
    rng : numpy.random.Generator

    Examples
    --------
    >>> from sklpriv.privacy import noise_rng
    >>> float(noise_rng(1).normal()) == float(noise_rng(1).normal())
    True
    """
    return np.random.default_rng(seed)


def noise_torch_generator(seed: int, device="cpu") -> torch.Generator:
    """A ``torch.Generator`` for privacy noise, from a :func:`noise_seed` seed.

    Parameters
    ----------
    seed : int
        From :func:`noise_seed` or :func:`noise_seeds`.
    device : str or torch.device, default="cpu"
        Where the noise is drawn (the parameters' device).

    Returns
    -------
    generator : torch.Generator

    Examples
    --------
    >>> import torch
    >>> from sklpriv.privacy import noise_torch_generator
    >>> bool(torch.equal(torch.randn(2, generator=noise_torch_generator(3)),
    ...                  torch.randn(2, generator=noise_torch_generator(3))))
    True
    """
    return torch.Generator(device=device).manual_seed(seed)
