"""Pictures of concept erasure: the same prompts drawn by several models."""

from __future__ import annotations

import numpy as np

from ..utils import import_pyplot


def plot_concept_samples(models: dict, prompts, *, guidance=1.0, random_state=0, ax=None):
    """A grid of samples: one row per model, one column per prompt, same noise.

    Parameters
    ----------
    models : dict
        Name -> a fitted generator or :class:`ConceptEraser` whose samples are images
        in [0, 1], or rows shown as images 8 pixels high (flattened digit scenes).
    prompts : DataFrame
        One prompt (condition row) per column of the grid.
    guidance : float or None, default=1.0
    random_state : int, default=0
    ax : array of matplotlib Axes or None, default=None
        ``(n_models, n_prompts)`` axes; ``None``: a new figure.

    Returns
    -------
    fig : matplotlib Figure
    """
    plt = import_pyplot()
    n, names = len(prompts), list(models)
    if ax is None:
        _, ax = plt.subplots(len(names), n, figsize=(1.6 * n, 1.0 * len(names) + 0.4))
    ax = np.asarray(ax).reshape(len(names), n)
    for i, name in enumerate(names):
        images = models[name].sample(n, y=prompts, guidance=guidance, random_state=random_state)
        for j in range(n):
            image = np.asarray(images[j])
            image = image.reshape(8, -1) if image.ndim == 1 else image
            ax[i, j].imshow(image, cmap="gray_r", vmin=0, vmax=1)
            ax[i, j].set_xticks([])
            ax[i, j].set_yticks([])
        ax[i, 0].set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    for j, (_, row) in enumerate(prompts.iterrows()):
        shown = [str(k).replace("digit_", "") for k, v in row.items() if v == 1]
        ax[0, j].set_title(" + ".join(shown), fontsize=8)
    return ax[0, 0].figure
