"""Sandbox calendars without a tz database: the Meta day (America/Los_Angeles) and Stockholm posting times."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta

# ------------------------------------------------------------------------------------------------
# Meta day calendar (America/Los_Angeles)
# ------------------------------------------------------------------------------------------------
# Implemented from the US DST rule (since 2007: second Sunday in March -> first Sunday in November,
# switching at 02:00 local) instead of zoneinfo, so the sandbox does not depend on a system tz
# database (slim containers and Windows lack one). The tests cross-check it against zoneinfo.


@functools.lru_cache(maxsize=256)
def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


def _is_pdt_at_local_midnight(d: date) -> bool:
    # At 00:00 local on the switch days the *old* offset still applies (switch is at 02:00).
    return _nth_sunday(d.year, 3, 2) < d <= _nth_sunday(d.year, 11, 1)


@functools.lru_cache(maxsize=8192)
def day_start_utc(d: date) -> datetime:
    """00:00 America/Los_Angeles on ``d`` as an aware UTC datetime (07:00Z in PDT, 08:00Z in PST)."""
    hours = 7 if _is_pdt_at_local_midnight(d) else 8
    return datetime(d.year, d.month, d.day, hours, tzinfo=UTC)


@functools.lru_cache(maxsize=8192)
def day_start_ts(d: date) -> int:
    """Unix seconds of 00:00 America/Los_Angeles on ``d``."""
    return int(day_start_utc(d).timestamp())


@functools.lru_cache(maxsize=256)
def _dst_bounds(year: int) -> tuple[float, float]:
    # Switches at 02:00 local: 10:00Z on the March Sunday (from PST), 09:00Z in November (PDT).
    start = datetime.combine(_nth_sunday(year, 3, 2), datetime.min.time(), UTC) + timedelta(hours=10)
    end = datetime.combine(_nth_sunday(year, 11, 1), datetime.min.time(), UTC) + timedelta(hours=9)
    return start.timestamp(), end.timestamp()


def pacific_utc_offset_hours(moment: datetime | int | float) -> int:
    """Hours Pacific time is behind UTC at an instant: 7 (PDT) or 8 (PST)."""
    ts = moment if isinstance(moment, int | float) else moment.timestamp()
    # Year of the instant without building a datetime (365.2425-day years are exact enough here:
    # the DST switches are months away from New Year).
    year = 1970 + int(ts // 31_556_952)
    start, end = _dst_bounds(year)
    return 7 if start <= ts < end else 8


def pacific_date(moment: datetime | int | float) -> date:
    """The America/Los_Angeles calendar date containing ``moment`` (aware datetime or unix s)."""
    ts = moment if isinstance(moment, int | float) else moment.timestamp()
    return datetime.fromtimestamp(ts - 3600 * pacific_utc_offset_hours(ts), UTC).date()


@functools.lru_cache(maxsize=8192)
def end_time_str(measured_day: date) -> str:
    """Graph ``end_time`` of a measured day: start of the NEXT Pacific day, printed in UTC."""
    return day_start_utc(measured_day + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S+0000")


# ------------------------------------------------------------------------------------------------
# Europe/Stockholm (posting times of a Swedish municipality)
# ------------------------------------------------------------------------------------------------


def _last_sunday(year: int, month: int) -> date:
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def stockholm_to_utc(d: date, hour: int, minute: int) -> datetime:
    """Local Stockholm wall time -> aware UTC (EU rule: CEST from the last Sunday of March 01:00 UTC
    to the last Sunday of October 01:00 UTC). Posting hours are 06-22, never in the switch hour."""
    summer = _last_sunday(d.year, 3) <= d < _last_sunday(d.year, 10)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=UTC) - timedelta(hours=2 if summer else 1)
