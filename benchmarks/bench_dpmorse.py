"""DPMorseClustering vs DP k-means and a DP-GMM alone, same accountant, same data.

Mean ± std ARI and NMI over 8 seeds at epsilon in {0.5, 1, 3, 10, inf} on two moons
(n 10,000, noise 0.05), concentric circles, 5 anisotropic blobs and the wine data (bounds
from the feature ranges declared up front in sklearn's description of the data set).
Non-private ceilings: KMeans, GaussianMixture, SpectralClustering (one run each).

    python benchmarks/bench_dpmorse.py [--seeds 8] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
from _common import markdown_table, mean_std, write_result
from sklearn.cluster import KMeans, SpectralClustering
from sklearn.datasets import load_wine, make_blobs, make_circles, make_moons
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from sklpriv import DPMorseClustering
from sklpriv.cluster._dp_morse import dp_hard_em
from sklpriv.cluster._morse import GaussianMixtureDensity
from sklpriv.privacy import dp_to_zcdp

DELTA = 1e-5
EPSILONS = [0.5, 1.0, 3.0, 10.0, np.inf]


def datasets():
    X, y = make_moons(10_000, noise=0.05, random_state=0)
    yield "two moons", X, y, 2, ([-1.5, -1.0], [2.5, 1.5])
    X, y = make_circles(10_000, noise=0.05, factor=0.5, random_state=0)
    yield "circles", X, y, 2, (-1.4, 1.4)
    X, y = make_blobs(10_000, centers=5, random_state=170)
    X = X @ np.array([[0.6, -0.64], [-0.41, 0.85]])
    yield "aniso blobs (5)", X, y, 5, ([-8.0, -18.0], [12.0, 9.0])
    X, y = load_wine(return_X_y=True)
    lower = [11.0, 0.74, 1.36, 10.6, 70, 0.98, 0.34, 0.13, 0.41, 1.28, 0.48, 1.27, 278]
    upper = [14.9, 5.8, 3.23, 30.0, 162, 3.88, 5.08, 0.66, 3.58, 13.0, 1.71, 4.0, 1680]
    yield "wine (13-D)", X, y, 3, (lower, upper)


def to_box(X, bounds):
    lo, hi = (np.broadcast_to(np.asarray(b, float), X.shape[1:]) for b in bounds)
    return 2 * (np.clip(X, lo, hi) - lo) / (hi - lo) - 1


def dp_mixture_labels(X, bounds, k, eps, seed, base):
    """DP k-means (base="kmeans") or DP-GMM (base="gmm") with k = n_clusters components:
    the same Lloyd/EM mechanism and accountant as DP-Morse, without the Morse stage."""
    Z = to_box(X, bounds)
    rho = dp_to_zcdp(eps, DELTA)
    w, m, c, _, _ = dp_hard_em(Z, k, 10, rho, base, np.random.RandomState(seed))
    if base == "kmeans":
        return np.argmin(((Z[:, None] - m[None]) ** 2).sum(-1), axis=1)
    return GaussianMixtureDensity(w, m, c).component_log_prob(Z).argmax(1)


METHODS = {
    "DP-Morse (ours, defaults)": lambda X, b, k, e, s: (
        DPMorseClustering(k, epsilon=e, delta=DELTA, bounds=b, random_state=s).fit(X).labels_
    ),
    "DP-Morse (paper: raw stats, level sweep)": lambda X, b, k, e, s: (
        DPMorseClustering(
            k, epsilon=e, delta=DELTA, bounds=b, clip_radius=None, merge="level", random_state=s
        )
        .fit(X)
        .labels_
    ),
    "DP k-means (K = n_clusters)": lambda X, b, k, e, s: dp_mixture_labels(X, b, k, e, s, "kmeans"),
    "DP-GMM alone (K = n_clusters)": lambda X, b, k, e, s: dp_mixture_labels(X, b, k, e, s, "gmm"),
}


def ceilings(X, y, k):
    Xs = StandardScaler().fit_transform(X)
    out = {}
    out["KMeans"] = KMeans(k, n_init=10, random_state=0).fit_predict(Xs)
    out["GaussianMixture"] = GaussianMixture(k, random_state=0).fit(Xs).predict(Xs)
    idx = np.random.RandomState(0).choice(len(X), min(len(X), 3000), replace=False)
    sc = SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=15, random_state=0)
    lab = sc.fit_predict(Xs[idx])
    out["SpectralClustering (3k subsample)"] = (lab, idx)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seeds", type=int, default=8)
    p.add_argument("--quick", action="store_true", help="moons only, 3 seeds")
    p.add_argument("--data", default=None, help="unused (all data generated or shipped)")
    args = p.parse_args(argv)
    seeds = range(3 if args.quick else args.seeds)
    warnings.simplefilter("ignore")
    rows = []
    for name, X, y, k, bounds in datasets():
        if args.quick and name != "two moons":
            continue
        for mname, fn in METHODS.items():
            for eps in EPSILONS:
                ari, nmi, secs = [], [], []
                for s in seeds:
                    t0 = time.perf_counter()
                    lab = fn(X, bounds, k, eps, s)
                    secs.append(time.perf_counter() - t0)
                    ari.append(adjusted_rand_score(y, lab))
                    nmi.append(normalized_mutual_info_score(y, lab))
                rows.append(
                    [name, mname, eps, mean_std(ari), mean_std(nmi), f"{np.mean(secs):.2f}"]
                )
                print(" | ".join(map(str, rows[-1])), flush=True)
        for cname, lab in ceilings(X, y, k).items():
            yy = y
            if isinstance(lab, tuple):
                lab, idx = lab
                yy = y[idx]
            rows.append(
                [
                    name,
                    f"{cname} (non-private)",
                    "—",
                    f"{adjusted_rand_score(yy, lab):.3f}",
                    f"{normalized_mutual_info_score(yy, lab):.3f}",
                    "",
                ]
            )
            print(" | ".join(map(str, rows[-1])), flush=True)
    # fit time at n = 100,000, d = 2
    X, _ = make_moons(100_000, noise=0.05, random_state=0)
    times = []
    for s in range(3):
        t0 = time.perf_counter()
        DPMorseClustering(  # delta must stay below 1/n = 1e-5 here
            epsilon=3.0, delta=1e-6, bounds=([-1.5, -1.0], [2.5, 1.5]), random_state=s
        ).fit(X)
        times.append(time.perf_counter() - t0)
    timing = (
        f"Fit time, two moons n = 100,000, d = 2, epsilon 3, delta 1e-6 (3 runs): "
        f"{mean_std(times)} s (target < 10 s)."
    )
    print(timing)
    table = markdown_table(["data", "method", "epsilon", "ARI", "NMI", "fit s"], rows)
    body = (
        f"delta = {DELTA}, {len(seeds)} seeds, mean ± std. DP k-means and the DP-GMM "
        "use the same mechanism and RDP accountant as DP-Morse (10 EM iterations), "
        "without the Morse stage.\n\n" + table + "\n\n" + timing
    )
    if not args.quick:
        write_result(
            "dpmorse",
            "DPMorseClustering benchmark",
            body,
            "python benchmarks/bench_dpmorse.py " + " ".join(sys.argv[1:]),
        )
    else:
        print(body)


if __name__ == "__main__":
    main()
