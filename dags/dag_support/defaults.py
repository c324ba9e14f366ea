"""Default task arguments and pool names shared by the socialpulse DAGs."""

from __future__ import annotations

import os
from datetime import timedelta

from dag_support.alerts import INCIDENT_NOTIFIER
from dag_support.pools import WRITER_POOL, WRITER_QUEUE, fetch_pool  # noqa: F401  (re-exported for DAG files)
from dag_support.retry import TRANSIENT_ONLY

# Retries with exponential backoff (2 min, 4 min, ... capped at 20 min) for transient errors
# only: the retry policy fails auth/invalid-request errors, failed checks and bugs at once. The
# notifier writes an incident summary when a task has failed for good.
# SOCIALPULSE_RETRY_DELAY_S sets the first delay (read when the DAG files are parsed, so every
# Airflow component must see the same value); the worker drill shortens it to keep CI fast.
RETRY_DELAY = timedelta(seconds=int(os.environ.get("SOCIALPULSE_RETRY_DELAY_S") or 120))
DEFAULT_ARGS = {
    "owner": "socialpulse",
    "retries": 3,
    "retry_delay": RETRY_DELAY,
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(minutes=20),
    "retry_policy": TRANSIENT_ONLY,
    "on_failure_callback": INCIDENT_NOTIFIER,
}
