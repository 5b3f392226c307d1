"""What the boosting discriminator sees in TimeBridge's sines, and how far off it is.

``sklpriv.metrics.boosting_discriminative_score`` tells TimeBridge's sines (and the
authors' code's, ``timebridge_reference.md``) from real ones almost every time, where the
field's GRU score (``discriminative_score``) is near its floor. Three tables, one run:

1. **The floor of each discriminator**: real sines against fresh real sines plus Gaussian
   noise of sd ``s`` (in the data's units; the sines span [0.5, 1]). It says how close to
   the sine family a window must lie for each score to pass.
2. **The network's denoising, by bridge time**: real windows taken to ``x_t`` by the
   bridge, then predicted back; error of the prediction and its high-frequency part (rms
   second difference along time) against the noise sd at that time. An exact denoiser
   leaves no high-frequency error (the sines are smooth); the network's is what the
   sampler's last steps hand on.
3. **The generated windows, by what the classifier reads**: boosting on the values, on
   the first differences, on the second differences and on the first two time steps; the
   rms second difference against the real windows'; the share of windows with a flat top
   (two or more steps at the clamped maximum).

    python benchmarks/bench_timebridge_boosting.py [--max-steps 1500] [--n-samples 1000]
        [--cache DIR] [--threads 2]

``--cache`` is the folder of ``bench_timebridge.py --cache`` (the same fitted models).
"""

from __future__ import annotations

import argparse
import sys
from types import SimpleNamespace

import numpy as np
import torch
from _common import markdown_table, write_result
from bench_timebridge import fitted, interval, load
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

from sklpriv.datasets import make_sines
from sklpriv.generative._priors import sample_prior
from sklpriv.metrics import boosting_discriminative_score, discriminative_score

NOISE_SD = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
TIMES = (1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.7)


def boosting_on(real, fake, features, seed=0):
    """|accuracy - 0.5| of gradient boosting on one feature set (5-fold, balanced)."""
    X = np.concatenate([features(real), features(fake)])
    y = np.r_[np.zeros(len(real)), np.ones(len(fake))]
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    clf = HistGradientBoostingClassifier(random_state=seed)
    return abs(cross_val_score(clf, X, y, cv=folds).mean() - 0.5)


FEATURE_SETS = {
    "values": lambda w: w.reshape(len(w), -1),
    "first differences": lambda w: np.diff(w, axis=1).reshape(len(w), -1),
    "second differences": lambda w: np.diff(w, 2, axis=1).reshape(len(w), -1),
    "first two steps": lambda w: w[:, :2].reshape(len(w), -1),
}


def roughness(w):
    """rms second difference along time."""
    return float(np.sqrt((np.diff(w, 2, axis=1) ** 2).mean()))


def floor_table(real, n, repeats):
    """Table 1: real against fresh real windows plus noise of sd s."""
    rows = []
    for s in NOISE_SD:
        boost, boost_values, gru = [], [], []
        for seed in range(repeats):
            other = make_sines(n, random_state=1000 + seed)
            noisy = other + np.random.RandomState(seed).normal(0.0, s, other.shape)
            boost.append(boosting_discriminative_score(real, noisy, random_state=seed))
            boost_values.append(
                boosting_discriminative_score(real, noisy, differences=False, random_state=seed)
            )
            gru.append(discriminative_score(real, noisy, scale=False, random_state=seed))
        row = [f"{s:g}", f"{100 * s / 0.5:.2f}%", interval(boost), interval(boost_values)]
        print(" | ".join(row + [interval(gru)]), flush=True)
        rows.append(row + [interval(gru)])
    header = ["noise sd", "of the range", "boosting", "boosting, values only", "GRU"]
    return markdown_table(header, rows)


