"""Airflow pools of socialpulse, defined once in `pools.json` next to this file.

The JSON is the format of `airflow pools import`, so the project's setup (the compose init
container, `make demo`, the scheduler test) creates every pool with one command:

    airflow pools import dags/dag_support/pools.json

A task whose pool does not exist is never scheduled by a real scheduler (it waits silently), so
the DAG policy tests check that every pool a task names is in this file.
"""

from __future__ import annotations

import json
from pathlib import Path

POOLS_FILE = Path(__file__).with_name("pools.json")
POOLS: dict[str, dict] = json.loads(POOLS_FILE.read_text(encoding="utf-8"))

# The single DuckDB writer: every task that opens the warehouse read-write runs in this 1-slot pool.
WRITER_POOL = "duckdb_writer"
# ... and on this queue. Under the CeleryExecutor only the worker on the host that holds the
# warehouse consumes it (`airflow celery worker --queues default,socialpulse_writer`), every other
# worker only `default`: fetches spread over all workers, the warehouse never leaves its disk.
# Local executors ignore queues. Tasks that only read their inputs from XCom stay on `default`.
WRITER_QUEUE = "socialpulse_writer"


def fetch_pool(platform: str) -> str:
    """The pool that bounds concurrent fetch chunks of one platform (sized to its rate limits)."""
    name = f"socialpulse_fetch_{platform}"
    if name not in POOLS:
        raise KeyError(f"no fetch pool for platform {platform!r}: add {name} to {POOLS_FILE.name}")
    return name


def pool_set_commands() -> list[list[str]]:
    """`airflow pools set NAME SLOTS DESCRIPTION` argument lists, for setups that prefer `set`."""
    return [["pools", "set", name, str(spec["slots"]), spec["description"]] for name, spec in POOLS.items()]
