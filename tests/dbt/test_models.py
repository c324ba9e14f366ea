"""Build the dbt project on the hand-computed fixture (make_fixture.py) and check the marts.

Every expected number below was computed by hand from the tables in make_fixture's docstring.
The module's warehouse is built the way production builds it: a first `dbt build` with load L1
only (every incremental model from scratch), then load L2 (re-fetches and restatements) arrives
and a second, incremental `dbt build` processes it. So the values checked are the incremental
path's; test_incremental_build_equals_a_full_build checks that a from-scratch build of the same
raw data gives the same marts. The continuity test copies the built warehouse, restates a
follower total, and builds again.
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
from make_fixture import (
    FACEBOOK_PAGE_ID,
    FB_POST_1,
    FB_POST_2,
    IG_MEDIA_1,
    IG_MEDIA_2,
    INSTAGRAM_ACCOUNT_ID,
    YOUTUBE_CHANNEL_ID,
    make_fixture,
)

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt_project"

FB = ("facebook", FACEBOOK_PAGE_ID)
IG = ("instagram", INSTAGRAM_ACCOUNT_ID)
YT = ("youtube", YOUTUBE_CHANNEL_ID)


def _dbt_command() -> list[str]:
    # The venv's console script; `python -m dbt.cli.main` would put the cwd on sys.path.
    script = Path(sys.executable).with_name("dbt")
    return [str(script)] if script.exists() else [sys.executable, "-m", "dbt.cli.main"]


# Health is assessed "now"; the fixture pins now to Jan 12, 12:00 UTC (9 hours after load L2).
HEALTH_AS_OF = "2025-01-12 12:00:00+00"


def run_dbt_build(
    warehouse: Path, work_dir: Path, select: list[str] | None = None, command_name: str = "build"
) -> tuple[subprocess.CompletedProcess, float]:
    """`dbt build` the project (or `select`) against `warehouse`; target/ and logs/ go to `work_dir`."""
    # Unit tests are off in production builds (dbt_project.yml); the test suite runs them.
    env = {**os.environ, "SOCIALPULSE_WAREHOUSE": str(warehouse), "SOCIALPULSE_DBT_UNIT_TESTS": "true"}
    command = [
        *_dbt_command(),
        command_name,
        "--project-dir", str(DBT_PROJECT),
        "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(work_dir / "target"),
        "--log-path", str(work_dir / "logs"),
        "--vars", json.dumps({"health_as_of_at": HEALTH_AS_OF}),
        *(["--select", *select] if select else []),
    ]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    return result, time.perf_counter() - started


# Raw tables whose rows carry the load that wrote them.
_LOADED_TABLES = ("observations", "objects", "loads")


@pytest.fixture(scope="module")
def raw_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture's raw layer with both loads (never built)."""
    return make_fixture(tmp_path_factory.mktemp("raw") / "fixture.duckdb")


