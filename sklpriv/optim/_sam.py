"""Sharpness-aware minimisation (Foret et al., ICLR 2021) as a wrapper of any optimiser."""

from __future__ import annotations

from collections.abc import Callable

import torch


def _grad_norm(tensors) -> torch.Tensor:
    norms = [t.norm(2) for t in tensors if t is not None]
    if not norms:
        return torch.tensor(0.0)
    return torch.norm(torch.stack(norms), 2)


class SAM:
    """Sharpness-aware minimisation around any torch optimiser.

    Each step evaluates the gradient at the ascent point ``w + rho * g / ||g||`` and
    applies it at ``w`` with the wrapped optimiser (``normalize=False``: at ``w + rho *
    g``, the unnormalised SAM of Andriushchenko and Flammarion). Two ways to use it:

    - ``step(closure)``, where ``closure`` zeroes the gradients, computes the loss, calls
      ``backward()`` and returns the loss (evaluated twice per step);
    - ``first_step()`` after a first backward pass, a second forward/backward, then
      ``second_step()``.

    Near a saddle with Hessian eigenvalues ``l``, the unnormalised SAM step is linear,
    ``w <- w - lr (H + rho H^2) w``: the eigenvalues of its flow are ``l (1 + rho l)``,
    and the saddle becomes an attractor when ``rho > -1 / l_min`` (Kim, Park, Choi, Lee,
    "Stability analysis of sharpness-aware minimization"). Normalised SAM has a fixed
    ascent radius, which pins it to the saddle once the gradient there is small compared
    with ``rho``; momentum in the base optimiser helps either escape, and minibatch noise
    (small batches) too. ``examples/plot_sam_saddle.py`` draws all three.

    Parameters
    ----------
    base_optimizer : torch.optim.Optimizer
        The optimiser that takes the step (e.g. ``torch.optim.SGD(params, lr, momentum)``).
    rho : float, default=0.05
        Radius of the ascent step (>= 0); ``rho=0`` is the base optimiser.
    normalize : bool, default=True
        Normalise the ascent step by the gradient norm (Foret et al.); ``False``: the
        unnormalised SAM, whose ascent step is ``rho * g``.

    References
    ----------
    .. [1] P. Foret, A. Kleiner, H. Mobahi, B. Neyshabur. "Sharpness-Aware Minimization
       for Efficiently Improving Generalization." ICLR 2021.

    Examples
    --------
    >>> import torch
    >>> from sklpriv.optim import SAM
    >>> w = torch.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = SAM(torch.optim.SGD([w], lr=0.1), rho=0.05)
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = (w ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> for _ in range(100):
    ...     _ = opt.step(closure)
    >>> float(w.detach().norm()) < 0.1
    True
    """

    def __init__(
        self, base_optimizer: torch.optim.Optimizer, rho: float = 0.05, normalize: bool = True
    ):
        if not isinstance(base_optimizer, torch.optim.Optimizer):
            raise TypeError(
                "base_optimizer must be a torch.optim.Optimizer instance, e.g. "
                f"torch.optim.SGD(params, lr=0.1); got {type(base_optimizer).__name__}."
            )
        if rho < 0:
            raise ValueError(f"rho must be >= 0; got {rho}.")
        self.base_optimizer = base_optimizer
        self.rho = rho
        self.normalize = normalize
        self._e: list[tuple[torch.Tensor, torch.Tensor]] = []

    @property
    def param_groups(self):
        return self.base_optimizer.param_groups

    @property
    def state(self):
        return self.base_optimizer.state

    def _params(self):
        return [p for g in self.param_groups for p in g["params"] if p.grad is not None]

    @torch.no_grad()
    def first_step(self, zero_grad: bool = True) -> None:
        """Move to the ascent point ``w + rho * g / ||g||`` (``g``: the current gradients;
        ``w + rho * g`` unnormalised).
        """
        params = self._params()
        scale = torch.tensor(self.rho)
        if self.normalize:
            scale = self.rho / (_grad_norm([p.grad for p in params]) + 1e-12)
        self._e = []
        for p in params:
            e = p.grad * scale.to(p.device)
            p.add_(e)
            self._e.append((p, e))
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def second_step(self, zero_grad: bool = True) -> None:
        """Return to ``w`` and step the base optimiser with the ascent-point gradients."""
        for p, e in self._e:
            p.sub_(e)
        self._e = []
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        """One SAM step; ``closure`` computes the loss and its gradients.

        Parameters
        ----------
        closure : callable
            Zeroes the gradients, computes the loss, calls ``backward()``, returns the loss.

        Returns
        -------
        loss : torch.Tensor
            The loss at ``w`` (before the step).
        """
        if closure is None:
            raise ValueError("SAM.step needs a closure that recomputes the loss.")
        with torch.enable_grad():
            loss = closure()
        self.first_step(zero_grad=True)
        with torch.enable_grad():
            closure()
        self.second_step(zero_grad=False)
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Zero the gradients of the wrapped optimiser's parameters."""
        self.base_optimizer.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        """The wrapped optimiser's state."""
        return {"base": self.base_optimizer.state_dict(), "rho": self.rho}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the wrapped optimiser's state."""
        self.base_optimizer.load_state_dict(state_dict["base"])
        self.rho = state_dict["rho"]
