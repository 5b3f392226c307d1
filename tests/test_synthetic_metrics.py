import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.decomposition import PCA
from sklearn.tree import DecisionTreeClassifier

from sklpriv.metrics import classification_accuracy_score, fairness_report, frechet_distance

# ----------------------------------------------------------------------------- frechet


def test_fd_identical_sets_is_zero():
    X = np.random.RandomState(0).normal(size=(300, 8))
    assert frechet_distance(X, X) == pytest.approx(0.0, abs=1e-8)
    assert frechet_distance(X, X.copy()) >= 0.0


def test_fd_more_features_than_samples_is_zero_for_identical_sets():
    X = np.random.RandomState(0).normal(size=(10, 30))  # singular covariance
    assert frechet_distance(X, X) == pytest.approx(0.0, abs=1e-6)


def _exact_gaussian(mean, var, n, seed):
    """n samples whose empirical mean and (unbiased) covariance are exactly mean, diag(var)."""
    Z = np.random.RandomState(seed).normal(size=(n, len(mean)))
    Z -= Z.mean(0)
    # whiten to identity sample covariance, then scale
    L = np.linalg.cholesky(np.cov(Z, rowvar=False))
    Z = Z @ np.linalg.inv(L).T
    return mean + Z * np.sqrt(var)


def test_fd_matches_closed_form_on_exact_moments():
    mu_a, var_a = np.array([0.0, 1.0, -2.0]), np.array([1.0, 4.0, 0.25])
    mu_b, var_b = np.array([1.0, 1.0, 0.0]), np.array([9.0, 1.0, 0.25])
    a = _exact_gaussian(mu_a, var_a, 500, 0)
    b = _exact_gaussian(mu_b, var_b, 700, 1)
    expected = ((mu_a - mu_b) ** 2).sum() + ((np.sqrt(var_a) - np.sqrt(var_b)) ** 2).sum()
    assert expected == pytest.approx(10.0)  # 5 + (4 + 1 + 0)
    assert frechet_distance(a, b) == pytest.approx(expected, abs=1e-8)
    assert frechet_distance(b, a) == pytest.approx(expected, abs=1e-8)


def test_fd_matches_closed_form_with_many_samples():
    rng = np.random.RandomState(0)
    mu_a, var_a = np.array([0.0, 0.5]), np.array([1.0, 2.0])
    mu_b, var_b = np.array([0.3, 0.0]), np.array([0.5, 2.0])
    n = 200_000
    a = mu_a + rng.normal(size=(n, 2)) * np.sqrt(var_a)
    b = mu_b + rng.normal(size=(n, 2)) * np.sqrt(var_b)
    expected = ((mu_a - mu_b) ** 2).sum() + ((np.sqrt(var_a) - np.sqrt(var_b)) ** 2).sum()
    assert frechet_distance(a, b) == pytest.approx(expected, abs=1e-2)


def test_fd_flattens_trailing_axes():
    X = np.random.RandomState(0).normal(size=(100, 4, 3))
    Y = X + 1.0
    assert frechet_distance(X, Y) == pytest.approx(12.0)
    assert frechet_distance(X, Y) == pytest.approx(frechet_distance(X.reshape(100, 12), Y))


def test_fd_features_callable_and_transformer():
    rng = np.random.RandomState(0)
    real = rng.normal(size=(400, 5))
    fake = real + np.array([2.0, 0, 0, 0, 0])
    # a callable keeping the first feature only: the whole shift is seen
    assert frechet_distance(real, fake, features=lambda X: X[:, :1]) == pytest.approx(4.0)
    # ... and one dropping it sees none
    assert frechet_distance(real, fake, features=lambda X: X[:, 1:]) == pytest.approx(0, abs=1e-8)
    # a callable may also return 1-D features, one per sample
    assert frechet_distance(real, fake, features=lambda X: X[:, 0]) == pytest.approx(4.0)

    pca = PCA(n_components=3).fit(real)
    via_transformer = frechet_distance(real, fake, features=pca)
    assert via_transformer == pytest.approx(
        frechet_distance(pca.transform(real), pca.transform(fake))
    )
    assert via_transformer == pytest.approx(frechet_distance(real, fake, features=pca.transform))


def test_fd_features_may_change_the_input_shape():
    # raw inputs of different widths are fine when the features agree in dimension
    rng = np.random.RandomState(0)
    real, fake = rng.normal(size=(50, 4)), rng.normal(size=(60, 7))
    d = frechet_distance(real, fake, features=lambda X: X[:, :2])
    assert d >= 0


@pytest.mark.parametrize(
    "real, fake, kwargs, match",
    [
        (np.zeros((1, 3)), np.zeros((5, 3)), {}, "real must have at least 2"),
        (np.zeros((5, 3)), np.zeros((1, 3)), {}, "fake must have at least 2"),
        (np.zeros((5, 3)), np.zeros((5, 4)), {}, "same number of values"),
        (np.full((5, 3), np.nan), np.zeros((5, 3)), {}, "real contains NaN"),
        (np.zeros((5, 3)), np.full((5, 3), np.inf), {}, "fake contains NaN or infinity"),
        (np.zeros((5, 3)), [["a", "b", "c"]] * 5, {}, "fake must be numeric"),
        (3.0, np.zeros((5, 3)), {}, "real must be an array"),
        (np.zeros((5, 3)), np.zeros((5, 3)), {"features": 3}, "features must be None"),
        (
            np.zeros((5, 3)),
            np.zeros((5, 3)),
            {"features": lambda X: X[:2]},
            r"features\(real\) must have one row per sample",
        ),
        (
            np.zeros((5, 3)),
            np.ones((5, 3)),
            {"features": lambda X: np.log(X)},
            r"features\(real\) contains NaN",
        ),
        (
            np.zeros((5, 3)),
            np.zeros((6, 3)),
            {"features": lambda X: X[:, : len(X) - 3]},
            "same number of features",
        ),
    ],
)
def test_fd_bad_input(real, fake, kwargs, match):
    with np.errstate(divide="ignore"), pytest.raises(ValueError, match=match):
        frechet_distance(real, fake, **kwargs)


