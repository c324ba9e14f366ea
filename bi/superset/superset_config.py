"""Superset configuration for socialpulse (SUPERSET_CONFIG_PATH points here; bi/superset_bi.py sets it).

State lives in SOCIALPULSE_SUPERSET_STATE ($SOCIALPULSE_HOME/superset): the metadata DB (SQLite, one
host) and the secret key (generated once, mode 600). Nothing secret is in this file.
"""

import os
from pathlib import Path

_STATE = Path(os.environ["SOCIALPULSE_SUPERSET_STATE"])

SECRET_KEY = (_STATE / "secret_key").read_text().strip()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_STATE / 'superset.db'}"

# The published copy is a local DuckDB file: Superset refuses local file databases unless told.
PREVENT_UNSAFE_DB_CONNECTIONS = False

# A new publish must show on the next refresh, so nothing between the browser and the file may keep
# an old answer or an old connection:
# - no result cache (NullCache): a cached chart would keep showing the previous publish;
# - no connection pool: Superset opens database connections with NullPool unless told otherwise
#   (models/core.py, nullpool=True), and our database's extra sets no poolclass. Every query opens the
#   file, so it resolves bi/socialpulse.duckdb anew and gets the copy that the publisher swapped in with
#   an atomic rename; a pooled connection would keep the replaced file open and answer from it.
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
CACHE_DEFAULT_TIMEOUT = 0

# Dashboards come from code (bi/dashboards): examples, telemetry and thumbnails (need Celery) stay off.
SUPERSET_LOAD_EXAMPLES = False
# Charts below the fold are rendered too (no virtualisation): a dashboard is complete once loaded.
FEATURE_FLAGS = {"DASHBOARD_NATIVE_FILTERS": True, "DASHBOARD_VIRTUALIZATION": False, "THUMBNAILS": False,
                 "ALERT_REPORTS": False}
ROW_LIMIT = 50000
SUPERSET_WEBSERVER_TIMEOUT = 120
# Local use over http on a loopback port (docker-compose publishes 127.0.0.1 only).
TALISMAN_ENABLED = False
SESSION_COOKIE_SECURE = False
