"""The benchmark drivers that need something outside the project skip cleanly without it."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[1] / "benchmarks"


def test_reference_driver_skips_without_a_checkout(tmp_path):
    script = BENCH / "bench_timebridge_reference.py"
    for extra in ([], ["--reference", str(tmp_path)]):  # none given; not a checkout
        out = subprocess.run(
            [sys.executable, str(script), *extra, "--work", str(tmp_path / "w")],
            cwd=BENCH,
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.startswith("skipped: --reference")
    assert not (tmp_path / "w").exists()  # nothing prepared, nothing run
