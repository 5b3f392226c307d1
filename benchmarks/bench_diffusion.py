"""DiffusionGenerator: sample quality on digits and Adult, fair sampling by switching.

Part ``quality`` (-> results/diffusion_quality.md):
- digits, class-conditional: Fréchet distance (features: the hidden layer of an MLP
  trained on real digits) and CAS (a logistic regression trained on as many synthetic
  digits as the training set, tested on the real test digits), for ours (MLP on rows and
  U-Net on 8x8 images), real data (the ceiling) and a GaussianMixture per class (the floor);
- Adult (``../shared/data/adult.csv``): utility (ROC AUC on real test rows of a
  HistGradientBoosting trained on synthetic rows) and per-column distance (KS statistic
  for numeric columns, total variation for categorical ones, averaged), for ours, the
  ctgan package's CTGAN and TVAE (default settings, run in their own venv: ctgan pins
  pandas < 3), and real rows; same training rows, fit time. Ours three ways: on every
  column, conditioned on the Salary column (labels drawn from their training frequencies),
  and conditioned with classifier-free guidance 1.

Part ``fair`` (-> results/diffusion_fair.md): digits with a style correlated
with the class (80% of 0-4 styled, 20% of 5-9; the two styles of
:func:`sklpriv.datasets.make_styled_digits`: a thick stroke and a faint checkerboard),
conditioned on the style alone, and Adult conditioned on sex; without switching and with
``sample_fair`` (tau estimated). Judges are trained on real data whose style is
independent of the class (else they would read the class off the style). Reported: the
group gap, the flip rate (switched samples the style judge sees as their new style),
content kept (the class of the switched sample equals that of the unswitched trajectory
from the same noise), and for Adult the demographic parity difference and accuracy of a
model trained on the synthetic rows (fairlearn's ExponentiatedGradient on real rows
beside).

    python benchmarks/bench_diffusion.py [--part quality fair] [--seeds 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import data_dir, markdown_table, mean_std, write_result
from scipy.stats import ks_2samp
from sklearn.datasets import load_digits
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC

from sklpriv.datasets import make_styled_digits
from sklpriv.generative import DiffusionGenerator
from sklpriv.metrics import classification_accuracy_score, fairness_report, frechet_distance

HERE = Path(__file__).parent
DIGITS_MLP = dict(max_epochs=300, numeric_scaling="standard")  # pixels: spikes at 0
DIGITS_UNET = dict(max_epochs=100)
ADULT = dict(max_steps=5000, batch_size=256)


# ---- digits -----------------------------------------------------------------------------
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def hidden_features(X, y):
    """The hidden layer of an MLP trained on real digits: FD's feature map."""
    mlp = MLPClassifier((128,), max_iter=600, random_state=0).fit(X, y)
    return lambda Z: np.maximum(
        np.asarray(Z).reshape(len(Z), -1) @ mlp.coefs_[0] + mlp.intercepts_[0], 0
    )


def gmm_per_class(X, y, seed):
    rng = np.random.RandomState(seed)
    out_X, out_y = [], []
    for c in np.unique(y):
        gm = GaussianMixture(3, covariance_type="full", reg_covar=1e-2, random_state=seed)
        gm.fit(X[y == c])
        out_X.append(np.clip(gm.sample((y == c).sum())[0], 0, 16))
        out_y.append(np.full((y == c).sum(), c))
    order = rng.permutation(len(y))
    return np.concatenate(out_X)[order], np.concatenate(out_y)[order]


def digits_quality(seeds):
    X, X_te, y, y_te = digits_split()
    feats = hidden_features(X, y)
    makers = {
        "DiffusionGenerator (MLP, rows)": lambda s: _ours_digits(X, y, s, images=False),
        "DiffusionGenerator (U-Net, 8x8)": lambda s: _ours_digits(X, y, s, images=True),
        "GaussianMixture per class (floor)": lambda s: (*gmm_per_class(X, y, s), 0.0),
        "real training digits (ceiling)": lambda s: (X, y, 0.0),
    }
    rows = []
    for name, make in makers.items():
        res = []
        for s in seeds:
            S, yS, secs = make(s)
            fd = frechet_distance(X_te, S, features=feats)
            cas = classification_accuracy_score(S, yS, X_te, y_te)
            res.append((fd, cas, secs))
        fd, cas, secs = zip(*res, strict=True)
        rows.append(["digits", name, mean_std(fd), mean_std(cas), f"{np.mean(secs):.0f}"])
        print(" | ".join(rows[-1]), flush=True)
    return rows


