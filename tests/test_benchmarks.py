"""The benchmark drivers that need something outside the project skip cleanly without it."""

import importlib
import sys
from pathlib import Path

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
