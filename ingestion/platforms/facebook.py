"""Facebook Pages: the requests that cover a Page's window, and how their responses are parsed."""

from __future__ import annotations

from typing import Any

from ingestion.plan import AccountPlan
from ingestion.platforms import RequestSpec
from ingestion.platforms.meta import ParseError, parse_insights, parse_node, time_params, windows

PLATFORM = "facebook"
# Page insights accept at most 90 days between since and until (PLATFORM_APIS.md §2.3).
MAX_WINDOW_DAYS = 90
NODE_FIELDS = ("followers_count", "fan_count")
# Metrics valid in late 2026 (PLATFORM_APIS.md §2.6). page_follows is a stock (followers at the end
# of the day), the two daily metrics are the flows.
DAILY_METRICS = (
    "page_follows",
    "page_daily_follows_unique",
    "page_daily_unfollows_unique",
    "page_media_view",
    "page_total_media_view_unique",
    "page_post_engagements",
)


def requests_for(plan: AccountPlan) -> list[RequestSpec]:
    """A node snapshot plus one insights call per 90-day window."""
    specs = [
        RequestSpec(PLATFORM, plan.account_id, "node", plan.account_id,
                    {"fields": ",".join(("id", "name", *NODE_FIELDS))})
    ]
    for first, last in windows(plan.since, plan.until, MAX_WINDOW_DAYS):
        specs.append(
            RequestSpec(
                PLATFORM, plan.account_id, "insights", f"{plan.account_id}/insights",
                {"metric": ",".join(DAILY_METRICS), "period": "day", **time_params(first, last)},
            )
        )
    return specs


def parse(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Observations from one landed Facebook response."""
    if record["endpoint"] == "node":
        return parse_node(record, NODE_FIELDS)
    if record["endpoint"] == "insights":
        return parse_insights(record)
    raise ParseError(f"unknown facebook endpoint {record['endpoint']!r}")
