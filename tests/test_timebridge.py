import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from sklpriv import TimeBridgeGenerator
from sklpriv.datasets import make_sines, sliding_windows
from sklpriv.generative._bridge import (
    T_MAX,
    VPBridge,
    karras_times,
    sample_bridge,
    sample_bridge_implicit,
    uniform_times,
)
from sklpriv.generative._priors import fit_prior, interpolation_prior, sample_prior

TINY = dict(d_model=16, n_heads=2, max_steps=20, batch_size=32, sampling_steps=4)


@pytest.fixture(scope="module")
def sines():
    return make_sines(400, n_timesteps=12, n_features=2, random_state=0)


@pytest.fixture(scope="module")
def fitted(sines):
    return TimeBridgeGenerator(**TINY, random_state=0).fit(sines)


# ---- the bridge ---------------------------------------------------------------------------
def test_bridge_end_points():
    """t = T: the prior draw; t -> 0: the data (both ends pinned, no noise left)."""
    bridge = VPBridge(0.2, 10.0, 0.5)
    a, b, c = (float(v) for v in bridge.coefficients(T_MAX))
    assert a == pytest.approx(1.0) and b == pytest.approx(0.0, abs=1e-12) and c < 1e-12
    a, b, c = (float(v) for v in bridge.coefficients(1e-7))
    assert a < 1e-5 and b == pytest.approx(1.0, abs=1e-5) and c < 1e-5
    x0, xT = torch.zeros(3, 4, 2), torch.ones(3, 4, 2)
    noise = torch.randn(3, 4, 2)
    at_T = bridge.marginal(x0, xT, torch.full((3,), T_MAX, dtype=torch.float64), noise)
    assert torch.allclose(at_T, xT, atol=1e-6)


@pytest.mark.parametrize("t", [0.1, 0.4, 0.8])
def test_bridge_coefficients_match_simulated_vp_sde(t):
    """Simulate the VP SDE dx = -beta(t)/2 x dt + sqrt(beta(t)) dW (beta = b_min + b_d t)
    from a fixed x0 by Euler-Maruyama; regressing x_t on x_T recovers a_t (slope),
    b_t x0 (intercept) and c_t (residual variance)."""
    b_min, b_d, x0, n_steps, n = 0.2, 10.0, 0.7, 1000, 60_000
    rng = np.random.RandomState(0)
    x, dt, x_t = np.full(n, x0), 1.0 / n_steps, None
    for k in range(n_steps):
        s = k * dt
        beta = b_min + b_d * s
        x = x - 0.5 * beta * x * dt + np.sqrt(beta * dt) * rng.randn(n)
        if x_t is None and (k + 1) * dt >= t - 1e-12:
            x_t = x.copy()
    slope, intercept = np.polyfit(x, x_t, 1)
    resid = np.var(x_t - (slope * x + intercept))
    a, b, c = (float(v) for v in VPBridge(b_min, b_d, 0.5).coefficients(t))
    assert slope == pytest.approx(a, abs=0.02)
    assert intercept == pytest.approx(b * x0, abs=0.02)
    assert resid == pytest.approx(c, rel=0.05, abs=2e-3)


def test_karras_schedule():
    times = karras_times(40)
    assert len(times) == 41 and times[-1] == 0.0
    assert times[0] == pytest.approx(1 - 1e-4) and times[-2] == pytest.approx(0.002)
    assert all(a > b for a, b in zip(times, times[1:], strict=False))


def _gaussian_denoiser(bridge, xT, m, v):
    """The exact x0-denoiser E[x0 | x_t, x_T] of data N(m, v), independent of the prior."""

    def denoise(x, t):
        a, b, c = (float(u) for u in bridge.coefficients(t))
        if b == 0.0:  # t = T: x_t is the prior draw, no information on x0
            return torch.full_like(x, m)
        return m + b * v / (b * b * v + c) * (x - a * xT - b * m)

    return denoise


def _run(sampler, steps, denoise, xT, bridge, gen, order=1):
    if sampler.startswith("dbim"):  # "dbim": its uniform grid; "dbim-karras": Karras's
        ts = uniform_times(steps) if sampler == "dbim" else karras_times(steps, 1e-4)[:-1]
        return sample_bridge_implicit(denoise, xT, ts, bridge, eta=0.0, generator=gen, order=order)
    churn = 0.33 if sampler == "sde" else 0.0
    return sample_bridge(denoise, xT, karras_times(steps), bridge, churn=churn, generator=gen)


