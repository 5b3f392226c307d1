"""The bad-input matrix: every estimator, every bad input, through the public API.

Each case either raises a clear error (``ValueError``/``TypeError``, or a warning where
the input is legal but degenerate, whose message matches what it should name) or gives a
correct result (finite, in the data's units). Anything else is "unclear" (another
exception, or a message that does not say what is wrong) or "silent" (garbage returned
without a word). A new estimator is checked by adding one entry to ``TABULAR`` (or a
section of its own for another data shape).

``python tests/test_bad_input.py`` prints the matrix's summary (cases, clear errors,
correct results, unclear, silent).
"""

from __future__ import annotations

import copy
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from sklpriv import (
    AdversarialClassifier,
    BayesNAMClassifier,
    BayesNAMRegressor,
    CATSForecaster,
    ConceptEraser,
    DiffusionGenerator,
    DPDiffusionGenerator,
    DPMorseClustering,
    DPSATClassifier,
    DPSATRegressor,
    MaskedDiffusionLM,
    RandomizedNetworkClassifier,
    TimeBridgeGenerator,
)
from sklpriv.privacy import PrivacyLeakWarning

CLEAR_TYPES = (ValueError, TypeError, NotFittedError)


@dataclass
class Case:
    """One bad input: ``run()`` calls the public API; ``match`` must be in the error;
    ``check(out)`` says whether a returned result is correct (``None``: must raise)."""

    estimator: str
    name: str
    run: Callable[[], object]
    match: str
    check: Callable[[object], bool] | None = None
    warns: type[Warning] | None = None


