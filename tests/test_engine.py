"""The skorch engine: each callback against a hand computation, and the user's hooks."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from skorch.dataset import Dataset

from sklpriv.utils import (
    EMA,
    StepBudget,
    TensorLoader,
    WarmupPlateau,
    fit_net,
    history_rows,
)


def mse(module, X, y, training):
    return ((module(X) - y) ** 2).mean()


def _line(n=32):
    x = torch.linspace(-1, 1, n)[:, None]
    return x, 3 * x


def _first(net):
    return next(net.module_.parameters()).detach().clone()


class Recorder(Callback):
    """Records the weight after every training batch and at every validation batch."""

    def initialize(self):
        self.after_step, self.validated, self.epochs, self.lrs = [], [], 0, []
        return self

    def on_batch_begin(self, net, training, **kwargs):
        if training:
            self.lrs.append(net.optimizer_.param_groups[0]["lr"])
        else:
            self.validated.append(_first(net))

    def on_batch_end(self, net, training, **kwargs):
        if training:
            self.after_step.append(_first(net))

    def on_epoch_end(self, net, **kwargs):
        self.epochs += 1


def _fit(callbacks=(), valid=None, **kw):
    torch.manual_seed(0)
    rec = Recorder()
    net = torch.nn.Linear(1, 1)
    args = dict(lr=0.05, batch_size=8, max_epochs=3, generator=torch.Generator().manual_seed(0))
    args.update(kw)
    fitted = fit_net(
        net, mse, _line(), valid=valid, callbacks=callbacks, user_callbacks=[rec], **args
    )
    return net, rec, fitted


def test_tensor_loader_slices_and_shuffles_reproducibly():
    ds = Dataset(torch.arange(10.0), torch.arange(10))
    plain = [yb.tolist() for _, yb in TensorLoader(ds, batch_size=4)]
    assert plain == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]

    def order(seed):
        loader = TensorLoader(ds, 4, shuffle=True, generator=torch.Generator().manual_seed(seed))
        return [v for _ in range(2) for _, yb in loader for v in yb.tolist()]

    a = order(0)
    assert a == order(0) and sorted(a[:10]) == list(range(10)) and a[:10] != a[10:]
    tup = TensorLoader(Dataset((torch.zeros(5, 2), torch.ones(5)), None), batch_size=2)
    xb, yb = next(iter(tup))
    assert isinstance(xb, tuple) and xb[0].shape == (2, 2) and yb is None


def test_ema_equals_the_hand_computed_average():
    decay = 0.8
    net, rec, _ = _fit(callbacks=[EMA(decay)])
    w0 = rec.after_step[0]  # placeholder to get the dtype
    init = torch.nn.Linear(1, 1)
    torch.manual_seed(0)
    init = torch.nn.Linear(1, 1).weight.detach().clone()
    avg = init.clone()
    for step, w in enumerate(rec.after_step, start=1):
        d = min(decay, (1 + step) / (10 + step))
        avg = d * avg + (1 - d) * w
    assert w0.shape == avg.shape
    torch.testing.assert_close(net.weight.detach(), avg)


@pytest.mark.parametrize("warmup", ["power", "ema_pytorch"])
def test_ema_every_k_steps_with_power_warmup(warmup):
    net, rec, _ = _fit(callbacks=[EMA(0.99, every=3, warmup=warmup)], max_epochs=40)
    assert len(rec.after_step) == 160  # past ema_pytorch's copy phase of 100 steps
    torch.manual_seed(0)
    avg = torch.nn.Linear(1, 1).weight.detach().clone()
    for u, (step, w) in enumerate(list(enumerate(rec.after_step, start=1))[2::3]):
        if warmup == "power":  # counted in updates
            d = min(0.99, 1 - (2 + u) ** (-2 / 3))
        else:  # ema_pytorch's clock: optimiser steps, a copy up to step 100
            d = 0.0 if step <= 100 else min(0.99, 1 - (1 + step - 100) ** (-2 / 3))
        avg = d * avg + (1 - d) * w
    torch.testing.assert_close(net.weight.detach(), avg)


def test_ema_validates_the_average_and_trains_the_iterate():
    x, y = _line()
    net, rec, _ = _fit(callbacks=[EMA(0.9)], valid=(x, y), patience=10)
    # one validation batch per epoch (32 rows, batch 8 -> 4 validation batches)
    per_epoch = rec.validated[::4]
    last_iterates = rec.after_step[3::4]
    assert all(not torch.equal(a, b) for a, b in zip(per_epoch, last_iterates, strict=True))
    # training resumed from the iterate, not from the average
    assert not torch.equal(rec.after_step[4], per_epoch[0])
    torch.testing.assert_close(net.weight.detach(), per_epoch[-1])


def test_early_stopping_restores_the_best_state():
    x, y = _line()

    class Worsen(Callback):  # after epoch 2 the weights only get worse
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) >= 2:
                with torch.no_grad():
                    net.module_.weight.add_(100.0)

    torch.manual_seed(0)
    net = torch.nn.Linear(1, 1)
    fitted = fit_net(
        net,
        mse,
        (x, y),
        valid=(x, y),
        lr=0.05,
        batch_size=8,
        max_epochs=20,
        patience=2,
        callbacks=[],
        user_callbacks=[Worsen()],
    )
    valid = [row["valid_loss"] for row in history_rows(fitted)]
    assert len(valid) == 4  # best at epoch 2, two misses, stop
    assert float(mse(net, x, y, False)) == pytest.approx(min(valid), rel=1e-5)


def test_step_budget_stops_mid_epoch():
    x, y = _line()
    _, rec, fitted = _fit(max_steps=6, max_epochs=10, valid=(x, y))  # 4 steps per epoch
    assert len(rec.after_step) == 6
    rows = history_rows(fitted)
    # the cut epoch is closed as any other: validated, seen by the callbacks, recorded
    assert [r["epoch"] for r in rows] == [1, 2] and rec.epochs == 2
    assert all("valid_loss" in r for r in rows)
    assert fitted.history[-1, "train_batch_count"] == 2
    assert StepBudget(6).max_steps == 6


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step()`:UserWarning")
def test_warmup_plateau_gives_the_reference_rates():
    sched = WarmupPlateau(start=0.01, warmup=100, factor=0.5, patience=10, min_lr=0.2)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched.bind(opt)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)  # the first step
    rates = [sched.step_with(1.0) for _ in range(100)]
    assert rates[49] == pytest.approx(0.505) and rates[-1] == 1.0
    # a 10% fall counts as progress; smaller ones do not
    rates = [sched.step_with(loss) for loss in [1.0, 0.85] + [0.8] * 11]
    assert rates[:-1] == [1.0] * 12 and rates[-1] == 0.5  # the 11th step without 10%
    rates = [sched.step_with(0.8) for _ in range(50)]
    assert min(rates) == 0.2  # halved again and again, never below min_lr
    no_warmup = WarmupPlateau(warmup=0, patience=2).bind(
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    )
    assert [no_warmup.step_with(1.0) for _ in range(4)] == [1.0, 1.0, 1.0, 0.5]


def test_warmup_plateau_sets_each_steps_rate_in_training():
    _, rec, _ = _fit(callbacks=[WarmupPlateau(start=0.1, warmup=4)], max_epochs=2)
    assert rec.lrs[:5] == pytest.approx([0.005, 0.01625, 0.0275, 0.03875, 0.05])


def test_user_callback_is_called_and_history_is_skorchs():
    _, rec, fitted = _fit()
    assert rec.epochs == 3 and len(rec.after_step) == 12
    assert fitted.history[-1, "epoch"] == 3
    assert [sorted(r) for r in history_rows(fitted)] == [["epoch", "train_loss"]] * 3


def test_callbacks_clone():
    from sklearn.base import clone

    for cb in (EMA(0.9, every=3), WarmupPlateau(start=0.1, warmup=4), StepBudget(5)):
        assert clone(cb).get_params() == cb.get_params()


def test_fitted_net_pickles_without_training_data(tmp_path):
    import pickle

    x, y = _line()
    _, _, fitted = _fit(callbacks=[EMA(0.9)], valid=(x, y), patience=3)
    assert fitted.train_split is None
    back = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(back.module_(x).detach(), fitted.module_(x).detach())


# ---- every torch estimator: the user's callbacks reach skorch; device="cpu" works ----


def _estimators():
    from sklearn.datasets import load_breast_cancer, load_diabetes
    from sktime.datasets import load_airline

    from sklpriv import BayesNAMClassifier, BayesNAMRegressor, CATSForecaster, TimeBridgeGenerator

    Xr, yr = load_diabetes(return_X_y=True)
    Xc, yc = load_breast_cancer(return_X_y=True)
    nam = dict(
        hidden_sizes=(8,), max_epochs=3, n_posterior_samples=3, n_estimators=2, random_state=0
    )
    scales = np.linspace(0.5, 1.5, 32)[:, None, None]
    windows = np.sin(np.linspace(0, 6, 12))[None, :, None] * scales  # (32, 12, 1)
    cats = dict(seq_len=12, patch_len=4, d_model=8, n_heads=2, d_ff=8, max_epochs=3)
    tb = dict(d_model=8, n_heads=2, n_decoder_layers=1, max_steps=6, batch_size=8)
    return {
        "BayesNAMRegressor": (lambda **k: BayesNAMRegressor(**nam, **k), (Xr, yr)),
        "BayesNAMClassifier": (lambda **k: BayesNAMClassifier(**nam, **k), (Xc, yc)),
        "CATSForecaster": (
            lambda **k: CATSForecaster(**cats, random_state=0, **k),
            (load_airline(),),
        ),
        "TimeBridgeGenerator": (
            lambda **k: TimeBridgeGenerator(**tb, random_state=0, **k),
            (windows,),
        ),
    }


def _fit_estimator(make, data, **kwargs):
    est = make(**kwargs)
    if type(est).__name__ == "CATSForecaster":
        return est.fit(data[0], fh=[1, 2, 3])
    return est.fit(*data)


@pytest.mark.parametrize(
    "name", ["BayesNAMRegressor", "BayesNAMClassifier", "CATSForecaster", "TimeBridgeGenerator"]
)
def test_user_callbacks_are_called_and_device_cpu_works(name):
    make, data = _estimators()[name]
    rec = Recorder()
    est = _fit_estimator(make, data, callbacks=[rec], device="cpu")
    # an ensemble (BayesNAM) keeps every member's epochs; net_ trained the last member,
    # and the user's callbacks are initialised (skorch) for each member's net
    last = est.history_[-1].get("member", 0)
    epochs = sum(r.get("member", 0) == last for r in est.history_)
    assert rec.epochs == epochs == est.net_.history[-1, "epoch"] >= 1
    assert len(rec.after_step) >= 1
    # the estimator's own callbacks are there too, the user's after them
    names = [n for n, _ in est.net_.callbacks_]
    assert names.index(next(n for n in names if n.startswith("user_"))) > 0


def test_dpsat_device_cpu():
    from sklearn.datasets import load_digits

    from sklpriv import DPSATClassifier

    X, y = load_digits(return_X_y=True)
    clf = DPSATClassifier(
        device="cpu", max_epochs=1, noise_multiplier=1.0, classes=range(10), random_state=0
    ).fit(X / 16, y)
    assert next(clf.module_.parameters()).device.type == "cpu"


def test_cats_halving_schedule_gives_the_reference_rates():
    """The reference's type2 schedule: the rate halves at epochs 2, 4, 6, ..."""
    from sktime.datasets import load_airline

    from sklpriv import CATSForecaster

    class EpochRates(Callback):
        def initialize(self):
            self.rates = []
            return self

        def on_epoch_begin(self, net, **kwargs):
            self.rates.append(net.optimizer_.param_groups[0]["lr"])

    rec = EpochRates()
    CATSForecaster(
        seq_len=12,
        patch_len=4,
        d_model=8,
        n_heads=2,
        d_ff=8,
        max_epochs=6,
        lr=0.01,
        validation_fraction=0.0,
        callbacks=[rec],
        random_state=0,
    ).fit(load_airline(), fh=[1, 2, 3])
    assert rec.rates == pytest.approx([0.01, 0.005, 0.005, 0.0025, 0.0025, 0.00125])