def _gaussian_case(sampler, steps, order=1):
    """Data N(0.3, 0.04), prior draws N(0, 0.25) independent of them, the exact denoiser."""
    bridge, m, v = VPBridge(0.2, 10.0, 0.5), 0.3, 0.04
    gen = torch.Generator().manual_seed(0)
    xT = 0.5 * torch.randn(5000, 4, 1, generator=gen, dtype=torch.float64)
    x = _run(sampler, steps, _gaussian_denoiser(bridge, xT, m, v), xT, bridge, gen, order)
    corr = float(torch.corrcoef(torch.stack([x.flatten(), xT.flatten()]))[0, 1])
    return float(x.mean()), float(x.var()), corr


@pytest.mark.parametrize(
    "sampler, steps, order", [("sde", 40, 1), ("dbim", 1000, 1), ("dbim-karras", 10, 2)]
)
def test_samplers_recover_gaussian_data_with_the_exact_denoiser(sampler, steps, order):
    """The SDE sampler, DBIM with many steps and second-order DBIM with 10 steps on a
    Karras grid recover the data's mean and variance, and the samples do not depend on
    their prior draw."""
    mean, var, corr = _gaussian_case(sampler, steps, order)
    assert mean == pytest.approx(0.3, abs=0.01) and abs(corr) < 0.05
    assert var == pytest.approx(0.04, rel=0.05 if steps > 100 else 0.1)


def test_few_step_dbim_loses_variance():
    """With 10 steps first-order DBIM keeps the mean but loses variance on either grid (the
    shortfall its docstring reports); on the Karras grid the second order removes it (the
    test above), on the uniform grid it does not."""
    for sampler, order in [("dbim", 1), ("dbim", 2), ("dbim-karras", 1)]:
        mean, var, corr = _gaussian_case(sampler, 10, order)
        assert mean == pytest.approx(0.3, abs=0.01) and abs(corr) < 0.05
        assert 0.004 < var < 0.03


def test_ode_sampler_collapses_onto_the_mean():
    """The probability-flow ODE maps each prior draw to one point near the data mean."""
    bridge, m, v = VPBridge(0.2, 10.0, 0.5), 0.3, 0.04
    gen = torch.Generator().manual_seed(0)
    xT = 0.5 * torch.randn(2000, 4, 1, generator=gen, dtype=torch.float64)
    x = _run("ode", 40, _gaussian_denoiser(bridge, xT, m, v), xT, bridge, gen)
    assert float(x.mean()) == pytest.approx(m, abs=0.01) and float(x.var()) < 0.02 * v


def test_uniform_schedule():
    times = uniform_times(10)
    assert len(times) == 11 and times[0] == pytest.approx(1 - 1e-3)
    assert times[-1] == pytest.approx(1e-4)
    np.testing.assert_allclose(np.diff(times), np.diff(times)[0])


# ---- the priors ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["mean", "gp"])
def test_priors_reproduce_window_statistics(sines, kind):
    Z = 2 * (sines - sines.min()) / (sines.max() - sines.min()) - 1
    prior = fit_prior(kind, Z, variance=1.0)
    np.testing.assert_allclose(prior["mean"], Z.mean(axis=0))
    draws = sample_prior(prior, 40_000, torch.Generator().manual_seed(0)).double().numpy()
    np.testing.assert_allclose(draws.mean(axis=0), Z.mean(axis=0), atol=0.03)
    for c in range(Z.shape[2]):
        emp = np.cov(draws[:, :, c], rowvar=False)
        np.testing.assert_allclose(emp, prior["covariance"][c], atol=0.04)
    if kind == "mean":  # its covariance is the windows' own per-time variance
        np.testing.assert_allclose(
            np.diagonal(prior["covariance"], axis1=1, axis2=2).T, Z.var(axis=0, ddof=1)
        )
    else:  # RBF kernel in time plus the per-time std on the diagonal (authors' code)
        L = Z.shape[1]
        d = np.subtract.outer(np.arange(L), np.arange(L))
        kernel = np.exp(-(d**2) / (2 * Z.std() ** 2))
        np.testing.assert_allclose(
            prior["covariance"][0], kernel + np.diag(Z.std(axis=0, ddof=1)[:, 0])
        )


