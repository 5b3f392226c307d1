"""How fit and predict/sample cost grow with n, for every estimator and its peer.

Every cell runs in a fresh process on one thread (torch and BLAS), so cells do not share
memory or warm caches: a *fit* process generates the data at n rows, times one epoch of
training (or the whole fit where the method has no epochs) and pickles the model; a
*predict* process loads it, generates n fresh rows and times ``predict`` / ``sample``.
Peak memory is the highest resident set size a 2 ms poller saw during the call, above the
process's size just before it (data and model already in memory, and one warm-up call on
16 rows made: torch's first call loads kernels worth up to 200 MB, whatever n), measured
in a separate pass with ``MALLOC_MMAP_THRESHOLD_=65536``, so that glibc returns freed
blocks at once and the resident set follows the live memory (with glibc's default adaptive
threshold the first large call's freed blocks stay resident: 240 MB instead of 21 MB for
``AdversarialClassifier.predict_proba`` on 100,000 rows). Times come from the time pass,
with glibc's defaults (the setting slows allocation-heavy code). A cell that runs past
``--cap`` seconds is stopped; its time and those of the larger sizes are extrapolated
from the exponent of the two largest measured sizes (marked ``~``).

Fit exponents are fitted between the two largest measured sizes (the smallest sizes are
dominated by fixed costs); predict memory is reported with the size of the output, so
the working memory beyond it shows.

    python benchmarks/bench_scaling.py [--sizes 1000 10000 100000] [--cap 300]
                                       [--only NAME ...] [--million] [--store FILE]

``--store FILE`` keeps every cell in a JSON file; with ``--only`` the named rows are
re-measured and the table is written from the whole file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _common import markdown_table, write_result

HERE = Path(__file__).resolve()
DELTA = 1e-7  # below 1/n at every size up to the 1M-row DP-Morse cell


# ----------------------------------------------------------------------------- data
def tabular(n, seed, task, n_features=20):
    from sklearn.datasets import make_classification, make_regression

    if task == "classification":
        return make_classification(n, n_features, n_informative=5, random_state=seed)
    X, y = make_regression(n, n_features, n_informative=5, noise=10.0, random_state=seed)
    return X, y / y.std()


def unit_box(n, seed):
    """Inputs in [0, 1]^64 (the robust estimators' bounds), labels from a linear rule."""
    rng = np.random.RandomState(seed)
    X = rng.rand(n, 64).astype(np.float32)
    w = np.random.RandomState(0).randn(64)
    return X, (X @ w > np.median(X[:1000] @ w)).astype(int)


def blobs(n, seed):
    from sklearn.datasets import make_blobs

    centers = np.array([[-6.0, -5.0], [0.0, 6.0], [7.0, -2.0]])
    X, _ = make_blobs(n, centers=centers, cluster_std=1.2, random_state=seed)
    return X, None


def series(n, seed):
    import pandas as pd

    rng = np.random.RandomState(seed)
    t = np.arange(n)
    cols = {f"ch{c}": np.sin(2 * np.pi * t / 24 + c) + 0.3 * rng.randn(n) for c in range(7)}
    return pd.DataFrame(cols, index=pd.date_range("2000-01-01", periods=n, freq="h")), None


def sines(n, seed):
    from sklpriv.datasets import make_sines

    return make_sines(n, n_timesteps=24, n_features=5, random_state=seed), None


def digits(n, seed):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(seed)
    idx = rng.randint(len(X), size=n)
    return np.clip(X[idx] + rng.rand(n, 64), 0, 16), y[idx]


def scenes(n, seed):
    from sklpriv.datasets import make_digit_scenes

    return make_digit_scenes(n, co_occurrence={3: {7: 1.0}}, random_state=seed)


def facts(n, seed):
    from sklpriv.datasets import make_fictitious_facts

    f = make_fictitious_facts(max(1, math.ceil(n / 12)), random_state=seed)
    return f.prompts[:n], f.responses[:n]


# ----------------------------------------------------------------------------- cases
@dataclass
class Case:
    """One row of the table: how to build the estimator, its data, and what to call."""

    build: Callable
    data: Callable
    predict: str = "predict"  # "predict", "predict_proba", "sample" or "forecast"
    fit_unit: str = "one epoch"
    peer_of: str | None = None
    fresh_rows: bool = True  # predict on new rows (False: the training rows' kind)


def _dpsat(kind):
    from sklpriv import DPSATClassifier, DPSATRegressor

    cls = DPSATClassifier if kind == "classification" else DPSATRegressor
    return lambda n: cls(max_epochs=1, delta=DELTA, random_state=0)


def _mlp(kind, hidden=(100,)):
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    cls = MLPClassifier if kind == "classification" else MLPRegressor
    return lambda n: cls(hidden_layer_sizes=hidden, batch_size=256, max_iter=1, random_state=0)


def _bayesnam(kind):
    from sklpriv import BayesNAMClassifier, BayesNAMRegressor

    cls = BayesNAMClassifier if kind == "classification" else BayesNAMRegressor
    return lambda n: cls(max_epochs=1, random_state=0)


def _ebm(n):
    from interpret.glassbox import ExplainableBoostingRegressor

    return ExplainableBoostingRegressor(n_jobs=1, random_state=0)


def _cats(n):
    from sklpriv import CATSForecaster

    return CATSForecaster(max_epochs=1, random_state=0)


def _dlinear(n):
    from sktime.forecasting.ltsf import LTSFDLinearForecaster

    return LTSFDLinearForecaster(seq_len=96, pred_len=96, num_epochs=1, batch_size=32)


def _timebridge(n):
    from sklpriv import TimeBridgeGenerator

    return TimeBridgeGenerator(max_steps=math.ceil(n / 128), random_state=0)


def _robust(name):
    from sklpriv import AdversarialClassifier, RandomizedNetworkClassifier

    cls = {"adv": AdversarialClassifier, "rnc": RandomizedNetworkClassifier}[name]
    return lambda n: cls(max_epochs=1, random_state=0)


def _diffusion(n):
    from sklpriv import DiffusionGenerator

    return DiffusionGenerator(max_epochs=1, random_state=0)


def _dp_diffusion(n):
    from sklpriv import DPDiffusionGenerator

    return DPDiffusionGenerator(
        bounds=(0, 16), classes=range(10), delta=DELTA, max_epochs=1, random_state=0
    )


def _gmm(n):
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(8, max_iter=10, tol=0, random_state=0)


def _dp_morse(n):
    from sklpriv import DPMorseClustering

    return DPMorseClustering(3, bounds=(-15.0, 15.0), delta=DELTA, random_state=0)


def _eraser(n):
    from sklpriv import ConceptEraser, DiffusionGenerator

    X, concepts = scenes(2000, 1)
    gen = DiffusionGenerator(channels=8, emb_dim=16, max_epochs=1, sampling_steps=10)
    gen.set_params(random_state=0).fit(X, concepts)
    return ConceptEraser(gen, concept="digit_3", max_steps=20, random_state=0)


def _mdlm(n):
    from sklpriv import MaskedDiffusionLM

    return MaskedDiffusionLM(max_epochs=1, random_state=0)


def cases() -> dict[str, Case]:
    clf, reg = "classification", "regression"
    return {
        "DPSATClassifier": Case(_dpsat(clf), lambda n, s: tabular(n, s, clf), "predict_proba"),
        "MLPClassifier (100,)": Case(
            _mlp(clf), lambda n, s: tabular(n, s, clf), "predict_proba", peer_of="DPSAT"
        ),
        "DPSATRegressor": Case(_dpsat(reg), lambda n, s: tabular(n, s, reg)),
        "MLPRegressor (100,)": Case(_mlp(reg), lambda n, s: tabular(n, s, reg), peer_of="DPSAT"),
        "DPMorseClustering": Case(_dp_morse, blobs, fit_unit="whole fit (10 EM iterations)"),
        "GaussianMixture (8, 10 EM iterations)": Case(
            _gmm, blobs, fit_unit="whole fit (10 EM iterations)", peer_of="DP-Morse"
        ),
        "BayesNAMRegressor": Case(
            _bayesnam(reg), lambda n, s: tabular(n, s, reg, 10), fit_unit="one epoch x 10 members"
        ),
        "BayesNAMClassifier": Case(
            _bayesnam(clf),
            lambda n, s: tabular(n, s, clf, 10),
            "predict_proba",
            fit_unit="one epoch x 10 members",
        ),
        "EBM regressor": Case(
            _ebm, lambda n, s: tabular(n, s, reg, 10), fit_unit="whole fit", peer_of="BayesNAM"
        ),
        "CATSForecaster": Case(_cats, series, "forecast"),
        "DLinear (sktime)": Case(_dlinear, series, "forecast", peer_of="CATS"),
        "TimeBridgeGenerator": Case(_timebridge, sines, "sample", "one epoch (n/128 steps)"),
        "AdversarialClassifier": Case(_robust("adv"), unit_box, "predict_proba"),
        "RandomizedNetworkClassifier": Case(_robust("rnc"), unit_box, "predict_proba"),
        "MLPClassifier (256, 256)": Case(
            _mlp(clf, (256, 256)), unit_box, "predict_proba", peer_of="robust"
        ),
        "DiffusionGenerator": Case(_diffusion, lambda n, s: tabular(n, s, clf, 10), "sample"),
        "DPDiffusionGenerator": Case(
            _dp_diffusion, digits, "sample", "one epoch + 2000 synthetic pre-training steps"
        ),
        "ConceptEraser": Case(_eraser, scenes, "sample", "whole fit (20 steps)"),
        # prompts about the people it learned (new names are outside the vocabulary)
        "MaskedDiffusionLM": Case(_mdlm, facts, fresh_rows=False),
    }


# ----------------------------------------------------------------------------- cells
class PeakRSS:
    """Highest resident set size seen by a 2 ms poller while the block runs, in MB."""

    def __enter__(self):
        import psutil

        self._proc, self._stop = psutil.Process(), threading.Event()
        self.base = self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(0.002)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)
        self.mb = (self.peak - self.base) / 2**20


