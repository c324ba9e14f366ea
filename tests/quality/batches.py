"""Landing records by hand, shaped like the fetch engine lands them, for gate and quarantine tests.

A nightly window of three Pacific days (2026-11-17..19) fetched at 09:00 Pacific on 2026-11-20, so
snapshots (node fields, lifetime metrics) stand for 2026-11-19.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from ingestion.core.days import unix_pacific_midnight
from ingestion.core.settings import Settings
from ingestion.extract import landing

REPO = Path(__file__).resolve().parents[2]
FETCHED_AT = "2026-11-20T17:00:00+00:00"
SINCE, UNTIL = date(2026, 11, 17), date(2026, 11, 19)
PAGES = ("100000000000001", "100000000000002", "100000000000003")
CHANNELS = ("UCfffWDGoC7em7aAAAAAAAAQ", "UCh9Cd_0ySw379pgAAAAAAAg")
FB_DAILY = ("page_follows", "page_daily_follows_unique", "page_daily_unfollows_unique", "page_media_view",
            "page_post_engagements")


def days(since: date = SINCE, until: date = UNTIL) -> list[date]:
    """Every day of the window."""
    return [since + timedelta(days=i) for i in range((until - since).days + 1)]


def _end_time(day: date) -> str:
    # Meta's end_time closes the Pacific day: midnight PST of the next day (November: UTC-8).
    return f"{day + timedelta(days=1)}T08:00:00+0000"


def _record(run_id: str, platform: str, account: str, endpoint: str, n: int, params: dict, body: dict,
            **extra: Any) -> dict[str, Any]:
    return {
        "response_id": f"{run_id}-{account}-{endpoint}-{n}", "platform": platform, "account_id": account,
        "endpoint": endpoint, "object_type": "account", "object_id": account, "url": f"http://x/{endpoint}",
        "params": {**params, "access_token": "***"}, "api_version": "v25.0", "http_status": 200,
        "fetched_at": FETCHED_AT, "usage_headers": {}, "body": body, **extra,
    }


def facebook_account(run_id: str, page: str, *, base: int = 5000, since: date = SINCE, until: date = UNTIL
                     ) -> list[dict[str, Any]]:
    """One Page's responses: node, daily insights, follower cities, one post with its insights."""
    window = days(since, until)
    follows = [base + 3 * i for i in range(len(window))]
    series = {
        "page_follows": follows,
        "page_daily_follows_unique": [5] * len(window),
        "page_daily_unfollows_unique": [2] * len(window),
        "page_media_view": [400 + 10 * i for i in range(len(window))],
        "page_post_engagements": [30 + i for i in range(len(window))],
    }
    insights = {"data": [
        {"name": name, "period": "day", "id": f"{page}/insights/{name}/day",
         "values": [{"value": v, "end_time": _end_time(d)} for v, d in zip(values, window, strict=True)]}
        for name, values in series.items()
    ]}
    post = f"{page}_900{page[-1]}"
    return [
        _record(run_id, "facebook", page, "node", 0, {"fields": "id,name,followers_count,fan_count"},
                {"id": page, "name": "Page", "followers_count": follows[-1], "fan_count": follows[-1] - 100}),
        _record(run_id, "facebook", page, "insights", 1,
                {"metric": ",".join(series), "period": "day", "since": unix_pacific_midnight(since),
                 "until": unix_pacific_midnight(until + timedelta(days=1))}, insights),
        _record(run_id, "facebook", page, "demographics", 2, {"metric": "page_follows_city", "period": "lifetime"},
                {"data": [{"name": "page_follows_city", "period": "lifetime",
                           "values": [{"value": {"Exempelstad": 3000, "Grannby": 900},
                                       "end_time": _end_time(until)}]}]}),
        _record(run_id, "facebook", page, "posts", 3, {"fields": "id,message,created_time", "limit": 100},
                {"data": [{"id": post, "message": "Hej!", "created_time": "2026-11-18T10:00:00+0000",
                           "permalink_url": f"https://facebook.com/{post}", "status_type": "added_photos"}]}),
        _record(run_id, "facebook", page, "post_insights", 4, {"metric": "post_media_view,post_clicks",
                                                               "period": "lifetime"},
                {"data": [{"name": "post_media_view", "period": "lifetime", "values": [{"value": 812}]},
                          {"name": "post_clicks", "period": "lifetime", "values": [{"value": 17}]}]},
                object_type="post", object_id=post),
    ]


