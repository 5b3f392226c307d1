import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.dummy import DummyRegressor

from sklpriv import BayesNAMClassifier, BayesNAMRegressor
from sklpriv.additive import ShapeFunctionDisplay

# two members keep the tests fast (the defaults: 10); test_default_bands_* fit the defaults
KW = dict(
    hidden_sizes=(32, 32), batch_size=128, lr=1e-2, max_epochs=40, n_estimators=2, random_state=0
)


def additive_data(n, seed=0, gap=None):
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(n, 3))
    if gap is not None:  # remove the training data of x0 in a range
        X = X[(X[:, 0] < gap[0]) | (X[:, 0] > gap[1])]
    y = X[:, 0] ** 2 + np.sin(3 * X[:, 1]) + 0.0 * X[:, 2] + 0.1 * rng.randn(len(X))
    return X, y


def band(shapes, feature):
    d = shapes[shapes.feature == feature]
    return d.x.to_numpy(), (d.upper - d.lower).to_numpy(), d


@pytest.fixture(scope="module")
def fitted():
    X, y = additive_data(1500)
    return BayesNAMRegressor(**KW).fit(X, y), X, y


def test_shape_functions_match_truth_up_to_centring(fitted):
    reg, X, y = fitted
    shapes = reg.shape_functions()
    truths = {
        "x0": (lambda t: t**2, X[:, 0] ** 2),
        "x1": (lambda t: np.sin(3 * t), np.sin(3 * X[:, 1])),
    }
    for name, (f, on_data) in truths.items():
        x, _, d = band(shapes, name)
        true = f(x) - on_data.mean()
        r2 = 1 - ((d["mean"] - true) ** 2).sum() / ((true - true.mean()) ** 2).sum()
        assert r2 > 0.9, (name, r2)
    _, _, d = band(shapes, "x2")
    assert ((d.lower <= 0) & (d.upper >= 0)).mean() > 0.9  # the null feature's band has 0
    assert reg.feature_importances_[2] < 0.1 * reg.feature_importances_[1]
    assert reg.score(X, y) > DummyRegressor().fit(X, y).score(X, y) + 0.8


def test_predict_with_std_and_contributions(fitted):
    reg, X, _ = fitted
    mean, std = reg.predict(X[:50], return_std=True)
    assert mean.shape == std.shape == (50,)
    assert np.all(std >= reg.noise_std_ - 1e-9)  # total sd includes the learned noise
    assert 0.05 < reg.noise_std_ < 0.5  # true noise sd: 0.1
    contrib, csd = reg.feature_contributions(X[:50], return_std=True)
    assert contrib.shape == csd.shape == (50, 3)
    # additive: prediction = intercept + sum of contributions (posterior means)
    resid = mean - contrib.sum(1)
    assert np.ptp(resid) < 1e-4
    np.testing.assert_array_equal(reg.predict(X[:50]), mean)  # deterministic predictions


def test_band_widens_where_training_data_are_missing():
    X, y = additive_data(1500, gap=(0.2, 0.7))
    # no early stopping: the posterior's sds need their steps to move from the init
    reg = BayesNAMRegressor(**{**KW, "early_stopping": False, "max_epochs": 70}).fit(X, y)
    x, width, _ = band(reg.shape_functions(), "x0")
    inside = (x > 0.3) & (x < 0.6)
    dense = (x > -0.8) & (x < 0.0)
    assert width[inside].mean() > 1.15 * width[dense].mean()


def test_bands_shrink_as_n_grows():
    widths = []
    for n in (100, 300, 1000):
        X, y = additive_data(n, seed=1)
        # the same number of optimiser steps (800) for every n, no early stopping:
        # otherwise small data sets stop before the posterior sds have moved
        epochs = int(np.ceil(800 / np.ceil(n / KW["batch_size"])))
        reg = BayesNAMRegressor(**{**KW, "early_stopping": False, "max_epochs": epochs})
        widths.append(band(reg.fit(X, y).shape_functions(), "x0")[1].mean())
    assert widths[0] > widths[1] > widths[2], widths


