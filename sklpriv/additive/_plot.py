"""Displays of BayesNAM explanations (matplotlib is optional: the ``plot`` extra)."""

from __future__ import annotations

import numpy as np

from ..utils import import_pyplot


class ShapeFunctionDisplay:
    """Shape functions with 95% credible bands and a data rug, like sklearn's displays.

    Create it with :meth:`from_estimator`; the raw data are in ``shapes`` (the tidy frame
    of ``estimator.shape_functions()``), the figure in ``figure_`` and ``axes_``.

    Parameters
    ----------
    shapes : pandas.DataFrame
        Output of ``shape_functions``.
    X_reference : ndarray
        Data drawn as the rug.
    feature_names : list of str
    """

    def __init__(self, shapes, X_reference, feature_names):
        self.shapes = shapes
        self.X_reference = X_reference
        self.feature_names = feature_names

    @classmethod
    def from_estimator(cls, estimator, features=None, ax=None, n_points=100, n_cols=3):
        """Compute the shape functions of a fitted BayesNAM and plot them.

        Parameters
        ----------
        estimator : BayesNAMRegressor or BayesNAMClassifier
        features : list of int or str, default=None
        ax : matplotlib Axes or array of Axes, default=None
        n_points : int, default=100
        n_cols : int, default=3

        Returns
        -------
        display : ShapeFunctionDisplay
        """
        names = estimator._feature_names()
        disp = cls(estimator.shape_functions(n_points=n_points), estimator.X_reference_, names)
        return disp.plot(features=features, ax=ax, n_cols=n_cols)

    def plot(self, features=None, ax=None, n_cols=3):
        """Draw the selected features (one panel each)."""
        plt = import_pyplot()
        if features is None:
            features = list(range(len(self.feature_names)))
        idx = [self.feature_names.index(f) if isinstance(f, str) else int(f) for f in features]
        if ax is None:
            n_rows = int(np.ceil(len(idx) / n_cols))
            fig, axes = plt.subplots(
                n_rows,
                min(n_cols, len(idx)),
                figsize=(4 * min(n_cols, len(idx)), 3 * n_rows),
                squeeze=False,
                constrained_layout=True,
            )
            axes = axes.ravel()
        else:
            axes = np.atleast_1d(ax).ravel()
            fig = axes[0].figure
        for a, j in zip(axes, idx, strict=False):
            name = self.feature_names[j]
            d = self.shapes[self.shapes.feature == name]
            groups = d.groupby("class") if "class" in d else [(None, d)]
            for cls_, g in groups:
                label = None if cls_ is None else f"class {cls_}"
                if len(g) <= 10:  # discrete feature (e.g. one-hot): points with bars
                    a.errorbar(
                        g.x,
                        g["mean"],
                        yerr=[g["mean"] - g.lower, g.upper - g["mean"]],
                        fmt="o",
                        capsize=4,
                        label=label,
                    )
                    continue
                line = a.plot(g.x, g["mean"], lw=2, label=label)[0]
                a.fill_between(g.x, g.lower, g.upper, alpha=0.25, color=line.get_color())
            a.axhline(0, color="k", lw=0.5)
            lo = a.get_ylim()[0]
            a.plot(
                self.X_reference[:, j],
                np.full(len(self.X_reference), lo),
                "|",
                color="k",
                alpha=0.2,
                ms=8,
            )
            a.set_title(name)
            a.set_xlabel(name)
            a.set_ylabel("contribution")
        for a in axes[len(idx) :]:
            a.set_visible(False)
        self.figure_, self.axes_ = fig, axes
        return self


def plot_importances(estimator, ax=None):
    """Bar chart of feature importances with posterior-sd error bars."""
    plt = import_pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.35 * estimator.n_features_in_ + 1.5))
    names = np.array(estimator._feature_names())
    order = np.argsort(estimator.feature_importances_)
    ax.barh(
        names[order],
        estimator.feature_importances_[order],
        xerr=estimator.feature_importances_std_[order],
        capsize=3,
    )
    ax.set_xlabel("importance: mean |contribution| (± posterior sd)")
    return ax