def _single_thread():
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    warnings.filterwarnings("ignore")


def _fit(case: Case, model, X, y):
    if case.predict == "forecast":
        return model.fit(X, fh=np.arange(1, 97))
    return model.fit(X) if y is None else model.fit(X, y)


def _call(case: Case, model, X, y, n):
    if case.predict == "forecast":
        return model.predict(fh=np.arange(1, 97))
    if case.predict == "sample":
        return model.sample(n, random_state=0)
    return getattr(model, case.predict)(X)


def run_cell(name: str, n: int, phase: str, path: str) -> dict:
    _single_thread()
    case = cases()[name]
    X, y = case.data(n, 1 if phase == "predict" and case.fresh_rows else 0)
    if phase == "fit":
        model = case.build(n)
        with PeakRSS() as mem:
            start = time.perf_counter()
            _fit(case, model, X, y)
            seconds = time.perf_counter() - start
        Path(path).write_bytes(pickle.dumps(model))
        return {"s": seconds, "mb": mem.mb}
    model = pickle.loads(Path(path).read_bytes())
    _call(case, model, X[:16], None, 16)  # warm-up: torch's one-time kernel/library loads
    with PeakRSS() as mem:
        start = time.perf_counter()
        out = _call(case, model, X, y, n)
        seconds = time.perf_counter() - start
    out_mb = np.asarray(out).nbytes / 2**20  # strings: as a fixed-width array
    return {"s": seconds, "mb": mem.mb, "out_mb": out_mb}


