"""Production-shaped Airflow for the real-scheduler tests and the Airflow benchmark: a throw-away
PostgreSQL cluster (metadata DB and Celery result backend), a throw-away Redis (Celery broker), and
Airflow's components as separate processes - api-server, scheduler, dag-processor, triggerer and
two `airflow celery worker`s - the shape docker-compose.yml deploys.

Why not `airflow standalone` on SQLite: SQLite takes one writer at a time, and the scheduler, the
API server and the task processes all write the metadata DB. On a loaded machine `airflow backfill
create` failed with `database is locked` (issue 16); Airflow's docs call SQLite development-only.

The two workers stand in for two machines. Each has its own AIRFLOW_HOME and SOCIALPULSE_HOME
scratch folder and its own host name in the task instances (`[core] hostname_callable`). They share
one landing area: the writer host's `landing/` folder, which the other worker sees at its own
`$SOCIALPULSE_HOME/landing` (a symlink here, a shared volume or network mount across machines).
Only the writer host - the first worker, whose SOCIALPULSE_HOME is the stack's folder and holds
`warehouse.duckdb` - consumes the writer queue, so loads, dbt, the mart gate and publishing run
there, one at a time through the `duckdb_writer` pool. Task logs go to one shared folder (the logs
volume of the compose file), so the API server reads every task's log whatever worker ran it.

PostgreSQL refuses to run as root, and tests run as root here: the cluster then belongs to the
`postgres` system user (Debian's package creates it) and is run through `runuser`. It listens on
127.0.0.1 and a free port with its socket in its own folder, runs without fsync (it is thrown
away) and is stopped (`pg_ctl stop -m immediate`) and deleted on exit. Redis keeps nothing on disk.
`.ci/run` installs both with apt; without them the fixtures fail with one line naming the package.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from devtools import devenv
from tests.airflow.standalone import DAG_IDS, STARTUP_S, Stack, StandaloneError, _free_port, _stop, migrate, stack_env

WORKERS = ("worker-a", "worker-b")  # the first one is the writer host
WORKER_CONCURRENCY = 2


class ServiceMissing(RuntimeError):
    """A system package the production-shaped stack needs is not installed."""


def _pg_bin(name: str) -> str:
    """A PostgreSQL server binary: Debian keeps them in /usr/lib/postgresql/<major>/bin, off PATH."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    path = found[-1] if found else shutil.which(name)
    if not path:
        raise ServiceMissing(f"PostgreSQL's {name} not found: install the postgresql package (.ci/run does)")
    return path


