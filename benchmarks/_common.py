"""Helpers shared by the benchmark scripts: data folder, result tables."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def data_dir(arg: str | None = None) -> Path:
    """The benchmark data folder: --data, $SKLPRIV_DATA, or ../shared/data."""
    path = Path(arg or os.environ.get("SKLPRIV_DATA") or Path(__file__).parents[2] / "shared/data")
    return path


def mean_std(values) -> str:
    v = np.asarray(values, dtype=float)
    return f"{v.mean():.3f} ± {v.std():.3f}"


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write_result(name: str, title: str, body: str, command: str) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.md"
    stamp = time.strftime("%Y-%m-%d %H:%M")
    machine = f"{platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_version()}"
    path.write_text(f"# {title}\n\nCommand: `{command}`  \nRun: {stamp}, {machine}\n\n{body}\n")
    print(f"\nwritten: {path}")
    return path
