"""`airflow standalone` as a context manager, for the scheduler test and the Airflow benchmark.

SQLite and the LocalExecutor in a throwaway AIRFLOW_HOME, the API and both log servers on free
loopback ports (the Execution API URL follows the API port), the venv's `bin` on PATH (standalone
spawns `airflow`), simple auth with every user an admin (a local, short-lived instance). The whole
process group is killed on exit.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import requests

from devtools import devenv

REPO = Path(__file__).resolve().parents[2]
POOLS_FILE = REPO / "dags" / "dag_support" / "pools.json"
DAG_IDS = ("socialpulse_nightly", "socialpulse_transform", "socialpulse_backfill")
STARTUP_S, RUN_S = 180, 300


class StandaloneError(AssertionError):
    """Airflow died or a wait ran out of time; the message ends with the log's last lines."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Stack:
    """A running `airflow standalone` with its REST API and log, for polling and assertions."""

    def __init__(self, home: Path, env: dict[str, str], proc: subprocess.Popen, api: str, log: Path) -> None:
        self.home, self.env, self.proc, self.api, self.log = home, env, proc, api, log
        self.http = requests.Session()
        self.startup_s = 0.0

    def get(self, path: str, **params) -> dict:
        resp = self.http.get(f"{self.api}/api/v2{path}", params=params, timeout=30)
        resp.raise_for_status()
        return resp.json()

    def call(self, method: str, path: str, body: dict) -> dict:
        resp = self.http.request(method, f"{self.api}/api/v2{path}", json=body, timeout=30)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()

    def runs(self, dag_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns", order_by="run_after", limit=100)["dag_runs"]

    def wait(self, what: str, predicate: Callable[[], object], timeout_s: float = RUN_S, every_s: float = 2.0):
        """Poll `predicate` until it returns something truthy, the deadline passes or Airflow dies."""
        deadline = time.monotonic() + timeout_s
        while True:
            if (dead := self.dead()) is not None:
                raise StandaloneError(f"{dead} while waiting for {what}\n" + self.tail())
            try:
                value = predicate()
            except requests.RequestException:
                value = None  # the API restarts or is busy: try again until the deadline
            if value:
                return value
            if time.monotonic() > deadline:
                raise StandaloneError(f"timed out after {timeout_s:.0f} s waiting for {what}\n" + self.tail())
            time.sleep(every_s)

    def dead(self) -> str | None:
        """Why the stack cannot go on (a component exited), or None."""
        if self.proc.poll() is not None:
            return f"airflow standalone exited ({self.proc.returncode})"
        return None

    def finished(self, dag_id: str, run_id: str) -> dict | None:
        run = self.get(f"/dags/{dag_id}/dagRuns/{run_id}")
        return run if run["state"] in ("success", "failed") else None

    def assert_success(self, dag_id: str, run: dict) -> None:
        if run["state"] != "success":
            tis = self.get(f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances", limit=200)
            states = {f"{t['task_id']}[{t['map_index']}]": t["state"] for t in tis["task_instances"]}
            raise StandaloneError(f"{dag_id} {run['dag_run_id']} ended {run['state']}: {states}\n"
                                  + self.task_logs(run))

    def task_logs(self, run: dict, lines: int = 30) -> str:
        out = []
        for path in sorted((self.home / "airflow" / "logs").rglob("*.log")):
            if run["dag_run_id"].replace(":", "") in str(path).replace(":", "") or run["dag_id"] in str(path):
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()
                out.append(f"--- {path.relative_to(self.home)}\n" + "\n".join(text[-lines:]))
        return "\n".join(out[-6:])

    def transform_runs_settled(self) -> list[dict] | None:
        """Every transform run finished and no raw event waits for the next one."""
        runs = self.runs("socialpulse_transform")
        if not runs or any(r["state"] not in ("success", "failed") for r in runs):
            return None
        queued = self.get("/dags/socialpulse_transform/assets/queuedEvents")["total_entries"]
        return runs if queued == 0 else None

    def events(self, **filters) -> list[dict]:
        return self.get("/assets/events", limit=100, **filters)["asset_events"]

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


def stack_env(home: Path, api_port: int, settings: dict[str, str]) -> dict[str, str]:
    """The environment of a throwaway local Airflow in `home`: `settings`, then the caller's.

    Ports: the API and the log servers must not collide with other runs on this host, and tasks
    reach the Execution API where the api-server really listens. Connections from the caller's
    environment are dropped (a developer's AIRFLOW_CONN_* must not leak into a test).
    """
    env = devenv.airflow_env(home, {
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",  # a throwaway local instance
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",  # callers unpause deliberately
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        **settings,
    })
    for key in [k for k in env if k.startswith("AIRFLOW_CONN_")]:
        env.pop(key)
    return env


def migrate(env: dict[str, str], log: Path) -> None:
    """Migrate the metadata DB and import every pool of `pools.json` (output to `log`)."""
    devenv.airflow(env, "db", "migrate", log_file=log)
    devenv.airflow(env, "pools", "import", str(POOLS_FILE), log_file=log)


@contextlib.contextmanager
def standalone(home: Path, extra_env: dict[str, str]) -> Iterator[Stack]:
    """Start `airflow standalone` in `home` (data folder and AIRFLOW_HOME) and wait for the DAGs."""
    api_port = _free_port()
    env = stack_env(home, api_port, {
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__CORE__PARALLELISM": "4",  # 2 shared cores
        **extra_env,
    })
    log = home / "standalone.log"
    migrate(env, log)
    with log.open("a", encoding="utf-8") as fh:
        proc = subprocess.Popen([str(devenv.BIN / "airflow"), "standalone"], env=env, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)
    stack = Stack(home, env, proc, f"http://127.0.0.1:{api_port}", log)
    try:
        started = time.monotonic()
        stack.wait("the DAGs to be parsed", lambda: {d["dag_id"] for d in stack.get("/dags")["dags"]}
                   >= set(DAG_IDS), timeout_s=STARTUP_S)
        stack.startup_s = time.monotonic() - started
        yield stack
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the whole process group (standalone and every component and task it started)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):  # children that outlived their parent
        os.killpg(proc.pid, signal.SIGKILL)


