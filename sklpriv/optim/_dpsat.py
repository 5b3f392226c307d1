"""DP-SAT: differentially private sharpness-aware training (Park et al., ICML 2023)."""

from __future__ import annotations

import torch
from opacus.optimizers import DPOptimizer

from ._sam import _grad_norm

_DIRECTIONS = ("gradient", "momentum", "none")


class DPSATOptimizer(DPOptimizer):
    """An opacus ``DPOptimizer`` that takes DP-SAT steps (Park et al. 2023, Alg. 1).

    Per logical step ``t``, with the last privatized gradient ``g~_{t-1}``:

    1. :meth:`perturb` (before the forward pass): ``w~ = w + e_t`` with
       ``e_t = rho * g~_{t-1} / (||g~_{t-1}|| + 1e-16)``; ``e_0 = 0``.
    2. forward/backward at ``w~``: per-sample gradients (opacus).
    3. :meth:`step`: restore ``w = w~ - e_t`` **always**, also on the virtual steps of a
       logical batch split into several physical ones (the reference code restores only on
       real steps and leaks ``(k - 1) e_t`` into the weights); then clip, add noise and
       average (the step's only private query) and step the base optimiser at ``w``.
       ``g~_t`` is kept for the next step.

    With ``direction="momentum"`` (DPSAT-Momentum) the ascent direction is the base
    optimiser's momentum buffer; ``direction="none"`` is plain DP-SGD. No extra privacy:
    the perturbation is built from already released quantities.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        Base optimiser (the paper: SGD with momentum 0.9).
    noise_multiplier, max_grad_norm, expected_batch_size : float, float, int
        As in :class:`opacus.optimizers.DPOptimizer`.
    rho : float, default=0.03
        Radius of the sharpness-aware perturbation.
    direction : {"gradient", "momentum", "none"}, default="gradient"
        Where the perturbation points.
    **kwargs
        Passed to :class:`opacus.optimizers.DPOptimizer` (``generator``, ...). The noise
        is drawn from ``generator``: build it with
        :func:`sklpriv.privacy.noise_torch_generator` from
        :func:`sklpriv.privacy.noise_seed` (OS entropy when ``random_state=None``); a
        generator whose seed is known voids the privacy guarantee.

    Examples
    --------
    >>> import torch
    >>> from opacus import GradSampleModule
    >>> from sklpriv.optim import DPSATOptimizer
    >>> model = GradSampleModule(torch.nn.Linear(3, 1))
    >>> opt = DPSATOptimizer(torch.optim.SGD(model.parameters(), lr=0.1),
    ...                      noise_multiplier=1.0, max_grad_norm=1.0,
    ...                      expected_batch_size=8, rho=0.03)
    >>> X, y = torch.randn(8, 3), torch.randn(8, 1)
    >>> for _ in range(3):
    ...     opt.perturb()
    ...     loss = torch.nn.functional.mse_loss(model(X), y)
    ...     loss.backward()
    ...     opt.step()
    ...     opt.zero_grad()
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        noise_multiplier: float,
        max_grad_norm: float,
        expected_batch_size: int,
        rho: float = 0.03,
        direction: str = "gradient",
        **kwargs,
    ):
        """Wrap ``optimizer``; see the class docstring for the parameters."""
        if rho < 0:
            raise ValueError(f"rho must be >= 0; got {rho}.")
        if direction not in _DIRECTIONS:
            raise ValueError(f"direction must be one of {_DIRECTIONS}; got {direction!r}.")
        super().__init__(
            optimizer,
            noise_multiplier=noise_multiplier,
            max_grad_norm=max_grad_norm,
            expected_batch_size=expected_batch_size,
            **kwargs,
        )
        self.rho = rho
        self.direction = direction
        self.last_private_grad: list[torch.Tensor] | None = None
        self._e: list[torch.Tensor] | None = None

    def _ascent_direction(self) -> list[torch.Tensor] | None:
        if self.direction == "gradient":
            return self.last_private_grad
        if self.direction == "momentum":
            bufs = [
                self.original_optimizer.state.get(p, {}).get("momentum_buffer") for p in self.params
            ]
            return None if any(b is None for b in bufs) else bufs
        return None

    @torch.no_grad()
    def perturb(self, direction: list[torch.Tensor] | None = None) -> None:
        """Move the weights to ``w + rho * d / (||d|| + 1e-16)`` before the forward pass.

        Parameters
        ----------
        direction : list of tensors or None
            Ascent direction per parameter; ``None`` uses the optimiser's own (the last
            privatized gradient, or the momentum buffer). No direction yet: no move.
        """
        if self._e is not None:
            raise RuntimeError("perturb() called twice without step() in between.")
        d = self._ascent_direction() if direction is None else direction
        if d is None or self.rho == 0:
            self._e = []
            return
        scale = self.rho / (_grad_norm(d) + 1e-16)
        self._e = [p.detach().clone() for p in self.params]  # w, restored bit for bit
        for p, di in zip(self.params, d, strict=True):
            p.add_(di * scale)

    @torch.no_grad()
    def restore(self) -> None:
        """Undo :meth:`perturb` exactly (a no-op when the weights are not perturbed)."""
        if self._e:
            for p, w in zip(self.params, self._e, strict=True):
                p.copy_(w)
        self._e = None

    def private_gradient(self) -> bool:
        """Clip, accumulate, noise and scale without stepping (``p.grad`` = the release).

        Returns ``False`` on a virtual step (gradients are only accumulated).
        """
        self.restore()
        return self.pre_step()

    def step(self, closure=None):
        """Restore the weights (always), then the DP step at the unperturbed weights."""
        self.restore()
        if closure is not None:
            with torch.enable_grad():
                closure()
        if not self.pre_step():
            return None
        self.last_private_grad = [p.grad.detach().clone() for p in self.params]
        return self.original_optimizer.step()