def test_a_noisy_duplicate_takes_little_credit_and_widens_the_bands():
    rng = np.random.RandomState(2)
    X, y = additive_data(1500, seed=2)
    X_dup = np.column_stack([X, X[:, 0] + 0.1 * rng.randn(len(X))])
    single = BayesNAMRegressor(**KW).fit(X, y)
    twin = BayesNAMRegressor(**KW).fit(X_dup, y)
    imp = twin.feature_importances_
    # the data tell the true feature from its noisy copy: it keeps most of the credit
    assert imp[0] > 0.6 * single.feature_importances_[0]
    assert 0 < imp[3] < imp[0]
    # each twin is less certain of its share than the single feature of the whole: its
    # band is wider relative to its contribution
    rel_single = band(single.shape_functions(), "x0")[1].mean() / single.feature_importances_[0]
    for j, name in ((0, "x0"), (3, "x3")):
        assert band(twin.shape_functions(), name)[1].mean() / imp[j] > rel_single


def test_same_seed_same_model():
    X, y = additive_data(300)
    a = BayesNAMRegressor(**{**KW, "max_epochs": 5}).fit(X, y)
    b = BayesNAMRegressor(**{**KW, "max_epochs": 5}).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_classifier_binary_multiclass_and_names():
    X, y = load_iris(return_X_y=True, as_frame=True)
    clf = BayesNAMClassifier(**{**KW, "max_epochs": 60}).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3) and np.allclose(proba.sum(1), 1)
    assert clf.score(X, y) > 0.9
    shapes = clf.shape_functions(n_points=20)
    assert set(shapes["class"]) == {0, 1, 2}
    assert set(shapes.feature) == set(X.columns)
    assert clf.feature_contributions(X).shape == (150, 4, 3)
    yb = np.where(y == 0, "setosa", "other")
    clf2 = BayesNAMClassifier(**{**KW, "max_epochs": 20}).fit(X, yb)
    assert set(clf2.predict(X)) <= {"setosa", "other"}
    assert clf2.feature_contributions(X).shape == (150, 4)
    report = clf2.explanation_report()
    assert list(report.feature)[0] in X.columns
    assert {"importance", "inconsistency", "sign_uncertain", "wide_band", "note"} <= set(
        report.columns
    )


def test_one_hot_columns_use_their_values():
    rng = np.random.RandomState(0)
    cat = rng.randint(0, 2, 400)
    X = pd.DataFrame({"num": rng.randn(400), "is_a": cat})
    y = X.num + 2 * cat + 0.1 * rng.randn(400)
    reg = BayesNAMRegressor(**{**KW, "max_epochs": 30}).fit(X, y)
    d = reg.shape_functions()
    assert sorted(d[d.feature == "is_a"].x) == [0.0, 1.0]
    m = d[d.feature == "is_a"].set_index("x")["mean"]
    assert m[1.0] - m[0.0] == pytest.approx(2.0, abs=0.4)
    # two-valued columns get one weight, not a subnetwork (also when all are such)
    assert reg.module_.linear_features == [1]
    kw = {**KW, "max_epochs": 30, "early_stopping": False}
    c = BayesNAMRegressor(**kw).fit(X[["is_a"]], y).feature_contributions(X[["is_a"]])
    # the last layer is refitted on the data: the effect, 2 (y also has the num part)
    assert c[cat == 1].mean() - c[cat == 0].mean() == pytest.approx(2.0, abs=0.3)
    mf = BayesNAMRegressor(**{**kw, "posterior": "mean-field", "n_estimators": 1})
    mf.fit(X[["is_a"]], y)
    c = mf.feature_contributions(X[["is_a"]])
    # the variational fit: feature dropout p shrinks a lone feature's effect by 1 - p
    assert c[cat == 1].mean() - c[cat == 0].mean() == pytest.approx(1.8, abs=0.25)


def test_quantile_encoding_keeps_units_and_skips_discrete_columns():
    rng = np.random.RandomState(0)
    num = rng.lognormal(size=600)  # skewed: dense near 0, a long right tail
    cat = rng.randint(0, 2, 600)
    X = pd.DataFrame({"num": num, "is_a": cat})
    y = np.log(num) + 2 * cat + 0.1 * rng.randn(600)
    reg = BayesNAMRegressor(**{**KW, "feature_encoding": "quantile", "max_epochs": 30})
    reg.fit(X, y)
    assert list(reg.quantile_features_) == [0]  # the 0/1 column is left as it is
    d = reg.shape_functions()
    x = d[d.feature == "num"].x.to_numpy()
    assert x.min() == pytest.approx(num.min()) and x.max() == pytest.approx(num.max())
    assert sorted(d[d.feature == "is_a"].x) == [0.0, 1.0]
    # the log shape is learned in the feature's own units (inside the central 90%)
    inner = d[(d.feature == "num") & d.x.between(*np.quantile(num, [0.05, 0.95]))]
    true = np.log(inner.x) - np.log(num).mean()
    assert np.corrcoef(inner["mean"], true)[0, 1] > 0.95
    assert reg.score(X, y) > 0.9
    with pytest.raises(ValueError, match="feature_encoding"):
        BayesNAMRegressor(feature_encoding="rank").fit(X, y)


