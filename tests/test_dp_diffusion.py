"""DPDiffusionGenerator (DP-SynGen): accounting, stage isolation, dead leaves, bad input."""

import math

import numpy as np
import pytest
import torch
from opacus.accountants import RDPAccountant
from sklearn.datasets import load_digits

from sklpriv.datasets import make_dead_leaves
from sklpriv.generative import DPDiffusionGenerator
from sklpriv.privacy import PrivacyLeakWarning

TINY = dict(
    hidden=(16,),
    emb_dim=8,
    max_epochs=2,
    batch_size=64,
    synthetic_steps=5,
    noise_multiplicity=2,
    sampling_steps=3,
    bounds=(0, 16),
    classes=range(10),
    random_state=0,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300]


@pytest.fixture(scope="module")
def fitted(digits):
    return DPDiffusionGenerator(epsilon=5.0, **TINY).fit(*digits)


def test_epsilon_is_opacus_figure_and_within_target(fitted, digits):
    g = fitted
    acc = RDPAccountant()
    acc.history = [(g.noise_multiplier_, g.sample_rate_, g.n_steps_)]
    assert g.epsilon_ == pytest.approx(acc.get_epsilon(g.delta_), rel=1e-9)
    assert g.epsilon_ <= 5.0 and g.epsilon_ > 4.5
    # one accounted step per Poisson batch: epochs x (1 / q) steps, all in the history
    assert g.n_steps_ == 2 * round(1 / g.sample_rate_) == sum(h[2] for h in g.accountant_.history)
    assert [h["n_steps"] for h in g.history_] == [g.n_steps_ // 2, g.n_steps_]
    assert set(g.history_[0]) == {"epoch", "epsilon", "n_steps"}  # no un-noised loss


def test_noise_multiplicity_costs_no_privacy(fitted, digits):
    other = DPDiffusionGenerator(epsilon=5.0, **{**TINY, "noise_multiplicity": 1}).fit(*digits)
    assert other.epsilon_ == fitted.epsilon_
    assert other.noise_multiplier_ == fitted.noise_multiplier_


def test_synthetic_stages_never_see_the_private_data(fitted, digits):
    X, y = digits
    other = DPDiffusionGenerator(epsilon=5.0, **TINY).fit(16 - X, y)
    for a, b in zip(
        fitted.synthetic_module_.state_dict().values(),
        other.synthetic_module_.state_dict().values(),
        strict=True,
    ):
        assert torch.equal(a, b)
    # the private denoisers did see the data
    assert not torch.equal(next(fitted.module_.parameters()), next(other.module_.parameters()))


def test_stages_route_noise_levels(fitted, digits):
    lo, hi = fitted.stage_sigmas_
    assert (lo, hi) == pytest.approx((math.exp(-3), math.exp(2)))
    assert fitted._denoiser_at(lo / 2)[0] is fitted.synthetic_module_
    assert fitted._denoiser_at(1.0)[0] is fitted.module_
    assert fitted._denoiser_at(hi * 2)[0] is fitted.module_  # coarse stays private here
    dpdm = DPDiffusionGenerator(epsilon=5.0, synthetic_stages=(), **TINY).fit(*digits)
    assert dpdm.synthetic_module_ is None
    assert all(dpdm._denoiser_at(s)[0] is dpdm.module_ for s in (1e-3, 1.0, 50.0))
    both = DPDiffusionGenerator(epsilon=5.0, synthetic_stages=("coarse", "cleaning"), **TINY)
    both.fit(*digits)
    assert both._denoiser_at(hi * 2)[0] is both.synthetic_module_
    # the private stage's training levels are truncated to the context stage
    both._noise = torch.Generator().manual_seed(0)
    s = both._sigmas(4000, [both._private_range()], both._noise)
    assert float(s.min()) >= lo * (1 - 1e-5) and float(s.max()) <= hi * (1 + 1e-5)


def test_samples_repeat_and_conditions_are_uniform(fitted):
    a = fitted.sample(5, y=3, random_state=1)
    np.testing.assert_array_equal(a, fitted.sample(5, y=3, random_state=1))
    assert a.shape == (5, 64) and a.min() >= 0 and a.max() <= 16
    _, labels = fitted.sample(2000, random_state=0, return_y=True)
    counts = np.bincount(labels, minlength=10) / 2000
    np.testing.assert_allclose(counts, 0.1, atol=0.03)  # uniform, not the private frequencies


def test_infinite_epsilon_adds_no_noise(digits):
    g = DPDiffusionGenerator(epsilon=np.inf, **TINY).fit(*digits)
    assert g.noise_multiplier_ == 0 and math.isinf(g.epsilon_)


def test_dead_leaves_statistics():
    X = make_dead_leaves(50, (8, 8), random_state=0)
    assert X.shape == (50, 8, 8) and X.min() >= 0 and X.max() <= 1
    # flat regions: far fewer grey levels than pixels, and a later leaf occludes
    assert np.mean([len(np.unique(img)) for img in X]) < 30
    one = make_dead_leaves(20, (8, 8), n_leaves=1, radius_range=(0.3, 0.31), random_state=0)
    assert all(len(np.unique(img)) <= 2 for img in one)
    big = make_dead_leaves(5, (3, 8, 8), n_leaves=3, radius_range=(1.5, 1.6), random_state=0)
    assert big.shape == (5, 3, 8, 8)
    assert all(len(np.unique(img.reshape(3, -1), axis=1).T) == 1 for img in big)  # one top leaf
    np.testing.assert_array_equal(X, make_dead_leaves(50, (8, 8), random_state=0))


def test_bad_input_and_leaks(digits):
    X, y = digits
    impossible = DPDiffusionGenerator(epsilon=1e-4, **{**TINY, "max_epochs": 50})
    with pytest.raises(ValueError, match="epsilon"):
        impossible.fit(X, y)
    assert not hasattr(impossible, "module_") and not hasattr(impossible, "encoder_")
    with pytest.warns(PrivacyLeakWarning, match="bounds"):
        DPDiffusionGenerator(epsilon=5.0, **{**TINY, "bounds": None}).fit(X, y)
    with pytest.warns(PrivacyLeakWarning, match="classes"):
        DPDiffusionGenerator(epsilon=5.0, **{**TINY, "classes": None}).fit(X, y)
    with pytest.raises(ValueError, match="not a value"):
        DPDiffusionGenerator(epsilon=5.0, **{**TINY, "classes": [0, 1]}).fit(X, y)
    with pytest.raises(ValueError, match="synthetic_stages"):
        DPDiffusionGenerator(epsilon=5.0, **{**TINY, "synthetic_stages": ("context",)}).fit(X, y)
    with pytest.raises(ValueError, match="square"):
        DPDiffusionGenerator(epsilon=5.0, **TINY).fit(X[:, :10], y)
    import pandas as pd

    with pytest.raises(ValueError, match="string|float"):
        DPDiffusionGenerator(epsilon=5.0, **TINY).fit(pd.DataFrame({"a": ["x"] * 300}), y)


def test_demo_section(tmp_path):
    pytest.importorskip("matplotlib")
    from sklpriv._demo import demo_dpsyngen

    res = demo_dpsyngen(tmp_path, max_epochs=2)  # the plumbing; the figures: the bench
    row = res.rows[0]
    spent = float(row["data"].split("epsilon ")[1].split(" ")[0])
    assert 0.5 < spent <= 1.0  # the budget was spent, not exceeded
    assert 0 <= row["value"] <= 1 and 0 <= row["baseline value"] <= 1
    assert (tmp_path / res.figures[0]).exists()
