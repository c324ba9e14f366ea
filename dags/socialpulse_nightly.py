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

Safe to re-run: a landing batch loads at most once, and staging takes the latest observation.
Trigger with conf `{"as_of": "YYYY-MM-DD"}` (optionally `"lookback_days": N`) to read a specific
platform day. Short ranges: `airflow backfill create --dag-id socialpulse_nightly ...`
(docs/airflow.md); long ranges: the `socialpulse_backfill` DAG.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronDataIntervalTimetable, TriggerRule, dag, get_current_context, task
from dag_support.assets import PLATFORMS, RAW_LOADS_ALIAS
from dag_support.defaults import DEFAULT_ARGS, WRITER_POOL, fetch_pool


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
        from ingestion import orchestration

        return orchestration.plan_nightly_chunks(dag_run.conf or {}, data_interval_end, platform)

    @task
    def fetch(chunk: list[dict], run_id=None, ti=None) -> dict:
        """Fetch one chunk of accounts and land the responses (retried only for transient failures)."""
        from dag_support.secrets import export_tokens_from_connections

        from ingestion import orchestration

        export_tokens_from_connections(chunk)
        return orchestration.fetch(run_id, chunk, ti.try_number, ti.max_tries)

    @task(outlets=[RAW_LOADS_ALIAS], trigger_rule=TriggerRule.ALL_DONE)
    def emit_events(loads: list) -> dict:
        """One raw-data asset event per platform that committed data, all at once: one transform run."""
        from dag_support.assets import RAW_ASSETS, RAW_LOADS_ALIAS

        from ingestion import orchestration

        extras = orchestration.raw_events(loads, kind="nightly")
        alias = get_current_context()["outlet_events"][RAW_LOADS_ALIAS]
        for platform, extra in extras.items():
            alias.add(RAW_ASSETS[platform], extra=extra)
        return extras

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(planned: dict, fetches: list, loads: list, events: dict | None) -> dict:
        """Fail the run (after the healthy accounts loaded) if any account failed; name each one."""
        from ingestion import orchestration

        return orchestration.report(planned, fetches, loads, events)

    planned, fetches, loads = {}, [], []
    for platform in PLATFORMS:

        # Load whatever landed, even when some fetch chunks failed; skip when none succeeded.
        @task(task_id=f"load_{platform}", pool=WRITER_POOL, trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
        def load(platform: str = platform, run_id=None) -> dict:
            """Validate and commit this platform's landing batch (its asset event follows at the end)."""
            from ingestion import orchestration

            return orchestration.load(run_id, platform)

        planned[platform] = plan.override(task_id=f"plan_{platform}")(platform)
        fetched = fetch.override(
            task_id=f"fetch_{platform}", pool=fetch_pool(platform), doc_md=fetch.function.__doc__
        ).expand(chunk=planned[platform])
        loaded = load()
        fetched >> loaded
        fetches.append(fetched)
        loads.append(loaded)

    report(planned, fetches, loads, emit_events(loads))


socialpulse_nightly()
