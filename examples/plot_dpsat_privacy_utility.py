"""
Privacy-utility trade-off: DP-SGD vs DP-SAT
===========================================

Differentially private training clips each example's gradient and adds Gaussian noise.
DP-SAT (Park et al., ICML 2023) also takes a sharpness-aware step, but builds the ascent
direction from the *previous* privatized gradient, so it spends exactly the privacy of
DP-SGD. This example trains both on sklearn's digits for several privacy budgets and
plots test accuracy against epsilon (mean and spread over three fits).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklpriv import DPSATClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0  # pixel values lie in 0..16: a bound known without looking at the data
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)

epsilons = [0.5, 1.0, 2.0, 4.0, 8.0]
results = {"dpsgd": [], "dpsat": []}
for method in results:
    for eps in epsilons:
        # random_state=None: fresh noise from OS entropy every fit (a known seed would
        # void the guarantee); the spread over three fits is the noise's
        accs = [
            DPSATClassifier(method=method, epsilon=eps, lr=0.5, max_epochs=30, classes=range(10))
            .fit(X_tr, y_tr)
            .score(X_te, y_te)
            for _ in range(3)
        ]
        results[method].append(accs)

fig, ax = plt.subplots(figsize=(6, 4))
for method, label in [("dpsgd", "DP-SGD"), ("dpsat", "DP-SAT (rho = 0.03)")]:
    acc = np.array(results[method])
    ax.errorbar(epsilons, acc.mean(1), yerr=acc.std(1), marker="o", capsize=3, label=label)
ax.set_xscale("log")
ax.set_xlabel("epsilon (delta = 1e-5)")
ax.set_ylabel("test accuracy")
ax.set_title("digits: accuracy vs privacy budget")
ax.legend()
plt.show()