@pytest.fixture(scope="module")
def warehouse(raw_fixture: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built as in production: L1 and a full run, then L2 arrives and an incremental build."""
    work_dir = tmp_path_factory.mktemp("dbt_build")
    path = work_dir / "warehouse.duckdb"
    shutil.copy(raw_fixture, path)
    with duckdb.connect(str(path)) as writer:
        for table in _LOADED_TABLES:
            writer.execute(f"delete from raw.{table} where load_id = 'L2'")
    # L1 alone disagrees with itself (the flows L2 restates break continuity): run, do not test.
    first, first_seconds = run_dbt_build(path, work_dir, command_name="run")
    assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-2000:]
    with duckdb.connect(str(path)) as writer:
        writer.execute(f"attach '{raw_fixture}' as complete (read_only)")
        for table in _LOADED_TABLES:
            writer.execute(f"insert into raw.{table} select * from complete.raw.{table} where load_id = 'L2'")
    second, second_seconds = run_dbt_build(path, work_dir)
    assert second.returncode == 0, second.stdout[-5000:] + second.stderr[-2000:]
    print(f"dbt build on the fixture: {first_seconds:.1f} s full (L1), {second_seconds:.1f} s incremental (L2)")
    return path


@pytest.fixture(scope="module")
def con(warehouse: Path):
    connection = duckdb.connect(str(warehouse), read_only=True)
    yield connection
    connection.close()


def rows_of(con, sql: str, params: list | None = None) -> list[dict]:
    """All rows of a query as dicts."""
    relation = con.sql(sql, params=params)
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def growth(con, account: tuple[str, str], mart: str = "fct_follower_growth_daily") -> dict[date, dict]:
    """Daily mart rows of one account, by metric_date."""
    rows = rows_of(
        con, f"select * from marts.{mart} where platform = ? and account_id = ? order by metric_date", list(account)
    )
    return {row["metric_date"]: row for row in rows}


def column(rows: dict[date, dict], name: str, days: range, month: int = 1) -> list:
    year = 2025 if month == 1 else 2024
    return [rows[date(year, month, d)][name] for d in days]


def test_unit_tests_run_in_the_test_build(warehouse: Path) -> None:
    """Production builds leave the unit tests out (dbt_project.yml); this suite's build runs them all."""
    run_results = json.loads((warehouse.parent / "target" / "run_results.json").read_text())
    unit_tests = {
        r["unique_id"]: r["status"] for r in run_results["results"] if r["unique_id"].startswith("unit_test.")
    }
    assert len(unit_tests) == 8, sorted(unit_tests)
    assert set(unit_tests.values()) == {"pass"}


def test_production_builds_leave_unit_tests_out(tmp_path: Path) -> None:
    """Without SOCIALPULSE_DBT_UNIT_TESTS (the nightly pipeline), no unit test is selected."""
    env = {k: v for k, v in os.environ.items() if k != "SOCIALPULSE_DBT_UNIT_TESTS"}
    env["SOCIALPULSE_WAREHOUSE"] = str(tmp_path / "warehouse.duckdb")
    command = [
        *_dbt_command(), "ls", "--resource-type", "unit_test", "--output", "name",
        "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "No nodes selected" in result.stdout
    assert "reconstruction" not in result.stdout


def test_marts_schema_holds_both_marts(con) -> None:
    tables = set(
        con.sql(
            "select table_name from information_schema.tables"
            " where table_schema = 'marts' and table_type = 'BASE TABLE'"
        ).fetchall()
    )
    assert {
        ("dim_accounts",), ("fct_follower_growth_daily",), ("fct_account_daily",),
    } <= tables  # fmt: skip
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
    # Dec 4 .. Jan 10; Jan 1 .. Jan 10; Jan 1 .. Jan 10 (the Jan 10 snapshot extends YouTube's spine).
    assert counts == {"facebook": 38, "instagram": 10, "youtube": 10}


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
    assert [r["is_registered"] for r in rows] == [True, True, True]
    assert [(r["platform"], r["account_id"]) for r in rows] == [FB, IG, YT]
    assert rows[0]["audience"] == ["residents", "press"]
    assert (rows[0]["first_metric_date"], rows[0]["last_metric_date"]) == (
        date(2024, 12, 4),
        date(2025, 1, 10),
    )
    assert rows[1]["first_metric_date"] == date(2025, 1, 1)
    assert rows[1]["linked_account_id"] == f"facebook:{FACEBOOK_PAGE_ID}"


def test_youtube_subscribers_anchor_on_a_lag_complete_rounded_snapshot(con) -> None:
    rows = growth(con, YT)
    # Jan 4's rounded 12,300 anchors (its day's flows are known); Jan 10's 12,400 cannot yet (no
    # flows for Jan 9-10): it stands for its own day only, and Jan 9 is unknown.
    assert column(rows, "followers", range(1, 11)) == [
        12297, 12298, 12301, 12300, 12305, 12313, 12314, 12320, None, 12400,
    ]  # fmt: skip
    assert {row["is_estimated"] for row in rows.values()} == {True}
    assert column(rows, "followers_source", range(3, 11)) == [
        "reconstructed_backward", "rounded_snapshot", "reconstructed_forward", "reconstructed_forward",
        "reconstructed_forward", "reconstructed_forward", None, "rounded_snapshot",
    ]  # fmt: skip
    assert column(rows, "level_source", range(3, 11)) == [
        "reconstructed", "measured", "reconstructed", "reconstructed", "reconstructed", "reconstructed",
        "unknown", "measured",
    ]  # fmt: skip
    assert column(rows, "level_anchor_date", range(1, 11)) == [date(2025, 1, 4)] * 8 + [None, date(2025, 1, 10)]
    # Three significant figures of 12,300: a step of 100, so at most 50 off.
    assert column(rows, "followers_max_error", range(1, 11)) == [50] * 8 + [None, 50]
    # Jan 6 gained restated 7 -> 9.
    assert column(rows, "followers_gained", range(1, 11)) == [3, 1, 4, 1, 5, 9, 2, 6, None, None]
    assert column(rows, "net_followers", range(1, 9)) == [2, 1, 3, -1, 5, 8, 1, 6]
    assert rows[date(2025, 1, 8)]["net_followers_7d"] == 12320 - 12297  # continuity is exact


def test_account_daily_views_engagements_posts_and_rates(con) -> None:
    yt = growth(con, YT, "fct_account_daily")
    jan_3 = yt[date(2025, 1, 3)]
    assert (jan_3["views"], jan_3["engagements"], jan_3["watch_time_minutes"], jan_3["reach"]) == (1030, 4, 150, None)
    assert jan_3["engagement_rate_by_views"] == pytest.approx(4 / 1030)
    assert jan_3["engagement_rate_by_followers"] == pytest.approx(4 / 12301)
    assert jan_3["engagement_rate_by_reach"] is None
    assert jan_3["posts_published"] is None  # no YouTube content is listed
    assert jan_3["department"] == "kultur"
    fb = growth(con, FB, "fct_account_daily")
    jan_5 = fb[date(2025, 1, 5)]
    assert jan_5["engagement_rate_by_reach"] == pytest.approx(35 / 250)
    assert jan_5["engagement_rate_by_followers"] == pytest.approx(35 / 1009)
    assert jan_5["followers_per_1000_residents"] == pytest.approx(1009 / 2000 * 1000)
    # The platform's own 7-day / 28-day reach, only where delivered.
    assert (jan_5["reach_7d"], fb[date(2024, 12, 31)]["reach_28d"], jan_5["reach_28d"]) == (1200, 5000, None)
    # Posts by Pacific day: FB_POST_2 went out on Jan 7 in Stockholm but Jan 6 in Pacific.
    assert [d.day for d, row in fb.items() if row["posts_published"]] == [3, 6]
    assert fb[date(2024, 12, 10)]["posts_published"] == 0
    ig = growth(con, IG, "fct_account_daily")
    assert [d.day for d, row in ig.items() if row["posts_published"]] == [2, 9]


def test_growth_rates_over_7_28_90_days(con) -> None:
    fb = growth(con, FB)
    jan_10 = fb[date(2025, 1, 10)]
    assert jan_10["growth_rate_7d"] == pytest.approx((1021 - 1005) / 1005)
    assert jan_10["compound_weekly_growth_28d"] == pytest.approx((1021 / 978) ** 0.25 - 1)
    # 38 days of history: no 90-day window or rate yet.
    assert {(row["net_followers_90d"], row["growth_rate_90d"]) for row in fb.values()} == {(None, None)}
    ig = growth(con, IG)
    assert ig[date(2025, 1, 9)]["growth_rate_7d"] == pytest.approx((515 - 488) / 488)
    assert ig[date(2025, 1, 7)]["growth_rate_7d"] is None  # Dec 31 is before the account's first day


def test_weekly_iso_weeks_end_of_week_totals_and_own_weekly_reach(con) -> None:
    weeks = {
        (r["platform"], r["week_start"]): r
        for r in rows_of(con, "select * from marts.fct_account_weekly order by platform, week_start")
    }
    assert [w for (p, w) in weeks if p == "facebook"] == [
        date(2024, 12, 2), date(2024, 12, 9), date(2024, 12, 16), date(2024, 12, 23), date(2024, 12, 30),
        date(2025, 1, 6),
    ]  # fmt: skip
    w01 = weeks[("facebook", date(2024, 12, 30))]
    assert (w01["iso_year"], w01["iso_week"], w01["week_end"]) == (2025, 1, date(2025, 1, 5))
    # End of week (Sunday Jan 5) vs end of the previous Sunday (Dec 29 = 996 - 2).
    assert (w01["followers_start"], w01["followers"], w01["net_followers"]) == (994, 1009, 15)
    assert w01["growth_rate"] == pytest.approx(15 / 994)
    assert (w01["views"], w01["engagements"], w01["reach_7d"], w01["posts_published"]) == (1500, 105, 1200, 1)
    assert w01["engagement_rate_by_reach"] == pytest.approx(105 / 1200)
    assert w01["engagement_rate_by_followers"] == pytest.approx(105 / 1009)
    assert (w01["followers_previous_week"], w01["followers_previous_year"]) == (994, None)
    w02 = weeks[("facebook", date(2025, 1, 6))]
    assert (w02["days_with_data"], w02["is_complete_period"], w02["reach_7d"]) == (5, False, None)
    assert w02["views_wow_pct"] == pytest.approx((4000 - 1500) / 1500)
    assert weeks[("facebook", date(2024, 12, 2))]["days_with_data"] == 5  # the Page starts on Wed Dec 4
    # YouTube's last day (Jan 10) has no flows yet but its own rounded snapshot: the week's
    # end-of-week total is that snapshot, not Jan 8's level.
    assert weeks[("youtube", date(2025, 1, 6))]["followers"] == 12400


def test_monthly_totals_and_own_28_day_reach(con) -> None:
    months = {
        (r["platform"], r["month_start"]): r
        for r in rows_of(con, "select * from marts.fct_account_monthly order by platform, month_start")
    }
    december = months[("facebook", date(2024, 12, 1))]
    assert (december["days_in_period"], december["days_with_data"], december["is_complete_period"]) == (31, 28, False)
    assert (december["followers"], december["net_followers"], december["reach_28d_at_month_end"]) == (996, 28, 5000)
    january = months[("facebook", date(2025, 1, 1))]
    assert (january["followers_start"], january["followers"], january["net_followers"]) == (996, 1021, 25)
    assert january["views"] == 5500
    assert january["net_followers_previous_month"] == 28
    assert january["net_followers_mom_pct"] == pytest.approx((25 - 28) / 28)
    assert january["followers_previous_year"] is None
    assert months[("instagram", date(2025, 1, 1))]["posts_published"] == 2


def test_department_and_organisation_rollups(con) -> None:
    departments = rows_of(
        con,
        "select * from marts.fct_department_daily where metric_date = ? order by department, platform",
        [date(2025, 1, 5)],
    )
    assert [(r["department"], r["platform"], r["accounts"], r["followers"], r["views"]) for r in departments] == [
        ("kommunledning", "facebook", 1, 1009, 500),
        ("kommunledning", "instagram", 1, 500, 205),
        ("kultur", "youtube", 1, 12305, 1050),
    ]
    assert [r["is_estimated"] for r in departments] == [False, False, True]
    organisation = rows_of(con, "select * from marts.fct_organisation_daily where platform = 'facebook'")
    assert len(organisation) == 38
    assert {r["organisation_name"] for r in organisation} == {"Exempel kommun"}
    # Unique metrics are never summed across accounts: no reach column in the rollups.
    for mart in ("fct_department_daily", "fct_organisation_daily"):
        assert not [c for c in con.sql(f"select * from marts.{mart} limit 0").columns if "reach" in c]


def test_audience_demographics_against_the_population(con) -> None:
    cells = {
        (r["platform"], r["audience_type"], r["age_group"], r["gender"]): r
        for r in rows_of(con, "select * from marts.fct_audience_demographics where is_latest_snapshot")
    }
    women_18_24 = cells[("instagram", "followers", "18-24", "female")]
    # Jan 8 snapshot: 40 of 200 followers; the age group is 70 of 200, 200 of the 1,800 residents 13+.
    assert (women_18_24["metric_date"], women_18_24["audience_count"]) == (date(2025, 1, 8), 40)
    assert women_18_24["audience_share"] == pytest.approx(0.2)
    assert women_18_24["age_group_audience_share"] == pytest.approx(0.35)
    assert women_18_24["residents_in_age_group"] == 200
    assert women_18_24["population_share_of_age_group"] == pytest.approx(200 / 1800)
    assert women_18_24["representation_index"] == pytest.approx(0.35 / (200 / 1800))
    assert women_18_24["audience_per_1000_residents_of_age_group"] == pytest.approx(40 / 200 * 1000)
    assert women_18_24["followers_per_1000_residents"] == pytest.approx(511 / 2000 * 1000)
    assert women_18_24["department"] == "kommunledning"
    assert cells[("instagram", "followers", "65+", "unknown")]["breakdown_as_delivered"] == "65+,U"
    assert cells[("instagram", "engaged_audience", "25-34", "male")]["audience_share"] == pytest.approx(0.75)
    # YouTube: shares of views only, mapped onto the registry's labels.
    viewers = cells[("youtube", "viewers", "65+", "unknown")]
    assert (viewers["audience_count"], viewers["breakdown_as_delivered"]) == (None, "age65-,user_specified")
    assert viewers["audience_share"] == pytest.approx(0.10)
    assert viewers["account_followers"] == 12320
    total = con.sql(
        "select count(*), sum(audience_share) from marts.fct_audience_demographics"
        " where platform = 'instagram' and audience_type = 'followers' and metric_date = ?",
        params=[date(2025, 1, 8)],
    ).fetchall()[0]
    assert total[0] == 6 and total[1] == pytest.approx(1.0)
    older = rows_of(con, "select * from marts.fct_audience_demographics where not is_latest_snapshot")
    assert [(r["metric_date"], r["audience_count"], r["audience_share"]) for r in older] == [
        (date(2025, 1, 5), 100, 1.0),
    ]


def test_post_performance(con) -> None:
    posts = {r["object_id"]: r for r in rows_of(con, "select * from marts.fct_post_performance")}
    assert set(posts) == {FB_POST_1, FB_POST_2, IG_MEDIA_1, IG_MEDIA_2}
    first = posts[FB_POST_1]
    # Latest snapshot (Jan 8) wins; reaction types summed; engagements = reactions + clicks.
    assert (first["metric_date"], first["views"], first["reach"], first["reactions"], first["clicks"]) == (
        date(2025, 1, 8), 800, 450, 37, 12,
    )  # fmt: skip
    assert first["engagements"] == 49
    assert first["engagement_rate_by_views"] == pytest.approx(49 / 800)
    assert first["engagement_rate_by_reach"] == pytest.approx(49 / 450)
    assert first["engagement_rate_by_followers"] == pytest.approx(49 / 1017)  # followers on Jan 8
    # Local time (Stockholm, UTC+1 in January) vs the Pacific platform day.
    assert (first["published_weekday"], first["published_weekday_name"], first["published_hour"]) == (5, "Friday", 19)
    second = posts[FB_POST_2]
    assert (second["published_local_date"], second["published_platform_date"]) == (date(2025, 1, 7), date(2025, 1, 6))
    assert (second["published_weekday"], second["published_hour"], second["days_since_published"]) == (2, 8, 2)
    media = posts[IG_MEDIA_1]
    assert (media["engagements"], media["likes"], media["saves"], media["product_type"]) == (40, 30, 3, "FEED")
    assert media["caption"] == f"caption {IG_MEDIA_1} L2"  # the latest listing wins
    reel = posts[IG_MEDIA_2]
    assert (reel["engagements"], reel["metric_date"], reel["account_followers"]) == (11, date(2025, 1, 10), 519)
    ranks = {object_id: (r["rank_in_account"], r["rank_in_department"]) for object_id, r in posts.items()}
    assert ranks == {FB_POST_1: (1, 1), IG_MEDIA_1: (1, 2), IG_MEDIA_2: (2, 3), FB_POST_2: (2, 4)}


def test_post_performance_table_of_an_older_project_becomes_the_view(warehouse: Path, tmp_path: Path) -> None:
    """Upgrade path (issue 21): a warehouse built before the ranks moved to read time has
    marts.fct_post_performance as a table (ranks stored by a post-hook) and no
    int_post_performance_unranked. The next build replaces the table by the view (no manual step)
    and builds the new incremental table in full; the mart reads the same rows, ranks included."""
    old = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, old)
    with duckdb.connect(str(old)) as writer:
        writer.execute("create table marts.fct_post_performance_stored as select * from marts.fct_post_performance")
        writer.execute("drop view marts.fct_post_performance")
        writer.execute("drop table intermediate.int_post_performance_unranked")
        writer.execute("alter table marts.fct_post_performance_stored rename to fct_post_performance")
        stored = writer.sql("select * from marts.fct_post_performance order by all").fetchall()
    assert len(stored) == 4 and all(row[-4] is not None for row in stored)  # rank_in_account stored

    result, _ = run_dbt_build(old, tmp_path, ["int_post_performance_unranked", "fct_post_performance"])

    assert result.returncode == 0, result.stdout[-5000:]
    with duckdb.connect(str(old), read_only=True) as con:
        relations = con.sql(
            "select table_schema, table_name, table_type from information_schema.tables"
            " where table_name like '%post_performance%' order by all"
        ).fetchall()
        assert relations == [
            ("intermediate", "int_post_performance_unranked", "BASE TABLE"),
            ("marts", "fct_post_performance", "VIEW"),
        ]
        assert con.sql("select * from marts.fct_post_performance order by all").fetchall() == stored


def test_account_benchmarks(con) -> None:
    bench = {r["platform"]: r for r in rows_of(con, "select * from marts.fct_account_benchmarks")}
    fb, ig, yt = bench["facebook"], bench["instagram"], bench["youtube"]
    # As of each platform's last day with data; YouTube's flows stop on Jan 8.
    assert (fb["metric_date"], ig["metric_date"], yt["metric_date"]) == (
        date(2025, 1, 10), date(2025, 1, 10), date(2025, 1, 8),
    )  # fmt: skip
    assert fb["window_start_date"] == date(2024, 12, 14)
    assert (fb["followers"], fb["net_followers_28d"], fb["views_28d"], fb["engagements_28d"]) == (1021, 43, 5500, 385)
    assert fb["avg_daily_reach_28d"] == pytest.approx(275)  # mean of 50t, never a sum
    assert ig["avg_daily_reach_28d"] == pytest.approx((300 * 9 + 320) / 10)
    assert (fb["posts_28d"], fb["last_post_date"], fb["days_since_last_post"]) == (2, date(2025, 1, 6), 4)
    assert (fb["is_inactive"], ig["is_inactive"], yt["is_inactive"]) == (False, False, None)
    assert fb["engagement_rate_by_followers_28d"] == pytest.approx(385 / 1021)
    assert yt["engagement_rate_by_followers_28d"] == pytest.approx(44 / 12320)
    # Size-normalised percentiles: engagement per follower FB 0.38 > IG 0.30 > YT 0.004.
    assert [bench[p]["engagement_percentile"] for p in ("facebook", "instagram", "youtube")] == [1.0, 0.5, 0.0]
    assert [bench[p]["reach_percentile"] for p in ("facebook", "instagram", "youtube")] == [0.0, 1.0, None]
    assert {r["growth_percentile"] for r in bench.values()} == {None}  # only Facebook has a 28-day rate
    assert fb["overall_percentile"] == pytest.approx((0.0 + 1.0 + 1.0) / 3)
    assert not any(r["is_declining"] for r in bench.values())


def test_account_health(con) -> None:
    health = {r["platform"]: r for r in rows_of(con, "select * from marts.fct_account_health")}
    fb, ig, yt = health["facebook"], health["instagram"], health["youtube"]
    assert {r["metric_date"] for r in health.values()} == {date(2025, 1, 12)}
    assert (fb["health_status"], ig["health_status"], yt["health_status"]) == ("warning", "failing", "warning")
    assert fb["issues"] == ["retired metrics"] and fb["retired_metrics"] == ["page_impressions"]
    # Instagram: run-2 failed on auth; the last load that committed is run-1's, 33 hours ago.
    assert (ig["last_run_status"], ig["last_error_class"], ig["last_error_code"]) == ("failed", "auth", 190)
    assert ig["consecutive_failed_runs"] == 1
    assert ig["last_successful_load_at"] == datetime(2025, 1, 11, 3, tzinfo=UTC)
    assert (ig["hours_since_successful_load"], ig["is_stale"]) == (33.0, False)
    assert (ig["coverage_gaps"], ig["coverage_gap_metric_days"], ig["first_gap_date"]) == (1, 2, date(2025, 1, 4))
    assert ig["metrics_with_gaps"] == ["insights/reach"]
    assert ig["days_until_token_expiry"] == pytest.approx(7.5)
    assert ig["missing_scopes"] == ["instagram_manage_insights"]
    assert ig["issues"] == [
        "last run failed (auth)", "token expires within 14 days", "missing scopes", "coverage gaps",
    ]  # fmt: skip
    assert (yt["last_run_status"], yt["retired_metrics"], yt["token_expires_at"]) == ("partial", ["shares"], None)
    assert (fb["last_metric_date"], fb["data_lag_days"], yt["data_lag_days"]) == (date(2025, 1, 10), 2, 4)


def test_metric_restatements_first_vs_latest(con) -> None:
    rows = rows_of(
        con,
        "select platform, metric_date, metric_name, first_metric_value, latest_metric_value, relative_change,"
        " observation_count, is_restated from marts.fct_metric_restatements order by platform, metric_date",
    )
    # Facebook Jan 2 (fetched twice, 3 both times) is no restatement: absent (issue 21).
    assert [(r["platform"], r["metric_date"].day, r["metric_name"]) for r in rows] == [
        ("facebook", 3, "page_daily_follows_unique"),
        ("facebook", 4, "page_daily_unfollows_unique"),
        ("instagram", 2, "reach"),
        ("instagram", 4, "follows_and_unfollows"),
        ("youtube", 6, "subscribersGained"),
    ]
    assert [(r["first_metric_value"], r["latest_metric_value"], r["is_restated"]) for r in rows] == [
        (9, 4, True), (5, 1, True), (300, 320, True), (7, 3, True), (7, 9, True),
    ]  # fmt: skip
    assert rows[0]["relative_change"] == pytest.approx(-5 / 9)


# Columns that say when a row was computed, not what it holds.
_LINEAGE_COLUMNS = {"loaded_through_at", "last_loaded_at"}


def test_incremental_build_equals_a_full_build(warehouse: Path, raw_fixture: Path, con, tmp_path: Path) -> None:
    """Every mart of the L1-then-L2 incremental build equals a from-scratch build of L1 + L2."""
    fresh = tmp_path / "fresh.duckdb"
    shutil.copy(raw_fixture, fresh)
    result, _ = run_dbt_build(fresh, tmp_path, command_name="run")
    assert result.returncode == 0, result.stdout[-5000:]
    marts = [row[0] for row in con.sql(  # views too: fct_post_performance ranks at read time
        "select table_name from duckdb_tables() where schema_name = 'marts'"
        " union all select view_name from duckdb_views() where schema_name = 'marts'").fetchall()]
    assert len(marts) >= 12
    with duckdb.connect(str(fresh), read_only=True) as full:
        for mart in sorted(marts):
            columns = [c for c in con.sql(f"select * from marts.{mart} limit 0").columns if c not in _LINEAGE_COLUMNS]
            query = f"select {', '.join(columns)} from marts.{mart} order by all"
            incremental_rows, full_rows = con.sql(query).fetchall(), full.sql(query).fetchall()
            assert incremental_rows == full_rows, mart


L3_OBSERVED_AT = datetime(2025, 1, 13, 3, tzinfo=UTC)


def _copy_with_load_l3(warehouse: Path, tmp_path: Path, values: str, params: list) -> Path:
    """A copy of the built warehouse to which load L3 (committed Jan 13, 03:05 UTC) appended one
    observation: `values` are its columns from response_id to value (SQL, `?` for `params`)."""
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, copy)
    from ingestion.load.warehouse import connect

    writer = connect(copy)
    try:
        writer.execute(
            "insert into raw.observations (load_id, response_id, platform, account_id, object_type,"
            " object_id, source, metric_name, period, metric_type, dimension, dimension_value,"
            f" metric_date, end_time, value, observed_at) values ('L3', {values}, ?)",
            [*params, L3_OBSERVED_AT],
        )
        writer.execute(
            "insert into raw.loads (load_id, run_id, started_at, committed_at, status)"
            " values ('L3', 'run-3', ?, ?, 'committed')",
            [L3_OBSERVED_AT, datetime(2025, 1, 13, 3, 5, tzinfo=UTC)],
        )
    finally:
        writer.close()
    return copy


