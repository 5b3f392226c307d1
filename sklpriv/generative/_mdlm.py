"""MaskedDiffusionLM: a small masked diffusion language model (MDLM, as LLaDA) with
unlearning by Masked Diffusion Unlearning (MDU) and the LLM-unlearning baselines.
"""

from __future__ import annotations

import copy
import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..utils import (
    check_heads,
    check_torch_seed,
    fit_net,
    get_device,
    history_rows,
    map_row_chunks,
    torch_rng,
)

PAD, MASK, SEP, EOS = 0, 1, 2, 3
_SPECIALS = ["[PAD]", "[MASK]", "[SEP]", "[EOS]"]
_LOGIT_ELEMENTS = 2**24  # logits per prediction block (64 MiB of float32)
T_MIN = 1e-3  # the MDLM mask ratio t ~ U[1e-3, 1)
UNLEARNING_METHODS = ("mdu", "ga", "npo", "grad_diff")


def mdlm_loss(logits, targets, masked, t) -> torch.Tensor:
    """Per sequence: the cross-entropy of the masked response positions weighted by
    ``1 / t`` and normalised by the response length (the MDLM bound).

    Parameters
    ----------
    logits : tensor of shape (batch, length, vocabulary)
        The model's logits at the response positions.
    targets : tensor of shape (batch, length)
    masked : bool tensor of shape (batch, length)
    t : tensor of shape (batch,)
        The mask ratios.

    Examples
    --------
    >>> import torch
    >>> from sklpriv.generative._mdlm import mdlm_loss
    >>> logits = torch.zeros(1, 2, 4)  # uniform over 4 tokens: CE = ln 4 per position
    >>> loss = mdlm_loss(logits, torch.tensor([[1, 2]]), torch.tensor([[True, False]]),
    ...                  torch.tensor([0.5]))
    >>> round(float(loss), 4)  # ln 4 / 0.5 / 2
    1.3863
    """
    ce = nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    return (ce * masked).sum(1) / t / targets.shape[1]


def mdu_loss(logits_cond, logits_anchor, masked, tau: float) -> torch.Tensor:
    """The mean over the batch's masked positions of
    ``KL(softmax(l_c) || softmax(tau l_0))``, ``l_0`` the anchor's (detached) logits.

    Examples
    --------
    >>> import torch
    >>> from sklpriv.generative._mdlm import mdu_loss
    >>> l = torch.randn(1, 3, 5)
    >>> float(mdu_loss(l, l, torch.ones(1, 3, dtype=torch.bool), tau=1.0))
    0.0
    """
    log_p = nn.functional.log_softmax(logits_cond, dim=-1)
    log_q = nn.functional.log_softmax(tau * logits_anchor.detach(), dim=-1)
    kl = (log_p.exp() * (log_p - log_q)).sum(-1)
    return (kl * masked).sum() / masked.sum().clamp(min=1)


class _Transformer(nn.Module):
    """A bidirectional transformer encoder over token ids, logits over the vocabulary."""

    def __init__(self, vocab: int, d_model: int, n_layers: int, n_heads: int, max_len: int):
        super().__init__()
        self.tokens = nn.Embedding(vocab, d_model)
        self.positions = nn.Embedding(max_len, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, 4 * d_model, dropout=0.0, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.out = nn.Linear(d_model, vocab)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device)
        h = self.encoder(self.tokens(ids) + self.positions(pos), src_key_padding_mask=ids == PAD)
        return self.out(self.norm(h))