def test_trend_prior_is_the_windows_low_pass():
    t = np.linspace(0, 1, 24)
    X = (0.5 * t + 0.1 * np.sin(2 * np.pi * 8 * t))[None, :, None].repeat(3, 0)
    prior = fit_prior("trend", X, variance=1.0)
    trend = prior["trends"][0, :, 0]
    assert np.abs(trend - 0.5 * t).max() < 0.05  # the fast oscillation is filtered out
    draw = sample_prior(prior, 2, torch.Generator().manual_seed(0), index=np.array([1, 2]))
    np.testing.assert_allclose(draw.numpy(), prior["trends"][[1, 2]])


def test_interpolation_prior():
    X = np.array([[0.0, np.nan, 2.0, np.nan]])[:, :, None]
    obs = ~np.isnan(X)
    out = interpolation_prior(np.nan_to_num(X), obs, np.zeros((4, 1)))
    np.testing.assert_allclose(out[0, :, 0], [0.0, 1.0, 2.0, 2.0])


# ---- the estimator ------------------------------------------------------------------------
def test_sample_shape_units_and_seed(fitted, sines):
    S = fitted.sample(50, random_state=1)
    assert S.shape == (50, 12, 2)
    # the [-1, 1] clamp maps back to the data's range
    assert S.min() >= sines.min() - 1e-9 and S.max() <= sines.max() + 1e-9
    np.testing.assert_array_equal(S, fitted.sample(50, random_state=1))
    assert not np.array_equal(S, fitted.sample(50, random_state=2))
    assert fitted.n_timesteps_ == 12 and fitted.n_channels_ == 2 and fitted.n_features_in_ == 2
    assert fitted.n_iter_ == TINY["max_steps"]


def test_dbim_sampler_one_evaluation_per_step(fitted, sines):
    gen = copy.deepcopy(fitted).set_params(sampler="dbim", sampling_steps=6)
    calls = []
    gen.network_.register_forward_hook(lambda *_: calls.append(1))
    S = gen.sample(20, random_state=1)
    assert len(calls) == 6 + 1  # the booting step and one per step, one batch
    assert S.shape == (20, 12, 2) and np.isfinite(S).all()
    assert S.min() >= sines.min() - 1e-9 and S.max() <= sines.max() + 1e-9
    np.testing.assert_array_equal(S, gen.sample(20, random_state=1))
    assert not np.array_equal(S, gen.sample(20, random_state=2))
    X = sines[:5].copy()
    X[:, 3:9] = np.nan
    out = gen.impute(X, random_state=0)
    np.testing.assert_array_equal(out[:, :3], sines[:5, :3])
    assert not np.isnan(out).any()


def test_same_seed_same_model(sines):
    a = TimeBridgeGenerator(**TINY, random_state=3).fit(sines)
    b = clone(a).fit(sines)
    for p, q in zip(a.network_.parameters(), b.network_.parameters(), strict=True):
        assert torch.equal(p, q)
    assert a.score(sines) == b.score(sines)


def test_univariate_2d_and_pandas_windows():
    y = pd.Series(np.sin(np.arange(300) / 4.0) * 3 + 10)
    W = sliding_windows(y, window=16, stride=2)
    assert W.shape == (143, 16, 1)
    gen = TimeBridgeGenerator(**TINY, random_state=0).fit(W[:, :, 0])
    S = gen.sample(4, random_state=0)
    assert S.shape == (4, 16) and gen.n_features_in_ == 16
    assert 7 - 1e-9 <= S.min() and S.max() <= 13 + 1e-9


def test_impute_keeps_observed_entries_exactly(fitted, sines):
    X = sines[:10].copy()
    rng = np.random.RandomState(0)
    missing = rng.rand(*X.shape) < 0.4
    X[missing] = np.nan
    out = fitted.impute(X, random_state=0)
    assert out.shape == X.shape and not np.isnan(out).any()
    np.testing.assert_array_equal(out[~missing], sines[:10][~missing])
    np.testing.assert_array_equal(out, fitted.impute(X, random_state=0))


