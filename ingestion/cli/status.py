"""`socialpulse status`: per account, what the warehouse holds and how the last runs went.

Answers "what do we have, and what is missing?": first a one-line summary (accounts ok, failed,
stale; the last publish; whether the publish is blocked, then why and the command that repairs
it), then per account the platform days loaded, days missing inside that span, the last day and
the state, then each failure's message. `--json` prints the same as JSON.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections import Counter
from datetime import UTC, datetime
from typing import Any, TextIO

from ingestion.core.settings import Settings
from ingestion.core.state import read
from ingestion.extract.plan import last_complete_day
from ingestion.gates.mart_diagnosis import publish_state
from ingestion.gates.mart_gate import MartGateConfig

# Columns of the printed status: fits any terminal and any log viewer.
WIDTH = 80

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
    return [dict(zip(_COLUMNS, row, strict=True)) for row in read(settings, _STATUS_SQL)]


def account_state(row: dict[str, Any], now: datetime | None = None) -> str:
    """ok, failed, stale (its last day lags the platform's last complete day by more than the mart
    gate's freshness lag) or never run."""
    if row["last_status"] is None and row["last_day"] is None:
        return "never run"
    if row["last_status"] == "failed":
        return "failed"
    lag = MartGateConfig().freshness_lag_days.get(row["platform"], 2)
    if row["last_day"] is None or (last_complete_day(row["platform"], now) - row["last_day"]).days > lag:
        return "stale"
    return "ok"


def status_report(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Everything `socialpulse status` shows (also its --json): a summary, the publish state and
    one row per account."""
    rows = account_status(settings)
    for row in rows:
        row["state"] = account_state(row, now)
    publish = publish_state(settings, now)
    counts = Counter(row["state"] for row in rows)
    summary = {"accounts": len(rows), **{k: counts.get(k, 0) for k in ("ok", "failed", "stale", "never run")},
               "last_publish_at": publish["last_publish_at"], "blocked": publish["blocked"]}
    return {"summary": summary, "publish": publish, "accounts": rows}


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _when(value: Any) -> str:
    return "never" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def print_status(report: dict[str, Any], out: TextIO | None = None, width: int = WIDTH) -> None:
    """A summary line first, then why the publish is blocked (if it is), then one line per account
    and each failure's message; every line fits `width` columns (80: any terminal, any log)."""
    out = out or sys.stdout
    s, publish = report["summary"], report["publish"]
    never = f", {s['never run']} never run" if s["never run"] else ""
    blocked = "; BLOCKED" if s["blocked"] else ""  # the lines below say why and what repairs it
    summary = (f"{s['accounts']} accounts: {s['ok']} ok, {s['failed']} failed, {s['stale']} stale{never}; "
               f"published {_when(s['last_publish_at'])}{blocked}")
    print(textwrap.fill(summary, width, subsequent_indent="  "), file=out)  # one line up to ~1,000 accounts
    if publish["blocked"]:
        for label, text in (("blocked", publish["cause"]), ("repair", publish["repair"])):
            print(textwrap.fill(text, width, initial_indent=f"{label:<8}", subsequent_indent=" " * 8), file=out)
    if not report["accounts"]:
        print("no loads yet: run `socialpulse run` or the nightly DAG first", file=out)
        return
    name = width - 9 - 1 - 5 - 1 - 4 - 1 - 10 - 1 - 11 - 1
    print(f"\n{'platform':<9} {'account':<{name}} {'days':>5} {'miss':>4} {'last day':<10} status", file=out)
    failures = []
    for row in report["accounts"]:
        state = row["state"]
        if state == "failed":
            state = _cut(str(row["last_error_class"] or "failed"), 11)
            failures.append(row)
        print(f"{row['platform']:<9} {_cut(str(row['name']), name):<{name}} {row['days_loaded'] or 0:>5} "
              f"{row['days_missing'] or 0:>4} {str(row['last_day'] or '-'):<10} {state:<11}".rstrip(), file=out)
    for row in failures:
        text = f"{row['platform']}:{row['account_id']} [{row['last_error_class']}] {row['last_error']}"
        print(textwrap.fill(text, width, initial_indent="FAILED  ", subsequent_indent=" " * 8), file=out)


def print_json(report: dict[str, Any], out: TextIO | None = None) -> None:
    """The same report as JSON (dates and times in ISO 8601) for scripts and monitoring."""
    json.dump(report, out or sys.stdout, indent=2, default=lambda v: v.isoformat() if hasattr(v, "isoformat")
              else str(v))
    print(file=out or sys.stdout)