def youtube_account(run_id: str, channel: str, *, shares: list[float] | None = None) -> list[dict[str, Any]]:
    """One channel: statistics, the daily report and the age/gender viewer percentages."""
    shares = shares if shares is not None else [20.0, 30.0, 25.5, 24.5]
    groups = [("age18-24", "female"), ("age18-24", "male"), ("age25-34", "female"), ("age25-34", "male")]
    metric_headers = [{"name": m, "columnType": "METRIC", "dataType": "INTEGER"}
                      for m in ("views", "likes", "subscribersGained", "subscribersLost")]
    return [
        _record(run_id, "youtube", channel, "node", 0, {"part": "statistics", "id": channel},
                {"items": [{"id": channel, "statistics": {"subscriberCount": "1230", "viewCount": "99000",
                                                          "videoCount": "40"}}]}),
        _record(run_id, "youtube", channel, "analytics", 1,
                {"startDate": SINCE.isoformat(), "endDate": UNTIL.isoformat(), "dimensions": "day"},
                {"columnHeaders": [{"name": "day", "columnType": "DIMENSION", "dataType": "STRING"},
                                   *metric_headers],
                 "rows": [[d.isoformat(), 100 + i, 7, 3, 1] for i, d in enumerate(days())]}),
        _record(run_id, "youtube", channel, "demographics", 2,
                {"startDate": (UNTIL - timedelta(days=27)).isoformat(), "endDate": UNTIL.isoformat(),
                 "metrics": "viewerPercentage", "dimensions": "ageGroup,gender"},
                {"columnHeaders": [{"name": "ageGroup", "columnType": "DIMENSION", "dataType": "STRING"},
                                   {"name": "gender", "columnType": "DIMENSION", "dataType": "STRING"},
                                   {"name": "viewerPercentage", "columnType": "METRIC", "dataType": "FLOAT"}],
                 "rows": [[a, g, s] for (a, g), s in zip(groups, shares, strict=True)]}),
    ]


def status(platform: str, account: str, ok: bool = True) -> dict[str, Any]:
    """The per-account fetch outcome the fetch engine writes next to a chunk."""
    return {"platform": platform, "account_id": account, "since": SINCE.isoformat(), "until": UNTIL.isoformat(),
            "status": "ok" if ok else "failed", "requests": 5, "retired_metrics": [],
            "error": None if ok else {"error_class": "auth", "message": "token expired"}}


def facebook_batch(run_id: str, pages: tuple[str, ...] = PAGES) -> tuple[list[dict], list[dict]]:
    """Records and statuses of a clean Facebook batch."""
    records = [r for i, p in enumerate(pages) for r in facebook_account(run_id, p, base=5000 + 1000 * i)]
    return records, [status("facebook", p) for p in pages]


def youtube_batch(run_id: str, channels: tuple[str, ...] = CHANNELS) -> tuple[list[dict], list[dict]]:
    """Records and statuses of a clean YouTube batch."""
    return ([r for c in channels for r in youtube_account(run_id, c)], [status("youtube", c) for c in channels])


def land(settings: Settings, run_id: str, platform: str, records: list[dict], statuses: list[dict]) -> Path:
    """Write one chunk of landing files, as the fetch engine does."""
    return landing.write_chunk(settings.landing_dir, run_id, platform, "chunk-0000", copy.deepcopy(records),
                               statuses)


def find(records: list[dict], account: str, endpoint: str) -> dict[str, Any]:
    """The landed record of one account and endpoint (to break it on purpose)."""
    return next(r for r in records if r["account_id"] == account and r["endpoint"] == endpoint)


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Read the warehouse without holding it open."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def raw_snapshot(path: Path) -> dict[str, list]:
    """Every raw table that a load writes (to prove a rejected batch changed nothing)."""
    if not path.exists():
        return {}
    tables = ("loads", "responses", "observations", "objects", "account_runs", "coverage")
    return {t: query(path, f"select * from raw.{t} order by all") for t in tables}


def tree_bytes(folder: Path) -> dict[str, bytes]:
    """Every file below a folder, by relative path (to compare a quarantined copy with the batch)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
