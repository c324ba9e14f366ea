"""Graph API pieces shared by Facebook Pages and Instagram: windows and response parsing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

from ingestion.core.days import measured_date, pacific_date_of_unix, snapshot_date, unix_pacific_midnight
from ingestion.core.metrics import NODE_FIELDS
from ingestion.sources import Parsed, RequestSpec

# What `isinstance` accepts as a number. A tuple, not `int | float`: that expression builds a new
# union object on every call, and it runs once per parsed value (~0.8 s of a two-year backfill).
NUMBER_TYPES = (int, float)


@lru_cache(maxsize=4096)
def _day_of_since(since: int | str) -> date:
    """The platform day a total_value call's `since` starts (cached: every call of one account and
    day repeats it, and the time-zone conversion was ~10 % of a nightly's parse)."""
    return pacific_date_of_unix(since)


def _since_day(since: Any) -> date:
    """`pacific_date_of_unix(since)`, cached when `since` can be a cache key (a broken body's odd
    value raises the very error it raised before)."""
    try:
        return _day_of_since(since)
    except TypeError:
        return pacific_date_of_unix(since)


def windows(since: date, until: date, max_days: int) -> Iterator[tuple[date, date]]:
    """Split the inclusive day range into inclusive chunks of at most `max_days` days."""
    start = since
    while start <= until:
        end = min(until, start + timedelta(days=max_days - 1))
        yield start, end
        start = end + timedelta(days=1)


def time_params(first_day: date, last_day: date) -> dict[str, int]:
    """`since`/`until` covering the platform days first..last (until is the exclusive midnight)."""
    return {
        "since": unix_pacific_midnight(first_day),
        "until": unix_pacific_midnight(last_day + timedelta(days=1)),
    }


def _observation(
    record: dict[str, Any],
    *,
    source: str,
    metric_name: str,
    period: str,
    metric_type: str,
    metric_date: date,
    value: Any,
    end_time: str | None = None,
    dimension: str = "",
    dimension_value: str = "",
) -> dict[str, Any]:
    return {
        "response_id": record["response_id"],
        "platform": record["platform"],
        "account_id": record["account_id"],
        "object_type": record.get("object_type", "account"),
        "object_id": record.get("object_id") or record["account_id"],
        "source": source,
        "metric_name": metric_name,
        "period": period,
        "metric_type": metric_type,
        "dimension": dimension,
        "dimension_value": dimension_value,
        "metric_date": metric_date,
        "end_time": end_time,
        "value": value,
        "observed_at": record["fetched_at"],
    }


class ParseError(ValueError):
    """A response body does not have the documented shape (schema drift or garbage)."""


def body_list(body: dict[str, Any], key: str, missing: str) -> list:
    """The list a response body holds under `key`; ParseError(`missing`) when there is none, so a
    changed schema fails the parse instead of loading zero rows."""
    value = body.get(key)
    if not isinstance(value, list):
        raise ParseError(missing)
    return value


