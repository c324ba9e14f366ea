"""Reliability and security drills (issue 10).

- `drills_long` marks the slow drills; `make test` runs them too (CI), a developer can skip them
  with `-m "not drills_long"`.
- Every log record of the drill session (INFO and up, with tracebacks) is written to one file, so
  the security drill can scan what a nightly run would have logged.
- The fault matrix rows collected by the matrix tests are printed as a table at the end of the run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.conftest import _SESSION_DIR, FAULT_MATRIX

DRILL_DIR = _SESSION_DIR / "drills"
DRILL_LOG = DRILL_DIR / "drills.log"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "drills_long: slow reliability drills (run in CI by `make test`)")


@pytest.fixture(scope="session")
def drill_dir() -> Path:
    DRILL_DIR.mkdir(parents=True, exist_ok=True)
    return DRILL_DIR


@pytest.fixture(scope="package", autouse=True)
def drill_log(drill_dir) -> Path:
    """All log records of the drills (what the CLI would log at its INFO level) in one file; only
    while the drills run (package scope), so the rest of `make test` logs as before."""
    handler = logging.FileHandler(DRILL_LOG, encoding="utf-8")
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    try:
        yield DRILL_LOG
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        handler.close()


@pytest.fixture(scope="session")
def fault_matrix(request) -> list:
    """Rows of the fault matrix (dicts), printed at the end of the run (tests/conftest.py)."""
    return request.config.stash[FAULT_MATRIX]


@pytest.fixture(scope="session")
def nightly_home(drill_dir):
    """One full nightly chain with faults and hostile registry names (see harness.build_nightly)."""
    from tests.drills.harness import build_nightly

    workdir = drill_dir / "nightly"
    workdir.mkdir(parents=True, exist_ok=True)
    return build_nightly(workdir)
