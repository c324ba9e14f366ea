"""DAG runs with `dag.test()` against the sandbox over real HTTP: partial failure (healthy accounts
load, the run fails and names the broken account, no retry for an auth error), the incident
webhook, no secret in XComs, asset extras or logs, and the backfill DAG's single event per
platform, and the transform's per-mart and "published" events."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from tests.airflow.conftest import write_registry
from tests.conftest import TEST_TOKEN

AS_OF = date(2026, 11, 19)  # last complete Pacific day at tests.conftest.SANDBOX_NOW
EXPIRED_TOKEN = "expired-sandbox-token-for-one-account-42"  # the sandbox answers (#190) for "expired*"

pytestmark = pytest.mark.e2e


@pytest.fixture
def small_env(pipeline_env, tmp_path, monkeypatch, webhook):
    """Two Pages and two Instagram accounts; the second Instagram account has an expired token of its own."""
    registry = write_registry(tmp_path / "accounts.yml", 2, token_envs={"17841400000000002": "SP_TEST_IG2_TOKEN"})
    monkeypatch.setenv("SOCIALPULSE_ACCOUNTS", str(registry))
    monkeypatch.setenv("SP_TEST_IG2_TOKEN", EXPIRED_TOKEN)
    monkeypatch.setenv("SOCIALPULSE_LOOKBACK_DAYS", "2")
    monkeypatch.setenv("AIRFLOW_CONN_SOCIALPULSE_ALERTS", webhook.url("/alerts"))
    from ingestion.core.settings import load_settings

    return load_settings()


def _task_states(dag_id: str, run_id: str) -> dict[str, tuple[str, int]]:
    from airflow.models import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(TaskInstance.task_id, TaskInstance.map_index, TaskInstance.state, TaskInstance.try_number)
            .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        ).all()
    return {(t if m < 0 else f"{t}[{m}]"): (str(s), n) for t, m, s, n in rows}


def _stored_run_values(dag_id: str, run_id: str) -> str:
    """Every XCom value and asset-event extra a run stored, as one string."""
    from airflow.models.asset import AssetEvent
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        xcoms = session.scalars(select(XComModel.value).where(XComModel.dag_id == dag_id,
                                                              XComModel.run_id == run_id)).all()
        extras = session.scalars(select(AssetEvent.extra).where(AssetEvent.source_dag_id == dag_id,
                                                                AssetEvent.source_run_id == run_id)).all()
    assert xcoms, "the run stored no XCom at all?"
    return repr(xcoms) + repr(extras)


def _asset_events(dag_id: str, run_id: str) -> list[tuple[str, dict]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return [
            (name, extra)
            for name, extra in session.execute(
                select(AssetModel.name, AssetEvent.extra).join(AssetModel, AssetEvent.asset_id == AssetModel.id)
                .where(AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == run_id)
            ).all()
        ]


def test_nightly_partial_failure_loads_the_healthy_accounts_and_alerts(airflow_db, dags, small_env, webhook,
                                                                       capfd, caplog):
    settings = small_env
    run = dags["socialpulse_nightly"].test(run_conf={"as_of": AS_OF.isoformat()})
    captured = capfd.readouterr()
    output = captured.out + captured.err + caplog.text  # wherever Airflow's logging sent the task logs
    assert run.state == "failed"

    states = _task_states("socialpulse_nightly", run.run_id)
    assert states["load_facebook"][0] == "success" and states["load_instagram"][0] == "success"
    assert states["report"] == ("failed", 1)  # an auth failure is not retried
    assert states["load_youtube"][0] == "skipped"  # no YouTube account registered: nothing mapped

    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        loaded = con.execute(
            "select platform, count(distinct account_id) from raw.observations o join raw.loads l using (load_id) "
            "where l.run_id = ? group by 1 order by 1", [run.run_id]
        ).fetchall()
    finally:
        con.close()
    assert loaded == [("facebook", 2), ("instagram", 1)]  # the healthy accounts committed

    incidents = [r["body"] for r in webhook.received]
    assert [i["task_id"] for i in incidents] == ["report"]
    assert [(a["platform"], a["account_id"], a["error_class"]) for a in incidents[0]["accounts"]] == [
        ("instagram", "17841400000000002", "auth")]
    assert "INCIDENT socialpulse: socialpulse_nightly.report failed" in output

    events = _asset_events("socialpulse_nightly", run.run_id)
    assert sorted(name for name, _ in events) == ["socialpulse.raw.facebook", "socialpulse.raw.instagram"]
    assert all(extra["load_id"] and extra["business_date_max"] >= AS_OF.isoformat() for _, extra in events)
    assert {extra["kind"] for _, extra in events} == {"nightly"}  # the backfill's events say "backfill"

    stored = _stored_run_values("socialpulse_nightly", run.run_id)
    for secret in (TEST_TOKEN, EXPIRED_TOKEN):
        assert secret not in stored, "a token reached an XCom or an asset event"
        assert secret not in output, "a token reached a log line"


def test_backfill_dag_then_transform_emit_their_events(airflow_db, dags, small_env, monkeypatch, tmp_path):
    # every account healthy this time
    monkeypatch.setenv("SOCIALPULSE_ACCOUNTS", str(write_registry(tmp_path / "healthy.yml", 2)))
    params = {"since": (AS_OF - timedelta(days=3)).isoformat(), "until": AS_OF.isoformat(),
              "platforms": ["facebook", "instagram"]}
    run = dags["socialpulse_backfill"].test(run_conf=params)
    assert run.state == "success"
    events = _asset_events("socialpulse_backfill", run.run_id)
    assert sorted(name for name, _ in events) == ["socialpulse.raw.facebook", "socialpulse.raw.instagram"]
    for _, extra in events:
        assert extra["kind"] == "backfill" and extra["status"] == "committed"
        assert params["since"] <= extra["business_date_min"] <= params["until"] <= extra["business_date_max"]
    states = _task_states("socialpulse_backfill", run.run_id)
    assert states["emit_events"][0] == "success" and states["load_youtube"][0] == "skipped"

    # The transform (run by hand here: dag.test has no asset trigger) emits one event per mart it
    # built through the `socialpulse.marts` alias, then `socialpulse.marts.published`.
    transform = dags["socialpulse_transform"].test()
    assert transform.state == "success"
    events = dict(_asset_events("socialpulse_transform", transform.run_id))
    assert "socialpulse.marts.fct_follower_growth_daily" in events
    assert events["socialpulse.marts.fct_follower_growth_daily"]["status"] == "success"
    published = events["socialpulse.marts.published"]
    assert published["tables"]["fct_follower_growth_daily"] > 0 and published["published_at"]
    assert (small_env.bi_dir / "socialpulse.duckdb").exists()
