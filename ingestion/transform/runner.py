"""Run the dbt project: one `dbt build` per transform (models and tests in one invocation), in this
process.

One invocation, not one per model: per-model dbt processes cost 5-10x more and fight over the DuckDB
lock (STACK_NOTES.md §2.8-2.9). dbt threads inside one invocation share one DuckDB connection safely.
Per-model results are read back from the invocation's result for the task log and asset events.

In this process (dbt's programmatic `dbtRunner`), not a `dbt` child process (issue 21): a child paid
the interpreter and dbt's ~2.5 CPU-s import on every build; in process, a Celery worker imports dbt
once before its pool forks (ingestion.pipeline.preload) and every dbt task starts building at once.
dbt's invocations are not re-entrant: `_LOCK` keeps a second thread of this process from starting
one meanwhile. When the invocation ends, dbt-duckdb's cached database handle is closed, so the
warehouse file is free for the next writer (gate, publish) of this process.

dbt's own output (some 370 lines a build) is detail for a log, not for a person watching a run: each
line it would print goes to this module's logger at INFO (or to the caller's `log`), so the CLI files
it in its log under $SOCIALPULSE_HOME/logs/ and Airflow in the task log; dbt's own log goes to
$SOCIALPULSE_HOME/dbt_logs/dbt.log at the level of setting `dbt_log_level` (default info; debug
adds every SQL statement).

While dbt runs, the garbage collector skips the heap that existed before (ingestion.core.heap): dbt
makes many short-lived Jinja and event objects, and each full collection also walked the worker's
preloaded modules. dbt's events below the levels anyone reads are dropped before dbt builds them,
and its type testers are built once (ingestion.transform.inprocess).

`build`, `run` and `test` start from this process's parsed project when nothing dbt's parse reads has
changed since (ingestion.transform.parsed): a Celery worker parses once before its pool forks
(`parse`, called by ingestion.pipeline.preload), so its dbt tasks skip dbt's ~0.7 s re-parse, and
compiles the macros' Jinja templates then too. Without that parse (`socialpulse run`, a changed
project) the first invocation parses, as dbt would have.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.core.heap import collector_skips_the_heap
from ingestion.core.settings import Settings
from ingestion.transform.parsed import ParsedProject, project_fingerprint

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

# dbt's console levels: what `dbt build` prints at its default log level.
_PRINTED_LEVELS = frozenset({"info", "warn", "error"})
# Events dbt never prints to its console (cache bookkeeping).
_UNPRINTED_EVENTS = frozenset({"CacheAction", "CacheDumpGraph"})
_LOCK = threading.Lock()
# Commands that start from the process's parsed project. Others (compile --inline, run-operation,
# ls, ...) parse for themselves: some add nodes to the manifest they run with.
_REUSES_PARSE = frozenset({"build", "run", "test"})
# Arguments that change what a parse produces: an invocation given one parses for itself.
_PARSE_ARGUMENTS = frozenset({"--vars", "--target", "-t", "--profile", "--project-dir", "--profiles-dir"})
_PARSED = ParsedProject()

log = logging.getLogger(__name__)


def _log_line(line: str) -> None:
    log.info("dbt: %s", line)


class DbtBuildError(RuntimeError):
    """`dbt build` failed; the message lists the failed nodes."""


@dataclass
class DbtResult:
    """Per-node outcome of one dbt invocation."""

    returncode: int
    elapsed_s: float
    nodes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Nodes that errored or whose tests failed."""
        return [n for n in self.nodes if n["status"] in ("error", "fail", "runtime error")]

    @property
    def models(self) -> list[str]:
        """Unique ids of models that were built successfully."""
        return [n["unique_id"] for n in self.nodes if n["unique_id"].startswith("model.") and n["status"] == "success"]


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """`values` in os.environ for the invocation (profiles.yml reads SOCIALPULSE_WAREHOUSE with env_var),
    restored afterwards so that one build's warehouse never leaks into the next."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _printer(log: Callable[[str], None]) -> Callable[[Any], None]:
    """A dbt event callback that hands `log` each line dbt would print on its console."""

    def on_event(msg: Any) -> None:
        info = msg.info
        if info.level in _PRINTED_LEVELS and info.name not in _UNPRINTED_EVENTS and info.msg:
            for line in str(info.msg).splitlines():
                log(line.rstrip())

    return on_event


def _close_warehouse() -> None:
    """Close dbt-duckdb's process-wide database handle. It closes itself once dbt releases its last
    connection; this makes sure of it even after a failed invocation, so the next writer of this
    process (the mart gate, publish) can open the warehouse with its own settings."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if environment is not None:
        environment.close()


def _nodes(result: Any) -> tuple[list[dict[str, Any]], float]:
    """Per-node status and timing of an invocation's RunExecutionResult (what run_results.json holds)."""
    if result is None or not hasattr(result, "results"):
        return [], 0.0
    nodes = [{"unique_id": r.node.unique_id, "status": str(getattr(r.status, "value", r.status)),
              "execution_time": r.execution_time, "message": r.message,
              "schema": getattr(r.node, "schema", None)} for r in result.results]
    return nodes, float(getattr(result, "elapsed_time", 0.0) or 0.0)


