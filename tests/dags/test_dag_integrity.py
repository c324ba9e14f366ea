"""The DAG files import cleanly, follow the house rules and are wired as designed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_IDS = {"socialpulse_nightly", "socialpulse_transform", "socialpulse_backfill"}


@pytest.fixture(scope="module")
def dagbag():
    # BundleDagBag puts the DAG folder on sys.path, as the dag-processor and task runner do for a
    # DAG bundle, so `dag_support` imports the same way here as in production.
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=str(REPO / "dags"), bundle_path=REPO / "dags")


@pytest.fixture(scope="module")
def pools() -> dict:
    return json.loads((REPO / "dags" / "dag_support" / "pools.json").read_text())


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == DAG_IDS


def test_house_rules(dagbag):
    from dag_support.alerts import IncidentNotifier
    from dag_support.retry import TransientOnly

    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and "socialpulse" in dag.tags, f"{dag_id}: add tags"
        assert dag.default_args.get("retries", 0) >= 1, f"{dag_id}: set retries"
        assert dag.default_args.get("retry_exponential_backoff", 0) >= 2, f"{dag_id}: back off exponentially"
        assert not dag.catchup, f"{dag_id}: backfills are deliberate, not catchup"
        assert dag.doc_md, f"{dag_id}: the module docstring is the UI documentation"
        assert dag.max_active_runs == 1, f"{dag_id}: runs must not overlap (one writer, one landing batch)"
        for task in dag.tasks:
            where = f"{dag_id}.{task.task_id}"
            assert isinstance(task.retry_policy, TransientOnly), f"{where}: retry transient errors only"
            callbacks = task.on_failure_callback
            callbacks = callbacks if isinstance(callbacks, list) else [callbacks]
            assert any(isinstance(c, IncidentNotifier) for c in callbacks), f"{where}: no incident notifier"
            assert task.doc_md, f"{where}: give the task a docstring"


def test_every_pool_a_task_names_is_created_by_setup(dagbag, pools):
    from dag_support.assets import PLATFORMS

    from ingestion.core.platforms import ALL

    assert PLATFORMS == ALL  # the one platform table; assets, pools, tasks cover every platform
    assert pools["duckdb_writer"]["slots"] == 1
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            assert task.pool in {*pools, "default_pool"}, f"{dag_id}.{task.task_id}: pool {task.pool} is never created"
    for dag_id in ("socialpulse_nightly", "socialpulse_backfill"):
        for platform in PLATFORMS:
            task = dagbag.dags[dag_id].get_task(f"fetch_{platform}")
            assert task.pool == f"socialpulse_fetch_{platform}" and pools[task.pool]["slots"] >= 1
            assert task.is_mapped, f"{dag_id}: fetch is mapped over account chunks"


def test_writers_share_the_single_writer_pool_and_raw_events_come_at_the_end(dagbag):
    nightly, transform = dagbag.dags["socialpulse_nightly"], dagbag.dags["socialpulse_transform"]
    backfill = dagbag.dags["socialpulse_backfill"]
    for dag in (nightly, backfill):
        for platform in ("facebook", "instagram", "youtube", "snapchat"):
            task = dag.get_task(f"load_{platform}")
            assert task.pool == "duckdb_writer"
            assert task.trigger_rule == "all_done_min_one_success"  # healthy chunks load when others failed
            assert task.outlets == []  # the raw events come together at the end of the run
        emit = dag.get_task("emit_events")
        assert [o.name for o in emit.outlets] == ["socialpulse.raw.loads"]
        loads = {"load_facebook", "load_instagram", "load_youtube", "load_snapchat"}
        # the nightly's peer snapshot writes after the loads and before the events (the transform sees it)
        assert emit.upstream_task_ids == (loads | {"peers"} if dag is nightly else loads)
        assert emit.trigger_rule == "all_done"
        assert dag.get_task("report").trigger_rule == "all_done"
        assert dag.get_task("report").downstream_task_ids == set()  # the leaf decides the run's state
    peers = nightly.get_task("peers")
    assert peers.pool == "duckdb_writer" and peers.trigger_rule == "all_done"
    assert peers.upstream_task_ids == {"load_facebook", "load_instagram", "load_youtube", "load_snapchat"}
    for task_id in ("dbt_build", "mart_gate", "publish"):
        assert transform.get_task(task_id).pool == "duckdb_writer"
    assert [o.name for o in transform.get_task("dbt_build").outlets] == ["socialpulse.marts"]
    assert [o.name for o in transform.get_task("publish").outlets] == ["socialpulse.marts.published"]


def test_writer_tasks_go_to_the_writer_queue_and_everything_else_to_the_default_one(dagbag):
    """Under the CeleryExecutor only the writer host consumes the writer queue (docker-compose.yml,
    tests/airflow/services.py): a task in the writer pool on another queue would open a warehouse
    on a host that has none, and any other task there would wait for the one writer host."""
    from dag_support.pools import WRITER_POOL, WRITER_QUEUE

    from devtools import devenv

    assert devenv.WRITER_QUEUE == WRITER_QUEUE
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            expected = WRITER_QUEUE if task.pool == WRITER_POOL else devenv.DEFAULT_QUEUE
            assert task.queue == expected, f"{dag_id}.{task.task_id}: queue {task.queue}, pool {task.pool}"


def test_fetch_shards_are_named_by_their_accounts_in_the_ui(dagbag):
    for dag_id in ("socialpulse_nightly", "socialpulse_backfill"):
        for platform in ("facebook", "instagram", "youtube", "snapchat"):
            task = dagbag.dags[dag_id].get_task(f"fetch_{platform}")
            assert task.map_index_template == "{{ shard_label }}", f"{dag_id}.{task.task_id}"


def test_nightly_and_backfill_ingest_each_platform_plan_fetch_load_then_events_then_report(dagbag):
    """The wiring both ingest DAGs get from `dag_support.platform_group`, task ids included (run history,
    alerts and docs name them); only the planning differs (the backfill plans beside the writer)."""
    from dag_support.assets import PLATFORMS

    for dag_id, plan_pool in (("socialpulse_nightly", "default_pool"), ("socialpulse_backfill", "duckdb_writer")):
        dag = dagbag.dags[dag_id]
        ingest = set()
        for platform in PLATFORMS:
            plan, fetch, load = (dag.get_task(f"{step}_{platform}") for step in ("plan", "fetch", "load"))
            assert plan.upstream_task_ids == set() and plan.pool == plan_pool, f"{dag_id}: {plan.task_id}"
            assert fetch.upstream_task_ids == {plan.task_id}, f"{dag_id}: fetch reads its platform's plan"
            assert load.upstream_task_ids == {fetch.task_id}, f"{dag_id}: load waits for its platform's fetch"
            peers = {"peers"} if dag_id == "socialpulse_nightly" else set()
            assert load.downstream_task_ids == {"emit_events", "report"} | peers
            ingest |= {plan.task_id, fetch.task_id, load.task_id}
        assert set(dag.task_ids) == ingest | {"emit_events", "report"} | peers
        assert dag.get_task("report").upstream_task_ids == ingest | {"emit_events"}  # every task's outcome


def test_the_shared_ingest_wiring_refuses_an_unknown_kind(dagbag):
    """`kind` selects the fetch's API-limit day and goes into every asset event: a typo must not pass."""
    from dag_support.platform_group import ingest_platforms

    with pytest.raises(ValueError, match="kind must be"):
        ingest_platforms(None, kind="nighlty")


