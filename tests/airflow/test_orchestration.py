"""Task bodies (ingestion.pipeline.orchestration) and the retry policy, without a scheduler: retries only
for transient failures, partial-failure reports that name every account, event folding, backfill
validation and planning, the optional mart gate."""

from __future__ import annotations

import sys
import types
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from ingestion.extract.http import ApiError, ErrorClass
from ingestion.pipeline import orchestration
from ingestion.pipeline.notify import AccountsFailed, TransientAccountsError, classify
from tests.airflow.conftest import REPO, write_registry


@pytest.mark.parametrize(
    ("exc", "retryable", "error_class"),
    [
        (ApiError(ErrorClass.TRANSIENT, "(2) try later"), True, "transient"),
        (ApiError(ErrorClass.THROTTLED, "(80001) BUC"), True, "throttled"),
        (ApiError(ErrorClass.AUTH, "(190) expired"), False, "auth"),
        (ApiError(ErrorClass.PERMISSION, "(10) permission"), False, "permission"),
        (ApiError(ErrorClass.INVALID_REQUEST, "(100) bad"), False, "invalid_request"),
        (TransientAccountsError("2 failed", failures=[{}, {}]), True, "transient"),
        (AccountsFailed("1 failed"), False, "accounts_failed"),
        (ConnectionResetError("reset"), True, "transient"),
        (TimeoutError("slow"), True, "transient"),
        (ValueError("until is before since"), False, "invalid"),
        (KeyError("platform"), False, "invalid"),
        (ZeroDivisionError("bug"), False, "error"),
    ],
)
def test_only_transient_failures_are_retryable(exc, retryable, error_class):
    verdict = classify(exc)
    assert (verdict.retryable, verdict.error_class) == (retryable, error_class)


def test_a_locked_warehouse_is_transient():
    duckdb = pytest.importorskip("duckdb")
    exc = duckdb.IOException('Could not set lock on file "warehouse.duckdb": Conflicting lock is held')
    assert classify(exc).retryable and classify(exc).error_class == "warehouse_locked"


def test_retry_policy_retries_transient_and_fails_fast_otherwise(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "dags"))
    from airflow.sdk.definitions.retry_policy import RetryAction
    from dag_support.retry import TRANSIENT_ONLY

    retry = TRANSIENT_ONLY.evaluate(TransientAccountsError("x"), try_number=1, max_tries=3)
    assert retry.action is RetryAction.RETRY and retry.retry_delay is None  # the task's exponential backoff
    throttled = ApiError(ErrorClass.THROTTLED, "(80001)", retry_after_s=120.0)
    assert TRANSIENT_ONLY.evaluate(throttled, 1, 3).retry_delay == timedelta(seconds=120)
    for exc in (ApiError(ErrorClass.AUTH, "(190) expired"), AccountsFailed("x"), ValueError("bad conf")):
        decision = TRANSIENT_ONLY.evaluate(exc, try_number=1, max_tries=3)
        assert decision.action is RetryAction.FAIL, exc
        assert decision.reason.startswith("not retryable")


def _fake_fetch_chunk(failures):
    def fetch_chunk(settings, run_id, chunk, plans, ctx=None):
        return SimpleNamespace(to_dict=lambda: {
            "run_id": run_id, "platform": plans[0].platform, "chunk": chunk,
            "accounts_ok": len(plans) - len(failures), "accounts_failed": len(failures), "responses": 1,
            "round_trips": 1, "failures": failures,
        })
    return fetch_chunk


CHUNK = [{"platform": "facebook", "account_id": "1", "token_env": None, "since": "2026-11-17",
          "until": "2026-11-19"},
         {"platform": "facebook", "account_id": "2", "token_env": None, "since": "2026-11-17",
          "until": "2026-11-19"}]


