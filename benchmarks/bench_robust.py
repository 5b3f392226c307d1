"""Robustness on digits: adversarial training (ours and ART's TRADES) and transfer attacks.

sklearn digits in [0, 1], a fixed stratified split, 3 seeds, L-inf radii.

Part ``defences`` (-> results/robust.md): standard, AT, TRADES (KL and CE inner step),
bridged (m and beta picked by a sweep on a validation split of the training set) and
ART's TRADES, on an MLP (256, 256) at four radii and on a small CNN at the smallest and
largest; every defence is trained at the radius it is evaluated at. Columns: clean
accuracy, PGD-20 robust accuracy, a stronger check (PGD-100 with 5 random restarts: an
example counts as robust only if it survives all of them) so that masked gradients earn
no credit, time per epoch, and the paper's analysis: margin (mean smallest radius, on a
grid, at which PGD-20 succeeds) and smoothness (mean KL between the clean and the PGD-20
predictions).

Part ``transfer`` (-> results/robust_transfer.md): examples made on standard MLPs (3
seeds) against CNNs, MLPs of other seeds, a random forest, an SVC and gradient boosting:
I-FGSM (PGD without random start), MI-FGSM, the noise attack (sigma 0.05 and 0.1, n 10;
Kim, Park, Lee) and torchattacks' VMI-FGSM and DI-FGSM as peers, same radius and steps.

    python benchmarks/bench_robust.py [--part defences transfer] [--seeds 3] [--quick]
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

from sklpriv.robust import AdversarialClassifier, PGDAttack, transfer_success_rate

HIDDEN = (256, 256)
EPOCHS, STEPS = 30, 10
TRANSFER_STEPS = 10
MARGIN_GRID = np.round(np.arange(0.02, 0.42, 0.02), 2)


def data():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


class DigitsCNN(torch.nn.Module):
    """A small CNN on the 8x8 images: two 3x3 convolutions (16, 32), max-pool, 64, 10."""

    def __init__(self, n_features, n_classes):
        super().__init__()
        self.side = int(round(n_features**0.5))
        self.net = torch.nn.Sequential(
            torch.nn.Conv2d(1, 16, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(16, 32, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(32 * (self.side // 2) ** 2, 64),
            torch.nn.ReLU(),
            torch.nn.Linear(64, n_classes),
        )

    def forward(self, x):
        return self.net(x.reshape(len(x), 1, self.side, self.side))


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


def run(name, make, X, y, X_te, y_te, radius, seeds, network="MLP"):
    res = []
    for seed in seeds:
        model = make(radius, seed)
        t0 = time.perf_counter()
        model.fit(X, y)
        secs = (time.perf_counter() - t0) / EPOCHS
        res.append((model.score(X_te, y_te), *evaluate(model, X_te, y_te, radius), secs))
    cols = list(zip(*res, strict=True))
    row = [network, radius, name, *(mean_std(c) for c in cols[:-1]), f"{np.mean(cols[-1]):.3f}"]
    print(" | ".join(map(str, row)), flush=True)
    return row


# ---- part 1: defences ---------------------------------------------------------------------
SWEEP = [(m, b) for m in (3, 5, 10) for b in (6.0, 3.0 * m, 6.0 * m)]


def sweep_bridged(X, y, radius, seeds):
    """Bridged AT's (m, beta) by PGD-20 accuracy on a validation split of the training set."""
    X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=0.25, random_state=1, stratify=y)
    rows = []
    for m, beta in SWEEP:
        res = []
        for seed in seeds:
            clf = ours("bridged", radius, seed, n_bridges=m, beta=beta).fit(X_fit, y_fit)
            adv = PGDAttack(clf, radius=radius, steps=20, random_state=0).generate(X_val, y_val)
            res.append((clf.score(X_val, y_val), clf.score(adv, y_val)))
        clean, robust = np.mean(res, axis=0)
        rows.append([radius, m, f"{beta:g}", f"{clean:.3f}", f"{robust:.3f}"])
        print(" | ".join(map(str, rows[-1])), flush=True)
    best = max(range(len(SWEEP)), key=lambda i: float(rows[i][-1]))
    return rows, SWEEP[best]


