"""Shared fixtures. Airflow reads AIRFLOW_HOME when first imported, so it is set here, before any
test module can import airflow: every test session gets its own Airflow home and data folder."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="socialpulse-tests-"))

os.environ["AIRFLOW_HOME"] = str(_SESSION_DIR / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_SESSION_DIR / 'airflow' / 'airflow.db'}"
os.environ["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] = str(_SESSION_DIR / "airflow" / "logs")
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
(_SESSION_DIR / "airflow").mkdir(parents=True, exist_ok=True)

# The sandbox clock every pipeline test uses: 09:00 Pacific on 2026-11-20, so the last complete
# platform day is 2026-11-19 and a 35-day window crosses the 2026-11-01 DST switch.
SANDBOX_NOW = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
TEST_TOKEN = "sandbox-test-token-0123456789"


@pytest.fixture(scope="session")
def session_dir() -> Path:
    """A folder that lives for the whole test session."""
    return _SESSION_DIR


@pytest.fixture
def sandbox(request):
    """A sandbox Graph API server on a free loopback port, with a pinned clock.

    A test module that needs its own accounts, seed or clock sets `SANDBOX = {...}` (SandboxConfig
    fields over these defaults) instead of overriding the fixture; pipeline_env serves it either way.
    """
    from sandbox.server import SandboxConfig, SandboxServer

    config = {"accounts": 80, "seed": 42, "now": SANDBOX_NOW, "youtube_channels": 10,
              **getattr(request.module, "SANDBOX", {})}
    with SandboxServer(SandboxConfig(**config)) as server:
        yield server


@pytest.fixture
def pipeline_env(tmp_path, sandbox, monkeypatch):
    """Environment for a pipeline run against the sandbox, with its own data folder."""
    monkeypatch.setenv("SOCIALPULSE_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("SOCIALPULSE_ACCOUNTS", str(REPO / "config" / "accounts.yml"))
    monkeypatch.setenv("SOCIALPULSE_GRAPH_URL", sandbox.graph_url)
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_DATA_URL", sandbox.youtube_data_url)
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_ANALYTICS_URL", sandbox.youtube_analytics_url)
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_TOKEN", TEST_TOKEN)
    monkeypatch.setenv("SOCIALPULSE_LOOKBACK_DAYS", "35")
    # never the developer's own stored YouTube refresh credentials (~/.config/socialpulse/youtube.json)
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_SECRETS", str(tmp_path / "youtube-secrets.json"))
    from ingestion.core.settings import load_settings

    return load_settings()


def warehouse_rows(settings, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of one read-only query on the run's warehouse; the connection closes at once (the
    pipeline under test writes next and would wait for a reader's lock)."""
    import duckdb

    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def sized_settings(tmp_path: Path, monkeypatch, sizes: dict[str, int], *, seed: int = 42, extra: str = "",
                   **env: str):
    """Settings over a generated registry of `sizes` accounts per platform (bench.registry) and the
    `extra` registry YAML after them, plus env."""
    from bench.registry import registry_file
    from ingestion.core.settings import load_settings

    monkeypatch.setenv("SOCIALPULSE_ACCOUNTS", str(registry_file(tmp_path, sizes, seed=seed, extra=extra)))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return load_settings()


# --- Running in parallel (`make test` runs `pytest -n 2 --dist loadfile`, pytest-xdist) -------------
# A file is the unit of work: its module fixtures (the Celery stack, a built pipeline) are made once,
# on one worker. The slow tiers go first, so the longest files start at once on both workers and the
# many short files fill in behind them, instead of a 5-minute file starting last and running alone.
SLOW_FIRST = ("scheduler", "e2e", "drills_long")


def pytest_collection_modifyitems(session, config, items):
    """Order files by their slowest marker (scheduler, then e2e, then drills_long, then the rest),
    keeping each file's tests together and in their own order. Deterministic: every xdist worker
    must collect the same list."""
    def rank(item) -> int:
        names = {m.name for m in item.iter_markers()}
        return next((i for i, name in enumerate(SLOW_FIRST) if name in names), len(SLOW_FIRST))

    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    ordered = sorted(files.values(), key=lambda tests: min(rank(t) for t in tests))
    items[:] = [item for tests in ordered for item in tests]


# The fault matrix (tests/drills) is printed at the end of the run. Under xdist its rows are
# collected in the worker processes: each worker hands its rows to the controller when it finishes.
FAULT_MATRIX = pytest.StashKey[list]()


def pytest_configure(config):
    config.stash[FAULT_MATRIX] = []


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):  # an xdist worker
        session.config.workeroutput["fault_matrix"] = json.dumps(session.config.stash[FAULT_MATRIX], default=str)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    rows = getattr(node, "workeroutput", {}).get("fault_matrix")
    if rows:
        node.config.stash[FAULT_MATRIX].extend(json.loads(rows))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    rows = config.stash.get(FAULT_MATRIX, [])
    if rows:
        from tests.drills.harness import print_matrix

        print_matrix(terminalreporter, rows)
