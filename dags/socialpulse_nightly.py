"""Nightly ingest: every registered account's platform insights into the DuckDB warehouse.

Runs at 10:00 Europe/Stockholm, after the previous Pacific platform day has closed, and reads the
trailing `SOCIALPULSE_LOOKBACK_DAYS` platform days ending with that day (platforms restate recent
days). Fetch tasks are mapped over account chunks (50 accounts each, one platform per chunk) in
per-platform pools sized to the rate limits, and only write landing files. One load task per
platform, in the single-writer pool, validates and commits its batch. Then `emit_events` emits
each committed platform's Asset with the load id and business dates in the event's `extra`, all
at once, so a night triggers one transform run rather than one per platform.

Failures are partial: a failed account never blocks the others. Healthy accounts load; the
`report` task then fails the run and names every failed account and its error class (the incident
notifier logs it and posts it to the `socialpulse_alerts` webhook when configured). Transient
errors are retried with exponential backoff; auth and invalid-request errors fail at once.

Only the planning is this DAG's own: fetch, load, `emit_events` and `report` are wired by
`dag_support/platform_group.py`, shared with the backfill DAG so the two cannot drift apart.

Safe to re-run: a landing batch loads at most once, and staging takes the latest observation.
Trigger with conf `{"as_of": "YYYY-MM-DD"}` (optionally `"lookback_days": N`) to read a specific
platform day. Short ranges: `airflow backfill create --dag-id socialpulse_nightly ...`
(docs/airflow.md); long ranges: the `socialpulse_backfill` DAG.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag, task
from dag_support.defaults import DEFAULT_ARGS
from dag_support.platform_group import ingest_platforms


@dag(
    dag_id="socialpulse_nightly",
    schedule=CronDataIntervalTimetable("0 10 * * *", timezone="Europe/Stockholm"),
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Stockholm"),
    catchup=False,
    max_active_runs=1,  # runs must not overlap: one landing batch per platform per run, one writer
    default_args=DEFAULT_ARGS,
    tags=["socialpulse", "ingest"],
    doc_md=__doc__,
)
def socialpulse_nightly():
    @task
    def plan(platform: str, dag_run=None, data_interval_end=None) -> list[list[dict]]:
        """Validate the account registry and plan one platform: chunks of account plans."""
        from ingestion.pipeline import orchestration

        return orchestration.plan_nightly_chunks(dag_run.conf or {}, data_interval_end, platform)

    ingest_platforms(plan, kind="nightly", peers=True)


socialpulse_nightly()