def defence_methods(m, beta, network):
    cnn = {"module": DigitsCNN} if network == "CNN" else {}
    methods = {
        "standard": lambda r, s: ours("standard", r, s, **cnn),
        "AT (Madry)": lambda r, s: ours("at", r, s, **cnn),
        "TRADES (beta 6, KL inner)": lambda r, s: ours("trades", r, s, **cnn),
        "TRADES (beta 6, CE inner)": lambda r, s: ours("trades", r, s, inner_loss="ce", **cnn),
        f"bridged (m {m}, beta {beta:g}; swept)": lambda r, s: ours(
            "bridged", r, s, n_bridges=m, beta=beta, **cnn
        ),
        "bridged (m 5, beta 6)": lambda r, s: ours("bridged", r, s, **cnn),
    }
    if network == "MLP":
        methods["ART TRADES (beta 6, CE inner)"] = _ArtModel
    else:  # the CNN is 10x slower per step: the four defences the paper compares
        del methods["TRADES (beta 6, CE inner)"], methods["bridged (m 5, beta 6)"]
    return methods


def part_defences(args, X, y, X_te, y_te, seeds):
    radii = [0.1] if args.quick else args.radii
    sweep, (m, beta) = sweep_bridged(X, y, max(radii), seeds)
    rows = []
    for network, net_radii in (("MLP", radii), ("CNN", sorted({min(radii), max(radii)}))):
        methods = defence_methods(m, beta, network)
        for r in net_radii:
            rows += [run(n, mk, X, y, X_te, y_te, r, seeds, network) for n, mk in methods.items()]
    head = ["network", "radius", "method", "clean", "PGD-20", "PGD-100 x5 restarts"]
    head += ["margin", "smoothness (KL)", "s / epoch"]
    body = (
        f"digits in [0, 1] (1,347 train / 450 test), MLP {HIDDEN} and a small CNN "
        f"(conv 16, conv 32, max-pool, 64), Adam 1e-3, batch 128, {EPOCHS} epochs, "
        f"{STEPS}-step PGD in training (step 2.5 radius / steps, random start); "
        f"{len(seeds)} seeds, mean ± std. Trained and evaluated at the same L-inf radius. "
        "Margin: mean smallest radius on the grid "
        f"{MARGIN_GRID[0]}..{MARGIN_GRID[-1]} at which PGD-20 flips the example. "
        "Smoothness: mean KL(p(x) || p(x_adv)) under PGD-20.\n\n"
        + markdown_table(head, rows)
        + f"\n\nBridged sweep (MLP, radius {max(radii)}, PGD-20 on a validation quarter of "
        "the training set, same seeds; the best row is used above):\n\n"
        + markdown_table(["radius", "m", "beta", "clean", "PGD-20"], sweep)
    )
    return body


# ---- part 2: transfer ---------------------------------------------------------------------
class _ImageView(torch.nn.Module):
    """The flat-input MLP/CNN as a module of (N, 1, 8, 8) images (torchattacks' layout)."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x.reshape(len(x), -1).float())


def _torchattacks(name, source, radius, steps):
    import torchattacks

    view = _ImageView(source.module_).eval()
    step = radius / steps
    if name == "VMI-FGSM":
        return torchattacks.VMIFGSM(view, eps=radius, alpha=step, steps=steps)
    return torchattacks.DIFGSM(view, eps=radius, alpha=step, steps=steps)


def transfer_attacks(radius, steps):
    """name -> make(source, seed) -> X_adv maker, all I-FGSM style: no random start,
    step radius / steps, the same radius and steps."""
    base = dict(radius=radius, steps=steps, step_size=radius / steps, random_start=False)

    def ours(**kw):
        return lambda src, seed: PGDAttack(src, **base, **kw, random_state=seed).generate

    def peer(name):
        def make(src, seed):
            attack = _torchattacks(name, src, radius, steps)

            def generate(X, y):
                torch.manual_seed(seed)
                x = torch.as_tensor(X, dtype=torch.float32).reshape(-1, 1, 8, 8)
                adv = attack(x, torch.as_tensor(y))
                return adv.reshape(len(X), -1).double().numpy()

            return generate

        return make

    return {
        "PGD (I-FGSM)": ours(),
        "MI-FGSM (momentum 1)": ours(momentum=1.0),
        "noise sigma 0.05, n 10 (ours)": ours(input_noise=0.05, n_noise=10),
        "noise sigma 0.1, n 10 (ours)": ours(input_noise=0.1, n_noise=10),
        "torchattacks VMI-FGSM": peer("VMI-FGSM"),
        "torchattacks DI-FGSM": peer("DI-FGSM"),
    }


def transfer_targets(X, y, seeds):
    """Target families: CNNs and MLPs of other seeds, and three models without gradients."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.svm import SVC

    return {
        "CNN": [ours("standard", 0.0, 100 + s, module=DigitsCNN).fit(X, y) for s in seeds],
        "MLP (other seeds)": [ours("standard", 0.0, 100 + s).fit(X, y) for s in seeds],
        "RandomForest": [RandomForestClassifier(300, random_state=0, n_jobs=1).fit(X, y)],
        "SVC (rbf)": [SVC().fit(X, y)],
        "HistGradientBoosting": [HistGradientBoostingClassifier(random_state=0).fit(X, y)],
    }


