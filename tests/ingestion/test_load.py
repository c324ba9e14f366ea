"""The loader: atomic, idempotent, and guarded by the GX gate (bad batches never reach raw)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest

from ingestion.core.registry import load_registry
from ingestion.core.settings import Settings
from ingestion.extract import landing
from ingestion.load.loader import load_run

REPO = Path(__file__).resolve().parents[2]
PAGE = "100000000000001"


def _insights_body(values: list[int]) -> dict:
    # end_time 08:00 UTC = midnight PST: measured days 2026-11-10, -11, ...
    return {
        "data": [
            {
                "name": "page_daily_follows_unique",
                "period": "day",
                "values": [
                    {"value": v, "end_time": f"2026-11-{11 + i:02d}T08:00:00+0000"} for i, v in enumerate(values)
                ],
                "id": f"{PAGE}/insights/page_daily_follows_unique/day",
            }
        ]
    }


def _land(settings: Settings, run_id: str, values: list[int]) -> None:
    common = {"platform": "facebook", "account_id": PAGE, "api_version": "v25.0", "http_status": 200,
              "fetched_at": "2026-11-20T17:00:00+00:00", "usage_headers": {}}
    records = [
        {**common, "response_id": f"{run_id}-node", "endpoint": "node", "url": "http://x/v25.0/node",
         "params": {"fields": "followers_count", "access_token": "***"},
         "body": {"id": PAGE, "followers_count": 5000}},
        {**common, "response_id": f"{run_id}-ins", "endpoint": "insights", "url": "http://x/v25.0/insights",
         "params": {"metric": "page_daily_follows_unique", "since": 0, "until": 0, "access_token": "***"},
         "body": _insights_body(values)},
    ]
    status = [{"platform": "facebook", "account_id": PAGE, "since": "2026-11-10", "until": "2026-11-12",
               "status": "ok", "error": None}]
    landing.write_chunk(settings.landing_dir, run_id, "facebook", "chunk-0000", records, status)


def _snapshot(path: Path) -> dict[str, list]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"select * from raw.{t} order by all").fetchall()
                for t in ("loads", "responses", "observations", "accounts")}
    finally:
        con.close()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "data", accounts=REPO / "config" / "accounts.yml")


def test_good_batch_commits_once_and_reload_is_a_no_op(settings):
    registry = load_registry(settings.accounts)
    _land(settings, "run-1", [3, 4, 5])
    first = load_run(settings, registry, "run-1", "facebook")
    assert first.status == "committed"
    assert first.observations == 4  # 3 days of follows + the followers_count snapshot
    assert (first.business_date_min, first.business_date_max) == ("2026-11-10", "2026-11-19")
    before = _snapshot(settings.warehouse)
    again = load_run(settings, registry, "run-1", "facebook")
    assert again.status == "already_loaded"
    assert _snapshot(settings.warehouse) == before
    # Raw responses are kept verbatim, and the day is the Pacific day before end_time.
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    days = con.execute(
        "select metric_date::varchar, value from raw.observations where source = 'insights' order by 1"
    ).fetchall()
    con.close()
    assert days == [("2026-11-10", 3.0), ("2026-11-11", 4.0), ("2026-11-12", 5.0)]


def test_batch_failing_the_gate_leaves_the_warehouse_unchanged_and_is_quarantined(settings):
    registry = load_registry(settings.accounts)
    _land(settings, "run-1", [3, 4, 5])
    assert load_run(settings, registry, "run-1", "facebook").status == "committed"
    before = _snapshot(settings.warehouse)

    _land(settings, "run-2", [3, -7, 5])  # a negative follow count: impossible, must not load
    result = load_run(settings, registry, "run-2", "facebook")

    assert result.status == "quarantined"
    assert _snapshot(settings.warehouse) == before
    failed = {f["expectation"]: f for f in result.gate["failures"]}
    assert failed["expect_column_values_to_be_between"]["unexpected_count"] == 1
    kept = settings.quarantine_dir / landing.safe_name("run-2/facebook")
    validation = json.loads((kept / "validation.json").read_text())
    assert validation["gate"]["success"] is False
    assert (kept / "landing" / "chunk-0000.jsonl").exists()  # the batch is kept intact


def test_unparseable_account_is_cut_out_and_reported(settings):
    registry = load_registry(settings.accounts)
    _land(settings, "run-3", [1, 2, 3])
    path = landing.run_dir(settings.landing_dir, "run-3") / "facebook" / "chunk-0000.jsonl"
    lines = path.read_text().splitlines()
    broken = json.loads(lines[1])
    broken["body"] = {"data": "<html>oops</html>"}
    path.write_text(lines[0] + "\n" + json.dumps(broken) + "\n")
    result = load_run(settings, registry, "run-3", "facebook")
    assert result.status == "quarantined"
    assert result.accounts_failed == [
        {"account_id": PAGE, "error_class": "garbage_response",
         "message": "ParseError: insights body has no 'data' list"}
    ]
    assert not settings.warehouse.exists() or _snapshot(settings.warehouse)["observations"] == []


def test_staging_in_worker_processes_loads_what_one_process_loads(tmp_path, monkeypatch):
    """A large batch (a backfill) is staged by worker processes: same rows as staging it here."""
    from ingestion.load import loader

    monkeypatch.setattr(loader, "BATCH_RECORDS", 1)  # one slice per response: several per worker
    registry = load_registry(REPO / "config" / "accounts.yml")
    snapshots, results = [], []
    for min_bytes in (10**12, 0):  # in this process, then in workers
        monkeypatch.setattr(loader, "PARALLEL_STAGING_MIN_BYTES", min_bytes)
        settings = Settings(home=tmp_path / f"home-{min_bytes}", accounts=REPO / "config" / "accounts.yml")
        _land(settings, "run-1", [3, 4, 5])
        in_workers = loader._staging_workers(settings.landing_dir, "run-1", "facebook") > 0
        assert in_workers == (min_bytes == 0 and (os.cpu_count() or 1) > 1)
        result = load_run(settings, registry, "run-1", "facebook")
        results.append((result.status, result.responses, result.observations, result.accounts_loaded))
        snapshots.append(_snapshot(settings.warehouse))
    assert results[0] == results[1] == ("committed", 2, 4, [PAGE])
    assert snapshots[0]["observations"] == snapshots[1]["observations"]
    assert snapshots[0]["responses"] == snapshots[1]["responses"]
