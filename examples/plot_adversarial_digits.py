"""
Adversarial examples and four ways to train against them
=========================================================

A few PGD steps inside a small L-inf ball (here 0.15 of the pixel range) turn most
correctly classified digits into mistakes for a network trained the usual way.
:class:`~sklpriv.robust.AdversarialClassifier` trains on such examples: Madry's
adversarial training (``"at"``), TRADES and bridged adversarial training, which spreads
TRADES' smoothness term over a path of points between the clean and the adversarial
input. The first figure shows clean digits, their adversarial versions and the
perturbation; the second, robust accuracy (PGD-20) against the radius for each method.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklpriv.robust import AdversarialClassifier, PGDAttack, plot_adversarial_examples

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixels in [0, 1], the attacks' bounds
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)

settings = dict(hidden_layer_sizes=(128,), max_epochs=30, attack_steps=7, lr=2e-3, radius=0.15)
models = {
    method: AdversarialClassifier(method=method, random_state=0, **settings).fit(X_tr, y_tr)
    for method in ("standard", "at", "trades", "bridged")
}

# clean vs adversarial digits for the undefended network
attack = PGDAttack(models["standard"], radius=0.15, steps=20, random_state=0)
X_adv = attack.generate(X_te[:8], y_te[:8])
plot_adversarial_examples(
    X_te[:8], X_adv, y=y_te[:8], y_pred=models["standard"].predict(X_adv), n_examples=8
)
plt.suptitle("PGD-20 at radius 0.15 against the standard network")

# robust accuracy against the radius
radii = [0.0, 0.05, 0.1, 0.15, 0.2]
fig, ax = plt.subplots(figsize=(6, 4))
for method, clf in models.items():
    acc = [
        clf.score(X_te, y_te)
        if r == 0
        else clf.robust_score(X_te, y_te, PGDAttack(clf, radius=r, steps=20, random_state=0))
        for r in radii
    ]
    ax.plot(radii, acc, marker="o", label=method)
ax.set_xlabel("L-inf radius of PGD-20")
ax.set_ylabel("accuracy on the test digits")
ax.set_title("trained at radius 0.15")
ax.legend()
plt.show()
