"""The mart gate on a real DuckDB warehouse: hard failures (continuity, completeness, plausibility)
raise and block publish, warnings (freshness, anomalies) land in quality.data_quality_findings (in
marts as the dbt view fct_data_quality_findings) without blocking, and an expectation that raises is
a gate error.

The mart is written here the way dbt writes it (only the contract columns the gate relies on), so
the test does not depend on the models a colleague is changing."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from ingestion.core.settings import Settings
from ingestion.gates import mart_gate
from ingestion.load.warehouse import connect
from tests.quality.batches import REPO, query

AS_OF = date(2026, 11, 19)
FIRST = AS_OF - timedelta(days=59)
PAGE_A, PAGE_B, IG_C, IG_STALE = "100000000000001", "100000000000002", "17841400000000001", "17841400000000002"


def _account_days(platform: str, account: str, base: int, first: date = FIRST, last: date = AS_OF) -> list[dict]:
    rows, followers = [], base
    for i in range((last - first).days + 1):
        day = first + timedelta(days=i)
        gained, lost = 5 + i % 3, 2
        followers += gained - lost
        rows.append({
            "platform": platform, "account_id": account, "metric_date": day, "followers": followers,
            "followers_gained": gained, "followers_lost": lost, "net_followers": gained - lost,
            "is_estimated": i < 5,  # the first days are reconstructed backwards
            "views": 400 + (i % 7) * 5, "reach": 300 + (i % 5), "engagements": 30 + i % 4,
        })
    return rows


def _fact() -> pd.DataFrame:
    df = pd.DataFrame(_account_days("facebook", PAGE_A, 5000) + _account_days("facebook", PAGE_B, 2000)
                      + _account_days("instagram", IG_C, 800))
    df["metric_date"] = pd.to_datetime(df["metric_date"])
    earlier = df[["platform", "account_id", "metric_date", "followers"]].copy()
    earlier["metric_date"] += pd.Timedelta(days=28)
    df = df.merge(earlier.rename(columns={"followers": "followers_28d_earlier"}), how="left",
                  on=["platform", "account_id", "metric_date"])
    df["growth_rate_28d"] = (df["followers"] - df["followers_28d_earlier"]) / df["followers_28d_earlier"]
    return df.drop(columns=["followers_28d_earlier"])


def _build(settings: Settings, fact: pd.DataFrame, extra_accounts: tuple[tuple[str, str], ...] = ()) -> None:
    """The warehouse after loads and `dbt build`: raw.accounts, raw.coverage and the mart."""
    con = connect(settings.warehouse)
    try:
        accounts = [("facebook", PAGE_A), ("facebook", PAGE_B), ("instagram", IG_C), *extra_accounts]
        for platform, account in accounts:
            con.execute("insert into raw.accounts values (?, ?, 'Name', 'Dept', [], null, null, null, now())",
                        [platform, account])
            con.execute("insert into raw.coverage values (?, ?, 'account', '*', ?, ?, now(), 'l', 'ok')",
                        [platform, account, FIRST, AS_OF])
        con.execute("create schema if not exists marts")
        con.register("fact", fact)
        con.execute("create or replace table marts.fct_follower_growth_daily as "
                    "select * replace (metric_date::date as metric_date) from fact")
        con.unregister("fact")
    finally:
        con.close()


def _findings(settings: Settings) -> list[dict]:
    rows = query(settings.warehouse, "select check_name, severity, platform, account_id, metric_date, metric, value, "
                 "expected, detail from quality.data_quality_findings order by all")
    keys = ("check_name", "severity", "platform", "account_id", "metric_date", "metric", "value", "expected", "detail")
    return [dict(zip(keys, r, strict=True)) for r in rows]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path / "data", accounts=REPO / "config" / "accounts.yml")


def test_clean_marts_pass_and_the_run_is_recorded(settings):
    _build(settings, _fact())

    result = mart_gate.run(settings, "run-1", as_of=AS_OF)

    assert result.success and result.failures == [] and result.stale_accounts == []
    assert _findings(settings) == []
    history = query(settings.warehouse, "select suite, success, load_id, docs_path from raw.validation_runs "
                    "where run_id = 'run-1' order by suite")
    assert {h[0] for h in history} == {
        "marts.fct_follower_growth_daily", "marts.follower_continuity", "marts.completeness",
        "marts.growth_plausibility", "marts.freshness", "marts.anomalies", "marts.mart_gate"}
    assert all(h[1] and h[2] is None for h in history)
    assert result.docs_path == str(settings.home_abs / "gx_docs" / "run-1" / "marts" / "index.html")
    assert (settings.home_abs / "gx_docs" / "run-1" / "marts" / "marts.follower_continuity.html").exists()


def test_broken_continuity_blocks_publish_and_is_a_finding(settings):
    fact = _fact()
    broken = (fact["account_id"] == PAGE_A) & (fact["metric_date"] == pd.Timestamp("2026-11-02"))
    fact.loc[broken, "followers"] += 40  # the total jumps, the flows do not explain it
    estimated = (fact["account_id"] == PAGE_B) & (fact["metric_date"] == pd.Timestamp("2026-10-05"))
    fact.loc[estimated, ["followers", "is_estimated"]] = [1, True]  # estimated rows are exempt
    _build(settings, fact)

    with pytest.raises(mart_gate.MartGateError, match="follower_continuity") as caught:
        mart_gate.run(settings, "run-1", as_of=AS_OF)

    assert not caught.value.gate_error
    failure = next(f for f in caught.value.result.hard_failures if f["suite"] == "marts.follower_continuity")
    assert failure["account_ids"] == [PAGE_A]
    continuity = [f for f in _findings(settings) if f["check_name"] == "follower_continuity"]
    # The jump breaks 2026-11-02 (up 40) and 2026-11-03 (back down); PAGE_B's estimated day is exempt.
    assert [(f["account_id"], f["metric_date"], f["severity"]) for f in continuity] == [
        (PAGE_A, date(2026, 11, 2), "error"), (PAGE_A, date(2026, 11, 3), "error")]
    assert continuity[0]["value"] - continuity[0]["expected"] == 40
    history = query(settings.warehouse, "select success from raw.validation_runs where suite = "
                    "'marts.follower_continuity'")
    assert history == [(False,)]  # the failure is in the validation history too


def test_missing_covered_day_and_implausible_growth_are_hard_failures(settings):
    fact = _fact()
    fact = fact[~((fact["account_id"] == IG_C) & (fact["metric_date"] == pd.Timestamp(AS_OF)))].copy()
    fact.loc[(fact["account_id"] == PAGE_B) & (fact["metric_date"] == pd.Timestamp("2026-11-10")),
             "growth_rate_28d"] = 25.0
    _build(settings, fact)

    with pytest.raises(mart_gate.MartGateError) as caught:
        mart_gate.run(settings, "run-1", as_of=AS_OF)

    failed = {(f["suite"], tuple(f["account_ids"])) for f in caught.value.result.hard_failures}
    assert failed == {("marts.completeness", (IG_C,)), ("marts.growth_plausibility", (PAGE_B,))}
    found = {(f["check_name"], f["account_id"], f["metric_date"]) for f in _findings(settings)}
    assert ("completeness", IG_C, AS_OF) in found and ("growth_plausibility", PAGE_B, date(2026, 11, 10)) in found


def test_anomalies_and_stale_accounts_are_findings_that_do_not_block(settings):
    fact = _fact()
    spike = (fact["account_id"] == PAGE_B) & (fact["metric_date"] == pd.Timestamp("2026-11-12"))
    fact.loc[spike, "views"] = 9000
    fact = fact[~((fact["account_id"] == PAGE_A) & (fact["metric_date"] > pd.Timestamp("2026-11-14")))].copy()
    _build(settings, fact, extra_accounts=(("instagram", IG_STALE),))
    con = connect(settings.warehouse)  # PAGE_A's ledger honestly stops where its rows stop
    con.execute("update raw.coverage set until = '2026-11-14' where account_id = ?", [PAGE_A])
    con.execute("delete from raw.coverage where account_id = ?", [IG_STALE])
    con.close()

    result = mart_gate.run(settings, "run-1", as_of=AS_OF)

    assert result.success  # warnings only: publish goes ahead
    findings = _findings(settings)
    anomaly = [f for f in findings if f["check_name"] == "anomalies"]
    assert [(f["account_id"], f["metric_date"], f["metric"], f["value"], f["severity"]) for f in anomaly] == [
        (PAGE_B, date(2026, 11, 12), "views", 9000.0, "warning")]
    stale = {(s["platform"], s["account_id"]): s for s in result.stale_accounts}
    assert stale[("facebook", PAGE_A)]["days_behind"] == 5
    assert stale[("instagram", IG_STALE)]["last_metric_date"] is None
    assert {(f["account_id"], f["severity"]) for f in findings if f["check_name"] == "freshness"} == {
        (PAGE_A, "warning"), (IG_STALE, "warning")}
    assert result.findings == {"anomalies/warning": 1, "freshness/warning": 2}


def test_an_expectation_that_raises_is_a_gate_error(settings, monkeypatch):
    import great_expectations.expectations as gxe

    def broken(*args, **kwargs):
        raise RuntimeError("simulated GX internal error")

    monkeypatch.setattr(gxe.ExpectCompoundColumnsToBeUnique, "_validate", broken)
    _build(settings, _fact())

    with pytest.raises(mart_gate.MartGateError, match="simulated GX internal error") as caught:
        mart_gate.run(settings, "run-1", as_of=AS_OF)

    assert caught.value.gate_error and not caught.value.result.success
    assert query(settings.warehouse, "select success, raised from raw.validation_runs "
                 "where suite = 'marts.mart_gate'") == [(False, 1)]


def test_marts_that_were_never_built_are_a_hard_failure(settings):
    connect(settings.warehouse).close()
    with pytest.raises(mart_gate.MartGateError, match="dbt build"):
        mart_gate.run(settings, "run-1", as_of=AS_OF)
