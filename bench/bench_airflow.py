"""Airflow overhead (issue 7): the nightly chain through the real scheduler minus the same work via
`socialpulse run`.

Both sides read the same platform days of the same sandbox accounts into a fresh data folder:
1. `socialpulse run --as-of D` (plan, fetch, load, dbt build, publish in one process), timed;
2. Airflow with the DAGs unpaused: the scheduler creates the nightly DAG's scheduled run (whose
   platform day is D), runs it, and the load events trigger the transform. Timed from the unpause
   to the end of the transform run that consumed the events. Airflow's start-up (migrate, parse,
   workers) is reported apart: a running deployment does not pay it.
   `--executor standalone`: `airflow standalone` (SQLite, LocalExecutor);
   `--executor celery`: the production shape of tests/airflow/services.py - PostgreSQL, Redis,
   every component its own process, two Celery workers (the fetch shards' spread over them is
   reported, `--shard-size` sets SOCIALPULSE_FETCH_SHARD_SIZE).

    .venv/bin/python -m bench.bench_airflow [--accounts 10] [--lookback 3] [--executor celery] [--shard-size 50]
                                            [--usage-limits] [--no-preload]

The sandbox runs in its own process (bench.sandbox_host) on the machine's clock, with usage headroom
like the other figures: the client's usage-based pacing never engages, so the figure is the
scheduler's overhead, not the pacing (bench/pacing.py measures that). `--usage-limits` serves the
sandbox's default limits instead (at 2,500 accounts per platform the fetch then paces itself to
~70 s per shard of 250 accounts on both sides). `--no-preload` runs the Celery workers with Airflow's
plain Celery settings, without the preload of the task modules (dags/dag_support/celery_config.py),
to measure what it saves.

Prints JSON (and writes bench/results/bench_airflow.json, or bench_airflow_celery.json); never a
pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import figure, write_results
from bench.harness import sandbox
from bench.registry import write_registry
from devtools import devenv
from ingestion.pipeline.chain import default_as_of

TOKEN = "bench-airflow-token-0123456789"
# Airflow's own Celery settings (the default of `[celery] celery_config_options`), for --no-preload.
AIRFLOW_CELERY_CONFIG = "airflow.providers.celery.executors.default_celery.DEFAULT_CELERY_CONFIG"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def latest_interval_end(now: datetime | None = None) -> datetime:
    """End of the nightly DAG's latest complete data interval (10:00 Europe/Stockholm)."""
    now = (now or datetime.now(STOCKHOLM)).astimezone(STOCKHOLM)
    end = now.replace(hour=10, minute=0, second=0, microsecond=0)
    return end if end <= now else end - timedelta(days=1)


def _cli_run(home: Path, env: dict[str, str], as_of) -> tuple[float, int]:
    env = {**env, "SOCIALPULSE_HOME": str(home)}
    started = time.monotonic()
    proc = subprocess.run([str(devenv.BIN / "socialpulse"), "run", "--as-of", as_of.isoformat()], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    elapsed = time.monotonic() - started
    (home / "cli.log").write_text(proc.stdout, encoding="utf-8")
    return elapsed, proc.returncode


def _task_seconds(stack, dag_id: str, run_id: str) -> tuple[float, int]:
    tis = stack.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=500)["task_instances"]
    return sum(t["duration"] or 0.0 for t in tis), len(tis)


