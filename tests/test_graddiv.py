"""RandomizedNetworkClassifier and GradDiv: analytic concentration, double backprop, digits."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sklpriv.robust import PGDAttack, RandomizedNetworkClassifier, robust_accuracy
from sklpriv.robust._randomized import _concentration, _graddiv_terms, _RandomizedNet


def test_concentration_of_identical_and_orthogonal_gradients():
    g = torch.randn(1, 7, 10, dtype=torch.float64)
    resultant, cosine = _concentration(g.repeat(4, 1, 1) * (0.5 + torch.rand(4, 1, 1)))
    np.testing.assert_allclose(resultant, 1.0, atol=1e-6)
    np.testing.assert_allclose(cosine, 1.0, atol=1e-6)
    # n orthogonal directions (scaled): R = 1 / sqrt(n), pairwise cosine 0
    n = 5
    eye = torch.eye(n, 8, dtype=torch.float64) * torch.arange(1, n + 1).reshape(-1, 1)
    resultant, cosine = _concentration(eye.unsqueeze(1).repeat(1, 3, 1))
    np.testing.assert_allclose(resultant, 1 / np.sqrt(n), atol=1e-12)
    np.testing.assert_allclose(cosine, 0.0, atol=1e-12)
    # two opposite gradients: R 0, cosine -1
    resultant, cosine = _concentration(torch.stack([g, -2 * g]).squeeze(1))
    np.testing.assert_allclose(resultant, 0.0, atol=1e-12)
    np.testing.assert_allclose(cosine, -1.0, atol=1e-12)


@pytest.mark.parametrize("graddiv", ["resultant", "cosine"])
def test_penalty_gradient_flows_into_the_weights(graddiv):
    """Double backprop: autograd's gradient of the penalty equals finite differences."""
    torch.manual_seed(0)
    members = [
        torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
        for _ in range(3)
    ]
    net = _RandomizedNet(members).double()
    x, y = torch.randn(6, 3, dtype=torch.float64), torch.randint(0, 2, (6,))
    weight = net.members[1][0].weight

    def penalty():
        return _graddiv_terms(net, x, y, [0, 1, 2], graddiv)[1]

    (auto,) = torch.autograd.grad(penalty(), weight)
    assert auto.abs().max() > 1e-4  # it does reach the weights
    numeric, h, w = torch.zeros_like(weight), 1e-6, weight.data
    for idx in np.ndindex(*weight.shape):
        w[idx] += h
        up = penalty().item()
        w[idx] -= 2 * h
        down = penalty().item()
        w[idx] += h
        numeric[idx] = (up - down) / (2 * h)
    np.testing.assert_allclose(auto, numeric, rtol=1e-5, atol=1e-7)


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def pair(digits_split):
    """The same randomized ensemble (seed, members, budget) without and with GradDiv."""
    X_tr, _, y_tr, _ = digits_split
    kw = dict(n_members=5, hidden_layer_sizes=(64,), max_epochs=25, lr=2e-3, random_state=0)
    return {
        g: RandomizedNetworkClassifier(graddiv=g, **kw).fit(X_tr, y_tr) for g in (None, "resultant")
    }


def test_graddiv_scatters_the_gradients_at_equal_accuracy(pair, digits_split):
    _, X_te, _, y_te = digits_split
    r_none = pair[None].gradient_concentration(X_te, y_te)[0].mean()
    r_gd = pair["resultant"].gradient_concentration(X_te, y_te)[0].mean()
    assert r_none > 0.9 and r_gd < r_none / 2, (r_none, r_gd)
    clean = {g: m.score(X_te, y_te) for g, m in pair.items()}
    assert clean[None] > 0.9 and abs(clean["resultant"] - clean[None]) <= 0.02, clean
    # and the scattered gradients mislead EOT-PGD (10 draws per step)
    robust = {
        g: robust_accuracy(m, X_te, y_te, PGDAttack(m, radius=0.2, eot_samples=10, random_state=0))
        for g, m in pair.items()
    }
    assert robust["resultant"] > robust[None] + 0.05, robust