def parse_node(record: dict[str, Any], numeric_fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Snapshot observations from a node response (`followers_count`, ...)."""
    body = record["body"]
    day = snapshot_date(record["fetched_at_dt"])
    out = []
    for name in numeric_fields:
        if name not in body:
            continue
        value = body[name]
        if isinstance(value, bool) or not isinstance(value, NUMBER_TYPES):
            raise ParseError(f"node field {name} is not a number: {type(value).__name__}")
        out.append(
            _observation(
                record, source="node", metric_name=name, period="snapshot", metric_type="node",
                metric_date=day, value=value,
            )
        )
    return out


def parse_insights(record: dict[str, Any]) -> list[dict[str, Any]]:
    """Observations from an `/insights` response, time_series or total_value."""
    data = body_list(record["body"], "data", "insights body has no 'data' list")
    params = record["params"]
    out: list[dict[str, Any]] = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ParseError("insights item without a metric name")
        name, period = item["name"], str(item.get("period", "day"))
        # Lifetime values (demographics, post/media totals) stand for "now": date them by the
        # snapshot day. Day totals stand for the requested platform day.
        snapshot = snapshot_date(record["fetched_at_dt"]) if period == "lifetime" else None
        if "total_value" in item:
            # A total over [since, until): the nightly requests one platform day per call.
            day = snapshot or _since_day(params["since"])
            out.extend(_parse_total_value(record, name, period, day, item["total_value"]))
            continue
        values = item.get("values")
        if not isinstance(values, list):
            raise ParseError(f"{name}: neither 'values' nor 'total_value'")
        for point in values:
            if not isinstance(point, dict) or (snapshot is None and "end_time" not in point):
                raise ParseError(f"{name}: value without end_time")
            # A lifetime value with an end_time (Page follower locations) is dated by it; one
            # without (post totals) stands for the snapshot day.
            day = measured_date(point["end_time"]) if point.get("end_time") else snapshot
            value = point.get("value")
            common = dict(
                source="insights", metric_name=name, period=period, metric_type="time_series",
                metric_date=day, end_time=point.get("end_time"),
            )
            if isinstance(value, dict):  # breakdown metrics: location/reaction -> count
                out.extend(
                    _observation(record, **common, value=_number(name, v), dimension="key", dimension_value=str(k))
                    for k, v in value.items()
                )
            else:
                out.append(_observation(record, **common, value=_number(name, value)))
    return out


def _parse_total_value(
    record: dict[str, Any], name: str, period: str, day: date, total: Any
) -> list[dict[str, Any]]:
    if not isinstance(total, dict):
        raise ParseError(f"{name}: total_value is not an object")
    common = dict(source="insights", metric_name=name, period=period, metric_type="total_value", metric_date=day)
    breakdowns = total.get("breakdowns")
    if breakdowns:
        out = []
        for breakdown in breakdowns:
            dimension = ",".join(breakdown.get("dimension_keys", []))
            for result in breakdown.get("results", []):
                out.append(
                    _observation(
                        record, **common, value=_number(name, result.get("value")),
                        dimension=dimension, dimension_value=",".join(map(str, result.get("dimension_values", []))),
                    )
                )
        return out
    return [_observation(record, **common, value=_number(name, total.get("value")))]


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, NUMBER_TYPES):
        raise ParseError(f"{name}: value is not a number ({type(value).__name__})")
    return value


def parse_objects(record: dict[str, Any], object_type: str, fields: dict[str, str]) -> list[dict[str, Any]]:
    """Content metadata rows from a list response (`/published_posts`, `/media`).

    `fields` maps our column (published_at, content_type, product_type, permalink, caption) to the
    platform's field name.
    """
    data = body_list(record["body"], "data", f"{record['endpoint']} body has no 'data' list")
    out = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ParseError(f"{record['endpoint']} item without an id")
        row = {
            "response_id": record["response_id"], "platform": record["platform"],
            "account_id": record["account_id"], "object_type": object_type, "object_id": item["id"],
            "observed_at": record["fetched_at"],
        }
        for column, name in fields.items():
            value = item.get(name)
            row[column] = str(value)[:500] if value is not None else None
        out.append(row)
    return out


def next_page(body: dict[str, Any]) -> dict[str, str] | None:
    """Cursor of the next page of an edge, or None on the last page (never follow blindly)."""
    paging = body.get("paging")
    if not isinstance(paging, dict) or not paging.get("next"):
        return None
    after = (paging.get("cursors") or {}).get("after")
    return {"after": after} if after else None


def content_page(platform: str, account: str, endpoint: str, edge: str, params: dict[str, Any], not_before: date,
                 after: str | None = None) -> RequestSpec:
    """One page of an account's content edge (`published_posts`, `media`): `after` is the cursor that
    `next_page` found on the page before; `not_before` (the oldest publication day still wanted) stays
    on the spec, not in the query, so the next page knows where to stop."""
    paged = {**params, "after": after} if after else params
    return RequestSpec(platform, account, endpoint, f"{account}/{edge}", paged, not_before=not_before)


def parse_graph_record(record: dict[str, Any], platform: str, *, insights: tuple[str, ...], listing: str,
                       object_type: str, object_fields: dict[str, str]) -> Parsed:
    """One landed Graph API response of a Meta platform: node fields, insights, or its content listing.

    Facebook and Instagram differ only in endpoint names and field names, not in how they parse.
    """
    endpoint = record["endpoint"]
    if endpoint == "node":
        return Parsed(observations=parse_node(record, NODE_FIELDS[platform]))
    if endpoint in insights:
        return Parsed(observations=parse_insights(record))
    if endpoint == listing:
        return Parsed(objects=parse_objects(record, object_type, object_fields))
    raise ParseError(f"unknown {platform} endpoint {endpoint!r}")
