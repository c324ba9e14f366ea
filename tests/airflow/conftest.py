"""Fixtures for the Airflow tests: the `scheduler` marker, a migrated metadata DB with the
project's pools, a small account registry, and a local webhook receiver."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
POOLS_FILE = REPO / "dags" / "dag_support" / "pools.json"


def pytest_configure(config):
    # pyproject.toml belongs to the lead; register this suite's marker here (--strict-markers).
    config.addinivalue_line(
        "markers",
        "scheduler: starts PostgreSQL, Redis and Airflow (CeleryExecutor, 2 workers); the real scheduler runs the DAGs"
        " (minutes)",
    )


def write_registry(path: Path, per_platform: int, token_envs: dict[str, str] | None = None) -> Path:
    """A registry with the first `per_platform` Facebook Pages and Instagram accounts of the demo
    registry (their ids exist in a sandbox started with `--accounts >= per_platform`).

    `token_envs` maps an account id to the environment variable that holds its own token.
    """
    registry = yaml.safe_load((REPO / "config" / "accounts.yml").read_text(encoding="utf-8"))
    kept, counts = [], {"facebook": 0, "instagram": 0}
    for account in registry["accounts"]:
        platform = account["platform"]
        if platform in counts and counts[platform] < per_platform:
            counts[platform] += 1
            account = dict(account)
            if token_envs and account["id"] in token_envs:
                account["token_env"] = token_envs[account["id"]]
            kept.append(account)
    ids = {f"{a['platform']}:{a['id']}" for a in kept}
    for account in kept:  # links to accounts left out would not validate
        if account.get("linked") and account["linked"] not in ids:
            account.pop("linked")
    registry["accounts"] = kept
    path.write_text(yaml.safe_dump(registry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def airflow_db():
    """The session's Airflow metadata DB, migrated, with every pool of `pools.json`."""
    subprocess.run([AIRFLOW, "db", "migrate"], check=True, capture_output=True)
    subprocess.run([AIRFLOW, "pools", "import", str(POOLS_FILE)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def dags():
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=str(REPO / "dags"), bundle_path=REPO / "dags")
    assert bag.import_errors == {}
    return bag.dags


class WebhookReceiver:
    """A loopback HTTP server that records every JSON body POSTed to it."""

    def __init__(self) -> None:
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append({"path": self.path, "body": json.loads(body or b"null")})
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    try:
        yield receiver
    finally:
        receiver.close()
