"""Concept erasure on digit scenes: ESD vs ReCARE vs a generator retrained without the
target (the gold standard), the original as the reference.

Scenes of two sklearn digits (``make_digit_scenes``, 3,000 for training, 2,000 fresh ones
for the prompts), with 3 appearing with 7 in 70% of its scenes and 5 with the inverted
background in 70% of its scenes. The text-to-image model: a DiffusionGenerator (MLP
denoiser on the 128 pixels) conditioned on the 12 concepts; the judge (CLIP's stand-in):
an MLP multi-label classifier trained on real scenes. Two targets: ``digit_3`` (the
object case, CARE-set {7}) and ``inverted`` (the style case, CARE-set {5}); the CARE-sets
are ReCARE's automatic ones. Every sample is drawn with classifier-free guidance 1.
Reported: target presence on prompts that contain it, the adversarial recovery rate (an
embedding attack: textual inversion on the erased model), the CARE score on those
prompts, utility on prompts without the target (FD on the judge's hidden layer, against
real scenes without the target; concept accuracy: the judge's per-concept agreement with
the prompt) and fit time.

    python benchmarks/bench_recare.py [--seeds 3] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd
import torch
from _common import markdown_table, mean_std, write_result
from sklearn.neural_network import MLPClassifier

from sklpriv.datasets import make_digit_scenes
from sklpriv.generative import ConceptEraser, DiffusionGenerator
from sklpriv.metrics import care_score, concept_presence_rate, frechet_distance

CO = {3: {7: 0.7}, 5: {"inverted": 0.7}}
TARGETS = ("digit_3", "inverted")
GEN = dict(denoiser="mlp", numeric_scaling="standard", hidden=(256, 256), emb_dim=64,
           batch_size=64, lr=2e-3, sampling_steps=12)  # fmt: skip
GUIDANCE = 1.0
METHODS = ("original", "ESD", "ReCARE", "retrained without the target (gold)")


def scenes(seed, n_train, n_prompts):
    X, c = make_digit_scenes(n_train, co_occurrence=CO, random_state=seed)
    Xp, cp = make_digit_scenes(n_prompts, co_occurrence=CO, random_state=seed + 100)
    rows = lambda A: A.reshape(len(A), -1)  # noqa: E731
    return rows(X), c, rows(Xp), cp


def judge(X, c):
    mlp = MLPClassifier((256,), max_iter=300, random_state=0).fit(X, c.to_numpy())
    features = lambda Z: np.maximum(np.asarray(Z) @ mlp.coefs_[0] + mlp.intercepts_[0], 0)  # noqa: E731
    return mlp, features


def fit_models(X, c, target, seed, epochs, steps, original, secs):
    has = (c[target] == 1).to_numpy()
    out, times = {"original": original}, {"original": secs}
    for name, method in (("ESD", "esd"), ("ReCARE", "recare")):
        t0 = time.perf_counter()
        out[name] = ConceptEraser(
            original, concept=target, method=method, max_steps=steps, random_state=seed
        ).fit(X[has], c[has])
        times[name] = time.perf_counter() - t0
    t0 = time.perf_counter()
    binary = c[~has].astype(pd.CategoricalDtype([0, 1]))  # the target keeps its value 1
    gold = DiffusionGenerator(max_epochs=epochs, random_state=seed, **GEN).fit(X[~has], binary)
    out[METHODS[-1]], times[METHODS[-1]] = gold, time.perf_counter() - t0
    return out, times


def evaluate(model, target, care_set, Xp, cp, det, features, seed):
    names = list(cp)
    with_t, without = cp[cp[target] == 1], cp[cp[target] == 0].iloc[:500]
    S = model.sample(len(with_t), y=with_t, guidance=GUIDANCE, random_state=seed)
    U = model.sample(len(without), y=without, guidance=GUIDANCE, random_state=seed)
    real_without = Xp[(cp[target] == 0).to_numpy()]
    recovery = np.nan
    if isinstance(model, ConceptEraser):
        recovery = model.adversarial_recovery_rate(200, detector=det, random_state=seed)
    return {
        "presence": concept_presence_rate(S, target, det, concept_names=names),
        "recovery": recovery,
        "care": care_score(S, with_t, care_set, det),
        "fd": frechet_distance(real_without, U, features=features),
        "accuracy": float((det.predict(U) == without.to_numpy()).mean()),
    }


def run(seeds, n_train, epochs, steps):
    results = {(t, m): [] for t in TARGETS for m in METHODS}
    care_sets = {}
    for seed in seeds:
        X, c, Xp, cp = scenes(seed, n_train, 2000)
        det, features = judge(X, c)
        t0 = time.perf_counter()
        original = DiffusionGenerator(max_epochs=epochs, random_state=seed, **GEN).fit(X, c)
        secs = time.perf_counter() - t0
        for target in TARGETS:
            models, times = fit_models(X, c, target, seed, epochs, steps, original, secs)
            care = care_sets[target] = models["ReCARE"].care_set_
            for name, model in models.items():
                res = evaluate(model, target, care, Xp, cp, det, features, seed)
                results[target, name].append({**res, "secs": times[name]})
                print(seed, target, name, {k: round(v, 3) for k, v in res.items()}, flush=True)
    return results, care_sets


def table(results, care_sets):
    rows = []
    for (target, name), runs in results.items():
        col = lambda k, runs=runs: [r[k] for r in runs]  # noqa: E731
        rec = col("recovery")
        rows.append([
            f"{target} (CARE {', '.join(care_sets[target])})", name, mean_std(col("presence")),
            "-" if np.isnan(rec).all() else mean_std(rec), mean_std(col("care")),
            mean_std(col("fd")), mean_std(col("accuracy")), f"{np.mean(col('secs')):.0f}",
        ])  # fmt: skip
    head = ["target", "model", "target presence", "adversarial recovery", "CARE score",
            "utility FD", "concept accuracy", "fit s"]  # fmt: skip
    return markdown_table(head, rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=None, help="unused: the scenes are generated")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--steps", type=int, default=400, help="iterations per erasure")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    torch.set_num_threads(2)
    quick = args.quick
    seeds = list(range(1 if quick else args.seeds))
    results, care_sets = run(
        seeds, 600 if quick else 3000, 2 if quick else args.epochs, 2 if quick else args.steps
    )
    body = (
        f"Digit scenes (3,000 training scenes; prompts from 2,000 fresh ones), {len(seeds)} "
        f"seeds; generator: MLP denoiser (256, 256) on the pixels, {args.epochs} epochs; "
        f"erasers: {args.steps} iterations per erasure, batch 16, Adam 1e-3, ReCARE with 2 "
        "adversarial rounds of 100 inversion steps; samples with guidance 1. Adversarial "
        "recovery: textual inversion on the erased model (100 steps), 200 samples.\n\n"
        + table(results, care_sets)
    )
    if quick:
        print(body)
    else:
        cmd = "python benchmarks/bench_recare.py " + " ".join(sys.argv[1:])
        write_result("recare", "Concept erasure on digit scenes: ESD vs ReCARE", body, cmd.strip())


if __name__ == "__main__":
    main()