def _write_run_results(result: Any, target: Path) -> None:
    """`run_results.json` in the target folder, as dbt writes it, for people and bench.profile.

    dbt runs with `--no-write-json`: with it, dbt would also serialise its whole manifest to
    manifest.json twice per invocation (after parsing and after the run), ~1 s of the nightly's
    dbt task on the main thread, after the last node (issue 21). Nothing reads that manifest (the
    callers take each node's schema from the result; partial parsing keeps its own
    partial_parse.msgpack), so only the per-node results are written, here."""
    if result is None or not hasattr(result, "write"):
        return
    target.mkdir(parents=True, exist_ok=True)
    result.write(str(target / "run_results.json"))


def _flags(settings: Settings) -> list[str]:
    """The flags of every invocation: the project, its outputs under $SOCIALPULSE_HOME, quiet console."""
    home = settings.home_abs
    return ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
            "--target-path", str(home / "dbt_target"), "--log-path", str(home / "dbt_logs"),
            "--log-level", "none", "--log-level-file", settings.dbt_log_level, "--no-write-json",
            "--no-use-colors", "--no-send-anonymous-usage-stats"]


def _parsed_manifest(flags: list[str], log: Callable[[str], None]) -> tuple[Any, Any]:
    """(manifest, None) from this process's parse while its fingerprint holds, else from a new
    `dbt parse` (kept for the next invocation); (None, the parse's outcome) when the parse failed,
    which is then the invocation's outcome (a broken project is reported once). Call inside
    _invocation: the warehouse path it sets is part of the fingerprint."""
    from dbt.cli.main import dbtRunner

    fingerprint = project_fingerprint(DBT_PROJECT_DIR)
    manifest = _PARSED.current(fingerprint)
    if manifest is not None:
        return manifest, None
    outcome = dbtRunner(callbacks=[_printer(log)]).invoke(["parse", *flags])
    if not outcome.success or outcome.exception is not None or outcome.result is None:
        return None, outcome
    _PARSED.keep(fingerprint, outcome.result)
    return outcome.result, None


@contextmanager
def _invocation(settings: Settings) -> Iterator[None]:
    """Around every dbt invocation of this process: our event manager and type testers installed,
    one invocation at a time, the warehouse path in the environment, the preloaded heap out of the
    collector's sight, and dbt-duckdb's database handle closed afterwards."""
    from ingestion.transform import inprocess

    inprocess.install()
    with _LOCK, _environ({"SOCIALPULSE_WAREHOUSE": str(settings.warehouse)}), collector_skips_the_heap():
        try:
            yield
        finally:
            _close_warehouse()


def parse(settings: Settings, log=_log_line) -> bool:
    """Parse the project into this process's cache, so that its (or its forked children's) next
    builds skip dbt's parse, and compile its macros' templates; True when the parse succeeded.
    Leaves no database handle open."""
    from ingestion.transform import inprocess

    with _invocation(settings):
        manifest, failed = _parsed_manifest(_flags(settings), log)
    if manifest is not None:
        inprocess.compile_macro_templates(manifest)
    return failed is None


def dbt(settings: Settings, *args: str, log=_log_line) -> DbtResult:
    """Run a dbt command against the warehouse in this process; hands dbt's console lines to `log`
    (default: this module's logger). returncode is 0 when dbt succeeded, 1 when a node failed, 2 when
    dbt could not run (its error is logged)."""
    from dbt.cli.main import dbtRunner

    target = settings.home_abs / "dbt_target"
    flags = _flags(settings)
    reuses_parse = bool(args) and args[0] in _REUSES_PARSE and not _PARSE_ARGUMENTS.intersection(
        arg.split("=", 1)[0] for arg in args)
    with _invocation(settings):
        manifest, outcome = _parsed_manifest(flags, log) if reuses_parse else (None, None)
        if outcome is None:
            outcome = dbtRunner(manifest=manifest, callbacks=[_printer(log)]).invoke([*args, *flags])
    _write_run_results(outcome.result, target)
    nodes, elapsed = _nodes(outcome.result)
    if outcome.exception is not None:
        log(f"dbt could not run: {type(outcome.exception).__name__}: {outcome.exception}")
        return DbtResult(returncode=2, elapsed_s=elapsed, nodes=nodes)
    return DbtResult(returncode=0 if outcome.success else 1, elapsed_s=elapsed, nodes=nodes)


def build(settings: Settings, log=_log_line) -> DbtResult:
    """`dbt build` of the whole project; raises DbtBuildError when any node fails."""
    result = dbt(settings, "build", log=log)
    if result.returncode != 0:
        names = ", ".join(f"{n['unique_id']} ({n['status']})" for n in result.failed) or "see the dbt log"
        raise DbtBuildError(f"dbt build failed: {names}")
    return result
