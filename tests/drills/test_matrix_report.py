"""The fault-matrix table reaches the test report the way CI runs the tests (`.ci/run` -> `make test`
-> `python -m pytest` with pyproject's addopts, output piped, capture on): a child pytest, quiet
(`-q`), runs the cheapest matrix cell, and its output must hold the table with that cell's row
after the test results (`conftest.pytest_terminal_summary`)."""

from __future__ import annotations

import subprocess
import sys

from tests.drills.harness import REPO


def test_the_fault_matrix_table_is_printed_by_a_quiet_captured_pytest_run():
    proc = subprocess.run([sys.executable, "-m", "pytest", "tests/drills/test_fault_matrix.py", "-q", "-k",
                           "none-nightly", "-p", "no:cacheprovider"], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-2000:]
    lines = out.splitlines()
    title = next(i for i, line in enumerate(lines) if "fault matrix (issue 10)" in line)
    header = [c.strip() for c in lines[title + 2].split("|")]
    assert header[:5] == ["profile", "mode", "completed", "failed", "error class"]
    assert {"lost 1st", "silent", "re-run", "lost", "dups"} <= set(header)
    row = dict(zip(header, (c.strip() for c in lines[title + 4].split("|")), strict=True))
    assert (row["profile"], row["mode"], row["completed"], row["failed"], row["lost"], row["dups"]) == (
        "none", "nightly", "14", "0", "0", "0")
    assert lines[-1].startswith("1 passed") and title < len(lines) - 1  # the table sits before the closing line
