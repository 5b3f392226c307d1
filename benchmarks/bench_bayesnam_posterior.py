"""What BayesNAM's bands are worth: coverage of a known truth, against a calibrated reference.

Every posterior variant of BayesNAMRegressor, on data with a known answer and on diabetes,
in one run:

- synthetic additive data (y = x0^2 + sin(3 x1) + 0 x2 + N(0, 0.3^2), n = 1000, a new
  sample per seed): coverage of the true centred shape functions by the 95% bands, mean
  band width and its ratio to the calibrated reference's (the 95% spread, empirical
  quantiles, of a 20-member bootstrap NAM ensemble fitted to the same data), shape R^2;
- sklearn diabetes: 5-fold cross-validated R^2 (``cross_val_score(est, X, y, cv=5)``)
  against ``RidgeCV``, and on the first fold the share of the grid where the bands
  contain the mean shape of a 5-NAM ensemble (5 seeds, the definition of
  ``bench_bayesnam.py``), and the band width.

Variants: the defaults (the last-layer posterior of 10 bootstrap members); 5 members; one
member; the mean-field variational posterior of the BayesNAM paper (one member, the
former default; 10 bootstrap members; trained to convergence with ``kl_weight=0.1``); and
the plain NAM. Fit seconds: CPU seconds of one single-threaded fit.

    python benchmarks/bench_bayesnam_posterior.py [--seeds 5] [--parallel 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
from _common import markdown_table, write_result
from sklearn.datasets import load_diabetes
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_score

from sklpriv import BayesNAMRegressor

MF = dict(posterior="mean-field", n_estimators=1)
VARIANTS = {
    "defaults: last-layer posterior, 10 bootstrap members": {},
    "last-layer, 5 bootstrap members": dict(n_estimators=5),
    "last-layer, one member": dict(n_estimators=1),
    "mean-field (the paper's posterior), one member": MF,
    "mean-field, 10 bootstrap members": dict(posterior="mean-field"),
    "mean-field converged (1000 epochs, kl_weight=0.1), one member": dict(
        MF, early_stopping=False, max_epochs=1000, kl_weight=0.1
    ),
    "NAM (prior_sigma=None), one member": dict(prior_sigma=None, n_estimators=1),
}
REFERENCE = "reference: bootstrap NAM ensemble x20"
REFERENCE_KW = dict(prior_sigma=None, n_estimators=20, n_posterior_samples=20)
TRUE = {0: lambda t: t**2, 1: lambda t: np.sin(3 * t), 2: lambda t: 0 * t}


def synthetic_data(seed):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(1000, 3))
    return X, X[:, 0] ** 2 + np.sin(3 * X[:, 1]) + 0.3 * rng.randn(1000)


def bands(est, empirical=False):
    """Per feature: grid, lower, upper (the estimator's bands, or the empirical 2.5% and
    97.5% quantiles of its draws: the reference's spread over its members).
    """
    sf = est.shape_functions(n_points=50)
    out = []
    for j in range(est.n_features_in_):
        s = sf[sf.feature == f"x{j}"]
        x, lo, hi = s.x.to_numpy(), s.lower.to_numpy(), s.upper.to_numpy()
        if empirical:
            G = np.tile(np.median(est.X_reference_, axis=0), (len(x), 1))
            G[:, j] = x
            c = est._contrib_draws(G)[:, :, j, 0] * est._out_scale()
            lo, hi = np.quantile(c, 0.025, axis=0), np.quantile(c, 0.975, axis=0)
        out.append((x, s["mean"].to_numpy(), lo, hi))
    return out


def synthetic(variant, seed):
    X, y = synthetic_data(seed)
    kw = REFERENCE_KW if variant == REFERENCE else VARIANTS[variant]
    t0 = time.process_time()
    est = BayesNAMRegressor(random_state=seed, **kw).fit(X, y)
    secs = time.process_time() - t0
    cover, width, r2 = [], [], []
    for j, (x, mean, lo, hi) in enumerate(bands(est, empirical=variant == REFERENCE)):
        truth = TRUE[j](x) - TRUE[j](est.X_reference_[:, j]).mean()
        cover.append(((lo <= truth) & (truth <= hi)).mean())
        width.append((hi - lo).mean())
        if j < 2:
            r2.append(1 - np.sum((mean - truth) ** 2) / np.sum((truth - truth.mean()) ** 2))
    return dict(cover=np.mean(cover), width=np.mean(width), r2=np.mean(r2), secs=secs)


def diabetes(variant, fold):
    """One cross-validation fold: test R^2; on fold 0 also the bands (containment of the
    5-NAM ensemble's mean shape is computed in main from the shapes returned here).
    """
    X, y = load_diabetes(return_X_y=True)
    tr, te = list(KFold(5).split(X))[fold]
    kw = VARIANTS.get(variant, dict(prior_sigma=None, n_estimators=1))
    seed = int(variant.rsplit(" ", 1)[1]) if variant.startswith("NAM seed") else fold
    t0 = time.process_time()
    est = BayesNAMRegressor(random_state=seed, **kw).fit(X[tr], y[tr])
    secs = time.process_time() - t0
    out = dict(r2=est.score(X[te], y[te]), secs=secs)
    if fold == 0:
        out["shapes"] = est.shape_functions(n_points=50)[["mean", "lower", "upper"]]
    return out


def run(job):
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    kind, variant, seed = job
    return job, (synthetic if kind == "synthetic" else diabetes)(variant, seed)


def jobs_for(seeds):
    jobs = [("synthetic", v, s) for v in [*VARIANTS, REFERENCE] for s in range(seeds)]
    jobs += [("diabetes", v, f) for v in VARIANTS for f in range(5)]
    jobs += [("diabetes", f"NAM seed {k}", 0) for k in range(5)]  # the ensemble's members
    long = ("defaults", "10 ", "converged", "x20")  # first: the slowest fits
    return sorted(jobs, key=lambda j: not any(w in j[1] for w in long))


def rows_of(res, seeds):
    X, y = load_diabetes(return_X_y=True)
    ridge = cross_val_score(RidgeCV(), X, y, cv=5).mean()
    nam_mean = np.mean(
        [res[("diabetes", f"NAM seed {k}", 0)]["shapes"]["mean"] for k in range(5)], 0
    )
    ref_width = np.mean([res[("synthetic", REFERENCE, s)]["width"] for s in range(seeds)])
    rows = []
    for v in [*VARIANTS, REFERENCE]:
        syn = [res[("synthetic", v, s)] for s in range(seeds)]
        m = lambda k, runs=syn: np.mean([r[k] for r in runs])  # noqa: E731
        banded = VARIANTS.get(v, {}).get("prior_sigma", 1.0) is not None or v == REFERENCE
        row = [v, f"{m('cover'):.3f}" if banded else "no band"]
        row += [f"{m('width'):.3f}", f"{m('width') / ref_width:.2f}"] if banded else ["", ""]
        row += [f"{m('r2'):.3f}", f"{m('secs'):.1f}"]
        if v == REFERENCE:
            rows.append(row + ["", "", "", ""])
            continue
        dia = [res[("diabetes", v, f)] for f in range(5)]
        sh = dia[0]["shapes"]
        inside = ((sh.lower <= nam_mean) & (nam_mean <= sh.upper)).mean()
        r2 = np.mean([r["r2"] for r in dia])
        row += [f"{r2:.3f} ({r2 - ridge:+.3f})"]
        row += [f"{inside:.0%}", f"{(sh.upper - sh.lower).mean():.1f}"] if banded else ["", ""]
        rows.append(row + [f"{np.mean([r['secs'] for r in dia]):.1f}"])
    return rows, ridge


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--parallel", type=int, default=os.cpu_count())
    p.add_argument("--data", default=None, help="unused (generated and sklearn data)")
    p.add_argument("--seeds", type=int, default=5)
    args = p.parse_args(argv)
    with ProcessPoolExecutor(args.parallel) as pool:
        res = dict(pool.map(run, jobs_for(args.seeds)))
    rows, ridge = rows_of(res, args.seeds)
    header = [
        "variant", "synthetic: coverage of the true shape", "band width",
        "width / reference", "shape R^2", "fit s", "diabetes: 5-fold R^2 (vs RidgeCV)",
        "bands contain the NAM-ensemble mean", "band width", "fit s",
    ]  # fmt: skip
    table = markdown_table(header, rows)
    print(table)
    body = (
        f"Synthetic: means over {args.seeds} seeds (a new sample per seed); coverage: share "
        "of the 50 grid points per feature (3 features) where the 95% band contains the true "
        "centred shape; band width in units of y (sd about 0.8); the reference's band is "
        "the empirical 95% spread of its 20 members. Diabetes: `cross_val_score(est, X, y, "
        f"cv=5)` (RidgeCV: {ridge:.3f}); containment and band width (units of y, sd 77) on "
        "the first fold, against the mean shape of 5 NAMs (`prior_sigma=None, "
        "n_estimators=1`, seeds 0-4) on the same rows. Fit s: CPU seconds of one "
        "single-threaded fit (synthetic; diabetes: per fold).\n\n" + table
    )
    write_result(
        "bayesnam_posterior",
        "BayesNAM: how honest are the bands?",
        body,
        "python benchmarks/bench_bayesnam_posterior.py " + " ".join(sys.argv[1:]),
    )


if __name__ == "__main__":
    main()
