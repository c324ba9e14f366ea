"""YouTube channels: Data API statistics (snapshot) and Analytics API daily metrics and audience.

Subscriber growth comes from Analytics `subscribersGained`/`subscribersLost`: the public
`subscriberCount` is rounded to three significant figures and is kept only as a labelled snapshot.
Analytics omits the most recent 2-3 days (all requested metrics must be final), so the nightly
lookback re-reads them; `rows` is absent when there is no data, which is not an error.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ingestion.core.days import snapshot_date
from ingestion.core.metrics import NODE_FIELDS, active_metrics
from ingestion.extract.plan import AccountPlan
from ingestion.sources import FetchContext, Parsed, RequestSpec
from ingestion.sources.meta import ParseError, body_list

PLATFORM = "youtube"
API = "youtube"
# The audience report covers the 28 days ending with the plan's last day.
DEMOGRAPHICS_DAYS = 28


def requests_for(plan: AccountPlan, ctx: FetchContext) -> list[RequestSpec]:
    """Channel statistics, the daily report over the window, and the age/gender report."""
    channel = plan.account_id
    retired = ctx.retired_for(PLATFORM)
    specs = [RequestSpec(PLATFORM, channel, "node", "channels", {"part": "statistics", "id": channel},
                         base="youtube_data")]
    daily = active_metrics(PLATFORM, "analytics", plan.until, retired)
    if daily:
        specs.append(RequestSpec(PLATFORM, channel, "analytics", "reports", {
            "ids": f"channel=={channel}", "startDate": plan.since.isoformat(), "endDate": plan.until.isoformat(),
            "metrics": ",".join(daily), "dimensions": "day", "sort": "day"}, base="youtube_analytics"))
    if active_metrics(PLATFORM, "demographics", plan.until, retired):
        specs.append(RequestSpec(PLATFORM, channel, "demographics", "reports", {
            "ids": f"channel=={channel}",
            "startDate": (plan.until - timedelta(days=DEMOGRAPHICS_DAYS - 1)).isoformat(),
            "endDate": plan.until.isoformat(), "metrics": "viewerPercentage", "dimensions": "ageGroup,gender"},
            base="youtube_analytics"))
    return specs


def follow_ups(spec: RequestSpec, body: dict[str, Any], ctx: FetchContext) -> list[RequestSpec]:
    """YouTube needs no dependent calls."""
    return []


def _observation(record, metric_name, period, metric_date, value, dimension="", dimension_value="", source="insights",
                 metric_type="time_series"):
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParseError(f"{metric_name}: value is not a number ({type(value).__name__})")
    return {
        "response_id": record["response_id"], "platform": PLATFORM, "account_id": record["account_id"],
        "object_type": "account", "object_id": record["account_id"], "source": source, "metric_name": metric_name,
        "period": period, "metric_type": metric_type, "dimension": dimension, "dimension_value": dimension_value,
        "metric_date": metric_date, "end_time": None, "value": value, "observed_at": record["fetched_at"],
    }


def _parse_node(record: dict[str, Any]) -> list[dict[str, Any]]:
    items = record["body"].get("items")
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        raise ParseError("channels.list did not return exactly the requested channel")
    stats = items[0].get("statistics")
    if not isinstance(stats, dict):
        raise ParseError("channel without statistics")
    day = snapshot_date(record["fetched_at_dt"])
    out = []
    for name in NODE_FIELDS[PLATFORM]:
        if name in stats:  # counts arrive as strings ("10700000")
            try:
                value = int(stats[name])
            except (TypeError, ValueError):
                raise ParseError(f"statistics.{name} is not a count") from None
            out.append(_observation(record, name, "snapshot", day, value, source="node", metric_type="node"))
    return out


def _parse_report(record: dict[str, Any]) -> list[dict[str, Any]]:
    from datetime import date

    body = record["body"]
    headers = body_list(body, "columnHeaders", "report without columnHeaders")
    names = [h.get("name") for h in headers if isinstance(h, dict)]
    kinds = [h.get("columnType") for h in headers if isinstance(h, dict)]
    rows = body.get("rows") or []  # omitted when there is no data yet
    out = []
    if record["endpoint"] == "analytics":
        if "day" not in names:
            raise ParseError("daily report without a day column")
        day_index = names.index("day")
        for row in rows:
            day = date.fromisoformat(str(row[day_index]))
            for name, kind, value in zip(names, kinds, row, strict=True):
                if kind == "METRIC":
                    out.append(_observation(record, name, "day", day, value))
        return out
    end_day = date.fromisoformat(record["params"]["endDate"])
    dims = [n for n, k in zip(names, kinds, strict=True) if k == "DIMENSION"]
    for row in rows:
        values = dict(zip(names, row, strict=True))
        out.append(_observation(record, "viewerPercentage", "days_28", end_day, values.get("viewerPercentage"),
                                ",".join(dims), ",".join(str(values[d]) for d in dims)))
    return out


def parse(record: dict[str, Any]) -> Parsed:
    """Observations from one landed YouTube response."""
    endpoint = record["endpoint"]
    if endpoint == "node":
        return Parsed(observations=_parse_node(record))
    if endpoint in ("analytics", "demographics"):
        return Parsed(observations=_parse_report(record))
    raise ParseError(f"unknown youtube endpoint {endpoint!r}")
