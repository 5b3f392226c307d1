"""Privacy figures against an independent accountant, secure noise seeding, audits.

Google's dp-accounting is the independent accountant: every reported epsilon must be a
valid upper bound, i.e. never below its optimistic PLD estimate (a figure below that is
certainly not a bound) and never below 0.
"""

import io
import logging
import math
import pickle
import warnings

import dp_accounting as dpa
import numpy as np
import pytest
import torch
from dp_accounting.pld import privacy_loss_distribution as pld_lib
from opacus.accountants import create_accountant
from sklearn.datasets import load_digits, make_moons
from sklearn.neural_network import MLPClassifier

from sklpriv import DPDiffusionGenerator, DPMorseClustering, DPSATClassifier, DPSATRegressor
from sklpriv.privacy import (
    check_delta,
    epsilon_spent,
    membership_inference,
    noise_multiplier_for,
    noise_seed,
    zcdp_to_dp,
)

logging.getLogger("absl").setLevel(logging.ERROR)  # dp-accounting's convergence notes
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore:GDP accounting is experimental:UserWarning"),
    pytest.mark.filterwarnings("ignore:divide by zero encountered in log:RuntimeWarning"),
]
DELTA = 1e-5
BOUNDS = ([-1.5, -1.0], [2.5, 1.5])


def pld_epsilon(sigma, q, steps, delta, pessimistic):
    """dp-accounting's PLD epsilon of `steps` Poisson-subsampled Gaussian steps."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pld = pld_lib.from_gaussian_mechanism(
            sigma,
            sampling_prob=q,
            pessimistic_estimate=pessimistic,
            value_discretization_interval=1e-3,
            use_connect_dots=pessimistic,
        )
    return float(pld.self_compose(steps).get_epsilon_for_delta(delta))


def dpa_rdp_epsilon(sigma, q, steps, delta):
    acc = dpa.rdp.RdpAccountant()
    acc.compose(dpa.PoissonSampledDpEvent(q, dpa.GaussianDpEvent(sigma)), steps)
    return float(acc.get_epsilon(delta))


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


# (target epsilon, sample rate, epochs): the audit's digits setting (batch 256 of 1797)
# and a small-data, full-batch one
CASES = [(1.0, 1 / 8, 5), (3.0, 1 / 8, 5), (8.0, 1 / 8, 5), (3.0, 1.0, 20)]


@pytest.mark.parametrize("accountant", ["rdp", "prv"])
@pytest.mark.parametrize("target, q, epochs", CASES)
def test_calibrated_epsilon_is_a_bound(accountant, target, q, epochs):
    sigma = noise_multiplier_for(target, DELTA, q, epochs, accountant)
    steps = int(epochs / q)
    acc = create_accountant(accountant)
    acc.history = [(sigma, q, steps)]
    ours = epsilon_spent(acc, DELTA)
    assert ours <= target
    # never below the independent accountant's optimistic estimate (certainly not a bound)
    assert ours >= pld_epsilon(sigma, q, steps, DELTA, pessimistic=False)
    # and at least its pessimistic PLD bound, up to the PRV's own discretisation
    assert ours >= pld_epsilon(sigma, q, steps, DELTA, pessimistic=True) - 0.02
    if accountant == "rdp":  # the same RDP bound as dp-accounting's RDP accountant
        assert ours == pytest.approx(dpa_rdp_epsilon(sigma, q, steps, DELTA), rel=0.02)


def test_gdp_would_under_report_and_is_refused():
    """The audit's defect: opacus' GDP calibration at target 3 spends about 3.6."""
    from opacus.accountants.utils import get_noise_multiplier

    sigma = get_noise_multiplier(
        target_epsilon=3.0, target_delta=DELTA, sample_rate=1 / 8, epochs=5, accountant="gdp"
    )
    assert pld_epsilon(sigma, 1 / 8, 40, DELTA, pessimistic=False) > 3.3
    with pytest.raises(ValueError, match="not a bound"):
        noise_multiplier_for(3.0, DELTA, 1 / 8, 5, "gdp")


@pytest.mark.parametrize("accountant", ["rdp", "prv"])
def test_fitted_dpsat_epsilon_is_a_bound(digits, accountant):
    X, y = digits
    est = DPSATClassifier(
        epsilon=3.0, max_epochs=2, accountant=accountant, classes=range(10), random_state=0
    ).fit(X, y)
    lower = pld_epsilon(est.noise_multiplier_, est.sample_rate_, est.n_steps_, DELTA, False)
    assert lower <= est.epsilon_ <= 3.0


_DPG = dict(
    hidden=(16,),
    emb_dim=8,
    max_epochs=2,
    batch_size=64,
    synthetic_steps=5,
    noise_multiplicity=2,
    sampling_steps=3,
    bounds=(0.0, 1.0),
    classes=range(10),
)


@pytest.mark.parametrize("accountant", ["rdp", "prv"])
def test_fitted_dp_diffusion_epsilon_is_a_bound(digits, accountant):
    X, y = digits
    est = DPDiffusionGenerator(epsilon=3.0, accountant=accountant, random_state=0, **_DPG)
    est.fit(X[:400], y[:400])
    lower = pld_epsilon(est.noise_multiplier_, est.sample_rate_, est.n_steps_, DELTA, False)
    assert lower <= est.epsilon_ <= 3.0
    if accountant == "rdp":
        rdp = dpa_rdp_epsilon(est.noise_multiplier_, est.sample_rate_, est.n_steps_, DELTA)
        assert est.epsilon_ == pytest.approx(rdp, rel=0.02)


def test_epsilon_never_negative():
    """A tiny budget (huge sigma, full batches): RDP's conversion goes below 0 there."""
    acc = create_accountant("rdp")
    acc.history = [(160.0, 1.0, 2)]
    assert epsilon_spent(acc, 0.01) >= 0.0
    assert zcdp_to_dp(1e-12, 0.01) >= 0.0
    assert epsilon_spent(create_accountant("rdp"), DELTA) == 0.0


