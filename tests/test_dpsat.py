import math

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from opacus.accountants import RDPAccountant
from sklearn.datasets import load_digits
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklpriv import DPSATClassifier, DPSATRegressor
from sklpriv.privacy import PrivacyLeakWarning

# the label set is public here: the tests of the warning pass classes=None
pytestmark = pytest.mark.filterwarnings("ignore::sklpriv.privacy.PrivacyLeakWarning")

# noise_multiplier given: no calibration search (tests of calibration pass None)
FAST = dict(max_epochs=2, batch_size=64, hidden_layer_sizes=(16,), noise_multiplier=1.0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # public pixel bounds
    return train_test_split(X, y, train_size=600, test_size=400, random_state=0)


def weights(est):
    return torch.cat([p.detach().flatten() for p in est.module_.parameters()])


def test_rho_zero_dpsat_is_dpsgd(digits):
    X, _, y, _ = digits
    a = DPSATClassifier(method="dpsat", rho=0.0, random_state=0, **FAST).fit(X, y)
    b = DPSATClassifier(method="dpsgd", random_state=0, **FAST).fit(X, y)
    assert torch.equal(weights(a), weights(b))
    c = DPSATClassifier(method="dpsat", rho=0.05, random_state=0, **FAST).fit(X, y)
    assert not torch.equal(weights(a), weights(c))


@pytest.mark.parametrize("method", ["dpsat", "dpsat_momentum", "dpsam"])
def test_lr_zero_leaves_weights_unchanged_with_physical_splits(digits, method):
    X, _, y, _ = digits
    kw = dict(method=method, lr=0.0, rho=0.5, random_state=0, **FAST)
    ref = DPSATClassifier(max_epochs=0 + 1, **{k: v for k, v in kw.items() if k != "max_epochs"})
    a = DPSATClassifier(max_physical_batch_size=7, **kw).fit(X, y)
    # initial weights: same seed, same architecture, no step at all
    from sklpriv.privacy import noise_seeds
    from sklpriv.utils import torch_rng

    with torch_rng(noise_seeds(0, 0, 3)[0]):
        init = torch.cat(
            [
                p.detach().flatten()
                for p in ref._build_module_for(X.shape[1], len(np.unique(y))).parameters()
            ]
        )
    assert torch.equal(weights(a), init)


def test_physical_splits_do_not_change_training(digits):
    """Perturb/restore per physical batch: a split logical batch trains like an unsplit
    one (the reference code leaks (k-1) e into the weights here)."""
    X, _, y, _ = digits
    kw = dict(method="dpsat", rho=0.5, random_state=0, **FAST)
    a = DPSATClassifier(**kw).fit(X, y)
    b = DPSATClassifier(max_physical_batch_size=9, **kw).fit(X, y)
    assert torch.allclose(weights(a), weights(b), atol=1e-4)


def test_epsilon_spent_matches_opacus_and_not_rho(digits):
    X, _, y, _ = digits
    eps = []
    for rho in (0.0, 0.03, 0.3):
        est = DPSATClassifier(
            **{**FAST, "noise_multiplier": None}, epsilon=2.0, rho=rho, random_state=0
        ).fit(X, y)
        eps.append(est.epsilon_)
        assert est.epsilon_ <= 2.0
        acc = RDPAccountant()
        acc.history = [(est.noise_multiplier_, est.sample_rate_, est.n_steps_)]
        assert est.epsilon_ == pytest.approx(acc.get_epsilon(delta=est.delta_), rel=1e-9)
        steps = FAST["max_epochs"] * math.ceil(len(X) / FAST["batch_size"])
        assert est.n_steps_ == steps
        assert est.sample_rate_ == 1 / math.ceil(len(X) / FAST["batch_size"])
    assert eps[0] == eps[1] == eps[2]
    assert est.delta_ == 1e-5  # a fixed public default, not derived from the data
    assert [h["epsilon"] for h in est.history_] == sorted(h["epsilon"] for h in est.history_)


@pytest.mark.parametrize(
    "n, epochs, eps, sigma",
    [(50_000, 30, 3.0, 1.8408), (60_000, 40, 2.0, 2.6367), (60_000, 40, 1.0, 4.8047)],
)
def test_noise_multiplier_reproduces_paper(n, epochs, eps, sigma):
    est = DPSATClassifier(
        epsilon=eps, delta=1e-5, batch_size=2048, max_epochs=epochs, accountant="rdp"
    )
    est._calibrate(n)
    assert est.noise_multiplier_ == pytest.approx(sigma, abs=1e-3)


def test_dpsam_pays_for_its_second_gradient(digits):
    X, _, y, _ = digits
    kw = {**FAST, "noise_multiplier": None, "epsilon": 3.0, "random_state": 0}
    sgd = DPSATClassifier(method="dpsgd", **kw).fit(X, y)
    sam = DPSATClassifier(method="dpsam", **kw).fit(X, y)
    assert sam.noise_multiplier_ == pytest.approx(math.sqrt(2) * sgd.noise_multiplier_)
    assert sam.epsilon_ <= 3.0
    # same sigma: DP-SAM spends more
    a = DPSATClassifier(method="dpsgd", random_state=0, **FAST).fit(X, y)
    b = DPSATClassifier(method="dpsam", random_state=0, **FAST).fit(X, y)
    c = DPSATClassifier(method="dpsat", random_state=0, **FAST).fit(X, y)
    assert b.epsilon_ > a.epsilon_ == c.epsilon_


@pytest.mark.parametrize("eps", [0.0, -1.0])
def test_nonpositive_epsilon_raises(digits, eps):
    X, _, y, _ = digits
    with pytest.raises(ValueError, match="epsilon"):
        DPSATClassifier(epsilon=eps, **FAST).fit(X, y)


def test_impossible_epsilon_raises_and_leaves_nothing(digits):
    X, _, y, _ = digits
    est = DPSATClassifier(epsilon=1e-7, delta=1e-9, batch_size=len(X), max_epochs=500)
    with pytest.raises(ValueError, match="cannot be met"):
        est.fit(X, y)
    assert not hasattr(est, "module_") and not hasattr(est, "noise_multiplier_")


def test_infinite_epsilon_no_noise(digits):
    X, _, y, _ = digits
    est = DPSATClassifier(**{**FAST, "noise_multiplier": None}, epsilon=np.inf, random_state=0).fit(
        X, y
    )
    assert est.noise_multiplier_ == 0.0 and est.epsilon_ == math.inf


def test_learns_digits_beats_dummy(digits):
    X_tr, X_te, y_tr, y_te = digits
    base = DummyClassifier().fit(X_tr, y_tr).score(X_te, y_te)
    clf = DPSATClassifier(epsilon=8.0, max_epochs=10, batch_size=64, random_state=0).fit(X_tr, y_tr)
    assert clf.score(X_te, y_te) > max(0.75, base + 0.5)
    proba = clf.predict_proba(X_te)
    assert proba.shape == (len(X_te), 10) and np.allclose(proba.sum(1), 1)


def test_regressor_learns_linear_target():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(3000, 4))
    y = X @ np.array([0.6, -0.4, 0.3, 0.0])
    reg = DPSATRegressor(epsilon=3.0, max_epochs=10, random_state=0).fit(X, y)
    assert reg.score(X, y) > 0.7
    Y = np.column_stack([y, -y])
    reg2 = DPSATRegressor(epsilon=np.inf, max_epochs=5, random_state=0).fit(X, Y)
    assert reg2.predict(X).shape == (3000, 2)


