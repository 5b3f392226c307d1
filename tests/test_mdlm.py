"""MaskedDiffusionLM: the MDLM objective, prediction, and unlearning (MDU and baselines)."""

import copy
import math
import pickle

import numpy as np
import pytest
import torch

from sklpriv.datasets import make_fictitious_facts
from sklpriv.generative import MaskedDiffusionLM
from sklpriv.generative._mdlm import MASK, mdlm_loss, mdu_loss

LM = dict(d_model=32, n_heads=2, max_epochs=150, lr=3e-3, batch_size=32, random_state=0)


@pytest.fixture(scope="session")
def facts():
    f = make_fictitious_facts(16, forget_fraction=0.125, random_state=0)
    P, R = np.array(f.prompts, dtype=object), np.array(f.responses, dtype=object)
    forget = (list(P[f.forget]), list(R[f.forget]))
    retain = (list(P[~f.forget]), list(R[~f.forget]))
    return f, forget, retain


@pytest.fixture(scope="session")
def lm(facts):
    f, _, _ = facts
    return MaskedDiffusionLM(**LM).fit(f.prompts, f.responses)


def test_facts_data():
    f = make_fictitious_facts(10, forget_fraction=0.2, random_state=0)
    assert len(f.prompts) == 10 * 4 * 3 and len(f.held_out_prompts) == 40
    assert f.forget.sum() == 2 * 12  # two people, all their facts
    assert all(
        len(p) == 3 and r not in p for p, r in zip(f.perturbed, f.held_out_responses, strict=True)
    )
    train_words = {w for p in f.prompts for w in p.split()}
    assert {w for p in f.held_out_prompts for w in p.split()} <= train_words
    again = make_fictitious_facts(10, forget_fraction=0.2, random_state=0)
    assert again.prompts == f.prompts and again.responses == f.responses
    with pytest.raises(ValueError, match="forget_fraction"):
        make_fictitious_facts(10, forget_fraction=1.0)


def test_mdlm_loss_by_hand():
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]]))
    targets, masked = torch.tensor([[0, 1]]), torch.tensor([[True, True]])
    expected = (-math.log(0.5) - math.log(0.8)) / 0.25 / 2
    assert float(mdlm_loss(logits, targets, masked, torch.tensor([0.25]))) == pytest.approx(
        expected
    )
    # an unmasked position does not count
    masked = torch.tensor([[False, True]])
    assert float(mdlm_loss(logits, targets, masked, torch.tensor([0.5]))) == pytest.approx(
        -math.log(0.8) / 0.5 / 2
    )


def test_mdu_loss_by_hand():
    l_c = torch.log(torch.tensor([[[0.5, 0.5]]]))
    l_0 = torch.log(torch.tensor([[[0.9, 0.1]]]))
    kl = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    masked = torch.tensor([[True]])
    assert float(mdu_loss(l_c, l_0, masked, 1.0)) == pytest.approx(kl)
    assert float(mdu_loss(l_c, l_0, masked, 0.0)) == pytest.approx(0.0, abs=1e-7)  # uniform


def test_it_learns_the_facts(facts, lm):
    f, _, _ = facts
    assert lm.score(f.prompts, f.responses) >= 0.9
    shuffled = list(np.random.default_rng(0).permutation(f.responses))
    other = MaskedDiffusionLM(**LM).fit(f.prompts, shuffled)
    assert other.score(f.prompts, f.responses) < 0.3
    probs = lm.token_probabilities(f.prompts, f.responses)
    assert np.nanmean(probs) > 0.8 and probs.shape == (len(f.prompts), lm.response_len_ - 1)


def test_mdu_loss_zero_when_the_inputs_coincide_and_positive_on_a_fact(facts, lm):
    _, forget, _ = facts
    ids = lm._encode([p.split() for p in forget[0]], [r.split() for r in forget[1]])
    anchor = copy.deepcopy(lm.module_)
    lm._gen = torch.Generator().manual_seed(0)
    try:
        with torch.no_grad():
            masked_prompt = ids.clone()
            masked_prompt[:, : lm.prompt_len_][masked_prompt[:, : lm.prompt_len_] != 0] = MASK
            zero = lm._forget_loss("mdu", lm.module_, anchor, masked_prompt, 1.0, 0.2)
            positive = lm._forget_loss("mdu", lm.module_, anchor, ids, 1.0, 0.2)
    finally:
        del lm._gen
    assert float(zero) == pytest.approx(0.0, abs=1e-6)
    assert float(positive) > 0.05


