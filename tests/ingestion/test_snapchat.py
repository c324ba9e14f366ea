"""Snapchat stays off unless switched on; switched on, it loads daily stats from the sandbox."""

from __future__ import annotations

from datetime import date

import duckdb

from ingestion.core.settings import load_settings
from ingestion.pipeline import chain as pipeline
from sandbox.data import snapchat_profile_id
from sandbox.server import SandboxConfig, SandboxServer
from sandbox.truth import ground_truth
from tests.conftest import SANDBOX_NOW, TEST_TOKEN

REGISTRY = """organisation: {name: Test kommun, population: 1000}
accounts:
  - {platform: snapchat, id: "%s", name: Ungdom Snap, department: Ungdom}
"""


def test_snapchat_switch(tmp_path, monkeypatch):
    profile = snapchat_profile_id(1)
    (tmp_path / "accounts.yml").write_text(REGISTRY % profile)
    config = SandboxConfig(accounts=2, now=SANDBOX_NOW, youtube_channels=0, snapchat_profiles=2)
    with SandboxServer(config).start() as server:
        monkeypatch.setenv("SOCIALPULSE_HOME", str(tmp_path / "data"))
        monkeypatch.setenv("SOCIALPULSE_ACCOUNTS", str(tmp_path / "accounts.yml"))
        monkeypatch.setenv("SOCIALPULSE_SNAPCHAT_URL", server.snapchat_url)
        monkeypatch.setenv("SOCIALPULSE_SNAPCHAT_TOKEN", TEST_TOKEN)
        off = pipeline.run_ingest(load_settings(), date(2026, 11, 19))
        assert off.fetches == []  # the switch is off by default: nothing is called
        monkeypatch.setenv("SOCIALPULSE_SNAPCHAT_ENABLED", "true")
        report = pipeline.run_ingest(load_settings(), date(2026, 11, 19))
    assert report.failed_accounts == []
    con = duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True)
    got = dict(con.execute("select metric_date, value from raw.observations where metric_name = 'subscriber_count'"
                           ).fetchall())
    con.close()
    truth = {t["metric_date"]: t["followers"] for t in ground_truth(config, date(2026, 11, 17), date(2026, 11, 19))
             if t["platform"] == "snapchat" and t["account_id"] == profile}
    assert got and all(got[d] == truth[d] for d in truth)