def test_partial_fit_continues_accountant(digits):
    X, _, y, _ = digits
    est = DPSATClassifier(random_state=0, **FAST)
    est.partial_fit(X, y, classes=np.arange(10))
    e1, n1 = est.epsilon_, est.n_steps_
    est.partial_fit(X, y)
    assert est.epsilon_ > e1 and est.n_steps_ == 2 * n1
    assert len(est.history_) == 2
    est.fit(X, y)  # starts afresh
    assert est.n_steps_ == FAST["max_epochs"] * n1 and len(est.history_) == FAST["max_epochs"]


def test_pandas_and_string_labels(digits):
    X, _, y, _ = digits
    df = pd.DataFrame(X[:, :10], columns=[f"px{i}" for i in range(10)])
    labels = np.where(y % 2 == 0, "even", "odd")
    est = DPSATClassifier(random_state=0, **FAST).fit(df, labels)
    assert list(est.feature_names_in_) == list(df.columns)
    assert set(est.predict(df)) <= {"even", "odd"}
    assert list(est.classes_) == ["even", "odd"]


def test_pipeline_gridsearch_and_joblib(digits, tmp_path):
    X, X_te, y, y_te = digits
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("clf", DPSATClassifier(**{**FAST, "noise_multiplier": None}, random_state=0)),
        ]
    )
    grid = GridSearchCV(pipe, {"clf__rho": [0.0, 0.05], "clf__epsilon": [1.0, 8.0]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["clf__epsilon"] == 8.0
    path = tmp_path / "model.joblib"
    joblib.dump(grid.best_estimator_, path)
    loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.predict(X_te), grid.best_estimator_.predict(X_te))


def test_same_seed_same_model(digits):
    X, _, y, _ = digits
    a = DPSATClassifier(random_state=3, **FAST).fit(X, y)
    b = DPSATClassifier(random_state=3, **FAST).fit(X, y)
    assert torch.equal(weights(a), weights(b))


def test_custom_module_class_and_instance(digits):
    X, _, y, _ = digits

    class Net(torch.nn.Module):
        def __init__(self, n_in, n_out):
            super().__init__()
            self.fc = torch.nn.Linear(n_in, n_out)

        def forward(self, x):
            return self.fc(x)

    est = DPSATClassifier(module=Net, random_state=0, **FAST).fit(X, y)
    assert isinstance(est.module_, Net)
    inst = Net(X.shape[1], 10)
    before = inst.fc.weight.detach().clone()
    DPSATClassifier(module=inst, random_state=0, **FAST).fit(X, y)
    assert torch.equal(inst.fc.weight, before)  # the user's instance is not trained
    inst.eval()  # a pre-trained model often comes in eval mode: its copy trains anyway
    tuned = DPSATClassifier(module=inst, random_state=0, **FAST).fit(X, y)
    assert not inst.training and not torch.equal(tuned.module_.fc.weight, before)
    bn = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 10)
    )
    with pytest.raises(ValueError, match="ModuleValidator.fix"):
        DPSATClassifier(module=bn, **FAST).fit(X, y)