def test_deterministic_nam_path():
    X, y = additive_data(600)
    kw = {**KW, "prior_sigma": None, "max_epochs": 30}
    nam = BayesNAMRegressor(**{**kw, "n_estimators": 1}).fit(X, y)
    _, std = nam.feature_contributions(X[:10], return_std=True)
    assert np.allclose(std, 0, atol=1e-12)  # one deterministic function: no band
    bagged = BayesNAMRegressor(**{**kw, "n_estimators": 3}).fit(X, y)
    _, std = bagged.feature_contributions(X[:10], return_std=True)
    assert (std > 0).all()  # the bootstrap members' spread
    assert nam.score(X, y) > 0.8
    exu = BayesNAMRegressor(**{**KW, "activation": "exu", "max_epochs": 30}).fit(X, y)
    assert exu.score(X, y) > 0.5


def test_rare_category_gets_a_sane_effect():
    # a 0/1 column that is 1 on 4 of 3000 rows: standardised by its sd, its rows' input
    # was ~27 and every Adam step on its weight moved their prediction a lot
    rng = np.random.RandomState(0)
    n = 3000
    x0 = rng.uniform(-1, 1, n)
    rare = np.zeros(n)
    rare[rng.choice(n, 4, replace=False)] = 1.0
    y = x0**2 + rare + 0.1 * rng.randn(n)
    X = np.column_stack([x0, rare])
    held = np.flatnonzero(rare)[0]
    train = np.setdiff1d(np.arange(n), [held])
    reg = BayesNAMRegressor(**KW).fit(X[train], y[train])
    assert abs(reg.predict(X[[held]])[0] - (x0[held] ** 2 + 1)) < 0.35
    assert 0.5 < reg.feature_contributions(X[[held]])[0, 1] < 1.5


def test_exu_units_start_where_a_heavy_tailed_feature_has_values():
    # capital-gain-like: 90% zeros, the rest a few large values whose effects alternate
    # (an exact-value pattern that only steep units placed at those values can fit)
    rng = np.random.RandomState(0)
    levels = np.array([50.0, 60.0, 70.0, 80.0])
    x = np.where(rng.rand(800) < 0.9, 0.0, levels[rng.randint(0, 4, 800)])
    effect = {0.0: 0.0, 50.0: 2.0, 60.0: -2.0, 70.0: 2.0, 80.0: -2.0}
    y = np.vectorize(effect.get)(x) + 0.1 * rng.randn(800)
    kw = {**KW, "activation": "exu", "prior_sigma": None, "feature_dropout": 0.0}
    reg = BayesNAMRegressor(**{**kw, "max_epochs": 60}).fit(x[:, None], y)
    # the first-layer centres started at the feature's (standardised) training values, so
    # many lie out in the tail (N(0, 1) centres would leave it nearly without units)
    z = (levels - reg.x_mean_[0]) / reg.x_scale_[0]
    centres = reg.module_.b_mu[0].detach().numpy().ravel()
    assert (centres > z.min() - 0.5).mean() > 0.3
    c = reg.feature_contributions(levels[:, None])[:, 0]
    assert np.corrcoef(c, [2.0, -2.0, 2.0, -2.0])[0, 1] > 0.9
    assert reg.score(x[:, None], y) > 0.9


def test_bad_input():
    X, y = additive_data(100)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BayesNAMRegressor(**KW).fit(Xn, y)
    with pytest.raises(ValueError, match="activation"):
        BayesNAMRegressor(activation="tanh").fit(X, y)
    reg = BayesNAMRegressor(**{**KW, "max_epochs": 2}).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        reg.predict(X[:, :2])


# a fixed number of epochs: early stopping is a discontinuous choice (a near tie of two
# validation losses can flip on a last-bit difference of the inputs)
FIXED = {**KW, "early_stopping": False, "max_epochs": 20}


