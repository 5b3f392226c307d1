"""
Generating stock-price windows with TimeBridge, and imputing missing days
=========================================================================

TimeBridge (Park et al.) learns a diffusion *bridge* from a prior chosen for time series
to the data. With ``prior="gp"`` every generated window starts from the training windows'
mean path with a Gaussian-process covariance, not from white noise. This example fits
:class:`~sklpriv.TimeBridgeGenerator` on 24-day windows of six daily stock series
(open/high/low/close/adjusted close/volume: ``stock_data.csv`` when ``$SKLPRIV_DATA``
points to a folder that has it, otherwise a generated random walk with the same layout),
then

1. draws real and generated windows side by side,
2. overlays real and synthetic windows in a PCA and a t-SNE of whole windows,
3. imputes a week of missing days with ``impute``: observed days come back exactly.

The fit is kept short so the example runs in a few minutes on a laptop CPU; the
benchmark (``benchmarks/bench_timebridge.py``) trains longer.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from sklpriv import TimeBridgeGenerator
from sklpriv.datasets import sliding_windows
from sklpriv.metrics import discriminative_score

path = Path(os.environ.get("SKLPRIV_DATA", "../../shared/data")) / "stock_data.csv"
if path.exists():
    prices = pd.read_csv(path)
else:  # a stand-in with the same columns: a geometric random walk and its volume
    rng = np.random.RandomState(0)
    close = 50 * np.exp(np.cumsum(0.02 * rng.randn(3685)))
    prices = pd.DataFrame(
        {
            "Open": close * (1 + 0.005 * rng.randn(3685)),
            "High": close * 1.01,
            "Low": close * 0.99,
            "Close": close,
            "Adj_Close": close,
            "Volume": 4e7 * np.exp(0.3 * rng.randn(3685)),
        }
    )
X = sliding_windows(prices, window=24)
print(f"{len(X)} windows of {X.shape[1]} days x {X.shape[2]} series")

# %%
# Fit and sample
# --------------
gen = TimeBridgeGenerator(prior="gp", max_steps=1500, random_state=0, verbose=1).fit(X)
fake = gen.sample(1000, random_state=0)
real = X[np.random.RandomState(0).choice(len(X), 1000, replace=False)]
score = discriminative_score(real, fake, random_state=0)
print(f"discriminative score {score:.3f} (0: a GRU cannot tell them apart)")

fig, axes = plt.subplots(2, 3, figsize=(11, 5), sharex=True, constrained_layout=True)
for j, ax in enumerate(axes.flat):
    for i in range(4):
        ax.plot(real[i, :, j], color="k", lw=1, alpha=0.7, label="real" if i == 0 else None)
        ax.plot(fake[i, :, j], color="C1", lw=1, alpha=0.9, label="TimeBridge" if i == 0 else None)
    ax.set_title(prices.columns[j])
axes[0, 0].legend()
fig.suptitle("real (black) and generated (orange) 24-day windows")

# %%
# Real and synthetic windows overlap
# ----------------------------------
# Each window (24 days x 6 series, scaled like the model sees them) is one point.
lo, hi = X.min(axis=(0, 1)), X.max(axis=(0, 1))
flat = [((w - lo) / (hi - lo)).reshape(len(w), -1) for w in (real, fake)]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
pca = PCA(2).fit(flat[0])
emb = TSNE(2, perplexity=40, random_state=0).fit_transform(np.vstack(flat))
for k, (label, color) in enumerate([("real", "k"), ("TimeBridge", "C1")]):
    z = pca.transform(flat[k])
    ax1.scatter(z[:, 0], z[:, 1], s=4, alpha=0.4, color=color, label=label)
    e = emb[k * 1000 : (k + 1) * 1000]
    ax2.scatter(e[:, 0], e[:, 1], s=4, alpha=0.4, color=color, label=label)
ax1.set_title("PCA")
ax2.set_title("t-SNE")
ax1.legend(markerscale=4)

# %%
# Imputation
# ----------
# Days 8-14 of a few held windows are removed; TimeBridge starts its bridge from the
# linear interpolation of the observed days and keeps them fixed while it samples.
test = X[-5:].copy()
holes = test.copy()
holes[:, 8:15, :] = np.nan
filled = gen.impute(holes, random_state=0)
assert np.array_equal(filled[:, :8], test[:, :8])  # observed entries come back exactly
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), constrained_layout=True)
for i, ax in enumerate(axes):
    ax.plot(test[i, :, 3], color="k", lw=1, label="truth")
    ax.plot(np.arange(8, 15), filled[i, 8:15, 3], "o-", color="C1", ms=3, label="imputed")
    ax.axvspan(7.5, 14.5, color="0.9")
    ax.set(title=f"window {i}: close", xlabel="day")
axes[0].legend()
plt.show()
