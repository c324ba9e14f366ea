"""The local, Docker-free environment used by `make demo` and the end-to-end tests.

It gives Airflow a home under the data folder (SQLite metadata, LocalExecutor defaults), points it
at this repo's `dags/`, creates the single-writer pool, and runs the sandbox as a child process on
a free loopback port. The production shape (PostgreSQL, CeleryExecutor, Redis, workers) is a set of
settings on top (`executor_env`, `worker_env`, `worker_args`), used by the real-scheduler tests and
docker-compose.yml. Nothing here is used by the production pipeline.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def airflow_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for `airflow` commands with an isolated AIRFLOW_HOME under `home`."""
    airflow_home = home / "airflow"
    airflow_home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "SOCIALPULSE_HOME": str(home),
        "GX_ANALYTICS_ENABLED": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.setdefault("SOCIALPULSE_ACCOUNTS", str(REPO / "config" / "accounts.yml"))
    env.update(extra or {})
    return env


# The queue only the writer host's worker consumes (dags/dag_support/pools.py: WRITER_QUEUE, kept
# in step by tests/dags); every worker consumes Airflow's default queue.
WRITER_QUEUE = "socialpulse_writer"
DEFAULT_QUEUE = "default"
CELERY_CONFIG_OPTIONS = "dags.dag_support.celery_config.CELERY_CONFIG"


def executor_env(sql_alchemy_conn: str, broker_url: str) -> dict[str, str]:
    """Airflow settings of the production shape: PostgreSQL metadata DB, CeleryExecutor, Redis broker.

    The Celery result backend is the metadata DB itself (`db+` URL), so only Redis is added. The
    tests' stack (tests/airflow/services.py), the benchmark and docker-compose.yml use these
    settings; tests/test_compose.py checks the compose file against this function.
    """
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + sql_alchemy_conn.replace("postgresql+psycopg2://", "postgresql://"),
        # One task per free pool process: a worker never holds queued tasks another worker could run.
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": DEFAULT_QUEUE,
        # Airflow's Celery settings plus a preload of the task modules in each worker before its pool
        # forks (dags/dag_support/celery_config.py; ingestion/pipeline/preload.py says why).
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": CELERY_CONFIG_OPTIONS,
    }


def worker_args(name: str, writer: bool, concurrency: int = 2) -> list[str]:
    """`airflow celery worker` arguments: the writer host also consumes the writer queue."""
    queues = f"{DEFAULT_QUEUE},{WRITER_QUEUE}" if writer else DEFAULT_QUEUE
    return ["celery", "worker", "--celery-hostname", name, "--queues", queues, "--concurrency", str(concurrency),
            "--skip-serve-logs"]


def worker_env(env: dict[str, str], home: Path, name: str, shared_logs: Path) -> dict[str, str]:
    """One Celery worker's environment on a host of its own: its AIRFLOW_HOME and SOCIALPULSE_HOME
    under `home`, task logs in the shared folder, and `name` as the host name its task instances
    record (several workers on one machine would otherwise all record the same one)."""
    (home / "airflow").mkdir(parents=True, exist_ok=True)
    return {**env, "AIRFLOW_HOME": str(home / "airflow"), "SOCIALPULSE_HOME": str(home),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(shared_logs),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "devtools.devenv.worker_hostname",
            "SOCIALPULSE_WORKER_NAME": name}


def worker_hostname() -> str:
    """`[core] hostname_callable` of the local stand-in workers: SOCIALPULSE_WORKER_NAME, else the FQDN."""
    import socket

    return os.environ.get("SOCIALPULSE_WORKER_NAME") or socket.getfqdn()


def airflow(
    env: dict[str, str], *args: str, check: bool = True, quiet: bool = False, log_file: Path | None = None
) -> subprocess.CompletedProcess:
    """Run the `airflow` CLI of this virtualenv; output to a log file, captured, or inherited.

    With `log_file`, a failure prints the log's last lines so the reason is on screen.
    """
    if log_file is not None:
        with log_file.open("a", encoding="utf-8") as fh:
            fh.write(f"\n$ airflow {' '.join(args)}\n")
            fh.flush()
            proc = subprocess.run([str(BIN / "airflow"), *args], env=env, text=True, stdout=fh,
                                  stderr=subprocess.STDOUT)
        if check and proc.returncode != 0:
            tail = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
            print("\n".join(tail), file=sys.stderr)
            raise subprocess.CalledProcessError(proc.returncode, ["airflow", *args])
        return proc
    return subprocess.run(
        [str(BIN / "airflow"), *args], env=env, check=check, text=True,
        stdout=subprocess.PIPE if quiet else None, stderr=subprocess.STDOUT if quiet else None,
    )


def init_airflow(env: dict[str, str]) -> None:
    """Migrate the metadata DB (needed by dag.test) and create the writer pool; idempotent."""
    airflow(env, "db", "migrate", quiet=True)
    # Every pool the DAGs use (the single writer, per-platform fetch pools): a real scheduler never
    # runs a task whose pool is missing, and says nothing.
    airflow(env, "pools", "import", str(REPO / "dags" / "dag_support" / "pools.json"), quiet=True)


@contextmanager
def sandbox_process(*args: str, timeout_s: float = 30.0) -> Iterator[str]:
    """Run `socialpulse sandbox serve --port 0 ARGS` as a child process; yields its base URL."""
    proc = subprocess.Popen(
        [str(BIN / "socialpulse"), "sandbox", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        url = None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("sandbox listening on "):
                url = line.split("sandbox listening on ", 1)[1].strip()
                break
        if url is None:
            raise RuntimeError(f"the sandbox did not start (exit code {proc.poll()})")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
