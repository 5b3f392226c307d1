"""BayesNAM prediction cost: the old forward passes vs the exact piecewise-linear form.

One model per shape is fitted once, with the current code (defaults: hidden sizes
(64, 64, 32), 30 posterior draws; 5 epochs on 2,000 synthetic rows, enough for timing),
and pickled. Each (code version, case) then runs in a fresh process that loads the same
pickle, makes the test rows (uniform on [-1, 1], seed 1) and times the call: best of
``--repeat`` calls (as many as fit in 30 s, at least one). Peak memory is the rise of the
process's peak resident set during the first call (Linux: the high-water mark is reset
just before it), so it counts torch's buffers as well as numpy's. "before" is the package
as of ``--before`` (a git revision, extracted with ``git archive``, or a checkout folder),
"after" this checkout; both predict with the same fitted weights and the same draws, so
the last column is a check that they agree.

    python benchmarks/bench_bayesnam_predict.py [--before f915055] [--repeat 3] [--quick]

Two cores are shared with whatever else runs: the load average at the start and the end is
written with the table.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import pickle
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import markdown_table, write_result

ROOT = Path(__file__).resolve().parents[1]
# the last commit whose BayesNAM predicted by forward passes through every draw
BEFORE = "f915055"
CASES = [  # (model, rows, features, call)
    ("regressor", 10_000, 10, "predict"),
    ("regressor", 10_000, 10, "predict(return_std=True)"),
    ("regressor", 100_000, 10, "predict"),
    ("regressor", 100_000, 10, "predict(return_std=True)"),
    ("classifier", 100_000, 10, "predict_proba"),
    ("regressor", 100_000, 50, "predict"),
    ("regressor", 100_000, 50, "predict(return_std=True)"),
]


def synthetic(n, n_features, seed):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, n_features))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + 0.5 * X[:, 2] + 0.1 * rng.randn(n)
    return X, y


def fit_models(folder, cases):
    """Fit each (model, features) once and pickle it twice: as is, and without the knots
    (the old code cannot unpickle them and does not use them)."""
    from sklpriv import BayesNAMClassifier, BayesNAMRegressor

    paths = {}
    for kind, F in sorted({(c[0], c[2]) for c in cases}):
        X, y = synthetic(2000, F, 0)
        t0 = time.perf_counter()
        if kind == "regressor":
            est = BayesNAMRegressor(max_epochs=5, random_state=0).fit(X, y)
        else:
            est = BayesNAMClassifier(max_epochs=5, random_state=0).fit(X, y > np.median(y))
        print(f"fitted {kind}, {F} features: {time.perf_counter() - t0:.1f} s", flush=True)
        old = copy.copy(est)
        del old._pwl
        for version, model in (("after", est), ("before", old)):
            path = folder / f"{kind}_{F}_{version}.pkl"
            path.write_bytes(pickle.dumps(model))
            paths[kind, F, version] = str(path)
    return paths


def checkout(before, folder):
    """The old package's folder and its revision: a checkout, or ``git archive`` of one."""
    if Path(before).is_dir():
        return Path(before), before
    rev = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", before],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dest = folder / "before"
    dest.mkdir()
    cmd = f"git -C {shlex.quote(str(ROOT))} archive {rev} sklpriv | tar -x -C {dest}"
    subprocess.run(cmd, shell=True, check=True)
    return dest, rev


def _status_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def worker(spec):
    """Time one call in this (fresh) process; print a JSON line."""
    import resource

    import torch

    import sklpriv

    est = pickle.loads(Path(spec["model"]).read_bytes())
    X, _ = synthetic(spec["rows"], spec["features"], 1)
    call = {
        "predict": lambda: est.predict(X),
        "predict(return_std=True)": lambda: est.predict(X, return_std=True),
        "predict_proba": lambda: est.predict_proba(X),
    }[spec["call"]]
    try:  # reset the peak resident set (Linux >= 4.0), then read the rise above now
        Path("/proc/self/clear_refs").write_text("5")
        base, peak = _status_kib("VmRSS"), lambda: _status_kib("VmHWM")
    except OSError:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # noqa: E731
    t0 = time.perf_counter()
    out = call()
    times = [time.perf_counter() - t0]
    rise = (peak() - base) / 1024
    while len(times) < spec["repeat"] and sum(times) + times[0] < 30:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    np.save(spec["out"], np.stack(out) if isinstance(out, tuple) else out)
    print(
        json.dumps(
            {
                "seconds": min(times),
                "peak_mib": rise,
                "threads": torch.get_num_threads(),
                "package": str(Path(sklpriv.__file__).parent),
            }
        )
    )