def _ours_digits(X, y, seed, images):
    kw = DIGITS_UNET if images else DIGITS_MLP
    t0 = time.perf_counter()
    gen = DiffusionGenerator(random_state=seed, **kw).fit(X.reshape(-1, 8, 8) if images else X, y)
    secs = time.perf_counter() - t0
    S, yS = gen.sample(len(X), random_state=seed, return_y=True)
    return S.reshape(len(S), -1), yS, secs


# ---- Adult ------------------------------------------------------------------------------
def adult_split(data, n_train):
    df = pd.read_csv(data_dir(data) / "adult.csv", skipinitialspace=True)
    df = df.rename(columns=lambda c: c.strip())
    for c in df.select_dtypes(include=["object", "string"]).columns:
        df[c] = df[c].astype("category")
    train, test = train_test_split(df, test_size=0.2, random_state=0, stratify=df["Salary"])
    return train.sample(n=min(n_train, len(train)), random_state=0), test


def _hgb_xy(df):
    X = df.drop(columns="Salary")
    y = (df["Salary"].astype(str).str.strip(" .") == ">50K").astype(int)
    return X, y


def hgb_on(df, seed=0):
    X, y = _hgb_xy(df)
    clf = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed)
    return clf.fit(X, y)


def utility_auc(synthetic, test):
    X_te, y_te = _hgb_xy(test)
    clf = hgb_on(_align(synthetic, test))
    return roc_auc_score(y_te, clf.predict_proba(X_te)[:, 1])


def _align(synthetic, real):
    """Synthetic rows with the real rows' columns and categories (peers return strings)."""
    out = synthetic[list(real.columns)].copy()
    for c in real.columns:
        if isinstance(real[c].dtype, pd.CategoricalDtype):
            out[c] = pd.Categorical(out[c].astype(str), categories=real[c].cat.categories)
        else:
            out[c] = pd.to_numeric(out[c], errors="coerce").astype(real[c].dtype)
    return out


def column_distance(synthetic, real):
    """Mean over columns: KS statistic (numeric), total variation (categorical)."""
    synthetic = _align(synthetic, real)
    d = []
    for c in real.columns:
        if isinstance(real[c].dtype, pd.CategoricalDtype):
            p = real[c].value_counts(normalize=True)
            q = synthetic[c].value_counts(normalize=True).reindex(p.index, fill_value=0)
            d.append(0.5 * float(np.abs(p - q).sum() + (1 - q.sum())))
        else:
            d.append(ks_2samp(real[c], synthetic[c]).statistic)
    return float(np.mean(d))


def ctgan_python(arg):
    path = arg or os.environ.get("SKLPRIV_CTGAN_PYTHON") or HERE.parent / ".venv-ctgan/bin/python"
    return str(path) if Path(path).exists() else None


