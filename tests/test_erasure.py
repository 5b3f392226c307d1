"""ConceptEraser (ESD and ReCARE), the digit scenes and the concept metrics."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.neural_network import MLPClassifier

from sklpriv.datasets import make_digit_scenes
from sklpriv.generative import ConceptEraser, DiffusionGenerator
from sklpriv.generative._erasure import esd_target, recare_target
from sklpriv.metrics import care_score, concept_presence_rate

CO = {3: {7: 1.0}}
# a short fit, on rows: the MLP denoiser learns the scenes' digits in seconds
GEN = dict(denoiser="mlp", numeric_scaling="standard", hidden=(256, 256), emb_dim=64,
           max_epochs=60, batch_size=64, lr=2e-3, sampling_steps=12, random_state=0)  # fmt: skip
ERASE = dict(concept="digit_3", max_steps=60, batch_size=16, inversion_steps=50, lr=1e-3,
             random_state=0)  # fmt: skip


@pytest.fixture(scope="session")
def scenes():
    X, concepts = make_digit_scenes(1500, co_occurrence=CO, random_state=0)
    rows = X.reshape(len(X), -1)
    detector = MLPClassifier((128,), max_iter=300, random_state=0).fit(rows, concepts)
    gen = DiffusionGenerator(**GEN).fit(rows, concepts)
    return rows, concepts, detector, gen


@pytest.fixture(scope="session")
def target(scenes):
    rows, concepts, _, _ = scenes
    has3 = (concepts["digit_3"] == 1).to_numpy()
    return rows[has3], concepts[has3]


@pytest.fixture(scope="session")
def erasers(scenes, target):
    _, _, detector, gen = scenes
    X_t, c_t = target
    return {
        method: ConceptEraser(
            gen, method=method, detector=detector, **{**ERASE, "max_steps": 200}
        ).fit(X_t, c_t)
        for method in ("esd", "recare")
    }


def _presence(model, prompts, detector, concept="digit_3"):
    images = model.sample(len(prompts), y=prompts, random_state=1, guidance=1.0)
    return concept_presence_rate(images, concept, detector, concept_names=list(prompts))


# ---- data and metrics -------------------------------------------------------------------
def test_scenes_follow_their_co_occurrence():
    X, c = make_digit_scenes(2000, co_occurrence={3: {7: 0.7, "inverted": 1.0}}, random_state=0)
    assert X.shape == (2000, 8, 16) and X.min() >= 0 and X.max() <= 1
    assert (c[[f"digit_{d}" for d in range(10)]].sum(axis=1) == 2).all()
    has3 = c["digit_3"] == 1
    assert abs(c.loc[has3, "digit_7"].mean() - 0.7) < 0.06
    assert (c.loc[has3, "inverted"] == 1).all()
    inverted = X[c["inverted"] == 1]
    assert inverted.mean() > 0.5 > X[c["inverted"] == 0].mean()  # a light background
    again, _ = make_digit_scenes(2000, co_occurrence={3: {7: 0.7, "inverted": 1.0}},
                                 random_state=0)  # fmt: skip
    np.testing.assert_array_equal(X, again)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_digits": 1}, "n_digits"),
        ({"co_occurrence": {3: {3: 0.5}}}, "invalid"),
        ({"co_occurrence": {3: {"bold": 0.5}}}, "bold"),
        ({"co_occurrence": {12: {3: 0.5}}}, "digit 0-9"),
        ({"style_rate": 2.0}, "style_rate"),
    ],
)
def test_scenes_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_digit_scenes(10, **kwargs)


def test_care_score_and_presence_by_hand():
    class Fixed:
        def predict(self, X):
            return np.array([[1, 1], [1, 0], [0, 1], [1, 1]])

    X = np.zeros((4, 3))
    prompts = pd.DataFrame({"t": [1, 1, 1, 0], "c": [1, 1, 0, 1]})
    assert concept_presence_rate(X, 0, Fixed()) == 0.75
    assert concept_presence_rate(X, "c", Fixed(), concept_names=["t", "c"]) == 0.75
    # pairs (image, CARE concept in its prompt): images 0, 1, 3 ask for c; 0 and 3 show it
    assert care_score(X, prompts, ["c"], Fixed()) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="unknown concept"):
        concept_presence_rate(X, "z", Fixed(), concept_names=["t", "c"])
    with pytest.raises(ValueError, match="no prompt"):
        care_score(X, prompts.assign(c=0), ["c"], Fixed())


# ---- the targets ------------------------------------------------------------------------
def test_esd_and_recare_targets_by_hand():
    d_null, d_c = torch.tensor([1.0, 0.0]), torch.tensor([3.0, 2.0])
    # ESD: eps(0) - eta (eps(c) - eps(0)); linear in D as in eps (weights sum to 1)
    torch.testing.assert_close(esd_target(d_c, d_null, 1.0), torch.tensor([-1.0, -2.0]))
    torch.testing.assert_close(esd_target(d_c, d_null, 0.0), d_null)
    # ReCARE, s = 2: eps(0) + 1 (eps(a) - eps(0)) - 3 mean_e (eps(e) - eps(0))
    d_e2, d_a = torch.tensor([1.0, 4.0]), torch.tensor([2.0, 2.0])
    expected = d_null + (d_a - d_null) - 3 * ((d_c - d_null) + (d_e2 - d_null)) / 2
    torch.testing.assert_close(recare_target(d_null, [d_c, d_e2], d_a, 2.0), expected)
    torch.testing.assert_close(recare_target(d_null, [d_c], None, 2.0), d_null - 3 * (d_c - d_null))


def test_auto_care_set_keeps_the_companion_and_not_the_target(erasers):
    for eraser in erasers.values():
        assert eraser.care_set_ == ["digit_7"]
        assert eraser.concept_ == "digit_3"


def test_care_set_from_the_detector(scenes, target):
    _, _, detector, gen = scenes
    X_t, _ = target
    eraser = ConceptEraser(gen, detector=detector, method="esd", **{**ERASE, "max_steps": 1})
    assert eraser.fit(X_t).care_set_ == ["digit_7"]


# ---- fitting ------------------------------------------------------------------------------
def test_original_generator_is_never_changed(scenes, target):
    _, _, _, gen = scenes
    before = {k: v.clone() for k, v in gen.module_.state_dict().items()}
    X_t, c_t = target
    eraser = ConceptEraser(gen, **{**ERASE, "max_steps": 3, "inversion_steps": 3}).fit(X_t, c_t)
    for k, v in gen.module_.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    changed = eraser.generator_.module_.state_dict()
    assert any(not torch.equal(changed[k], before[k]) for k in before)
    # the condition embeddings (the "text encoder") stay frozen
    for k, v in eraser.generator_.module_.net.condition.state_dict().items():
        torch.testing.assert_close(v, gen.module_.net.condition.state_dict()[k])
    assert eraser.adversarial_embeddings_.shape == (2, gen.emb_dim)
    assert [h["stage"] for h in eraser.history_] == [
        "erase", "inversion", "erase", "inversion", "recare"
    ]  # fmt: skip


def test_erasure_removes_the_target_and_recare_keeps_the_companion(scenes, target, erasers):
    _, concepts, detector, gen = scenes
    _, c_t = target
    before = _presence(gen, c_t, detector)
    assert before > 0.7
    care = {}
    for method, eraser in erasers.items():
        assert _presence(eraser, c_t, detector) < 0.2 * before
        images = eraser.sample(len(c_t), y=c_t, random_state=1, guidance=1.0)
        care[method] = care_score(images, c_t, eraser.care_set_, detector)
    # the 7 that comes with every 3 survives ReCARE, not ESD
    assert care["recare"] > care["esd"] + 0.05
    # prompts without the target: ReCARE still draws what they ask for
    others = concepts[concepts["digit_3"] == 0].iloc[:200]
    agree = {}
    for name, model in [("original", gen), *erasers.items()]:
        images = model.sample(len(others), y=others, random_state=1, guidance=1.0)
        agree[name] = (detector.predict(images) == others.to_numpy()).mean()
    assert agree["recare"] > agree["original"] - 0.1


def test_same_seed_same_eraser(scenes, target):
    _, _, _, gen = scenes
    X_t, c_t = target
    kw = {**ERASE, "max_steps": 3, "inversion_steps": 3}
    a, b = (ConceptEraser(gen, **kw).fit(X_t, c_t) for _ in range(2))
    np.testing.assert_array_equal(a.adversarial_embeddings_, b.adversarial_embeddings_)
    np.testing.assert_array_equal(a.sample(4, random_state=0), b.sample(4, random_state=0))


def test_adversarial_recovery_rate_runs_and_repeats(erasers):
    eraser = erasers["recare"]
    rates = [eraser.adversarial_recovery_rate(32, random_state=0) for _ in range(2)]
    assert rates[0] == rates[1] and 0 <= rates[0] <= 1


def test_clone_keeps_the_fitted_generator_and_frozen_works(scenes, target):
    _, _, detector, gen = scenes
    eraser = ConceptEraser(gen, detector=detector, **ERASE)
    copy = clone(eraser)
    assert copy.generator is gen and copy.detector is detector
    X_t, c_t = target
    frozen = ConceptEraser(FrozenEstimator(gen), method="esd", **{**ERASE, "max_steps": 2})
    assert clone(frozen).generator is frozen.generator
    fitted = clone(frozen).fit(X_t, c_t)
    assert pickle.loads(pickle.dumps(fitted)).sample(2, random_state=0).shape == (2, 128)


def test_no_adversarial_round_and_a_given_care_set(scenes, target):
    _, _, _, gen = scenes
    X_t, c_t = target
    kw = {**ERASE, "max_steps": 2, "inversion_steps": 2}
    eraser = ConceptEraser(gen, adversarial_rounds=0, care_set=["digit_7", "thick"], **kw)
    eraser.fit(X_t, c_t)
    assert eraser.care_set_ == ["digit_7", "thick"]
    assert [h["stage"] for h in eraser.history_] == ["recare"]
    assert eraser.adversarial_embeddings_.shape == (0, gen.emb_dim)


# ---- bad input --------------------------------------------------------------------------
def test_bad_input(scenes, target):
    _, _, _, gen = scenes
    X_t, c_t = target
    kw = {**ERASE, "max_steps": 1, "inversion_steps": 1}
    with pytest.raises(ValueError, match="unknown condition attribute 'digit_11'"):
        ConceptEraser(gen, **{**kw, "concept": "digit_11"}).fit(X_t, c_t)
    with pytest.raises(ValueError, match="concepts, or a fitted detector"):
        ConceptEraser(gen, **kw).fit(X_t)
    with pytest.raises(ValueError, match="must be fitted"):
        ConceptEraser(DiffusionGenerator(), **kw).fit(X_t, c_t)
    with pytest.raises(ValueError, match="erased concept"):
        ConceptEraser(gen, care_set=["digit_3"], **kw).fit(X_t, c_t)
    with pytest.raises(ValueError, match="expected|columns|features"):
        ConceptEraser(gen, **kw).fit(X_t[:, :10], c_t)
    with pytest.raises(ValueError, match="detector"):
        ConceptEraser(gen, method="esd", **kw).fit(X_t, c_t).adversarial_recovery_rate(4)


def test_demo_section(tmp_path):
    pytest.importorskip("matplotlib")
    from sklpriv._demo import demo_concept_erasure

    res = demo_concept_erasure(tmp_path, max_epochs=2, max_steps=2, n_scenes=300)  # the plumbing
    row = res.rows[0]
    assert 0 <= row["value"] <= 1 and 0 <= row["baseline value"] <= 1
    assert (tmp_path / res.figures[0]).exists()
