"""Thread-parallel fits (joblib's threading backend) give the same models as sequential
ones: torch's global generator is only used under ``sklpriv.utils.torch_rng``'s lock."""

import numpy as np
import pytest
from joblib import Parallel, delayed
from sklearn.datasets import load_diabetes
from sktime.datasets import load_airline

from sklpriv import BayesNAMRegressor, CATSForecaster, TimeBridgeGenerator


def _bayesnam(seed):
    X, y = load_diabetes(return_X_y=True)
    est = BayesNAMRegressor(hidden_sizes=(8,), max_epochs=15, random_state=seed)
    return est.fit(X, y).predict(X[:20])


def _cats(seed):
    est = CATSForecaster(
        seq_len=12, patch_len=4, d_model=8, n_heads=2, d_ff=8, max_epochs=3, random_state=seed
    )
    return est.fit(load_airline(), fh=[1, 2, 3]).predict().to_numpy()


def _timebridge(seed):
    X = np.sin(np.linspace(0, 6, 24))[None, :, None] * np.linspace(0.5, 1.5, 64)[:, None, None]
    est = TimeBridgeGenerator(
        d_model=8,
        n_heads=2,
        n_decoder_layers=1,
        max_steps=20,
        batch_size=16,
        sampling_steps=2,
        random_state=seed,
    )
    return est.fit(X).sample(4, random_state=0)


@pytest.mark.parametrize("fit", [_bayesnam, _cats, _timebridge], ids=lambda f: f.__name__)
def test_two_threads_reproduce_sequential_fits(fit):
    sequential = [fit(s) for s in (0, 1)]
    for _ in range(2):
        threaded = Parallel(n_jobs=2, backend="threading")(delayed(fit)(s) for s in (0, 1))
        for a, b in zip(sequential, threaded, strict=True):
            np.testing.assert_array_equal(a, b)
