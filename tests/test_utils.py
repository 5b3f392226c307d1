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


def test_map_row_chunks_concatenates_blocks():
    from sklpriv.utils import map_row_chunks

    X = np.arange(20.0).reshape(10, 2)
    np.testing.assert_array_equal(map_row_chunks(lambda b: b * 2, X, chunk_size=3), X * 2)
    T = torch.arange(7.0)
    assert torch.equal(map_row_chunks(lambda b: b + 1, T, chunk_size=2), T + 1)


def test_forward_float64_in_blocks_equals_one_pass():
    """Across a block boundary the rows equal one float64 pass, and no graph is kept."""
    from sklpriv.utils import PREDICT_CHUNK, forward_float64

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    X = np.random.RandomState(0).randn(PREDICT_CHUNK + 5, 3)
    out = forward_float64(net, X)
    assert not out.requires_grad
    with torch.no_grad():
        full = net.double()(torch.from_numpy(X))
    torch.testing.assert_close(out, full, rtol=0, atol=1e-12)
