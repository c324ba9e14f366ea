"""Quarantine: inspect, release after a fix (re-validated, committed exactly once), drop with consent."""

from __future__ import annotations

import json

import pytest

from ingestion import cli
from ingestion.core.metrics import known_metrics
from ingestion.core.registry import load_registry
from ingestion.core.settings import Settings
from ingestion.extract import landing
from ingestion.gates import quarantine
from ingestion.load import loader as load
from ingestion.load.loader import load_id_for, load_run
from tests.quality.batches import PAGES, REPO, facebook_batch, find, land, query, tree_bytes

QID = landing.safe_name(load_id_for("run-1", "facebook"))


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("SOCIALPULSE_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("SOCIALPULSE_ACCOUNTS", str(REPO / "config" / "accounts.yml"))
    return Settings(home=tmp_path / "data", accounts=REPO / "config" / "accounts.yml")


@pytest.fixture
def registry(settings):
    return load_registry(settings.accounts)


def _quarantined(settings, registry, breaker) -> list[dict]:
    records, statuses = facebook_batch("run-1")
    breaker(records)
    land(settings, "run-1", "facebook", records, statuses)
    assert load_run(settings, registry, "run-1", "facebook").status == "quarantined"
    return records


def _negative(records):
    find(records, PAGES[2], "insights")["body"]["data"][2]["values"][1]["value"] = -7


def _unknown_metric(records):
    find(records, PAGES[1], "insights")["body"]["data"].append(
        {"name": "page_mystery_metric", "period": "day",
         "values": [{"value": 1, "end_time": "2026-11-18T08:00:00+0000"}]})


def _committed(settings) -> tuple[int, int]:
    load_id = load_id_for("run-1", "facebook")
    return query(settings.warehouse, "select (select count(*) from raw.loads where load_id = ?), "
                 "(select count(*) from raw.observations where load_id = ?)", [load_id, load_id])[0]


def test_list_and_show_name_the_suite_expectation_and_account(settings, registry, capsys):
    _quarantined(settings, registry, _negative)

    [item] = quarantine.list_batches(settings)
    assert item["id"] == QID and item["status"] == "quarantined" and item["platform"] == "facebook"
    assert item["failed_accounts"] == [PAGES[2]]
    assert item["failed_expectations"] == ["raw_facebook.account_insights:expect_column_values_to_be_between"]

    assert cli.main(["quarantine", "list"]) == 0
    out = capsys.readouterr().out
    assert QID in out and PAGES[2] in out and "expect_column_values_to_be_between" in out

    assert cli.main(["quarantine", "show", QID]) == 0
    shown = json.loads(capsys.readouterr().out)
    failure = shown["gate"]["failures"][0]
    assert failure["sample_rows"][0]["value"] == -7.0 and failure["sample_rows"][0]["account_id"] == PAGES[2]
    assert shown["modified_since_quarantine"] == [] and "chunk-0000.jsonl" in shown["files"]
    assert cli.main(["quarantine", "show", "no-such-batch"]) == 2


def test_releasing_a_fixed_batch_revalidates_and_commits_exactly_once(settings, registry):
    _quarantined(settings, registry, _negative)
    folder = settings.quarantine_dir / QID
    original = tree_bytes(folder / "landing")
    assert not settings.warehouse.exists() or _committed(settings) == (0, 0)

    # The engineer fixes the quarantined copy of the batch.
    chunk = folder / "landing" / "chunk-0000.jsonl"
    fixed = []
    for line in chunk.read_text().splitlines():
        record = json.loads(line)
        if record["account_id"] == PAGES[2] and record["endpoint"] == "insights":
            record["body"]["data"][2]["values"][1]["value"] = 7
        fixed.append(json.dumps(record))
    chunk.write_text("\n".join(fixed) + "\n")
    assert quarantine.show(settings, QID)["modified_since_quarantine"] == ["chunk-0000.jsonl"]

    outcome = quarantine.release(settings, QID, registry)

    assert outcome["status"] == "committed"
    loads, observations = _committed(settings)
    assert loads == 1 and observations == outcome["load"]["observations"] > 0
    assert query(settings.warehouse, "select value from raw.observations where account_id = ? and value < 0",
                 [PAGES[2]]) == []
    # The re-validation passed and is in the history next to the first, failed one.
    history = query(settings.warehouse, "select success from raw.validation_runs where load_id = ? "
                    "and suite = 'raw_facebook.load_gate' order by validated_at", [load_id_for("run-1", "facebook")])
    assert history == [(False,), (True,)]
    # The landing files the release replaced are kept; the entry is marked released.
    [replaced] = list((folder / "replaced_landing").iterdir())
    assert tree_bytes(replaced) == original
    assert quarantine.list_batches(settings)[0]["status"] == "released"

    # Exactly once: releasing again, or loading the run again, commits nothing more.
    again = quarantine.release(settings, QID, registry)
    assert again["status"] == "already_loaded"
    assert load_run(settings, registry, "run-1", "facebook").status == "already_loaded"
    assert _committed(settings) == (loads, observations)


def test_release_before_a_fix_stays_quarantined_then_passes_after_a_registry_fix(settings, registry, monkeypatch,
                                                                                capsys):
    _quarantined(settings, registry, _unknown_metric)
    folder = settings.quarantine_dir / QID

    assert cli.main(["quarantine", "release", QID]) == 1  # re-validated, still failing
    assert json.loads(capsys.readouterr().out)["status"] == "quarantined"
    assert _committed(settings) == (0, 0)
    assert len((folder / "history.jsonl").read_text().splitlines()) == 1

    # The metric registry learns the new metric; the same batch now passes.
    monkeypatch.setattr(load, "_known_metrics", lambda platform: known_metrics(platform) | {"page_mystery_metric"})
    outcome = quarantine.release(settings, QID, registry)
    assert outcome["status"] == "committed"
    assert _committed(settings)[0] == 1
    assert query(settings.warehouse, "select count(*) from raw.observations where metric_name = "
                 "'page_mystery_metric'") == [(1,)]


def test_drop_needs_confirmation(settings, registry, capsys):
    _quarantined(settings, registry, _negative)
    folder = settings.quarantine_dir / QID

    assert cli.main(["quarantine", "drop", QID]) == 2
    assert "--yes" in capsys.readouterr().out and folder.exists()
    with pytest.raises(quarantine.QuarantineError):
        quarantine.drop(settings, QID, confirm=False)

    assert cli.main(["quarantine", "drop", QID, "--yes"]) == 0
    assert not folder.exists() and quarantine.list_batches(settings) == []
    with pytest.raises(quarantine.QuarantineError):
        quarantine.drop(settings, "../data", confirm=True)
