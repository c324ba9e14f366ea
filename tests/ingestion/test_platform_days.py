"""Runs count platform days (Pacific for Meta and YouTube), from an injectable clock, never the
machine's local day; the mart gate judges the marts as of the run's logical day."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from bench.registry import write_registry
from ingestion.core import days
from ingestion.core.registry import load_registry
from ingestion.extract.plan import HISTORY_HORIZON_DAYS, plan_nightly, plan_window
from ingestion.pipeline import chain as pipeline
from tests.conftest import REPO, warehouse_rows

# 07:30 UTC on 20 Nov = 08:30 in Stockholm, but still 23:30 on 19 Nov in California.
STOCKHOLM_MORNING = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)


@pytest.fixture
def local_tz_ahead_of_utc(monkeypatch):
    """The machine runs on Stockholm time (as the municipality's servers do)."""
    monkeypatch.setenv("TZ", "Europe/Stockholm")
    time.tzset()
    yield
    monkeypatch.delenv("TZ")
    time.tzset()


def test_platform_today_is_the_pacific_day():
    assert days.platform_today("facebook", STOCKHOLM_MORNING) == date(2026, 11, 19)
    assert days.platform_today("instagram", STOCKHOLM_MORNING) == date(2026, 11, 19)
    assert days.platform_today("youtube", STOCKHOLM_MORNING) == date(2026, 11, 19)
    assert days.platform_today("snapchat", STOCKHOLM_MORNING) == date(2026, 11, 20)  # UTC day stamps
    with pytest.raises(ValueError):
        days.platform_today("facebook", datetime(2026, 11, 20, 7, 30))


def test_history_horizon_counts_pacific_days_from_the_injected_clock():
    registry = load_registry(REPO / "config" / "accounts.yml")
    plans = plan_window(registry, date(2020, 1, 1), date(2026, 11, 19), ("facebook", "youtube"),
                        now=STOCKHOLM_MORNING)
    assert plans and {p.since for p in plans} == {date(2026, 11, 19) - timedelta(days=HISTORY_HORIZON_DAYS)}
    # another clock, another horizon: the plan follows the clock it is given, not the machine's
    later = plan_window(registry, date(2020, 1, 1), date(2026, 11, 19), ("facebook",),
                        now=STOCKHOLM_MORNING + timedelta(days=3))
    assert {p.since for p in later} == {date(2026, 11, 22) - timedelta(days=HISTORY_HORIZON_DAYS)}


def test_default_clock_ignores_the_machine_time_zone(local_tz_ahead_of_utc):
    # With the machine on Stockholm time, date.today() can be one day ahead of the Pacific day;
    # the default horizon must still be the Pacific one.
    registry = load_registry(REPO / "config" / "accounts.yml")
    expected = days.pacific_today() - timedelta(days=HISTORY_HORIZON_DAYS)
    plans = plan_window(registry, date(2020, 1, 1), date.today(), ("instagram",))
    assert {p.since for p in plans} == {expected}
    assert os.environ["TZ"] == "Europe/Stockholm"


def test_nightly_plan_passes_the_clock_through():
    registry = load_registry(REPO / "config" / "accounts.yml")
    # a lookback reaching past the horizon is clipped to the horizon of the injected clock
    as_of = date(2026, 11, 19)
    plans = plan_nightly(registry, as_of, 90, ("facebook",), now=datetime(2028, 11, 1, 12, tzinfo=UTC))
    horizon = date(2028, 11, 1) - timedelta(days=HISTORY_HORIZON_DAYS)
    assert plans and {p.since for p in plans} == {max(as_of - timedelta(days=89), horizon)}


def test_mart_gate_judges_a_run_as_of_its_logical_day(pipeline_env, tmp_path, monkeypatch):
    """A re-run of an old day (here 2026-06-30, five months before the sandbox's 'now'): freshness
    is measured against that day, not against the wall clock (which would call every account stale)."""
    registry = tmp_path / "accounts.yml"
    with registry.open("w", encoding="utf-8") as fh:
        write_registry(fh, 2, 2, 1)
    monkeypatch.setenv("SOCIALPULSE_ACCOUNTS", str(registry))
    monkeypatch.setenv("SOCIALPULSE_LOOKBACK_DAYS", "10")
    from ingestion.core.settings import load_settings

    settings = load_settings()
    as_of = date(2026, 6, 30)
    report = pipeline.run_nightly(settings, as_of=as_of, now=datetime(2026, 11, 20, 17, tzinfo=UTC))
    assert report.as_of == as_of and report.failed_accounts == []
    assert report.published is not None
    stale = warehouse_rows(settings, "select account_id, detail from marts.fct_data_quality_findings "
                            "where check_name = 'freshness'")
    assert stale == []
    # the insights end with the logical day (the follower snapshot is dated by the sandbox's clock)
    assert warehouse_rows(settings, "select max(metric_date) from marts.fct_follower_growth_daily "
                           "where platform = 'instagram' and views is not null") == [(as_of,)]