def test_fetch_raises_for_transient_failures_while_tries_remain_then_returns(monkeypatch):
    failures = [{"account_id": "1", "error_class": "transient", "message": "HTTP 500"}]
    monkeypatch.setattr(orchestration.fetch_mod, "fetch_chunk", _fake_fetch_chunk(failures))
    monkeypatch.setattr(orchestration.pipeline, "fetch_context", lambda settings, as_of: None)
    with pytest.raises(TransientAccountsError) as info:
        orchestration.fetch("run1", CHUNK, try_number=1, max_tries=3)
    assert info.value.failures[0]["account_id"] == "1"
    # Last try: the chunk returns, its healthy account loads and the report names the failed one.
    result = orchestration.fetch("run1", CHUNK, try_number=4, max_tries=3)
    assert result["accounts_failed"] == 1


def test_fetch_never_retries_auth_failures(monkeypatch):
    failures = [{"account_id": "1", "error_class": "auth", "message": "(190) token expired"}]
    monkeypatch.setattr(orchestration.fetch_mod, "fetch_chunk", _fake_fetch_chunk(failures))
    monkeypatch.setattr(orchestration.pipeline, "fetch_context", lambda settings, as_of: None)
    assert orchestration.fetch("run1", CHUNK, try_number=1, max_tries=3)["accounts_failed"] == 1


def _load(platform, status="committed", loaded=(), failed=()):
    return {"load_id": f"run/{platform}", "platform": platform, "status": status, "observations": 10,
            "accounts_loaded": list(loaded), "accounts_failed": list(failed),
            "business_date_min": "2026-11-17", "business_date_max": "2026-11-19", "gate": None}


def test_report_names_failed_and_missing_accounts_after_the_healthy_ones_loaded():
    planned = {"facebook": [CHUNK], "instagram": [[{**CHUNK[0], "platform": "instagram", "account_id": "9"}]]}
    fetches = [[{"platform": "facebook", "failures": [{"account_id": "2", "error_class": "auth",
                                                        "message": "(190) expired"}]}], []]
    loads = [_load("facebook", loaded=["1"]), None]  # instagram's load did not run
    with pytest.raises(AccountsFailed) as info:
        orchestration.report(planned, fetches, loads)
    failures = {(f["platform"], f["account_id"]): f["error_class"] for f in info.value.failures}
    assert failures == {("facebook", "2"): "auth", ("instagram", "9"): "task_failed"}


def test_report_passes_when_every_planned_account_loaded():
    planned = {"facebook": [CHUNK], "youtube": []}
    summary = orchestration.report(planned, [[{"platform": "facebook", "failures": []}]],
                                   [_load("facebook", loaded=["1", "2"])])
    assert summary["accounts_loaded"] == 2 and summary["failed_accounts"] == []


def test_report_fails_when_committed_data_was_not_announced():
    with pytest.raises(RuntimeError, match="events were not emitted"):
        orchestration.report({"facebook": [CHUNK]}, [], [_load("facebook", loaded=["1", "2"])], events=None)


def test_report_fails_on_quarantine_and_on_an_unplanned_platform():
    gate = {"success": False, "failed_accounts": ["2"],
            "failures": [{"expectation": "expect_compound_columns_to_be_unique", "account_ids": ["2"]}]}
    with pytest.raises(AccountsFailed) as info:
        orchestration.report({"facebook": [CHUNK]}, [], [{**_load("facebook", status="quarantined"), "gate": gate}])
    assert info.value.quarantined == ["run/facebook"]
    assert [(f["account_id"], f["error_class"]) for f in info.value.failures] == [("2", "quarantined")]
    assert "expect_compound_columns_to_be_unique" in info.value.failures[0]["message"]
    with pytest.raises(AccountsFailed, match="not planned"):
        orchestration.report({"facebook": None}, [], [])


def test_event_extra_is_an_allowlist():
    extra = orchestration.event_extra({**_load("facebook", loaded=["1"]), "gate": {"token": "x"}})
    assert set(extra) == set(orchestration.EVENT_KEYS)
    assert extra["accounts_loaded"] == 1 and extra["kind"] == "nightly"


