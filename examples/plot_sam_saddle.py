"""
SAM's saddle trap, and how momentum and minibatch noise get it out
==================================================================

Sharpness-aware minimisation (:class:`~sklpriv.optim.SAM`) takes its gradient at an
ascent point ``w + rho g / ||g||``. Kim, Park, Choi and Lee ("Stability analysis of
sharpness-aware minimization") show that near a saddle this can turn the saddle into an
attractor. Three pictures:

1. Beale's function from (1, 2), learning rate 1e-3, 5,000 steps (the paper's case):
   gradient descent reaches the minimum (3, 0.5), SAM with ``rho=0.5`` stops at the saddle
   (0, 1), SAM with momentum 0.9 escapes.
2. The linearised flow: unnormalised SAM near a saddle with Hessian eigenvalues ``l``
   moves as ``w <- w - lr (H + rho H^2) w``, i.e. with eigenvalues ``l (1 + rho l)``. The
   negative one (the escape direction) turns positive once ``rho > -1 / l_min``: the
   saddle then attracts. Shown for the Hessian of Beale's function at its saddle.
3. The stochastic case: a quadratic saddle whose minibatch gradients carry noise, started
   exactly at the saddle. Over 20 seeds, SAM takes longer than SGD to leave it at every
   batch size, larger batches (less noise) take longer for both, and momentum shortens it.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

from sklpriv.optim import SAM


def beale(w):
    x, y = w[0], w[1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def trajectory(rho, momentum, steps=5000, lr=1e-3):
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = SAM(torch.optim.SGD([w], lr=lr, momentum=momentum), rho=rho)

    def closure():
        opt.zero_grad()
        loss = beale(w)
        loss.backward()
        return loss

    path = [w.detach().clone()]
    for _ in range(steps):
        opt.step(closure)
        path.append(w.detach().clone())
    return torch.stack(path).numpy()


# %%
# 1. Trajectories on Beale's function
fig, ax = plt.subplots(figsize=(6, 4.5))
gx, gy = np.meshgrid(np.linspace(-1, 4, 300), np.linspace(-1, 2.5, 300))
ax.contourf(gx, gy, np.log1p(beale(np.stack([gx, gy]))), levels=30, cmap="Greys")
for label, rho, mom in (("GD", 0.0, 0.0), ("SAM rho 0.5", 0.5, 0.0), ("SAM + momentum", 0.5, 0.9)):
    p = trajectory(rho, mom)
    f = float(beale(torch.as_tensor(p[-1])))
    ax.plot(p[:, 0], p[:, 1], lw=2, label=f"{label}: f = {f:.4f}")
ax.plot(0, 1, "rx", ms=10, mew=2, label="saddle (0, 1)")
ax.plot(3, 0.5, "g*", ms=12, label="minimum (3, 0.5)")
ax.set(xlabel="x", ylabel="y", title="Beale from (1, 2): lr 1e-3, 5,000 steps")
ax.legend(loc="lower right", fontsize=8)

# %%
# 2. The linearised flow's eigenvalues l (1 + rho l) at the saddle
H = torch.autograd.functional.hessian(beale, torch.tensor([0.0, 1.0]))
lam = torch.linalg.eigvalsh(H).numpy()
rhos = np.linspace(0, 1.5 * -1 / lam.min(), 200)
fig, ax = plt.subplots(figsize=(6, 4))
for v in lam:
    ax.plot(rhos, v * (1 + rhos * v), label=f"l = {v:.2f}")
ax.axhline(0, color="k", lw=0.8)
ax.axvline(-1 / lam.min(), ls="--", color="r", label=f"rho = -1 / l_min = {-1 / lam.min():.3f}")
ax.set(xlabel="rho", ylabel="l (1 + rho l)", title="the saddle attracts once both are > 0")
ax.legend()

# %%
# 3. Escape time from a noisy quadratic saddle (H = diag(1, -0.5))
H_SADDLE = torch.diag(torch.tensor([1.0, -0.5]))


def escape_time(use_sam, seed, batch, momentum=0.0, lr=0.1, rho=0.3, cap=1500):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(256, 2, generator=g) * 0.5
    z -= z.mean(0)  # the full-batch gradient is H w: only the minibatches are noisy
    w = torch.zeros(2, requires_grad=True)
    base = torch.optim.SGD([w], lr=lr, momentum=momentum)
    opt = SAM(base, rho=rho) if use_sam else base
    for t in range(1, cap + 1):
        zb = z[torch.randint(256, (batch,), generator=g)].mean(0)

        def closure(zb=zb):
            opt.zero_grad()
            loss = 0.5 * w @ H_SADDLE @ w + zb @ w
            loss.backward()
            return loss

        if use_sam:
            opt.step(closure)
        else:
            closure()
            opt.step()
        if abs(float(w.detach()[1])) > 1.0:
            return t
    return cap


batches = [4, 16, 64]
runs = {"SGD": (False, 0.0), "SAM": (True, 0.0), "SAM + momentum 0.9": (True, 0.9)}
fig, ax = plt.subplots(figsize=(6, 4))
for label, (use_sam, mom) in runs.items():
    med = []
    for b in batches:
        times = [escape_time(use_sam, s, b, momentum=mom) for s in range(20)]
        med.append(np.median(times))
        print(f"{label:20s} batch {b:3d}: median escape after {med[-1]:.0f} steps")
    ax.plot(batches, med, "o-", label=label)
ax.set(
    xscale="log", xlabel="batch size", ylabel="median steps to leave the saddle (20 seeds)",
    title="lr 0.1, rho 0.3: SAM lingers, momentum and noise free it",
)  # fmt: skip
ax.legend()
plt.show()
