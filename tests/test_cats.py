import numpy as np
import pandas as pd
import pytest
import torch
from sktime.datasets import load_airline
from sktime.forecasting.base import ForecastingHorizon
from sktime.forecasting.model_selection import ForecastingGridSearchCV
from sktime.forecasting.naive import NaiveForecaster
from sktime.performance_metrics.forecasting import mean_absolute_error
from sktime.split import ExpandingWindowSplitter

from sklpriv import CATSForecaster
from sklpriv.forecasting._cats_net import CATSNet, qam_end_for_horizon

TINY = dict(seq_len=24, patch_len=6, d_model=16, n_heads=2, d_ff=32, n_layers=2)


def noisy_sine(n=600, period=24, noise=0.3, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    idx = pd.date_range("2020-01-01", periods=n, freq="h")
    return pd.Series(np.sin(2 * np.pi * t / period) + noise * rng.randn(n), index=idx)


def two_channel(n=400, seed=0):
    rng = np.random.RandomState(seed)
    t = np.arange(n)
    idx = pd.date_range("2020-01-01", periods=n, freq="h")
    return pd.DataFrame(
        {
            "a": np.sin(2 * np.pi * t / 24) + 0.1 * rng.randn(n),
            "b": 5 + 2 * np.cos(2 * np.pi * t / 12) + 0.1 * rng.randn(n),
        },
        index=idx,
    )


# ---- the network --------------------------------------------------------------------------
def test_network_is_channel_independent():
    torch.manual_seed(0)
    net = CATSNet(3, 24, 12, patch_len=6, stride=6, d_model=16, n_heads=2, d_ff=16).eval()
    x = torch.randn(4, 24, 3)
    out = net(x)
    x2 = x.clone()
    x2[:, :, 0] += torch.randn(4, 24)  # change channel 0 only
    out2 = net(x2)
    assert not torch.allclose(out[:, :, 0], out2[:, :, 0])
    torch.testing.assert_close(out[:, :, 1:], out2[:, :, 1:])
    # with shared queries, permuting the columns permutes the forecasts
    shared = CATSNet(3, 24, 12, 6, 6, 16, 2, 16, share_queries=True).eval()
    perm = [2, 0, 1]
    torch.testing.assert_close(shared(x[:, :, perm]), shared(x)[:, :, perm])


def test_parameters_do_not_grow_with_seq_len_except_positional_encoding():
    def count(L):
        net = CATSNet(1, L, 96, patch_len=24, stride=24, d_model=32, n_heads=4, d_ff=64)
        return sum(p.numel() for p in net.parameters()), net.pos.numel()

    (n96, pos96), (n720, pos720) = count(96), count(720)
    assert n720 - n96 == pos720 - pos96 > 0


def test_qam_is_identity_in_eval_and_masks_in_training():
    torch.manual_seed(0)
    net = CATSNet(2, 24, 48, 6, 6, 16, 2, 16, dropout=0.0, qam_start=0.5, qam_end=0.9)
    x = torch.randn(8, 24, 2)
    net.eval()
    torch.testing.assert_close(net(x), net(x))  # deterministic: QAM off
    net.train()
    outs = [net(x) for _ in range(3)]
    assert not torch.allclose(outs[0], outs[1])  # masking is random in training
    assert [qam_end_for_horizon(h) for h in (96, 192, 336, 720, 1000)] == [
        0.2,
        0.3,
        0.5,
        0.7,
        0.7,
    ]


def test_instance_normalisation_makes_the_forecast_shift_and_scale_equivariant():
    torch.manual_seed(0)
    net = CATSNet(1, 24, 12, 6, 6, 16, 2, 16).eval()
    x = torch.randn(2, 24, 1)
    torch.testing.assert_close(net(3 * x + 7), 3 * net(x) + 7, rtol=1e-4, atol=1e-4)


# ---- it learns ----------------------------------------------------------------------------
def test_beats_naive_on_noisy_sine():
    y = noisy_sine()
    y_train, y_test = y[:-24], y[-24:]
    fh = np.arange(1, 25)
    f = CATSForecaster(**TINY, max_epochs=15, lr=3e-3, lr_schedule="constant", random_state=0)
    err = mean_absolute_error(y_test, f.fit(y_train, fh=fh).predict())
    naive = mean_absolute_error(y_test, NaiveForecaster().fit(y_train).predict(fh))
    assert err < 0.6 * naive, (err, naive)
    assert isinstance(f.predict(), pd.Series)
    assert f.n_parameters_ > 0 and len(f.history_) >= 1
    assert "valid_loss" in f.history_[0]  # early stopping on the end of the training data


def test_beats_naive_on_log_airline():
    y = np.log(load_airline())
    y_train, y_test = y[:-24], y[-24:]
    fh = np.arange(1, 25)
    f = CATSForecaster(
        seq_len=48,
        patch_len=12,
        d_model=32,
        n_heads=4,
        d_ff=64,
        max_epochs=50,
        lr_schedule="constant",
        validation_fraction=0.0,
        random_state=0,
    )
    err = mean_absolute_error(y_test, f.fit(y_train, fh=fh).predict())
    naive = mean_absolute_error(y_test, NaiveForecaster().fit(y_train).predict(fh))
    seasonal = mean_absolute_error(y_test, NaiveForecaster(sp=12).fit(y_train).predict(fh))
    assert err < 0.5 * naive and err < seasonal, (err, naive, seasonal)


@pytest.mark.parametrize(
    "schedule, factors",
    [
        ("halving", [1, 0.5, 0.5, 0.25, 0.25]),  # the reference's type2
        ("halving_each_epoch", [1, 0.5, 0.25, 0.125, 0.0625]),  # its type1
        ("constant", [1, 1, 1, 1, 1]),
    ],
)
def test_lr_schedules_follow_the_reference(schedule, factors):
    from skorch.callbacks import Callback

    class RecordLR(Callback):
        def on_epoch_begin(self, net, **kwargs):
            net.history.record("lr_seen", net.optimizer_.param_groups[0]["lr"])

    f = CATSForecaster(
        **TINY,
        max_epochs=5,
        lr=1e-3,
        lr_schedule=schedule,
        validation_fraction=0.0,
        callbacks=[RecordLR()],
        random_state=0,
    )
    f.fit(noisy_sine(200), fh=np.arange(1, 7))
    np.testing.assert_allclose(f.net_.history[:, "lr_seen"], 1e-3 * np.array(factors))
    assert f._final_lr_factor() == pytest.approx(
        {"halving": 0.25, "halving_each_epoch": 0.5**4, "constant": 1.0}[schedule]
    )


# ---- data types, update, determinism ------------------------------------------------------
def test_multivariate_dataframe_in_dataframe_out_in_data_units():
    y = two_channel()
    fh = np.arange(1, 13)
    f = CATSForecaster(**TINY, max_epochs=5, random_state=0).fit(y[:-12], fh=fh)
    pred = f.predict()
    assert isinstance(pred, pd.DataFrame) and list(pred.columns) == ["a", "b"]
    assert pred.index.equals(y.index[-12:])
    assert abs(pred["b"].mean() - 5) < 1.5  # de-scaled: channel b lives around 5


def test_panel_gives_one_global_model_and_panel_forecasts():
    frames = []
    for i in range(3):
        s = noisy_sine(200, seed=i, noise=0.1).to_frame("y")
        s.index = pd.MultiIndex.from_product([[f"s{i}"], s.index])
        frames.append(s)
    y = pd.concat(frames)
    f = CATSForecaster(**TINY, max_epochs=3, random_state=0).fit(y, fh=[1, 2, 3])
    pred = f.predict()
    assert isinstance(pred.index, pd.MultiIndex)
    assert pred.shape == (9, 1)
    assert set(pred.index.get_level_values(0)) == {"s0", "s1", "s2"}


def test_update_moves_the_context_without_training_and_matches_a_fresh_window():
    y = noisy_sine(400)
    fh = np.arange(1, 7)
    f = CATSForecaster(**TINY, max_epochs=3, random_state=0).fit(y[:300], fh=fh)
    state = {k: v.clone() for k, v in f.network_.state_dict().items()}
    f.update(y[300:310], update_params=False)
    for k, v in f.network_.state_dict().items():
        torch.testing.assert_close(v, state[k])  # no retraining
    pred = f.predict()
    assert pred.index.equals(y.index[310:316])
    # the batched path on the same window gives the same numbers
    direct = f.predict_windows(y[286:310].to_numpy()[None, :, None])[0, :, 0]
    np.testing.assert_allclose(pred.to_numpy(), direct, rtol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        f.predict_windows(np.zeros((2, 5, 1)))
    # update_params=True fine-tunes
    f.update(y[310:340], update_params=True)
    changed = any(not torch.equal(v, state[k]) for k, v in f.network_.state_dict().items())
    assert changed and f.history_[-1].get("update")


def test_same_seed_same_forecast():
    y = noisy_sine(300)
    a = CATSForecaster(**TINY, max_epochs=2, random_state=3).fit(y, fh=[1, 2]).predict()
    b = CATSForecaster(**TINY, max_epochs=2, random_state=3).fit(y, fh=[1, 2]).predict()
    pd.testing.assert_series_equal(a, b)


def test_cross_attention_map():
    y = noisy_sine(300)
    f = CATSForecaster(**TINY, max_epochs=2, random_state=0).fit(y, fh=np.arange(1, 13))
    attn = f.cross_attention()
    # (channels, heads, queries, patches): 12 steps / patch 6 = 2 queries, 24/6 + 1 patches
    assert attn.shape == (1, 2, 2, 5)
    np.testing.assert_allclose(attn.sum(-1), 1, rtol=1e-5)
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    ax = f.plot_cross_attention()
    assert ax.images


# ---- sktime composition -------------------------------------------------------------------
def test_grid_search_and_pipeline():
    from sktime.forecasting.compose import TransformedTargetForecaster
    from sktime.transformations.series.detrend import Detrender

    y = noisy_sine(300)
    cv = ExpandingWindowSplitter(initial_window=240, step_length=20, fh=[1, 2, 3])
    gs = ForecastingGridSearchCV(
        CATSForecaster(seq_len=24, n_heads=2, n_layers=1, d_ff=16, max_epochs=2, random_state=0),
        cv=cv,
        param_grid={"d_model": [8, 16], "patch_len": [6, 12]},
    )
    gs.fit(y, fh=[1, 2, 3])
    assert set(gs.best_params_) == {"d_model", "patch_len"}
    assert len(gs.predict()) == 3
    pipe = TransformedTargetForecaster(
        [
            ("detrend", Detrender()),
            ("cats", CATSForecaster(**TINY, max_epochs=2, random_state=0)),
        ]
    )
    assert len(pipe.fit(y, fh=[1, 2, 3]).predict()) == 3


# ---- errors -------------------------------------------------------------------------------
def test_clear_errors():
    y = noisy_sine(100)
    with pytest.raises(ValueError, match="lower seq_len"):
        CATSForecaster(seq_len=96).fit(y, fh=np.arange(1, 13))
    bad = y.copy()
    bad.iloc[5] = np.nan
    with pytest.raises(ValueError):
        CATSForecaster(**TINY).fit(bad, fh=[1])
    with pytest.raises(ValueError, match="divisible"):
        CATSForecaster(seq_len=24, patch_len=6, d_model=10, n_heads=4).fit(y, fh=[1])
    with pytest.raises(ValueError, match="patch_len"):
        CATSForecaster(seq_len=8, patch_len=12).fit(y, fh=[1])
    with pytest.raises(NotImplementedError, match="in-sample"):  # sktime's own message
        CATSForecaster(**TINY).fit(y, fh=ForecastingHorizon([-1, 1]))
    unsorted = y.iloc[::-1]
    with pytest.raises(ValueError, match="sort_index"):
        CATSForecaster(**TINY).fit(unsorted, fh=[1])


def test_demo_section(tmp_path):
    pytest.importorskip("matplotlib")
    from sklpriv._demo import demo_cats

    res = demo_cats(tmp_path)
    row = res.rows[0]
    assert row["value"] < row["baseline value"]
    assert (tmp_path / res.figures[0]).exists()


# ---- bad input ----------------------------------------------------------------------------
def test_cuda_device_fails_fast_before_any_other_work(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    # a series too short for one window: the device error still comes first
    with pytest.raises(ValueError, match="device='cuda', but CUDA is not available"):
        CATSForecaster(**TINY, device="cuda").fit(noisy_sine(20), fh=[1])


@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("factor", [1e200, 1e-200])
def test_forecasts_are_scale_equivariant_for_extreme_magnitudes(scale, factor):
    y = noisy_sine(150)
    params = dict(**TINY, max_epochs=2, scale=scale, random_state=0)
    base = CATSForecaster(**params).fit(y, fh=[1, 2, 3]).predict()
    big = CATSForecaster(**params).fit(y * factor, fh=[1, 2, 3]).predict()
    assert np.isfinite(big.to_numpy()).all()
    np.testing.assert_allclose(big.to_numpy() / factor, base.to_numpy(), rtol=1e-4, atol=1e-5)


def test_values_beyond_float64_standardisation_raise_before_fitting():
    y = noisy_sine(100)
    y[:] = np.where(np.arange(100) % 4, 1.7e308, -1.7e308)  # deviations overflow
    with pytest.raises(ValueError, match="too large to standardise in float64"):
        CATSForecaster(**TINY).fit(y, fh=[1])


def test_3d_array_y_gives_a_clear_error():
    with pytest.raises(ValueError, match=r"y must be .*got a 3-D array of shape \(5, 100, 2\)"):
        CATSForecaster(**TINY).fit(np.zeros((5, 100, 2)), fh=[1])


def test_datetime_index_with_gaps_gives_a_clear_error():
    y = noisy_sine(100)
    gappy = y.drop(y.index[[10, 50, 51]])
    with pytest.raises(ValueError, match="DatetimeIndex with gaps.*reset it to a RangeIndex"):
        CATSForecaster(**TINY).fit(gappy, fh=[1])
    f = CATSForecaster(**TINY, max_epochs=1, random_state=0).fit(y[:80], fh=[1])
    with pytest.raises(ValueError, match=r"asfreq\('h'\)"):
        f.update(y[80:].drop(y.index[90]), update_params=False)
    # a regular index without a set freq is fine: sktime infers it
    regular = y.set_axis(pd.DatetimeIndex(list(y.index)))
    assert regular.index.freq is None
    assert len(CATSForecaster(**TINY, max_epochs=1).fit(regular, fh=[1, 2]).predict()) == 2


def test_update_with_other_columns_gives_a_clear_error():
    y = two_channel(100)
    f = CATSForecaster(**TINY, max_epochs=1, random_state=0).fit(y[:80], fh=[1])
    msg = r"columns \['a', 'c'\], which differ from the columns seen in fit: columns \['a', 'b'\]"
    with pytest.raises(ValueError, match=msg):
        f.update(y[80:].rename(columns={"b": "c"}), update_params=False)
    with pytest.raises(ValueError, match="differ from the columns seen in fit"):
        f.update(y[80:][["a"]], update_params=True)  # used to broadcast silently
    with pytest.raises(ValueError, match=r"has 1 column\(s\), which differ .* 2 column\(s\)"):
        f.update(y[80:]["a"])


def test_update_with_a_new_panel_instance():
    frames = []
    for i in range(3):
        s = noisy_sine(80, seed=i, noise=0.1).to_frame("y")
        s.index = pd.MultiIndex.from_product([[f"s{i}"], s.index])
        frames.append(s)
    f = CATSForecaster(**TINY, max_epochs=1, random_state=0)
    f.fit(pd.concat(frames[:2]).iloc[np.r_[0:60, 80:140]], fh=[1])
    f.update(pd.concat([frames[0][60:], frames[1][60:], frames[2][:40]]))
    assert set(f.predict().index.get_level_values(0)) == {"s0", "s1", "s2"}
