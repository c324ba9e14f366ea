"""End to end through Airflow: the ingest DAG and the transform DAG run with `dag.test()` against
the sandbox over real HTTP, real GX, real dbt and real DuckDB files; the published marts must equal
the sandbox's ground truth for every account and every day.

Two nightly runs: the first reads 35 days (crossing the 2026-11-01 DST switch); two days later the
second re-reads the last 4 days, when the platform has restated the activity values of the days
that were still preliminary in the first run.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from sandbox.data import is_small_account
from sandbox.server import SandboxConfig
from sandbox.truth import ground_truth
from tests.conftest import SANDBOX_NOW

REPO = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 19)  # last complete Pacific day at SANDBOX_NOW
LOOKBACK = 35
SECOND_AS_OF = AS_OF + timedelta(days=2)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def airflow_db():
    """`dag.test()` needs a migrated metadata DB (STACK_NOTES.md §1.8) and the writer pool."""
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True)
    subprocess.run([airflow, "pools", "import", str(REPO / "dags" / "dag_support" / "pools.json")],
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def dags():
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=str(REPO / "dags"), bundle_path=REPO / "dags")
    assert bag.import_errors == {}
    return bag.dags


def _query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_two_nightly_runs_then_transform_publish_marts_equal_to_ground_truth(airflow_db, dags, pipeline_env,
                                                                               sandbox):
    settings = pipeline_env
    first = dags["socialpulse_nightly"].test(run_conf={"as_of": AS_OF.isoformat()})
    assert first.state == "success"
    sandbox.set_now(SANDBOX_NOW + timedelta(days=2))
    # Two days later, re-read 4 days: the 2 new ones plus the 2 that were preliminary before.
    second = dags["socialpulse_nightly"].test(run_conf={"as_of": SECOND_AS_OF.isoformat(), "lookback_days": 4})
    assert second.state == "success"
    transform = dags["socialpulse_transform"].test()
    assert transform.state == "success"

    bi = settings.bi_dir / "socialpulse.duckdb"
    assert (settings.bi_dir / "parquet" / "fct_follower_growth_daily.parquet").exists()
    rows = _query(bi, "select platform, account_id, metric_date, followers, followers_gained, followers_lost, "
                      "net_followers, is_estimated, net_followers_7d, views, engagements "
                      "from marts.fct_follower_growth_daily")
    mart = {(r[0], r[1], r[2]): r[3:] for r in rows}
    config = SandboxConfig(accounts=80, seed=42, now=SANDBOX_NOW + timedelta(days=2), youtube_channels=10)
    since = AS_OF - timedelta(days=LOOKBACK - 1)
    truth = {(t["platform"], t["account_id"], t["metric_date"]): t for t in ground_truth(config, since, SECOND_AS_OF)}
    registered = {(p, a) for p, a, _ in mart}
    assert {p for p, _ in registered} == {"facebook", "instagram", "youtube"}
    assert len(registered) == 170  # every account of the demo registry

    # Activity values of the last two days are still preliminary: final ones are compared up to
    # SECOND_AS_OF - 2, which includes both days that were preliminary in the first run.
    final_until = SECOND_AS_OF - timedelta(days=2)
    mismatches, checked, small_checked = [], 0, 0
    for key, t in truth.items():
        platform, account, day = key
        if (platform, account) not in registered:
            continue
        got = mart.get(key)
        if platform == "youtube" and day > SECOND_AS_OF - timedelta(days=3):
            continue  # YouTube Analytics lags 2-3 days; those days arrive in later runs
        if is_small_account(platform, account):
            # Under 100 followers Meta gives no insights and no follower metrics: only the nightly
            # snapshots are knowable, and they must be exact.
            if day in (AS_OF, SECOND_AS_OF) and (got is None or got[0] != t["followers"]):
                mismatches.append((key, "small account snapshot", got and got[0], t["followers"]))
            small_checked += 1
            continue
        if got is None:
            mismatches.append((key, "missing"))
            continue
        followers, gained, lost, net, is_estimated, net_7d, views, engagements = got
        want_flows = (t["followers_gained"], t["followers_lost"], t["followers_gained"] - t["followers_lost"])
        if (gained, lost, net) != want_flows:
            mismatches.append((key, "flows", (gained, lost, net), want_flows))
        if platform == "youtube":
            # subscriberCount is rounded to 3 significant figures: the anchor is an estimate.
            if followers is None or abs(followers - t["followers"]) > 0.006 * t["followers"]:
                mismatches.append((key, "followers", followers, t["followers"]))
            assert is_estimated is True
        elif followers != t["followers"]:
            mismatches.append((key, "followers", followers, t["followers"]))
        if day <= final_until and platform != "youtube" and (views, engagements) != (t["views"], t["engagements"]):
            mismatches.append((key, "activity", (views, engagements), (t["views"], t["engagements"])))
        window = [truth.get((platform, account, day - timedelta(days=i))) for i in range(7)]
        if (all(window) and day - timedelta(days=6) >= since and net_7d is not None
                and net_7d != sum(w["followers_gained"] - w["followers_lost"] for w in window)):
            mismatches.append((key, "net_7d", net_7d))
        if platform == "instagram":
            assert is_estimated == (day not in (AS_OF, SECOND_AS_OF)), key  # snapshots on the two run days
        elif platform == "facebook":
            assert is_estimated is False, key  # page_follows is a measured stock
        checked += 1
    by_kind: dict[str, int] = {}
    for item in mismatches:
        by_kind[f"{item[0][0]}:{item[1]}"] = by_kind.get(f"{item[0][0]}:{item[1]}", 0) + 1
    assert mismatches == [], (by_kind, mismatches[:10])
    assert checked > 150 * LOOKBACK and small_checked > 0

    # The DST switch (2026-11-01) is inside the window, on both sides, for every Page.
    assert ("facebook", "100000000000001", date(2026, 10, 31)) in mart
    assert ("facebook", "100000000000001", date(2026, 11, 1)) in mart
    # Restatements are measured: the first run's preliminary activity values were replaced.
    restated = _query(settings.warehouse, "select count(*) from staging.stg_facebook__page_insights "
                                          "where restatement_count > 0")
    assert restated[0][0] > 0
