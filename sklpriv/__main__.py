"""Command line: ``python -m sklpriv demo|bench|info`` (also the ``sklpriv`` script)."""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
from pathlib import Path


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def info(stream=print) -> int:
    """Print versions of sklpriv and its engines, and the list of estimators."""
    import sklpriv
    from sklpriv.utils import all_estimators

    stream(f"sklpriv      {sklpriv.__version__}")
    stream(f"python       {sys.version.split()[0]}")
    for dist in ("scikit-learn", "torch", "opacus", "sktime", "skorch", "numpy", "pandas"):
        stream(f"{dist:<12} {_version(dist)}")
    ests = all_estimators()
    stream(f"estimators   {len(ests)}")
    for name, cls in ests:
        stream(f"  {name:<24} {cls.__module__.rsplit('._', 1)[0]}")
    return 0


def bench(data: str | None, names: list[str], stream=print) -> int:
    """Run ``benchmarks/bench_<name>.py`` scripts of a source checkout."""
    root = Path.cwd() / "benchmarks"
    scripts = sorted(root.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
    if not scripts:
        stream(f"no benchmark scripts found under {root} (run from a source checkout).")
        return 0 if not names else 1
    status = 0
    for s in scripts:
        stream(f"== {s.name}")
        cmd = [sys.executable, str(s)] + (["--data", data] if data else [])
        status |= subprocess.call(cmd)
    return status


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sklpriv`` command."""
    parser = argparse.ArgumentParser(prog="sklpriv", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("info", help="versions and the list of estimators")
    p_demo = sub.add_parser("demo", help="run every estimator on shipped/generated data")
    p_demo.add_argument("--out", default="sklpriv-demo", help="output folder")
    p_bench = sub.add_parser("bench", help="run the benchmark scripts (source checkout)")
    p_bench.add_argument("names", nargs="*", help="e.g. dpsat dpmorse (default: all)")
    p_bench.add_argument("--data", default=None, help="folder with the benchmark CSVs")
    args = parser.parse_args(argv)
    if args.cmd == "info":
        return info()
    if args.cmd == "demo":
        from sklpriv._demo import run_demo

        return run_demo(args.out)
    return bench(args.data, args.names)


if __name__ == "__main__":
    sys.exit(main())
