"""The standard metrics of time series generation (TimeGAN, Diffusion-TS, TimeBridge).

Every metric takes real and generated windows ``(n, n_timesteps[, n_features])`` in the
data's units and by default (``scale=True``) first min-max scales both with the real
windows' per-feature range to ``[0, 1]``, the space in which the field reports them;
``scale=False`` uses the values as given (the field's sines, already in ``[0, 1]``, are not
rescaled). Lower is better for all four.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import linalg
from torch import nn

from ..utils import check_series, check_torch_seed, torch_rng


def _pair(real, fake, scale=True):
    real = check_series(real, name="real")
    fake = check_series(fake, name="fake")
    if real.shape[1:] != fake.shape[1:]:
        raise ValueError(
            f"real and fake windows must have the same (n_timesteps, n_features); got "
            f"{real.shape[1:]} and {fake.shape[1:]}."
        )
    if not scale:
        return real, fake
    lo, hi = real.min(axis=(0, 1)), real.max(axis=(0, 1))
    span = np.where(hi > lo, hi - lo, 1.0)
    return (real - lo) / span, (fake - lo) / span


def _check_positive(name, value):
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")


class _GRUHead(nn.Module):
    """One-layer GRU and a linear read-out (per step, or of the last state)."""

    def __init__(self, n_in: int, hidden: int, per_step: bool):
        super().__init__()
        self.gru = nn.GRU(n_in, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)
        self.per_step = per_step

    def forward(self, x):
        h, last = self.gru(x)
        return self.out(h) if self.per_step else self.out(last[-1])[:, 0]


def _train(model, loss_fn, sample_batch, n_iter):
    opt = torch.optim.Adam(model.parameters())
    model.train()
    for _ in range(n_iter):
        loss = loss_fn(*sample_batch())
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def discriminative_score(
    real, fake, *, scale: bool = True, n_iter: int = 2000, batch_size: int = 128, random_state=None
) -> float:
    """``|accuracy - 0.5|`` of a post-hoc GRU classifier telling real from generated windows.

    TimeGAN's protocol: each set split 80/20, a one-layer GRU (hidden size
    ``max(n_features // 2, 1)``) on the last state trained ``n_iter`` steps of Adam on
    batches of ``batch_size`` real and ``batch_size`` generated training windows, accuracy
    on the held-out windows of both. 0: indistinguishable; 0.5: always told apart.

    Parameters
    ----------
    real, fake : array-like of shape (n, n_timesteps, n_features) or (n, n_timesteps)
    scale : bool, default=True
        Min-max scale both with the real windows' per-feature range first.
    n_iter : int, default=2000
    batch_size : int, default=128
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    score : float in [0, 0.5]

    Examples
    --------
    >>> import numpy as np
    >>> from sklpriv.metrics import discriminative_score
    >>> from sklpriv.datasets import make_sines
    >>> real = make_sines(200, random_state=0)
    >>> noise = np.random.RandomState(0).rand(200, 24, 5)
    >>> score = discriminative_score(real, noise, n_iter=300, random_state=0)
    >>> 0 <= score <= 0.5
    True
    """
    _check_positive("n_iter", n_iter)
    _check_positive("batch_size", batch_size)
    real, fake = _pair(real, fake, scale)
    rng = np.random.RandomState(check_torch_seed(random_state))
    parts = []
    for data in (real, fake):
        idx = rng.permutation(len(data))
        cut = max(int(0.8 * len(data)), 1)
        parts.append((data[idx[:cut]], data[idx[cut:]] if cut < len(data) else data[idx[:cut]]))
    (r_tr, r_te), (f_tr, f_te) = parts
    r_tr, f_tr = torch.from_numpy(r_tr).float(), torch.from_numpy(f_tr).float()
    with torch_rng(int(rng.randint(2**31 - 1))):
        model = _GRUHead(real.shape[2], max(real.shape[2] // 2, 1), per_step=False)
    bce = nn.BCEWithLogitsLoss()

    def batch():
        r = r_tr[rng.randint(len(r_tr), size=min(batch_size, len(r_tr)))]
        f = f_tr[rng.randint(len(f_tr), size=min(batch_size, len(f_tr)))]
        return torch.cat([r, f]), torch.cat([torch.ones(len(r)), torch.zeros(len(f))])

    _train(model, lambda x, y: bce(model(x), y), batch, n_iter)
    with torch.no_grad():
        p_real = model(torch.from_numpy(r_te).float()) > 0
        p_fake = model(torch.from_numpy(f_te).float()) <= 0
    acc = float(torch.cat([p_real, p_fake]).float().mean())
    return abs(acc - 0.5)


def boosting_discriminative_score(
    real,
    fake,
    *,
    scale: bool = True,
    differences: bool = True,
    cv: int = 5,
    random_state=None,
) -> float:
    """``|accuracy - 0.5|`` of a gradient-boosting classifier telling real from generated windows.

    A discriminator that the field's small GRU (:func:`discriminative_score`) is not: a
    :class:`~sklearn.ensemble.HistGradientBoostingClassifier` on the flattened windows
    (and, with ``differences=True``, their first differences along time, which expose
    high-frequency noise that the windows' values hide), scored by stratified ``cv``-fold
    cross-validated accuracy on a balanced set (the larger set subsampled to the size
    of the smaller one). 0: indistinguishable; 0.5: always told apart.

    Parameters
    ----------
    real, fake : array-like of shape (n, n_timesteps, n_features) or (n, n_timesteps)
    scale : bool, default=True
        Min-max scale both with the real windows' per-feature range first.
    differences : bool, default=True
        Add the first differences along time to the features.
    cv : int, default=5
        Folds (at least 2).
    random_state : int, RandomState instance or None, default=None
        The subsampling, the folds and the boosting.

    Returns
    -------
    score : float in [0, 0.5]

    Examples
    --------
    >>> import numpy as np
    >>> from sklpriv.metrics import boosting_discriminative_score
    >>> from sklpriv.datasets import make_sines
    >>> real = make_sines(300, random_state=0)
    >>> noisy = real + np.random.RandomState(1).normal(0, 0.05, real.shape)
    >>> boosting_discriminative_score(real, noisy, random_state=0) > 0.3
    True
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    if not isinstance(cv, (int, np.integer)) or cv < 2:
        raise ValueError(f"cv must be an int >= 2; got {cv!r}.")
    real, fake = _pair(real, fake, scale)
    rng = np.random.RandomState(check_torch_seed(random_state))
    n = min(len(real), len(fake))
    if n < cv:
        raise ValueError(f"need at least cv={cv} windows of each kind; got {n}.")
    sets = [d[rng.permutation(len(d))[:n]] for d in (real, fake)]

    def features(w):
        cols = [w.reshape(len(w), -1)]
        if differences:
            cols.append(np.diff(w, axis=1).reshape(len(w), -1))
        return np.concatenate(cols, axis=1)

    X = np.concatenate([features(d) for d in sets])
    y = np.r_[np.ones(n), np.zeros(n)]
    seed = int(rng.randint(2**31 - 1))
    clf = HistGradientBoostingClassifier(random_state=seed)
    folds = StratifiedKFold(cv, shuffle=True, random_state=seed)
    return abs(float(cross_val_score(clf, X, y, cv=folds).mean()) - 0.5)


def predictive_score(
    real, fake, *, scale: bool = True, n_iter: int = 5000, batch_size: int = 128, random_state=None
) -> float:
    """MAE on real windows of a GRU trained on generated ones ("train on synthetic, test
    on real").

    TimeGAN's protocol: a one-layer GRU (hidden ``max(n_features // 2, 1)``) reads the
    first ``n_features - 1`` features up to step ``t`` and predicts the last feature at
    step ``t + 1``; trained ``n_iter`` Adam steps on the generated windows (L1 loss), then
    its mean absolute error over all real windows. Univariate windows: the series
    predicts its own next step.

    Parameters
    ----------
    real, fake : array-like of shape (n, n_timesteps, n_features) or (n, n_timesteps)
    scale : bool, default=True
        Min-max scale both with the real windows' per-feature range first.
    n_iter : int, default=5000
    batch_size : int, default=128
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    mae : float (in [0, 1] units of the real data's range)

    Examples
    --------
    >>> import numpy as np
    >>> from sklpriv.datasets import make_sines
    >>> from sklpriv.metrics import predictive_score
    >>> real = make_sines(300, n_features=3, random_state=0)
    >>> fake = make_sines(300, n_features=3, random_state=1)
    >>> mae = predictive_score(real, fake, n_iter=300, random_state=0)
    >>> 0 <= mae <= 1
    True
    """
    _check_positive("n_iter", n_iter)
    _check_positive("batch_size", batch_size)
    real, fake = _pair(real, fake, scale)
    if real.shape[1] < 2:
        raise ValueError("predictive_score needs windows of at least 2 time steps.")
    C = real.shape[2]

    def split(data):
        x = data[:, :-1, : C - 1] if C > 1 else data[:, :-1]
        return torch.from_numpy(x).float(), torch.from_numpy(data[:, 1:, C - 1 :]).float()

    rng = np.random.RandomState(check_torch_seed(random_state))
    x_f, y_f = split(fake)
    with torch_rng(int(rng.randint(2**31 - 1))):
        model = _GRUHead(x_f.shape[2], max(C // 2, 1), per_step=True)

    def batch():
        idx = rng.randint(len(x_f), size=min(batch_size, len(x_f)))
        return x_f[idx], y_f[idx]

    _train(model, lambda x, y: (torch.sigmoid(model(x)) - y).abs().mean(), batch, n_iter)
    x_r, y_r = split(real)
    with torch.no_grad():
        pred = torch.sigmoid(model(x_r))
    return float((pred - y_r).abs().mean(dim=(1, 2)).mean())


def context_fid(real, fake, *, scale: bool = True, n_iter: int = 200, random_state=None) -> float:
    """Fréchet distance between TS2Vec representations of real and generated windows.

    Diffusion-TS's Context-FID: a TS2Vec encoder (hidden 64, output 320, depth 10) is
    trained on the real windows (``n_iter`` iterations of batch 8), both sets are encoded
    (max over time), and the FID of the two Gaussian fits is returned.

    Parameters
    ----------
    real, fake : array-like of shape (n, n_timesteps, n_features) or (n, n_timesteps)
    scale : bool, default=True
        Min-max scale both with the real windows' per-feature range first.
        At least two windows each.
    n_iter : int, default=200
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    fid : float

    Examples
    --------
    >>> import numpy as np
    >>> from sklpriv.datasets import make_sines
    >>> from sklpriv.metrics import context_fid
    >>> real = make_sines(200, random_state=0)
    >>> noise = np.random.RandomState(0).rand(200, 24, 5)
    >>> context_fid(real, noise, n_iter=20, random_state=0) > context_fid(
    ...     real, make_sines(200, random_state=1), n_iter=20, random_state=0)
    True
    """
    from ._ts2vec import encode, fit_ts2vec

    _check_positive("n_iter", n_iter)
    real, fake = _pair(real, fake, scale)
    if min(len(real), len(fake)) < 2:
        raise ValueError("context_fid needs at least 2 real and 2 generated windows.")
    enc = fit_ts2vec(real, n_iters=n_iter, seed=check_torch_seed(random_state))
    a, b = encode(enc, real), encode(enc, fake)
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(cov_a @ cov_b)
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean))


def _cross_correlation(x):
    """Lag-0 correlations of every feature pair (lower triangle), averaged over windows."""
    x = (x - x.mean(axis=(0, 1))) / np.where(x.std(axis=(0, 1)) > 0, x.std(axis=(0, 1)), 1)
    i, j = np.tril_indices(x.shape[2])
    return (x[..., i] * x[..., j]).mean(axis=(0, 1))


def correlational_score(
    real, fake, *, scale: bool = True, n_samples: int | None = None, random_state=None
) -> float:
    """Absolute difference of the feature cross-correlations of real and generated windows.

    Diffusion-TS's CrossCorrelLoss: features standardised over windows and time, the
    lag-0 cross-correlation of every pair (lower triangle, diagonal included) averaged over
    time and windows; the score is the summed absolute difference divided by 10.

    Parameters
    ----------
    real, fake : array-like of shape (n, n_timesteps, n_features) or (n, n_timesteps)
    scale : bool, default=True
        Min-max scale both with the real windows' per-feature range first.
    n_samples : int or None, default=None
        Compare random subsets of this many windows of each set (the field's protocol
        uses a fifth of the real windows per repeat); ``None``: all windows.
    random_state : int, RandomState instance or None, default=None
        Draws the subsets.

    Returns
    -------
    score : float

    Examples
    --------
    >>> from sklpriv.datasets import make_sines
    >>> from sklpriv.metrics import correlational_score
    >>> real = make_sines(500, random_state=0)
    >>> correlational_score(real, real)
    0.0
    """
    real, fake = _pair(real, fake, scale)
    if n_samples is not None:
        _check_positive("n_samples", n_samples)
        rng = np.random.RandomState(check_torch_seed(random_state))
        real = real[rng.choice(len(real), min(n_samples, len(real)), replace=False)]
        fake = fake[rng.choice(len(fake), min(n_samples, len(fake)), replace=False)]
    return float(np.abs(_cross_correlation(fake) - _cross_correlation(real)).sum() / 10)
