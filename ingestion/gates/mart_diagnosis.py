"""Why the mart gate blocked the publish, and the command that repairs it; the publish state.

Read by the gate itself (its error names cause and repair), `socialpulse status` and `doctor`;
kept apart from the checks (`ingestion.gates.mart_gate`) so the readers need not load them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ingestion.core.days import days as day_range
from ingestion.core.platforms import SUPPORTED
from ingestion.core.settings import Settings
from ingestion.extract.plan import last_complete_day

FINDINGS_TABLE = "quality.data_quality_findings"  # in marts as the dbt view fct_data_quality_findings
HARD_SUITES = ("fct_follower_growth_daily", "follower_continuity", "completeness", "growth_plausibility")
FRESHNESS_PLATFORMS = SUPPORTED


def _span(days: list[date]) -> str:
    return "" if not days else str(days[0]) if days[0] == days[-1] else f"{days[0]}..{days[-1]}"


def _names(ids: list[str], n: int = 3) -> str:
    return ", ".join(ids[:n]) + (f" and {len(ids) - n} more" if len(ids) > n else "")


def future_coverage(settings: Settings, now: datetime | None = None) -> list[tuple[str, str, date, date]]:
    """Coverage-ledger entries (platform, account, since, until) that reach past the platform's last
    complete day: written by a run with a future --as-of before such runs were refused. No platform
    can deliver those days, so the completeness check fails on them until they are removed
    (`socialpulse repair --drop-future`)."""
    from ingestion.core.state import read as read_state

    earliest = min(last_complete_day(p, now) for p in FRESHNESS_PLATFORMS)
    rows = read_state(settings, "select platform, account_id, since, until from raw.coverage where until > ? "
                           "and outcome = 'ok' order by platform, account_id, since", [earliest])
    return [r for r in rows if r[3] > last_complete_day(r[0], now)]


def diagnose(findings: list[dict[str, Any]], docs_path: str | None = None, now: datetime | None = None
             ) -> tuple[str, str]:
    """What blocked the publish, in one line, and the command that repairs it, from the gate's
    blocking findings (rows of marts.fct_data_quality_findings). Shared by the gate's error and by
    `socialpulse status` / `doctor`, which read the findings back."""
    errors = [f for f in findings if f["severity"] == "error"]
    future = [f for f in errors if f["check_name"] == "completeness" and f["metric_date"] is not None
              and f["platform"] and f["metric_date"] > last_complete_day(f["platform"], now)]
    if future:
        days = sorted(f["metric_date"] for f in future)
        accounts = {(f["platform"], f["account_id"]) for f in future}
        return (f"marts.completeness: the coverage ledger holds {len(future)} account-day(s) after the last "
                f"complete platform day ({_span(days)}, {len(accounts)} account(s)); a run with a future --as-of "
                f"recorded them and no platform can deliver them",
                "`socialpulse repair --drop-future` (removes only those ledger entries; nothing loaded is lost), "
                "then `socialpulse run`")
    if not errors:
        return ("the last gate run failed without a recorded finding", "`socialpulse run` (the run's log says more)")
    parts, days, accounts = [], [], []
    for check in HARD_SUITES:
        rows = [f for f in errors if f["check_name"] == check]
        if not rows:
            continue
        check_days = sorted(f["metric_date"] for f in rows if f["metric_date"] is not None)
        check_accounts = sorted({str(f["account_id"]) for f in rows if f["account_id"]})
        parts.append(f"marts.{check}: {len(rows)} row(s)" + (f" {_span(check_days)}" if check_days else "")
                     + (f", accounts {_names(check_accounts)}" if check_accounts else ""))
        if check != "fct_follower_growth_daily":
            days += check_days
            accounts += check_accounts
    where = f"marts.fct_data_quality_findings and the Data Docs ({docs_path or 'gx_docs/'})"
    if days:
        days = sorted(days)
        accounts = sorted(set(accounts))
        flags = "".join(f" --account {a}" for a in accounts) if len(accounts) <= 3 else ""
        repair = (f"re-read those days with `socialpulse backfill --since {days[0]} --until {days[-1]}{flags} "
                  f"--force` (it builds and publishes again); if they still fail, {where} list every row")
    else:
        repair = f"a model bug, not a data gap: {where} list the rows; fix the model, then `socialpulse run`"
    return "; ".join(parts), repair


def publish_state(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Is the BI copy blocked behind the warehouse, and why? For `socialpulse status` and `doctor`.

    Blocked when the last mart gate run failed (its blocking findings give the cause), when the
    coverage ledger holds future days (the next gate fails on them), or when the last gate passed
    but the BI copy is older than it (the publish step itself failed). Read-only, never raises.
    """
    import duckdb

    from ingestion.core.state import read as read_state
    from ingestion.publish.bi_copy import BI_FILE, LOG_TABLE

    out: dict[str, Any] = {"blocked": False, "cause": None, "repair": None, "last_gate_at": None,
                           "last_gate_ok": None, "last_publish_at": None}
    copy = settings.bi_dir / BI_FILE
    if copy.exists():
        try:
            con = duckdb.connect(str(copy), read_only=True)
            try:
                out["last_publish_at"] = con.execute(f"select max(published_at) from main.{LOG_TABLE}").fetchone()[0]
            finally:
                con.close()
        except duckdb.Error:
            pass  # doctor reports an unreadable copy on its own
    gate = read_state(settings, "select validated_at, success, docs_path from raw.validation_runs "
                           "where suite = 'marts.mart_gate' order by validated_at desc limit 1")
    if gate:
        out["last_gate_at"], out["last_gate_ok"], docs_path = gate[0]
    future = future_coverage(settings, now)
    if future or out["last_gate_ok"] is False:
        rows = read_state(settings, "select check_name, severity, platform, account_id, metric_date "
                                    f"from {FINDINGS_TABLE} where severity = 'error'")
        findings = [dict(zip(("check_name", "severity", "platform", "account_id", "metric_date"), r, strict=True))
                    for r in rows]
        if future:  # the ledger itself, whether or not a gate has run on it yet
            findings = [{"check_name": "completeness", "severity": "error", "platform": p, "account_id": a,
                         "metric_date": day} for p, a, since, until in future
                        for day in day_range(max(since, last_complete_day(p, now) + timedelta(days=1)), until)]
        else:  # future days the ledger no longer claims (repaired) block nothing any more
            findings = [f for f in findings if not (f["check_name"] == "completeness" and f["metric_date"]
                                                    and f["metric_date"] > last_complete_day(f["platform"], now))]
        out["blocked"] = True
        if findings or future:
            out["cause"], out["repair"] = diagnose(findings, docs_path if gate else None, now)
        else:
            out["cause"] = "the last mart gate failed on future coverage that has since been removed"
            out["repair"] = "`socialpulse run` (its mart gate publishes again)"
    elif out["last_gate_ok"] and (out["last_publish_at"] is None or out["last_publish_at"] < out["last_gate_at"]):
        out["blocked"] = True
        out["cause"] = "the last mart gate passed but the publish after it failed (the run's log says why)"
        out["repair"] = "`socialpulse run`"
    return out
