"""Adversarial training on digits: standard, AT, TRADES, bridged (ours) and ART's TRADES.

Part 1 of the robustness benchmark (the transfer study is still to come). sklearn digits
in [0, 1], a fixed stratified split, L-inf radii, an MLP (256, 256); every defence is
trained at the radius it is evaluated at. Columns: clean accuracy, PGD-20 robust accuracy,
a stronger check (PGD-100 with 5 random restarts: an example counts as robust only if it
survives all of them) so that masked gradients earn no credit, time per epoch, and the
paper's analysis: margin (mean smallest radius, on a grid, at which PGD-20 succeeds) and
smoothness (mean KL between the clean and the PGD-20 predictions).

    python benchmarks/bench_robust.py [--seeds 3] [--radii 0.05 0.1 0.2 0.3] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import torch
from _common import markdown_table, mean_std, write_result
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklpriv.robust import AdversarialClassifier, PGDAttack

HIDDEN = (256, 256)
EPOCHS, STEPS = 30, 10
MARGIN_GRID = np.round(np.arange(0.02, 0.42, 0.02), 2)


def data():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


def ours(method, radius, seed, **kw):
    return AdversarialClassifier(
        method=method,
        radius=radius,
        hidden_layer_sizes=HIDDEN,
        max_epochs=EPOCHS,
        attack_steps=STEPS,
        lr=1e-3,
        random_state=seed,
        **kw,
    )


class _ArtModel(ClassifierMixin, BaseEstimator):
    """ART's AdversarialTrainerTRADESPyTorch on the same MLP, as a tiny classifier."""

    def __init__(self, radius=0.1, seed=0):
        self.radius = radius
        self.seed = seed

    def fit(self, X, y):
        from art.attacks.evasion import ProjectedGradientDescent
        from art.defences.trainer import AdversarialTrainerTRADESPyTorch
        from art.estimators.classification import PyTorchClassifier

        from sklpriv.utils import build_module

        torch.manual_seed(self.seed)
        self.module_ = build_module(None, HIDDEN, X.shape[1], 10)
        clf = PyTorchClassifier(
            self.module_,
            torch.nn.CrossEntropyLoss(),
            (X.shape[1],),
            10,
            optimizer=torch.optim.Adam(self.module_.parameters(), lr=1e-3),
            clip_values=(0.0, 1.0),
            device_type="cpu",
        )
        attack = ProjectedGradientDescent(
            clf,
            eps=self.radius,
            eps_step=2.5 * self.radius / STEPS,
            max_iter=STEPS,
            verbose=False,
        )
        trainer = AdversarialTrainerTRADESPyTorch(clf, attack, beta=6.0)
        trainer.fit(X.astype(np.float32), y, nb_epochs=EPOCHS, batch_size=128, verbose=False)
        self.module_.eval()
        self.classes_ = np.arange(10)
        return self

    def _torch_logits(self, X, random=False):
        return self.module_(X.float())

    def predict(self, X):
        with torch.no_grad():
            return self.module_(torch.as_tensor(X, dtype=torch.float32)).argmax(1).numpy()


def _proba(model, X):
    with torch.no_grad():
        return torch.softmax(model._torch_logits(torch.as_tensor(X)), 1).double().numpy()


def evaluate(model, X, y, radius):
    pgd20 = PGDAttack(model, radius=radius, steps=20, random_state=0).generate(X, y)
    robust20 = model.predict(pgd20) == y
    strong = robust20.copy()
    for restart in range(5):  # PGD-100, 5 restarts: robust only if every one fails
        adv = PGDAttack(model, radius=radius, steps=100, random_state=restart + 1).generate(X, y)
        strong &= model.predict(adv) == y
    p, q = _proba(model, X), _proba(model, pgd20)
    kl = float(np.mean(np.sum(p * (np.log(p + 1e-12) - np.log(q + 1e-12)), axis=1)))
    return robust20.mean(), strong.mean(), _margin(model, X, y), kl


def _margin(model, X, y):
    """Mean smallest grid radius at which PGD-20 flips the example (grid max if none)."""
    first = np.full(len(X), MARGIN_GRID[-1])
    alive = np.ones(len(X), bool)
    for r in MARGIN_GRID:
        if not alive.any():
            break
        adv = PGDAttack(model, radius=float(r), steps=20, random_state=0).generate(X, y)
        flipped = alive & (model.predict(adv) != y)
        first[flipped], alive = r, alive & ~flipped
    return float(first.mean())


def run(name, make, X, y, X_te, y_te, radius, seeds):
    res = []
    for seed in seeds:
        model = make(radius, seed)
        t0 = time.perf_counter()
        model.fit(X, y)
        secs = (time.perf_counter() - t0) / EPOCHS
        res.append((model.score(X_te, y_te), *evaluate(model, X_te, y_te, radius), secs))
    cols = list(zip(*res, strict=True))
    row = [radius, name, *(mean_std(c) for c in cols[:-1]), f"{np.mean(cols[-1]):.3f}"]
    print(" | ".join(map(str, row)), flush=True)
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=None, help="unused: sklearn's digits")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--radii", type=float, nargs="+", default=[0.05, 0.1, 0.2, 0.3])
    p.add_argument("--quick", action="store_true", help="1 seed, radius 0.1 only")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    X, X_te, y, y_te = data()
    seeds = range(1 if args.quick else args.seeds)
    radii = [0.1] if args.quick else args.radii
    methods = {
        "standard": lambda r, s: ours("standard", r, s),
        "AT (Madry)": lambda r, s: ours("at", r, s),
        "TRADES (beta 6)": lambda r, s: ours("trades", r, s),
        "bridged (m 5, beta 6)": lambda r, s: ours("bridged", r, s),
        "bridged (m 5, beta 6/5)": lambda r, s: ours("bridged", r, s, beta=6.0 / 5),
        "ART TRADES (beta 6, PGD-CE inner)": _ArtModel,
    }
    rows = [run(n, m, X, y, X_te, y_te, r, seeds) for r in radii for n, m in methods.items()]
    head = [
        "radius",
        "method",
        "clean",
        "PGD-20",
        "PGD-100 x5 restarts",
        "margin",
        "smoothness (KL)",
        "s / epoch",
    ]
    body = (
        f"digits in [0, 1] (1,347 train / 450 test), MLP {HIDDEN}, Adam 1e-3, batch 128, "
        f"{EPOCHS} epochs, {STEPS}-step PGD in training; {len(seeds)} seeds, mean ± std. "
        "Trained and evaluated at the same L-inf radius. Margin: mean smallest radius on "
        f"the grid {MARGIN_GRID[0]}..{MARGIN_GRID[-1]} at which PGD-20 flips the example. "
        "Smoothness: mean KL(p(x) || p(x_adv)) under PGD-20. Part 1 of the benchmark: "
        "the transfer study and the CNN are still to come.\n\n" + markdown_table(head, rows)
    )
    if not args.quick:
        write_result(
            "robust",
            "Adversarial training on digits",
            body,
            "python benchmarks/bench_robust.py " + " ".join(sys.argv[1:]),
        )
    else:
        print(body)


if __name__ == "__main__":
    main()