def outcome(case: Case) -> tuple[str, str]:
    """('clear' | 'correct' | 'unclear' | 'silent', detail)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = case.run()
    except CLEAR_TYPES as exc:
        msg = str(exc)
        ok = re.search(case.match, msg, flags=re.IGNORECASE) is not None
        return ("clear" if ok else "unclear"), f"{type(exc).__name__}: {msg[:200]}"
    except Exception as exc:  # noqa: BLE001 - any other exception is an unclear error
        return "unclear", f"{type(exc).__name__}: {str(exc)[:200]}"
    if case.warns is not None:
        hits = [w for w in caught if issubclass(w.category, case.warns)]
        if any(re.search(case.match, str(w.message), re.IGNORECASE) for w in hits):
            return "clear", f"warning: {hits[0].message}"
        return "silent", "no warning"
    if case.check is not None and case.check(out):
        return "correct", "result is correct"
    return "silent", f"returned {type(out).__name__} without an error"


# ---- tabular estimators -----------------------------------------------------------------

_rng = np.random.RandomState(0)
X_TAB = _rng.uniform(-1, 1, size=(80, 3))
Y_REG = X_TAB @ np.array([1.0, -0.5, 0.25]) + 0.05 * _rng.normal(size=80)
Y_CLF = (X_TAB[:, 0] + X_TAB[:, 1] > 0).astype(int)

_DP = dict(noise_multiplier=1.0, max_epochs=2, batch_size=32, random_state=0)
_NAM = dict(
    hidden_sizes=(8,),
    max_epochs=20,
    n_posterior_samples=5,
    n_estimators=2,
    batch_size=32,
    random_state=0,
)

# name -> (factory, y or None, kind)
TABULAR = {
    "DPSATClassifier": (lambda: DPSATClassifier(classes=[0, 1], **_DP), Y_CLF, "classifier"),
    "DPSATRegressor": (lambda: DPSATRegressor(**_DP), Y_REG, "regressor"),
    "DPMorseClustering": (
        lambda: DPMorseClustering(epsilon=np.inf, bounds=(-1.0, 1.0), random_state=0),
        None,
        "cluster",
    ),
    "BayesNAMRegressor": (lambda: BayesNAMRegressor(**_NAM), Y_REG, "regressor"),
    "BayesNAMClassifier": (lambda: BayesNAMClassifier(**_NAM), Y_CLF, "classifier"),
    "AdversarialClassifier": (
        lambda: AdversarialClassifier(
            hidden_layer_sizes=(8,), attack_steps=2, max_epochs=3, bounds=None, random_state=0
        ),
        Y_CLF,
        "classifier",
    ),
    "RandomizedNetworkClassifier": (
        lambda: RandomizedNetworkClassifier(
            n_members=3, hidden_layer_sizes=(8,), max_epochs=3, random_state=0
        ),
        Y_CLF,
        "classifier",
    ),
}


def _fit(make, X, y):
    return make().fit(X, y) if y is not None else make().fit(X)


def _finite_output(est, X, kind):
    out = est.predict(X)
    if kind == "classifier":
        return bool(np.isin(out, est.classes_).all() and np.isfinite(est.predict_proba(X)).all())
    return bool(np.all(np.isfinite(np.asarray(out, dtype=float))))


def _with(X, i, j, value):
    X = X.astype(object) if isinstance(value, str) else X.copy()
    X[i, j] = value
    return X


def _scaled_x_case(name, make, y, kind):
    def run():
        est = _fit(make, X_TAB * 1e30, y)
        return est, X_TAB * 1e30

    def check(out):
        est, X = out
        return _finite_output(est, X, kind)

    return Case(name, "X * 1e30", run, r"scale|diverged|rescale", check)


def _scaled_y_case(name, make, y):
    def run():
        return make().fit(X_TAB, y * 1e30).predict(X_TAB)

    def check(pred):
        pred = np.asarray(pred, dtype=float)
        return bool(np.isfinite(pred).all() and np.abs(pred).max() < 1e3 * np.abs(y * 1e30).max())

    return Case(name, "y * 1e30", run, r"scale|diverged|rescale", check)


def _tabular_cases(name, make, y, kind):
    sup = y is not None
    cases = [
        Case(name, "NaN in X", lambda: _fit(make, _with(X_TAB, 0, 0, np.nan), y), "NaN"),
        Case(name, "inf in X", lambda: _fit(make, _with(X_TAB, 0, 0, np.inf), y), "infinity"),
        Case(name, "string in X", lambda: _fit(make, _with(X_TAB, 0, 0, "a"), y), "convert|str"),
        Case(name, "complex X", lambda: _fit(make, X_TAB + 1j, y), "complex"),
        Case(name, "empty X", lambda: _fit(make, X_TAB[:0], y[:0] if sup else None), "sample"),
        Case(name, "1-D X", lambda: _fit(make, X_TAB[:, 0], y), "2D"),
        Case(name, "3-D X", lambda: _fit(make, X_TAB[:, :, None], y), "dim"),
        Case(
            name,
            "predict before fit",
            lambda: make().predict(X_TAB),
            "not fitted",
        ),
        Case(
            name,
            "predict with other n_features",
            lambda: _fit(make, X_TAB, y).predict(X_TAB[:, :2]),
            "features",
        ),
        Case(
            name,
            "negative max_epochs/max_iter",
            lambda: _fit(lambda: _bad_param(make()), X_TAB, y),
            "max_epochs|max_iter",
        ),
        _scaled_x_case(name, make, y, kind),
    ]
    if sup:
        cases += [
            Case(name, "y of other length", lambda: _fit(make, X_TAB, y[:-1]), "inconsistent"),
            Case(name, "NaN in y", lambda: _fit(make, X_TAB, _nan_y(y)), "NaN"),
        ]
    if kind == "regressor":
        cases.append(_scaled_y_case(name, make, y))
    if name.startswith("DP"):
        cases.append(
            Case(
                name,
                "delta >= 1/n",
                lambda: _fit(lambda: make().set_params(delta=0.1), X_TAB, y),
                "1/n",
            )
        )
    return cases


def _bad_param(est):
    key = "max_epochs" if "max_epochs" in est.get_params() else "max_iter"
    return est.set_params(**{key: -1})


def _nan_y(y):
    y = y.astype(float)
    y[0] = np.nan
    return y


# ---- CATSForecaster ---------------------------------------------------------------------

_CATS = dict(
    seq_len=6, patch_len=3, d_model=8, n_heads=2, d_ff=8, n_layers=1, max_epochs=2, random_state=0
)
Y_SERIES = pd.Series(np.sin(np.arange(60) / 4.0) + 2.0)
FH = [1, 2, 3]


def _cats():
    return CATSForecaster(**_CATS)


def _gappy_series():
    idx = pd.date_range("2024-01-01", periods=80, freq="D").delete([10, 11, 40])
    return pd.Series(np.sin(np.arange(77) / 4.0), index=idx)


def _cats_update_columns():
    y = pd.DataFrame({"a": Y_SERIES, "b": Y_SERIES * 2})
    f = _cats().fit(y, fh=FH)
    return f.update(y.rename(columns={"b": "c"}), update_params=False).predict()


def _cats_scaled():
    return _cats().fit(Y_SERIES * 1e200, fh=FH).predict()


CATS_CASES = [
    Case("CATSForecaster", "3-D array y", lambda: _cats().fit(np.ones((4, 30, 2)), fh=FH), "3-D"),
    Case(
        "CATSForecaster",
        "datetime index with gaps",
        lambda: _cats().fit(_gappy_series(), fh=FH).predict(),
        "index|freq",
    ),
    Case("CATSForecaster", "update with other columns", _cats_update_columns, "column"),
    Case(
        "CATSForecaster",
        "y * 1e200",
        _cats_scaled,
        "scale",
        lambda p: bool(np.isfinite(np.asarray(p, dtype=float) / 1e200).all()),
    ),
    Case(
        "CATSForecaster",
        "NaN in y",
        lambda: _cats().fit(Y_SERIES.where(Y_SERIES.index != 5), fh=FH),
        "missing|NaN",
    ),
    Case("CATSForecaster", "series too short", lambda: _cats().fit(Y_SERIES[:5], fh=FH), "seq_len"),
    Case(
        "CATSForecaster",
        "device='cuda' without CUDA",
        lambda: CATSForecaster(**_CATS, device="cuda").fit(Y_SERIES, fh=FH),
        "CUDA|cuda",
    ),
]

# ---- TimeBridgeGenerator ----------------------------------------------------------------

_TB = dict(
    d_model=8,
    n_heads=2,
    n_decoder_layers=1,
    max_steps=3,
    batch_size=16,
    sampling_steps=2,
    random_state=0,
)
X_SER = np.sin(np.linspace(0, 6, 24))[None, :, None] * np.linspace(0.5, 1.5, 40)[:, None, None]


def _tb():
    return TimeBridgeGenerator(**_TB)


def _tb_fitted():
    return _tb().fit(X_SER)


def _tb_all_nan():
    gap = X_SER[:3].copy()
    gap[0] = np.nan
    return _tb_fitted().impute(gap, random_state=0)


def _tb_scaled():
    return _tb().fit(X_SER * 1e30).sample(4, random_state=0)


TB_CASES = [
    Case("TimeBridgeGenerator", "sample(True)", lambda: _tb_fitted().sample(True), "n_samples"),
    Case("TimeBridgeGenerator", "sample(0)", lambda: _tb_fitted().sample(0), "n_samples"),
    Case("TimeBridgeGenerator", "sample(2.5)", lambda: _tb_fitted().sample(2.5), "n_samples"),
    Case("TimeBridgeGenerator", "sample before fit", lambda: _tb().sample(2), "not fitted"),
    Case("TimeBridgeGenerator", "NaN in X", lambda: _tb().fit(_with3(X_SER, np.nan)), "NaN"),
    Case("TimeBridgeGenerator", "inf in X", lambda: _tb().fit(_with3(X_SER, np.inf)), "inf"),
    Case(
        "TimeBridgeGenerator",
        "impute of an all-NaN window",
        _tb_all_nan,
        "nothing|observed",
        warns=UserWarning,
    ),
    Case(
        "TimeBridgeGenerator",
        "X * 1e30",
        _tb_scaled,
        "scale",
        lambda s: bool(np.isfinite(s).all() and np.abs(s).max() < 1e32),
    ),
    Case(
        "TimeBridgeGenerator",
        "device='cuda' without CUDA",
        lambda: TimeBridgeGenerator(**_TB, device="cuda").fit(X_SER),
        "CUDA|cuda",
    ),
    Case(
        "TimeBridgeGenerator",
        "impute with other n_timesteps",
        lambda: _tb_fitted().impute(X_SER[:2, :10]),
        "time",
    ),
]


# ---- DiffusionGenerator ----------------------------------------------------------------

_DG = dict(hidden=(8,), emb_dim=8, max_epochs=2, sampling_steps=3, random_state=0)
_DG_FITTED: dict = {}


def _dg_fitted():
    """One fitted conditional model, shared by the cases (fit once)."""
    if not _DG_FITTED:
        _DG_FITTED["g"] = DiffusionGenerator(**_DG).fit(X_TAB, Y_CLF)
    return _DG_FITTED["g"]


def _dg_frame():
    df = pd.DataFrame({"a": X_TAB[:, 0], "c": np.where(Y_CLF == 1, "x", "y")})
    return DiffusionGenerator(**_DG).fit(df).sample(5, random_state=0)


DG_CASES = [
    Case(
        "DiffusionGenerator",
        "NaN in X",
        lambda: DiffusionGenerator(**_DG).fit(_with(X_TAB, 0, 0, np.nan)),
        "NaN",
    ),
    Case(
        "DiffusionGenerator",
        "inf in X",
        lambda: DiffusionGenerator(**_DG).fit(_with(X_TAB, 0, 0, np.inf)),
        "inf",
    ),
    Case("DiffusionGenerator", "sample(0)", lambda: _dg_fitted().sample(0), "n_samples"),
    Case(
        "DiffusionGenerator",
        "sample before fit",
        lambda: DiffusionGenerator().sample(2),
        "not fitted",
    ),
    Case("DiffusionGenerator", "unknown condition", lambda: _dg_fitted().sample(2, y=7), "y=7"),
    Case(
        "DiffusionGenerator",
        "y of other length",
        lambda: DiffusionGenerator(**_DG).fit(X_TAB, Y_CLF[:10]),
        "y has",
    ),
    Case(
        "DiffusionGenerator",
        "score with other n_features",
        lambda: _dg_fitted().score(X_TAB[:, :2]),
        "features",
    ),
    Case(
        "DiffusionGenerator",
        "switch_step outside [0, 1]",
        lambda: _dg_fitted().sample(2, y=0, switch_to=1, switch_step=2.0),
        "switch_step",
    ),
    Case(
        "DiffusionGenerator",
        "images for denoiser='mlp'",
        lambda: DiffusionGenerator(**{**_DG, "denoiser": "mlp"}).fit(np.zeros((4, 3, 3))),
        "mlp",
    ),
    Case(
        "DiffusionGenerator",
        "a mixed DataFrame",
        _dg_frame,
        "",
        lambda out: list(out.columns) == ["a", "c"] and set(out["c"]) <= {"x", "y"},
    ),
]


# ---- DPDiffusionGenerator --------------------------------------------------------------

_DPG = dict(
    hidden=(8,),
    emb_dim=8,
    max_epochs=1,
    batch_size=16,
    synthetic_stages=(),
    noise_multiplicity=1,
    sampling_steps=3,
    bounds=(-1.0, 1.0),
    classes=[0, 1],
    random_state=0,
)


def _dpg(**kw):
    return DPDiffusionGenerator(**{**_DPG, **kw})


DPG_CASES = [
    Case(
        "DPDiffusionGenerator",
        "NaN in X",
        lambda: _dpg().fit(_with(X_TAB, 0, 0, np.nan), Y_CLF),
        "NaN",
    ),
    Case(
        "DPDiffusionGenerator",
        "impossible epsilon",
        lambda: _dpg(epsilon=1e-6, max_epochs=20).fit(X_TAB, Y_CLF),
        "epsilon",
    ),
    Case(
        "DPDiffusionGenerator", "delta >= 1/n", lambda: _dpg(delta=0.5).fit(X_TAB, Y_CLF), "delta"
    ),
    Case(
        "DPDiffusionGenerator",
        "label outside classes",
        lambda: _dpg(classes=[0]).fit(X_TAB, Y_CLF),
        "classes|not a value",
    ),
    Case(
        "DPDiffusionGenerator",
        "bounds read from data",
        lambda: _dpg(bounds=None).fit(X_TAB, Y_CLF),
        "bounds",
        warns=PrivacyLeakWarning,
    ),
    Case(
        "DPDiffusionGenerator",
        "gdp accountant",
        lambda: _dpg(accountant="gdp").fit(X_TAB, Y_CLF),
        "gdp|bound",
    ),
    Case(
        "DPDiffusionGenerator",
        "dead leaves for non-square rows",
        lambda: _dpg(synthetic_stages=("cleaning",)).fit(X_TAB, Y_CLF),
        "square",
    ),
]


# ---- ConceptEraser ----------------------------------------------------------------------
_CE = dict(max_steps=1, inversion_steps=1, batch_size=4, random_state=0)
_CE_Y = pd.DataFrame({"a": Y_CLF, "b": 1 - Y_CLF})


def _ce_gen():
    """A tiny generator conditioned on two 0/1 concepts (fit once)."""
    if "ce" not in _DG_FITTED:
        _DG_FITTED["ce"] = DiffusionGenerator(**_DG).fit(X_TAB, _CE_Y)
    return _DG_FITTED["ce"]


CE_CASES = [
    Case(
        "ConceptEraser",
        "unknown concept",
        lambda: ConceptEraser(_ce_gen(), concept="z", **_CE).fit(X_TAB, _CE_Y),
        "unknown condition attribute 'z'",
    ),
    Case(
        "ConceptEraser",
        "unfitted generator",
        lambda: ConceptEraser(DiffusionGenerator(), concept="a", **_CE).fit(X_TAB, _CE_Y),
        "must be fitted",
    ),
    Case(
        "ConceptEraser",
        "unconditional generator",
        lambda: ConceptEraser(DiffusionGenerator(**_DG).fit(X_TAB), concept="a", **_CE).fit(X_TAB),
        "without conditions",
    ),
    Case(
        "ConceptEraser",
        "NaN in X_target",
        lambda: ConceptEraser(_ce_gen(), concept="a", **_CE).fit(_with(X_TAB, 0, 0, np.nan), _CE_Y),
        "NaN",
    ),
    Case(
        "ConceptEraser",
        "concepts of the wrong length",
        lambda: ConceptEraser(_ce_gen(), concept="a", **_CE).fit(X_TAB, _CE_Y[:5]),
        "rows",
    ),
    Case(
        "ConceptEraser",
        "sample before fit",
        lambda: ConceptEraser(_ce_gen(), concept="a").sample(2),
        "not fitted",
    ),
]


# ---- MaskedDiffusionLM ----------------------------------------------------------------
_LM = dict(d_model=8, n_heads=2, max_epochs=1, random_state=0)
_LM_P, _LM_R = ["where was ana born ?", "what is bo ?"], ["in rome", "a cat"]


def _lm_fitted():
    if "lm" not in _DG_FITTED:
        _DG_FITTED["lm"] = MaskedDiffusionLM(**_LM).fit(_LM_P, _LM_R)
    return _DG_FITTED["lm"]


LM_CASES = [
    Case("MaskedDiffusionLM", "empty text", lambda: MaskedDiffusionLM(**_LM).fit(
        ["a", ""], _LM_R), "empty"),
    Case("MaskedDiffusionLM", "no rows", lambda: MaskedDiffusionLM(**_LM).fit([], []), "empty"),
    Case("MaskedDiffusionLM", "a string, not a list", lambda: MaskedDiffusionLM(**_LM).fit(
        "where", "in"), "list of texts"),
    Case("MaskedDiffusionLM", "prompt over max_len", lambda: MaskedDiffusionLM(
        **_LM, max_len=6).fit(_LM_P, _LM_R), "max_len"),
    Case("MaskedDiffusionLM", "unknown token at predict", lambda: _lm_fitted().predict(
        ["where was zed born ?"]), "vocabulary"),
    Case("MaskedDiffusionLM", "longer prompt at predict", lambda: _lm_fitted().predict(
        ["where was ana born ? ? ?"]), "at most"),
    Case("MaskedDiffusionLM", "unknown unlearning method", lambda: copy.deepcopy(
        _lm_fitted()).unlearn((_LM_P, _LM_R), method="erase"), "method"),
    Case("MaskedDiffusionLM", "predict before fit", lambda: MaskedDiffusionLM().predict(
        _LM_P), "not fitted"),
]  # fmt: skip


def _with3(X, value):
    X = X.copy()
    X[0, 0, 0] = value
    return X


ALL_CASES = (
    [c for name, (make, y, kind) in TABULAR.items() for c in _tabular_cases(name, make, y, kind)]
    + CATS_CASES
    + TB_CASES
    + DG_CASES
    + DPG_CASES
    + CE_CASES
    + LM_CASES
)


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: f"{c.estimator}-{c.name}")
def test_bad_input(case):
    result, detail = outcome(case)
    assert result in ("clear", "correct"), f"{result}: {detail}"


def test_matrix_covers_every_estimator():
    from sklpriv.utils import all_estimators

    covered = {c.estimator for c in ALL_CASES}
    assert {name for name, _ in all_estimators()} <= covered


def summary() -> pd.DataFrame:
    rows = [(c.estimator, c.name, *outcome(c)) for c in ALL_CASES]
    return pd.DataFrame(rows, columns=["estimator", "case", "outcome", "detail"])


if __name__ == "__main__":
    frame = summary()
    pd.set_option("display.width", 200, "display.max_colwidth", 90, "display.max_rows", 500)
    print(frame.to_string(index=False), file=sys.stderr)
    counts = frame["outcome"].value_counts()
    print(f"cases {len(frame)}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
