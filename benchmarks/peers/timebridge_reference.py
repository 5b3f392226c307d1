"""Run the authors' TimeBridge code (JinseongP/TimeBridge) as a peer, on the CPU.

This script runs with the Python of a separate venv that has the reference's own
dependencies (TensorFlow 2.15 for its GRU metrics, numpy < 2, ema-pytorch 0.2.1, einops,
numba, statsmodels, seaborn; see the Makefile's ``peers-timebridge`` target), from the
root of a *patched copy* of a checkout that ``bench_timebridge_reference.py`` prepares
(``.cuda()`` -> CPU, the context-FID's ``device=0`` -> ``"cpu"``). Nothing of the
reference is copied into sklpriv.

    python timebridge_reference.py train  DATA STEPS THREADS
    python timebridge_reference.py sample DATA STEPS N SEED OUT.npy THREADS
    python timebridge_reference.py metrics REAL.npy FAKE.npy REPEATS OUT.json THREADS

``train`` and ``sample`` call the reference's own ``main.py`` (its published settings for
the data set, ``solver.max_epochs STEPS``); ``sample`` draws N windows through its
``Trainer.sample`` and records the seconds. ``metrics`` scores windows in [0, 1] with the
reference's own discriminative (TF GRU), predictive (TF GRU), context-FID (its TS2Vec)
and cross-correlation code, ``REPEATS`` times as its ``--eval`` does.
"""

import json
import runpy
import sys
import time
import types

import numpy as np

# The published best settings (the repository's notebook run/01_Unconditional_Generation)
SETTINGS = {
    "sines": ["--beta_min", "0.2", "--beta_d", "10", "--sigma_data", "0.5", "--var", "1"],
    "stock": ["--beta_min", "0.2", "--beta_d", "10", "--sigma_data", "0.1", "--var", "0.3"],
}
COMMON = (
    "--mode generation --pred_mode vp --sampler sde --prior gp --sigma_min 0.0001 "
    "--sigma_max 1 --model_matching D_matching --kernel_type rbf --bw GAUSSIAN"
).split()


def _stub_unused_imports():
    """torchaudio (STFT transform) and gpytorch are imported at module level but unused
    by unconditional generation; torchaudio must match the torch build, so stub both."""
    for name in ("torchaudio", "torchaudio.transforms", "gpytorch"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["torchaudio"].transforms = sys.modules["torchaudio.transforms"]


def _main(data, steps, extra):
    save_cycle = max(int(steps) // 10, 1)
    sys.argv = ["main.py", "--data", data, "--name", f"{data}_gp_{steps}_BEST"]
    sys.argv += COMMON + SETTINGS[data] + extra
    sys.argv += ["solver.max_epochs", str(steps), "solver.save_cycle", str(save_cycle)]
    runpy.run_path("main.py", run_name="__main__")


def train(data, steps, threads):
    import torch

    torch.set_num_threads(int(threads))
    _stub_unused_imports()
    t0 = time.perf_counter()
    _main(data, steps, ["--train"])
    print(json.dumps({"fit_seconds": time.perf_counter() - t0}))


def sample(data, steps, n, seed, out, threads):
    """N windows from the trained checkpoint through the reference's Trainer.sample."""
    import torch

    torch.set_num_threads(int(threads))
    _stub_unused_imports()
    import engine.solver as solver

    original, record = solver.Trainer.sample, {}

    def timed(self, num, size_every, shape=None):
        torch.manual_seed(int(seed))
        np.random.seed(int(seed))
        t0 = time.perf_counter()
        samples, priors = original(self, int(n), int(n) + 1, shape)  # one batch of n + 1
        record["seconds"] = time.perf_counter() - t0
        record["samples"] = samples[: int(n)]
        return samples, priors

    solver.Trainer.sample = timed
    _main(data, steps, [])
    fake = (record["samples"] + 1) / 2  # the reference's unnormalize_to_zero_to_one
    np.save(out, fake)
    print(json.dumps({"sample_seconds": record["seconds"], "n": int(n)}))


def metrics(real, fake, repeats, out, threads):
    import torch

    torch.set_num_threads(int(threads))
    # predictive_metric disables TF's eager mode at import, before any of them is called
    import Utils.predictive_metric as pm
    from Utils.context_fid import Context_FID
    from Utils.cross_correlation import CrossCorrelLoss, random_choice
    from Utils.discriminative_metric import discriminative_score_metrics

    real, fake = np.load(real), np.load(fake)[: len(np.load(real))]
    scores = {"disc": [], "pred": [], "fid": [], "corr": []}
    for _ in range(int(repeats)):  # as main.py --eval: no seeding between repeats
        scores["fid"].append(float(Context_FID(real, fake)))
        size = len(real) // 5
        i, j = random_choice(len(real), size), random_choice(len(fake), size)
        loss = CrossCorrelLoss(torch.from_numpy(real[i]), name="CrossCorrelLoss")
        scores["corr"].append(float(loss.compute(torch.from_numpy(fake[j]))))
        scores["disc"].append(float(discriminative_score_metrics(real, fake)[0]))
        scores["pred"].append(float(pm.predictive_score_metrics(real, fake)))
    with open(out, "w") as f:
        json.dump(scores, f)


if __name__ == "__main__":
    sys.path.insert(0, ".")  # the reference's top-level packages (engine, Models, Utils)
    command, *rest = sys.argv[1:]
    {"train": train, "sample": sample, "metrics": metrics}[command](*rest)
