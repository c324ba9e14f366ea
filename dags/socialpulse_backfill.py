"""Backfill: load a range of platform days for some or all accounts, then trigger ONE transform.

Trigger by hand with the params below. The range is clipped to what the platforms serve (the last
complete Pacific day; two years of history) and, unless `force` is set, to the days the coverage
ledger does not hold yet. Each platform's work is split into account chunks sized to a request
budget and fetched in the same per-platform pools as the nightly run; one load per platform runs
in the single-writer pool. Raw-data asset events are emitted only at the very end, one per
platform that committed data, so a two-year backfill triggers one transform run, not hundreds.

Partial failures behave as in the nightly run: healthy accounts load, `report` fails the run and
names the accounts that did not. Safe to re-run (without `force` it only fetches what is missing).

For a few days, `airflow backfill create --dag-id socialpulse_nightly` also works
(docs/airflow.md), but each backfilled nightly run emits its own events.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, TriggerRule, dag, get_current_context, task
from dag_support.assets import PLATFORMS, RAW_LOADS_ALIAS
from dag_support.defaults import DEFAULT_ARGS, WRITER_POOL, fetch_pool


@dag(
    dag_id="socialpulse_backfill",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Stockholm"),
    catchup=False,
    max_active_runs=1,  # two backfills would race for the same days and the single writer
    default_args=DEFAULT_ARGS,
    tags=["socialpulse", "backfill"],
    doc_md=__doc__,
    params={
        "since": Param(None, type=["null", "string"], format="date", description="first platform day (YYYY-MM-DD)"),
        "until": Param(None, type=["null", "string"], format="date",
                       description="last platform day (YYYY-MM-DD); clipped to yesterday, Pacific time"),
        "platforms": Param([], type="array", items={"type": "string", "enum": list(PLATFORMS)},
                           description="platforms to backfill (empty: every platform enabled here)"),
        "accounts": Param([], type="array", items={"type": "string"},
                          description="account ids to backfill (empty: every registered account)"),
        "force": Param(False, type="boolean", description="re-fetch days the coverage ledger already holds"),
    },
    render_template_as_native_obj=True,
)
def socialpulse_backfill():
    @task(pool=WRITER_POOL)  # reads the coverage ledger: never beside the writer
    def plan(platform: str, params=None) -> list[list[dict]]:
        """Plan one platform: windows within the API limits, uncovered days only, budgeted chunks."""
        from ingestion import orchestration

        return orchestration.plan_backfill_chunks(dict(params), platform)

    @task
    def fetch(chunk: list[dict], run_id=None, ti=None) -> dict:
        """Fetch one chunk of accounts and land the responses (retried only for transient failures)."""
        from dag_support.secrets import export_tokens_from_connections

        from ingestion import orchestration, pipeline

        export_tokens_from_connections(chunk)
        return orchestration.fetch(run_id, chunk, ti.try_number, ti.max_tries,
                                   as_of=pipeline.default_as_of().isoformat())

    @task(outlets=[RAW_LOADS_ALIAS], trigger_rule=TriggerRule.ALL_DONE)
    def emit_events(loads: list) -> dict:
        """One raw-data asset event per platform that committed data: the backfill is visible now."""
        from dag_support.assets import RAW_ASSETS, RAW_LOADS_ALIAS

        from ingestion import orchestration

        extras = orchestration.raw_events(loads, kind="backfill")
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

        @task(task_id=f"load_{platform}", pool=WRITER_POOL, trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
        def load(platform: str = platform, run_id=None) -> dict:
            """Validate and commit this platform's landing batch (no asset event: emitted at the end)."""
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


socialpulse_backfill()
