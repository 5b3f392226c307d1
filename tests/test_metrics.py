import numpy as np
import pytest

from sklpriv.datasets import make_sines
from sklpriv.metrics import (
    boosting_discriminative_score,
    context_fid,
    correlational_score,
    discriminative_score,
    predictive_score,
)


@pytest.fixture(scope="module")
def data():
    real = make_sines(600, n_timesteps=16, n_features=3, random_state=0)
    real_too = make_sines(600, n_timesteps=16, n_features=3, random_state=1)
    noise = np.random.RandomState(0).rand(600, 16, 3)
    return real, real_too, noise


def test_discriminative(data):
    real, real_too, noise = data
    same = discriminative_score(real, real_too, n_iter=800, random_state=0)
    far = discriminative_score(real, noise, n_iter=800, random_state=0)
    assert same < 0.1 and far > 0.35


def test_boosting_discriminator_sees_the_noise_the_gru_misses(data):
    """Real windows plus noise of sd 0.01 (1% of the range): the boosting discriminator on
    the first differences tells them apart; it does not tell two real samples apart."""
    real, real_too, _ = data
    noisy = real_too + np.random.RandomState(2).normal(0, 0.01, real.shape)
    same = boosting_discriminative_score(real, real_too, random_state=0)
    seen = boosting_discriminative_score(real, noisy, random_state=0)
    assert same < 0.1 and seen > 0.3, (same, seen)
    assert seen == boosting_discriminative_score(real, noisy, random_state=0)
    with pytest.raises(ValueError, match="cv"):
        boosting_discriminative_score(real, noisy, cv=1)


def test_predictive():
    """The last feature is the first one a step earlier: a GRU trained on such windows
    predicts real ones well, one trained on noise cannot."""

    def windows(seed):
        X = make_sines(600, n_timesteps=16, n_features=4, random_state=seed)
        X[:, 1:, 3] = X[:, :-1, 0]
        return X

    real, real_too = windows(0), windows(1)
    noise = np.random.RandomState(0).rand(600, 16, 4)
    same = predictive_score(real, real_too, n_iter=1000, random_state=0)
    far = predictive_score(real, noise, n_iter=1000, random_state=0)
    assert same < 0.1 and far > 0.2


def test_context_fid(data):
    real, real_too, noise = data
    same = context_fid(real, real_too, n_iter=30, random_state=0)
    far = context_fid(real, noise, n_iter=30, random_state=0)
    assert same >= 0 and far > 10 * same


def test_correlational():
    rng = np.random.RandomState(0)

    def correlated(n):  # feature 1 follows feature 0, feature 2 mirrors it
        base = rng.randn(n, 16, 1).cumsum(axis=1)
        return np.concatenate([base, base + 0.3 * rng.randn(n, 16, 1), -base], axis=2)

    real, real_too = correlated(600), correlated(600)
    assert correlational_score(real, real) == 0.0
    same = correlational_score(real, real_too)
    independent = real.copy()  # each feature from a different window: no correlation
    for c in range(3):
        independent[:, :, c] = real[np.random.RandomState(c).permutation(600), :, c]
    far = correlational_score(real, independent)
    assert far > 0.1 and far > 10 * same
    sub = correlational_score(real, real_too, n_samples=100, random_state=0)
    assert sub == correlational_score(real, real_too, n_samples=100, random_state=0)


def test_seeded_and_validated(data):
    real, _, noise = data
    assert discriminative_score(real, noise, n_iter=50, random_state=3) == discriminative_score(
        real, noise, n_iter=50, random_state=3
    )
    with pytest.raises(ValueError, match="same"):
        correlational_score(real, real[:, :10])
    with pytest.raises(ValueError, match="n_iter"):
        predictive_score(real, real, n_iter=0)
    with pytest.raises(ValueError, match="3-D"):
        context_fid(real[0, 0], real[0, 0])
