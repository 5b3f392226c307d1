import numpy as np
import pytest
import torch
from opacus import GradSampleModule

from sklpriv.optim import SAM, DPSATOptimizer


def beale(w):
    x, y = w[0], w[1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def run_beale(rho, momentum, steps=5000):
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    opt = SAM(torch.optim.SGD([w], lr=1e-3, momentum=momentum), rho=rho)

    def closure():
        opt.zero_grad()
        loss = beale(w)
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    w = w.detach()
    return w, float(beale(w))


def test_sam_stability_on_beale():
    """Kim, Park, Choi, Lee: SAM with rho 0.5 sticks at the saddle (0, 1) of Beale's
    function; momentum 0.9 lets it escape, like plain gradient descent."""
    w_gd, f_gd = run_beale(0.0, 0.0)
    assert f_gd < 0.01  # paper: ~0.0016
    w_sam, f_sam = run_beale(0.5, 0.0)
    assert f_sam == pytest.approx(14.2031, abs=0.05)
    assert torch.allclose(w_sam, torch.tensor([0.0, 1.0]), atol=0.02)
    w_mom, f_mom = run_beale(0.5, 0.9)
    assert f_mom < 0.1  # paper: ~0.03 (it orbits the minimum (3, 0.5) at this rho)
    assert torch.dist(w_mom, torch.tensor([0.0, 1.0])) > 2.0


def test_sam_rho_zero_is_base_optimizer():
    torch.manual_seed(0)
    X, y = torch.randn(32, 4), torch.randn(32, 1)
    nets = [torch.nn.Linear(4, 1) for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    sam = SAM(torch.optim.SGD(nets[0].parameters(), lr=0.1, momentum=0.9), rho=0.0)
    sgd = torch.optim.SGD(nets[1].parameters(), lr=0.1, momentum=0.9)
    for _ in range(5):

        def closure():
            sam.zero_grad()
            loss = torch.nn.functional.mse_loss(nets[0](X), y)
            loss.backward()
            return loss

        sam.step(closure)
        sgd.zero_grad()
        torch.nn.functional.mse_loss(nets[1](X), y).backward()
        sgd.step()
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        assert torch.allclose(a, b)


def test_sam_bad_arguments():
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="torch.optim.Optimizer"):
        SAM([w], rho=0.1)
    with pytest.raises(ValueError, match="rho"):
        SAM(torch.optim.SGD([w], lr=0.1), rho=-1)
    with pytest.raises(ValueError, match="closure"):
        SAM(torch.optim.SGD([w], lr=0.1)).step(None)


def _dp_setup(lr=0.0, rho=0.5, direction="gradient", sigma=1.0):
    torch.manual_seed(0)
    model = GradSampleModule(
        torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    )
    opt = DPSATOptimizer(
        torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9),
        noise_multiplier=sigma,
        max_grad_norm=1.0,
        expected_batch_size=16,
        rho=rho,
        direction=direction,
        generator=torch.Generator().manual_seed(0),
    )
    return model, opt


def _weights(model):
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("direction", ["gradient", "momentum"])
@pytest.mark.parametrize("n_chunks", [1, 4])
def test_lr_zero_keeps_weights_also_with_virtual_steps(direction, n_chunks):
    model, opt = _dp_setup(lr=0.0, direction=direction)
    w0 = _weights(model)
    X, y = torch.randn(16, 5), torch.randint(0, 2, (16,))
    for _ in range(6):
        for i, (xc, yc) in enumerate(zip(X.chunk(n_chunks), y.chunk(n_chunks), strict=True)):
            opt.perturb()
            torch.nn.functional.cross_entropy(model(xc), yc).backward()
            if i < n_chunks - 1:
                opt.signal_skip_step(do_skip=True)
            opt.step()
            opt.zero_grad()
    assert opt.last_private_grad is not None  # perturbations did happen
    for a, b in zip(w0, _weights(model), strict=True):
        assert torch.equal(a, b)