def _run_after_snapshot(warehouse: Path, tmp_path: Path, account: tuple[str, str], metric: str, day_: date,
                        value: int, select: str) -> Path:
    """A copy of the built warehouse after load L3 brought one nightly snapshot of `account`
    (`metric` = `value` on `day_`), and an incremental `dbt run` of `select` on it."""
    platform, account_id = account
    moved = _copy_with_load_l3(
        warehouse,
        tmp_path,
        f"'L3-{platform}', '{platform}', ?, 'account', ?, 'node', '{metric}', 'snapshot', 'node', '', '', ?, null, "
        f"{value}",
        [account_id, account_id, day_],
    )
    result, _ = run_dbt_build(moved, tmp_path, [select], command_name="run")
    assert result.returncode == 0, result.stdout[-5000:]
    return moved


def test_continuity_test_fails_when_totals_and_flows_disagree(warehouse: Path, con, tmp_path: Path) -> None:
    """Restate the Jan 8 page_follows stock to 1030: flows say +17 over the week, totals +30."""
    broken = _copy_with_load_l3(
        warehouse,
        tmp_path,
        "'L3-r', 'facebook', ?, 'account', ?, 'insights', 'page_follows', 'day', 'time_series', '', '', ?, ?, 1030",
        [FACEBOOK_PAGE_ID, FACEBOOK_PAGE_ID, date(2025, 1, 8), datetime(2025, 1, 9, 8, tzinfo=UTC)],
    )

    # An incremental rebuild over the existing marts, of the continuity test and what it needs.
    result, _ = run_dbt_build(broken, tmp_path, ["+assert_net_followers_7d_matches_follower_change"])

    assert result.returncode != 0
    run_results = json.loads((tmp_path / "target" / "run_results.json").read_text())
    failed = {
        r["unique_id"].split(".")[-1]: r["failures"] for r in run_results["results"] if r["status"] in ("fail", "error")
    }
    # Only Jan 8 (vs Jan 1) breaks; Jan 9 reads the snapshot and Jan 15 does not exist.
    assert failed == {"assert_net_followers_7d_matches_follower_change": 1}