def test_raw_events_only_for_committed_loads():
    loads = [[_load("facebook", loaded=["1"])], _load("instagram", status="quarantined"), None,
             _load("youtube", status="already_loaded")]
    extras = orchestration.raw_events(loads, kind="backfill")
    assert sorted(extras) == ["facebook", "youtube"]
    assert extras["facebook"]["kind"] == "backfill" and extras["facebook"]["load_id"] == "run/facebook"


def test_collect_events_folds_several_events_into_one_summary():
    def event(load_id, first, last, run, kind="nightly"):
        return SimpleNamespace(extra={"load_id": load_id, "status": "committed", "business_date_min": first,
                                      "business_date_max": last, "kind": kind, "secret": "nope"},
                               source_run_id=run)

    from airflow.sdk import Asset

    facebook = Asset(name="socialpulse.raw.facebook", uri="socialpulse://warehouse/raw/facebook")
    instagram = Asset(name="socialpulse.raw.instagram", uri="socialpulse://warehouse/raw/instagram")
    events = {
        facebook: [event("a/facebook", "2026-11-01", "2026-11-03", "a"),
                   event("b/facebook", "2026-11-02", "2026-11-04", "b", kind="backfill")],
        instagram: [event("a/instagram", "2026-10-30", "2026-11-03", "a")],
    }
    summary = orchestration.collect_events(events)
    assert summary["events"] == 3
    assert summary["load_ids"] == ["a/facebook", "a/instagram", "b/facebook"]
    assert (summary["business_date_min"], summary["business_date_max"]) == ("2026-10-30", "2026-11-04")
    assert summary["nightly_as_of"] == "2026-11-03"  # the backfill's later day does not move it
    assert all("secret" not in item for item in summary["loads"])
    assert orchestration.collect_events(None)["events"] == 0
    assert orchestration.collect_events(None)["nightly_as_of"] is None


def test_backfill_request_validates_and_clips():
    today = date(2026, 11, 25)
    req = orchestration.backfill_request({"since": "2026-11-01", "until": "2026-12-31"}, today)
    assert (req.since, req.until) == (date(2026, 11, 1), today) and req.notes
    assert req.platforms == ("facebook", "instagram", "youtube") and req.force is False  # the enabled ones
    with pytest.raises(ValueError, match="switched off"):
        orchestration.backfill_request({"since": "2026-11-01", "until": "2026-11-02", "platforms": ["snapchat"]},
                                       today)
    with pytest.raises(ValueError, match="before"):
        orchestration.backfill_request({"since": "2026-11-05", "until": "2026-11-01"}, today)
    with pytest.raises(ValueError, match="unsupported"):
        orchestration.backfill_request({"since": "2026-11-01", "until": "2026-11-02", "platforms": ["myspace"]},
                                       today)
    with pytest.raises(ValueError, match="needs both"):
        orchestration.backfill_request({"since": "2026-11-01"}, today)


