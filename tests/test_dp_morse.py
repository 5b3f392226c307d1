import math
import pickle
import warnings

import numpy as np
import pytest
from opacus.accountants.analysis.rdp import get_privacy_spent
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs, make_moons
from sklearn.metrics import adjusted_rand_score

from sklpriv import DPMorseClustering
from sklpriv.cluster._morse import GaussianMixtureDensity, find_peaks, find_saddles, merge_peaks
from sklpriv.privacy import PrivacyLeakWarning, dp_to_zcdp, zcdp_to_dp

MOON_BOUNDS = ([-1.5, -1.0], [2.5, 1.5])


@pytest.fixture(scope="module")
def moons():
    return make_moons(n_samples=4000, noise=0.05, random_state=0)


# ---- Morse analysis on hand-built mixtures (PAPERS.md analytic checks) ----------------


def test_two_gaussians_one_saddle_at_midpoint():
    d = GaussianMixtureDensity([0.5, 0.5], [[-2, 0], [2, 0]], [np.eye(2)] * 2)
    peaks, comp_peak = find_peaks(d)
    assert len(peaks) == 2 and sorted(comp_peak) == [0, 1]
    saddles = find_saddles(d, peaks)
    assert len(saddles) == 1
    np.testing.assert_allclose(saddles[0].point, [0, 0], atol=1e-6)
    assert math.exp(saddles[0].log_density) == pytest.approx(math.exp(-2) / (2 * math.pi), 1e-6)
    # index 1: exactly one positive Hessian eigenvalue of log f (one negative of -f)
    assert np.sum(np.linalg.eigvalsh(d.hess(saddles[0].point)) > 0) == 1


def test_unimodal_pair_has_no_saddle():
    d = GaussianMixtureDensity([0.5, 0.5], [[-0.75, 0], [0.75, 0]], [np.eye(2)] * 2)
    peaks, comp_peak = find_peaks(d)
    assert len(peaks) == 1 and list(comp_peak) == [0, 0]  # both means flow to one peak
    np.testing.assert_allclose(peaks[0], [0, 0], atol=1e-6)
    assert find_saddles(d, peaks) == []


def test_four_gaussians_saddles_and_merge():
    means = [[-4, 0], [-1.5, 0], [1.5, 0], [4, 0]]
    d = GaussianMixtureDensity([0.25] * 4, means, [0.5 * np.eye(2)] * 4)
    peaks, comp_peak = find_peaks(d)
    assert len(peaks) == 4
    saddles = find_saddles(d, peaks)
    xs = sorted(round(float(s.point[0]), 4) for s in saddles)
    assert xs == pytest.approx([-2.75, 0.0, 2.75], abs=1e-4)
    dens = {round(float(s.point[0]), 2): math.exp(s.log_density) for s in saddles}
    assert dens[2.75] == pytest.approx(0.03336, abs=1e-5)
    assert dens[-2.75] == pytest.approx(0.03336, abs=1e-5)
    assert dens[0.0] == pytest.approx(0.01677, abs=1e-5)
    for method in ("level", "persistence"):
        labels, used = merge_peaks(saddles, 2, d.logpdf(peaks), method=method)
        assert list(labels[comp_peak]) == [0, 0, 1, 1]
        assert sum(used) == 2


def test_merge_closest_count_warns():
    d = GaussianMixtureDensity([0.5, 0.5], [[-2, 0], [2, 0]], [np.eye(2)] * 2)
    peaks, _ = find_peaks(d)
    with pytest.warns(UserWarning, match="closest achievable"):
        labels, _ = merge_peaks(find_saddles(d, peaks), 3, d.logpdf(peaks))
    assert len(set(labels)) == 2