def _wait_port(port: int, what: str, proc: subprocess.Popen | None = None, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StandaloneError(f"{what} exited ({proc.returncode}) before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise StandaloneError(f"{what} did not listen on 127.0.0.1:{port} within {timeout_s:.0f} s")


@contextlib.contextmanager
def postgres(database: str = "airflow") -> Iterator[dict]:
    """A throw-away PostgreSQL cluster on a free port; yields its SQLAlchemy URL, bin dir and port.

    As root it is owned and run by the `postgres` user (`runuser`): the server refuses root.
    """
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    bindir = Path(initdb).parent
    root = Path(tempfile.mkdtemp(prefix="socialpulse-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise ServiceMissing("running as root needs the `postgres` system user: install the postgresql "
                                 "package (.ci/run does)") from exc
        os.chown(root, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    user = "airflow"
    try:
        subprocess.run([*prefix, initdb, "-D", str(data), "-U", user, "-A", "trust", "-E", "UTF8", "--no-sync",
                        "--no-instructions"], check=True, capture_output=True, text=True)
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200")
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-w", "-t", "120",
                        "-o", options, "start"], check=True, capture_output=True, text=True)
        subprocess.run([*prefix, str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user,
                        database], check=True, capture_output=True, text=True)
        yield {"url": f"postgresql+psycopg2://{user}@127.0.0.1:{port}/{database}", "port": port,
               "bindir": bindir, "user": user, "database": database, "root": root, "data": data}
    except subprocess.CalledProcessError as exc:
        log = (root / "server.log").read_text(errors="replace")[-2000:] if (root / "server.log").exists() else ""
        raise StandaloneError(f"PostgreSQL setup failed: {exc.cmd[len(prefix)]}: {exc.stderr}\n{log}") from exc
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def pg_dump(pg: dict, target: Path) -> Path:
    """The metadata DB as plain SQL text (every table, decompressed), e.g. for the secret scan."""
    with target.open("w", encoding="utf-8") as fh:
        subprocess.run([str(pg["bindir"] / "pg_dump"), "-h", "127.0.0.1", "-p", str(pg["port"]), "-U", pg["user"],
                        pg["database"]], check=True, stdout=fh, stderr=subprocess.PIPE, text=True)
    return target


@contextlib.contextmanager
def redis(root: Path) -> Iterator[str]:
    """A throw-away Redis (no persistence) on a free loopback port; yields its URL."""
    server = shutil.which("redis-server")
    if not server:
        raise ServiceMissing("redis-server not found: install the redis-server package (.ci/run does)")
    port = _free_port()
    root.mkdir(parents=True, exist_ok=True)
    with (root / "redis.log").open("a", encoding="utf-8") as fh:
        proc = subprocess.Popen([server, "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                 "--appendonly", "no", "--dir", str(root)], stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait_port(port, "redis-server", proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)


class CeleryStack(Stack):
    """The running components; `kill_worker` is the drill's kill -9 of one worker machine."""

    def __init__(self, home: Path, env: dict[str, str], procs: dict[str, subprocess.Popen], api: str,
                 logs: Path, pg: dict) -> None:
        super().__init__(home, env, procs.get("scheduler"), api, logs / "scheduler.log")
        self.procs, self.logs, self.pg = procs, logs, pg
        self.killed: set[str] = set()
        self.worker_homes: dict[str, Path] = {}

    def dead(self) -> str | None:
        for name, proc in self.procs.items():
            if name not in self.killed and proc.poll() is not None:
                return f"{name} exited ({proc.returncode})"
        return None

    def tail(self, lines: int = 25) -> str:
        out = []
        for name in self.procs:
            path = self.logs / f"{name}.log"
            if path.exists():
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()
                out.append(f"--- {name}.log\n" + "\n".join(text[-lines:]))
        return "\n".join(out)

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker's whole process group (its main process, pool processes and running
        tasks): the machine is gone, nothing gets to clean up or report."""
        os.killpg(self.procs[name].pid, signal.SIGKILL)
        self.procs[name].wait(timeout=30)
        self.killed.add(name)

    def dump_metadata(self, target: Path) -> Path:
        return pg_dump(self.pg, target)


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("a", encoding="utf-8") as fh:
        return subprocess.Popen([str(devenv.BIN / "airflow"), *args], env=env, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _workers_ready(stack: CeleryStack, names: tuple[str, ...]) -> bool:
    """Every worker logged Celery's `ready.` line (connected to the broker, consuming its queues)."""
    for name in names:
        path = stack.logs / f"{name}.log"
        if not path.exists() or f"@{name} ready." not in path.read_text(encoding="utf-8", errors="replace"):
            return False
    return True


@contextlib.contextmanager
def celery_stack(home: Path, extra_env: dict[str, str], workers: tuple[str, ...] = WORKERS,
                 concurrency: int = WORKER_CONCURRENCY) -> Iterator[CeleryStack]:
    """PostgreSQL + Redis + every Airflow component + `workers` Celery workers, DAGs parsed.

    `home` is the writer host's SOCIALPULSE_HOME (warehouse, landing, BI copy) and the scheduler's
    AIRFLOW_HOME parent; each other worker gets `home/<name>` as its own scratch space.
    """
    logs = home / "stack-logs"
    logs.mkdir(parents=True, exist_ok=True)
    api_port = _free_port()
    with postgres() as pg, redis(home / "redis") as broker:
        env = stack_env(home, api_port, {
            **devenv.executor_env(pg["url"], broker),
            # One set of secrets for every component (the workers have AIRFLOW_HOMEs of their own,
            # so none may come from a generated airflow.cfg): the API server signs what they present.
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__CORE__PARALLELISM": str(2 * len(workers) * concurrency),
            # The kill drill: a task whose worker died is noticed after 60 s without a heartbeat
            # (default 300) and one queued on it after 90 s (default 600). Shorter values risk
            # false alarms on a loaded 2-core machine.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "90",
            **extra_env,
        })
        migrate(env, logs / "setup.log")
        procs: dict[str, subprocess.Popen] = {}
        stack = CeleryStack(home, env, procs, f"http://127.0.0.1:{api_port}", logs, pg)
        try:
            started = time.monotonic()
            procs["api-server"] = _spawn(["api-server"], env, logs / "api-server.log")
            procs["scheduler"] = _spawn(["scheduler"], env, logs / "scheduler.log")
            stack.proc = procs["scheduler"]
            procs["dag-processor"] = _spawn(["dag-processor"], env, logs / "dag-processor.log")
            procs["triggerer"] = _spawn(["triggerer"], env, logs / "triggerer.log")
            for index, name in enumerate(workers):
                worker_home = home if index == 0 else home / name
                if index:
                    worker_home.mkdir(parents=True, exist_ok=True)
                    (home / "landing").mkdir(exist_ok=True)
                    (worker_home / "landing").symlink_to(home / "landing", target_is_directory=True)
                stack.worker_homes[name] = worker_home
                worker_env = devenv.worker_env(env, worker_home, name, shared_logs=home / "airflow" / "logs")
                procs[name] = _spawn(devenv.worker_args(name, writer=index == 0, concurrency=concurrency),
                                     worker_env, logs / f"{name}.log")
            stack.wait("the DAGs to be parsed", lambda: {d["dag_id"] for d in stack.get("/dags")["dags"]}
                       >= set(DAG_IDS), timeout_s=STARTUP_S)
            stack.wait("both workers to be ready", lambda: _workers_ready(stack, workers), timeout_s=STARTUP_S)
            stack.startup_s = time.monotonic() - started
            yield stack
        finally:
            for proc in reversed(list(procs.values())):
                _stop(proc)
