"""`socialpulse status`: what the warehouse holds per account (coverage and freshness)."""

from __future__ import annotations

from typing import Any

from ingestion.settings import Settings
from ingestion.warehouse import connect


def account_status(settings: Settings) -> list[dict[str, Any]]:
    """One row per account seen in the warehouse: first/last platform day and last load."""
    if not settings.warehouse.exists():
        return []
    con = connect(settings.warehouse, read_only=True)
    try:
        rows = con.execute(
            """
            select platform, account_id, min(metric_date) as first_day, max(metric_date) as last_day,
                   max(observed_at) as last_observed_at, count(*) as observations
            from raw.observations group by all order by platform, account_id
            """
        ).fetchall()
    finally:
        con.close()
    keys = ("platform", "account_id", "first_day", "last_day", "last_observed_at", "observations")
    return [dict(zip(keys, row, strict=True)) for row in rows]