# ------------------------------------------------------------------------------ CAS


@pytest.fixture(scope="module")
def easy():
    X, y = make_classification(
        2000,
        n_features=40,
        n_informative=2,
        n_redundant=0,
        n_clusters_per_class=1,
        class_sep=2.0,
        flip_y=0.0,
        random_state=0,
    )
    return X[:1000], y[:1000], X[1000:], y[1000:]


def test_cas_synthetic_equal_to_real_is_high(easy):
    X_syn, y_syn, X_real, y_real = easy
    assert classification_accuracy_score(X_syn, y_syn, X_real, y_real) > 0.9
    assert classification_accuracy_score(X_real, y_real, X_real, y_real) > 0.9


def test_cas_shuffled_labels_is_near_chance(easy):
    # the labels carry no signal: the fitted hyperplane points in a random direction, and
    # with 2 informative features out of 40 that is mostly orthogonal to the class split
    X_syn, y_syn, X_real, y_real = easy
    rng = np.random.RandomState(0)
    scores = [
        classification_accuracy_score(X_syn, rng.permutation(y_syn), X_real, y_real)
        for _ in range(10)
    ]
    assert abs(np.mean(scores) - 0.5) < 0.08
    assert max(scores) < 0.7


def test_cas_custom_estimator_is_cloned(easy):
    X_syn, y_syn, X_real, y_real = easy
    tree = DecisionTreeClassifier(max_depth=3, random_state=0)
    score = classification_accuracy_score(X_syn, y_syn, X_real, y_real, estimator=tree)
    assert 0.8 < score <= 1.0
    assert not hasattr(tree, "tree_")  # the estimator passed in stays unfitted


def test_cas_string_labels(easy):
    X_syn, y_syn, X_real, y_real = easy
    names = np.array(["no", "yes"])
    score = classification_accuracy_score(X_syn, names[y_syn], X_real, names[y_real])
    assert score == classification_accuracy_score(X_syn, y_syn, X_real, y_real)


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.zeros((4, 2)), [0, 0, 0, 0], np.zeros((2, 2)), [0, 1]), "at least 2 classes"),
        ((np.zeros((4, 2)), [0, 1, 0], np.zeros((2, 2)), [0, 1]), "X_synthetic and y_synthetic"),
        ((np.zeros((4, 2)), [0, 1, 0, 1], np.zeros((2, 2)), [0]), "X_real and y_real"),
        ((np.zeros((4, 2)), [0, 1, 0, 1], np.zeros((2, 3)), [0, 1]), "X_synthetic and X_real"),
        ((np.zeros((4, 2)), [0, 1, 0, 1], np.zeros((0, 2)), []), "X_real must have at least"),
        ((np.zeros((4, 2)), np.zeros((4, 2)), np.zeros((2, 2)), [0, 1]), "y_synthetic must be"),
    ],
)
def test_cas_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        classification_accuracy_score(*args)


# ------------------------------------------------------------------------- fairness


def test_fairness_report_hand_computed():
    # group a: 4 samples, predicted positive 3 -> selection rate 0.75
    # group b: 4 samples, predicted positive 1 -> selection rate 0.25
    y_true = np.array([1, 1, 0, 0, 1, 1, 0, 0])
    y_pred = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    group = np.array(["a"] * 4 + ["b"] * 4)
    report = fairness_report(y_true, y_pred, group)
    assert set(report) == {
        "demographic_parity_difference",
        "equalized_odds_difference",
        "accuracy",
        "by_group",
    }
    assert report["demographic_parity_difference"] == pytest.approx(0.5)
    # TPR: a 2/2, b 1/2 -> gap 0.5; FPR: a 1/2, b 0/2 -> gap 0.5
    assert report["equalized_odds_difference"] == pytest.approx(0.5)
    assert report["accuracy"] == pytest.approx(6 / 8)
    by_group = report["by_group"]
    assert isinstance(by_group, pd.DataFrame)
    assert list(by_group.columns) == ["accuracy", "selection_rate"]
    assert by_group.loc["a"].tolist() == pytest.approx([0.75, 0.75])
    assert by_group.loc["b"].tolist() == pytest.approx([0.75, 0.25])


def test_fairness_report_fair_predictions():
    y = np.array([1, 0, 1, 0])
    report = fairness_report(y, y, ["a", "a", "b", "b"])
    assert report["demographic_parity_difference"] == 0.0
    assert report["equalized_odds_difference"] == 0.0
    assert report["accuracy"] == 1.0


@pytest.mark.parametrize(
    "args, match",
    [
        (([1, 0, 1], [1, 0], ["a", "b", "a"]), "y_pred must have the same length"),
        (([1, 0, 1], [1, 0, 1], ["a", "b"]), "sensitive_features must have the same length"),
        (([], [], []), "y_true must have at least one"),
    ],
)
def test_fairness_report_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        fairness_report(*args)
