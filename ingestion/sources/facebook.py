"""Facebook Pages: the calls that cover a Page's window, their follow-ups, and response parsing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ingestion.core.days import unix_pacific_midnight
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

PLATFORM = "facebook"
API = "graph"
# Page insights accept at most 90 days between since and until (PLATFORM_APIS.md §2.3).
MAX_WINDOW_DAYS = 90
POST_FIELDS = "id,message,created_time,permalink_url,status_type"
POST_PAGE_SIZE = 100
# Post insights that only mean "no data for this post": (#10) too few viewers, (#100) unsupported.
_POST_TOLERATED = (10, 100)


def requests_for(plan: AccountPlan, ctx: FetchContext) -> list[RequestSpec]:
    """Node snapshot, daily insights per 90-day window, follower locations, recent posts."""
    page = plan.account_id
    retired = ctx.retired_for(PLATFORM)
    specs = [RequestSpec(PLATFORM, page, "node", page, {"fields": ",".join(("id", "name", *NODE_FIELDS[PLATFORM]))})]
    daily = active_metrics(PLATFORM, "account_insights", plan.until, retired)
    for first, last in windows(plan.since, plan.until, MAX_WINDOW_DAYS):
        specs.append(RequestSpec(PLATFORM, page, "insights", f"{page}/insights",
                                 {"metric": ",".join(daily), "period": "day", **time_params(first, last)}))
    locations = active_metrics(PLATFORM, "demographics", plan.until, retired)
    if locations:
        # Location breakdowns need a follower threshold: an empty answer is not an error.
        specs.append(RequestSpec(PLATFORM, page, "demographics", f"{page}/insights",
                                 {"metric": ",".join(locations), "period": "lifetime"}, tolerated_codes=(10, 100)))
    specs.append(_posts_request(page, min(plan.since, ctx.as_of - timedelta(days=ctx.content_refresh_days))))
    return specs


def _posts_request(page: str, since_day: date, after: str | None = None) -> RequestSpec:
    params = {"fields": POST_FIELDS, "limit": POST_PAGE_SIZE, "since": unix_pacific_midnight(since_day)}
    return content_page(PLATFORM, page, "posts", "published_posts", params, since_day, after)


def follow_ups(spec: RequestSpec, body: dict[str, Any], ctx: FetchContext) -> list[RequestSpec]:
    """Next page of posts, and the lifetime insights of every post just listed."""
    if spec.endpoint != "posts":
        return []
    out = []
    metrics = active_metrics(PLATFORM, "post_insights", ctx.as_of, ctx.retired_for(PLATFORM))
    for post in body.get("data", []):
        if isinstance(post, dict) and isinstance(post.get("id"), str) and metrics:
            out.append(RequestSpec(PLATFORM, spec.account_id, "post_insights", f"{post['id']}/insights",
                                   {"metric": ",".join(metrics), "period": "lifetime"}, "post", post["id"],
                                   _POST_TOLERATED))
    cursor = next_page(body)
    if cursor and spec.not_before is not None:
        out.append(_posts_request(spec.account_id, spec.not_before, cursor["after"]))
    return out


def parse(record: dict[str, Any]) -> Parsed:
    """Observations and post metadata from one landed Facebook response."""
    return parse_graph_record(record, PLATFORM, insights=("insights", "demographics", "post_insights"),
                              listing="posts", object_type="post", object_fields={
        "published_at": "created_time", "content_type": "status_type", "permalink": "permalink_url",
        "caption": "message",
    })