@pytest.mark.parametrize("accountant", ["rdp", "zcdp"])
@pytest.mark.parametrize("epsilon", [1.0, 3.0])
def test_dp_morse_epsilon_is_a_bound(accountant, epsilon):
    """DP-Morse releases max_iter Gaussian mechanisms: dp-accounting composes them."""
    X, _ = make_moons(2000, noise=0.05, random_state=0)
    est = DPMorseClustering(
        epsilon=epsilon, bounds=BOUNDS, accountant=accountant, max_iter=10, random_state=0
    ).fit(X)
    sens = math.sqrt(1 + 0.5**2 + 0.5**4)  # clip_radius 0.5
    acc = dpa.pld.PLDAccountant(value_discretization_interval=1e-3)
    acc.compose(dpa.GaussianDpEvent(est.noise_scale_ / sens), 10)
    assert est.epsilon_ <= epsilon + 1e-9
    assert est.epsilon_ >= acc.get_epsilon(DELTA) - 1e-3


def test_check_delta():
    assert check_delta(1e-5, 1000) == 1e-5
    with pytest.raises(ValueError, match="release a record outright"):
        check_delta(1e-3, 1000)


def test_dp_morse_rejects_large_delta():
    X, _ = make_moons(200, noise=0.05, random_state=0)
    with pytest.raises(ValueError, match="1/n_samples"):
        DPMorseClustering(delta=1 / 200, bounds=BOUNDS).fit(X)


# ---- secure seeding -------------------------------------------------------------------


def _fits(make, X, y):
    return [make().fit(X, y) for _ in range(2)]


def _dpsat(X, y):
    return _fits(lambda: DPSATClassifier(max_epochs=1, classes=range(10)), X, y)


def _morse(X, y):
    return _fits(lambda: DPMorseClustering(epsilon=1.0, bounds=BOUNDS), X, None)