def test_bad_input(digits):
    X, _, y, _ = digits
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DPSATClassifier(**FAST).fit(Xn, y)
    with pytest.raises(ValueError, match="method"):
        DPSATClassifier(method="sam", **FAST).fit(X, y)
    est = DPSATClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :5])


def test_verbose_progress(digits, capsys):
    X, _, y, _ = digits
    DPSATClassifier(verbose=1, random_state=0, **FAST).fit(X, y)
    err = capsys.readouterr().err
    assert "eps=" in err and "loss=" not in err  # the training loss is not private


def test_demo_section(tmp_path):
    pytest.importorskip("matplotlib")
    from sklpriv._demo import demo_dpsat

    res = demo_dpsat(tmp_path)
    row = res.rows[0]
    assert row["value"] > 0.8 and row["baseline value"] > 0.8
    assert (tmp_path / res.figures[0]).exists()


def test_delta_must_be_below_one_over_n(digits):
    X, _, y, _ = digits
    with pytest.raises(ValueError, match="release a record outright"):
        DPSATClassifier(delta=1 / len(X), **FAST).fit(X, y)
    with pytest.raises(ValueError, match="1/n_samples"):
        DPSATClassifier(delta=0.5, **FAST).fit(X[:10], y[:10])
    with pytest.raises(ValueError, match="delta"):
        DPSATClassifier(delta=None, **FAST).fit(X, y)


def test_gdp_accountant_is_refused(digits):
    X, _, y, _ = digits
    with pytest.raises(ValueError, match="accountant"):
        DPSATClassifier(accountant="gdp", **FAST).fit(X, y)


def test_history_holds_no_training_loss(digits):
    X, _, y, _ = digits
    est = DPSATClassifier(random_state=0, **FAST).fit(X, y)
    assert all(set(h) == {"epoch", "epsilon", "n_steps"} for h in est.history_)
    assert est.history_[-1]["n_steps"] == est.n_steps_


def test_classes_parameter_is_public_label_set(digits):
    X, _, y, _ = digits
    keep = y < 5  # a class absent from the private data still gets an output
    with pytest.warns(PrivacyLeakWarning, match="classes"):
        DPSATClassifier(**FAST).fit(X[keep], y[keep])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivacyLeakWarning)
        est = DPSATClassifier(classes=list(range(10)), **FAST).fit(X[keep], y[keep])
    assert list(est.classes_) == list(range(10))
    assert est.predict_proba(X).shape == (len(X), 10)
    with pytest.raises(ValueError, match="not in classes"):
        DPSATClassifier(classes=[0, 1, 2], **FAST).fit(X, y)
    # partial_fit's classes must agree with the parameter
    with pytest.raises(ValueError, match="differs from the classes parameter"):
        DPSATClassifier(classes=list(range(10)), **FAST).partial_fit(X, y, classes=[0, 1])
    est = DPSATClassifier(classes=list(range(10)), **FAST).partial_fit(X, y, classes=range(10))
    assert len(est.classes_) == 10


def test_partial_fit_calls_draw_different_noise(digits, monkeypatch):
    """An integer seed gives each partial_fit call its own noise and sampling seeds:
    repeated noise would cancel in the difference of two releases."""
    import sklpriv.neural_network._dpsat as mod

    seen = []
    real = mod.noise_torch_generator

    def recording(seed, device="cpu"):
        seen.append(seed)
        return real(seed, device)

    monkeypatch.setattr(mod, "noise_torch_generator", recording)
    X, _, y, _ = digits
    a = DPSATClassifier(random_state=0, classes=range(10), **FAST)
    a.partial_fit(X, y).partial_fit(X, y)
    first, second = seen[:2], seen[2:]
    assert len(seen) == 4 and not set(first) & set(second)
    seen.clear()
    DPSATClassifier(random_state=0, classes=range(10), **FAST).partial_fit(X, y)
    assert seen == first  # reproducible for research


def test_diverging_training_raises(digits):
    X, _, y, _ = digits
    with pytest.raises(ValueError, match="diverged"):
        DPSATRegressor(**FAST).fit(X * 1e30, y)