def test_persistence_keeps_prominent_peaks_level_keeps_isolated_ones():
    # a big bimodal pair plus a faint, far-away bump: the level sweep gives the bump its
    # own cluster (lowest saddle), persistence merges the bump (tiny prominence) first
    means = [[-2, 0], [2, 0], [7, 0]]
    d = GaussianMixtureDensity([0.48, 0.48, 0.04], means, [np.eye(2)] * 3)
    peaks, comp_peak = find_peaks(d)
    saddles = find_saddles(d, peaks)
    level, _ = merge_peaks(saddles, 2, d.logpdf(peaks), method="level")
    pers, _ = merge_peaks(saddles, 2, d.logpdf(peaks), method="persistence")
    assert list(level[comp_peak]) == [0, 0, 1]
    assert list(pers[comp_peak]) == [0, 1, 1]


# ---- accounting -------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [0.5, 1.0, 3.0])
def test_epsilon_matches_zcdp_conversion(moons, eps):
    X, _ = moons
    est = DPMorseClustering(
        epsilon=eps, delta=1e-4, bounds=MOON_BOUNDS, accountant="zcdp", random_state=0
    ).fit(X)
    L = math.log(1e4)
    rho = eps + 2 * L - math.sqrt((eps + 2 * L) ** 2 - eps**2)  # the paper's closed form
    assert est.rho_ == pytest.approx(rho, rel=1e-12)
    assert est.epsilon_ == pytest.approx(rho + 2 * math.sqrt(rho * L), rel=1e-9)
    assert est.epsilon_ <= eps * (1 + 1e-9)
    # the RDP conversion (opacus) spends the same epsilon with a larger rho (less noise)
    est_rdp = DPMorseClustering(epsilon=eps, delta=1e-4, bounds=MOON_BOUNDS, random_state=0).fit(X)
    orders = np.linspace(1.01, 2000, 20000)
    eps_opacus, _ = get_privacy_spent(orders=orders, rdp=orders * est_rdp.rho_, delta=1e-4)
    assert est_rdp.epsilon_ <= eps
    assert est_rdp.epsilon_ == pytest.approx(eps_opacus, rel=1e-3)
    assert est_rdp.rho_ > est.rho_
    assert est_rdp.noise_scale_ < est.noise_scale_


def test_noise_scale_follows_sensitivity_and_budget(moons):
    X, _ = moons
    kw = dict(delta=1e-4, bounds=MOON_BOUNDS, accountant="zcdp", random_state=0, max_iter=5)
    a = DPMorseClustering(epsilon=0.05, **kw).fit(X)
    b = DPMorseClustering(epsilon=0.1, **kw).fit(X)
    # sigma = Delta / sqrt(2 rho / T), Delta^2 = 1 + r^2 + r^4 with r = clip_radius = 0.5
    assert a.noise_scale_ == pytest.approx(math.sqrt((1 + 0.25 + 0.0625) * 5 / (2 * a.rho_)))
    # small epsilon: rho ~ eps^2 / (4 ln(1/delta)), so sigma ~ 1/epsilon
    assert a.noise_scale_ / b.noise_scale_ == pytest.approx(2.0, rel=0.03)
    # the paper's raw statistics: Delta^2 = 1 + D + D(D+1)/2 for data in [-1, 1]^D
    c = DPMorseClustering(epsilon=0.1, clip_radius=None, **kw).fit(X)
    assert c.noise_scale_ == pytest.approx(math.sqrt((1 + 2 + 3) * 5 / (2 * c.rho_)))


def test_infinite_epsilon_adds_no_noise(moons):
    X, _ = moons
    est = DPMorseClustering(epsilon=np.inf, bounds=MOON_BOUNDS, random_state=0).fit(X)
    assert est.noise_scale_ == 0.0 and est.epsilon_ == np.inf
    # no noise: the released weights are exact counts of the last hard assignment
    assert np.all(
        est.subcluster_weights_ * len(X)
        == pytest.approx(np.round(est.subcluster_weights_ * len(X)), abs=1e-6)
    )


def test_accounting_helpers_round_trip():
    for method in ("rdp", "zcdp"):
        rho = dp_to_zcdp(2.0, 1e-5, method=method)
        assert zcdp_to_dp(rho, 1e-5, method=method) == pytest.approx(2.0, abs=1e-6)
        assert zcdp_to_dp(rho, 1e-5, method=method) <= 2.0
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        dp_to_zcdp(0.0, 1e-5)


