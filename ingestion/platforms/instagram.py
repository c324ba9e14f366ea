"""Instagram professional accounts: requests per account window, and response parsing.

Instagram has no follower-total history: totals come from the nightly `followers_count` snapshot,
flows from `follows_and_unfollows` (FOLLOWER = follows, NON_FOLLOWER = unfollows). total_value
metrics aggregate over since..until, so a daily series needs one call per platform day.
"""

from __future__ import annotations

from typing import Any

from ingestion.days import days
from ingestion.plan import AccountPlan
from ingestion.platforms import RequestSpec
from ingestion.platforms.meta import ParseError, parse_insights, parse_node, time_params, windows

PLATFORM = "instagram"
# IG insights accept at most 30 days between since and until (PLATFORM_APIS.md §3.5).
MAX_WINDOW_DAYS = 30
NODE_FIELDS = ("followers_count", "follows_count", "media_count")
TIME_SERIES_METRICS = ("reach",)
TOTAL_VALUE_METRICS = ("views", "total_interactions", "accounts_engaged")


def requests_for(plan: AccountPlan) -> list[RequestSpec]:
    """Node snapshot, reach time series per 30-day window, and per-day total_value calls."""
    acc = plan.account_id
    specs = [RequestSpec(PLATFORM, acc, "node", acc, {"fields": ",".join(("id", "username", *NODE_FIELDS))})]
    for first, last in windows(plan.since, plan.until, MAX_WINDOW_DAYS):
        specs.append(
            RequestSpec(
                PLATFORM, acc, "insights", f"{acc}/insights",
                {"metric": ",".join(TIME_SERIES_METRICS), "period": "day", "metric_type": "time_series",
                 **time_params(first, last)},
            )
        )
    for day in days(plan.since, plan.until):
        window = time_params(day, day)
        specs.append(
            RequestSpec(
                PLATFORM, acc, "insights", f"{acc}/insights",
                {"metric": "follows_and_unfollows", "period": "day", "metric_type": "total_value",
                 "breakdown": "follow_type", **window},
            )
        )
        specs.append(
            RequestSpec(
                PLATFORM, acc, "insights", f"{acc}/insights",
                {"metric": ",".join(TOTAL_VALUE_METRICS), "period": "day", "metric_type": "total_value", **window},
            )
        )
    return specs


def parse(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Observations from one landed Instagram response."""
    if record["endpoint"] == "node":
        return parse_node(record, NODE_FIELDS)
    if record["endpoint"] == "insights":
        return parse_insights(record)
    raise ParseError(f"unknown instagram endpoint {record['endpoint']!r}")
