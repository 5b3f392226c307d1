"""TimeBridge against the authors' code: implementation x metric code, one run.

Trains sklpriv's ``TimeBridgeGenerator`` and the authors' implementation
(``JinseongP/TimeBridge``, its published settings per data set, on the CPU) for the same
number of optimiser steps on the same windows, draws the same number of windows from
each, and scores both sets with both metric codes: ``sklpriv.metrics`` (plus the boosting
discriminator) and the repository's own scripts (TF GRU discriminative and predictive
scores, TS2Vec context-FID, cross-correlation). The reference runs in its own venv
(``make peers-timebridge``; TensorFlow 2.15 cannot share sklpriv's) from a patched copy of
a checkout (two lines: ``.cuda()`` and the context-FID's ``device=0``) under ``--work``;
nothing of it enters the project.

    python benchmarks/bench_timebridge_reference.py --reference PATH/TO/TimeBridge \\
        [--python .venv-timebridge/bin/python] [--data ../shared/data] [--only sines]
        [--max-steps 1500] [--n-samples 1000] [--repeats 5] [--threads 1] [--work DIR]
        [--no-authors-model]

``--no-authors-model`` scores sklpriv's models by both metric codes without training the
authors' model (which would take hours on the CPU at 12,000 steps): the reference's metric
code on our final configuration, i.e. our figures on the paper's own scale.

Without ``--reference`` (or with a path that is not a checkout) it prints why and exits 0.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import data_dir, markdown_table, write_result
from bench_timebridge import evaluate, fitted, interval, load

RUNNER = Path(__file__).parent / "peers" / "timebridge_reference.py"
REFERENCE_NAME = {"sines": "sines", "stocks": "stock"}  # the reference's data names
PATCHES = {  # file: (text, replacement): the reference on the CPU
    "main.py": (
        "instantiate_from_config(config['model']).cuda()",
        "instantiate_from_config(config['model']).to('cpu')",
    ),
    "Utils/context_fid.py": ("device=0", "device='cpu'"),
}


def prepare(reference: Path, work: Path, folder: Path) -> Path:
    """A patched copy of the checkout (``git archive HEAD``) with the stock CSV in place."""
    copy = work / "reference"
    if (copy / "main.py").exists():
        return copy
    copy.mkdir(parents=True)
    tar = subprocess.run(
        ["git", "-C", str(reference), "archive", "HEAD"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(copy)], input=tar, check=True)
    for name, (old, new) in PATCHES.items():
        path = copy / name
        text = path.read_text()
        if old not in text:
            raise RuntimeError(f"{name}: the line to patch for the CPU is not there ({old!r})")
        path.write_text(text.replace(old, new))
    (copy / "Data/datasets").mkdir(parents=True, exist_ok=True)
    shutil.copy(folder / "stock_data.csv", copy / "Data/datasets/stock_data.csv")
    return copy


def run_reference(args, copy: Path, *command) -> dict:
    """One runner call in the reference's venv; its last stdout line is JSON."""
    log = copy / "runner.log"
    with log.open("a") as err:
        out = subprocess.run(
            [args.python, str(RUNNER), *map(str, command)],
            cwd=copy,
            check=True,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        ).stdout
    lines = [line for line in out.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def reference_samples(args, copy: Path, name: str, n: int) -> tuple[np.ndarray, float, float]:
    """Train the reference (once per steps; its fit seconds kept beside the checkpoint)
    and draw n windows: (windows in [0, 1], fit seconds, samples per second)."""
    data = REFERENCE_NAME[name]
    record = copy / f"fit-{data}-{args.max_steps}.json"
    if not record.exists():
        fit = run_reference(args, copy, "train", data, args.max_steps, args.threads)
        record.write_text(json.dumps(fit))
    out = copy / f"fake-{data}-{args.max_steps}-{n}.npy"
    drawn = run_reference(args, copy, "sample", data, args.max_steps, n, 0, out, args.threads)
    return np.load(out), json.loads(record.read_text())["fit_seconds"], n / drawn["sample_seconds"]


SAMPLING = ("sampler", "sampling_steps")  # settings that leave the fitted model as it is


def our_samples(args, name: str, X: np.ndarray, n: int, params: dict):
    """sklpriv's windows: (windows in [0, 1], fit seconds, samples per second)."""
    fit_params = {k: v for k, v in params.items() if k not in SAMPLING}
    gen, fit_s = fitted(name, "gp", X, args, fit_params)
    gen.set_params(**{k: v for k, v in params.items() if k in SAMPLING})
    t0 = time.perf_counter()
    fake = gen.sample(n, random_state=0)
    return fake, fit_s, n / (time.perf_counter() - t0)


def scored(args, copy: Path, real: np.ndarray, fake: np.ndarray, tag: str) -> dict:
    """Both metric codes on (real, fake): {"sklpriv": ..., "authors": ...}, kept per tag
    and reused while the windows are the same (every draw is seeded)."""
    real_path, fake_path = copy / f"{tag}-real.npy", copy / f"{tag}-fake.npy"
    keep = copy / f"{tag}-scores.json"
    if keep.exists() and np.array_equal(np.load(fake_path), fake):
        scores = json.loads(keep.read_text())
        if len(scores["authors"]["fid"]) == args.repeats:
            return scores
    np.save(real_path, real)
    np.save(fake_path, fake)
    out = copy / f"{tag}-authors.json"
    run_reference(args, copy, "metrics", real_path, fake_path, args.repeats, out, args.threads)
    scores = {"sklpriv": evaluate(real, fake, args.repeats), "authors": json.loads(out.read_text())}
    keep.write_text(json.dumps(scores))
    return scores


def variants_for(args, name: str) -> list[dict]:
    """sklpriv's settings for one data set: the defaults, then each ``--variant``."""
    out = [{}]
    for spec in args.variant:
        data, _, settings = spec.rpartition(":")
        if data in ("", name):
            out.append(dict(_setting(kv) for kv in settings.split(",")))
    return out


def rows_for(args, copy: Path, name: str, folder: Path) -> list[list[str]]:
    """Both implementations on one data set, each scored by both metric codes."""
    X = load(name, folder)
    n = min(args.n_samples or len(X), len(X))
    real = X[np.random.RandomState(0).choice(len(X), n, replace=False)]
    drawn = {}
    for params in variants_for(args, name):
        settings = "".join(f", {k}={v}" for k, v in params.items())
        drawn[("sklpriv" + settings, "ours" + settings.replace(", ", "-"))] = our_samples(
            args, name, X, n, params
        )
    if not args.no_authors_model:
        drawn[("authors' code", "ref")] = reference_samples(args, copy, name, n)
    rows = []
    for (label, tag), (fake, fit_s, per_s) in drawn.items():
        scores = scored(args, copy, real, fake, f"{name}-{args.max_steps}-{tag}")
        cells = [interval(scores["sklpriv"][k]) for k in ("disc", "pred", "fid", "corr", "boost")]
        cells += [interval(scores["authors"][k]) for k in ("disc", "pred", "fid", "corr")]
        rows.append([name, label, *cells, f"{fit_s:.0f}", f"{per_s:.1f}"])
        print(" | ".join(rows[-1]), flush=True)
    return rows


HEADER = [
    "data",
    "implementation",
    "disc. (sklpriv)",
    "pred. (sklpriv)",
    "context-FID (sklpriv)",
    "corr. (sklpriv)",
    "boosting (sklpriv)",
    "disc. (authors')",
    "pred. (authors')",
    "context-FID (authors')",
    "corr. (authors')",
    "fit s",
    "samples/s",
]


def describe(args, n_rows: dict) -> str:
    which = "both implementations"
    if args.no_authors_model:
        which = (
            "sklpriv (`--no-authors-model`: the authors' model is not trained in this run; "
            "their code supplies its metric scripts)"
        )
    return (
        f"Window 24, `max_steps={args.max_steps}` optimiser steps for {which}, "
        f"{args.threads} torch thread(s), one process at a time, CPU. sklpriv: "
        "`TimeBridgeGenerator(prior='gp', max_steps=..., random_state=0)` (defaults: one "
        "batch of 128 per step, sampler sde:40). Authors' code: `JinseongP/TimeBridge` at "
        "the checkout given, its `main.py` with the published settings of its notebook "
        "(`--prior gp --model_matching D_matching --sigma_min 1e-4 --beta_min 0.2 --beta_d "
        "10`; sines: `--sigma_data 0.5 --var 1`, two accumulated batches of 128 per step; "
        "stock: `--sigma_data 0.1 --var 0.3`, 2 encoder layers, two of 64), sampler sde:40 "
        "(119 network evaluations per window, as ours). Generated windows per model: "
        + ", ".join(f"{k} {v}" for k, v in n_rows.items())
        + ", scored against as many real windows (a fixed random subset). Every metric in "
        "the field's [0, 1] space, repeated "
        f"{args.repeats} times (sklpriv's: seeds 0..; the authors': unseeded, as its "
        "`--eval`), mean ± half-width of the 95% t-interval; lower is better everywhere. "
        "The authors' context-FID trains TS2Vec for 600 iterations and encodes with its "
        "SWA average; sklpriv's trains 200 iterations without SWA. samples/s: one batch of "
        "all windows through each implementation's own sampler."
    )


def _setting(text: str) -> tuple[str, object]:
    key, value = text.split("=", 1)
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--reference", default=None, help="a checkout of JinseongP/TimeBridge")
    p.add_argument("--python", default=".venv-timebridge/bin/python")
    p.add_argument("--data", default=None)
    p.add_argument("--only", nargs="*", default=None)
    p.add_argument("--max-steps", type=int, default=1500)
    p.add_argument("--n-samples", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", default="timebridge-reference", help="scratch folder")
    p.add_argument("--cache", default=None, help="folder keeping sklpriv's fitted models")
    p.add_argument("--name", default="timebridge_reference")
    p.add_argument(
        "--no-authors-model",
        action="store_true",
        help="score sklpriv's models only (by both metric codes); do not train the authors'",
    )
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        help="a further sklpriv row: [DATA:]KEY=VALUE[,KEY=VALUE...]",
    )
    args = p.parse_args(argv)
    args.device = None
    # the runner runs in the prepared copy: a relative --python must not depend on that
    # (absolute, not resolved: a venv's python is a symlink to the base interpreter)
    args.python = str(Path(args.python).absolute())
    reference = Path(args.reference or "")
    if not args.reference or not (reference / "main.py").exists():
        print(f"skipped: --reference {args.reference!r} is not a TimeBridge checkout")
        return
    torch.set_num_threads(args.threads)
    folder = data_dir(args.data)
    copy = prepare(reference, Path(args.work).resolve(), folder)
    names = args.only or ["sines", "stocks"]
    rows, n_rows = [], {}
    for name in names:
        rows += rows_for(args, copy, name, folder)
        n_windows = len(load(name, folder))
        n_rows[name] = min(args.n_samples or n_windows, n_windows)
    body = describe(args, n_rows) + "\n\n" + markdown_table(HEADER, rows)
    command = "python benchmarks/bench_timebridge_reference.py " + " ".join(sys.argv[1:])
    write_result(args.name, "TimeBridge: sklpriv and the authors' code", body, command)


if __name__ == "__main__":
    main()
