"""TimeBridge: prior="gp" vs prior="normal" (same network, same run), window 24.

Sines (10,000 windows of 5 features, generated) and stocks
(``stock_data.csv``: 6 daily series, sliding windows of 24, stride 1). The field's protocol:
the four metrics on [0, 1]-scaled data, each repeated 5 times with different seeds,
reported as mean ± the half-width of the 95% t-interval (as Diffusion-TS' display_scores).

    python benchmarks/bench_timebridge.py --data ../shared/data [--max-steps 6000]
        [--n-samples 0] [--repeats 5] [--only sines] [--device cuda]

``--n-samples 0`` generates as many windows as the data set has (the field's protocol);
a smaller number keeps a CPU run short (all metrics then use that many real windows too).
``--samplers sde:40 ode:40 dbim:10`` evaluates several sampler settings (kind:steps) on
the same fitted model, one row each; ``--cache DIR`` keeps each fitted model (pickle) and
reads it back on a rerun with the same settings.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import data_dir, markdown_table, write_result
from scipy import stats

from sklpriv import TimeBridgeGenerator
from sklpriv.datasets import make_sines, sliding_windows
from sklpriv.metrics import (
    boosting_discriminative_score,
    context_fid,
    correlational_score,
    discriminative_score,
    predictive_score,
)

# Diffusion-TS (the strongest published peer; TimeBridge paper, window 24)
PEER = {
    "sines": dict(disc=0.006, pred=0.093, fid=0.006, corr=0.015),
    "stocks": dict(disc=0.067, pred=0.036, fid=0.147, corr=0.004),
}
REAL_PRED = {"sines": 0.094, "stocks": 0.036}


def load(name, folder):
    """Windows in the field's [0, 1] space: sines as generated, stocks min-max scaled over
    the whole series (the reference's MinMaxScaler)."""
    if name == "sines":
        return make_sines(10000, n_timesteps=24, n_features=5, random_state=123)
    df = pd.read_csv(folder / "stock_data.csv")
    df = (df - df.min()) / (df.max() - df.min())
    return sliding_windows(df, window=24, stride=1)


def interval(values):
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return f"{v.mean():.3f}"
    half = stats.t.ppf(0.975, len(v) - 1) * stats.sem(v)
    return f"{v.mean():.3f} ± {half:.3f}"


def evaluate(real, fake, repeats):
    """The four metrics and the boosting discriminator, ``repeats`` seeds each;
    correlational on random fifths."""
    out = {k: [] for k in ("disc", "pred", "fid", "corr", "boost")}
    kw = dict(scale=False)  # already in the field's [0, 1] space
    for seed in range(repeats):
        out["disc"].append(discriminative_score(real, fake, random_state=seed, **kw))
        out["pred"].append(predictive_score(real, fake, random_state=seed, **kw))
        out["fid"].append(context_fid(real, fake, random_state=seed, **kw))
        out["corr"].append(
            correlational_score(
                real, fake, n_samples=max(len(real) // 5, 2), random_state=seed, **kw
            )
        )
        out["boost"].append(boosting_discriminative_score(real, fake, random_state=seed, **kw))
    return out


def fitted(name, prior, X, args, params=None):
    """The fitted generator and its fit seconds (read from ``--cache`` when there);
    ``params``: further ``TimeBridgeGenerator`` settings (part of the cache key)."""
    params = params or {}
    path = None
    if args.cache:
        key = "".join(f"-{k}={v}" for k, v in sorted(params.items()))
        stem = f"{name}-{prior}-{args.max_steps}-{args.device or 'auto'}{key}"
        path = Path(args.cache) / f"{stem}.pkl"
        if path.exists():
            return pickle.loads(path.read_bytes())
    gen = TimeBridgeGenerator(
        prior=prior, max_steps=args.max_steps, device=args.device, random_state=0, **params
    )
    t0 = time.perf_counter()
    gen.fit(X)
    out = gen, time.perf_counter() - t0
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(out))
    return out


# network evaluations per window of each sampler kind at a number of steps
EVALUATIONS = {"sde": lambda n: 3 * n - 1, "ode": lambda n: 2 * n - 1, "dbim": lambda n: n + 1}
_RATE_DRAWS, _RATE_WINDOWS = 3, 256  # timed draws per sampler setting, windows per draw


def sampling_rates(gen, samplers):
    """Windows per second of each sampler setting: the median of ``_RATE_DRAWS`` timed draws
    of ``_RATE_WINDOWS`` windows (one sampler batch), the settings taking turns so that they
    are timed side by side."""
    times = {spec: [] for spec in samplers}
    for _ in range(_RATE_DRAWS):
        for spec in samplers:
            kind, steps = spec.split(":")
            gen.set_params(sampler=kind, sampling_steps=int(steps))
            t0 = time.perf_counter()
            gen.sample(_RATE_WINDOWS, random_state=0)
            times[spec].append(time.perf_counter() - t0)
    return {spec: _RATE_WINDOWS / float(np.median(t)) for spec, t in times.items()}


def cell(name, prior, folder, args):
    """Fit, sample and evaluate one (data set, prior) in this process: one row per
    sampler setting."""
    if args.threads:
        torch.set_num_threads(args.threads)
    X = load(name, folder)
    n_gen = args.n_samples or len(X)
    real = X[np.random.RandomState(0).choice(len(X), min(n_gen, len(X)), replace=False)]
    gen, fit_s = fitted(name, prior, X, args)
    rates = sampling_rates(gen, args.samplers)
    rows = []
    for spec in args.samplers:
        kind, steps = spec.split(":")
        fake = gen.set_params(sampler=kind, sampling_steps=int(steps)).sample(n_gen, random_state=0)
        m = evaluate(real, fake, args.repeats)
        label = f"TimeBridge, prior={prior}"
        if args.samplers != ["sde:40"]:
            n_eval = EVALUATIONS[kind](int(steps))
            label += f", {kind} sampler, {steps} steps ({n_eval} evaluations)"
        row = [name, label] + [interval(m[k]) for k in m] + [f"{fit_s:.0f}", f"{rates[spec]:.1f}"]
        print(" | ".join(row), flush=True)
        rows.append(row)
    return rows, X.shape, n_gen


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=None)
    p.add_argument("--only", nargs="*", default=None)
    p.add_argument("--priors", nargs="*", default=["gp", "normal"])
    p.add_argument("--max-steps", type=int, default=6000)
    p.add_argument("--n-samples", type=int, default=0)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None, help="torch threads per cell")
    p.add_argument("--parallel", type=int, default=1, help="cells run at once (processes)")
    p.add_argument("--name", default="timebridge", help="results file: benchmarks/results/NAME.md")
    p.add_argument("--samplers", nargs="*", default=["sde:40"], help="sampler settings, kind:steps")
    p.add_argument("--cache", default=None, help="folder keeping the fitted models")
    args = p.parse_args(argv)
    folder = data_dir(args.data)
    names = args.only or ["sines", "stocks"]
    jobs = [(name, prior) for name in names for prior in args.priors]
    with ProcessPoolExecutor(args.parallel) as pool:
        done = dict(
            zip(
                jobs,
                pool.map(cell, *zip(*jobs, strict=True), [folder] * len(jobs), [args] * len(jobs)),
                strict=True,
            )
        )
    rows = []
    for name in names:
        shape, n_gen = None, None
        for prior in args.priors:
            prior_rows, shape, n_gen = done[(name, prior)]
            rows += prior_rows
        peer = PEER[name]
        rows.append(
            [name, "Diffusion-TS (published)"] + [f"{peer[k]:.3f}" for k in peer] + ["", "", ""]
        )
        rows.append([name, "real data (published)", "", f"{REAL_PRED[name]:.3f}"] + [""] * 5)
        rows.append([name, "windows", " x ".join(map(str, shape)), f"{n_gen} generated"] + [""] * 5)
    header = [
        "data",
        "model",
        "discriminative",
        "predictive",
        "context-FID",
        "correlational",
        "boosting discriminative",
        "fit s",
        "samples/s",
    ]
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    body = (
        f"Window 24; TimeBridge defaults (d_model 64, 1 encoder + 2 decoder layers, batch 128, "
        "lr 8e-4 after a 500-step warm-up from 1e-5, halved after 3,000 steps without a 10% "
        "fall of the loss (the reference's schedule), EMA 0.995, "
        f"sampler {', '.join(args.samplers)} (kind:steps; the default is sde:40)), "
        f"`max_steps={args.max_steps}`, "
        f"device {device}, torch threads per cell {args.threads or torch.get_num_threads()}, "
        f"{args.parallel} cell(s) at a time (fit seconds are wall seconds of one cell). "
        "Metrics on [0, 1]-scaled "
        f"windows, {args.repeats} seeds each, mean ± half-width of the 95% t-interval; lower "
        "is better everywhere. Real windows for the metrics: a random subset of the size "
        "generated. Published rows: the TimeBridge paper's table (Diffusion-TS, same window). "
        "Boosting discriminative: `sklpriv.metrics.boosting_discriminative_score` (gradient "
        "boosting on the flattened windows and their first differences, 5-fold, |acc - 0.5|). "
        "samples/s: windows per second, the median of 3 timed draws of 256 windows (one "
        "sampler batch) per sampler setting, the settings timed in turn before any scoring."
        "\n\n" + markdown_table(header, rows)
    )
    write_result(
        args.name,
        "TimeBridge benchmark",
        body,
        "python benchmarks/bench_timebridge.py " + " ".join(sys.argv[1:]),
    )


if __name__ == "__main__":
    main()
