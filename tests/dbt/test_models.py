"""Build the dbt project on the hand-computed fixture (make_fixture.py) and check the marts.

Every expected number below was computed by hand from the tables in make_fixture's docstring.
One `dbt build` is shared by the module; the continuity test copies the built warehouse, restates
a follower total, and builds again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
from make_fixture import FACEBOOK_PAGE_ID, INSTAGRAM_ACCOUNT_ID, make_fixture

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt_project"

FB = ("facebook", FACEBOOK_PAGE_ID)
IG = ("instagram", INSTAGRAM_ACCOUNT_ID)


def _dbt_command() -> list[str]:
    # The venv's console script; `python -m dbt.cli.main` would put the cwd on sys.path.
    script = Path(sys.executable).with_name("dbt")
    return [str(script)] if script.exists() else [sys.executable, "-m", "dbt.cli.main"]


def run_dbt_build(warehouse: Path, work_dir: Path) -> tuple[subprocess.CompletedProcess, float]:
    """`dbt build` the project against `warehouse`; target/ and logs/ go to `work_dir`."""
    env = {**os.environ, "SOCIALPULSE_WAREHOUSE": str(warehouse)}
    command = [
        *_dbt_command(),
        "build",
        "--project-dir", str(DBT_PROJECT),
        "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
    ]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    return result, time.perf_counter() - started


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work_dir = tmp_path_factory.mktemp("dbt_build")
    path = make_fixture(work_dir / "warehouse.duckdb")
    result, seconds = run_dbt_build(path, work_dir)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    print(f"dbt build on the fixture: {seconds:.1f} s wall")
    return path


@pytest.fixture(scope="module")
def con(warehouse: Path):
    connection = duckdb.connect(str(warehouse), read_only=True)
    yield connection
    connection.close()


def growth(con, account: tuple[str, str]) -> dict[date, dict]:
    """fct_follower_growth_daily rows of one account, by metric_date."""
    relation = con.sql(
        "select * from marts.fct_follower_growth_daily where platform = ? and account_id = ? order by metric_date",
        params=list(account),
    )
    columns = relation.columns
    return {row[columns.index("metric_date")]: dict(zip(columns, row, strict=True)) for row in relation.fetchall()}


def column(rows: dict[date, dict], name: str, days: range, month: int = 1) -> list:
    year = 2025 if month == 1 else 2024
    return [rows[date(year, month, d)][name] for d in days]


def test_marts_schema_holds_both_marts(con) -> None:
    tables = set(
        con.sql(
            "select table_name from information_schema.tables"
            " where table_schema = 'marts' and table_type = 'BASE TABLE'"
        ).fetchall()
    )
    assert {("dim_accounts",), ("fct_follower_growth_daily",)} <= tables
    schemas = {row[0] for row in con.sql("select schema_name from information_schema.schemata").fetchall()}
    assert {"staging", "intermediate", "marts"} <= schemas
    assert not {s for s in schemas if s.startswith("main_")}


def test_fact_has_the_contract_columns(con) -> None:
    columns = con.sql("select * from marts.fct_follower_growth_daily limit 0").columns
    contract = [
        "platform", "account_id", "metric_date", "followers", "followers_gained",
        "followers_lost", "net_followers", "is_estimated", "net_followers_7d",
        "net_followers_28d", "growth_rate_28d",
    ]  # fmt: skip
    assert set(contract) <= set(columns)


def test_fact_is_dense_from_first_to_last_observed_day(con) -> None:
    counts = dict(
        con.sql("select platform, count(*) from marts.fct_follower_growth_daily group by platform").fetchall()
    )
    assert counts == {"facebook": 38, "instagram": 10}  # Dec 4 .. Jan 10, Jan 1 .. Jan 10


def test_facebook_followers_stock_then_snapshot_then_forward(con) -> None:
    rows = growth(con, FB)
    assert column(rows, "followers", range(1, 11)) == [
        1000, 1001, 1005, 1010, 1009, 1014, 1014, 1017, 1020, 1021,
    ]  # fmt: skip
    # Jan 8 has a stock (1017) and a snapshot (1018): the stock wins.
    assert column(rows, "followers_source", range(7, 11)) == [
        "stock", "stock", "snapshot", "reconstructed_forward",
    ]  # fmt: skip
    assert column(rows, "is_estimated", range(7, 11)) == [False, False, False, True]
    assert rows[date(2024, 12, 4)]["followers"] == 969


def test_facebook_flows_take_the_latest_observation(con) -> None:
    rows = growth(con, FB)
    # Jan 3 gained: L1 said 9, L2 restated 4. Jan 4 lost: L1 5 and L2 1 at the same observed_at.
    assert column(rows, "followers_gained", range(1, 11)) == [5, 3, 4, 6, 2, 7, 1, 3, 4, 2]
    assert column(rows, "followers_lost", range(1, 11)) == [1, 2, 0, 1, 3, 2, 1, 0, 1, 1]
    assert column(rows, "net_followers", range(1, 11)) == [4, 1, 4, 5, -1, 5, 0, 3, 3, 1]


def test_instagram_followers_reconstructed_backward_and_forward(con) -> None:
    rows = growth(con, IG)
    # Snapshots: Jan 5 = 500, Jan 8 = 511. Before each: snapshot minus later nets; after the
    # last one: plus the nets since.
    assert column(rows, "followers", range(1, 11)) == [
        482, 488, 493, 495, 500, 504, 512, 511, 515, 519,
    ]  # fmt: skip
    assert column(rows, "is_estimated", range(1, 11)) == [
        True, True, True, True, False, True, True, False, True, True,
    ]  # fmt: skip
    assert column(rows, "followers_source", range(4, 10)) == [
        "reconstructed_backward", "snapshot", "reconstructed_backward",
        "reconstructed_backward", "snapshot", "reconstructed_forward",
    ]  # fmt: skip


def test_instagram_flows(con) -> None:
    rows = growth(con, IG)
    # Day 1: only follower_count (6), no follows_and_unfollows -> lost and net unknown.
    # Day 3: follows_and_unfollows FOLLOWER (6) beats follower_count (7).
    # Day 4: NON_FOLLOWER restated 7 -> 3. Day 6: NON_FOLLOWER omitted -> 0.
    assert column(rows, "followers_gained", range(1, 11)) == [6, 8, 6, 5, 7, 4, 9, 3, 6, 5]
    assert column(rows, "followers_lost", range(1, 11)) == [None, 2, 1, 3, 2, 0, 1, 4, 2, 1]
    assert column(rows, "net_followers", range(1, 11)) == [None, 6, 5, 2, 5, 4, 8, -1, 4, 4]


def test_net_followers_7d_needs_seven_known_days(con) -> None:
    ig = growth(con, IG)
    # Day 1's net is unknown, so every window containing it is NULL.
    assert column(ig, "net_followers_7d", range(1, 11)) == [None] * 7 + [29, 27, 26]
    fb = growth(con, FB)
    # The Facebook page starts on Dec 4: Dec 10 is the first full 7-day window.
    assert column(fb, "net_followers_7d", range(4, 11), month=12) == [None] * 6 + [7]
    assert column(fb, "net_followers_7d", range(7, 11)) == [18, 17, 19, 16]
    # Continuity: net over 7 days equals the change in totals.
    assert fb[date(2025, 1, 10)]["followers"] - fb[date(2025, 1, 3)]["followers"] == 16
    assert ig[date(2025, 1, 8)]["followers"] - ig[date(2025, 1, 1)]["followers"] == 29


def test_net_followers_28d_and_growth_rate_28d(con) -> None:
    fb = growth(con, FB)
    assert fb[date(2024, 12, 30)]["net_followers_28d"] is None  # Dec 3 is not present
    assert fb[date(2024, 12, 31)]["net_followers_28d"] == 28
    assert fb[date(2025, 1, 10)]["net_followers_28d"] == 43
    assert fb[date(2024, 12, 31)]["growth_rate_28d"] is None  # d - 28 = Dec 3 is not present
    assert fb[date(2025, 1, 1)]["growth_rate_28d"] == pytest.approx((1000 - 969) / 969)
    assert fb[date(2025, 1, 10)]["growth_rate_28d"] == pytest.approx((1021 - 978) / 978)
    ig = growth(con, IG)
    assert {row["growth_rate_28d"] for row in ig.values()} == {None}
    assert {row["net_followers_28d"] for row in ig.values()} == {None}


def test_views_reach_engagements(con) -> None:
    fb = growth(con, FB)
    jan_5 = fb[date(2025, 1, 5)]
    # The is_from_ads breakdown row (20) must not leak into the total.
    assert (jan_5["views"], jan_5["reach"], jan_5["engagements"]) == (500, 250, 35)
    assert jan_5["engagement_rate_by_views"] == pytest.approx(0.07)
    assert fb[date(2024, 12, 20)]["views"] is None
    ig = growth(con, IG)
    assert column(ig, "reach", range(1, 4)) == [300, 320, 300]  # Jan 2 restated 300 -> 320
    assert ig[date(2025, 1, 3)]["engagement_rate_by_views"] == pytest.approx(13 / 203)
    assert {row["department"] for row in [*fb.values(), *ig.values()]} == {"kommunledning"}


def test_staging_keeps_latest_observation_and_counts_restatements(con) -> None:
    rows = con.sql(
        "select metric_date, metric_value, observation_count, restatement_count, load_id"
        " from staging.stg_facebook__page_insights"
        " where metric_name = 'page_daily_follows_unique' and metric_date in (?, ?, ?)"
        " order by metric_date",
        params=[date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)],
    ).fetchall()
    assert rows == [
        (date(2025, 1, 1), 5.0, 1, 0, "L1"),
        (date(2025, 1, 2), 3.0, 2, 0, "L2"),  # re-fetched, unchanged
        (date(2025, 1, 3), 4.0, 2, 1, "L2"),  # restated 9 -> 4
    ]
    ig = con.sql(
        "select metric_value, restatement_count from staging.stg_instagram__account_insights"
        " where metric_name = 'follows_and_unfollows' and dimension_value = 'NON_FOLLOWER'"
        " and metric_date = ?",
        params=[date(2025, 1, 4)],
    ).fetchall()
    assert ig == [(3.0, 1)]


def test_dim_accounts(con) -> None:
    relation = con.sql("select * from marts.dim_accounts order by platform")
    rows = [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]
    assert relation.columns == [
        "platform", "account_id", "name", "department", "audience", "active_from",
        "active_until", "linked_account_id", "first_metric_date", "last_metric_date",
        "is_registered",
    ]  # fmt: skip
    assert [r["is_registered"] for r in rows] == [True, True]
    assert [(r["platform"], r["account_id"]) for r in rows] == [FB, IG]
    assert rows[0]["audience"] == ["residents", "press"]
    assert (rows[0]["first_metric_date"], rows[0]["last_metric_date"]) == (
        date(2024, 12, 4),
        date(2025, 1, 10),
    )
    assert rows[1]["first_metric_date"] == date(2025, 1, 1)
    assert rows[1]["linked_account_id"] == f"facebook:{FACEBOOK_PAGE_ID}"


def test_continuity_test_fails_when_totals_and_flows_disagree(warehouse: Path, con, tmp_path: Path) -> None:
    """Restate the Jan 8 page_follows stock to 1030: flows say +17 over the week, totals +30."""
    broken = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, broken)
    from ingestion.warehouse import connect

    writer = connect(broken)
    try:
        writer.execute(
            "insert into raw.observations (load_id, response_id, platform, account_id, object_type,"
            " object_id, source, metric_name, period, metric_type, dimension, dimension_value,"
            " metric_date, end_time, value, observed_at)"
            " values ('L3', 'L3-r', 'facebook', ?, 'account', ?, 'insights',"
            " 'page_follows', 'day', 'time_series', '', '', ?, ?, 1030, ?)",
            [
                FACEBOOK_PAGE_ID,
                FACEBOOK_PAGE_ID,
                date(2025, 1, 8),
                datetime(2025, 1, 9, 8, tzinfo=UTC),
                datetime(2025, 1, 13, 3, tzinfo=UTC),
            ],
        )
    finally:
        writer.close()

    result, _ = run_dbt_build(broken, tmp_path)  # a rebuild over existing marts, too

    assert result.returncode != 0
    run_results = json.loads((tmp_path / "target" / "run_results.json").read_text())
    failed = {
        r["unique_id"].split(".")[-1]: r["failures"] for r in run_results["results"] if r["status"] in ("fail", "error")
    }
    # Only Jan 8 (vs Jan 1) breaks; Jan 9 reads the snapshot and Jan 15 does not exist.
    assert failed == {"assert_net_followers_7d_matches_follower_change": 1}