def test_youtube_anchor_moves_to_a_less_rounded_snapshot_and_rewrites_the_channel(
    warehouse: Path, tmp_path: Path
) -> None:
    """A later load brings a lag-complete snapshot with a finer rounding step (9,990: at most 5
    off, against 12,300's 50): it becomes the anchor, and the incremental run rewrites the whole
    channel from it, Jan 1 included, although the load only touched Jan 8. (The value is made up
    to cross a power of ten; the model does not judge it.)"""
    moved = _run_after_snapshot(warehouse, tmp_path, YT, "subscriberCount", date(2025, 1, 8), 9990,
                                "+fct_follower_growth_daily")
    with duckdb.connect(str(moved), read_only=True) as after:
        rows = growth(after, YT)
    # 9,990 on Jan 8 minus the net flows after each day (Jan 2..8: 1, 3, -1, 5, 8, 1, 6).
    assert column(rows, "followers", range(1, 11)) == [
        9967, 9968, 9971, 9970, 9975, 9983, 9984, 9990, None, 12400,
    ]  # fmt: skip
    assert column(rows, "level_anchor_date", range(1, 11)) == [date(2025, 1, 8)] * 8 + [None, date(2025, 1, 10)]
    assert column(rows, "followers_max_error", range(1, 11)) == [5] * 8 + [None, 50]


