"""GradDiv on digits: randomized networks with and without scattered gradients, and ADP.

sklearn digits in [0, 1] (the split of bench_robust), 3 seeds. Randomized nets: a random
ensemble of 5 MLPs (one member per forward pass) and one MLP with Gaussian noise
injection (input and hidden layers, std 0.1). Each is trained without GradDiv, with
GradDiv's mean-resultant-length penalty and with the mean pairwise cosine penalty
(weight 0.5), and, for the ensemble, with the peer ADP regularizer (Pang et al. 2019,
ensemble entropy + log-det of the normalised non-maximal predictions, alpha 2, beta 0.5,
written here from the paper: it has no package), same networks, epochs and batches.

Reported: clean accuracy, R (mean resultant length of the draws' input gradients),
mean pairwise cosine, transfer success between members (PGD-20 on member i against
member j != i), fit time; then robust accuracy (the model's own averaged prediction)
under EOT-PGD-20 with k = 1, 10, 30 draws per step, under a transfer attack (PGD-20 on an
independently trained MLP) and under torchattacks' Square (gradient-free, 500 queries,
one random draw per query), at radii 0.1 and 0.2.

    python benchmarks/bench_graddiv.py [--seeds 3] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from _common import markdown_table, mean_std, write_result
from bench_robust import data

from sklpriv.robust import (
    AdversarialClassifier,
    PGDAttack,
    RandomizedNetworkClassifier,
    robust_accuracy,
)

HIDDEN, EPOCHS, WEIGHT = (256, 256), 30, 0.5
RADII, EOT = (0.1, 0.2), (1, 10, 30)


class ADPClassifier(RandomizedNetworkClassifier):
    """The randomized ensemble trained with ADP instead of GradDiv (the benchmark's peer).

    ADP (Pang, Xu, Du, Chen, Zhu, ICML 2019): the sum of the members' cross-entropies,
    minus ``alpha`` times the entropy of the mean prediction, minus ``beta`` times the
    log-determinant of the Gram matrix of the members' non-maximal predictions (the true
    class removed, each vector normalised), offset ``1e-6 I``; ``alpha 2, beta 0.5``.
    """

    def _objective(self, module, x, y, training):
        if not training:
            return F.cross_entropy(module(x), y)
        probs = torch.stack([torch.softmax(m(x), 1) for m in module.members])  # (K, B, L)
        ce = -torch.log(probs.gather(2, y.expand(len(probs), -1).unsqueeze(2)) + 1e-20)
        mean = probs.mean(0)
        entropy = -(mean * torch.log(mean + 1e-20)).sum(1)
        keep = torch.ones_like(mean, dtype=torch.bool).scatter_(1, y.unsqueeze(1), False)
        non_max = probs[:, keep].reshape(len(probs), len(x), -1).transpose(0, 1)  # (B, K, L-1)
        non_max = non_max / non_max.norm(dim=2, keepdim=True).clamp_min(1e-12)
        gram = non_max @ non_max.transpose(1, 2)
        log_det = torch.logdet(gram + 1e-6 * torch.eye(len(probs)))
        return (ce.squeeze(2).sum(0) - 2.0 * entropy - 0.5 * log_det).mean()


def variants():
    """(randomization, name) -> make(seed)."""
    base = dict(hidden_layer_sizes=HIDDEN, max_epochs=EPOCHS, graddiv_weight=WEIGHT)
    out = {}
    for rand in ("ensemble", "noise"):
        for name, gd in (("none", None), ("GradDiv-R", "resultant"), ("GradDiv-cos", "cosine")):
            out[rand, name] = lambda s, rand=rand, gd=gd: RandomizedNetworkClassifier(
                randomization=rand, graddiv=gd, random_state=s, **base
            )
    out["ensemble", "ADP (peer)"] = lambda s: ADPClassifier(graddiv=None, random_state=s, **base)
    return out


def member_transfer(clf, X, y, radius=0.1):
    """Mean transfer success of PGD-20 made on member i against member j != i."""
    members = clf.module_.members
    if len(members) < 2:
        return float("nan")
    rates = []
    for i, src in enumerate(members):
        adv = PGDAttack(src.eval(), radius=radius, steps=20, random_state=0).generate(X, y)
        rates += [_member_rate(dst, X, adv, y) for j, dst in enumerate(members) if j != i]
    return float(np.mean(rates))


def _member_rate(member, X, adv, y):
    with torch.no_grad():
        pred = lambda z: member(torch.as_tensor(z, dtype=torch.float32)).argmax(1).numpy()  # noqa: E731
        correct = pred(X) == y
        return float(np.mean(pred(adv[correct]) != y[correct]))


class _OneDraw(torch.nn.Module):
    """The randomized net on (N, 1, 8, 8) images, one random draw per query (Square)."""

    def __init__(self, clf):
        super().__init__()
        self.net = clf.module_

    def forward(self, x):
        return self.net(x.reshape(len(x), -1).float())


def square_accuracy(clf, X, y, radius, seed):
    import torchattacks

    torch.manual_seed(seed)
    attack = torchattacks.Square(_OneDraw(clf).eval(), eps=radius, n_queries=500, seed=seed)
    adv = attack(torch.as_tensor(X, dtype=torch.float32).reshape(-1, 1, 8, 8), torch.as_tensor(y))
    return float(np.mean(clf.predict(adv.reshape(len(X), -1).double().numpy()) == y))


def robust_row(clf, X, y, radius, seed, source):
    eot = [
        robust_accuracy(
            clf, X, y, PGDAttack(clf, radius=radius, steps=20, eot_samples=k, random_state=seed)
        )
        for k in EOT
    ]
    adv = PGDAttack(source, radius=radius, steps=20, random_state=seed).generate(X, y)
    transfer = float(np.mean(clf.predict(adv) == y))
    return [*eot, transfer, square_accuracy(clf, X, y, radius, seed)]


def evaluate(make, seeds, X, y, X_te, y_te, sources):
    stats, robust = [], {r: [] for r in RADII}
    for seed, source in zip(seeds, sources, strict=True):
        t0 = time.perf_counter()
        clf = make(seed).fit(X, y)
        secs = time.perf_counter() - t0
        resultant, cosine = clf.gradient_concentration(X_te, y_te)
        stats.append(
            [
                clf.score(X_te, y_te),
                resultant.mean(),
                cosine.mean(),
                member_transfer(clf, X_te, y_te),
                secs,
            ]
        )
        for r in RADII:
            robust[r].append(robust_row(clf, X_te, y_te, r, seed, source))
    return stats, robust


def _cells(rows):
    return [mean_std(c) if np.isfinite(c).all() else "n/a" for c in zip(*rows, strict=True)]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", default=None, help="unused: sklearn's digits")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="1 seed")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    X, X_te, y, y_te = data()
    seeds = list(range(1 if args.quick else args.seeds))
    sources = [  # the transfer attack's independently trained networks
        AdversarialClassifier(
            method="standard", hidden_layer_sizes=HIDDEN, max_epochs=EPOCHS, random_state=100 + s
        ).fit(X, y)
        for s in seeds
    ]
    table1, table2 = [], []
    for (rand, name), make in variants().items():
        stats, robust = evaluate(make, seeds, X, y, X_te, y_te, sources)
        table1.append([rand, name, *_cells(stats)])
        print(" | ".join(map(str, table1[-1])), flush=True)
        table2 += [[r, rand, name, *_cells(robust[r])] for r in RADII]
    head1 = [
        "randomization",
        "training",
        "clean",
        "R",
        "pairwise cosine",
        "member transfer (r 0.1)",
        "fit s",
    ]
    head2 = [
        "radius",
        "randomization",
        "training",
        *(f"EOT-PGD k={k}" for k in EOT),
        "transfer from an MLP",
        "Square (500 queries)",
    ]
    table2.sort(key=lambda row: row[0])
    body = (
        f"digits in [0, 1] (1,347 train / 450 test), members MLP {HIDDEN}, Adam 1e-3, "
        f"batch 128, {EPOCHS} epochs, GradDiv weight {WEIGHT}, 5 draws per step; "
        f"{len(seeds)} seeds, mean ± std. R and the cosine: over every member (ensemble) "
        "or 10 noise draws, per test example, averaged.\n\n"
        + markdown_table(head1, table1)
        + "\n\nRobust accuracy (the model's prediction: the mean of 10 seeded draws), "
        "L-inf, 20 steps:\n\n" + markdown_table(head2, table2)
    )
    if args.quick:
        print(body)
    else:
        command = "python benchmarks/bench_graddiv.py " + " ".join(sys.argv[1:])
        write_result("graddiv", "GradDiv on digits", body, command.strip())


if __name__ == "__main__":
    main()
