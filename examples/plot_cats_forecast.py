"""
Multivariate forecasting with CATS, and where its horizon queries look
======================================================================

CATS (Kim et al., NeurIPS 2024) forecasts with cross-attention only: each block of
``patch_len`` future steps is a learnable *query* that attends to the embedded input
patches. This example trains :class:`~sklpriv.CATSForecaster` on an hourly, ETTh1-style
series with seven channels (the real ETTh1 file when ``$SKLPRIV_DATA`` points to a folder
that has it, otherwise a generated series with daily and weekly cycles), forecasts the
next four days of every channel, and draws the cross-attention map of the horizon
queries over the input patches: the paper's interpretability figure.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sklpriv import CATSForecaster
from sklpriv.datasets import load_ett

path = Path(os.environ.get("SKLPRIV_DATA", "../../shared/data")) / "ETTh1.csv"
if path.exists():
    y = load_ett(path).iloc[: 12 * 30 * 24]  # the 12 training months
else:  # an ETTh1-like stand-in: 7 channels, daily + weekly cycles, drift, noise
    rng = np.random.RandomState(0)
    t = np.arange(4000)
    index = pd.date_range("2016-07-01", periods=len(t), freq="h")
    y = pd.DataFrame(
        {
            f"ch{c}": (1 + 0.2 * c) * np.sin(2 * np.pi * t / 24 + c)
            + 0.5 * np.sin(2 * np.pi * t / (24 * 7))
            + np.cumsum(0.02 * rng.randn(len(t)))
            + 0.3 * rng.randn(len(t))
            for c in range(7)
        },
        index=index,
    )

horizon = 96
y_train, y_test = y.iloc[:-horizon], y.iloc[-horizon:]
forecaster = CATSForecaster(
    seq_len=96,
    patch_len=24,
    d_model=64,
    n_heads=8,
    d_ff=128,
    batch_size=128,
    max_epochs=3,
    random_state=0,
)
forecaster.fit(y_train, fh=np.arange(1, horizon + 1))
y_pred = forecaster.predict()
mse = ((y_pred - y_test) ** 2).mean()
print(f"{forecaster.n_parameters_:,} parameters, {len(forecaster.history_)} epochs")
print("test MSE per channel:", mse.round(3).to_dict())

# %%
# The forecast of three channels: the last week of history, the truth and CATS.
fig, axes = plt.subplots(3, 1, figsize=(9, 6), sharex=True, constrained_layout=True)
for ax, col in zip(axes, y.columns[[0, 3, -1]], strict=True):
    ax.plot(y_train[col].iloc[-7 * 24 :], color="k", lw=1, label="history")
    ax.plot(y_test[col], color="k", ls="--", lw=1, label="truth")
    ax.plot(y_pred[col], color="C1", lw=2, label="CATS")
    ax.set_ylabel(col)
axes[0].legend(ncol=3, loc="upper left")
axes[0].set_title(f"{horizon} hours ahead, every channel forecast by one shared network")

# %%
# Cross-attention of the four horizon queries (one per 24-hour block) over the five input
# patches (four days of history plus the padding patch), averaged over heads. A query
# that looks mostly at the patch of the same hour of day shows the periodicity the model
# found; the paper reads these maps to explain a forecast.
fig, ax = plt.subplots(figsize=(5, 3.5), constrained_layout=True)
forecaster.plot_cross_attention(y_train, channel=0, ax=ax)
plt.show()
