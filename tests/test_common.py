"""Every public estimator through scikit-learn's or sktime's own conformance checks.

Expected failures are listed in ONE place, ``EXPECTED_FAILED_CHECKS``, each with a reason.
Fast settings for the checks live in ``CHECK_PARAMS`` (tiny epochs), one entry per class.
"""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklpriv
from sklpriv.utils import all_estimators

# tiny subnetworks, few draws: the checks test the API, not the fit
_BAYESNAM_FAST = {
    "hidden_sizes": (8,),
    "max_epochs": 30,
    "n_posterior_samples": 5,
    "n_estimators": 2,
    "batch_size": 32,
    "lr": 0.05,
    "random_state": 0,
}

# class name -> constructor kwargs that keep the checks fast on 2 CPU cores
CHECK_PARAMS: dict[str, dict] = {
    # no DP noise: the checks test the API (clustering quality on tiny blobs, invariances),
    # and bounds given so no PrivacyLeakWarning is raised on every check
    "DPMorseClustering": {"epsilon": np.inf, "bounds": (-4.0, 4.0), "random_state": 0},
    # a fixed noise multiplier skips the calibration search; epsilon_ is still reported
    "DPSATClassifier": {
        "noise_multiplier": 0.5,
        "max_epochs": 20,
        "batch_size": 32,
        "lr": 0.1,
        "random_state": 0,
    },
    "BayesNAMRegressor": _BAYESNAM_FAST,
    # a small net, a 2-step attack; the checks' data do not lie in [0, 1]: no bounds
    "AdversarialClassifier": {
        "hidden_layer_sizes": (16,),
        "attack_steps": 2,
        "n_bridges": 2,
        "max_epochs": 20,
        "lr": 1e-2,
        "batch_size": 32,
        "bounds": None,
        "random_state": 0,
    },
    "BayesNAMClassifier": _BAYESNAM_FAST,
    # a tiny private denoiser, no synthetic stage (dead leaves need square images, the
    # checks' rows rarely are); public bounds that hold the checks' data
    "DPDiffusionGenerator": {
        "hidden": (8,),
        "emb_dim": 8,
        "max_epochs": 1,
        "batch_size": 16,
        "synthetic_stages": (),
        "noise_multiplicity": 1,
        "sampling_steps": 3,
        "epsilon": 10.0,
        "bounds": (-10.0, 10.0),
        "random_state": 0,
    },
    # a tiny MLP denoiser, a few epochs and sampler steps: the 2-D path
    "DiffusionGenerator": {
        "hidden": (16,),
        "emb_dim": 8,
        "max_epochs": 2,
        "sampling_steps": 4,
        "random_state": 0,
    },
    # three small members; predictions average seeded draws, so they repeat
    "RandomizedNetworkClassifier": {
        "n_members": 3,
        "hidden_layer_sizes": (16,),
        "max_epochs": 20,
        "lr": 1e-2,
        "batch_size": 32,
        "random_state": 0,
    },
    # a tiny transformer, a few steps: the checks run on 2-D (univariate) windows
    "TimeBridgeGenerator": {
        "d_model": 8,
        "n_heads": 2,
        "n_decoder_layers": 1,
        "max_steps": 5,
        "batch_size": 16,
        "sampling_steps": 2,
        "random_state": 0,
    },
    "DPSATRegressor": {
        "noise_multiplier": 0.5,
        "max_epochs": 20,
        "batch_size": 32,
        "lr": 0.1,
        "random_state": 0,
    },
}

# class name -> {check name: reason}; the only place where a check may be skipped
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {}

# estimators that sklearn's checks cannot feed (they fit on random numeric arrays): the
# checks that do not fit (parameters, clone, repr) run on them here, each for a reason;
# their behaviour lives in their own test modules
API_ONLY: dict[str, str] = {
    "ConceptEraser": "a meta-estimator over a fitted generator whose conditions no random "
    "data matches (tests/test_erasure.py)",
    "MaskedDiffusionLM": "text in, text out: lists of prompt and response strings "
    "(sklearn skips string-input estimators; tests/test_mdlm.py)",
}
FORECASTERS = [cls for _, cls in all_estimators(type_filter="forecaster")]
SKLEARN_ESTIMATORS = [
    cls for _, cls in all_estimators() if cls not in FORECASTERS and cls.__name__ not in API_ONLY
]


def _instances():
    return [cls(**CHECK_PARAMS.get(cls.__name__, {})) for cls in SKLEARN_ESTIMATORS]


def _expected_failed(est):
    return EXPECTED_FAILED_CHECKS.get(type(est).__name__, {})


@parametrize_with_checks(_instances(), expected_failed_checks=_expected_failed)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("forecaster", FORECASTERS, ids=lambda c: c.__name__)
def test_sktime_compatible(forecaster):
    from sktime.utils.estimator_checks import check_estimator

    check_estimator(
        forecaster,
        raise_exceptions=True,
        tests_to_exclude=list(EXPECTED_FAILED_CHECKS.get(forecaster.__name__, {})),
    )


def _api_only_instance(name):
    from sklpriv.generative import ConceptEraser, DiffusionGenerator, MaskedDiffusionLM

    if name == "ConceptEraser":
        return ConceptEraser(DiffusionGenerator(), concept="a")
    return MaskedDiffusionLM()


@pytest.mark.parametrize("name", sorted(API_ONLY))
def test_api_only_estimators(name):
    from sklearn.base import clone
    from sklearn.utils.estimator_checks import (
        check_get_params_invariance,
        check_no_attributes_set_in_init,
        check_parameters_default_constructible,
        check_set_params,
    )

    est = _api_only_instance(name)
    for check in (
        check_no_attributes_set_in_init,
        check_get_params_invariance,
        check_set_params,
        check_parameters_default_constructible,
    ):
        check(name, est)
    assert clone(est).get_params().keys() == est.get_params().keys()
    assert repr(est).startswith(f"{name}(")
    assert API_ONLY[name].strip()


def test_no_estimator_left_out():
    """Every estimator exported by sklpriv is discovered and goes through a harness."""
    exported = {name for name in sklpriv.__all__ if isinstance(getattr(sklpriv, name), type)}
    discovered = {name for name, _ in all_estimators()}
    assert exported <= discovered, f"exported but not discovered: {exported - discovered}"
    harnessed = {c.__name__ for c in SKLEARN_ESTIMATORS + FORECASTERS} | set(API_ONLY)
    assert discovered == harnessed
    # every skip names a real estimator and gives a reason
    for name, checks in EXPECTED_FAILED_CHECKS.items():
        assert name in discovered, name
        assert all(reason.strip() for reason in checks.values()), name
    assert set(CHECK_PARAMS) <= discovered
