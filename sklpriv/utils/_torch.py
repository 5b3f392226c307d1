"""Torch helpers shared by every estimator: seeding, conversion, threads.

These are the only places where ``random_state`` meets torch: estimators call
:func:`check_torch_seed` once in ``fit`` and build everything random from it, so two fits
with the same seed give the same model and the global torch RNG is left untouched.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np
import torch
from sklearn.utils import check_random_state

_MAX_SEED = 2**31 - 1

# torch's global generator is process-wide: a fit in one thread that seeds it would move the
# draws of a fit in another. Every section that uses it (module initialisation, dropout,
# weight draws) runs under this lock, so thread-parallel fits (joblib's threading backend)
# give the same models as sequential ones; they take turns inside those sections.
_GLOBAL_RNG_LOCK = threading.RLock()


def check_torch_seed(random_state: None | int | np.random.RandomState) -> int:
    """Turn a sklearn ``random_state`` into an integer seed for torch.

    Parameters
    ----------
    random_state : None, int or numpy.random.RandomState
        As everywhere in scikit-learn. ``None`` draws from numpy's global generator, so
        it is random; an int gives the same seed every time; a ``RandomState`` is advanced.

    Returns
    -------
    seed : int
        A seed in ``[0, 2**31 - 1)``.

    Examples
    --------
    >>> from sklpriv.utils import check_torch_seed
    >>> check_torch_seed(0) == check_torch_seed(0)
    True
    """
    return int(check_random_state(random_state).randint(_MAX_SEED))


def torch_generator(random_state: None | int | np.random.RandomState) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded from a sklearn ``random_state``.

    Parameters
    ----------
    random_state : None, int or numpy.random.RandomState
        See :func:`check_torch_seed`.

    Returns
    -------
    generator : torch.Generator

    Examples
    --------
    >>> import torch
    >>> from sklpriv.utils import torch_generator
    >>> a = torch.rand(2, generator=torch_generator(1))
    >>> b = torch.rand(2, generator=torch_generator(1))
    >>> bool(torch.equal(a, b))
    True
    """
    gen = torch.Generator()
    gen.manual_seed(check_torch_seed(random_state))
    return gen


@contextlib.contextmanager
def torch_rng(seed: int) -> Iterator[None]:
    """Context in which torch's global RNG is seeded with ``seed``, restored afterwards.

    Module initialisation and dropout draw from the global generator; wrapping ``fit`` in
    this context makes them reproducible without changing the caller's RNG state. The
    context holds a process-wide lock, so two threads never interleave their draws from
    the global generator: fits in threads are as reproducible as sequential ones (their
    sections under this context run one at a time).

    Parameters
    ----------
    seed : int
        Seed for the global torch generator inside the context.

    Examples
    --------
    >>> import torch
    >>> from sklpriv.utils import torch_rng
    >>> with torch_rng(0):
    ...     a = torch.randn(3)
    >>> with torch_rng(0):
    ...     b = torch.randn(3)
    >>> bool(torch.equal(a, b))
    True
    """
    # fork (and restore) every device's generator that manual_seed reseeds
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Context that sets torch's intra-op thread count, restored afterwards.

    Parameters
    ----------
    n_threads : int or None
        Number of threads; ``None`` or ``-1`` keeps torch's current setting.

    Examples
    --------
    >>> import torch
    >>> from sklpriv.utils import torch_threads
    >>> before = torch.get_num_threads()
    >>> with torch_threads(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """
    old = torch.get_num_threads()
    if n_threads is not None and n_threads != -1:
        if n_threads < 1:
            raise ValueError(f"n_threads must be a positive int, -1 or None; got {n_threads}.")
        torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def get_device(device: str | torch.device | None = None) -> torch.device:
    """Resolve a device: ``None``/``"auto"`` -> CUDA when available, else CPU.

    Parameters
    ----------
    device : str, torch.device or None
        Requested device.

    Returns
    -------
    device : torch.device

    Raises
    ------
    ValueError
        When ``device`` is not a device name, or names CUDA (or MPS) where this torch
        build or machine has none.

    Examples
    --------
    >>> from sklpriv.utils import get_device
    >>> get_device("cpu")
    device(type='cpu')
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device: pass 'cpu', 'cuda', 'cuda:0', "
            "'auto' or None (CUDA when available, else CPU)."
        ) from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r}, but CUDA is not available (torch {torch.__version__} is "
            f"{'a CPU-only build' if torch.version.cuda is None else 'a CUDA build without a GPU'}"
            "): pass device='cpu', or 'auto' / None to use a GPU only when one is there."
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r}, but MPS is not available: pass device='cpu'.")
    return dev


def to_tensor(
    X, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """Convert array-like input (numpy, pandas, list, tensor) to a float32 tensor.

    Parameters
    ----------
    X : array-like or torch.Tensor
        Data to convert.
    dtype : torch.dtype, default=torch.float32
        Target dtype (use ``torch.long`` for class indices).
    device : str or torch.device, default="cpu"
        Target device.

    Returns
    -------
    tensor : torch.Tensor

    Examples
    --------
    >>> import numpy as np
    >>> from sklpriv.utils import to_tensor
    >>> to_tensor(np.ones((2, 3))).dtype
    torch.float32
    """
    if isinstance(X, torch.Tensor):
        return X.to(dtype=dtype, device=device)
    if hasattr(X, "to_numpy"):  # pandas
        X = X.to_numpy()
    arr = np.asarray(X)
    np_dtype = torch.empty((), dtype=dtype).numpy().dtype
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np_dtype)).to(device)


def to_numpy(t: torch.Tensor) -> np.ndarray:
    """Convert a tensor (any device, with or without grad) to a numpy array.

    Parameters
    ----------
    t : torch.Tensor
        Tensor to convert.

    Returns
    -------
    array : numpy.ndarray

    Examples
    --------
    >>> import torch
    >>> from sklpriv.utils import to_numpy
    >>> to_numpy(torch.zeros(2, requires_grad=True))
    array([0., 0.], dtype=float32)
    """
    return t.detach().cpu().numpy()
