"""
Unlearning facts from a masked diffusion language model (MDU)
=============================================================

A small masked diffusion LM learns fictitious people's birthplaces, jobs, birth years
and pets. Then it unlearns a tenth of the people: MDU pulls each forget answer towards
what the model predicts when the question is masked (its unconditional anchor), while
gradient ascent (GA), NPO and GradDiff push the answer's likelihood down. The first
figure follows the exact match of the forget and the retain facts over the unlearning
steps; the second shows MDU's temperature trade-off.
"""

import copy

import matplotlib.pyplot as plt
import numpy as np
from skorch.callbacks import Callback

from sklpriv.datasets import make_fictitious_facts
from sklpriv.generative import MaskedDiffusionLM

facts = make_fictitious_facts(60, forget_fraction=0.1, random_state=0)
P, R = np.array(facts.prompts, dtype=object), np.array(facts.responses, dtype=object)
forget = (list(P[facts.forget]), list(R[facts.forget]))
retain = (list(P[~facts.forget]), list(R[~facts.forget]))
lm = MaskedDiffusionLM(max_epochs=200, lr=2e-3, random_state=0).fit(P.tolist(), R.tolist())
print("exact match before unlearning:", lm.score(*forget), lm.score(*retain))


class Curves(Callback):
    """Forget and retain exact match every 5 unlearning steps."""

    def __init__(self, model):
        self.model, self.rows = model, []

    def on_batch_end(self, net, training=False, **kwargs):
        step = sum(len(h["batches"]) for h in net.history)
        if training and step % 5 == 0:
            self.rows.append((step, self.model.score(*forget), self.model.score(*retain)))


fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
for method in ("mdu", "ga", "npo", "grad_diff"):
    model = copy.deepcopy(lm)
    model.callbacks = [Curves(model)]
    model.unlearn(forget, retain, method=method, max_steps=100, lr=1e-3)
    steps, f_em, r_em = zip(*model.callbacks[0].rows, strict=True)
    axes[0].plot(steps, f_em, label=method)
    axes[1].plot(steps, r_em, label=method)
axes[0].set(title="forget facts", xlabel="unlearning step", ylabel="exact match")
axes[1].set(title="retain facts", xlabel="unlearning step")
axes[1].legend(fontsize=8)

taus, probs, kept = [0.0, 0.5, 1.0, 2.0], [], []
for tau in taus:
    model = copy.deepcopy(lm).unlearn(forget, retain, method="mdu", tau=tau, max_steps=100,
                                      lr=1e-3)  # fmt: skip
    probs.append(np.nanmean(model.token_probabilities(*forget)))
    kept.append(model.score(*retain))
fig, ax = plt.subplots(figsize=(4.5, 3.2))
ax.plot(taus, probs, "o-", label="forget true-token probability")
ax.plot(taus, kept, "s-", label="retain exact match")
ax.set(xlabel="MDU temperature tau", title="MDU's anchor temperature")
ax.legend(fontsize=8)
plt.show()
