"""The load gate through the real landing + loader path: every defect class is kept out of raw,
quarantined intact and reported with its suite, expectation and account; a clean batch commits;
an expectation that raises is a gate error, never a pass or a data failure."""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd
import pytest

from ingestion.core.registry import load_registry
from ingestion.core.settings import Settings
from ingestion.extract import landing
from ingestion.gates import load_gate, quality
from ingestion.load.loader import load_id_for, load_run
from tests.quality.batches import (
    PAGES,
    REPO,
    UNTIL,
    facebook_batch,
    find,
    land,
    query,
    raw_snapshot,
    status,
    tree_bytes,
    youtube_batch,
)

PAGE_A, PAGE_B, PAGE_C = PAGES


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "data", accounts=REPO / "config" / "accounts.yml")


@pytest.fixture
def registry(settings):
    return load_registry(settings.accounts)


@pytest.fixture
def committed_before(settings, registry):
    """A warehouse that already holds one good load, so "unchanged" is a real comparison."""
    records, statuses = facebook_batch("run-0")
    land(settings, "run-0", "facebook", records, statuses)
    assert load_run(settings, registry, "run-0", "facebook").status == "committed"
    return raw_snapshot(settings.warehouse)


def test_clean_batch_passes_commits_and_records_its_validation(settings, registry):
    records, statuses = facebook_batch("run-1")
    land(settings, "run-1", "facebook", records, statuses)

    result = load_run(settings, registry, "run-1", "facebook")

    assert result.status == "committed"
    assert result.gate["success"] is True and result.gate["failures"] == [] and result.gate["raised"] == []
    suites = {s["suite"] for s in result.gate["suites"]}
    assert {"raw_facebook.account_insights", "raw_facebook.account_snapshots", "raw_facebook.demographics",
            "raw_facebook.content_metrics", "raw_facebook.objects", "raw_facebook.plan_coverage",
            "raw_facebook.load_gate"} <= suites
    assert query(settings.warehouse, "select count(*) from raw.observations where load_id = ?",
                 [result.load_id]) == [(result.observations,)]
    assert query(settings.warehouse, "select count(*) from raw.objects")[0][0] == 3
    # The validation history committed with the load: one row per suite, all passed.
    history = query(settings.warehouse, "select suite, success, failed, raised, rows, gx_seconds, docs_path "
                    "from raw.validation_runs where load_id = ? order by suite", [result.load_id])
    assert {row[0] for row in history} == suites
    assert all(row[1] and row[2] == 0 and row[3] == 0 and row[5] > 0 for row in history)
    summary = next(row for row in history if row[0] == "raw_facebook.load_gate")
    assert summary[4] == result.observations
    # Data Docs: an index kept per run that lists every suite with the expectations it evaluated;
    # a passing suite gets no page of its own (only failing ones do, see the defect test).
    docs = settings.home_abs / "gx_docs" / "run-1" / landing.safe_name(result.load_id)
    assert result.gate["docs_path"] == str(docs / "index.html") == summary[6]
    index = (docs / "index.html").read_text()
    assert all(suite in index for suite in suites - {"raw_facebook.load_gate"})
    assert "expect_column_values_to_not_be_null(metric_name)" in index
    assert "expect_compound_columns_to_be_unique(platform, account_id" in index
    assert sorted(p.name for p in docs.iterdir()) == ["index.html"]
    assert all(row[6] is None for row in history if row[0] != "raw_facebook.load_gate")
    assert not settings.quarantine_dir.exists() or not any(settings.quarantine_dir.iterdir())


def _null_key(monkeypatch, records, statuses):
    """A parser regression that drops the metric name of one account's rows."""
    from ingestion.sources.by_platform import PLATFORM_MODULES

    module = PLATFORM_MODULES["facebook"]
    original = module.parse

    def broken(record):
        parsed = original(record)
        if record["account_id"] == PAGE_B and record["endpoint"] == "insights":
            parsed.observations[0]["metric_name"] = None
        return parsed

    monkeypatch.setattr(module, "parse", broken)


def _duplicate(monkeypatch, records, statuses):
    """The same insights response landed twice (a retried request recorded twice)."""
    twin = dict(find(records, PAGE_B, "insights"), response_id="run-1-twin")
    records.append(twin)


def _negative(monkeypatch, records, statuses):
    find(records, PAGE_C, "insights")["body"]["data"][2]["values"][1]["value"] = -7


def _out_of_window(monkeypatch, records, statuses):
    """The API answered one day past the requested window."""
    values = find(records, PAGE_A, "insights")["body"]["data"][1]["values"]
    values.append({"value": 4, "end_time": "2026-11-21T08:00:00+0000"})  # measures 2026-11-20


