"""Pictures of adversarial examples (matplotlib is optional: the ``plot`` extra)."""

from __future__ import annotations

import numpy as np

from ..utils import import_pyplot


def plot_adversarial_examples(
    X, X_adv, *, image_shape=None, y=None, y_pred=None, n_examples: int = 8, axes=None
):
    """Clean inputs, their adversarial examples and the perturbation, one column each.

    Parameters
    ----------
    X, X_adv : ndarray of shape (n_samples, ...)
        Clean and adversarial inputs (flat rows, ``(H, W)`` or ``(C, H, W)`` images).
    image_shape : tuple of int or None, default=None
        Shape of one image, e.g. ``(8, 8)`` for sklearn's digits; ``None``: the rows'
        own shape (a flat row of a square length is drawn as a square).
    y, y_pred : array-like or None, default=None
        True labels and predictions on ``X_adv``, written above the columns.
    n_examples : int, default=8
        Columns drawn (the first ones).
    axes : ndarray of matplotlib Axes of shape (3, n_examples) or None, default=None
        Where to draw; a new figure when None.

    Returns
    -------
    axes : ndarray of matplotlib Axes of shape (3, n_examples)

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklpriv.robust import plot_adversarial_examples
    >>> X = np.random.RandomState(0).rand(4, 64)
    >>> plot_adversarial_examples(X, X + 0.05, n_examples=4).shape
    (3, 4)
    """
    plt = import_pyplot()
    X, X_adv = np.asarray(X), np.asarray(X_adv)
    if X.shape != X_adv.shape:
        raise ValueError(f"X and X_adv differ in shape: {X.shape} vs {X_adv.shape}.")
    n = min(n_examples, len(X))
    shape = _image_shape(X, image_shape)
    if axes is None:
        _, axes = plt.subplots(3, n, figsize=(1.4 * n, 4.4), squeeze=False)
    delta = X_adv[:n] - X[:n]
    scale = float(np.abs(delta).max()) or 1.0
    gray = {
        "cmap": "gray_r",
        "vmin": min(X[:n].min(), X_adv[:n].min()),
        "vmax": max(X[:n].max(), X_adv[:n].max()),
    }  # one scale for clean and adversarial
    for j in range(n):
        for i, (img, kw) in enumerate(
            [
                (X[j], gray),
                (X_adv[j], gray),
                (delta[j], {"cmap": "RdBu", "vmin": -scale, "vmax": scale}),
            ]
        ):
            axes[i, j].imshow(_as_image(img, shape), **kw)
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
        if y is not None:
            title = f"y={np.asarray(y)[j]}"
            if y_pred is not None:
                title += f" -> {np.asarray(y_pred)[j]}"
            axes[0, j].set_title(title, fontsize=8)
    for i, name in enumerate(["clean", "adversarial", f"delta (±{scale:.2g})"]):
        axes[i, 0].set_ylabel(name, fontsize=8)
    return axes


def _image_shape(X, image_shape):
    if image_shape is not None:
        return tuple(image_shape)
    if X.ndim >= 3:
        return X.shape[1:]
    side = int(round(np.sqrt(X.shape[1])))
    if side * side != X.shape[1]:
        raise ValueError(f"rows of {X.shape[1]} values are not square images: pass image_shape.")
    return (side, side)


def _as_image(row, shape):
    img = np.asarray(row).reshape(shape)
    if img.ndim == 3:  # (C, H, W) -> (H, W, C); one channel -> (H, W)
        img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
    return img


def plot_gradient_directions(models, X, y, *, n_samples=None, bins: int = 40, ax=None):
    """Histogram of the pairwise cosines between the draws' input gradients, per model.

    GradDiv's picture: without it the members of a randomized net push every input the
    same way (cosines near 1), with it their gradients scatter (cosines spread around 0).

    Parameters
    ----------
    models : RandomizedNetworkClassifier or dict of str to RandomizedNetworkClassifier
        Fitted models, labelled by the dict's keys (e.g. ``{"none": a, "GradDiv": b}``).
    X, y : array-like
        Examples and true labels the gradients are taken at.
    n_samples : int or None, default=None
        Draws per example (see ``gradient_concentration``).
    bins : int, default=40
    ax : matplotlib Axes or None, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sklpriv.robust import RandomizedNetworkClassifier, plot_gradient_directions
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = RandomizedNetworkClassifier(n_members=3, hidden_layer_sizes=(16,), max_epochs=2,
    ...                                   random_state=0).fit(X / 16, y)
    >>> ax = plot_gradient_directions({"GradDiv": clf}, X[:50] / 16, y[:50])
    >>> len(ax.patches) > 0
    True
    """
    plt = import_pyplot()
    if not isinstance(models, dict):
        models = {type(models).__name__: models}
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    for label, model in models.items():
        cosines = _pairwise_cosines(model, X, y, n_samples)
        resultant = model.gradient_concentration(X, y, n_samples=n_samples)[0].mean()
        ax.hist(
            cosines,
            bins=bins,
            range=(-1, 1),
            alpha=0.55,
            density=True,
            label=f"{label} (R = {resultant:.2f})",
        )
    ax.set_xlabel("cosine between two draws' input gradients")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    return ax


def _pairwise_cosines(model, X, y, n_samples):
    """Every pair's cosine for every example (not only their mean)."""
    import torch

    grads = torch.as_tensor(model.input_gradients(X, y, n_samples=n_samples))
    u = grads / grads.norm(dim=2, keepdim=True).clamp_min(1e-12)
    gram = torch.einsum("sbd,tbd->bst", u, u)
    i, j = torch.triu_indices(len(u), len(u), offset=1)
    return gram[:, i, j].flatten().numpy()
