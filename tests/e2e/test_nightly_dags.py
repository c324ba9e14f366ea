"""End to end through Airflow: the ingest DAG and the transform DAG run with `dag.test()` against
the sandbox over real HTTP, real GX, real dbt and real DuckDB files; the published marts must equal
the sandbox's ground truth for every account and every day."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from sandbox.server import SandboxConfig
from sandbox.truth import ground_truth

from tests.conftest import SANDBOX_NOW

REPO = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 19)  # last complete Pacific day at SANDBOX_NOW
LOOKBACK = 35

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def airflow_db():
    """`dag.test()` needs a migrated metadata DB (STACK_NOTES.md §1.8) and the writer pool."""
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True)
    subprocess.run([airflow, "pools", "set", "duckdb_writer", "1", "single DuckDB writer"],
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def dags():
    from airflow.dag_processing.dagbag import BundleDagBag

    bag = BundleDagBag(dag_folder=str(REPO / "dags"), bundle_path=REPO / "dags")
    assert bag.import_errors == {}
    return bag.dags


def _mart(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_nightly_then_transform_publishes_marts_equal_to_ground_truth(airflow_db, dags, pipeline_env):
    settings = pipeline_env
    nightly = dags["socialpulse_nightly"].test(run_conf={"as_of": AS_OF.isoformat()})
    assert nightly.state == "success"
    transform = dags["socialpulse_transform"].test()
    assert transform.state == "success"

    bi = settings.bi_dir / "socialpulse.duckdb"
    assert bi.exists() and (settings.bi_dir / "parquet" / "fct_follower_growth_daily.parquet").exists()
    rows = _mart(
        bi,
        "select platform, account_id, metric_date, followers, followers_gained, followers_lost, "
        "net_followers, is_estimated, net_followers_7d from marts.fct_follower_growth_daily",
    )
    mart = {(r[0], r[1], r[2]): r[3:] for r in rows}
    since = AS_OF - timedelta(days=LOOKBACK - 1)
    truth = ground_truth(SandboxConfig(accounts=10, seed=42, now=SANDBOX_NOW), since, AS_OF)
    truth_by_key = {(t["platform"], t["account_id"], t["metric_date"]): t for t in truth}
    registered = {(p, a) for p, a, _ in mart}
    expected_keys = {k for k in truth_by_key if (k[0], k[1]) in registered}
    assert len(registered) == 20  # all 10 Pages and 10 Instagram accounts of the registry
    assert set(mart) == expected_keys  # every account, every day, nothing extra

    mismatches = []
    for key, t in truth_by_key.items():
        if key not in mart:
            continue
        followers, gained, lost, net, is_estimated, net_7d = mart[key]
        want = (t["followers"], t["followers_gained"], t["followers_lost"],
                t["followers_gained"] - t["followers_lost"])
        if (followers, gained, lost, net) != want:
            mismatches.append((key, (followers, gained, lost, net), want))
        window = [truth_by_key.get((key[0], key[1], key[2] - timedelta(days=i))) for i in range(7)]
        if all(window):
            if net_7d != sum(w["followers_gained"] - w["followers_lost"] for w in window):
                mismatches.append((key, "net_7d", net_7d))
        elif net_7d is not None:
            mismatches.append((key, "net_7d should be NULL without 7 days", net_7d))
        # Instagram totals before the nightly snapshot are reconstructed and must say so.
        if key[0] == "instagram":
            assert is_estimated == (key[2] != AS_OF), key
        else:
            assert is_estimated is False, key
    assert mismatches == []

    # The run crossed the 2026-11-01 DST switch: both sides of it are present and exact.
    assert ("facebook", "100000000000001", date(2026, 11, 1)) in mart
    assert ("facebook", "100000000000001", date(2026, 10, 31)) in mart
