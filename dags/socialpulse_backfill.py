"""Backfill: load a range of platform days for some or all accounts, then trigger ONE transform.

Trigger by hand with the params below. The range is clipped to what the platforms serve (the last
complete Pacific day; two years of history) and, unless `force` is set, to the days the coverage
ledger does not hold yet. Each platform's work is split into account chunks sized to a request
budget and fetched in the same per-platform pools as the nightly run; one load per platform runs
in the single-writer pool. Raw-data asset events are emitted only at the very end, one per
platform that committed data, so a two-year backfill triggers one transform run, not hundreds.

Partial failures behave as in the nightly run: healthy accounts load, `report` fails the run and
names the accounts that did not. Safe to re-run (without `force` it only fetches what is missing).

Only the planning is this DAG's own: fetch, load, `emit_events` and `report` are wired by
`dag_support/platform_group.py`, shared with the nightly DAG so the two cannot drift apart. The
fetches apply today's API limits (the last complete platform day), not those of the range's end.

For a few days, `airflow backfill create --dag-id socialpulse_nightly` also works
(docs/airflow.md), but each backfilled nightly run emits its own events.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task
from dag_support.assets import PLATFORMS
from dag_support.defaults import DEFAULT_ARGS, WRITER_POOL, WRITER_QUEUE
from dag_support.platform_group import ingest_platforms


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
    @task(pool=WRITER_POOL, queue=WRITER_QUEUE)  # reads the coverage ledger: never beside the writer
    def plan(platform: str, params=None) -> list[list[dict]]:
        """Plan one platform: windows within the API limits, uncovered days only, budgeted chunks."""
        from ingestion.pipeline import orchestration

        return orchestration.plan_backfill_chunks(dict(params), platform)

    ingest_platforms(plan, kind="backfill")


socialpulse_backfill()
