"""Transform and publish: one `dbt build`, the mart gate, then the BI copy, whenever raw data lands.

Scheduled on the raw Assets (any of them). Several load events that arrive close together fold
into one run: the run logs every triggering event's load id and business dates, builds all models
once (dbt threads inside one process, in the single-writer pool), emits one asset event per mart
it built (through the `socialpulse.marts` alias), runs the mart quality gate and publishes the
marts as a read-only DuckDB file plus Parquet. Emits `socialpulse.marts.published`.

Safe to re-run and to trigger by hand (no events: it rebuilds and republishes everything). Runs
never overlap; events that arrive during a run start the next one.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, get_current_context, task
from dag_support.assets import ANY_RAW, MARTS_ALIAS, MARTS_PUBLISHED
from dag_support.defaults import DEFAULT_ARGS, WRITER_POOL, WRITER_QUEUE


@dag(
    dag_id="socialpulse_transform",
    schedule=ANY_RAW,
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
        """The loads this run covers, one log line per event (none when triggered by hand)."""
        from ingestion.pipeline import orchestration

        return orchestration.collect_events(triggering_asset_events)

    @task(pool=WRITER_POOL, queue=WRITER_QUEUE, outlets=[MARTS_ALIAS])
    def dbt_build(events: dict) -> dict:
        """Build and test every dbt model once; one asset event per mart built."""
        from dag_support.assets import MARTS_ALIAS, mart_asset

        from ingestion.pipeline import orchestration

        result = orchestration.dbt_build()
        alias_events = get_current_context()["outlet_events"][MARTS_ALIAS]
        for mart in result["marts"]:
            alias_events.add(
                mart_asset(mart["model"]),
                extra={"status": mart["status"], "execution_time": mart["execution_time"],
                       "load_ids": events.get("load_ids", []),
                       "business_date_min": events.get("business_date_min"),
                       "business_date_max": events.get("business_date_max")},
            )
        return result

    @task(pool=WRITER_POOL, queue=WRITER_QUEUE)
    def mart_gate(build: dict, events: dict, run_id=None) -> dict:
        """Quality gate on the marts, as of the nightly's day; failing blocks publish."""
        from ingestion.pipeline import orchestration

        return orchestration.mart_gate(run_id, events)

    @task(pool=WRITER_POOL, queue=WRITER_QUEUE, outlets=[MARTS_PUBLISHED])
    def publish(gate: dict, events: dict, run_id=None) -> dict:
        """Swap in the BI copy of the marts, render the nightly report; emit `socialpulse.marts.published`."""
        from dag_support.assets import MARTS_PUBLISHED

        from ingestion.pipeline import orchestration

        extra = orchestration.publish(events, run_id)
        get_current_context()["outlet_events"][MARTS_PUBLISHED].extra = extra
        return extra

    events = collect_events()
    publish(mart_gate(dbt_build(events), events), events)


socialpulse_transform()
