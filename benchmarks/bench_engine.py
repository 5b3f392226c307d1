"""The skorch engine against the old training loop: same seeds, same metrics, time per epoch.

Every case fits one estimator in a fresh process, once with this checkout and once with an
older checkout (``--before PATH``: a ``git worktree`` of the commit before the engine),
alternating ``--repeat`` times; the table gives the metric of each (same seed: equal up
to float summation order) and the median time per epoch (per 100 steps for TimeBridge).

    git worktree add /tmp/engine_before <commit before the engine>
    python benchmarks/bench_engine.py --before /tmp/engine_before \
        [--before-bayesnam /tmp/bayesnam_before] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import markdown_table, write_result

ROOT = Path(__file__).resolve().parents[1]
CASES = ("cats", "bayesnam_regressor", "bayesnam_classifier", "timebridge")


def _cats():
    from sktime.datasets import load_airline

    from sklpriv import CATSForecaster

    y = np.log(load_airline())
    est = CATSForecaster(
        seq_len=24,
        patch_len=6,
        d_model=32,
        n_heads=4,
        d_ff=64,
        max_epochs=40,
        patience=5,
        lr_schedule="constant",
        random_state=0,
    )
    t0 = time.perf_counter()
    est.fit(y[:-24], fh=np.arange(1, 25))
    secs = time.perf_counter() - t0
    err = float(np.mean(np.abs(np.exp(est.predict().to_numpy()) - np.exp(y[-24:].to_numpy()))))
    return {
        "metric": "MAE (airline, 24 months)",
        "value": err,
        "secs": secs,
        "units": len(est.history_),
        "unit": "epoch",
    }


def _bayesnam(kind):
    from sklearn.datasets import load_breast_cancer, load_diabetes
    from sklearn.model_selection import train_test_split

    from sklpriv import BayesNAMClassifier, BayesNAMRegressor

    if kind == "regressor":
        X, y = load_diabetes(return_X_y=True)
        est, name = BayesNAMRegressor(random_state=0), "RMSE (diabetes)"
    else:
        X, y = load_breast_cancer(return_X_y=True)
        est, name = BayesNAMClassifier(ema_decay=0.99, random_state=0), "accuracy (cancer)"
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    t0 = time.perf_counter()
    est.fit(X_tr, y_tr)
    secs = time.perf_counter() - t0
    if kind == "regressor":
        value = float(np.sqrt(np.mean((est.predict(X_te) - y_te) ** 2)))
    else:
        value = float(est.score(X_te, y_te))
    return {
        "metric": name,
        "value": value,
        "secs": secs,
        "units": len(est.history_),
        "unit": "epoch",
    }


def _timebridge():
    from sklpriv import TimeBridgeGenerator
    from sklpriv.datasets import make_sines

    X = make_sines(1000, n_timesteps=24, n_features=3, random_state=0)
    est = TimeBridgeGenerator(d_model=32, max_steps=600, batch_size=64, random_state=0)
    t0 = time.perf_counter()
    est.fit(X)
    secs = time.perf_counter() - t0
    value = float(est.score(X[:500]))  # fixed noise levels and seed: comparable
    return {
        "metric": "score: -bridge loss (sines)",
        "value": value,
        "secs": secs,
        "units": est.n_iter_ / 100,
        "unit": "100 steps",
    }


def worker(case):
    import torch

    torch.set_num_threads(1)
    import warnings

    warnings.simplefilter("ignore")
    fn = {
        "cats": _cats,
        "bayesnam_regressor": lambda: _bayesnam("regressor"),
        "bayesnam_classifier": lambda: _bayesnam("classifier"),
        "timebridge": _timebridge,
    }[case]
    print(json.dumps(fn()))


def run(case, path):
    env = {**os.environ, "PYTHONPATH": str(path)}
    out = subprocess.run(
        [sys.executable, __file__, "--worker", case],
        env=env,
        cwd=path,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


ENGINE_ESTIMATORS = ("BayesNAMRegressor", "CATSForecaster", "TimeBridgeGenerator")


def demo_rows(path, out, names):
    """The demo's result rows of the estimators ``names``, run in the checkout at ``path``."""
    code = (
        "import json, pathlib, torch; torch.set_num_threads(1)\n"
        "from sklpriv import _demo\n"
        f"names = {tuple(names)!r}\n"
        "secs = [s for s in _demo.SECTIONS if any(n in s[0] for n in names)]\n"
        f"out = pathlib.Path({str(out)!r}); out.mkdir(parents=True, exist_ok=True)\n"
        "rows = [r for _, fn in secs for r in fn(out).rows]\n"
        "print(json.dumps(rows, default=str))"
    )
    env = {**os.environ, "PYTHONPATH": str(path), "MPLBACKEND": "Agg"}
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=path, capture_output=True, text=True, check=True
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def demo_table(args, tmp):
    rows = []
    for name in ENGINE_ESTIMATORS:
        before = args.before_bayesnam if name.startswith("BayesNAM") else None
        before = Path(before or args.before).resolve()
        pairs = zip(
            demo_rows(before, tmp / "before", [name]),
            demo_rows(ROOT, tmp / "after", [name]),
            strict=True,
        )
        rows += [(b, a) for b, a in pairs]
    out = []
    for b, a in rows:
        out.append([b["estimator"], b["metric"], f"{b['value']:.4g}", f"{a['value']:.4g}"])
    return markdown_table(["demo section", "metric", "before", "after"], out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--before", help="checkout of the commit before the engine")
    p.add_argument(
        "--before-bayesnam",
        help="checkout for the BayesNAM cases (default: --before), e.g. the commit that "
        "moved BayesNAM last",
    )
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--demo", action="store_true", help="also compare the demo's rows")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--data", default=None, help="unused: sklearn/sktime data only")
    args = p.parse_args(argv)
    if args.worker:
        return worker(args.worker)
    if not args.before:
        p.error("--before PATH is required (a worktree of the commit before the engine)")
    rows = []
    for case in CASES:
        res = {"before": [], "after": []}
        before = args.before_bayesnam if case.startswith("bayesnam") else None
        before = Path(before or args.before).resolve()
        for _ in range(args.repeat):  # alternate, so both see the same machine
            res["before"].append(run(case, before))
            res["after"].append(run(case, ROOT))
        b, a = res["before"][0], res["after"][0]
        per_b = np.median([r["secs"] / r["units"] for r in res["before"]])
        per_a = np.median([r["secs"] / r["units"] for r in res["after"]])
        rows.append(
            [
                case,
                b["metric"],
                f"{b['value']:.4f}",
                f"{a['value']:.4f}",
                f"{b['units']:g} / {a['units']:g}",
                f"{per_b:.3f}",
                f"{per_a:.3f}",
                f"{per_a / per_b:.2f}x",
            ]
        )
        print(" | ".join(rows[-1]), flush=True)
    head = [
        "case",
        "metric",
        "before",
        "after",
        "epochs (or 100 steps) before / after",
        "s per unit before",
        "s per unit after",
        "after / before",
    ]
    body = (
        f"Before: the checkouts at `{args.before}` (CATS, TimeBridge) and "
        f"`{args.before_bayesnam or args.before}` (BayesNAM), each the last commit that "
        "trained it with train_module; after: this checkout "
        f"(skorch). Same seeds; torch 1 thread; {args.repeat} alternating runs per side, "
        "median time per epoch (TimeBridge: per 100 optimiser steps, 600 steps).\n\n"
        + markdown_table(head, rows)
    )
    if args.demo:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            table = demo_table(args, Path(tmp))
        body += "\n\nThe demo's sections of these estimators (same seeds):\n\n" + table
        print(table)
    write_result(
        "engine",
        "Training engine: skorch vs the old loop",
        body,
        "python benchmarks/bench_engine.py " + " ".join(sys.argv[1:]),
    )


if __name__ == "__main__":
    main()