def _dp_diffusion(X, y):
    return _fits(lambda: DPDiffusionGenerator(**_DPG), X[:300], y[:300])


def _weights(est):
    if hasattr(est, "module_"):
        return torch.cat([p.detach().flatten() for p in est.module_.parameters()]).numpy()
    return est.subcluster_means_.ravel()


@pytest.fixture(scope="module")
def moons():
    return make_moons(2000, noise=0.05, random_state=0)


_FITS = [_dpsat, _morse, _dp_diffusion]
_IDS = ["DPSAT", "DPMorse", "DPDiffusion"]


@pytest.mark.parametrize("fits", _FITS, ids=_IDS)
def test_refit_with_published_params_draws_fresh_noise(fits, digits, moons):
    """The audit's attack: refit with get_params() on the same data. With
    random_state=None every fit draws new noise, so the refit does not reproduce the model."""
    X, y = moons if fits is _morse else digits
    a, b = fits(X, y)
    assert a.get_params()["random_state"] is None
    wa, wb = _weights(a), _weights(b)
    assert wa.shape != wb.shape or not np.allclose(wa, wb)


@pytest.mark.parametrize("fits", _FITS, ids=_IDS)
def test_noise_comes_only_from_the_secure_seeding_helper(fits, digits, moons, monkeypatch):
    """Pin the OS entropy: then two random_state=None fits coincide, so every random
    draw of the fit (initialisation, sampling, noise) comes from that one helper."""
    import sklpriv.privacy._random as rnd

    monkeypatch.setattr(rnd.secrets, "randbits", lambda k: 12345)
    X, y = moons if fits is _morse else digits
    a, b = fits(X, y)
    np.testing.assert_array_equal(_weights(a), _weights(b))


_GENERATOR_TYPES = (
    np.random.RandomState,
    np.random.Generator,
    np.random.BitGenerator,
    np.random.SeedSequence,
    torch.Generator,
)


class _Inspector(pickle.Pickler):
    def __init__(self):
        super().__init__(io.BytesIO())
        self.found = []

    def reducer_override(self, obj):
        if isinstance(obj, _GENERATOR_TYPES):
            self.found.append(type(obj).__name__)
        return NotImplemented


def _generators_in_pickle(obj):
    inspector = _Inspector()
    inspector.dump(obj)
    return inspector.found


def test_pickles_hold_no_generator_state(digits, moons):
    X, y = digits
    clf = DPSATClassifier(max_epochs=1, classes=range(10)).fit(X, y)
    assert _generators_in_pickle(clf) == []
    clf.partial_fit(X, y)
    assert _generators_in_pickle(clf) == []
    reg = DPSATRegressor(max_epochs=1).fit(X, y / 10.0)
    assert _generators_in_pickle(reg) == []
    morse = DPMorseClustering(epsilon=1.0, bounds=BOUNDS).fit(moons[0])
    assert _generators_in_pickle(morse) == []
    gen = DPDiffusionGenerator(**_DPG).fit(X[:300], y[:300])
    assert _generators_in_pickle(gen) == []
    # the inspector does find one where there is one
    assert "RandomState" in _generators_in_pickle({"rng": np.random.RandomState(0)})


def test_noise_seed_contract():
    assert noise_seed(5, 0) == noise_seed(5, 0) != noise_seed(5, 1)
    assert noise_seed(None) != noise_seed(None)
    with pytest.raises(ValueError, match="random_state"):
        noise_seed("seed")


# ---- empirical audit ------------------------------------------------------------------


