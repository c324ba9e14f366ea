"""The ingest wiring the nightly and backfill DAGs share: fetch → load per platform, then the
raw-data asset events and the run report.

Both DAGs ingest the same way and differ only in how they plan (the nightly reads the trailing
lookback days of one platform day; the backfill reads a range, clipped to the API limits and the
coverage ledger) and in the `kind` their asset events carry. So each DAG file keeps its own `plan`
task and calls `ingest_platforms(plan, kind=...)` for the rest: pools, trigger rules, task ids and
the events-at-the-end design are decided here once and cannot drift apart between the two DAGs.

Per platform `p` (the task ids are a contract: run history, alerts, tests and docs name them):

    plan_p ─► fetch_p (mapped over account chunks, pool socialpulse_fetch_p) ─► load_p (duckdb_writer)

then `emit_events` (after every load, one event per committed platform) ─► `report` (the leaf: it
decides the run's state and names every failed account). Retries, the retry policy and the incident
notifier come from the DAG's default args (`dag_support.defaults`).
"""

from __future__ import annotations

from typing import Literal

from airflow.sdk import TriggerRule, get_current_context, task

from dag_support.assets import PLATFORMS, RAW_LOADS_ALIAS
from dag_support.pools import WRITER_POOL, WRITER_QUEUE, fetch_pool

Kind = Literal["nightly", "backfill"]


def ingest_platforms(plan, *, kind: Kind, peers: bool = False):
    """Wire plan → fetch → load for every platform, then `emit_events` and `report`, into the current DAG.

    With `peers`, a `peers` task (the peer organisations' public counts, issue 22) runs after the
    loads and before `emit_events` in the writer pool, so the transform the events trigger sees the
    same night's peer snapshot; one failed peer account is a finding, never a failed task.

    `plan` is the DAG's own `@task`: it takes the platform name and returns that platform's account
    plans in chunks (one mapped fetch task each); it gets the task id `plan_<platform>`. `kind` goes
    into every asset event's `extra`; a backfill also fetches with today's API limits (the last
    complete platform day) rather than those of the last day it reads. Returns `report`'s output.
    """
    if kind not in ("nightly", "backfill"):
        raise ValueError(f"kind must be 'nightly' or 'backfill', not {kind!r}")

    # The UI names each mapped fetch by its shard (platform, account range, failed accounts) rather
    # than by its map index: `shard_label` is set in the task's context and rendered at its end.
    @task(map_index_template="{{ shard_label }}")
    def fetch(chunk: list[dict], run_id=None, ti=None) -> dict:
        """Fetch one shard of accounts and land the responses (retried only for transient failures)."""
        from dag_support.secrets import export_tokens_from_connections
        from ingestion.pipeline import chain as pipeline
        from ingestion.pipeline import orchestration

        context = get_current_context()
        context["shard_label"] = orchestration.shard_label(chunk)
        export_tokens_from_connections(chunk)
        as_of = pipeline.default_as_of().isoformat() if kind == "backfill" else None
        try:
            result = orchestration.fetch(run_id, chunk, ti.try_number, ti.max_tries, as_of=as_of)
        except Exception as exc:
            failures = getattr(exc, "failures", None)
            if failures:  # transient failures, retried: the label names them until the retry
                context["shard_label"] = orchestration.shard_label(chunk, {"failures": failures})
            raise
        context["shard_label"] = orchestration.shard_label(chunk, result)
        return result

    # Load whatever landed, even when some fetch chunks failed; skip when none succeeded.
    @task(pool=WRITER_POOL, queue=WRITER_QUEUE, trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
    def load(platform: str, run_id=None) -> dict:
        """Validate and commit this platform's landing batch (its asset event is emitted at the end)."""
        from ingestion.pipeline import orchestration

        return orchestration.load(run_id, platform)

    @task(outlets=[RAW_LOADS_ALIAS], trigger_rule=TriggerRule.ALL_DONE)
    def emit_events(loads: list) -> dict:
        """One raw-data asset event per platform that committed data, all at once: one transform run."""
        from dag_support.assets import RAW_ASSETS, RAW_LOADS_ALIAS
        from ingestion.pipeline import orchestration

        extras = orchestration.raw_events(loads, kind=kind)
        alias = get_current_context()["outlet_events"][RAW_LOADS_ALIAS]
        for platform, extra in extras.items():
            alias.add(RAW_ASSETS[platform], extra=extra)
        return extras

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(planned: dict, fetches: list, loads: list, events: dict | None) -> dict:
        """Fail the run (after the healthy accounts loaded) if any account failed; name each one."""
        from ingestion.pipeline import orchestration

        return orchestration.report(planned, fetches, loads, events)

    @task(pool=WRITER_POOL, queue=WRITER_QUEUE, trigger_rule=TriggerRule.ALL_DONE)
    def peers_snapshot(run_id=None) -> dict:
        """Snapshot the peers' public counts (fetch, land, gate, load in one writer task)."""
        from ingestion.pipeline import orchestration

        return orchestration.peers(run_id)

    planned, fetches, loads = {}, [], []
    for platform in PLATFORMS:
        planned[platform] = plan.override(task_id=f"plan_{platform}")(platform)
        # Only a called task gets its docstring as doc_md, a mapped (expanded) one does not: pass it on.
        fetched = fetch.override(
            task_id=f"fetch_{platform}", pool=fetch_pool(platform), doc_md=fetch.function.__doc__
        ).expand(chunk=planned[platform])
        loaded = load.override(task_id=f"load_{platform}")(platform)
        fetched >> loaded  # no data passes: the load reads the landing files the run's fetches wrote
        fetches.append(fetched)
        loads.append(loaded)

    events = emit_events(loads)
    if peers:
        snapshot = peers_snapshot.override(task_id="peers")()
        loads >> snapshot >> events  # one writer at a time; the events come after both
    return report(planned, fetches, loads, events)