def spawn(name, n, phase, path, cap, malloc: bool = False) -> dict | None:
    """One cell in a fresh process; None when it runs past the cap. ``malloc``: glibc
    returns freed blocks at once (the memory pass; it slows allocation-heavy code)."""
    cmd = [sys.executable, str(HERE), "--cell", name, str(n), phase, path]
    env = dict(os.environ, **({"MALLOC_MMAP_THRESHOLD_": "65536"} if malloc else {}))
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=cap, check=True, env=env)
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as err:  # reported in the table, the sweep goes on
        print(f"{name} n={n} {phase} failed:\n{err.stderr[-3000:]}", flush=True)
        return {"error": err.stderr.strip().splitlines()[-1]}
    return json.loads(res.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- sweep
def exponent(sizes, seconds) -> float:
    """log-log slope between the two largest measured sizes."""
    pts = [(n, s) for n, s in zip(sizes, seconds, strict=True) if s is not None]
    if len(pts) < 2:
        return 1.0  # assume linear when only one size finished
    (n0, s0), (n1, s1) = pts[-2], pts[-1]
    return math.log(max(s1, 1e-6) / max(s0, 1e-6)) / math.log(n1 / n0)


def extrapolate(sizes, cells, key="s"):
    """Fill the capped or skipped cells from the measured ones; mark them."""
    measured = [c.get(key) if c else None for c in cells]
    if all(v is None for v in measured):
        return [(math.nan, False)] * len(sizes), math.nan
    b = exponent(sizes, measured)
    last = max(i for i, v in enumerate(measured) if v is not None)
    # at least linear: small sizes are dominated by fixed costs
    guess = [measured[last] * (n / sizes[last]) ** max(b, 1.0) for n in sizes]
    filled = [
        (math.nan, False) if c and "error" in c else (v, False) if v is not None else (g, True)
        for v, g, c in zip(measured, guess, cells, strict=True)
    ]
    return filled, b


def _worth_running(cells, sizes, n, cap) -> bool:
    """False once a smaller size was capped, or when a linear guess from it exceeds 1.5
    caps (fixed costs make guesses from small sizes pessimistic)."""
    if not cells:
        return True
    if cells[-1] is None or "error" in cells[-1]:
        return False
    return cells[-1]["s"] * n / sizes[len(cells) - 1] < 1.5 * cap


def sweep_case(name, sizes, cap, tmp) -> dict:
    fits, preds, model_n = [], [], None
    for n in sizes:
        path = os.path.join(tmp, f"{abs(hash(name))}_{n}.pkl")
        fit = spawn(name, n, "fit", path, cap) if _worth_running(fits, sizes, n, cap) else None
        model_n = n if fit else model_n
        fits.append(fit)
        src = os.path.join(tmp, f"{abs(hash(name))}_{model_n}.pkl")
        run = _worth_running(preds, sizes, n, cap)
        pred = spawn(name, n, "predict", src, cap) if run else None
        preds.append(pred)
        print(f"  {name} n={n}: fit {fit}, predict {pred}", flush=True)
    return {"fit": fits, "predict": preds}


def memory_pass(name, sizes, timed, cap, tmp) -> list:
    """Predict/sample peak memory with ``malloc``: one model fitted at the smallest size
    (at each size where predict needs the training rows' vocabulary), and no cell whose
    time was capped in the time pass."""
    cells, path = [], os.path.join(tmp, f"mem_{abs(hash(name))}.pkl")
    for i, n in enumerate(sizes):
        if i == 0 or not cases()[name].fresh_rows:
            spawn(name, n if i else sizes[0], "fit", path, cap)
        ok = timed is None or (i < len(timed) and timed[i] and "s" in timed[i])
        cells.append(spawn(name, n, "predict", path, cap, malloc=True) if ok else None)
        print(f"  {name} n={n}: memory {cells[-1]}", flush=True)
    return cells


def _fmt(value, approx, digits=2):
    if math.isnan(value):
        return "err"
    return ("~" if approx else "") + f"{value:.{digits}f}"


def _mem(mb, out_mb) -> str:
    return "-" if mb is None else f"{mb:.0f} ({out_mb:.1f})"


def table_rows(results, sizes):
    rows = []
    for name, res in results.items():
        fit, bf = extrapolate(sizes, res["fit"])
        pred, bp = extrapolate(sizes, res["predict"])
        memory = res.get("memory", res["predict"])
        mem = [c.get("mb") if c else None for c in memory]
        out = [c.get("out_mb") if c else None for c in memory]
        rows.append(
            [name, cases()[name].fit_unit]
            + [_fmt(*c) for c in fit]
            + [f"{bf:.2f}"]
            + [_fmt(*c, digits=3) for c in pred]
            + [f"{bp:.2f}"]
            + [_mem(m, o) for m, o in zip(mem, out, strict=True)]
        )
    return rows


def million_cell(cap) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        res = spawn("DPMorseClustering", 1_000_000, "fit", os.path.join(tmp, "m.pkl"), cap)
    if res is None or "error" in res:
        why = f"over the {cap:.0f} s cap" if res is None else res["error"]
        return f"DPMorseClustering fit at n = 1,000,000: {why}."
    return (
        f"DPMorseClustering fit at n = 1,000,000 (2-D blobs, defaults, one thread): "
        f"{res['s']:.1f} s, peak memory +{res['mb']:.0f} MB (target: under 60 s)."
    )


def plot(results, sizes, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    for i, (name, res) in enumerate(results.items()):
        color = plt.cm.tab20(i % 20)
        for ax, key in zip(axes, ("fit", "predict"), strict=True):
            vals, _ = extrapolate(sizes, res[key])
            style = "--" if cases()[name].peer_of else "-"
            ax.loglog(sizes, [v for v, _ in vals], style, color=color, label=name)
            for n, (v, approx) in zip(sizes, vals, strict=True):  # hollow: extrapolated
                ax.plot(n, v, "o", color=color, mfc="white" if approx else color)
    titles = ("fit (see the unit column)", "predict / sample n rows (hollow: extrapolated)")
    for ax, title in zip(axes, titles, strict=True):
        ax.loglog(sizes, [1e-3 * n / sizes[0] for n in sizes], ":k", label="slope 1")
        ax.set(xlabel="n", ylabel="seconds (one thread)", title=title)
    axes[1].legend(fontsize=7, loc="upper left", ncol=1, bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    p.add_argument("--cap", type=float, default=300.0)
    p.add_argument("--only", nargs="*", default=None, help="rows to measure (none: report)")
    p.add_argument("--million", action="store_true", help="also DP-Morse at n = 1M")
    p.add_argument("--store", default=None, help="JSON file of the cells: --only updates it")
    p.add_argument("--passes", nargs="+", default=["time", "memory"], choices=["time", "memory"])
    p.add_argument("--cell", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.cell:
        name, n, phase, path = args.cell
        print(json.dumps(run_cell(name, int(n), phase, path)))
        return
    store = Path(args.store) if args.store else None
    results = json.loads(store.read_text()) if store and store.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in list(cases()) if args.only is None else args.only:
            if "time" in args.passes:
                results[name] = sweep_case(name, args.sizes, args.cap, tmp)
            if "memory" in args.passes:
                timed = results.get(name, {}).get("predict")
                results[name]["memory"] = memory_pass(name, args.sizes, timed, args.cap, tmp)
            if store:
                store.write_text(json.dumps(results, indent=1))
    if args.million:
        results["_million"] = million_cell(max(args.cap, 120.0))
        if store:
            store.write_text(json.dumps(results, indent=1))
    report(results, args)


def report(results, args):
    sizes = args.sizes
    ns = [f"{n:,}" for n in sizes]
    header = (
        ["estimator", "fit unit"]
        + [f"fit s, n={n}" for n in ns]
        + ["fit exponent"]
        + [f"predict s, n={n}" for n in ns]
        + ["predict exponent"]
        + [f"predict peak MB (output MB), n={n}" for n in ns]
    )
    million = results.pop("_million", None)
    results = {name: results[name] for name in cases() if name in results}
    body = markdown_table(header, table_rows(results, sizes))
    notes = [
        f"One thread per cell; cap {args.cap:.0f} s per cell (`~`: not measured, extrapolated "
        "with the larger of the exponent and 1). Exponents: log-log slope between the two "
        "largest measured sizes. Predict/sample memory: peak resident set above the process "
        "before the call, after a 16-row warm-up call, in a separate pass with "
        "MALLOC_MMAP_THRESHOLD_=65536 (see the script's docstring); the output's own size in "
        "brackets. Peers: dashed in the figure.",
    ]
    if million:
        notes.append(million)
    fig = Path(__file__).parent / "results" / "scaling.png"
    plot(results, sizes, fig)
    text = "\n\n".join(notes) + "\n\n" + body + "\n\n![scaling](scaling.png)"
    cmd = "python benchmarks/bench_scaling.py " + " ".join(sys.argv[1:])
    write_result("scaling", "How cost grows with n", text, cmd)
    print(body)


if __name__ == "__main__":
    main()