@pytest.fixture(scope="module")
def fixed_budget():
    X, y = additive_data(1500)
    return BayesNAMRegressor(**FIXED).fit(X, y), X, y


@pytest.mark.parametrize(
    "target, factor, shift, tol",
    [
        ("X", 1e30, 0.0, 1e-4),  # was: an infinite float32 sd, a constant prediction
        ("X", 1e-30, 0.0, 1e-4),  # was: an sd underflowing to 0
        ("X", 1.0, 1e6, 1e-2),  # was: x in float32's 0.06 steps around 1e6
        ("y", 1e30, 0.0, 1e-4),  # was: NaN predictions
        ("y", 1e-30, 0.0, 1e-4),  # was: y's sd underflowing to 0, predictions 1e28 off
    ],
)
def test_badly_scaled_input_gives_the_same_model(fixed_budget, target, factor, shift, tol):
    reg, X, y = fixed_budget
    Xs, ys = (X * factor + shift, y) if target == "X" else (X, y * factor)
    unit = factor if target == "y" else 1.0
    other = BayesNAMRegressor(**FIXED).fit(Xs, ys)
    mean, std = other.predict(Xs, return_std=True)
    assert np.isfinite(mean).all() and np.isfinite(std).all()
    ref_mean, ref_std = reg.predict(X, return_std=True)
    np.testing.assert_allclose(mean / unit, ref_mean, rtol=0, atol=tol * y.std())
    np.testing.assert_allclose(std / unit, ref_std, rtol=tol)
    contrib = other.feature_contributions(Xs[:100]) / unit
    np.testing.assert_allclose(contrib, reg.feature_contributions(X[:100]), atol=tol * y.std())


def test_classifier_on_badly_scaled_X():
    X, y = load_iris(return_X_y=True)
    kw = {**KW, "max_epochs": 5}
    proba = BayesNAMClassifier(**kw).fit(X, y).predict_proba(X)
    big = BayesNAMClassifier(**kw).fit(X * 1e30, y)
    np.testing.assert_allclose(big.predict_proba(X * 1e30), proba, atol=1e-4)


def test_values_beyond_the_safe_range_raise(fitted):
    reg, X, y = fitted
    with pytest.raises(ValueError, match="y has values up to .* rescale y"):
        BayesNAMRegressor(**KW).fit(X, y * 1e305)
    with pytest.raises(ValueError, match="X has values up to .* rescale X"):
        BayesNAMRegressor(**KW).fit(X * 1e305, y)
    with pytest.raises(ValueError, match="too far outside the data .* feature x0"):
        reg.predict(np.column_stack([X[:, 0] * 1e200, X[:, 1:]]))


def test_predictions_do_not_depend_on_blocks_or_row_order(fitted, monkeypatch):
    from sklpriv.additive import _bayes_nam

    reg, X, _ = fitted
    mean, std = reg.predict(X, return_std=True)
    contrib, contrib_std = reg.feature_contributions(X, return_std=True)
    perm = np.random.RandomState(0).permutation(len(X))
    pm, ps = reg.predict(X[perm], return_std=True)
    np.testing.assert_array_equal(pm, mean[perm])  # exactly: each row on its own
    np.testing.assert_array_equal(ps, std[perm])
    parts = [reg.predict(X[a:b]) for a, b in [(0, 1), (1, 700), (700, len(X))]]
    np.testing.assert_array_equal(np.concatenate(parts), mean)
    monkeypatch.setattr(_bayes_nam, "_CHUNK_ELEMENTS", 100)  # blocks of 3 rows
    bm, bs = reg.predict(X, return_std=True)
    np.testing.assert_array_equal(bm, mean)
    np.testing.assert_array_equal(bs, std)
    bc, bcs = reg.feature_contributions(X, return_std=True)
    np.testing.assert_array_equal(bc, contrib)
    np.testing.assert_array_equal(bcs, contrib_std)


