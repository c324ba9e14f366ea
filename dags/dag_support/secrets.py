"""Platform tokens from Airflow Connections, for deployments that keep secrets in Airflow.

The pipeline reads tokens from environment variables (`SOCIALPULSE_META_TOKEN`,
`SOCIALPULSE_YOUTUBE_TOKEN`, `SOCIALPULSE_SNAPCHAT_TOKEN`, or the variable an account names with
`token_env`). When such a
variable is not set in the worker, a fetch task looks for an Airflow Connection whose id is the
variable's name in lower case (e.g. `socialpulse_meta_token`) and exports its password into the
task process only. Airflow's secrets masker then hides the value in every log line; plans and
XComs only ever carry the variable's name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

DEFAULT_TOKEN_ENVS = ("SOCIALPULSE_META_TOKEN", "SOCIALPULSE_YOUTUBE_TOKEN", "SOCIALPULSE_SNAPCHAT_TOKEN")


def export_tokens_from_connections(chunk: Iterable[dict]) -> list[str]:
    """Fill unset token variables of a chunk's accounts from Airflow Connections; returns their names."""
    from airflow.sdk import Connection

    names = {plan.get("token_env") for plan in chunk if plan.get("token_env")} | set(DEFAULT_TOKEN_ENVS)
    exported = []
    for name in sorted(names):
        if os.environ.get(name):
            continue
        try:
            conn = Connection.get(name.lower())
        except Exception:  # not configured: the account fails as "no token configured", by name
            continue
        if conn.password:
            os.environ[name] = conn.password
            exported.append(name)
    return exported
