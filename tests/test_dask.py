"""Every estimator family inside a search on a dask.distributed cluster, unchanged.

A LocalCluster of 2 worker processes with 1 thread each, on the loopback address; each
search runs once sequentially in this process (torch on one thread, see conftest.py) and
once under ``joblib.parallel_backend("dask")`` (sktime: ``backend="dask"``), and the
cross-validation scores must be identical: fixed seeds, the same thread count.
"""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")

from joblib import parallel_backend  # noqa: E402
from sklearn.frozen import FrozenEstimator  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _both(make_search, *data):
    """cv_results_ scores of the same search, sequential and on the cluster."""
    sequential = make_search().fit(*data)
    with parallel_backend("dask"):
        on_dask = make_search().fit(*data)
    return sequential.cv_results_, on_dask.cv_results_


def _assert_same(a, b):
    np.testing.assert_array_equal(a["mean_test_score"], b["mean_test_score"])
    assert [dict(p) for p in a["params"]] == [dict(p) for p in b["params"]]


def test_workers_keep_to_their_thread_budget(client):
    """A worker's torch and BLAS use its one thread: no oversubscription."""

    def threads():
        import torch
        from threadpoolctl import threadpool_info

        return torch.get_num_threads(), {p["num_threads"] for p in threadpool_info()}

    for torch_threads, pools in client.run(threads).values():
        assert torch_threads == 1 and pools <= {1}


def test_dp_estimator_search(client):
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import minmax_scale

    from sklpriv import DPSATClassifier

    X, y = load_breast_cancer(return_X_y=True)
    X = minmax_scale(X)

    def search():
        est = DPSATClassifier(hidden_layer_sizes=(8,), max_epochs=2, classes=[0, 1], random_state=0)
        return GridSearchCV(est, {"rho": [0.0, 0.05]}, cv=2)

    _assert_same(*_both(search, X, y))


def test_additive_model_search(client):
    from sklearn.datasets import load_diabetes

    from sklpriv import BayesNAMRegressor

    X, y = load_diabetes(return_X_y=True)

    def search():
        est = BayesNAMRegressor(hidden_sizes=(8,), max_epochs=5, n_estimators=2, random_state=0)
        return GridSearchCV(est, {"lr": [3e-3, 1e-2]}, cv=2)

    _assert_same(*_both(search, X, y))


def test_forecaster_search_with_sktimes_dask_backend(client):
    from sktime.datasets import load_airline
    from sktime.forecasting.model_selection import ForecastingGridSearchCV
    from sktime.split import ExpandingWindowSplitter

    from sklpriv import CATSForecaster

    y = load_airline()
    cv = ExpandingWindowSplitter(fh=[1, 2, 3], initial_window=96, step_length=24)
    tiny = dict(seq_len=12, patch_len=4, d_model=8, n_heads=2, d_ff=8, max_epochs=2)

    def search(backend):
        est = CATSForecaster(**tiny, random_state=0)
        return ForecastingGridSearchCV(est, cv, {"lr": [1e-3, 1e-2]}, backend=backend)

    sequential = search(None).fit(y, fh=[1, 2, 3]).cv_results_
    on_dask = search("dask").fit(y, fh=[1, 2, 3]).cv_results_
    score = [c for c in sequential.columns if c.startswith("mean_test")]
    np.testing.assert_array_equal(sequential[score].to_numpy(), on_dask[score].to_numpy())


def test_generator_search(client):
    from sklearn.datasets import load_iris

    from sklpriv.generative import DiffusionGenerator

    X = load_iris(return_X_y=True)[0]

    def search():
        est = DiffusionGenerator(hidden=(16,), max_epochs=3, sampling_steps=4, random_state=0)
        return GridSearchCV(est, {"lr": [1e-3, 3e-3]}, cv=2)

    _assert_same(*_both(search, X))


def test_concept_eraser_search_through_a_frozen_generator(client):
    from sklpriv.datasets import make_digit_scenes
    from sklpriv.generative import ConceptEraser, DiffusionGenerator

    X, concepts = make_digit_scenes(300, co_occurrence={3: {7: 1.0}}, random_state=0)
    rows = X.reshape(len(X), -1)
    gen = DiffusionGenerator(denoiser="mlp", hidden=(32,), max_epochs=2, random_state=0)
    gen.fit(rows, concepts)
    has3 = (concepts["digit_3"] == 1).to_numpy()

    def search():
        eraser = ConceptEraser(
            FrozenEstimator(gen),
            concept="digit_3",
            method="esd",
            max_steps=3,
            batch_size=8,
            random_state=0,
        )
        return GridSearchCV(eraser, {"negative_guidance": [0.5, 1.0]}, cv=2)

    _assert_same(*_both(search, rows[has3], concepts[has3]))
