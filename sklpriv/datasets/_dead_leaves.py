"""Dead-leaves images: public, programmatically generated training data (DP-SynGen)."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state


def make_dead_leaves(
    n_samples: int,
    image_shape=(8, 8),
    *,
    n_leaves: int = 40,
    radius_range=(0.05, 0.5),
    random_state=None,
) -> np.ndarray:
    """Dead-leaves images: random disks dropped one over another, the last on top.

    Each image starts from a uniform grey background; ``n_leaves`` disks follow, each
    with a centre uniform over the image, a radius (as a fraction of the image side) drawn
    from the scale-invariant density ``p(r) ~ r^-3`` on ``radius_range``, and a grey level
    (or a colour, one value per channel) uniform in [0, 1]; a later disk occludes what it
    covers. The images share the edges, flat regions and occlusions of natural images
    without any private content (DP-SynGen trains its synthetic stages on them).

    Parameters
    ----------
    n_samples : int
    image_shape : tuple of int, default=(8, 8)
        ``(h, w)`` or ``(c, h, w)``.
    n_leaves : int, default=40
    radius_range : tuple of float, default=(0.05, 0.5)
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    images : ndarray of shape ``(n_samples, *image_shape)``
        Values in [0, 1].

    Examples
    --------
    >>> from sklpriv.datasets import make_dead_leaves
    >>> X = make_dead_leaves(5, (8, 8), random_state=0)
    >>> X.shape, bool(X.min() >= 0 and X.max() <= 1)
    ((5, 8, 8), True)
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")
    shape = tuple(int(s) for s in image_shape)
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(f"image_shape must be (h, w) or (c, h, w); got {image_shape!r}.")
    lo, hi = radius_range
    if not 0 < lo < hi:
        raise ValueError(f"radius_range must be 0 < low < high; got {radius_range!r}.")
    rng = check_random_state(random_state)
    c, h, w = (1, *shape) if len(shape) == 2 else shape
    yy, xx = np.mgrid[0:h, 0:w]
    yy, xx = (yy + 0.5) / h, (xx + 0.5) / w
    out = np.empty((n_samples, c, h, w))
    for i in range(n_samples):
        img = np.broadcast_to(rng.uniform(size=(c, 1, 1)), (c, h, w)).copy()
        # inverse CDF of p(r) ~ r^-3 on [lo, hi]
        u = rng.uniform(size=n_leaves)
        radii = 1.0 / np.sqrt(lo**-2 - u * (lo**-2 - hi**-2))
        centres, colours = rng.uniform(size=(n_leaves, 2)), rng.uniform(size=(n_leaves, c))
        for r, (cy, cx), col in zip(radii, centres, colours, strict=True):
            disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
            img[:, disk] = col[:, None]
        out[i] = img
    return out[:, 0] if len(shape) == 2 else out