def test_conditional_sampling(fitted, sines):
    cond = np.full((1, 12, 2), np.nan)
    cond[0, 0], cond[0, -1] = sines[0, 0], sines[0, -1]
    S = fitted.sample(5, random_state=0, condition=cond)
    assert S.shape == (5, 12, 2)
    np.testing.assert_array_equal(S[:, 0], np.broadcast_to(sines[0, 0], (5, 2)))
    np.testing.assert_array_equal(S[:, -1], np.broadcast_to(sines[0, -1], (5, 2)))
    with pytest.raises(ValueError, match="condition has 2 rows"):
        fitted.sample(5, condition=np.repeat(cond, 2, 0))


def test_it_learns_sines():
    """A short fit brings the samples' per-time mean and sd and their roughness (mean
    absolute step) close to real sines', which the untrained network's samples are far from
    (standard normal prior: the GP prior alone is already close to sines), and raises the
    score of held-out windows. The GRU discriminator (30 s here) is tested in test_metrics."""
    X = make_sines(2000, n_timesteps=12, n_features=2, random_state=0)
    real = make_sines(400, n_timesteps=12, n_features=2, random_state=1)
    params = dict(prior="normal", d_model=32, n_heads=4, batch_size=64, sampling_steps=10, lr=2e-3)

    def gaps(est):
        fake = est.sample(400, random_state=0)
        mean_gap = np.abs(fake.mean(0) - real.mean(0)).mean()
        sd_gap = np.abs(fake.std(0) - real.std(0)).mean()
        rough = np.abs(np.abs(np.diff(fake, axis=1)).mean() - np.abs(np.diff(real, axis=1)).mean())
        return np.array([mean_gap + sd_gap, rough])

    trained = TimeBridgeGenerator(**params, max_steps=300, random_state=0).fit(X)
    untrained = TimeBridgeGenerator(**params, max_steps=1, random_state=0).fit(X)
    g_trained, g_untrained = gaps(trained), gaps(untrained)
    assert (g_untrained > 0.05).all()  # noise, not sines
    assert (g_trained < 0.3 * g_untrained).all(), (g_trained, g_untrained)
    assert trained.score(real) > untrained.score(real)


def test_grid_search_over_prior(sines):
    search = GridSearchCV(
        TimeBridgeGenerator(**TINY, random_state=0),
        {"prior": ["normal", "gp"]},
        cv=2,
    ).fit(sines[:, :, 0])
    assert search.best_params_["prior"] in ("normal", "gp")
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_verbose_progress(sines, capsys):
    TimeBridgeGenerator(**TINY, verbose=1, random_state=0).fit(sines)
    assert "TimeBridgeGenerator" in capsys.readouterr().err


# ---- errors -------------------------------------------------------------------------------
def test_bad_input(fitted, sines):
    X = sines.copy()
    X[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TimeBridgeGenerator(**TINY).fit(X)
    with pytest.raises(ValueError, match="3-D"):
        TimeBridgeGenerator(**TINY).fit(np.zeros((4, 3, 2, 2)))
    with pytest.raises(ValueError, match="window=50 is longer than the series"):
        sliding_windows(np.zeros(20), window=50)
    with pytest.raises(ValueError, match="fitted on windows of shape"):
        fitted.score(np.zeros((3, 10, 2)))
    with pytest.raises(ValueError, match="the model was fitted on"):
        fitted.impute(np.zeros((3, 12, 3)))
    with pytest.raises(ValueError, match="divisible by n_heads"):
        TimeBridgeGenerator(d_model=10, n_heads=4).fit(sines)
    with pytest.raises(ValueError, match="prior"):
        TimeBridgeGenerator(prior="uniform").fit(sines)
    with pytest.raises(ValueError, match="n_samples"):
        fitted.sample(0)


def test_make_sines():
    X = make_sines(50, n_timesteps=30, n_features=3, random_state=0)
    assert X.shape == (50, 30, 3) and X.min() >= 0.5 - 1e-12 and X.max() <= 1
    np.testing.assert_array_equal(X, make_sines(50, n_timesteps=30, n_features=3, random_state=0))


def test_plot_samples(fitted, sines):
    import matplotlib

    matplotlib.use("Agg")
    ax = fitted.plot_samples(sines, n_samples=3, feature=1)
    assert len(ax.lines) == 6


def test_demo_section(tmp_path):
    from sklpriv._demo import demo_timebridge

    res = demo_timebridge(tmp_path, max_steps=100)  # the plumbing; the demo runs 1,500
    assert (tmp_path / res.figures[0]).exists()
    row = res.rows[0]
    assert row["value"] < row["baseline value"]


# ---- bad input ----------------------------------------------------------------------------
def test_cuda_device_fails_fast_before_any_other_work(monkeypatch, sines):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    X = sines.copy()
    X[0, 0, 0] = np.nan  # the data check would fail too: the device error comes first
    with pytest.raises(ValueError, match="device='cuda', but CUDA is not available"):
        TimeBridgeGenerator(**TINY, device="cuda").fit(X)


@pytest.mark.parametrize("bad", [True, np.True_, 2.0, 0, -3, "4", None])
def test_sample_checks_n_samples(fitted, bad):
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        fitted.sample(bad)


def test_sample_impute_and_plot_check_their_other_arguments(fitted, sines):
    assert fitted.sample(np.int64(2), random_state=0).shape == (2, 12, 2)
    for bad in ("abc", -1, 1.5, np.random.default_rng(0)):
        with pytest.raises(ValueError, match="random_state must be None, an int"):
            fitted.sample(2, random_state=bad)
        with pytest.raises(ValueError, match="random_state must be None, an int"):
            fitted.impute(sines[:2], random_state=bad)
    with pytest.raises(ValueError, match="condition has windows of shape"):
        fitted.sample(2, condition=np.zeros((1, 5, 2)))
    with pytest.raises(ValueError, match="feature must be an int in \\[0, 1\\]"):
        fitted.plot_samples(feature=2)


def test_impute_warns_about_windows_with_nothing_observed(fitted, sines):
    X = sines[:3].copy()
    X[1] = np.nan
    with pytest.warns(UserWarning, match="X has 1 of 3 windows with no observed value"):
        out = fitted.impute(X, random_state=0)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[[0, 2]], sines[[0, 2]])
    with pytest.warns(UserWarning, match="condition has 1 of 1 windows"):
        fitted.sample(2, random_state=0, condition=np.full((1, 12, 2), np.nan))


