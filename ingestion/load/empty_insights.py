"""Accounts whose settled account insights came back empty although they have followers: not loaded.

Why the loader cuts them out: loading such an account would mark its days as covered in the
ledger, and a backfill would never fetch them again (issue 10, fault drill `empty`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ingestion.core.platforms import META

# Meta serves no account insights to Pages/IG accounts under 100 followers (`data: []`); above that an
# empty answer means the platform lost it (issue 10 fault drill `empty`). Loading the account would mark
# its days as covered in the ledger, so a backfill would never fetch them again: cut it out instead.
MIN_FOLLOWERS_FOR_INSIGHTS = 100
# Meta's data may arrive up to 48 h late (`data: []` for the newest days is normal): only a window
# that starts before that is expected to hold data.
INSIGHTS_DELAY = timedelta(hours=48)


def window_is_settled(rec: dict[str, Any]) -> bool:
    try:
        since = float((rec.get("params") or {}).get("since"))
        fetched = datetime.fromisoformat(str(rec["fetched_at"]))
    except (TypeError, ValueError, KeyError):
        return False
    return since <= (fetched - INSIGHTS_DELAY).timestamp()


FOLLOWER_FIELDS = ("followers_count", "fan_count")


def empty_insights_message(metric: str, followers: float) -> str:
    return (f"account insights answered data: [] ({metric}) although the account has "
            f"{followers:.0f} followers; nothing of it loaded, re-run to fetch it")


def empty_insights_metric(rec: dict[str, Any]) -> str | None:
    """The requested metrics when `rec` is a settled account-insights answer with `data: []`."""
    body = rec.get("body")
    if (rec.get("endpoint") == "insights" and rec.get("object_type", "account") == "account"
            and isinstance(body, dict) and body.get("data") == [] and window_is_settled(rec)):
        return str((rec.get("params") or {}).get("metric", "?"))[:200]
    return None


def empty_insight_accounts(platform: str, records: list[dict[str, Any]],
                           observations: list[dict[str, Any]]) -> dict[str, str]:
    """Accounts whose account-level insights answer was `data: []` for a window older than Meta's
    delay although their node snapshot shows at least `MIN_FOLLOWERS_FOR_INSIGHTS` followers."""
    if platform not in META:
        return {}
    followers: dict[str, float] = {}
    for o in observations:
        if o["source"] == "node" and o["metric_name"] in FOLLOWER_FIELDS:
            followers[o["account_id"]] = min(followers.get(o["account_id"], o["value"]), o["value"])
    out: dict[str, str] = {}
    for rec in records:
        account_id, metric = rec["account_id"], empty_insights_metric(rec)
        if metric is not None and followers.get(account_id, 0) >= MIN_FOLLOWERS_FOR_INSIGHTS:
            out[account_id] = empty_insights_message(metric, followers[account_id])
    return out
