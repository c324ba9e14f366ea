"""Platform days. Meta and YouTube count days in US Pacific time (America/Los_Angeles).

A Meta `end_time` marks the END of a Pacific day (`...T07:00:00+0000` in PDT, `T08:00` in PST), so
the measured day is the Pacific calendar date of end_time minus one. Dates are kept as the
platform delivers them and labelled "platform day (PT)" downstream; they are never shifted to
Swedish time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from ingestion.core.platforms import PACIFIC, TIMEZONES


@lru_cache(maxsize=4096)
def measured_date(end_time: str) -> date:
    """The Pacific day that a Meta `end_time` closes.

    Cached: a response repeats the same few end_times for every metric and account, and strptime
    was ~60 % of the Facebook parse in a two-year backfill (bench/README.md, load section).
    """
    ts = datetime.strptime(end_time, "%Y-%m-%dT%H:%M:%S%z")
    return ts.astimezone(PACIFIC).date() - timedelta(days=1)


def pacific_midnight(day: date) -> datetime:
    """00:00 of `day` in Pacific time, as an aware UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=PACIFIC).astimezone(UTC)


def unix_pacific_midnight(day: date) -> int:
    """Unix seconds of 00:00 Pacific on `day` (what `since`/`until` mean for a platform day)."""
    return int(pacific_midnight(day).timestamp())


def pacific_date_of_unix(seconds: int | str) -> date:
    """The Pacific date of a unix timestamp (inverse of `unix_pacific_midnight` for midnights)."""
    return datetime.fromtimestamp(int(seconds), tz=UTC).astimezone(PACIFIC).date()


def snapshot_date(fetched_at: datetime) -> date:
    """The platform day a "current" value (e.g. followers_count) stands for.

    The nightly run reads node fields shortly after the Pacific day closed, so the value is the
    total at the end of the previous Pacific day.
    """
    return fetched_at.astimezone(PACIFIC).date() - timedelta(days=1)


def pacific_today(now: datetime | None = None) -> date:
    """Today's date in Pacific time."""
    return (now or datetime.now(UTC)).astimezone(PACIFIC).date()


def platform_today(platform: str, now: datetime | None = None) -> date:
    """Today's date on `platform`'s calendar (Pacific unless the platform says otherwise).

    `now` (an aware datetime) is the injectable clock; default: the machine's clock, in UTC, so the
    machine's own time zone never decides the day.
    """
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return (now or datetime.now(UTC)).astimezone(TIMEZONES.get(platform, PACIFIC)).date()


def days(start: date, end: date) -> list[date]:
    """Every date from start to end inclusive."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