def run_peer(model, train, n, seed, python):
    """CTGAN / TVAE in ctgan's own venv; (samples, fit seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "train.csv", Path(tmp) / "out.csv"
        train.to_csv(src, index=False)
        discrete = [c for c in train.columns if isinstance(train[c].dtype, pd.CategoricalDtype)]
        cmd = [python, str(HERE / "peers/ctgan_peer.py"), model, str(src), str(out), str(n)]
        done = subprocess.run([*cmd, str(seed), *discrete], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{model} failed: {done.stderr[-2000:]}")
        fit_s = json.loads(done.stdout.strip().splitlines()[-1])["fit_seconds"]
        return pd.read_csv(out, skipinitialspace=True), fit_s


def ours_adult(train, n, seed, conditional=False, guidance=None):
    """Ours on every column, or conditioned on Salary (labels drawn from their training
    frequencies, the rows sampled given them, with classifier-free ``guidance``)."""
    t0 = time.perf_counter()
    gen = DiffusionGenerator(random_state=seed, **ADULT)
    if not conditional:
        gen.fit(train)
        return gen.sample(n, random_state=seed), time.perf_counter() - t0
    gen.fit(train.drop(columns="Salary"), train[["Salary"]])
    secs = time.perf_counter() - t0
    rows, label = gen.sample(n, random_state=seed, guidance=guidance, return_y=True)
    return pd.concat([rows, label], axis=1), secs


def adult_quality(args, seeds):
    train, test = adult_split(args.data, args.adult_rows)
    python = ctgan_python(args.ctgan_python)
    n = len(train)
    makers = {
        "DiffusionGenerator": lambda s: ours_adult(train, n, s),
        "DiffusionGenerator | Salary": lambda s: ours_adult(train, n, s, True),
        "DiffusionGenerator | Salary, guidance 1": lambda s: ours_adult(train, n, s, True, 1.0),
    }
    for model in ("CTGAN", "TVAE"):
        if python:
            makers[f"ctgan's {model} (defaults)"] = lambda s, m=model: run_peer(
                m, train, len(train), s, python
            )
    makers["real training rows (ceiling)"] = lambda s: (train, 0.0)
    rows = []
    for name, make in makers.items():
        res = []
        for s in seeds if name.startswith("DiffusionGenerator") else seeds[: args.peer_seeds]:
            S, secs = make(s)
            res.append((utility_auc(S, test), column_distance(S, test), secs))
        auc, dist, secs = zip(*res, strict=True)
        rows.append(
            [
                f"Adult ({len(train):,} rows)",
                name,
                mean_std(auc),
                mean_std(dist),
                f"{np.mean(secs):.0f}",
            ]
        )
        print(" | ".join(rows[-1]), flush=True)
    if not python:
        print("ctgan's venv not found (make peers, or --ctgan-python): CTGAN/TVAE skipped")
    return rows


# ---- fair sampling ----------------------------------------------------------------------
def _judges(style_name, seed):
    """Class and style judges trained on digits whose style is independent of the class."""
    X_j, digit_j, style_j = make_styled_digits(0.5, style_name, random_state=seed + 100)
    return SVC().fit(X_j, digit_j), LogisticRegression(max_iter=3000).fit(X_j, style_j)


def _switch_metrics(gen, judges, p_styled, tau, n, seed):
    """Gap without and with switching at ``tau``, flips and content kept."""
    judge_digit, judge_style = judges
    rng = np.random.default_rng(seed)
    s0 = rng.choice(2, n, p=[1 - p_styled, p_styled])
    s1 = rng.choice(2, n)  # independent of s0: what sample_fair draws
    plain = gen.sample(n, y=s0, random_state=seed).reshape(n, -1)
    fair = gen.sample(n, y=s0, switch_to=s1, switch_step=tau, random_state=seed).reshape(n, -1)
    group = lambda S: judge_digit.predict(S) < 5  # noqa: E731
    switched = s1 != s0
    return {
        "gap (none)": _gap(group(plain), s0),
        "gap (fair)": _gap(group(fair), s1),
        "flips": float(np.mean(judge_style.predict(fair[switched]) == s1[switched])),
        "content": float(np.mean(judge_digit.predict(fair) == judge_digit.predict(plain))),
        "tau": tau,
    }


def digits_fair(style_name, seed):
    X, digit, style = make_styled_digits(0.8, style_name, random_state=seed)
    gen = DiffusionGenerator(random_state=seed, **DIGITS_UNET).fit(X.reshape(-1, 8, 8), style)
    tau = gen.estimate_switch_step("y", 0, 1)[0]
    return _switch_metrics(gen, _judges(style_name, seed), style.mean(), tau, 1000, seed)


def digits_tau_sweep(style_name, seed, taus=(0.2, 0.25, 0.3), n=4000):
    """The MLP-rows model: the estimated tau and a few fixed ones, 4,000 samples each."""
    X, digit, style = make_styled_digits(0.8, style_name, random_state=seed)
    gen = DiffusionGenerator(random_state=seed, **DIGITS_MLP).fit(X, style)
    judges = _judges(style_name, seed)
    estimated = gen.estimate_switch_step("y", 0, 1)[0]
    out = {}
    for name, tau in [("estimated", estimated)] + [(f"{t}", t) for t in taus]:
        out[name] = _switch_metrics(gen, judges, style.mean(), tau, n, seed)
    return out


def _gap(group, s):
    return float(abs(group[s == 1].mean() - group[s == 0].mean()))


def adult_fair(args, seed):
    """Adult conditioned on sex: DP difference of HGB trained on synthetic rows."""
    train, test = adult_split(args.data, args.adult_rows)
    gen = DiffusionGenerator(random_state=seed, **ADULT).fit(
        train.drop(columns="sex"), train[["sex"]]
    )
    tau = gen.estimate_switch_step("sex", "Male", "Female")[0]
    n = len(train)
    plain, y0 = gen.sample(n, random_state=seed, return_y=True)
    fair, y1 = gen.sample_fair(
        n, sensitive="sex", switch_step=tau, random_state=seed, return_y=True
    )
    out = {"tau": tau}
    for name, rows, sex in (("none", plain, y0), ("fair", fair, y1)):
        out[name] = _dp_of(pd.concat([rows, sex], axis=1), test)
    out["real"] = _dp_of(train, test)
    out["EG"] = _exponentiated_gradient(train, test)
    return out


def _dp_of(synthetic, test):
    X_te, y_te = _hgb_xy(test)
    clf = hgb_on(_align(synthetic, test))
    rep = fairness_report(y_te, clf.predict(X_te), test["sex"].astype(str))
    return rep["demographic_parity_difference"], rep["accuracy"]


def _exponentiated_gradient(train, test):
    from fairlearn.reductions import DemographicParity, ExponentiatedGradient

    X, y = _hgb_xy(train)
    X_te, y_te = _hgb_xy(test)
    enc = pd.get_dummies(pd.concat([X, X_te]), dtype=float)
    enc = (enc - enc.mean()) / enc.std().replace(0, 1)
    A, A_te = enc.iloc[: len(X)], enc.iloc[len(X) :]
    eg = ExponentiatedGradient(LogisticRegression(max_iter=500), DemographicParity())
    eg.fit(A, y, sensitive_features=train["sex"].astype(str))
    rep = fairness_report(y_te, eg.predict(A_te), test["sex"].astype(str))
    return rep["demographic_parity_difference"], rep["accuracy"]


def fair_rows(args, seeds):
    rows = []
    for style in ("thick", "checkerboard"):
        res = [digits_fair(style, s) for s in seeds]
        cells = [mean_std([r[k] for r in res]) for k in ("tau", "gap (none)", "gap (fair)")]
        cells += [mean_std([r[k] for r in res]) for k in ("flips", "content")]
        rows.append([f"digits, {style}", *cells, "", ""])
        print(" | ".join(rows[-1]), flush=True)
    res = [adult_fair(args, s) for s in seeds]
    cell = lambda k, i: mean_std([r[k][i] for r in res])  # noqa: E731
    rows.append(
        [
            "Adult, sex",
            mean_std([r["tau"] for r in res]),
            cell("none", 0),
            cell("fair", 0),
            "",
            "",
            cell("fair", 1) + f" (none {cell('none', 1)})",
            f"real HGB {cell('real', 0)} / acc {cell('real', 1)}; "
            f"EG {cell('EG', 0)} / acc {cell('EG', 1)}",
        ]
    )
    print(" | ".join(rows[-1]), flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=None)
    p.add_argument("--part", nargs="+", default=["quality", "fair"])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--adult-rows", type=int, default=5000)
    p.add_argument("--ctgan-python", default=None)
    p.add_argument("--peer-seeds", type=int, default=1, help="CTGAN/TVAE take ~10 min a fit")
    p.add_argument("--quick", action="store_true", help="1 seed, short fits")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    if args.quick:
        DIGITS_MLP.update(max_epochs=30)
        DIGITS_UNET.update(max_epochs=5)
        ADULT.update(max_steps=300)
        args.adult_rows = min(args.adult_rows, 2000)
    seeds = list(range(1 if args.quick else args.seeds))
    for part in args.part:
        title, body = PARTS[part](args, seeds)
        body = f"{len(seeds)} seeds, mean ± std.\n\n" + body
        if args.quick:
            print(body)
        else:
            cmd = "python benchmarks/bench_diffusion.py " + " ".join(sys.argv[1:])
            write_result(f"diffusion_{part}", title, body, cmd.strip())


def part_quality(args, seeds):
    rows = digits_quality(seeds) + adult_quality(args, seeds)
    head = ["data", "generator", "FD / utility AUC", "CAS / column distance", "fit s"]
    body = "Quality (digits: FD lower is better, CAS; Adult: AUC, mean column distance):\n\n"
    return "Conditional diffusion: sample quality", body + markdown_table(head, rows)


def part_fair(args, seeds):
    head = ["data, sensitive", "tau", "gap / DP diff (none)", "gap / DP diff (fair)"]
    head += ["flips", "content kept", "accuracy (fair)", "reference"]
    return "Fair sampling by attribute switching", markdown_table(head, fair_rows(args, seeds))


def part_sweep(args, seeds):
    rows = []
    for style in ("checkerboard", "thick"):
        res = [digits_tau_sweep(style, s) for s in seeds]
        for name in res[0]:
            cells = [mean_std([r[name][k] for r in res]) for k in
                     ("tau", "gap (none)", "gap (fair)", "flips", "content")]  # fmt: skip
            rows.append([f"digits, {style}", name, *cells])
            print(" | ".join(rows[-1]), flush=True)
    head = ["data, sensitive", "tau chosen", "tau", "gap (none)", "gap (fair)", "flips",
            "content kept"]  # fmt: skip
    body = (
        "The MLP-rows model (300 epochs, standardised pixels), 4,000 samples per setting, "
        "judges trained on style-independent digits: the tau the paper's search returns "
        "and fixed ones (the toy found its gap at 0.2-0.4 T).\n\n"
    )
    return "Fair sampling: the switching time", body + markdown_table(head, rows)


PARTS = {"quality": part_quality, "fair": part_fair, "sweep": part_sweep}

if __name__ == "__main__":
    main()