def _airflow_run(home: Path, env: dict[str, str], executor: str = "standalone") -> dict:
    from tests.airflow.services import celery_stack
    from tests.airflow.standalone import DAG_IDS, standalone

    start = celery_stack if executor == "celery" else standalone
    with start(home, env) as stack:
        for dag_id in DAG_IDS:
            stack.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        unpaused = time.monotonic()
        nightly = stack.wait("the scheduled nightly run", lambda: stack.runs("socialpulse_nightly"))[0]
        nightly = stack.wait("the nightly run", lambda: stack.finished("socialpulse_nightly", nightly["dag_run_id"]))
        nightly_done = time.monotonic()

        def consumer_done():
            events = stack.events(source_dag_id="socialpulse_nightly", source_run_id=nightly["dag_run_id"])
            runs = {d["run_id"] for e in events for d in e["created_dagruns"]}
            if not events or not runs:
                return None
            finished = [stack.finished("socialpulse_transform", r) for r in sorted(runs)]
            return finished if all(finished) else None

        transforms = stack.wait("the transform run(s)", consumer_done)
        chain_done = time.monotonic()
        nightly_task_s, nightly_tasks = _task_seconds(stack, "socialpulse_nightly", nightly["dag_run_id"])
        tis = stack.get(f"/dags/socialpulse_nightly/dagRuns/{nightly['dag_run_id']}/taskInstances",
                        limit=500)["task_instances"]
        spread: dict[str, int] = {}
        for ti in tis:
            if ti["task_id"].startswith("fetch_") and ti["map_index"] >= 0:
                spread[ti["hostname"] or "?"] = spread.get(ti["hostname"] or "?", 0) + 1
        transform_task_s, transform_tasks = 0.0, 0
        for run in transforms:
            seconds, count = _task_seconds(stack, "socialpulse_transform", run["dag_run_id"])
            transform_task_s, transform_tasks = transform_task_s + seconds, transform_tasks + count
        return {
            "startup_s": stack.startup_s,
            "chain_s": chain_done - unpaused,
            "nightly_s": nightly_done - unpaused,
            "nightly_state": nightly["state"],
            "transform_states": [r["state"] for r in transforms],
            "as_of": default_as_of(datetime.fromisoformat(nightly["data_interval_end"].replace("Z", "+00:00"))),
            "task_s": nightly_task_s + transform_task_s,
            "tasks": nightly_tasks + transform_tasks,
            "fetch_tasks_per_host": spread,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10, help="Facebook Pages and Instagram accounts each")
    parser.add_argument("--lookback", type=int, default=3, help="platform days per run")
    parser.add_argument("--executor", choices=("standalone", "celery"), default="standalone",
                        help="standalone: SQLite + LocalExecutor; celery: PostgreSQL + Redis + 2 Celery workers")
    parser.add_argument("--shard-size", type=int, default=50, help="SOCIALPULSE_FETCH_SHARD_SIZE")
    parser.add_argument("--usage-limits", action="store_true",
                        help="the sandbox's default usage limits (the client paces itself) instead of headroom")
    parser.add_argument("--no-preload", action="store_true",
                        help="Celery workers without the task-module preload (Airflow's own Celery settings)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-airflow-"))
    registry = work / "accounts.yml"
    with registry.open("w", encoding="utf-8") as fh:
        write_registry(fh, args.accounts, args.accounts, 0)
    as_of = default_as_of(latest_interval_end())
    with sandbox(args.accounts, 0, 0.0, headroom=not args.usage_limits, real_clock=True) as host:
        sandbox_url = host["url"]
        env = {"SOCIALPULSE_ACCOUNTS": str(registry), "SOCIALPULSE_GRAPH_URL": f"{sandbox_url}/graph",
               "SOCIALPULSE_META_TOKEN": TOKEN, "SOCIALPULSE_LOOKBACK_DAYS": str(args.lookback),
               "GX_ANALYTICS_ENABLED": "false", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
               "SOCIALPULSE_FETCH_SHARD_SIZE": str(args.shard_size)}
        cli_s, cli_rc = _cli_run(work / "cli", {**os.environ, **env}, as_of)
        airflow_env = {**env, **({"AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": AIRFLOW_CELERY_CONFIG}
                                 if args.no_preload else {})}
        airflow = _airflow_run(work / "airflow", airflow_env, args.executor)
    if airflow["as_of"] != as_of:
        print(f"warning: the scheduled run read {airflow['as_of']}, the CLI {as_of}")
    figures = [
        figure("cli_run", cli_s, "s", exit_code=cli_rc),
        figure("airflow_chain", airflow["chain_s"], "s", nightly_state=airflow["nightly_state"],
               transform_states=airflow["transform_states"]),
        figure("airflow_nightly_dag", airflow["nightly_s"], "s"),
        figure("airflow_overhead", airflow["chain_s"] - cli_s, "s"),
        figure("airflow_overhead_ratio", airflow["chain_s"] / cli_s if cli_s else 0.0, "x"),
        figure("airflow_task_time", airflow["task_s"], "s", tasks=airflow["tasks"],
               fetch_tasks_per_host=airflow["fetch_tasks_per_host"]),
        figure("airflow_startup", airflow["startup_s"], "s"),
    ]
    name = "bench_airflow" if args.executor == "standalone" else f"bench_airflow_{args.executor}"
    write_results(name, figures, {"accounts_per_platform": args.accounts, "lookback_days": args.lookback,
                                  "executor": args.executor, "shard_size": args.shard_size,
                                  "usage_limits": args.usage_limits, "preload": not args.no_preload,
                                  "as_of": as_of.isoformat(), "work_dir": str(work)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