def transfer_rows(X, y, X_te, y_te, radius, steps, seeds):
    sources = [ours("standard", 0.0, s).fit(X, y) for s in seeds]
    targets = transfer_targets(X, y, seeds)
    rows = []
    for name, make in transfer_attacks(radius, steps).items():
        advs = [make(src, seed)(X_te, y_te) for seed, src in zip(seeds, sources, strict=True)]
        white = np.mean([1 - s.score(a, y_te) for s, a in zip(sources, advs, strict=True)])
        rates = [
            mean_std([transfer_success_rate(X_te, a, y_te, t) for a in advs for t in family])
            for family in targets.values()
        ]
        rows.append([radius, name, f"{white:.3f}", *rates])
        print(" | ".join(map(str, rows[-1])), flush=True)
    return rows, list(targets)


def noise_sweep_rows(X, y, X_te, y_te, radius, seeds):
    """The noise attack's transfer success by sigma (n 10) and steps, mean over families."""
    sources = [ours("standard", 0.0, s).fit(X, y) for s in seeds]
    families = list(transfer_targets(X, y, seeds).values())
    rows = []
    for steps in (10, 50):
        for sigma in (0.0, 0.05, 0.1, 0.15, 0.2):
            kw = dict(radius=radius, steps=steps, step_size=radius / steps, random_start=False)
            kw.update(input_noise=sigma, n_noise=10 if sigma else 1)
            advs = [
                PGDAttack(src, **kw, random_state=i).generate(X_te, y_te)
                for i, src in enumerate(sources)
            ]
            rates = [
                np.mean([transfer_success_rate(X_te, a, y_te, t) for a in advs for t in f])
                for f in families
            ]
            rows.append([radius, steps, sigma, *(f"{v:.3f}" for v in rates)])
            print(" | ".join(map(str, rows[-1])), flush=True)
    return rows


def part_transfer(args, X, y, X_te, y_te, seeds):
    rows, sweep = [], []
    for radius in [0.1] if args.quick else args.transfer_radii:
        rows_r, families = transfer_rows(X, y, X_te, y_te, radius, TRANSFER_STEPS, seeds)
        rows += rows_r
        sweep += noise_sweep_rows(X, y, X_te, y_te, radius, seeds)
    head = ["radius", "attack", "white-box success (source)", *families]
    return (
        f"digits in [0, 1]; sources: standard MLPs {HIDDEN} of {len(seeds)} seeds; targets: "
        f"standard CNNs and MLPs of {len(seeds)} other seeds, RandomForest (300 trees), SVC "
        "(rbf), HistGradientBoosting, all fit on the same training split. Every attack: "
        f"L-inf, {TRANSFER_STEPS} steps of radius / {TRANSFER_STEPS}, no random start. "
        "Transfer success: over the test examples the target classifies correctly when "
        "clean, the share it misclassifies once adversarial; mean ± std over source x "
        "target pairs.\n\n"
        + markdown_table(head, rows)
        + "\n\nThe noise attack by sigma (n 10; sigma 0 is I-FGSM) and number of steps "
        "(step radius / steps), transfer success averaged over each family's pairs:\n\n"
        + markdown_table(["radius", "steps", "sigma", *families], sweep)
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=None, help="unused: sklearn's digits")
    p.add_argument("--part", nargs="+", default=["defences", "transfer"])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--radii", type=float, nargs="+", default=[0.05, 0.1, 0.2, 0.3])
    p.add_argument("--transfer-radii", type=float, nargs="+", default=[0.1, 0.2])
    p.add_argument("--quick", action="store_true", help="1 seed, radius 0.1 only")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    X, X_te, y, y_te = data()
    seeds = list(range(1 if args.quick else args.seeds))
    parts = {
        "defences": ("robust", "Adversarial training on digits", part_defences),
        "transfer": ("robust_transfer", "Transfer attacks on digits", part_transfer),
    }
    for part in args.part:
        name, title, fn = parts[part]
        body = fn(args, X, y, X_te, y_te, seeds)
        if args.quick:
            print(body)
        else:
            command = "python benchmarks/bench_robust.py " + " ".join(sys.argv[1:])
            write_result(name, title, body, command.strip())


if __name__ == "__main__":
    main()