def test_a_post_follows_its_accounts_followers_when_only_they_change(warehouse: Path, tmp_path: Path) -> None:
    """A later load brings only an Instagram followers_count snapshot for Jan 10 (530 instead of the
    519 reconstructed forward from Jan 8): IG_MEDIA_2, whose lifetime metrics are as of Jan 10 and
    did not change, is rewritten with the new account_followers and rate by followers (the
    incremental post table re-derives a post whose stored followers differ from the account's)."""
    moved = _run_after_snapshot(warehouse, tmp_path, IG, "followers_count", date(2025, 1, 10), 530,
                                "+fct_post_performance")
    others = f"select object_id, account_followers from marts.fct_post_performance where object_id != '{IG_MEDIA_2}'"
    with duckdb.connect(str(warehouse), read_only=True) as before:
        others_before = sorted(before.sql(others).fetchall())
    with duckdb.connect(str(moved), read_only=True) as after:
        reel = rows_of(after, f"select * from marts.fct_post_performance where object_id = '{IG_MEDIA_2}'")[0]
        others_after = sorted(after.sql(others).fetchall())
    assert (reel["metric_date"], reel["engagements"], reel["account_followers"]) == (date(2025, 1, 10), 11, 530)
    assert reel["engagement_rate_by_followers"] == pytest.approx(11 / 530)
    assert others_after == others_before  # Jan 8's snapshot still anchors IG_MEDIA_1; Facebook untouched
