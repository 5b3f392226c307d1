import numpy as np
import pandas as pd
import pytest
import torch

from sklpriv.utils import (
    all_estimators,
    check_torch_seed,
    to_numpy,
    to_tensor,
    torch_generator,
    torch_rng,
    torch_threads,
)


def test_seed_from_random_state():
    assert check_torch_seed(3) == check_torch_seed(3)
    assert check_torch_seed(3) != check_torch_seed(4)
    rs = np.random.RandomState(0)
    a, b = check_torch_seed(rs), check_torch_seed(rs)
    assert a != b  # a RandomState is advanced, like everywhere in sklearn
    assert 0 <= a < 2**31 - 1


def test_generator_reproducible():
    x = torch.randn(5, generator=torch_generator(7))
    y = torch.randn(5, generator=torch_generator(7))
    z = torch.randn(5, generator=torch_generator(8))
    assert torch.equal(x, y)
    assert not torch.equal(x, z)


def test_torch_rng_restores_global_state():
    torch.manual_seed(123)
    expected = torch.randn(3)
    torch.manual_seed(123)
    with torch_rng(0):
        inside = torch.nn.Linear(3, 2).weight.detach().clone()
    after = torch.randn(3)
    assert torch.equal(after, expected)
    with torch_rng(0):
        again = torch.nn.Linear(3, 2).weight.detach().clone()
    assert torch.equal(inside, again)


def test_threads_restored_and_validated():
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n_threads"):
        with torch_threads(0):
            pass


@pytest.mark.parametrize(
    "X",
    [
        np.arange(6, dtype=np.float64).reshape(2, 3),
        [[0, 1, 2], [3, 4, 5]],
        pd.DataFrame(np.arange(6).reshape(2, 3)),
        torch.arange(6.0).reshape(2, 3),
    ],
)
def test_tensor_round_trip(X):
    t = to_tensor(X)
    assert t.dtype == torch.float32 and t.shape == (2, 3)
    back = to_numpy(t)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, np.arange(6).reshape(2, 3))


def test_to_tensor_long_and_contiguous():
    X = np.arange(12).reshape(3, 4)[:, ::2]
    t = to_tensor(X, dtype=torch.long)
    assert t.dtype == torch.long and t.is_contiguous()


def test_all_estimators_filters():
    everything = all_estimators()
    assert everything == sorted(everything)
    for kind in ("classifier", "regressor", "cluster", "forecaster", "generator"):
        assert set(all_estimators(type_filter=kind)) <= set(everything)
    with pytest.raises(ValueError, match="type_filter"):
        all_estimators(type_filter="nonsense")


def _noisy_line(ema_decay):
    from sklpriv.utils import train_module

    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 1, generator=g)
    y = 2 * x + torch.randn(256, 1, generator=g)
    net = torch.nn.Linear(1, 1)
    with torch.no_grad():
        net.weight.fill_(0.0)
        net.bias.fill_(0.0)
    hist = train_module(
        net,
        lambda xb, yb: ((net(xb) - yb) ** 2).mean(),
        [x, y],
        lr=0.2,
        batch_size=4,
        max_epochs=20,
        patience=None,
        generator=torch.Generator().manual_seed(1),
        ema_decay=ema_decay,
    )
    ls = torch.linalg.lstsq(torch.cat([x, torch.ones_like(x)], 1), y).solution.ravel()
    w, b = net.weight.detach().ravel()[0], net.bias.detach()[0]
    err = float((w - ls[0]) ** 2 + (b - ls[1]) ** 2)
    return err, hist


def test_train_module_ema_averages_the_noisy_iterates():
    err_last, _ = _noisy_line(None)
    err_ema, _ = _noisy_line(0.99)
    err_zero, _ = _noisy_line(0.0)  # decay 0: the average is the last iterate
    assert err_zero == pytest.approx(err_last)
    # a large-step SGD iterate rattles around the least-squares fit; its average does not
    assert err_ema < 0.1 * err_last


def test_train_module_ema_validates_and_keeps_the_averaged_weights():
    from sklpriv.utils import train_module

    net = torch.nn.Linear(1, 1)
    x = torch.linspace(-1, 1, 32)[:, None]
    seen, live = [], []

    def val_loss():
        seen.append(net.weight.detach().clone())
        return float(((net(x) - 3 * x) ** 2).mean())

    train_module(
        net,
        lambda xb, yb: ((net(xb) - yb) ** 2).mean(),
        [x, 3 * x],
        val_loss=val_loss,
        lr=0.05,
        batch_size=8,
        max_epochs=5,
        patience=None,
        generator=torch.Generator().manual_seed(0),
        ema_decay=0.9,
        on_epoch_end=lambda epoch: live.append(net.weight.detach().clone()),
    )
    # validation saw the average, which lags behind the iterate (training goes on with
    # the iterate); the module ends with the best validated weights, here the last average
    assert all(not torch.equal(a, b) for a, b in zip(seen, live, strict=True))
    assert all(abs(float(a) - 3) > abs(float(b) - 3) for a, b in zip(seen, live, strict=True))
    assert torch.equal(net.weight.detach(), seen[-1])


def test_warmup_plateau_follows_the_reference_rule():
    from sklpriv.utils import WarmupPlateau

    s = WarmupPlateau(start=0.01, warmup=100, factor=0.5, patience=10, threshold=0.1, minimum=0.2)
    assert s(0, None) == pytest.approx(0.01)
    assert s(50, 1.0) == pytest.approx(0.505)
    assert s(100, 1.0) == 1.0
    # a 10% fall counts as progress; smaller ones do not
    factors = [s(101 + i, loss) for i, loss in enumerate([1.0, 0.85] + [0.8] * 11)]
    assert factors[:-1] == [1.0] * 12 and factors[-1] == 0.5  # the 11th step without 10%
    factors = [s(200 + i, 0.8) for i in range(50)]
    assert min(factors) == 0.2  # halved again and again, never below the minimum


def test_train_module_step_lr_sets_every_steps_learning_rate():
    from sklpriv.utils import train_module

    net = torch.nn.Linear(1, 1)
    x = torch.linspace(-1, 1, 32)[:, None]
    calls, lrs = [], []
    orig = torch.optim.Adam.step

    def spy(self, *a, **k):
        lrs.append(self.param_groups[0]["lr"])
        return orig(self, *a, **k)

    def schedule(step, loss):
        calls.append((step, loss))
        return 1.0 / (1 + step)

    torch.optim.Adam.step = spy
    try:
        train_module(
            net,
            lambda xb, yb: ((net(xb) - yb) ** 2).mean(),
            [x, 3 * x],
            lr=0.1,
            batch_size=8,
            max_epochs=2,
            patience=None,
            generator=torch.Generator().manual_seed(0),
            step_lr=schedule,
        )
    finally:
        torch.optim.Adam.step = orig
    assert calls[0] == (0, None) and [c[0] for c in calls] == list(range(9))
    assert all(isinstance(loss, float) for _, loss in calls[1:])
    assert lrs == pytest.approx([0.1 / (1 + k) for k in range(8)])


def test_warmup_plateau_without_warmup_starts_at_full_rate():
    from sklpriv.utils import WarmupPlateau

    s = WarmupPlateau(start=0.01, warmup=0, patience=2)
    assert s(0, None) == 1.0
    assert [s(k, 1.0) for k in range(1, 5)] == [1.0, 1.0, 1.0, 0.5]