def _unknown_metric(monkeypatch, records, statuses):
    find(records, PAGE_B, "insights")["body"]["data"].append(
        {"name": "page_mystery_metric", "period": "day",
         "values": [{"value": 1, "end_time": "2026-11-18T08:00:00+0000"}]})


def _empty_account(monkeypatch, records, statuses):
    """Planned and fetched OK, but nothing of it was landed."""
    records[:] = [r for r in records if r["account_id"] != PAGE_C]


def _unplanned_account(monkeypatch, records, statuses):
    """Rows of an account that the plan did not fetch (its status says failed)."""
    statuses[:] = [s for s in statuses if s["account_id"] != PAGE_A] + [status("facebook", PAGE_A, ok=False)]


def _duplicate_post(monkeypatch, records, statuses):
    posts = find(records, PAGE_A, "posts")["body"]["data"]
    posts.append(dict(posts[0]))


DEFECTS: dict[str, tuple[Callable, str, str, str]] = {
    # name: (break the batch, failing suite, failing expectation, account named)
    "null key": (_null_key, "raw_facebook.observations", "expect_column_values_to_not_be_null", PAGE_B),
    "duplicate": (_duplicate, "raw_facebook.observations", "expect_compound_columns_to_be_unique", PAGE_B),
    "negative count": (_negative, "raw_facebook.account_insights", "expect_column_values_to_be_between", PAGE_C),
    "out-of-window date": (_out_of_window, "raw_facebook.account_insights", "expect_column_values_to_be_between",
                           PAGE_A),
    "unknown metric": (_unknown_metric, "raw_facebook.observations", "expect_column_values_to_be_in_set",
                       PAGE_B),
    "empty account": (_empty_account, "raw_facebook.plan_coverage", "expect_column_values_to_be_between", PAGE_C),
    "unplanned account": (_unplanned_account, "raw_facebook.observations", "expect_column_values_to_be_in_set",
                          PAGE_A),
    "duplicate object": (_duplicate_post, "raw_facebook.objects", "expect_compound_columns_to_be_unique", PAGE_A),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_defective_batch_is_not_committed_but_quarantined_intact_and_reported(
    defect, settings, registry, committed_before, monkeypatch
):
    breaker, suite, expectation, account = DEFECTS[defect]
    records, statuses = facebook_batch("run-1")
    breaker(monkeypatch, records, statuses)
    land(settings, "run-1", "facebook", records, statuses)
    batch_files = tree_bytes(landing.run_dir(settings.landing_dir, "run-1") / "facebook")

    result = load_run(settings, registry, "run-1", "facebook")

    # Not committed: raw is exactly as before (no rows, no load row).
    assert result.status == "quarantined"
    assert raw_snapshot(settings.warehouse) == committed_before
    # Reported with the suite, the expectation and the account, plus sample rows.
    failure = next(f for f in result.gate["failures"] if f["suite"] == suite and f["expectation"] == expectation)
    assert account in failure["account_ids"]
    assert failure["unexpected_count"] >= 1 and failure["sample_rows"]
    assert all(r["account_id"] == account for r in failure["sample_rows"] if r.get("account_id"))
    if suite.endswith(".account_insights"):  # the suite reads some columns; its samples are whole rows
        assert {"response_id", "metric_name", "observed_at", "end_time"} <= set(failure["sample_rows"][0])
    assert account in result.gate["failed_accounts"]
    # Quarantined intact: the landing files byte for byte, with the validation result beside them.
    kept = settings.quarantine_dir / landing.safe_name(load_id_for("run-1", "facebook"))
    assert tree_bytes(kept / "landing") == batch_files
    saved = json.loads((kept / "validation.json").read_text())
    assert saved["status"] == "quarantined" and saved["gate"]["success"] is False
    assert {"suite": suite, "expectation": expectation} in [
        {"suite": f["suite"], "expectation": f["expectation"]} for f in saved["failed"]]
    assert account in saved["failed_accounts"]
    # The validation history keeps failures too (written outside the load transaction).
    failed_suites = query(settings.warehouse, "select suite from raw.validation_runs where load_id = ? "
                          "and not success", [result.load_id])
    assert (suite,) in failed_suites and ("raw_facebook.load_gate",) in failed_suites
    # The failing suite has its GX Data Docs page (linked from the index); passing suites have none.
    page_path = query(settings.warehouse, "select docs_path from raw.validation_runs where load_id = ? "
                      "and suite = ?", [result.load_id, suite])[0][0]
    docs = settings.home_abs / "gx_docs" / "run-1" / landing.safe_name(result.load_id)
    assert page_path == str(docs / f"{suite}.html")
    page = (docs / f"{suite}.html").read_text()
    assert suite in page and "Unsuccessful Expectations" in page and "unexpected values found" in page
    assert f'href="{suite}.html"' in (docs / "index.html").read_text()
    assert {p.name for p in docs.iterdir()} == {"index.html", *(f"{s}.html" for s in {s for s, in failed_suites}
                                                                if s != "raw_facebook.load_gate")}


def test_gx_raising_is_a_gate_error_not_a_pass_or_a_data_failure(settings, registry, committed_before, monkeypatch):
    import great_expectations.expectations as gxe

    def broken(*args, **kwargs):
        raise RuntimeError("simulated GX internal error")

    monkeypatch.setattr(gxe.ExpectColumnValuesToBeBetween, "_validate", broken)
    records, statuses = facebook_batch("run-1")
    land(settings, "run-1", "facebook", records, statuses)

    with pytest.raises(quality.GateError, match="simulated GX internal error") as caught:
        load_run(settings, registry, "run-1", "facebook")

    gate = caught.value.result
    assert gate.success is False and gate.raised
    assert {r["expectation"] for r in gate.raised} == {"expect_column_values_to_be_between"}
    assert raw_snapshot(settings.warehouse) == committed_before  # nothing committed
    assert not (settings.quarantine_dir / "run-1_facebook").exists()  # not bad data: nothing quarantined
    recorded = query(settings.warehouse, "select success, raised from raw.validation_runs "
                     "where load_id = ? and suite = 'raw_facebook.load_gate'", [gate.load_id])
    assert recorded[0][0] is False and recorded[0][1] > 0


def test_youtube_percentages_and_their_sums_are_checked(settings, registry):
    records, statuses = youtube_batch("run-1")
    rows = find(records, statuses[1]["account_id"], "demographics")["body"]["rows"]
    rows[0][2] = 60.0  # 60 + 30 + 25.5 + 24.5 = 140 %
    land(settings, "run-1", "youtube", records, statuses)

    result = load_run(settings, registry, "run-1", "youtube")

    assert result.status == "quarantined"
    failure = next(f for f in result.gate["failures"] if f["suite"] == "raw_youtube.audience_share_sums")
    assert failure["account_ids"] == [statuses[1]["account_id"]]
    assert failure["sample_rows"][0]["share_sum"] == pytest.approx(140.0)


def test_gate_batch_reports_a_percentage_above_100_and_a_missing_column():
    records, statuses = youtube_batch("run-1")
    from ingestion.load.loader import observations_frame, parse_records

    observations, _, broken = parse_records("youtube", records)
    assert not broken
    df = observations_frame(observations)
    df.loc[df["metric_name"] == "viewerPercentage", "value"] = 101.0
    common = dict(platform="youtube", known_metrics={*df["metric_name"]}, first_day=UNTIL, last_day=UNTIL,
                  expected_accounts={s["account_id"] for s in statuses}, run_id="r", load_id="r/youtube",
                  docs_dir=None)
    result = load_gate.gate_batch(df[df["source"] == "node"].copy(), None, **common)
    assert result.success  # snapshots only, dated by observation, inside the window

    result = load_gate.gate_batch(df, None, **common)
    failed = {(f["suite"], f["expectation"]) for f in result.failures}
    assert ("raw_youtube.audience_shares", "expect_column_values_to_be_between") in failed
    assert ("raw_youtube.account_insights", "expect_column_values_to_be_between") in failed  # 17..18 < UNTIL

    result = load_gate.gate_batch(df.drop(columns=["value"]), pd.DataFrame(), **common)
    schema = next(f for f in result.failures if f["suite"] == "raw_youtube.observations_schema")
    assert {r["column_name"] for r in schema["sample_rows"]} == {"value"}
    assert not result.raised  # a missing column is a data failure, not a broken gate


def test_the_gate_does_not_fingerprint_its_batches(monkeypatch):
    """GX's md5 of every batch (a marker nothing reads) is off: 1.2 s of a two-year backfill (issue 21)."""
    from great_expectations.execution_engine import pandas_execution_engine

    def fingerprint(df):
        raise AssertionError("GX fingerprinted a batch")

    records, statuses = youtube_batch("run-1")
    from ingestion.load.loader import observations_frame, parse_records

    observations, _, _ = parse_records("youtube", records)
    df = observations_frame(observations)
    quality.Validator(docs_folder=None)  # imports GX and sets its switches, as every gate run does
    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", fingerprint)
    result = load_gate.gate_batch(df, None, platform="youtube", known_metrics={*df["metric_name"]}, first_day=UNTIL,
                                  last_day=UNTIL, expected_accounts={s["account_id"] for s in statuses}, run_id="r",
                                  load_id="r/youtube", docs_dir=None)
    assert not result.raised, result.raised
    assert sum(s.evaluated for s in result.suites) > 0
