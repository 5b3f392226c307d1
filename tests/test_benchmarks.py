"""The benchmark drivers that need something outside the project skip cleanly without it."""

import importlib
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

BENCH = Path(__file__).parents[1] / "benchmarks"


def test_reference_driver_skips_without_a_checkout(tmp_path, monkeypatch, capsys):
    # in-process: a subprocess would pay torch's and sklpriv's imports twice (~15 s)
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.chdir(BENCH)
    driver = importlib.import_module("bench_timebridge_reference")
    try:
        for extra in ([], ["--reference", str(tmp_path)]):  # none given; not a checkout
            driver.main([*extra, "--work", str(tmp_path / "w")])
            assert capsys.readouterr().out.startswith("skipped: --reference")
    finally:
        for name in ("bench_timebridge_reference", "bench_timebridge", "_common"):
            sys.modules.pop(name, None)
    assert not (tmp_path / "w").exists()  # nothing prepared, nothing run


def test_reference_driver_without_the_authors_model(tmp_path, monkeypatch):
    # --no-authors-model: sklpriv's rows only, each scored by both metric codes
    monkeypatch.syspath_prepend(str(BENCH))
    driver = importlib.import_module("bench_timebridge_reference")
    try:
        windows = np.zeros((6, 24, 2))
        monkeypatch.setattr(driver, "load", lambda name, folder: windows)
        monkeypatch.setattr(driver, "our_samples", lambda *a: (windows, 1.0, 2.0))
        monkeypatch.setattr(driver, "reference_samples", lambda *a: (windows, 3.0, 4.0))
        scores = {k: [0.5, 0.5] for k in ("disc", "pred", "fid", "corr", "boost")}
        monkeypatch.setattr(driver, "scored", lambda *a: {"sklpriv": scores, "authors": scores})
        for flag, labels in ((False, ["sklpriv", "authors' code"]), (True, ["sklpriv"])):
            args = SimpleNamespace(
                n_samples=0, variant=[], max_steps=10, threads=1, repeats=2, no_authors_model=flag
            )
            rows = driver.rows_for(args, tmp_path, "sines", tmp_path)
            assert [row[1] for row in rows] == labels
            assert all(len(row) == len(driver.HEADER) for row in rows)
            text = driver.describe(args, {"sines": 6})
            assert ("for both implementations" in text) is not flag
    finally:
        for name in ("bench_timebridge_reference", "bench_timebridge", "_common"):
            sys.modules.pop(name, None)
