"""The one platform table: every platform the pipeline knows, and what differs between them.

Why one table: the set of platforms used to be restated in nine places (planner, registry, load
gate, fetch, mart gate, doctor, days, CLI, DAG assets) and a new platform had to be added to each.
Everything that needs "which platforms" or a per-platform fact reads it here. The exceptions,
each with a test that keeps it equal to this table: the DAG files (they import nothing from
`ingestion` at parse time: `dags/dag_support/assets.py`), the dbt project (SQL) and the sandbox
(it plays the platforms, it is not the pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class PlatformInfo:
    """One platform's row."""

    name: str
    # Fetched unless switched off; a switched platform runs only when switched on (Settings.platforms).
    switched: bool
    # Whose calendar its days follow: Meta (end_time) and YouTube (Analytics `day`, quota reset)
    # count Pacific days; Snapchat's stats take UTC day stamps (ingestion/sources/snapchat.py).
    timezone: ZoneInfo
    # Graph API (Meta): one token, batch requests, appsecret_proof.
    meta: bool
    # Has a public peer snapshot (issue 22).
    peers: bool
    # Days an account's last row may lag the reference day before the mart gate calls it stale
    # (YouTube Analytics lags 2-3 days).
    freshness_lag_days: int


TABLE: tuple[PlatformInfo, ...] = (
    PlatformInfo("facebook", switched=False, timezone=PACIFIC, meta=True, peers=True, freshness_lag_days=2),
    PlatformInfo("instagram", switched=False, timezone=PACIFIC, meta=True, peers=True, freshness_lag_days=2),
    PlatformInfo("youtube", switched=False, timezone=PACIFIC, meta=False, peers=True, freshness_lag_days=4),
    PlatformInfo("snapchat", switched=True, timezone=UTC_ZONE, meta=False, peers=False, freshness_lag_days=2),
)
BY_NAME: dict[str, PlatformInfo] = {p.name: p for p in TABLE}

ALL: tuple[str, ...] = tuple(p.name for p in TABLE)
# Fetched by default (the others only when switched on).
SUPPORTED: tuple[str, ...] = tuple(p.name for p in TABLE if not p.switched)
SWITCHED: tuple[str, ...] = tuple(p.name for p in TABLE if p.switched)
META: tuple[str, ...] = tuple(p.name for p in TABLE if p.meta)
PEERS: tuple[str, ...] = tuple(p.name for p in TABLE if p.peers)
TIMEZONES: dict[str, ZoneInfo] = {p.name: p.timezone for p in TABLE}
FRESHNESS_LAG_DAYS: dict[str, int] = {p.name: p.freshness_lag_days for p in TABLE}