def test_identical_members_have_resultant_one(pair, digits_split):
    import copy

    _, X_te, _, y_te = digits_split
    clf = copy.deepcopy(pair[None])
    for member in clf.module_.members[1:]:
        member.load_state_dict(clf.module_.members[0].state_dict())
    resultant, cosine = clf.gradient_concentration(X_te[:50], y_te[:50])
    np.testing.assert_allclose(resultant, 1.0, atol=1e-6)
    np.testing.assert_allclose(cosine, 1.0, atol=1e-6)


def test_predictions_repeat_and_single_draws_vary(pair, digits_split):
    _, X_te, _, _ = digits_split
    clf = pair["resultant"]
    np.testing.assert_array_equal(clf.predict_proba(X_te), clf.predict_proba(X_te))
    draws = [clf.predict_proba(X_te[:20], deterministic=False) for _ in range(6)]
    assert any(not np.allclose(draws[0], d) for d in draws[1:])
    for d in draws:
        np.testing.assert_allclose(d.sum(1), 1.0)
    # an attack's random_state seeds the model's draws too: EOT-PGD repeats
    attack = PGDAttack(clf, radius=0.1, steps=3, eot_samples=2, random_state=3)
    y = clf.predict(X_te[:20])
    np.testing.assert_array_equal(attack.generate(X_te[:20], y), attack.generate(X_te[:20], y))


def test_noise_injection_and_adversarial_training(digits_split):
    X_tr, X_te, y_tr, y_te = digits_split
    kw = dict(hidden_layer_sizes=(32,), max_epochs=8, lr=3e-3, random_state=0)
    noisy = RandomizedNetworkClassifier(randomization="noise", noise_std=0.1, **kw)
    noisy.fit(X_tr, y_tr)
    assert len(noisy.module_.members) == 1 and noisy.score(X_te, y_te) > 0.8
    resultant, _ = noisy.gradient_concentration(X_te[:30], y_te[:30], n_samples=4)
    assert resultant.shape == (30,) and (resultant <= 1 + 1e-9).all()
    at = RandomizedNetworkClassifier(
        n_members=2, adversarial="at", radius=0.1, attack_steps=2, **kw
    )
    assert at.fit(X_tr, y_tr).score(X_te, y_te) > 0.7
    with pytest.raises(ValueError, match="bounds"):
        at.fit(X_tr * 16, y_tr)
    with pytest.raises(ValueError, match="n_samples"):
        at.gradient_concentration(X_te, y_te, n_samples=3)


def test_demo_section(tmp_path):
    pytest.importorskip("matplotlib")
    from sklpriv._demo import demo_graddiv

    res = demo_graddiv(tmp_path)
    row = res.rows[0]
    assert row["value"] > row["baseline value"] + 0.1
    assert (tmp_path / res.figures[0]).exists()


def test_predict_proba_in_blocks_does_not_depend_on_the_rows_around(pair, digits_split):
    """Inference runs in blocks of PREDICT_CHUNK rows, each replaying the inference seed:
    a row's ensemble answer is the same alone, in a small batch or past a block boundary."""
    from sklpriv.utils import PREDICT_CHUNK

    _, X_te, _, _ = digits_split
    model = pair["resultant"]
    big = np.resize(X_te, (PREDICT_CHUNK + 10, X_te.shape[1]))
    proba = model.predict_proba(big)
    np.testing.assert_allclose(
        proba[PREDICT_CHUNK : PREDICT_CHUNK + 5],
        model.predict_proba(big[PREDICT_CHUNK : PREDICT_CHUNK + 5]),
        rtol=1e-12,
    )
    np.testing.assert_allclose(proba[:3], model.predict_proba(big[:3]), rtol=1e-12)
