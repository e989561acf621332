"""Every benchmark script runs at a tiny size, so none can rot between the runs that matter.

No thresholds: timings on a shared machine are noise. What is checked is that each script
finishes, prints the JSON it promises, and ends without a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

TINY = {
    "core": ["--seconds", "0.3", "--people", "20", "--conversations", "100"],
    "quiz": ["--members", "12"],
    "broadcast": ["--recipients", "40", "--baseline", "10"],
    "chart": ["--bars", "3", "--repeat", "2"],
    "survey": ["--branches", "2", "--members", "6", "--questions", "4"],
    "mailbox": ["--branches", "2", "--members", "3"],
    "webchat": ["--pages", "10"],
    "scale": ["--members", "400", "--repeat", "1"],
    "board": [
        "--branches",
        "5",
        "--indicators",
        "3",
        "--months",
        "2",
        "--tasks",
        "10",
        "--repeat",
        "1",
    ],
}


@pytest.mark.parametrize("script", sorted(TINY))
def test_bench_script_runs_at_a_tiny_size(script: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / f"{script}.py"), *TINY[script]],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert isinstance(report, dict) and report


def test_bench_smoke_prints_one_line_per_store() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "core.py"),
            *TINY["core"],
            "--only",
            "sqlite",
            "--summary",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    assert figures["store"] == "sqlite"
    assert figures["speedup_over_baseline"] == pytest.approx(
        figures["events_per_second"] / figures["baseline_orm_tx_per_second"], rel=0.05
    )