def test_prediction_memory_does_not_grow_with_draws_times_rows(fitted, monkeypatch):
    import tracemalloc

    from sklpriv.additive import _bayes_nam

    reg, _, _ = fitted
    monkeypatch.setattr(_bayes_nam, "_CHUNK_ELEMENTS", 2**16)  # blocks of 2,184 rows
    rng = np.random.RandomState(0)
    peak = {}
    for n in (20_000, 200_000):
        X = rng.uniform(-1, 1, size=(n, 3))
        tracemalloc.start()
        reg.predict(X, return_std=True)
        peak[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    # what grows is the output (about 25 bytes a row), not draws x rows (30 x 8 bytes a
    # row, the old code held two such arrays and more)
    assert peak[200_000] - peak[20_000] < 100 * 180_000, peak


def test_without_knots_the_networks_are_run(fitted):
    import copy

    reg, X, _ = fitted
    direct = copy.copy(reg)
    direct._pwl = None  # e.g. more knots than MAX_KNOTS, or a model pickled before them
    np.testing.assert_allclose(
        direct.predict(X[:300], return_std=True), reg.predict(X[:300], return_std=True), rtol=1e-10
    )
    np.testing.assert_allclose(
        direct.feature_contributions(X[:300]), reg.feature_contributions(X[:300]), atol=1e-10
    )
    cols = ["mean", "lower", "upper", "std"]
    a, b = direct.shape_functions(n_points=30)[cols], reg.shape_functions(n_points=30)[cols]
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), atol=1e-10)


def test_plots(fitted):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    reg, _, _ = fitted
    disp = reg.plot_shape_functions()
    assert isinstance(disp, ShapeFunctionDisplay) and len(disp.axes_) >= 3
    assert disp.axes_[0].get_title() == "x0"
    ax = reg.plot_importances()
    assert len(ax.patches) == 3
    plt.close("all")


def test_demo_section(tmp_path):
    pytest.importorskip("matplotlib")
    from sklpriv._demo import demo_bayesnam

    res = demo_bayesnam(tmp_path)
    row = res.rows[0]
    assert row["value"] < 1.1 * row["baseline value"]  # an additive model at least as good
    assert (tmp_path / res.figures[0]).stat().st_size > 10_000


def test_polyak_averaging_of_the_means_keeps_the_sds():
    X, y = additive_data(400)
    kw = {**KW, "max_epochs": 15, "early_stopping": False}
    last = BayesNAMRegressor(**kw).fit(X, y)
    avg = BayesNAMRegressor(**kw, ema_decay=0.9).fit(X, y)
    # the same iterates: the sds (never averaged) end equal, the means do not
    for a, b in zip(last.module_.w_rho, avg.module_.w_rho, strict=True):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    assert not np.allclose(last.module_.w_mu[0].detach(), avg.module_.w_mu[0].detach())
    assert avg.score(X, y) > 0.8
    with pytest.raises(ValueError, match="ema_decay"):
        BayesNAMRegressor(ema_decay=1.5).fit(X, y)


@pytest.mark.parametrize("activation", ["relu", "exu"])
@pytest.mark.parametrize("linear_features", [[1, 3], [0, 1, 2, 3]])
def test_kl_is_the_closed_form_gaussian_kl(activation, linear_features):
    import torch
    from torch.distributions import Normal, kl_divergence

    from sklpriv.additive._layers import EXU_LOG_SLOPE, LINEAR_GAIN, FeatureNets

    torch.manual_seed(0)
    net = FeatureNets(4, (8, 4), 2, activation, prior_sigma=0.7, linear_features=linear_features)
    with torch.no_grad():  # posterior sds away from their common start
        for rho in [*net.w_rho, *net.b_rho]:
            rho.uniform_(-3, 1)
    expected = 0.0
    for i, layer in enumerate(net._layers()):
        linear = i >= len(net.b_mu)  # the two-valued features' weights enter times the gain
        prior_sd = 0.7 / LINEAR_GAIN if linear else 0.7
        for k, (mu, rho) in enumerate(layer):
            # ExU log-slopes: prior centred at NAM's initialisation, the rest at 0
            exu_slopes = activation == "exu" and i == 0 and k == 0 and not linear
            centre = EXU_LOG_SLOPE if exu_slopes else 0.0
            q = Normal(mu, torch.nn.functional.softplus(rho))
            expected += kl_divergence(q, Normal(centre, prior_sd)).sum().item()
    assert net.kl().item() == pytest.approx(expected, rel=1e-5)
    assert FeatureNets(4, (8,), 1, activation, prior_sigma=None).kl().item() == 0.0