# ---- estimator behaviour --------------------------------------------------------------


def test_learns_two_moons_better_than_kmeans(moons):
    X, y = moons
    km = adjusted_rand_score(y, KMeans(2, n_init=10, random_state=0).fit_predict(X))
    scores = [
        adjusted_rand_score(
            y,
            DPMorseClustering(epsilon=3.0, delta=1e-4, bounds=MOON_BOUNDS, random_state=s)
            .fit(X)
            .labels_,
        )
        for s in range(3)
    ]
    assert np.mean(scores) > max(0.6, km + 0.2), (scores, km)


def test_predict_is_inductive(moons):
    X, y = moons
    est = DPMorseClustering(epsilon=3.0, delta=1e-4, bounds=MOON_BOUNDS, random_state=0).fit(X)
    np.testing.assert_array_equal(est.predict(X), est.labels_)
    X_new, y_new = make_moons(n_samples=1000, noise=0.05, random_state=1)
    assert adjusted_rand_score(y_new, est.predict(X_new)) == pytest.approx(
        adjusted_rand_score(y, est.labels_), abs=0.1
    )
    # the sub-cluster map is what predict applies
    np.testing.assert_array_equal(
        est.subcluster_labels_[est.predict_subcluster(X_new)], est.predict(X_new)
    )


def test_same_seed_same_labels(moons):
    X, _ = moons
    kw = dict(epsilon=1.0, bounds=MOON_BOUNDS)
    a = DPMorseClustering(random_state=3, **kw).fit(X)
    b = DPMorseClustering(random_state=3, **kw).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.subcluster_means_, b.subcluster_means_)
    c = DPMorseClustering(random_state=4, **kw).fit(X)
    assert not np.array_equal(a.subcluster_means_, c.subcluster_means_)


def test_privacy_leak_warning_iff_bounds_missing(moons):
    X, _ = moons
    with pytest.warns(PrivacyLeakWarning, match="bounds"):
        DPMorseClustering(random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyLeakWarning)
        DPMorseClustering(bounds=MOON_BOUNDS, random_state=0).fit(X)


def test_fitted_attributes_in_data_units(moons):
    X, _ = moons
    est = DPMorseClustering(epsilon=np.inf, bounds=MOON_BOUNDS, random_state=0).fit(X)
    K = est.n_subclusters_
    assert est.subcluster_means_.shape == (K, 2)
    assert est.subcluster_covariances_.shape == (K, 2, 2)
    assert est.subcluster_weights_.sum() == pytest.approx(1.0)
    assert set(est.subcluster_labels_) == {0, 1}
    # means near the data (data units, not box units)
    assert np.all(est.subcluster_means_.min(0) > X.min(0) - 0.2)
    sad = est.saddles_
    n_s = len(sad["density"])
    assert sad["points"].shape == (n_s, 2) and sad["subclusters"].shape == (n_s, 2)
    assert sad["merged"].sum() == len(est.peaks_) - 2
    # reported saddle densities are densities of the model in data units
    np.testing.assert_allclose(np.exp(est.score_samples(sad["points"])), sad["density"], rtol=1e-8)


def test_kmeans_base_runs(moons):
    X, y = moons
    est = DPMorseClustering(base="kmeans", epsilon=3.0, bounds=MOON_BOUNDS, random_state=0).fit(X)
    cov = est.subcluster_covariances_[0]
    scale = (np.array(MOON_BOUNDS[1]) - np.array(MOON_BOUNDS[0])) / 2
    # one shared isotropic covariance in box units
    box = cov / np.outer(scale, scale)
    assert box[0, 1] == pytest.approx(0.0, abs=1e-12)
    assert box[0, 0] == pytest.approx(box[1, 1])
    for c in est.subcluster_covariances_:
        np.testing.assert_allclose(c, cov)
    assert adjusted_rand_score(y, est.labels_) > 0.2


