"""
Erase a concept, keep what comes with it (ESD vs ReCARE)
========================================================

A conditional diffusion model of digit scenes, where every 3 comes with a 7, plays the
text-to-image model; a prompt is a set of concepts. Erasing the 3 with ESD pushes the
prompt's prediction away from everything the 3's scenes show, the 7 included. ReCARE
erases the 3 and the adversarial embeddings that bring it back, while it anchors and
retains the prompts that show the 7 (its CARE-set). The grid draws the same prompts, from
the same noise, from the original, ESD and ReCARE; the bars are the CARE score (how
often the 7 survives) and the share of scenes that still show a 3.
"""

import matplotlib.pyplot as plt
from sklearn.neural_network import MLPClassifier

from sklpriv.datasets import make_digit_scenes
from sklpriv.generative import ConceptEraser, DiffusionGenerator, plot_concept_samples
from sklpriv.metrics import care_score, concept_presence_rate

X, concepts = make_digit_scenes(2000, co_occurrence={3: {7: 1.0}}, random_state=0)
X = X.reshape(len(X), -1)
judge = MLPClassifier((256,), max_iter=300, random_state=0).fit(X, concepts)  # CLIP's stand-in
gen = DiffusionGenerator(denoiser="mlp", numeric_scaling="standard", hidden=(256, 256),
                         emb_dim=64, max_epochs=60, batch_size=64, lr=2e-3,
                         sampling_steps=12, random_state=0).fit(X, concepts)  # fmt: skip

has3 = (concepts["digit_3"] == 1).to_numpy()
models = {"original": gen}
for name, method in (("ESD", "esd"), ("ReCARE", "recare")):
    eraser = ConceptEraser(gen, concept="digit_3", method=method, random_state=0)
    models[name] = eraser.fit(X[has3], concepts[has3])
print("CARE-set found in the 3's scenes:", models["ReCARE"].care_set_)

prompts = concepts[has3]
plot_concept_samples(models, prompts.iloc[:6])

presence, care = {}, {}
for name, model in models.items():
    S = model.sample(len(prompts), y=prompts, guidance=1.0, random_state=1)
    presence[name] = concept_presence_rate(S, "digit_3", judge, concept_names=list(concepts))
    care[name] = care_score(S, prompts, ["digit_7"], judge)

fig, ax = plt.subplots(figsize=(5, 3))
x = range(len(models))
ax.bar([i - 0.2 for i in x], list(care.values()), width=0.4, label="CARE score (7 kept)")
ax.bar([i + 0.2 for i in x], list(presence.values()), width=0.4, label="3 still present")
ax.set_xticks(list(x), list(models))
ax.set_ylim(0, 1.05)
ax.legend(fontsize=8)
ax.set_title("prompts with a 3 (and its 7)")
plt.show()