@pytest.mark.parametrize("activation", ["relu", "exu"])
@pytest.mark.parametrize(
    "hidden_sizes, linear_features, n_out", [((16, 8), [1], 1), ((8,), [], 3), ((), [0], 2)]
)
def test_piecewise_linear_form_is_exact(activation, hidden_sizes, linear_features, n_out):
    import torch

    from sklpriv.additive._layers import FeatureNets

    torch.manual_seed(0)
    net = FeatureNets(3, hidden_sizes, n_out, activation, linear_features=linear_features)
    with torch.no_grad():  # posterior sds away from their common start
        for rho in [*net.w_rho, *net.b_rho]:
            rho.uniform_(-3, -1)
    gen = torch.Generator().manual_seed(0)
    w = [tuple(t.double() for t in layer) for layer in net.sample_weights(5, generator=gen)]
    pwl = net.eval().piecewise_linear(w)
    x = torch.randn(2000, 3, dtype=torch.float64) * 3
    x[:5] *= 1e6  # far beyond the knots: on the outer rays
    with torch.no_grad():
        ref = net(x, w).numpy()
    got = np.stack([pwl(x[:, j].numpy(), j) for j in range(3)], axis=2)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())
    if hidden_sizes:
        assert net.piecewise_linear(w, max_knots=2) is None  # too many: no form


def test_piecewise_linear_form_keeps_its_precision_beside_a_far_knot():
    import torch

    from sklpriv.additive._layers import FeatureNets

    torch.manual_seed(0)
    net = FeatureNets(3, (16, 8), 1, "relu").eval()
    w = [tuple(t.double() for t in layer) for layer in net.sample_weights(5)]
    w[0][0][:, :, 0, 0], w[0][1][:, :, 0, 0] = 1e-12, 1.0  # a unit switching at -1e12
    pwl = net.piecewise_linear(w)
    assert pwl.knots.min() < -1e12
    x = torch.randn(2000, 3, dtype=torch.float64) * 3
    with torch.no_grad():
        ref = net(x, w).numpy()
    got = np.stack([pwl(x[:, j].numpy(), j) for j in range(3)], axis=2)
    # anchored at the far knot, the segment's inputs lost 1e-5 of their precision
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12 * np.abs(ref).max())


# ---- the bands: coverage of a known truth, the last-layer posterior ---------------------
TRUTH = {"x0": lambda t: t**2, "x1": lambda t: np.sin(3 * t), "x2": lambda t: 0 * t}


def synthetic_benchmark(seed):
    """The data of benchmarks/bench_bayesnam_posterior.py (n 1000, noise sd 0.3)."""
    rng = np.random.RandomState(seed)
    X = rng.uniform(-1, 1, size=(1000, 3))
    return X, X[:, 0] ** 2 + np.sin(3 * X[:, 1]) + 0.3 * rng.randn(1000)


def true_coverage(reg, shapes):
    """Share of the grid points where the band contains the true centred shape."""
    inside = []
    for name, f in TRUTH.items():
        d = shapes[shapes.feature == name]
        truth = f(d.x.to_numpy()) - f(reg.X_reference_[:, int(name[1])]).mean()
        inside.append((d.lower <= truth) & (truth <= d.upper))
    return float(np.mean(np.concatenate(inside)))


@pytest.fixture(scope="module")
def default_fits():
    return [BayesNAMRegressor(random_state=s).fit(*synthetic_benchmark(s)) for s in range(2)]


def test_default_bands_cover_the_true_shapes(default_fits):
    """The defaults' 95% bands contain the true shape at 90-99% of the grid (seeds 0 and
    1, the benchmark's grid of 50 points per feature; the mean-field posterior of one
    network: about 70%).
    """
    cover = [true_coverage(r, r.shape_functions(n_points=50)) for r in default_fits]
    assert 0.9 <= np.mean(cover) <= 0.99, cover


def test_a_feature_without_effect_has_a_band_around_zero(default_fits):
    """x2 has no effect: its band contains zero on (almost) all of the data (seeds 0 and
    1: 88% and 100% of the rows), and the report calls it negligible."""
    inside = []
    for reg in default_fits:
        mean, std = reg.feature_contributions(reg.X_reference_, return_std=True)
        inside.append(np.mean(np.abs(mean[:, 2]) <= 1.96 * std[:, 2]))
        d = reg.shape_functions(n_points=50)
        assert (d[d.feature == "x2"].upper - d[d.feature == "x2"].lower).mean() < 0.2
        report = reg.explanation_report().set_index("feature")
        assert report.loc["x2", "note"] == "negligible effect"
        assert not report.loc[["x0", "x1"], ["sign_uncertain", "wide_band"]].to_numpy().any()
    assert min(inside) >= 0.85 and np.mean(inside) >= 0.9, inside