class MaskedDiffusionLM(BaseEstimator):
    """A small masked diffusion language model for prompt/response pairs, with
    unlearning (MDU, gradient ascent, NPO, GradDiff).

    ``fit(prompts, responses)`` trains a bidirectional transformer on the MDLM objective
    (LLaDA's): a mask ratio ``t ~ U[1e-3, 1)`` per sequence, each response token masked
    with probability ``t`` (the prompt never), the cross-entropy of the masked positions
    weighted by ``1 / t`` and normalised by the response length. ``predict`` unmasks a
    response block in ``sampling_steps`` steps, committing the most confident positions
    and remasking the rest (LLaDA's low-confidence remasking). ``unlearn`` fine-tunes in
    place: MDU (Sec. 3) minimises, at every masked response position of a forget fact,
    ``KL(p(. | prompt, x_t) || softmax(tau l_0))``, ``l_0`` the logits of the model before
    unlearning given the same state with the whole prompt masked (stop-gradient), plus
    ``retain_weight`` times the training loss on ``retain``. Each ``unlearn`` call
    anchors on the model as it is at that call.

    CPU scale: the paper unlearns billion-parameter MDLMs (LLaDA, Dream) on TOFU; this
    is the same method on a transformer of a few hundred thousand weights and
    :func:`sklpriv.datasets.make_fictitious_facts`. Text is whitespace-tokenised with a
    vocabulary fitted on the training pairs; responses are padded with an end token to
    the longest training response.

    Parameters
    ----------
    d_model : int, default=64
    n_layers : int, default=2
    n_heads : int, default=4
    max_len : int, default=32
        Prompt, separator and response block together.
    vocabulary : list of str or None, default=None
        Tokens added to those of the training pairs (a fixed tokenizer's vocabulary, or
        the whole corpus, so that a model retrained without some facts can still be
        asked about them).
    sampling_steps : int or None, default=None
        Unmasking steps of ``predict`` (``None``: one per response position).
    lr : float, default=1e-3
    batch_size : int, default=64
    max_epochs : int, default=200
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
    callbacks : list of skorch callbacks or None, default=None
    device : str or None, default="cpu"

    Attributes
    ----------
    vocabulary_ : dict
        Token -> id (the special tokens first).
    prompt_len_, response_len_ : int
        The prompt and response blocks.
    module_ : torch.nn.Module
    net_ : sklpriv.utils.LossNet
    history_ : list of dict
    unlearning_history_ : list of dict
        Per unlearning call: ``method``, ``steps``, ``loss`` (last epoch's mean).

    References
    ----------
    .. [1] Lee, Jeong, Kim, Park, Lee. "Masked Diffusion Unlearning."
    .. [2] S. Nie et al. "Large Language Diffusion Models" (LLaDA), 2025.

    Examples
    --------
    >>> from sklpriv.generative import MaskedDiffusionLM
    >>> prompts = ["where is ana ?", "where is bo ?"] * 8
    >>> responses = ["in rome", "in oslo"] * 8
    >>> lm = MaskedDiffusionLM(d_model=16, n_heads=2, max_epochs=60, lr=1e-2,
    ...                        random_state=0).fit(prompts, responses)
    >>> lm.predict(["where is ana ?", "where is bo ?"])
    ['in rome', 'in oslo']
    """

    _parameter_constraints: dict = {
        "d_model": [Interval(Integral, 2, None, closed="left")],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
        "max_len": [Interval(Integral, 3, None, closed="left")],
        "vocabulary": [list, tuple, None],
        "sampling_steps": [Interval(Integral, 1, None, closed="left"), None],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, tuple, None],
        "device": [str, None],
    }

    def __init__(
        self,
        *,
        d_model: int = 64,
        n_layers: int = 2,
        n_heads: int = 4,
        max_len: int = 32,
        vocabulary=None,
        sampling_steps: int | None = None,
        lr: float = 1e-3,
        batch_size: int = 64,
        max_epochs: int = 200,
        random_state=None,
        verbose: int = 0,
        callbacks=None,
        device: str | None = "cpu",
    ):
        self.d_model = d_model
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.max_len = max_len
        self.vocabulary = vocabulary
        self.sampling_steps = sampling_steps
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.device = device

    # ---- fit ----------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, prompts, responses):
        """Train on prompt/response pairs (lists of str, or lists of token lists).

        Parameters
        ----------
        prompts, responses : list of str or list of list of str

        Returns
        -------
        self : MaskedDiffusionLM
        """
        check_heads(self.d_model, self.n_heads)
        P, R = _split(prompts, "prompts"), _split(responses, "responses")
        if len(P) != len(R):
            raise ValueError(f"prompts has {len(P)} rows but responses has {len(R)}.")
        extra = [] if self.vocabulary is None else [[str(t)] for t in self.vocabulary]
        self.vocabulary_ = _vocabulary(P + R + extra)
        self.prompt_len_ = max(map(len, P))
        self.response_len_ = max(map(len, R)) + 1  # room for one end token at least
        self._check_length()
        ids = self._encode(P, R)
        seed = check_torch_seed(check_random_state(self.random_state))
        with torch_rng(seed):
            self.module_ = _Transformer(
                len(self.vocabulary_), self.d_model, self.n_layers, self.n_heads, self.max_len
            )
        self._gen = torch.Generator().manual_seed(seed)
        try:
            self.net_ = self._train(self._training_objective, ids, self.lr, self.max_epochs)
        finally:
            del self._gen
        self.history_ = history_rows(self.net_)
        self.unlearning_history_ = []
        self.module_.cpu().eval()
        return self

    def _check_length(self):
        total = self.prompt_len_ + 1 + self.response_len_
        if total > self.max_len:
            raise ValueError(
                f"prompt ({self.prompt_len_} tokens), separator and response block "
                f"({self.response_len_}) need max_len >= {total}; got max_len={self.max_len}."
            )

    def _train(self, objective, ids, lr, max_epochs, max_steps=None):
        return fit_net(
            self.module_, objective, (ids, None), lr=lr, batch_size=self.batch_size,
            max_epochs=max_epochs, max_steps=max_steps, generator=self._gen,
            user_callbacks=self.callbacks, device=self.device, verbose=self.verbose,
            desc=type(self).__name__,
        )  # fmt: skip

    def _mask(self, ids):
        """MDLM's forward process on the response block: ``(x_t, masked, t)``."""
        n, r = len(ids), self.response_len_
        t = T_MIN + (1 - T_MIN) * torch.rand(n, generator=self._gen)
        masked = torch.rand(n, r, generator=self._gen) < t[:, None]
        t, masked = t.to(ids.device), masked.to(ids.device)
        x = ids.clone()
        x[:, -r:] = torch.where(masked, torch.full_like(masked, MASK, dtype=ids.dtype), ids[:, -r:])
        return x, masked, t

    def _sequence_loss(self, module, ids):
        """Per sequence MDLM loss of a batch, with the masks it drew."""
        x, masked, t = self._mask(ids)
        logits = module(x)[:, -self.response_len_ :]
        return mdlm_loss(logits, ids[:, -self.response_len_ :], masked, t), x, masked

    def _training_objective(self, module, ids, y, training):
        return self._sequence_loss(module, ids)[0].mean()

    # ---- encoding -----------------------------------------------------------------------
    def _encode(self, P, R=None, name="prompts") -> torch.Tensor:
        """Token ids ``(n, max_len)``: prompt, padding, separator, response block."""
        vocab, p, r = self.vocabulary_, self.prompt_len_, self.response_len_
        ids = torch.full((len(P), p + 1 + r), PAD, dtype=torch.long)
        ids[:, p] = SEP
        for i, tokens in enumerate(P):
            if len(tokens) > p:
                raise ValueError(f"{name}[{i}] has {len(tokens)} tokens; at most {p} fit.")
            ids[i, : len(tokens)] = torch.tensor(_lookup(vocab, tokens, name), dtype=torch.long)
        if R is not None:
            ids[:, p + 1 :] = EOS
            for i, tokens in enumerate(R):
                if len(tokens) >= r:
                    raise ValueError(f"responses[{i}] has {len(tokens)} tokens; at most {r - 1}.")
                ids[i, p + 1 : p + 1 + len(tokens)] = torch.tensor(
                    _lookup(vocab, tokens, "responses"), dtype=torch.long
                )
        return ids

    def _decode(self, ids) -> list[str]:
        words = list(self.vocabulary_)
        out = []
        for row in ids.tolist():
            tokens = []
            for i in row:
                if i == EOS:
                    break
                tokens.append(words[i])
            out.append(" ".join(tokens))
        return out

    # ---- prediction ---------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, prompts) -> list[str]:
        """Responses by iterative unmasking with low-confidence remasking.

        Parameters
        ----------
        prompts : list of str or list of list of str

        Returns
        -------
        responses : list of str
        """
        check_is_fitted(self)
        x = self._encode(_split(prompts, "prompts"))
        x[:, -self.response_len_ :] = MASK
        return self._decode(map_row_chunks(self._unmask, x, self._rows_per_block(x)))

    def _rows_per_block(self, x) -> int:
        """Rows whose logits (positions x vocabulary) fit the prediction budget."""
        return max(1, _LOGIT_ELEMENTS // (x.shape[1] * len(self.vocabulary_)))

    def _unmask(self, x):
        """Iterative unmasking of a block of rows (every row has the same number of
        masked positions at every step, so a row's result does not depend on the block).
        """
        r = self.response_len_
        steps = self.sampling_steps or r
        for step in range(steps):
            still = x[:, -r:] == MASK
            if not still.any():
                break
            logits = self.module_(x)[:, -r:]
            logits[..., [PAD, MASK, SEP]] = -torch.inf  # only words and the end token
            conf, best = logits.softmax(-1).max(-1)
            conf = torch.where(still, conf, torch.full_like(conf, -1.0))
            k = math.ceil(int(still.sum(1).max()) / (steps - step))
            top = conf.topk(k, dim=1).indices
            commit = torch.zeros_like(still).scatter_(1, top, True) & still
            x[:, -r:] = torch.where(commit, best, x[:, -r:])
        return x[:, -r:]

    @torch.no_grad()
    def token_probabilities(self, prompts, responses) -> np.ndarray:
        """The true-token probability at every response position, the whole response
        masked (the first denoising step's prediction); NaN past each response.

        Returns
        -------
        probabilities : ndarray of shape (n_samples, response_len_ - 1)
        """
        check_is_fitted(self)
        R = _split(responses, "responses")
        ids = self._encode(_split(prompts, "prompts"), R)
        x = ids.clone()
        x[:, -self.response_len_ :] = MASK

        def true_probs(rows):  # rows of (masked input, true ids), one block at a time
            probs = self.module_(rows[:, 0])[:, -self.response_len_ :].softmax(-1)
            return probs.gather(-1, rows[:, 1, -self.response_len_ :, None])[..., 0]

        pairs = torch.stack([x, ids], dim=1)
        true = map_row_chunks(true_probs, pairs, self._rows_per_block(x)).numpy()
        out = np.full((len(R), self.response_len_ - 1), np.nan)
        for i, tokens in enumerate(R):
            out[i, : len(tokens)] = true[i, : len(tokens)]
        return out

    def score(self, prompts, responses) -> float:
        """Exact match of :meth:`predict` against ``responses``."""
        pred = self.predict(prompts)
        truth = [" ".join(t) for t in _split(responses, "responses")]
        return float(np.mean([a == b for a, b in zip(pred, truth, strict=True)]))

    # ---- unlearning ---------------------------------------------------------------------
    def unlearn(
        self,
        forget,
        retain=None,
        *,
        method: str = "mdu",
        tau: float = 1.0,
        retain_weight: float = 1.0,
        beta: float = 0.2,
        max_steps: int = 100,
        lr: float | None = None,
    ):
        """Unlearn the ``forget`` pairs in place (and keep ``retain``).

        Parameters
        ----------
        forget : tuple (prompts, responses)
        retain : tuple (prompts, responses) or None, default=None
            Kept by ``retain_weight`` times the training loss (MDU, NPO, GradDiff).
        method : {"mdu", "ga", "npo", "grad_diff"}, default="mdu"
            MDU; gradient ascent (the negated 1/t-weighted masked NLL); NPO
            (``-(2/beta) log sigmoid(beta (L - L_ref))``); GradDiff (GA plus retain).
        tau : float, default=1.0
            MDU's anchor temperature (0: a uniform target).
        retain_weight : float, default=1.0
        beta : float, default=0.2
            NPO's inverse temperature.
        max_steps : int, default=100
        lr : float or None, default=None
            ``None``: the fit's ``lr``.

        Returns
        -------
        self : MaskedDiffusionLM
        """
        check_is_fitted(self)
        if method not in UNLEARNING_METHODS:
            raise ValueError(f"method must be one of {UNLEARNING_METHODS}; got {method!r}.")
        if not isinstance(max_steps, Integral) or max_steps < 1 or tau < 0 or beta <= 0:
            raise ValueError("max_steps must be a positive int, tau >= 0 and beta > 0.")
        if retain_weight < 0 or (lr is not None and lr <= 0):
            raise ValueError("retain_weight must be >= 0 and lr > 0.")
        if method == "grad_diff" and retain is None:
            raise ValueError(
                "method='grad_diff' is gradient ascent plus a retain term: pass retain."
            )
        F = self._encode(_split(forget[0], "forget prompts"), _split(forget[1], "forget"))
        Rt = None
        if retain is not None and method != "ga":
            Rt = self._encode(_split(retain[0], "retain prompts"), _split(retain[1], "retain"))
        # the model as it is at this call (a second call anchors on the unlearned one)
        anchor = copy.deepcopy(self.module_).to(get_device(self.device))
        anchor.eval().requires_grad_(False)
        seed = check_torch_seed(check_random_state(self.random_state))
        self._gen = torch.Generator().manual_seed(seed + len(self.unlearning_history_) + 1)
        try:
            objective = self._unlearning_objective(method, anchor, Rt, tau, retain_weight, beta)
            epochs = math.ceil(max_steps / math.ceil(len(F) / self.batch_size))
            net = self._train(objective, F, self.lr if lr is None else lr, epochs, max_steps)
        finally:
            del self._gen
        rows = history_rows(net)
        steps = sum(len(h["batches"]) for h in net.history)
        self.unlearning_history_.append(
            {"method": method, "steps": steps, "loss": float(rows[-1]["train_loss"])}
        )
        self.module_.cpu().eval()
        return self

    def _unlearning_objective(self, method, anchor, retain, tau, weight, beta):
        def objective(module, ids, y, training):
            loss = self._forget_loss(method, module, anchor, ids, tau, beta)
            if retain is not None and weight > 0:
                n = min(len(retain), len(ids))
                idx = torch.randint(len(retain), (n,), generator=self._gen)
                kept = self._sequence_loss(module, retain[idx].to(ids.device))[0]
                loss = loss + weight * kept.mean()
            return loss

        return objective

    def _forget_loss(self, method, module, anchor, ids, tau, beta):
        """The forget term of a batch: MDU's KL to the prompt-masked anchor, GA's negated
        MDLM loss, or NPO's ``-(2/beta) log sigmoid(beta (L - L_ref))``.
        """
        r = self.response_len_
        x, masked, t = self._mask(ids)
        logits = module(x)[:, -r:]
        if method == "mdu":
            x0 = x.clone()
            prompt = x0[:, : self.prompt_len_]
            x0[:, : self.prompt_len_] = torch.where(prompt == PAD, prompt, MASK)
            with torch.no_grad():
                l0 = anchor(x0)[:, -r:]  # the unconditional anchor: the prompt masked
            return mdu_loss(logits, l0, masked, tau)
        nll = mdlm_loss(logits, ids[:, -r:], masked, t)
        if method == "npo":
            with torch.no_grad():
                ref = mdlm_loss(anchor(x)[:, -r:], ids[:, -r:], masked, t)
            return -(2 / beta) * nn.functional.logsigmoid(beta * (nll - ref)).mean()
        return -nll.mean()  # "ga" and "grad_diff" (its retain term is added outside)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = True
        return tags


def _split(texts, name: str) -> list[list[str]]:
    """Whitespace tokens of each text (token lists pass through); none may be empty."""
    if isinstance(texts, str) or not hasattr(texts, "__len__"):
        raise ValueError(f"{name} must be a list of texts; got {type(texts).__name__}.")
    out = [t.split() if isinstance(t, str) else [str(w) for w in t] for t in texts]
    if not out:
        raise ValueError(f"{name} is empty.")
    for i, tokens in enumerate(out):
        if not tokens:
            raise ValueError(f"{name}[{i}] is empty: every text needs a token.")
    return out


def _vocabulary(token_lists) -> dict:
    vocab = {tok: i for i, tok in enumerate(_SPECIALS)}
    for tokens in token_lists:
        for tok in tokens:
            if tok in _SPECIALS:
                raise ValueError(f"the token {tok!r} is reserved.")
            vocab.setdefault(tok, len(vocab))
    return vocab


def _lookup(vocab: dict, tokens, name: str) -> list[int]:
    missing = [t for t in tokens if t not in vocab]
    if missing:
        raise ValueError(f"{name} has tokens outside the fitted vocabulary: {missing[:5]}.")
    return [vocab[t] for t in tokens]
