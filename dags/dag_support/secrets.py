"""Platform tokens from Airflow Connections, for deployments that keep secrets in Airflow.

The pipeline reads tokens from environment variables (`SOCIALPULSE_META_TOKEN`,
`SOCIALPULSE_YOUTUBE_TOKEN`, `SOCIALPULSE_SNAPCHAT_TOKEN`, or the variable an account names with
`token_env`). When such a
variable is not set in the worker, a fetch task looks for an Airflow Connection whose id is the
variable's name in lower case (e.g. `socialpulse_meta_token`) and exports its password into the
task process only. Airflow's secrets masker then hides the value in every log line; plans and
XComs only ever carry the variable's name.

YouTube refresh credentials may instead be kept as the JSON written by `socialpulse youtube
authorize`, in the extra of Connection `socialpulse_youtube` (docs/setup-youtube.md). When no
secrets file is configured in the worker, that JSON is written to a private file (0600, in a
0700 temporary folder, removed when the task process exits) and `SOCIALPULSE_YOUTUBE_SECRETS`
points the fetch at it.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

DEFAULT_TOKEN_ENVS = (
    "SOCIALPULSE_META_TOKEN", "SOCIALPULSE_YOUTUBE_TOKEN", "SOCIALPULSE_SNAPCHAT_TOKEN",
    # YouTube refresh credentials (ingestion/sources/youtube_auth.py mints access tokens from them)
    "SOCIALPULSE_YOUTUBE_REFRESH_TOKEN", "SOCIALPULSE_YOUTUBE_CLIENT_ID", "SOCIALPULSE_YOUTUBE_CLIENT_SECRET",
)


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
    if export_youtube_secrets_from_connection():
        exported.append("SOCIALPULSE_YOUTUBE_SECRETS")
    return exported


YOUTUBE_CONNECTION = "socialpulse_youtube"


def export_youtube_secrets_from_connection() -> bool:
    """Materialise Connection `socialpulse_youtube`'s JSON extra as this process's secrets file.

    Does nothing when the worker already names a secrets file or has the default one, or when the
    Connection is absent or empty. Returns whether it exported.
    """
    from airflow.sdk import Connection

    from ingestion.onboarding import youtube_oauth
    from ingestion.sources import google_oauth

    if os.environ.get(google_oauth.SECRETS_ENV) or google_oauth.secrets_path().exists():
        return False
    try:
        extra = Connection.get(YOUTUBE_CONNECTION).extra
    except Exception:  # not configured: channels fall back to the access-token variables
        return False
    if not extra:
        return False
    data = json.loads(extra) if isinstance(extra, str) else extra
    folder = tempfile.mkdtemp(prefix="socialpulse-youtube-")  # mode 0700
    atexit.register(shutil.rmtree, folder, True)
    path = Path(folder) / "youtube.json"
    youtube_oauth.save_secrets(path, data)  # mode 0600, atomic
    os.environ[google_oauth.SECRETS_ENV] = str(path)
    return True