def test_first_step_has_zero_perturbation():
    model, opt = _dp_setup(lr=0.1)
    w0 = _weights(model)
    opt.perturb()  # no privatized gradient yet: e_0 = 0
    for a, b in zip(w0, _weights(model), strict=True):
        assert torch.equal(a, b)
    X, y = torch.randn(16, 5), torch.randint(0, 2, (16,))
    torch.nn.functional.cross_entropy(model(X), y).backward()
    opt.step()
    opt.zero_grad()
    w1 = _weights(model)
    opt.perturb()  # now e_1 = rho * g~_0 / ||g~_0||
    moved = torch.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(w1, _weights(model), strict=True)))
    assert float(moved) == pytest.approx(0.5, rel=1e-4)
    opt.restore()
    for a, b in zip(w1, _weights(model), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(RuntimeError, match="twice"):
        opt.perturb()
        opt.perturb()


def test_dpsat_optimizer_bad_arguments():
    w = torch.nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match="rho"):
        DPSATOptimizer(
            torch.optim.SGD([w], lr=0.1),
            noise_multiplier=1.0,
            max_grad_norm=1.0,
            expected_batch_size=4,
            rho=-0.1,
        )
    with pytest.raises(ValueError, match="direction"):
        DPSATOptimizer(
            torch.optim.SGD([w], lr=0.1),
            noise_multiplier=1.0,
            max_grad_norm=1.0,
            expected_batch_size=4,
            direction="up",
        )


# ---- SAM near a saddle (Kim, Park, Choi, Lee: "Stability analysis of SAM") -------------
H_SADDLE = torch.diag(torch.tensor([1.0, -0.5]))  # eigenvalues 1 and l_min = -0.5


def quadratic_saddle_run(rho, normalize, steps=300, lr=0.05, w0=(0.3, 0.2)):
    w = torch.tensor(w0, requires_grad=True)
    opt = SAM(torch.optim.SGD([w], lr=lr), rho=rho, normalize=normalize)

    def closure():
        opt.zero_grad()
        loss = 0.5 * w @ H_SADDLE @ w
        loss.backward()
        return loss

    for _ in range(steps):
        opt.step(closure)
    return w.detach()


def test_unnormalised_sam_step_is_the_linearised_map():
    """On a quadratic, one unnormalised SAM step is w <- (I - lr (H + rho H^2)) w: its
    flow's eigenvalues are l (1 + rho l)."""
    rho, lr = 0.8, 0.05
    w = quadratic_saddle_run(rho, False, steps=1, lr=lr)
    M = torch.eye(2) - lr * (H_SADDLE + rho * H_SADDLE @ H_SADDLE)
    assert torch.allclose(w, M @ torch.tensor([0.3, 0.2]), atol=1e-7)


@pytest.mark.parametrize("rho, trapped", [(1.0, False), (1.9, False), (2.1, True), (4.0, True)])
def test_the_saddle_attracts_sam_when_rho_exceeds_minus_one_over_l_min(rho, trapped):
    """-1 / l_min = 2: below it SAM escapes along the negative direction, above it the
    saddle is an attractor (both eigenvalues l (1 + rho l) positive)."""
    w = quadratic_saddle_run(rho, False)  # from w_2 = 0.2
    assert (abs(float(w[1])) < 0.2) == trapped, w
    assert abs(float(w[0])) < 1e-2  # the positive direction always contracts


def escape_time(method, seed, batch=8, lr=0.1, momentum=0.0, rho=0.3, cap=600):
    """Steps until a minibatch-noise run started at the saddle w = 0 leaves |w_2| < 1.

    Loss of row i: 0.5 w^T H w + z_i . w with centred z_i ~ N(0, 0.5^2): the full-batch
    gradient is H w, a minibatch adds noise of sd 0.5 / sqrt(batch).
    """
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(256, 2, generator=g) * 0.5
    z -= z.mean(0)
    w = torch.zeros(2, requires_grad=True)
    base = torch.optim.SGD([w], lr=lr, momentum=momentum)
    opt = SAM(base, rho=rho) if method == "sam" else base
    for t in range(1, cap + 1):
        zb = z[torch.randint(256, (batch,), generator=g)].mean(0)

        def closure(zb=zb):
            opt.zero_grad()
            loss = 0.5 * w @ H_SADDLE @ w + zb @ w
            loss.backward()
            return loss

        if method == "sam":
            opt.step(closure)
        else:
            closure()
            opt.step()
        if abs(float(w.detach()[1])) > 1.0:
            return t
    return cap


def test_sam_escapes_a_saddle_later_than_sgd_and_momentum_shortens_it():
    """Same learning rate and batch, 15 seeds: SAM's median escape time exceeds SGD's;
    momentum shortens SAM's."""
    med = {
        name: np.median([escape_time(m, s, momentum=mom) for s in range(15)])
        for name, m, mom in (("sgd", "sgd", 0.0), ("sam", "sam", 0.0), ("sam+mom", "sam", 0.9))
    }
    assert med["sam"] > 1.5 * med["sgd"], med
    assert med["sam+mom"] < med["sam"], med
