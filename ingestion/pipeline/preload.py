"""Import, once, what every task process of the pipeline imports, in a long-lived parent that forks them.

Why: an Airflow Celery worker forks a fresh process for every task (Airflow 3's task supervisor
`os.fork()`s from the pool process, which the worker forked at start-up). Each of those processes
paid the imports of its task body again: measured in the nightly through Airflow (bench_airflow
--executor celery, 80 + 80 accounts), a `plan_<platform>` task spent ~2 s importing the pipeline for
0.01 s of planning, and each `load_<platform>` 4.0 s importing Great Expectations before its gate
ran (the loads run one after another on the writer host: that time is on the critical path), and
the mart gate the same again. Imported once in the worker's main process before its pool starts,
the modules are in every forked task process already (copy-on-write memory, ~0.3 GiB per worker
host shared by its pool). Airflow does the same for its own operator modules
(`celery_executor_utils.on_celery_import_modules`).

Then it parses the dbt project once (ingestion.transform.runner.parse): each dbt task of the worker
starts from that manifest instead of re-parsing (~0.7 s a build; ingestion/transform/parsed.py says
when a parse is stale and done again).

Last, the preloaded heap is frozen for the garbage collector (`gc.freeze()`, what Python's
documentation advises before forking): the ~370,000 objects of these modules (and the parsed
manifest) live as long as the worker, and each full collection in a task process walked all of
them: with the parsed manifest in the heap, the mart gate took 1.44-1.48 s instead of 1.14-1.17 s
and the report 1.15-1.16 s instead of 0.92-0.95 s (bench.phases on one demo warehouse, three
alternating runs each, issue 21). The frozen objects are never collected; they are modules and the
manifest, kept for the process's life anyway.

Fork-safe by construction: these imports and the parse start no threads and leave no connections
or files open (checked: `threading.enumerate()` afterwards is the main thread only; the runner
closes dbt-duckdb's database handle after the parse). Nothing here is Airflow-specific;
`dags/dag_support/celery_config.py` calls `preload()` from Celery's `import_modules` signal.
"""

from __future__ import annotations

import importlib
import logging
import time

from ingestion.core.heap import freeze_for_life

log = logging.getLogger(__name__)

# What the task bodies (dags/dag_support/platform_group.py, dags/socialpulse_*.py) import, heaviest
# first: the pipeline steps (settings, fetch, loader, publish, dbt runner, gates) and the libraries
# they import lazily (Great Expectations on first use by ingestion.gates.quality; dbt and its DuckDB
# adapter by ingestion.transform.runner, which runs dbt in the task's own process: ~2.5 s a build;
# matplotlib by the nightly report).
MODULES: tuple[str, ...] = (
    "great_expectations",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "great_expectations.expectations",
    "great_expectations.validator.v1_validator",
    "great_expectations.data_context.types.base",
    "pandas",
    "pyarrow",
    "duckdb",
    "ingestion.pipeline.orchestration",
    "ingestion.gates.load_gate",
    "ingestion.gates.mart_gate",
    # The nightly report, rendered by the publish task: matplotlib and its font manager (~0.5 s).
    "ingestion.publish.report",
    "ingestion.publish.report.peers",
)


def preload(modules: tuple[str, ...] = MODULES, parse_dbt_project: bool = True) -> float:
    """Import `modules` (already imported ones cost nothing), then parse the dbt project; return
    the seconds spent. A module that fails to import, or a project that fails to parse (settings
    missing, a broken model), is logged and skipped: the task that needs it imports or parses again
    and fails there, with its own error in its own log."""
    started = time.perf_counter()
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a preload must never stop a worker from starting
            log.warning("preload: %s not imported (%s: %s)", name, type(exc).__name__, exc)
    parsed = _parse_dbt_project() if parse_dbt_project else False
    freeze_for_life()  # out of the garbage collector's sight for good: see the module docstring
    elapsed = time.perf_counter() - started
    log.info("preload: %d modules%s in %.1f s", len(modules), " and the dbt project" if parsed else "", elapsed)
    return elapsed


def _parse_dbt_project() -> bool:
    """Parse the dbt project into this process's cache (ingestion.transform.runner.parse)."""
    try:
        from ingestion.core.settings import load_settings
        from ingestion.transform.runner import parse

        if parse(load_settings(), log=lambda line: log.debug("dbt parse: %s", line)):
            return True
        log.warning("preload: the dbt project did not parse; each dbt task will parse it (and report why)")
    except Exception as exc:  # noqa: BLE001 - a preload must never stop a worker from starting
        log.warning("preload: dbt project not parsed (%s: %s)", type(exc).__name__, exc)
    return False