def test_last_layer_posterior_is_sklearns_bayesian_ridge():
    """The regressor's last-layer posterior: evidence-maximising Bayesian linear
    regression, as sklearn's BayesianRidge computes it (non-informative hyperpriors).
    """
    from sklearn.linear_model import BayesianRidge

    from sklpriv.additive._posterior import gaussian_posterior

    rng = np.random.RandomState(0)
    F = rng.randn(200, 6)
    y = 4 + F @ np.array([1.0, -2.0, 0.0, 0.5, 0.0, 0.1]) + 0.3 * rng.randn(200)
    theta, root, noise = gaussian_posterior(np.column_stack([np.ones(200), F]), y)
    zero = dict(alpha_1=0.0, alpha_2=0.0, lambda_1=0.0, lambda_2=0.0)
    br = BayesianRidge(tol=1e-12, max_iter=1000, **zero).fit(F, y)
    np.testing.assert_allclose(theta[0, 1:], br.coef_, rtol=1e-5, atol=1e-8)
    assert theta[0, 0] == pytest.approx(br.intercept_, rel=1e-6)
    assert noise == pytest.approx(1 / np.sqrt(br.alpha_), rel=1e-5)
    cov = root[0] @ root[0].T
    np.testing.assert_allclose(cov[1:, 1:], br.sigma_, rtol=1e-4, atol=1e-10)
    # the intercept's variance: the noise's over n plus the slopes' through the means
    m = F.mean(0)
    assert cov[0, 0] == pytest.approx(noise**2 / 200 + m @ br.sigma_ @ m, rel=1e-4)


def test_laplace_posterior_is_the_inverse_hessian_at_the_evidence_optimum():
    import torch

    from sklpriv.additive._posterior import laplace_posterior

    rng = np.random.RandomState(0)
    Phi = np.column_stack([np.ones(300), rng.randn(300, 4)])
    theta = np.array([[0.3, 1.0, -1.0, 0.5, 0.0]])
    y = rng.rand(300) < 1 / (1 + np.exp(-Phi @ theta[0]))
    proba = 1 / (1 + np.exp(-Phi @ theta.T))
    root, alpha = laplace_posterior(Phi, theta, proba)

    def neg_log_posterior(t):
        eta = torch.as_tensor(Phi) @ t
        nll = torch.nn.functional.binary_cross_entropy_with_logits(
            eta, torch.as_tensor(y, dtype=torch.float64), reduction="sum"
        )
        return nll + 0.5 * alpha[0] * (t[1:] ** 2).sum() + 0.5 * 1e-8 * t[0] ** 2

    H = torch.autograd.functional.hessian(neg_log_posterior, torch.as_tensor(theta[0]))
    cov = root[0] @ root[0].T
    np.testing.assert_allclose(cov, np.linalg.inv(H.numpy()), rtol=1e-6, atol=1e-9)
    # MacKay's fixed point: alpha = gamma / |w|^2, gamma = P - 1 - alpha tr(cov_w)
    gamma = 4 - alpha[0] * np.trace(cov[1:, 1:])
    assert alpha[0] == pytest.approx(gamma / (theta[0, 1:] @ theta[0, 1:]), rel=1e-4)


def test_the_members_and_the_mean_field_option():
    X, y = additive_data(400)
    kw = {**KW, "max_epochs": 20}
    reg = BayesNAMRegressor(**{**kw, "n_estimators": 3, "n_posterior_samples": 10}).fit(X, y)
    assert len(reg.members_) == 3 and reg.module_ is reg.members_[0].module
    assert {r["member"] for r in reg.history_} == {0, 1, 2}
    assert reg._n_draws() == 12  # 10 rounded up to a multiple of 3: equal shares
    assert reg.feature_importance_draws_.shape == (12, 3)
    assert 0.08 < reg.noise_std_ < 0.25  # the truth: 0.1 (a 20-epoch fit underfits a little)
    mf = BayesNAMRegressor(**{**kw, "posterior": "mean-field", "n_estimators": 1}).fit(X, y)
    assert mf.members_[0].root is None and mf.module_.bayesian
    assert not reg.module_.bayesian  # last-layer: the networks train at their means
    with pytest.raises(ValueError, match="posterior"):
        BayesNAMRegressor(posterior="laplace").fit(X, y)
