"""`socialpulse status`: per account, what the warehouse holds and how the last runs went.

Answers "what do we have, and what is missing?": first and last platform day loaded, days missing
inside that span, the last successful run, the last failure with its class, retired metrics, and
the token's expiry where `socialpulse doctor` recorded it.
"""

from __future__ import annotations

from typing import Any

from ingestion.settings import Settings
from ingestion.state import _read

_STATUS_SQL = """
with days as (
    select platform, account_id, min(metric_date) as first_day, max(metric_date) as last_day,
           count(distinct metric_date) as days_loaded, max(observed_at) as last_observed_at
    from raw.observations where object_type = 'account' and source = 'insights'
    group by all
),
runs as (
    select platform, account_id,
           max(finished_at) filter (where status <> 'failed') as last_success_at,
           arg_max(status, finished_at) as last_status,
           arg_max(error_class, finished_at) filter (where status = 'failed') as last_error_class,
           arg_max(message, finished_at) filter (where status = 'failed') as last_error,
           list(distinct r) filter (where r is not null) as retired_metrics
    from raw.account_runs left join unnest(retired_metrics) as t(r) on true
    group by all
)
select a.platform, a.account_id, a.name, a.department, d.first_day, d.last_day, d.days_loaded,
       (d.last_day - d.first_day + 1) - d.days_loaded as days_missing, d.last_observed_at,
       r.last_success_at, r.last_status, r.last_error_class, r.last_error, r.retired_metrics
from raw.accounts a
left join days d using (platform, account_id)
left join runs r using (platform, account_id)
order by a.platform, a.account_id
"""

_COLUMNS = ("platform", "account_id", "name", "department", "first_day", "last_day", "days_loaded", "days_missing",
            "last_observed_at", "last_success_at", "last_status", "last_error_class", "last_error", "retired_metrics")


def account_status(settings: Settings) -> list[dict[str, Any]]:
    """One row per registered account (as of the last load)."""
    return [dict(zip(_COLUMNS, row, strict=True)) for row in _read(settings, _STATUS_SQL)]


def print_status(rows: list[dict[str, Any]]) -> None:
    """A terminal table (rich), one line per account, failures highlighted."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="socialpulse accounts")
    for column in ("platform", "account", "department", "days", "missing", "last day", "last success", "status"):
        table.add_column(column)
    for row in rows:
        status = row["last_status"] or "never run"
        if row["last_error_class"] and status == "failed":
            status = f"[red]failed: {row['last_error_class']}[/red]"
        table.add_row(
            row["platform"], f"{row['name']} ({row['account_id']})", row["department"],
            str(row["days_loaded"] or 0), str(row["days_missing"] or 0), str(row["last_day"] or "-"),
            str(row["last_success_at"] or "-")[:19], status,
        )
    Console().print(table)
    if not rows:
        print("no loads yet: run `socialpulse run` or the nightly DAG first")
