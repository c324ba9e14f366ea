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

from tests.conftest import _SESSION_DIR
from tests.drills.harness import format_table

DRILL_DIR = _SESSION_DIR / "drills"
DRILL_LOG = DRILL_DIR / "drills.log"
_MATRIX_KEY = pytest.StashKey[list]()
PROFILE_ORDER = ("none", "flaky", "latency", "5xx", "timeout", "reset", "429", "throttle", "app_limit", "user_limit",
                 "page_limit", "custom_limit", "expired_token", "revoked_token", "truncated", "non_json", "empty",
                 "schema_drift")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "drills_long: slow reliability drills (run in CI by `make test`)")
    config.stash[_MATRIX_KEY] = []


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
    """Rows of the fault matrix (dicts), printed by `pytest_terminal_summary`."""
    return request.config.stash[_MATRIX_KEY]


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    rows = config.stash.get(_MATRIX_KEY, [])
    if not rows:
        return
    order = {p: i for i, p in enumerate(PROFILE_ORDER)}
    rows = sorted(rows, key=lambda r: (order.get(r["profile"], 99), r["mode"] != "nightly"))
    terminalreporter.section("fault matrix (issue 10)")
    terminalreporter.write_line(
        "faults hit facebook page 2, instagram account 3, youtube channel 1 of a 6/6/2 registry; "
        "'lost' = truth values missing or wrong after the clean re-run; 'dups' = duplicate/orphan rows")
    for line in format_table(rows).splitlines():
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def nightly_home(drill_dir):
    """One full nightly chain with faults and hostile registry names (see harness.build_nightly)."""
    from tests.drills.harness import build_nightly

    workdir = drill_dir / "nightly"
    workdir.mkdir(parents=True, exist_ok=True)
    return build_nightly(workdir)