@pytest.mark.parametrize("factor", [1e30, 1e-30])
def test_badly_scaled_data_give_samples_in_the_data_units(sines, factor):
    X = sines[:64]
    base = TimeBridgeGenerator(**TINY, random_state=0).fit(X).sample(5, random_state=0)
    scaled = TimeBridgeGenerator(**TINY, random_state=0).fit(X * factor)
    np.testing.assert_allclose(scaled.sample(5, random_state=0) / factor, base, rtol=1e-6)
    assert np.isfinite(scaled.score(X * factor))


def test_data_spanning_more_than_the_float64_range(sines):
    """max - min overflows (values of order +-1e308): samples stay finite and in range."""
    X = np.concatenate([sines[:32], -sines[:32]]) * 1.7e308
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        gen = TimeBridgeGenerator(**TINY, random_state=0).fit(X)
        S = gen.sample(5, random_state=0)
        missing = X[:2].copy()
        missing[:, 3:6] = np.nan
        filled = gen.impute(missing, random_state=0)
    assert np.isfinite(S).all() and np.abs(S).max() <= 1.7e308
    assert (S / 1.7e308).std() > 0.1  # not collapsed onto one value
    assert np.isfinite(filled).all() and np.isfinite(gen.score(X))
    np.testing.assert_array_equal(filled[:, :3], X[:2, :3])


@pytest.mark.parametrize("L", [24, 25, 7, 4])
def test_seasonal_block_is_the_inverse_dft_of_its_top_k_frequencies(L):
    """Diffusion-TS' seasonal term: sum over the top-k non-constant frequencies f of
    2 / L |X_f| cos(2 pi f t / L + angle X_f), k = floor(log L) (analytic, by hand)."""
    from sklpriv.generative._net import _Seasonal

    h = torch.randn(3, L, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    spec = np.fft.rfft(h.numpy(), axis=1)
    n_freq = spec.shape[1] - 1 - (L % 2 == 0)
    k = min(max(int(np.log(L)), 1), n_freq)
    expected = np.zeros(h.shape)
    t = np.arange(L)
    for b in range(3):
        for d in range(4):
            coef = spec[b, 1 : 1 + n_freq, d]
            for f in np.argsort(-np.abs(coef))[:k] + 1:
                z = spec[b, f, d]
                expected[b, :, d] += 2 / L * np.abs(z) * np.cos(2 * np.pi * f * t / L + np.angle(z))
    np.testing.assert_allclose(_Seasonal()(h).numpy(), expected, atol=1e-12)
