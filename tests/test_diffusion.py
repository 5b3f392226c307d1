"""DiffusionGenerator: the EDM core against its formulas and a Gaussian, learning digits,
tables round-tripping, attribute switching's exact ends, and bad input."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV

from sklpriv.generative import DiffusionGenerator
from sklpriv.generative._edm import (
    heun_sample,
    karras_sigmas,
    preconditioning,
    sigma_to_tau,
    tau_to_sigma,
)


def test_preconditioning_matches_edm_table_1():
    sigma, d = torch.tensor([0.3, 2.0], dtype=torch.float64), 0.5
    c_skip, c_out, c_in, c_noise = preconditioning(sigma, d)
    s = sigma.numpy()
    np.testing.assert_allclose(c_skip, d**2 / (s**2 + d**2))
    np.testing.assert_allclose(c_out, s * d / np.sqrt(s**2 + d**2))
    np.testing.assert_allclose(c_in, 1 / np.sqrt(s**2 + d**2))
    np.testing.assert_allclose(c_noise, np.log(s) / 4)


def test_karras_sigmas_and_the_cosine_time_mapping():
    s = karras_sigmas(5).numpy()
    assert s[0] == pytest.approx(80.0) and s[-2] == pytest.approx(0.002) and s[-1] == 0
    assert np.all(np.diff(s) < 0)
    assert tau_to_sigma(1.0) == math.inf and tau_to_sigma(0.0) == 0.0
    for tau in (0.1, 0.4, 0.64, 0.9):
        assert sigma_to_tau(tau_to_sigma(tau)) == pytest.approx(tau, abs=1e-9)
    # the DDPM cosine schedule: abar(0.5) = cos^2(pi/4 * 0.508/1.008) / cos^2(...)
    f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    abar = f(0.5) / f(0)
    assert tau_to_sigma(0.5) == pytest.approx(math.sqrt((1 - abar) / abar))


def test_sampler_with_the_exact_denoiser_of_a_gaussian_reproduces_it():
    """D(x; sigma) = mu + S (S + sigma^2 I)^-1 (x - mu) is the exact denoiser of N(mu, S)."""
    mu = torch.tensor([1.0, -2.0], dtype=torch.float64)
    S = torch.tensor([[1.0, 0.6], [0.6, 0.5]], dtype=torch.float64)

    def denoise(x, sigma, i):
        A = S @ torch.linalg.inv(S + sigma**2 * torch.eye(2, dtype=torch.float64))
        return mu + (x - mu) @ A.T

    gen = torch.Generator().manual_seed(0)
    x_T = torch.randn(20000, 2, generator=gen, dtype=torch.float64)
    x = heun_sample(denoise, x_T, karras_sigmas(64)).numpy()
    np.testing.assert_allclose(x.mean(0), mu.numpy(), atol=0.03)
    np.testing.assert_allclose(np.cov(x.T), S.numpy(), atol=0.03)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def digits_model(digits):
    X, y = digits
    gen = DiffusionGenerator(
        numeric_scaling="standard", max_epochs=60, sampling_steps=20, random_state=0
    )
    return gen.fit(X, y)  # pixels: standardised (their quantiles are spikes at 0)


def test_it_learns_class_conditional_digits(digits, digits_model):
    X, y = digits
    judge = LogisticRegression(max_iter=3000).fit(X, y)
    S, labels = digits_model.sample(400, random_state=0, return_y=True)
    assert S.shape == (400, 64) and S.min() >= 0 and S.max() <= 16
    assert (judge.predict(S) == labels).mean() >= 0.8
    # conditions drawn without y follow the training frequencies: every class appears
    assert set(np.unique(labels)) == set(range(10))
    assert list(digits_model.conditions_) == ["y"]
    np.testing.assert_array_equal(digits_model.conditions_["y"], np.arange(10))


def test_switching_ends_are_exact_and_seeds_repeat(digits_model):
    g = digits_model
    s0 = g.sample(6, y=3, random_state=1)
    s1 = g.sample(6, y=8, random_state=1)
    np.testing.assert_array_equal(g.sample(6, y=3, random_state=1), s0)
    np.testing.assert_array_equal(
        g.sample(6, y=3, switch_to=8, switch_step=1.0, random_state=1), s1
    )
    np.testing.assert_array_equal(
        g.sample(6, y=3, switch_to=8, switch_step=0.0, random_state=1), s0
    )
    mid, y_out = g.sample(6, y=3, switch_to=8, switch_step=0.5, random_state=1, return_y=True)
    assert not np.array_equal(mid, s0) and not np.array_equal(mid, s1)
    assert y_out.tolist() == [8] * 6


def test_raw_condition_embedding_equals_the_label(digits_model):
    g = digits_model
    with torch.no_grad():
        emb = g.module_.net.condition(torch.tensor([[5]]), 1)[0].numpy()
    np.testing.assert_allclose(
        g.sample(4, y_embedding=emb, random_state=2), g.sample(4, y=5, random_state=2), atol=1e-5
    )


def test_guidance_and_the_switch_search(digits_model):
    g = digits_model
    guided = g.sample(4, y=1, guidance=2.0, random_state=0)
    assert guided.shape == (4, 64) and not np.allclose(guided, g.sample(4, y=1, random_state=0))
    tau, curve = g.estimate_switch_step("y", 0, 1, n_samples=32)
    assert 0 < tau < 1 and len(curve["tau"]) == len(curve["distance"]) == g.sampling_steps - 1
    assert tau == curve["tau"][np.argmin(curve["distance"])]
    X_fair, y_fair = g.sample_fair(
        40, sensitive="y", switch_step=tau, random_state=0, return_y=True
    )
    assert X_fair.shape == (40, 64) and set(np.unique(y_fair)) <= set(range(10))


def test_mixed_dataframe_round_trips_columns_dtypes_and_categories():
    rng = np.random.RandomState(0)
    n = 300
    df = pd.DataFrame(
        {
            "age": rng.randint(18, 80, n),
            "income": rng.lognormal(10, 0.5, n),
            "city": pd.Categorical(rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])),
            "owner": rng.rand(n) > 0.5,
            "job": rng.choice(["x", "y"], n).astype(object),
        }
    )
    g = DiffusionGenerator(hidden=(64, 64), max_epochs=30, sampling_steps=10, random_state=0)
    out = g.fit(df).sample(200, random_state=0)
    assert list(out.columns) == list(df.columns)
    assert out.dtypes.to_dict() == df.dtypes.to_dict()
    assert list(out["city"].cat.categories) == ["a", "b", "c"]
    assert set(out["job"]) <= {"x", "y"} and out["age"].between(18, 79).all()
    assert out["city"].value_counts(normalize=True)["a"] > 0.3  # the majority stays one
    # conditioned on a DataFrame of attributes, return_y gives the same layout back
    g2 = DiffusionGenerator(hidden=(32,), max_epochs=2, sampling_steps=4, random_state=0)
    g2.fit(df[["age", "income"]], df[["city", "owner"]])
    X2, y2 = g2.sample(5, y={"city": "b", "owner": True}, random_state=0, return_y=True)
    assert list(y2.columns) == ["city", "owner"] and (y2["city"] == "b").all()
    assert y2.dtypes.to_dict() == df[["city", "owner"]].dtypes.to_dict()
    np.testing.assert_array_equal(
        X2.to_numpy(), g2.sample(5, y=["b", True], random_state=0).to_numpy()
    )


def test_grid_search_over_a_parameter(digits):
    X, y = digits
    grid = GridSearchCV(
        DiffusionGenerator(hidden=(32,), max_epochs=2, sampling_steps=4, random_state=0),
        {"p_mean": [-1.2, 0.0]},
        cv=2,
    )
    grid.fit(X[:200])
    assert grid.best_params_["p_mean"] in (-1.2, 0.0)
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()


def test_images_use_the_unet_and_keep_their_layout(digits):
    X, y = digits
    g = DiffusionGenerator(channels=8, max_epochs=2, sampling_steps=4, random_state=0)
    g.fit(X[:100].reshape(-1, 8, 8), y[:100])
    assert type(g.module_.net).__name__ == "UNetDenoiser" and g.image_shape_ == (8, 8)
    assert g.sample(3, y=0, random_state=0).shape == (3, 8, 8)
    with pytest.raises(ValueError, match="shape"):
        g.score(X[:10].reshape(-1, 4, 16))


def test_bad_input_is_named(digits, digits_model):
    X, y = digits
    bad = X[:50].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DiffusionGenerator(max_epochs=1).fit(bad)
    with pytest.raises(ValueError, match="y=11"):
        digits_model.sample(2, y=11)
    with pytest.raises(ValueError, match="switch_to=42"):
        digits_model.sample(2, y=1, switch_to=42, switch_step=0.5)
    with pytest.raises(ValueError, match="together"):
        digits_model.sample(2, y=1, switch_to=2)
    with pytest.raises(ValueError, match="switch_step"):
        digits_model.sample(2, y=1, switch_to=2, switch_step=1.5)
    with pytest.raises(ValueError, match="n_samples"):
        digits_model.sample(0)
    with pytest.raises(ValueError, match="y_embedding"):
        digits_model.sample(2, y_embedding=np.zeros(3))
    with pytest.raises(ValueError, match="attribute"):
        digits_model.estimate_switch_step("sex", 0, 1)
    unconditional = DiffusionGenerator(hidden=(16,), max_epochs=1, random_state=0).fit(X[:50])
    with pytest.raises(ValueError, match="without y"):
        unconditional.sample(2, y=1)
    with pytest.raises(ValueError, match="conditional"):
        unconditional.sample(2, guidance=1.0)


def test_demo_section(tmp_path):
    pytest.importorskip("matplotlib")
    from sklpriv._demo import demo_fair_digits

    res = demo_fair_digits(tmp_path)
    row = res.rows[0]
    assert row["value"] < row["baseline value"] - 0.1
    assert (tmp_path / res.figures[0]).exists()