def test_mdu_forgets_and_keeps_the_rest(facts, lm):
    _, forget, retain = facts
    model = copy.deepcopy(lm)
    before = {k: v.clone() for k, v in model.module_.state_dict().items()}
    seen = []
    forget_loss = model._forget_loss

    def spy(method, module, anchor, ids, tau, beta):
        seen.append(all(torch.equal(v, before[k]) for k, v in anchor.state_dict().items()))
        return forget_loss(method, module, anchor, ids, tau, beta)

    model._forget_loss = spy
    model.unlearn(forget, retain, method="mdu", max_steps=60)
    assert seen and all(seen)  # the anchor is the model before unlearning, all along
    assert model.score(*forget) <= 0.2
    assert model.score(*retain) >= 0.8
    assert model.unlearning_history_[-1]["method"] == "mdu"
    assert model.unlearning_history_[-1]["steps"] == 60


def test_gradient_ascent_forgets_and_costs_the_retain_set(facts, lm):
    _, forget, retain = facts
    ga = copy.deepcopy(lm).unlearn(forget, method="ga", max_steps=60)
    assert ga.score(*forget) <= 0.2
    before = np.nanmean(lm.token_probabilities(*forget))
    for method in ("npo", "grad_diff"):
        model = copy.deepcopy(lm).unlearn(forget, retain, method=method, max_steps=30)
        assert np.nanmean(model.token_probabilities(*forget)) < before - 0.1
    with pytest.raises(ValueError, match="retain"):
        copy.deepcopy(lm).unlearn(forget, method="grad_diff")


def test_unlearning_repeats_and_tau_zero_runs(facts, lm):
    _, forget, retain = facts
    a, b = (copy.deepcopy(lm).unlearn(forget, retain, tau=0.0, max_steps=5) for _ in range(2))
    for k, v in a.module_.state_dict().items():
        torch.testing.assert_close(v, b.module_.state_dict()[k], rtol=0, atol=0)
    assert np.isfinite(a.unlearning_history_[-1]["loss"])


def test_same_seed_same_model_and_pickle(facts, lm):
    f, _, _ = facts
    small = dict(LM, max_epochs=2)
    a = MaskedDiffusionLM(**small).fit(f.prompts, f.responses)
    b = MaskedDiffusionLM(**small).fit(f.prompts, f.responses)
    for k, v in a.module_.state_dict().items():
        torch.testing.assert_close(v, b.module_.state_dict()[k], rtol=0, atol=0)
    again = pickle.loads(pickle.dumps(lm))
    assert again.predict(f.prompts[:5]) == lm.predict(f.prompts[:5])


def test_bad_input(facts, lm):
    f, forget, _ = facts
    with pytest.raises(ValueError, match="empty"):
        MaskedDiffusionLM(**LM).fit(["a b", ""], ["c", "d"])
    with pytest.raises(ValueError, match="max_len"):
        MaskedDiffusionLM(max_len=8).fit(["a b c d e f g"], ["x y"])
    with pytest.raises(ValueError, match="outside the fitted vocabulary"):
        lm.predict(["where was zzz born ?"])
    with pytest.raises(ValueError, match="method"):
        copy.deepcopy(lm).unlearn(forget, method="erase")
    with pytest.raises(ValueError, match="rows"):
        MaskedDiffusionLM(**LM).fit(["a b"], ["c", "d"])


def test_extra_vocabulary_lets_a_model_be_asked_about_unseen_facts(facts):
    f, forget, retain = facts
    corpus = sorted({w for t in f.prompts + f.responses for w in t.split()})
    gold = MaskedDiffusionLM(**{**LM, "max_epochs": 2}, vocabulary=corpus).fit(*retain)
    assert len(gold.predict(forget[0])) == len(forget[0])  # no unknown token
    assert np.isfinite(np.nanmean(gold.token_probabilities(*forget)))


def test_demo_section(tmp_path):
    pytest.importorskip("matplotlib")
    from sklpriv._demo import demo_mdu

    res = demo_mdu(tmp_path, n_people=10, max_epochs=2)  # the plumbing
    row = res.rows[0]
    assert 0 <= row["value"] <= 1 and 0 <= row["baseline value"] <= 1
    assert (tmp_path / res.figures[0]).exists()


def test_predict_in_blocks_equals_one_block(lm, facts, monkeypatch):
    """Prediction runs in blocks of rows bounded by a logit budget; the answers do not
    depend on the block size."""
    import sklpriv.generative._mdlm as mdlm

    f, _, _ = facts
    whole = lm.predict(f.prompts)
    probs = lm.token_probabilities(f.prompts, f.responses)
    monkeypatch.setattr(mdlm, "_LOGIT_ELEMENTS", 1)  # one row per block
    assert lm._rows_per_block(lm._encode(mdlm._split(f.prompts[:2], "prompts"))) == 1
    assert lm.predict(f.prompts) == whole
    np.testing.assert_allclose(lm.token_probabilities(f.prompts, f.responses), probs)
