"""Instagram professional accounts: calls per account window, follow-ups, response parsing.

Instagram has no follower-total history: totals come from the nightly `followers_count` snapshot,
flows from `follows_and_unfollows` (FOLLOWER = follows, NON_FOLLOWER = unfollows). total_value
metrics aggregate over since..until, so a daily series needs one call per platform day (batched).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from ingestion.core.days import days
from ingestion.core.metrics import NODE_FIELDS, active_metrics
from ingestion.extract.plan import AccountPlan
from ingestion.sources import FetchContext, Parsed, RequestSpec
from ingestion.sources.meta import (
    content_page,
    next_page,
    parse_graph_record,
    time_params,
    windows,
)

PLATFORM = "instagram"
API = "graph"
# IG insights accept at most 30 days between since and until (PLATFORM_APIS.md §3.5).
MAX_WINDOW_DAYS = 30
MEDIA_FIELDS = "id,caption,media_type,media_product_type,timestamp,permalink,like_count,comments_count"
MEDIA_PAGE_SIZE = 100
# Media insights by product type (PLATFORM_APIS.md §3.6); stories have their own set.
_STORY_METRICS = ("reach", "views", "shares", "total_interactions")
# (#10) not enough viewers, (#100) unsupported for this media: no data, not an account failure.
_MEDIA_TOLERATED = (10, 100)
_DEMOGRAPHIC_BREAKDOWNS = ("age,gender", "city", "country")


def requests_for(plan: AccountPlan, ctx: FetchContext) -> list[RequestSpec]:
    """Node, reach per 30-day window, per-day total_value calls, demographics, recent media."""
    acc = plan.account_id
    retired = ctx.retired_for(PLATFORM)
    specs = [RequestSpec(PLATFORM, acc, "node", acc, {"fields": ",".join(("id", "username", *NODE_FIELDS[PLATFORM]))})]
    account_metrics = active_metrics(PLATFORM, "account_insights", plan.until, retired)
    series = [m for m in account_metrics if m == "reach"]
    totals = [m for m in account_metrics if m not in ("reach", "follows_and_unfollows")]
    if series:
        for first, last in windows(plan.since, plan.until, MAX_WINDOW_DAYS):
            specs.append(RequestSpec(PLATFORM, acc, "insights", f"{acc}/insights",
                                     {"metric": ",".join(series), "period": "day", "metric_type": "time_series",
                                      **time_params(first, last)}))
    for day in days(plan.since, plan.until):
        window = time_params(day, day)
        if "follows_and_unfollows" in account_metrics:
            specs.append(RequestSpec(PLATFORM, acc, "insights", f"{acc}/insights",
                                     {"metric": "follows_and_unfollows", "period": "day", "metric_type": "total_value",
                                      "breakdown": "follow_type", **window}))
        if totals:
            specs.append(RequestSpec(PLATFORM, acc, "insights", f"{acc}/insights",
                                     {"metric": ",".join(totals), "period": "day", "metric_type": "total_value",
                                      **window}))
    for metric in active_metrics(PLATFORM, "demographics", plan.until, retired):
        for breakdown in _DEMOGRAPHIC_BREAKDOWNS:
            # Under 100 followers the answer is empty (or (#10)): no data, not a failure.
            specs.append(RequestSpec(PLATFORM, acc, "demographics", f"{acc}/insights",
                                     {"metric": metric, "period": "lifetime", "metric_type": "total_value",
                                      "breakdown": breakdown, "timeframe": "this_month"}, tolerated_codes=(10, 100)))
    specs.append(_media_request(acc, min(plan.since, ctx.as_of - timedelta(days=ctx.content_refresh_days))))
    return specs


def _media_request(acc: str, not_before: date, after: str | None = None) -> RequestSpec:
    return content_page(PLATFORM, acc, "media", "media", {"fields": MEDIA_FIELDS, "limit": MEDIA_PAGE_SIZE},
                        not_before, after)


def follow_ups(spec: RequestSpec, body: dict[str, Any], ctx: FetchContext) -> list[RequestSpec]:
    """Lifetime insights of recent media; the next page while the list is still recent."""
    if spec.endpoint != "media":
        return []
    cutoff = spec.not_before or ctx.as_of - timedelta(days=ctx.content_refresh_days)
    metrics = active_metrics(PLATFORM, "media_insights", ctx.as_of, ctx.retired_for(PLATFORM))
    out, reached_old = [], False
    for media in body.get("data", []):
        if not isinstance(media, dict) or not isinstance(media.get("id"), str):
            continue
        published = _published_day(media.get("timestamp"))
        if published is not None and published < cutoff:
            reached_old = True  # /media is newest first: older pages need no refresh
            continue
        wanted = [m for m in metrics if m in _STORY_METRICS] if media.get("media_product_type") == "STORY" else metrics
        if wanted:
            out.append(RequestSpec(PLATFORM, spec.account_id, "media_insights", f"{media['id']}/insights",
                                   {"metric": ",".join(wanted), "period": "lifetime"}, "media", media["id"],
                                   _MEDIA_TOLERATED))
    cursor = next_page(body)
    if cursor and not reached_old:
        out.append(_media_request(spec.account_id, cutoff, cursor["after"]))
    return out


def _published_day(timestamp: Any):
    try:
        return datetime.strptime(str(timestamp), "%Y-%m-%dT%H:%M:%S%z").date()
    except ValueError:
        return None


def parse(record: dict[str, Any]) -> Parsed:
    """Observations and media metadata from one landed Instagram response."""
    return parse_graph_record(record, PLATFORM, insights=("insights", "demographics", "media_insights"),
                              listing="media", object_type="media", object_fields={
        "published_at": "timestamp", "content_type": "media_type", "product_type": "media_product_type",
        "permalink": "permalink", "caption": "caption",
    })
