"""The real scheduler: `airflow standalone` (SQLite, LocalExecutor, free ports) against a sandbox
subprocess. Nothing is run in-process: the scheduler creates the nightly DAG's scheduled run when
the DAG is unpaused, runs it, and the load events trigger the transform on their own. Then a
backfill-DAG run must trigger exactly one transform run, and `airflow backfill create` on the
nightly DAG must work for a short range.

Every wait polls with a deadline; the whole process group is killed at the end.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from ingestion import devenv
from ingestion.pipeline import default_as_of
from sandbox.server import SandboxConfig
from sandbox.truth import ground_truth
from tests.airflow.conftest import write_registry
from tests.airflow.standalone import DAG_IDS, RUN_S, standalone
from tests.conftest import TEST_TOKEN

pytestmark = [pytest.mark.scheduler, pytest.mark.timeout(900)]

ACCOUNTS = 3  # per platform: small on purpose, the scheduler's overhead is what is tested here
LOOKBACK_DAYS = 2


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("standalone")
    registry = write_registry(home / "accounts.yml", ACCOUNTS)
    with devenv.sandbox_process("--accounts", str(ACCOUNTS)) as sandbox_url:  # the real clock
        env = {"SOCIALPULSE_ACCOUNTS": str(registry), "SOCIALPULSE_GRAPH_URL": f"{sandbox_url}/graph",
               "SOCIALPULSE_META_TOKEN": TEST_TOKEN, "SOCIALPULSE_LOOKBACK_DAYS": str(LOOKBACK_DAYS)}
        with standalone(home, env) as stack:
            for dag_id in DAG_IDS:  # unpausing the nightly lets the scheduler create its latest interval's run
                stack.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
            stack.unpaused_at = time.monotonic()
            yield stack


def _mart_rows(path: Path, accounts: set[tuple[str, str]]) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select platform, account_id, metric_date, followers, followers_gained, followers_lost, net_followers "
            "from marts.fct_follower_growth_daily"
        ).fetchall()
    finally:
        con.close()
    return {(r[0], r[1], r[2]): r[3:] for r in rows if (r[0], r[1]) in accounts}


def test_scheduler_runs_the_nightly_chain_then_the_asset_triggered_transform(stack):
    nightly = stack.wait("the scheduled nightly run", lambda: stack.runs("socialpulse_nightly"))[0]
    assert nightly["run_type"] == "scheduled"
    nightly = stack.wait("the nightly run to finish", lambda: stack.finished("socialpulse_nightly",
                                                                               nightly["dag_run_id"]))
    stack.assert_success("socialpulse_nightly", nightly)

    transforms = stack.wait("the asset-triggered transform", stack.transform_runs_settled)
    assert all(r["run_type"] == "asset_triggered" for r in transforms)
    for run in transforms:
        stack.assert_success("socialpulse_transform", run)
    stack.chain_s = time.monotonic() - stack.unpaused_at
    (stack.home / "timing.json").write_text(json.dumps({"startup_s": stack.startup_s,
                                                         "nightly_chain_s": stack.chain_s}))

    events = stack.events(source_dag_id="socialpulse_nightly", source_run_id=nightly["dag_run_id"])
    assert sorted(e["name"] for e in events) == ["socialpulse.raw.facebook", "socialpulse.raw.instagram"]
    assert all(e["created_dagruns"] for e in events), "every load event fed a transform run"
    assert TEST_TOKEN not in json.dumps(events)

    # The marts and the published copy hold exactly what the sandbox generated, for every account
    # and every day of the window the scheduled run read (as_of = the Pacific day before its
    # interval end).
    as_of = default_as_of(_parse(nightly["data_interval_end"]))
    since = as_of - timedelta(days=LOOKBACK_DAYS - 1)
    data = stack.home
    bi = data / "bi" / "socialpulse.duckdb"
    assert bi.exists() and (data / "bi" / "parquet" / "fct_follower_growth_daily.parquet").exists()
    truth = {(t["platform"], t["account_id"], t["metric_date"]): t
             for t in ground_truth(SandboxConfig(accounts=ACCOUNTS, seed=42), since, as_of)
             if t["platform"] in ("facebook", "instagram")}  # the registry of this test
    accounts = {(p, a) for p, a, _ in truth}
    published = _mart_rows(bi, accounts)
    working = _mart_rows(data / "warehouse.duckdb", accounts)
    assert published == working
    for key, t in truth.items():
        assert key in published, f"{key} missing from the published mart"
        followers, gained, lost, net = published[key]
        assert (gained, lost, net) == (t["followers_gained"], t["followers_lost"],
                                       t["followers_gained"] - t["followers_lost"]), key
        assert followers == t["followers"], key
    assert len(accounts) == 2 * ACCOUNTS

    # Nothing secret reached a task log.
    for path in (data / "airflow" / "logs").rglob("*.log"):
        assert TEST_TOKEN not in path.read_text(encoding="utf-8", errors="replace"), path


def test_a_backfill_dag_run_triggers_exactly_one_transform(stack):
    stack.wait("earlier transform runs to settle", stack.transform_runs_settled)
    before = {r["dag_run_id"] for r in stack.runs("socialpulse_transform")}
    until = default_as_of() - timedelta(days=LOOKBACK_DAYS + 1)
    conf = {"since": (until - timedelta(days=3)).isoformat(), "until": until.isoformat(),
            "platforms": ["facebook", "instagram"]}
    run = stack.call("POST", "/dags/socialpulse_backfill/dagRuns", {"logical_date": None, "conf": conf})
    run = stack.wait("the backfill DAG run", lambda: stack.finished("socialpulse_backfill", run["dag_run_id"]))
    stack.assert_success("socialpulse_backfill", run)

    events = stack.events(source_dag_id="socialpulse_backfill", source_run_id=run["dag_run_id"])
    assert sorted(e["name"] for e in events) == ["socialpulse.raw.facebook", "socialpulse.raw.instagram"]
    assert all(e["extra"]["kind"] == "backfill" for e in events)
    stack.wait("the backfill's events to be consumed",
               lambda: all(e["created_dagruns"] for e in
                           stack.events(source_dag_id="socialpulse_backfill", source_run_id=run["dag_run_id"])))
    runs = stack.wait("the transform to finish", stack.transform_runs_settled)
    new = [r for r in runs if r["dag_run_id"] not in before]
    consumers = {d["run_id"] for e in stack.events(source_dag_id="socialpulse_backfill") for d in e["created_dagruns"]
                 if d["dag_id"] == "socialpulse_transform"}
    assert len(new) == 1 and consumers == {new[0]["dag_run_id"]}, (new, consumers)
    stack.assert_success("socialpulse_transform", new[0])


def test_airflow_backfill_create_runs_the_nightly_dag_for_a_short_range(stack):
    today = date.today()
    first, last = today - timedelta(days=12), today - timedelta(days=11)
    # The dates are midnights (UTC) and the runs' logical dates 09:00 UTC (10:00 Stockholm): the
    # last day's run needs the next day's midnight as the end of the range.
    devenv.airflow(stack.env, "backfill", "create", "--dag-id", "socialpulse_nightly", "--from-date",
                   first.isoformat(), "--to-date", (last + timedelta(days=1)).isoformat(), log_file=stack.log)

    def backfilled():
        runs = [r for r in stack.runs("socialpulse_nightly") if r["run_type"] == "backfill"]
        return runs if len(runs) == 2 and all(r["state"] in ("success", "failed") for r in runs) else None

    runs = stack.wait("two backfilled nightly runs", backfilled, timeout_s=RUN_S * 2)
    for run in runs:
        stack.assert_success("socialpulse_nightly", run)
    assert sorted(r["logical_date"][:10] for r in runs) == [first.isoformat(), last.isoformat()]
    # Each backfilled run emitted its own events. The transform consumed them, folded or not: no
    # event waits, and a successful transform run started after the last event.
    # (Airflow 3.3 may leave an event that arrives while a consumer run waits for max_active_runs
    # unlinked from any run, so "every event has a consumer run" is not a reliable check.)
    last_event = ""
    for run in runs:
        events = stack.events(source_dag_id="socialpulse_nightly", source_run_id=run["dag_run_id"])
        assert sorted(e["name"] for e in events) == ["socialpulse.raw.facebook", "socialpulse.raw.instagram"]
        last_event = max(last_event, *(e["timestamp"] for e in events))
    transforms = stack.wait("the transform runs to finish", stack.transform_runs_settled)
    for run in transforms:
        stack.assert_success("socialpulse_transform", run)
    assert any(_parse(r["start_date"]) > _parse(last_event) for r in transforms), "no transform after the backfill"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
