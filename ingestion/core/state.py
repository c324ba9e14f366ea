"""What earlier runs learned, read back for planning: retired metrics and the coverage ledger.

Planning must not block on (or block) the single writer, so reads are read-only and a locked or
missing warehouse degrades to "nothing known yet" with a warning: a retired metric is then simply
detected again, and a backfill re-fetches what it cannot prove is covered.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

import duckdb

from ingestion.core.settings import Settings

log = logging.getLogger(__name__)


def read(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of `sql` on the warehouse, read-only; [] when it is missing, locked by a writer, or older
    than the table asked for (planning and status must never block on, or block, the writer)."""
    if not settings.warehouse.exists():
        return []
    try:
        con = duckdb.connect(str(settings.warehouse), read_only=True)
    except duckdb.IOException as exc:
        log.warning("warehouse is locked by a writer; planning without its state (%s)", type(exc).__name__)
        return []
    try:
        return con.execute(sql, params or []).fetchall()
    except duckdb.CatalogException:
        return []  # a warehouse created before this table existed
    finally:
        con.close()


def retired_metrics(settings: Settings) -> frozenset[tuple[str, str]]:
    """(platform, metric) pairs the platforms refused as retired or invalid."""
    return frozenset(read(settings, "select distinct platform, metric_name from raw.metric_registry_events"))


def covered_days(settings: Settings, platform: str, account_id: str) -> list[tuple[date, date]]:
    """Inclusive day ranges fetched successfully for an account (coverage ledger, outcome ok)."""
    return [
        (row[0], row[1])
        for row in read(
            settings,
            "select since, until from raw.coverage where platform = ? and account_id = ? and outcome = 'ok' "
            "and endpoint = 'account' order by since",
            [platform, account_id],
        )
    ]


def drop_future_coverage(settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """Remove what the coverage ledger says about days after each platform's last complete day.

    Why: a run with a future --as-of (refused since issue 16) recorded days no platform can deliver
    as fetched, and the mart gate's completeness check then failed on every run. Entries entirely in
    the future are deleted, entries that straddle the last complete day are cut back to it; nothing
    else is touched (no observation, response or earlier day), so a later run simply fetches those
    days when they exist. Returns {"deleted": n, "clipped": n}.
    """
    from ingestion.extract.plan import last_complete_day
    from ingestion.load.warehouse import connect, transaction

    counts = {"deleted": 0, "clipped": 0}
    if not settings.warehouse.exists():
        return counts
    con = connect(settings.warehouse)
    try:
        platforms = [r[0] for r in con.execute("select distinct platform from raw.coverage").fetchall()]
        with transaction(con):
            for platform in platforms:
                last = last_complete_day(platform, now)
                counts["deleted"] += con.execute("delete from raw.coverage where platform = ? and since > ?",
                                                 [platform, last]).fetchone()[0]
                counts["clipped"] += con.execute("update raw.coverage set until = ? where platform = ? and until > ?",
                                                 [last, platform, last]).fetchone()[0]
    finally:
        con.close()
    return counts
