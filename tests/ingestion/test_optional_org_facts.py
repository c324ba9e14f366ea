"""A registry without the optional organisation facts (population, age bands) still runs end to end.

A team trying socialpulse on its own accounts should not have to look up census figures first.
The nightly chain runs through the real sandbox, load, dbt, mart gate and publish; the measures
that divide by the missing figures are NULL (never a guessed denominator), everything else is
built, and `doctor` and the load log each say once what is missing and what it empties.
"""

from __future__ import annotations

import logging
import re
from datetime import date

import duckdb
import pytest

from bench.registry import write_registry
from ingestion.core.registry import load_registry
from ingestion.onboarding.doctor import DoctorReport, check_registry
from ingestion.pipeline import chain as pipeline

AS_OF = date(2026, 11, 19)  # last complete Pacific day at the test sandbox clock


@pytest.fixture
def bare_env(pipeline_env, tmp_path, monkeypatch):
    registry = tmp_path / "accounts.yml"
    with registry.open("w", encoding="utf-8") as fh:
        write_registry(fh, 2, 2, 1)
    text = registry.read_text(encoding="utf-8")
    # drop `population:` and the whole `population_by_age:` block
    text = re.sub(r"  population: \d+\n  population_by_age:\n(    .*\n)+", "", text)
    assert "population" not in text
    registry.write_text(text, encoding="utf-8")
    monkeypatch.setenv("SOCIALPULSE_ACCOUNTS", str(registry))
    monkeypatch.setenv("SOCIALPULSE_LOOKBACK_DAYS", "3")
    from ingestion.core.settings import load_settings

    return load_settings()


def test_registry_without_population_loads_with_notices(bare_env):
    registry = load_registry(bare_env.accounts)
    assert registry.organisation.population is None
    assert len(registry.organisation.notices) == 2
    report = DoctorReport()
    assert check_registry(report, bare_env) is not None
    notes = [f for f in report.findings if f.check == "registry" and "population" in f.problem]
    assert len(notes) == 2 and {f.severity.value for f in notes} == {"info"}


def test_nightly_runs_and_per_1000_measures_are_null(bare_env, caplog):
    caplog.set_level(logging.WARNING, logger="ingestion.load.loader")
    report = pipeline.run_nightly(bare_env, as_of=AS_OF)
    assert report.failed_accounts == []
    assert report.published, "the marts were not published"
    assert any("population is not set" in r.getMessage() for r in caplog.records)
    with duckdb.connect(str(bare_env.bi_dir / "socialpulse.duckdb"), read_only=True) as con:
        rows, with_followers, per_1000 = con.execute(
            "select count(*), count(followers), count(followers_per_1000_residents) from marts.fct_account_daily"
        ).fetchone()
        shares = con.execute(
            "select count(population_share_of_age_group) from marts.fct_audience_demographics").fetchone()[0]
        accounts = con.execute("select count(distinct account_id) from marts.fct_follower_growth_daily").fetchone()[0]
    assert rows > 0 and with_followers > 0
    assert per_1000 == 0
    assert shares == 0
    assert accounts == 5
