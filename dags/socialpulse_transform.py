"""Transform and publish: one `dbt build`, then the BI copy, whenever any raw Asset is updated.

Scheduled on the raw Assets (any of them). Several load events that arrive close together fold
into one run; the run logs every triggering event's load ids and business dates, builds all models
once (dbt threads inside one process, in the single-writer pool) and publishes the marts as a
read-only DuckDB file plus Parquet. Emits `socialpulse.marts.published`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task
from dag_support.assets import MARTS_PUBLISHED, RAW_ASSETS
from dag_support.defaults import DEFAULT_ARGS, WRITER_POOL


@dag(
    dag_id="socialpulse_transform",
    schedule=RAW_ASSETS["facebook"] | RAW_ASSETS["instagram"],
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Stockholm"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["socialpulse", "transform"],
    doc_md=__doc__,
)
def socialpulse_transform():
    @task
    def collect_events(triggering_asset_events=None) -> dict:
        """The loads this run covers (none when triggered by hand)."""
        from ingestion import orchestration

        return orchestration.collect_events(triggering_asset_events)

    @task(pool=WRITER_POOL)
    def dbt_build(events: dict) -> dict:
        """Build and test every dbt model once."""
        from ingestion import orchestration

        return orchestration.dbt_build()

    @task(pool=WRITER_POOL, outlets=[MARTS_PUBLISHED])
    def publish(build: dict) -> dict:
        """Swap in the BI copy of the marts."""
        from ingestion import orchestration

        return orchestration.publish()

    publish(dbt_build(collect_events()))


socialpulse_transform()
