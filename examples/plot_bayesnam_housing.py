"""
Shape functions with credible bands: what BayesNAM says about house prices
==========================================================================

A neural additive model predicts ``b + sum_j f_j(x_j)``: one small network per feature,
so every feature's effect is a curve a person can read. Train a NAM twice and the curves
differ; :class:`~sklpriv.BayesNAMRegressor` turns that inconsistency into a measured
uncertainty: each curve comes with a 95% *posterior credible band* of the centred shape
function ``f_j(t) - mean_i f_j(x_ij)``. Where the band is wide, the data do not pin the
effect down: few samples there, or several features that can take the same credit.

The data are California housing: the 1990 census file with ``ocean_proximity``, read from
``$SKLPRIV_DATA`` when it is there, else scikit-learn's version of the same census data when
it is already in scikit-learn's data cache. The example never downloads: on a machine with
neither, it runs the same steps on the diabetes data that scikit-learn ships (ten clinical
features, disease progression after one year), and the remarks on latitude and longitude
below are about the California figures of the published gallery.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from sklpriv import BayesNAMRegressor

unit = "x $100k"
path = Path(os.environ.get("SKLPRIV_DATA", "../../shared/data")) / "california_housing.csv"
if path.exists():
    df = pd.read_csv(path)
    y = df.pop("median_house_value").to_numpy(float) / 1e5  # $100,000s
    df["total_bedrooms"] = df["total_bedrooms"].fillna(df["total_bedrooms"].median())
    X = pd.concat([df, pd.get_dummies(df.pop("ocean_proximity"), dtype=float)], axis=1)
else:
    from sklearn.datasets import fetch_california_housing, load_diabetes

    try:  # the cached copy only: no download, so the gallery also builds offline
        X, y = fetch_california_housing(return_X_y=True, as_frame=True, download_if_missing=False)
    except OSError:
        print("California housing is not on this machine: the diabetes data instead")
        X, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
        y, unit = y / 100.0, "x 100 progression units"  # near the price scale

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
# exp-centred units for jagged shapes (latitude, longitude); on 16,000 rows, Polyak
# averaging of the weights' posterior means (ema_decay) lowers the error a little more
model = BayesNAMRegressor(
    activation="exu", lr=3e-3, batch_size=512, ema_decay=0.995, random_state=0
)
model.fit(X_train, y_train)
mean, std = model.predict(X_test, return_std=True)
rmse = np.sqrt(np.mean((mean - y_test) ** 2))
inside = np.mean(np.abs(y_test - mean) <= 1.96 * std)
print(f"test RMSE {rmse:.3f} ({unit}); {inside:.0%} of test targets inside mean ± 1.96 sd")

# %%
# Which features matter, with the posterior spread of their importance
# (mean absolute contribution over the data).
model.plot_importances()

# %%
# The six most important shape functions, with their bands and a rug of the data.
top = list(np.argsort(model.feature_importances_)[::-1][:6])
display = model.plot_shape_functions(features=top)
display.figure_.suptitle("centred shape functions, 95% posterior credible bands")

# %%
# What the bands reveal. The report lists, per feature, the importance, the mean
# posterior sd of its curve ("inconsistency": how much two NAM runs would disagree), the
# band width where the data are, and notes. Latitude and longitude have the widest bands
# on the data: their jagged, location-driven effects can be traded against each other
# (and against ``ocean_proximity``), so the data pin neither curve down exactly. ExU
# units saturate outside the data, so here the curves stay flat and the bands do *not*
# fan out in the sparse tails (``population`` above 4000); with ``activation="relu"``
# they extrapolate linearly and the bands widen there.
report = model.explanation_report()
print(report.round(3).to_string())
plt.show()