@torch.no_grad()
def denoising_table(gen, real):
    """Table 2: the network's x0-prediction of real windows at several bridge times."""
    Z = torch.from_numpy(gen._scale(real)).float()
    g = torch.Generator().manual_seed(0)
    xT = sample_prior(gen.prior_, len(Z), g)
    bridge, rows = gen._bridge(), []
    half = 2.0 / (gen.data_max_ - gen.data_min_).mean()  # scaled units per data unit
    for t in TIMES:
        tt = torch.full((len(Z),), t, dtype=torch.float64)
        x_t = bridge.marginal(Z, xT, tt, torch.randn(Z.shape, generator=g))
        err = (gen._denoise(gen.network_, x_t, tt).float() - Z).numpy() / half
        sigma = float(bridge.coefficients(t)[2]) ** 0.5 / half
        # rms second difference of white noise of sd s is sqrt(6) s
        hf = roughness(err) / np.sqrt(6)
        rows.append(
            [f"{t:g}", f"{sigma:.4f}", f"{np.sqrt((err**2).mean()):.4f}", f"{hf:.4f}"]
            + [f"{hf / sigma:.2f}"]
        )
    header = ["t", "noise sd", "rms error", "high-frequency error (sd)", "of the noise sd"]
    return markdown_table(header, rows)


def samples_table(real, fake):
    """Table 3: what the boosting classifier reads in the generated windows."""
    fresh = make_sines(len(real), random_state=999)
    rows = []
    for name, other in (("TimeBridge samples", fake), ("fresh real sines", fresh)):
        flat_top = ((other >= other.max() - 1e-9).sum(axis=1) >= 2).any(axis=1).mean()
        cells = [boosting_discriminative_score(real, other, random_state=0)]
        cells += [boosting_on(real, other, f) for f in FEATURE_SETS.values()]
        rows.append(
            [name] + [f"{c:.3f}" for c in cells] + [f"{roughness(other):.5f}", f"{flat_top:.3f}"]
        )
        print(" | ".join(rows[-1]), flush=True)
    header = ["windows", "boosting (values + first differences)"]
    header += [f"boosting, {k}" for k in FEATURE_SETS] + ["rms second difference", "flat tops"]
    return markdown_table(header, rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--max-steps", type=int, default=1500)
    p.add_argument("--n-samples", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3, help="seeds of the floor table")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--cache", default=None, help="bench_timebridge.py's model folder")
    p.add_argument("--name", default="timebridge_boosting")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    X = load("sines", None)
    real = X[np.random.RandomState(0).choice(len(X), args.n_samples, replace=False)]
    fit_args = SimpleNamespace(max_steps=args.max_steps, device=None, cache=args.cache)
    gen, fit_s = fitted("sines", "gp", X, fit_args)
    fake = gen.sample(args.n_samples, random_state=0)
    tables = [floor_table(real, args.n_samples, args.repeats)]
    tables += [denoising_table(gen, real), samples_table(real, fake)]
    body = (
        f"Sines, 10,000 windows of 24 x 5 (values in [0.5, 1]); TimeBridge defaults, "
        f"`max_steps={args.max_steps}` ({fit_s:.0f} s fit); {args.n_samples} real windows "
        f"against {args.n_samples} others in every score; boosting: 5-fold "
        f"HistGradientBoostingClassifier, |acc - 0.5|; GRU: `discriminative_score`. "
        f"Floor table: {args.repeats} seeds, mean ± half-width of the 95% t-interval. "
        "Errors and noise sd in the data's units.\n\n"
        "## 1. The floor of each discriminator: real + Gaussian noise\n\n"
        + tables[0]
        + "\n\n## 2. The network's denoising of real windows, by bridge time\n\n"
        + tables[1]
        + "\n\n## 3. The generated windows, by what the classifier reads\n\n"
        + tables[2]
    )
    write_result(
        args.name,
        "TimeBridge: what the boosting discriminator sees",
        body,
        "python benchmarks/bench_timebridge_boosting.py " + " ".join(sys.argv[1:]),
    )


if __name__ == "__main__":
    main()