def test_edge_cases():
    rng = np.random.RandomState(0)
    # 1-D data: two well separated bumps
    X1 = np.concatenate([rng.normal(-2, 0.3, 500), rng.normal(2, 0.3, 500)])[:, None]
    est = DPMorseClustering(epsilon=np.inf, bounds=(-4, 4), random_state=0).fit(X1)
    assert adjusted_rand_score(np.repeat([0, 1], 500), est.labels_) > 0.95
    # constant feature with data-derived bounds: no crash
    Xc = np.column_stack([X1[:, 0], np.ones(1000)])
    with pytest.warns(PrivacyLeakWarning):
        est = DPMorseClustering(epsilon=np.inf, random_state=0).fit(Xc)
    assert est.labels_.shape == (1000,)
    # more clusters than peaks: closest count, with a warning
    with pytest.warns(UserWarning, match="closest achievable"):
        est = DPMorseClustering(n_clusters=5, epsilon=np.inf, bounds=(-4, 4), random_state=0).fit(
            X1
        )
    assert len(set(est.labels_)) < 5
    # fewer samples than sub-clusters
    est = DPMorseClustering(n_clusters=1, epsilon=np.inf, bounds=(-4, 4), random_state=0).fit(
        X1[:5]
    )
    assert est.n_subclusters_ <= 5


def test_tiny_data_at_low_epsilon_warns():
    X = np.random.RandomState(0).uniform(size=(20, 2))
    with pytest.warns(UserWarning, match="too small for this epsilon"):
        est = DPMorseClustering(epsilon=0.1, bounds=(0, 1), random_state=0).fit(X)
    assert est.n_subclusters_ == 1


@pytest.mark.parametrize(
    "params, X, match",
    [
        ({}, np.array([[0.0, np.nan], [1.0, 2.0], [3, 4]]), "NaN"),
        ({}, np.array([[0.0, np.inf], [1.0, 2.0], [3, 4]]), "infinity"),
        ({"bounds": (1.0, 0.0)}, np.zeros((10, 2)), "lower < upper"),
        ({"bounds": ([0, 0, 0], [1, 1, 1])}, np.zeros((10, 2)), "bounds must be a pair"),
        ({"bounds": (0, np.inf)}, np.zeros((10, 2)), "finite"),
        ({"epsilon": 0.0}, np.zeros((10, 2)), "epsilon"),
        ({"epsilon": -1.0}, np.zeros((10, 2)), "epsilon"),
        ({"delta": 1.5}, np.zeros((10, 2)), "delta"),
        ({"base": "dbscan"}, np.zeros((10, 2)), "base"),
    ],
)
def test_bad_input_raises_clear_value_error(params, X, match):
    with pytest.raises(ValueError, match=match):
        DPMorseClustering(**{"bounds": (0, 5), **params}).fit(X)


def test_pickle_and_plot(moons, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, _ = moons
    est = DPMorseClustering(epsilon=3.0, bounds=MOON_BOUNDS, random_state=0).fit(X)
    est2 = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(est2.predict(X), est.labels_)
    ax = est.plot(X)
    assert len(ax.collections) > 0
    plt.close("all")
    # 3-D data: drawn on the first two principal axes; 1-D: a density curve
    X3, _ = make_blobs(300, n_features=3, centers=3, random_state=0)
    est3 = DPMorseClustering(n_clusters=3, epsilon=np.inf, bounds=(-15, 15), random_state=0).fit(X3)
    assert est3.plot(X3).get_xlabel() == "principal axis 1"
    est1 = DPMorseClustering(epsilon=np.inf, bounds=(-15, 15), random_state=0).fit(X3[:, :1])
    assert est1.plot(X3[:, :1]).get_ylabel() == "density"
    plt.close("all")


def test_demo_section(tmp_path):
    pytest.importorskip("matplotlib")
    from sklpriv._demo import demo_dp_morse

    res = demo_dp_morse(tmp_path)
    row = res.rows[0]
    assert row["value"] > row["baseline value"]  # beats non-private k-means on moons
    assert (tmp_path / res.figures[0]).stat().st_size > 10_000