def test_membership_inference_at_epsilon_1_is_near_chance(digits):
    """Loss-threshold attack on 150 members vs 150 non-members of digits, 4 splits:
    DP-SAT at epsilon 1 stays near chance, sklearn's MLP leaks clearly more."""
    X, y = digits
    dp, mlp, bounds = [], [], []
    for split in range(4):
        idx = np.random.RandomState(split).permutation(len(X))
        i, o = idx[:150], idx[150:300]
        dp_model = DPSATClassifier(
            epsilon=1.0, max_epochs=30, lr=0.5, classes=range(10), random_state=split
        ).fit(X[i], y[i])
        res = membership_inference(dp_model, X[i], X[o], y[i], y[o], delta=DELTA)
        dp.append(res["auc"])
        bounds.append(res["epsilon_lower_bound"])
        nonprivate = MLPClassifier(max_iter=300, random_state=split).fit(X[i], y[i])
        mlp.append(membership_inference(nonprivate, X[i], X[o], y[i], y[o])["auc"])
    assert np.mean(dp) < 0.58
    assert np.mean(mlp) > np.mean(dp) + 0.04
    assert max(bounds) <= 1.0  # a sound attack never proves more than the guarantee


def test_partial_fit_on_smaller_chunks_keeps_the_accounted_rate(digits):
    """Every call samples at the calibrated rate, whatever its n: the accountant's rate
    is the one the batches are drawn at (chunked partial_fit once under-reported)."""
    X, y = digits
    est = DPSATClassifier(noise_multiplier=1.0, batch_size=64, classes=range(10), random_state=0)
    est.partial_fit(X[:1000], y[:1000])
    q = est.sample_rate_
    est.partial_fit(X[1000:1100], y[1000:1100])
    assert est.n_steps_ == 2 * round(1 / q)  # 1/q Poisson batches per call, any n
    assert all(rate == q for _, rate, _ in est.accountant_.history)
    lower = pld_epsilon(1.0, q, est.n_steps_, DELTA, pessimistic=False)
    assert est.epsilon_ >= lower


# ---- PrivacyLedger: what fits on the same data spend together ----------------------------
def _moons():
    from sklearn.datasets import make_moons

    return make_moons(n_samples=3000, noise=0.05, random_state=0)[0]


MOON_BOUNDS = ([-1.5, -1.0], [2.5, 1.5])


def test_ledger_sums_fits_per_data_set():
    from sklearn.cluster import KMeans

    from sklpriv import DPMorseClustering
    from sklpriv.privacy import PrivacyLedger

    X = _moons()
    a = DPMorseClustering(epsilon=1.0, bounds=MOON_BOUNDS, random_state=0).fit(X)
    b = DPMorseClustering(epsilon=2.0, bounds=MOON_BOUNDS, random_state=1).fit(X)
    ledger = PrivacyLedger().record(a, "moons").record(b, "moons").record(a, "other")
    eps, delta = ledger.total("moons")
    assert eps == pytest.approx(a.epsilon_ + b.epsilon_) and eps <= 3.0
    assert delta == pytest.approx(a.delta_ + b.delta_)
    assert ledger.total("other")[0] == pytest.approx(a.epsilon_)
    assert ledger.total("unseen") == (0.0, 0.0)
    frame = ledger.to_frame()
    assert list(frame.epsilon_total) == pytest.approx([a.epsilon_, eps, a.epsilon_])
    with pytest.raises(ValueError, match="not a differentially private"):
        ledger.record(KMeans(2, n_init=1).fit(X))


def test_ledger_counts_every_fit_of_a_search_through_a_pipeline():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from sklpriv import DPMorseClustering
    from sklpriv.privacy import PrivacyLedger

    pipe = make_pipeline(
        FunctionTransformer(), DPMorseClustering(bounds=MOON_BOUNDS, random_state=0)
    )
    grid = {"dpmorseclustering__epsilon": [1.0, 2.0, 4.0]}
    search = GridSearchCV(pipe, grid, cv=3, scoring=lambda est, X: 0.0).fit(_moons())
    ledger = PrivacyLedger().record_search(search)
    eps, delta = ledger.total()
    # 3 folds x (1 + 2 + 4) and the refit at the best (the first: all scores tie)
    assert eps == pytest.approx(3 * 7.0 + 1.0)
    assert delta == pytest.approx(10 * 1e-5)
    assert ledger.to_frame().fits.tolist() == [10]