def test_backfill_plans_budgeted_chunks_per_platform(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("SOCIALPULSE_ACCOUNTS", str(write_registry(tmp_path / "accounts.yml", 3)))
    today = date.today() - timedelta(days=1)
    params = {"since": (today - timedelta(days=400)).isoformat(), "until": today.isoformat(),
              "platforms": ["instagram"], "accounts": [], "force": False}
    monkeypatch.setattr(orchestration, "BACKFILL_REQUESTS_PER_CHUNK", 500)
    chunks = orchestration.plan_backfill_chunks(params, "instagram", today)
    assert orchestration.plan_backfill_chunks(params, "facebook", today) == []  # not asked for
    plans = [p for chunk in chunks for p in chunk]
    assert {p["platform"] for p in plans} == {"instagram"} and len({p["account_id"] for p in plans}) == 3
    assert len(chunks) == 3  # ~800 requests per account for 400 days: one account per chunk
    with pytest.raises(ValueError, match="not registered"):
        orchestration.plan_backfill_chunks({**params, "accounts": ["404"]}, "instagram", today)


def test_mart_gate_is_optional_and_called_when_present(monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ingestion.gates.mart_gate" else real_find_spec(name, *a))
    assert orchestration.mart_gate("run1") == {"gate": "not_installed"}

    calls = []
    module = types.ModuleType("ingestion.gates.mart_gate")
    module.run = lambda settings, run_id, as_of=None: calls.append((run_id, as_of)) or {"passed": True, "checks": 3}
    monkeypatch.setitem(sys.modules, "ingestion.gates.mart_gate", module)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())
    assert orchestration.mart_gate("run2") == {"gate": "ran", "result": {"passed": True, "checks": 3}}
    # the nightly's day from the folded events is the gate's reference day, not the wall clock
    orchestration.mart_gate("run3", {"nightly_as_of": "2026-06-30", "business_date_max": "2026-07-02"})
    assert calls == [("run2", None), ("run3", date(2026, 6, 30))]


def test_a_dbt_project_that_does_not_parse_names_the_reason(monkeypatch):
    from ingestion.transform import runner as transform

    def build(settings, log=print):
        for line in ("\x1b[0m11:40:14  Running with dbt=1.11.16", "\x1b[0m11:40:14  Encountered an error:",
                     "Parsing Error", "  Error reading socialpulse: marts/growth/_growth__models.yml - Runtime Error",
                     "    Syntax error near line 22"):
            log(line)
        raise transform.DbtBuildError("dbt build failed: see the dbt log")

    monkeypatch.setattr(transform, "build", build)
    with pytest.raises(transform.DbtBuildError) as info:
        orchestration.dbt_build()
    assert "_growth__models.yml - Runtime Error" in str(info.value) and "\x1b" not in str(info.value)
    assert classify(info.value).error_class == "dbt_failed"


def test_nightly_fetch_is_sharded_by_the_shard_size_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("SOCIALPULSE_ACCOUNTS", str(write_registry(tmp_path / "accounts.yml", 5)))
    as_of = date.today() - timedelta(days=2)
    sizes = {}
    for setting in ("1", "2", "50"):
        monkeypatch.setenv("SOCIALPULSE_FETCH_SHARD_SIZE", setting)
        shards = orchestration.plan_nightly_chunks({"as_of": as_of.isoformat()}, None, "facebook")
        accounts = [p["account_id"] for shard in shards for p in shard]
        assert len(set(accounts)) == len(accounts) == 5  # every account in exactly one shard
        assert {p["platform"] for shard in shards for p in shard} == {"facebook"}
        sizes[setting] = [len(shard) for shard in shards]
    assert sizes == {"1": [1] * 5, "2": [2, 2, 1], "50": [5]}
    monkeypatch.setenv("SOCIALPULSE_FETCH_SHARD_SIZE", "0")
    with pytest.raises(ValueError, match="fetch_shard_size"):
        orchestration.plan_nightly_chunks({"as_of": as_of.isoformat()}, None, "facebook")


def test_shards_grow_rather_than_exceed_airflows_map_limit():
    assert orchestration.shard_size(50, 170) == 50
    assert orchestration.shard_size(1, 5_000) == 5  # 1,000 tasks, within max_map_length (1,024)
    assert orchestration.shard_size(1, orchestration.MAX_SHARDS) == 1
    assert orchestration.shard_size(1, orchestration.MAX_SHARDS + 1) == 2
    assert -(-5_000 // orchestration.shard_size(1, 5_000)) <= orchestration.MAX_SHARDS


def test_a_shard_label_names_its_accounts_and_the_failed_ones():
    shard = [{"platform": "facebook", "account_id": str(100 + i)} for i in range(3)]
    assert orchestration.shard_label(shard) == "facebook 100..102 (3 accounts)"
    assert orchestration.shard_label(shard[:1], {"failures": []}) == "facebook 100 (1 account): 0 failed"
    failed = {"failures": [{"account_id": "101"}, {"account_id": "102"}]}
    assert orchestration.shard_label(shard, failed) == "facebook 100..102 (3 accounts): 2 failed 101, 102"
    many = [{"platform": "instagram", "account_id": f"17841400000{i:05d}"} for i in range(50)]
    label = orchestration.shard_label(many, {"failures": many})
    assert len(label) <= orchestration.SHARD_LABEL_MAX and label.endswith(", …") and "50 failed" in label
