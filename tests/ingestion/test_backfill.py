"""Backfill through the real engine: windows split to the API limits, results equal to the ground
truth across the March DST switch, the coverage ledger skips what is held, and replay re-derives
the same observations from stored responses without calling the API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ingestion.load.replay import replay
from ingestion.pipeline import chain as pipeline
from ingestion.transform import runner as transform
from sandbox.data import is_small_account
from sandbox.server import SandboxConfig
from sandbox.truth import ground_truth
from tests.conftest import SANDBOX_NOW, sized_settings, warehouse_rows

SINCE, UNTIL = date(2026, 2, 20), date(2026, 4, 10)  # 50 days: two IG 30-day windows, DST on 2026-03-08


@pytest.fixture
def small_env(pipeline_env, tmp_path, monkeypatch):
    return sized_settings(tmp_path, monkeypatch, {"facebook": 3, "instagram": 3, "youtube": 2})


def test_backfill_equals_ground_truth_and_ledger_and_replay_hold(small_env):
    settings = small_env
    report = pipeline.run_backfill(settings, SINCE, UNTIL, transform=False)
    assert report.failed_accounts == []
    assert {item["status"] for item in report.loads} == {"committed"}
    # Facebook: 50 days fit one 90-day window; Instagram reach needs two 30-day windows.
    calls = warehouse_rows(settings, "select platform, count(*) from raw.responses where endpoint = 'insights' "
                            "and request_params->>'metric' = 'reach' group by 1")
    assert calls == [("instagram", 3 * 2)]
    transform.build(settings)
    mart = {(r[0], r[1], r[2]): r[3:] for r in warehouse_rows(
        settings, "select platform, account_id, metric_date, followers_gained, followers_lost, views, engagements "
                  "from marts.fct_follower_growth_daily")}
    truth = ground_truth(SandboxConfig(accounts=3, seed=42, now=SANDBOX_NOW, youtube_channels=2), SINCE, UNTIL)
    mismatches = []
    for t in truth:
        if is_small_account(t["platform"], t["account_id"]):
            continue
        key = (t["platform"], t["account_id"], t["metric_date"])
        want = (t["followers_gained"], t["followers_lost"], t["views"], t["engagements"])
        got = mart.get(key)
        if t["platform"] == "youtube":
            want, got = want[:2], got and got[:2]  # YouTube "engagements" recipe differs; flows must match
        if got != want:
            mismatches.append((key, got, want))
    assert mismatches == []
    assert ("facebook", "100000000000001", date(2026, 3, 8)) in mart

    # The ledger holds the range: a second backfill plans nothing and calls nothing.
    again = pipeline.run_backfill(settings, SINCE, UNTIL, transform=False)
    assert sum(f["round_trips"] for f in again.fetches) == 0
    # Forced, it re-fetches; observations are appended (bitemporal), staging still has one per key.
    forced = pipeline.run_backfill(settings, SINCE, SINCE + timedelta(days=2), platforms=("facebook",),
                                   force=True, transform=False)
    assert sum(f["round_trips"] for f in forced.fetches) > 0

    before = warehouse_rows(settings,
                            "select load_id, count(*), sum(value) from raw.observations group by 1 order by 1")
    written = replay(settings)
    after = warehouse_rows(settings, "select load_id, count(*), sum(value) from raw.observations group by 1 order by 1")
    assert after == before and sum(written.values()) == sum(r[1] for r in before)
