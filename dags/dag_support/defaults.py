"""Default task arguments and pool names shared by the socialpulse DAGs."""

from __future__ import annotations

from datetime import timedelta

# The single DuckDB writer: every task that opens the warehouse read-write runs in this 1-slot pool
# (created by `make airflow-init` / the compose init container).
WRITER_POOL = "duckdb_writer"

DEFAULT_ARGS = {
    "owner": "socialpulse",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=20),
}
