"""Snapchat Public Profiles (behind the `SOCIALPULSE_SNAPCHAT_ENABLED` switch).

Snap's Public Profile API is allowlist-only and its stats field names could not be verified
(PLATFORM_APIS.md §6): this client follows the shape the sandbox assumes (marked ASSUMED there) so
the pipeline is ready, and stays switched off until access is granted and the names are checked.
ASSUMED: DAY granularity gives one point per UTC day with `subscriber_count` (a stock),
`subscribers_gained`, `subscribers_lost`, `views`, `unique_viewers`, `shares`; windows of at most
90 days within the past 90 days.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ingestion.extract.plan import AccountPlan
from ingestion.sources import FetchContext, Parsed, RequestSpec
from ingestion.sources.meta import ParseError, body_list, windows

PLATFORM = "snapchat"
API = "bearer"
MAX_WINDOW_DAYS = 90
DAILY_FIELDS = ("subscriber_count", "subscribers_gained", "subscribers_lost", "views", "unique_viewers", "shares")


def _stamp(day: date) -> str:
    return f"{day.isoformat()}T00:00:00.000Z"


def requests_for(plan: AccountPlan, ctx: FetchContext) -> list[RequestSpec]:
    """Daily profile stats per 90-day window, clipped to the API's 90-day horizon."""
    first = max(plan.since, ctx.as_of - timedelta(days=MAX_WINDOW_DAYS - 2))
    specs = []
    for start, end in windows(first, plan.until, MAX_WINDOW_DAYS - 1):
        specs.append(RequestSpec(PLATFORM, plan.account_id, "insights", f"public_profiles/{plan.account_id}/stats", {
            "granularity": "DAY", "assetType": "PROFILE", "fields": ",".join(DAILY_FIELDS),
            "startTime": _stamp(start), "endTime": _stamp(end + timedelta(days=1))}, base="snapchat"))
    return specs


def follow_ups(spec: RequestSpec, body: dict[str, Any], ctx: FetchContext) -> list[RequestSpec]:
    """No dependent calls."""
    return []


def parse(record: dict[str, Any]) -> Parsed:
    """Observations from one daily stats response."""
    body = record["body"]
    if body.get("request_status", "SUCCESS") != "SUCCESS":
        raise ParseError("stats response is not SUCCESS")
    series = body_list(body, "timeseries_stats", "stats response without timeseries_stats")
    out = []
    for item in series:
        stat = (item or {}).get("timeseries_stat") or {}
        for point in stat.get("timeseries") or []:
            day = datetime.strptime(str(point["start_time"])[:10], "%Y-%m-%d").date()
            for name, value in (point.get("stats") or {}).items():
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ParseError(f"{name}: value is not a number")
                out.append({
                    "response_id": record["response_id"], "platform": PLATFORM, "account_id": record["account_id"],
                    "object_type": "account", "object_id": record["account_id"], "source": "insights",
                    "metric_name": name, "period": "day", "metric_type": "time_series", "dimension": "",
                    "dimension_value": "", "metric_date": day, "end_time": None, "value": value,
                    "observed_at": record["fetched_at"],
                })
    return Parsed(observations=out)
