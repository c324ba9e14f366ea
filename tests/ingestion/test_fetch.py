"""The fetch engine against the sandbox over real HTTP: batching, isolation, retired metrics."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ingestion.core import metrics
from ingestion.extract import landing
from ingestion.extract.fetch import fetch_chunk
from ingestion.extract.plan import AccountPlan
from ingestion.sources import FetchContext
from tests.conftest import TEST_TOKEN

AS_OF = date(2026, 11, 19)
PAGES = [str(100000000000000 + i) for i in range(1, 6)]
IG = [str(17841400000000000 + i) for i in range(1, 6)]


def _plans(ids, platform, since=date(2026, 11, 17), token_env=None):
    return [AccountPlan(platform, i, token_env, since, AS_OF) for i in ids]


def test_graph_calls_are_batched_across_accounts(pipeline_env):
    result = fetch_chunk(pipeline_env, "run-batch", "c0", _plans(IG, "instagram"), FetchContext(as_of=AS_OF))
    assert result.accounts_failed == 0 and result.accounts_ok == 5
    # Every account needs many calls (node, reach, 2 per day, demographics, media + media insights),
    # but batches of 50 carry them: far fewer round trips than calls.
    assert result.sub_requests > 5 * 8
    assert result.round_trips <= result.sub_requests / 10
    records = list(landing.read_records(pipeline_env.landing_dir, "run-batch", "instagram"))
    assert len(records) == result.responses
    assert {r["account_id"] for r in records} == set(IG)


def test_batching_off_gives_the_same_responses(pipeline_env, monkeypatch):
    plans = _plans(PAGES[:2], "facebook")
    batched = fetch_chunk(pipeline_env, "run-a", "c0", plans, FetchContext(as_of=AS_OF))
    monkeypatch.setenv("SOCIALPULSE_GRAPH_BATCH", "false")
    from ingestion.core.settings import load_settings

    single = fetch_chunk(load_settings(), "run-b", "c0", plans, FetchContext(as_of=AS_OF))
    assert single.round_trips == single.sub_requests == batched.sub_requests
    bodies_a = sorted(json.dumps(r["body"], sort_keys=True) for r in
                      landing.read_records(pipeline_env.landing_dir, "run-a", "facebook"))
    bodies_b = sorted(json.dumps(r["body"], sort_keys=True) for r in
                      landing.read_records(pipeline_env.landing_dir, "run-b", "facebook"))
    assert bodies_a == bodies_b


def test_expired_token_fails_only_its_account_and_lands_nothing_of_it(pipeline_env, monkeypatch):
    monkeypatch.setenv("EXPIRED_PAGE_TOKEN", "expired-token-for-test")
    plans = _plans(PAGES[:3], "facebook")
    plans[1] = AccountPlan("facebook", PAGES[1], "EXPIRED_PAGE_TOKEN", plans[1].since, AS_OF)
    result = fetch_chunk(pipeline_env, "run-auth", "c0", plans, FetchContext(as_of=AS_OF))
    assert (result.accounts_ok, result.accounts_failed) == (2, 1)
    failure = result.failures[0]
    assert failure["account_id"] == PAGES[1]
    assert (failure["error_class"], failure["code"], failure["subcode"]) == ("auth", 190, 463)
    landed = {r["account_id"] for r in landing.read_records(pipeline_env.landing_dir, "run-auth", "facebook")}
    assert landed == {PAGES[0], PAGES[2]}
    assert "expired-token-for-test" not in json.dumps(result.to_dict())


def test_missing_token_is_an_auth_failure_without_any_call(pipeline_env):
    plans = [AccountPlan("facebook", PAGES[0], "NO_SUCH_TOKEN_VARIABLE", date(2026, 11, 19), AS_OF)]
    result = fetch_chunk(pipeline_env, "run-none", "c0", plans, FetchContext(as_of=AS_OF))
    assert result.round_trips == 0
    assert result.failures[0]["message"] == "no token configured: NO_SUCH_TOKEN_VARIABLE is not set"


def test_retired_metric_degrades_alone(pipeline_env, monkeypatch):
    # A registry that still believes in page_fans (retired by Meta on 2025-11-15): the sandbox
    # refuses it with (#100), which fails the whole call; the engine must isolate it.
    stale = metrics.Metric("facebook", "page_fans", "account_insights", "day", "time_series")
    monkeypatch.setattr(metrics, "METRICS", (*[m for m in metrics.METRICS if m.name != "page_fans"], stale))
    result = fetch_chunk(pipeline_env, "run-retired", "c0", _plans(PAGES[:2], "facebook"), FetchContext(as_of=AS_OF))
    assert result.accounts_failed == 0
    assert result.retired_metrics == ["page_fans"]
    names = set()
    for record in landing.read_records(pipeline_env.landing_dir, "run-retired", "facebook"):
        if record["endpoint"] == "insights":
            names |= {item["name"] for item in record["body"]["data"]}
    assert "page_follows" in names and "page_fans" not in names
    statuses = landing.read_statuses(pipeline_env.landing_dir, "run-retired", "facebook")
    assert all(s["retired_metrics"] == ["page_fans"] for s in statuses)


def test_known_retired_metric_is_not_requested(pipeline_env):
    ctx = FetchContext(as_of=AS_OF, retired_metrics=frozenset({("facebook", "page_views_total")}))
    fetch_chunk(pipeline_env, "run-skip", "c0", _plans(PAGES[:1], "facebook"), ctx)
    for record in landing.read_records(pipeline_env.landing_dir, "run-skip", "facebook"):
        assert "page_views_total" not in str(record["params"].get("metric", ""))


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_tokens_never_reach_landing_files(pipeline_env, platform):
    ids = PAGES if platform == "facebook" else IG
    fetch_chunk(pipeline_env, f"run-secret-{platform}", "c0", _plans(ids[:2], platform), FetchContext(as_of=AS_OF))
    for path in landing.run_dir(pipeline_env.landing_dir, f"run-secret-{platform}").rglob("*"):
        if path.is_file():
            assert TEST_TOKEN not in path.read_text()
