"""Run the ctgan package's CTGAN or TVAE on a CSV, in ctgan's own environment.

ctgan pins pandas < 3 (through rdt), so it cannot live in sklpriv's venv: bench_diffusion
calls this script with the Python of a separate venv (torch==2.13.0 + ctgan; see the
Makefile's ``peers`` target) and reads the samples back.

    python ctgan_peer.py MODEL train.csv out.csv N_SAMPLES SEED DISCRETE_COLUMN ...
"""

import json
import sys
import time

import pandas as pd
import torch


def main():
    model, train, out, n, seed, *discrete = sys.argv[1:]
    from ctgan import CTGAN, TVAE

    torch.manual_seed(int(seed))
    df = pd.read_csv(train)
    est = CTGAN() if model == "CTGAN" else TVAE()  # default settings
    t0 = time.perf_counter()
    est.fit(df, discrete_columns=discrete)
    fit_s = time.perf_counter() - t0
    est.sample(int(n)).to_csv(out, index=False)
    print(json.dumps({"fit_seconds": fit_s}))


if __name__ == "__main__":
    main()
