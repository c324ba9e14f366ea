"""The DAG files import cleanly, follow the house rules and are wired as designed."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dagbag():
    # BundleDagBag puts the DAG folder on sys.path, as the dag-processor and task runner do for a
    # DAG bundle, so `dag_support` imports the same way here as in production.
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=str(REPO / "dags"), bundle_path=REPO / "dags")


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {"socialpulse_nightly", "socialpulse_transform"} <= set(dagbag.dag_ids)


def test_house_rules(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id}: add tags"
        assert dag.default_args.get("retries", 0) >= 1, f"{dag_id}: set retries"
        assert not dag.catchup, f"{dag_id}: backfills are deliberate, not catchup"
        assert dag.doc_md, f"{dag_id}: the module docstring is the UI documentation"


def test_nightly_uses_a_data_interval_timetable_in_stockholm(dagbag):
    from airflow.sdk import CronDataIntervalTimetable

    timetable = dagbag.dags["socialpulse_nightly"].timetable
    assert isinstance(timetable, CronDataIntervalTimetable)
    assert (timetable.expression, str(timetable.timezone)) == ("0 10 * * *", "Europe/Stockholm")


def test_writers_share_the_single_writer_pool_and_loads_emit_platform_assets(dagbag):
    nightly, transform = dagbag.dags["socialpulse_nightly"], dagbag.dags["socialpulse_transform"]
    for task_id in ("load_facebook", "load_instagram"):
        task = nightly.get_task(task_id)
        assert task.pool == "duckdb_writer"
        assert [o.name for o in task.outlets] == [f"socialpulse.raw.{task_id.removeprefix('load_')}"]
    for task_id in ("dbt_build", "publish"):
        assert transform.get_task(task_id).pool == "duckdb_writer"
    assert [o.name for o in transform.get_task("publish").outlets] == ["socialpulse.marts.published"]
    assert nightly.get_task("fetch").pool != "duckdb_writer"


def test_transform_is_scheduled_on_any_raw_asset(dagbag):
    from airflow.sdk.definitions.timetables.assets import AssetTriggeredTimetable

    transform = dagbag.dags["socialpulse_transform"]
    assert isinstance(transform.timetable, AssetTriggeredTimetable)
    from airflow.sdk import AssetAny

    condition = transform.timetable.asset_condition
    assert isinstance(condition, AssetAny)  # any raw asset, not all of them
    assert {asset.name for asset in condition.objects} == {"socialpulse.raw.facebook", "socialpulse.raw.instagram"}
