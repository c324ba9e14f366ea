"""Nightly ingest: every registered account's platform insights into the DuckDB warehouse.

Runs at 10:00 Europe/Stockholm, after the previous Pacific platform day has closed, and reads the
trailing `SOCIALPULSE_LOOKBACK_DAYS` platform days ending with that day (platforms restate recent
days). Fetch tasks are mapped over account chunks and only write landing files; one load task per
platform, in the single-writer pool, validates and commits its batch and emits that platform's
Asset with the load id and business dates. Safe to re-run: a landing batch loads at most once, and
staging takes the latest observation.

Trigger with conf `{"as_of": "YYYY-MM-DD"}` to read a specific platform day.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task
from dag_support.assets import RAW_ASSETS
from dag_support.defaults import DEFAULT_ARGS, WRITER_POOL


@dag(
    dag_id="socialpulse_nightly",
    schedule=CronDataIntervalTimetable("0 10 * * *", timezone="Europe/Stockholm"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Stockholm"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["socialpulse", "ingest"],
    doc_md=__doc__,
)
def socialpulse_nightly():
    @task
    def plan(params=None, dag_run=None, data_interval_end=None) -> list[list[dict]]:
        """Account chunks to fetch (one mapped fetch task each)."""
        from ingestion import orchestration

        return orchestration.plan_chunks(dag_run.conf or {}, data_interval_end)

    @task(retries=0)  # the HTTP layer already retries transient errors with backoff
    def fetch(chunk: list[dict], run_id=None) -> dict:
        """Fetch one chunk of accounts and land the responses."""
        from ingestion import orchestration

        return orchestration.fetch(run_id, chunk)

    fetched = fetch.expand(chunk=plan())

    loads = []
    for platform, asset in RAW_ASSETS.items():

        @task(task_id=f"load_{platform}", pool=WRITER_POOL, outlets=[asset])
        def load(platform: str = platform, run_id=None) -> dict:
            """Validate and commit this platform's landing batch; emit its Asset."""
            from dag_support.assets import RAW_ASSETS

            from ingestion import orchestration

            result = orchestration.load(run_id, platform)
            get_current_context()["outlet_events"][RAW_ASSETS[platform]].extra = orchestration.event_extra(result)
            return result

        loads.append(load())

    @task
    def report(fetches: list[dict], loads: list[dict]) -> dict:
        """Fail the run (after the healthy accounts loaded) if any account failed."""
        from ingestion import orchestration

        return orchestration.report(fetches, loads)

    fetched >> loads
    report(fetched, loads)


socialpulse_nightly()
