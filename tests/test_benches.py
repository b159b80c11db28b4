"""The benchmarks still run against the code they measure: each one, at a size small
enough for the suite, prints its figures and exits 0 (figures are not checked here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL = {
    "bench.oversight": ["--matches", "6", "--weeks", "3"],
    "bench.dispatch": ["--dispatcher-only", "--participants", "20", "--limited", "4"],
    "bench.updates": ["--users", "4", "--limited", "2", "--in-flight", "1"],
}


@pytest.mark.parametrize("module", sorted(SMALL))
def test_a_small_run_of_each_benchmark_succeeds(module: str) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", module, *SMALL[module]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert finished.stdout.strip()
