"""BayesNAM vs EBM, a NAM ensemble, pygam and HistGradientBoosting, same 5 splits.

California housing (RMSE on the standardised target), Adult (AUC), sklearn diabetes (RMSE)
and breast cancer (AUC). Fit seconds, explanation stability (mean correlation of feature
importances across 5 seeds on split 0) and coverage of BayesNAM's 95% bands of the
NAM ensemble's mean shape functions.

    python benchmarks/bench_bayesnam.py --data ../shared/data [--splits 5] [--only diabetes]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd
import torch
from _common import data_dir, markdown_table, mean_std, write_result
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import mean_squared_error, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder

from sklpriv import BayesNAMClassifier, BayesNAMRegressor


def load(name, folder):
    if name == "diabetes":
        X, y = load_diabetes(return_X_y=True, as_frame=True)
        return X, y.to_numpy(float), "reg"
    if name == "breast cancer":
        X, y = load_breast_cancer(return_X_y=True, as_frame=True)
        return X, y.to_numpy(), "clf"
    if name == "california":
        df = pd.read_csv(folder / "california_housing.csv")
        y = df.pop("median_house_value").to_numpy(float)
        df["total_bedrooms"] = df["total_bedrooms"].fillna(df["total_bedrooms"].median())
        oh = pd.get_dummies(df.pop("ocean_proximity"), prefix="ocean", dtype=float)
        y = (y - y.mean()) / y.std()
        return pd.concat([df, oh], axis=1), y, "reg"
    df = pd.read_csv(folder / "adult.csv", skipinitialspace=True)
    y = (df.pop("Salary").str.strip().str.rstrip(".") == ">50K").astype(int).to_numpy()
    cat = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    enc = OneHotEncoder(sparse_output=False, min_frequency=0.01, handle_unknown="ignore")
    oh = pd.DataFrame(enc.fit_transform(df[cat]), columns=enc.get_feature_names_out(cat))
    return pd.concat([df.drop(columns=cat).astype(float), oh], axis=1), y, "clf"


def score(kind, est, X, y):
    if kind == "reg":
        return float(np.sqrt(mean_squared_error(y, est.predict(X))))
    return float(roc_auc_score(y, est.predict_proba(X)[:, 1]))


class NAMEnsemble:
    """Five deterministic NAMs (prior_sigma=None), averaged: the NAM paper's ensemble."""

    def __init__(self, kind, n=5, **kw):
        cls = BayesNAMRegressor if kind == "reg" else BayesNAMClassifier
        self.members = [cls(prior_sigma=None, random_state=s, **kw) for s in range(n)]

    def fit(self, X, y):
        for m in self.members:
            m.fit(X, y)
        return self

    def predict(self, X):
        return np.mean([m.predict(X) for m in self.members], axis=0)

    def predict_proba(self, X):
        return np.mean([m.predict_proba(X) for m in self.members], axis=0)


def methods(kind, seed):
    from interpret.glassbox import ExplainableBoostingClassifier, ExplainableBoostingRegressor
    from pygam import LinearGAM, LogisticGAM

    kw = dict(batch_size=512, random_state=seed)
    if kind == "reg":
        return {
            "BayesNAM (ours)": BayesNAMRegressor(**kw),
            "NAM x1 (ours, prior_sigma=None)": BayesNAMRegressor(prior_sigma=None, **kw),
            "NAM ensemble x5": NAMEnsemble(kind, batch_size=512),
            "EBM (interpret)": ExplainableBoostingRegressor(random_state=seed),
            "pygam LinearGAM": LinearGAM(),
            "HistGradientBoosting (ceiling)": HistGradientBoostingRegressor(random_state=seed),
        }
    return {
        "BayesNAM (ours)": BayesNAMClassifier(**kw),
        "NAM x1 (ours, prior_sigma=None)": BayesNAMClassifier(prior_sigma=None, **kw),
        "NAM ensemble x5": NAMEnsemble(kind, batch_size=512),
        "EBM (interpret)": ExplainableBoostingClassifier(random_state=seed),
        "pygam LogisticGAM": LogisticGAM(),
        "HistGradientBoosting (ceiling)": HistGradientBoostingClassifier(random_state=seed),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=None)
    p.add_argument("--splits", type=int, default=5)
    p.add_argument("--only", nargs="*", default=None)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    folder = data_dir(args.data)
    names = args.only or ["california", "adult", "diabetes", "breast cancer"]
    rows = []
    for name in names:
        X, y, kind = load(name, folder)
        res, secs = {}, {}
        for split in range(args.splits):
            X_tr, X_te, y_tr, y_te = train_test_split(
                X, y, test_size=0.2, random_state=split, stratify=y if kind == "clf" else None
            )
            for m, est in methods(kind, split).items():
                Xa, Xb = (X_tr.to_numpy(), X_te.to_numpy()) if "pygam" in m else (X_tr, X_te)
                t0 = time.perf_counter()
                est.fit(Xa, y_tr)
                secs.setdefault(m, []).append(time.perf_counter() - t0)
                res.setdefault(m, []).append(score(kind, est, Xb, y_te))
        # explanation stability and band coverage on split 0
        X_tr, _, y_tr, _ = train_test_split(
            X, y, test_size=0.2, random_state=0, stratify=y if kind == "clf" else None
        )
        cls = BayesNAMRegressor if kind == "reg" else BayesNAMClassifier
        fits = [cls(batch_size=512, random_state=s).fit(X_tr, y_tr) for s in range(5)]
        imps = np.array([f.feature_importances_ for f in fits])
        corr = np.corrcoef(imps)[np.triu_indices(5, 1)].mean()
        nams = [
            cls(prior_sigma=None, batch_size=512, random_state=s).fit(X_tr, y_tr) for s in range(5)
        ]
        nimps = np.array([f.feature_importances_ for f in nams])
        ncorr = np.corrcoef(nimps)[np.triu_indices(5, 1)].mean()
        sh = fits[0].shape_functions(n_points=50)
        nam_mean = np.mean([f.shape_functions(n_points=50)["mean"].to_numpy() for f in nams], 0)
        cover = float(((sh.lower <= nam_mean) & (nam_mean <= sh.upper)).mean())
        metric = "RMSE" if kind == "reg" else "AUC"
        for m in res:
            extra = ""
            if m.startswith("BayesNAM"):
                extra = f"importance corr {corr:.3f}; covers NAM-ensemble shapes {cover:.0%}"
            if m.startswith("NAM x1"):
                extra = f"importance corr {ncorr:.3f}"
            rows.append([name, m, metric, mean_std(res[m]), f"{np.mean(secs[m]):.1f}", extra])
            print(" | ".join(rows[-1]), flush=True)
    table = markdown_table(["data", "method", "metric", "score", "fit s", "explanations"], rows)
    body = (
        f"{args.splits} splits (80/20), mean ± std. California target standardised. "
        "Importance correlation: mean pairwise Pearson correlation of feature "
        "importances of 5 seeds on split 0.\n\n" + table
    )
    write_result(
        "bayesnam",
        "BayesNAM benchmark",
        body,
        "python benchmarks/bench_bayesnam.py " + " ".join(sys.argv[1:]),
    )


if __name__ == "__main__":
    main()