def test_nightly_uses_a_data_interval_timetable_in_stockholm(dagbag):
    from airflow.sdk import CronDataIntervalTimetable

    timetable = dagbag.dags["socialpulse_nightly"].timetable
    assert isinstance(timetable, CronDataIntervalTimetable)
    assert (timetable.expression, str(timetable.timezone)) == ("0 10 * * *", "Europe/Stockholm")


def test_transform_is_scheduled_on_any_raw_asset(dagbag):
    from airflow.sdk import AssetAny
    from airflow.sdk.definitions.timetables.assets import AssetTriggeredTimetable

    transform = dagbag.dags["socialpulse_transform"]
    assert isinstance(transform.timetable, AssetTriggeredTimetable)
    condition = transform.timetable.asset_condition
    assert isinstance(condition, AssetAny)  # any raw asset, not all of them
    assert {asset.name for asset in condition.objects} == {
        "socialpulse.raw.facebook", "socialpulse.raw.instagram", "socialpulse.raw.youtube", "socialpulse.raw.snapchat"}


def test_backfill_is_manual_with_validated_params(dagbag):
    backfill = dagbag.dags["socialpulse_backfill"]
    assert type(backfill.timetable).__name__ == "NullTimetable"  # manual only
    params = backfill.params.dump()
    assert set(params) == {"since", "until", "platforms", "accounts", "force"}
    assert params["force"] is False and params["accounts"] == [] and params["platforms"] == []  # all enabled


def test_dag_files_do_no_heavy_work_at_import():
    """Parsing imports no pipeline code (pandas, duckdb, GX, dbt): it happens every 30 s per file."""
    code = (
        "import sys, time; from pathlib import Path\n"
        "from airflow.dag_processing.dagbag import BundleDagBag\n"
        "before = set(sys.modules); t = time.monotonic()\n"
        f"bag = BundleDagBag(dag_folder={str(REPO / 'dags')!r}, bundle_path=Path({str(REPO / 'dags')!r}))\n"
        "assert not bag.import_errors, bag.import_errors\n"
        "heavy = sorted(m for m in set(sys.modules) - before if m.split('.')[0] in "
        "('ingestion', 'pandas', 'duckdb', 'great_expectations', 'dbt', 'requests', 'pyarrow'))\n"
        "print(heavy, round(time.monotonic() - t, 2))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    heavy, seconds = out.strip().splitlines()[-1].rsplit(" ", 1)
    assert heavy == "[]"
    assert float(seconds) < 5


SECRET_PATTERNS = [
    re.compile(r"EAA[A-Za-z0-9]{20,}"),  # Meta access tokens
    re.compile(r"access_token\s*=\s*['\"][^'\"{]+['\"]", re.I),
    re.compile(r"(token|password|secret)\s*[:=]\s*['\"][^'\"]{6,}['\"]", re.I),
    re.compile(r"hooks\.slack\.com/services/", re.I),
]


def test_no_secrets_in_dag_files():
    for path in (REPO / "dags").rglob("*"):
        if path.is_file() and path.suffix in (".py", ".json", ".yml", ".yaml"):
            text = path.read_text(encoding="utf-8")
            for pattern in SECRET_PATTERNS:
                assert not pattern.search(text), f"{path.relative_to(REPO)} looks like it holds a secret"