def run_worker(spec, code_root):
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    res = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert Path(out["package"]).parent == Path(code_root).resolve(), out["package"]
    return out


def measure(cases, paths, roots, folder, repeat):
    results = {}
    for i, (kind, n, F, call) in enumerate(cases):
        for version in ("before", "after"):  # interleaved: the same load for both
            spec = dict(
                model=paths[kind, F, version],
                rows=n,
                features=F,
                call=call,
                repeat=repeat,
                out=str(folder / f"{i}_{version}.npy"),
            )
            results[i, version] = run_worker(spec, roots[version])
        diff = np.max(
            np.abs(np.load(folder / f"{i}_after.npy") - np.load(folder / f"{i}_before.npy"))
        )
        results[i, "diff"] = float(diff)
        b, a = results[i, "before"], results[i, "after"]
        print(
            f"{kind} {n}x{F} {call}: before {b['seconds']:.2f} s {b['peak_mib']:.0f} MiB, "
            f"after {a['seconds']:.2f} s {a['peak_mib']:.0f} MiB, max diff {diff:.1e}",
            flush=True,
        )
    return results


def table(cases, results):
    rows = []
    for i, (kind, n, F, call) in enumerate(cases):
        b, a = results[i, "before"], results[i, "after"]
        rows.append(
            [
                kind,
                f"{n:,} x {F}",
                f"`{call}`",
                f"{b['seconds']:.2f}",
                f"{a['seconds']:.3f}",
                f"{b['seconds'] / a['seconds']:.0f}x",
                f"{n / b['seconds']:,.0f}",
                f"{n / a['seconds']:,.0f}",
                f"{b['peak_mib']:.0f}",
                f"{a['peak_mib']:.0f}",
                f"{results[i, 'diff']:.1e}",
            ]
        )
    header = [
        "model",
        "rows x features",
        "call",
        "before: s",
        "after: s",
        "speed-up",
        "before: rows/s",
        "after: rows/s",
        "before: peak MiB",
        "after: peak MiB",
        "max abs difference",
    ]
    return markdown_table(header, rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--before", default=BEFORE, help="git revision or folder of the old code")
    p.add_argument("--repeat", type=int, default=3, help="best of this many calls")
    p.add_argument("--quick", action="store_true", help="the 10,000-row cases only")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(json.loads(args.worker))
    cases = [c for c in CASES if c[1] <= 10_000] if args.quick else CASES
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        before_root, rev = checkout(args.before, tmp)
        paths = fit_models(tmp, cases)
        results = measure(cases, paths, {"before": before_root, "after": ROOT}, tmp, args.repeat)
    load_end = os.getloadavg()
    text = table(cases, results)
    print(text)
    threads = results[0, "after"]["threads"]
    body = (
        f"Before: the package at `{rev}`; after: this checkout. Seconds: best of "
        f"{args.repeat} calls (as many as fit in 30 s), torch with {threads} threads. Peak "
        "MiB: rise of the process's peak resident memory during the call, above what the "
        "model and the test rows already hold (the rows themselves: 8 MiB at 100,000 x 10, "
        "38 MiB at 100,000 x 50). Max abs difference: between the two versions' outputs "
        "(predictions in units of y, whose sd is about 0.8; the std; probabilities); the "
        "old code rounded the standardised inputs to float32, hence about 1e-7.\n\n"
        f"{text}\n\n"
        f"Load average (1, 5, 15 min) at the start: {', '.join(f'{v:.2f}' for v in load_start)}; "
        f"at the end: {', '.join(f'{v:.2f}' for v in load_end)}."
    )
    write_result(
        "bayesnam_predict",
        "BayesNAM prediction: forward passes vs exact piecewise-linear subnetworks",
        body,
        ("python benchmarks/bench_bayesnam_predict.py " + " ".join(sys.argv[1:])).strip(),
    )


if __name__ == "__main__":
    main()
