"""One pipeline phase in its own process, timed, as an Airflow task would run it.

    .venv/bin/python -m bench.phases PHASE --work DIR --run-id ID --as-of D [--since D]

PHASE is one of plan-nightly, plan-backfill, fetch, load, dbt, mart-gate, publish, report. The
settings come from the SOCIALPULSE_* environment (set by bench.run_all). Plans travel between
processes in `DIR/plans-<run id>.json`. The phase calls the same functions as `socialpulse run`
(ingestion.pipeline.chain) and prints one JSON line last: the phase's wall time (imports excluded, they
are reported apart as `import_s`), its counters, and the peak RSS of this process and of its
children (dbt runs in the dbt phase's own process, as in a worker's task: ingestion.transform.runner).

Imports: the process first imports what an Airflow worker preloads before it forks a task process
(ingestion.pipeline.preload: the pipeline, pandas, DuckDB, Great Expectations, dbt; for the dbt
phase also the dbt project's parse and macro templates), inside `import_s`, as the Celery workers do
once per worker (dags/dag_support/celery_config.py) and `socialpulse run` does once per run (its
first dbt invocation parses). Until issue 21 the gates' lazy GX import (~4 s a process) counted in the load
and mart-gate phases' wall.

Instrumentation only wraps functions to time them (parse, gate, commit, usage pacing); behaviour
is unchanged.
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

T0 = time.perf_counter()


def _rss_mib(who: int) -> float:
    """Peak RSS. For this process VmHWM (ru_maxrss would include the parent's peak: on Linux an exec
    after vfork keeps the old address space's high-water mark); for children, ru_maxrss."""
    if who == resource.RUSAGE_SELF:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def _cpu_s(who: int) -> float:
    usage = resource.getrusage(who)
    return round(usage.ru_utime + usage.ru_stime, 2)


class Timers:
    """Accumulated seconds and calls of wrapped functions."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, owner: Any, name: str, label: str | None = None) -> None:
        original = getattr(owner, name)
        key = label or name

        @functools.wraps(original)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - started
                self.calls[key] = self.calls.get(key, 0) + 1

        setattr(owner, name, timed)

    def out(self) -> dict[str, Any]:
        return {k: round(v, 3) for k, v in self.seconds.items()} | {f"{k}_calls": v for k, v in self.calls.items()}


def _plans_path(work: Path, run_id: str) -> Path:
    return work / f"plans-{run_id}.json"


def plan(args, settings, timers) -> dict[str, Any]:
    from ingestion.core.registry import load_registry
    from ingestion.extract.plan import plan_nightly
    from ingestion.pipeline import chain as pipeline

    started = time.perf_counter()
    if args.phase == "plan-nightly":
        plans = plan_nightly(load_registry(settings.accounts), args.as_of, settings.lookback_days)
    else:
        plans = pipeline.plan_backfill(settings, args.since, args.as_of)
    _plans_path(args.work, args.run_id).write_text(json.dumps([p.to_dict() for p in plans]), encoding="utf-8")
    by_platform: dict[str, int] = {}
    for p in plans:
        by_platform[p.platform] = by_platform.get(p.platform, 0) + 1
    days = sum((p.until - p.since).days + 1 for p in plans)
    return {"wall_s": time.perf_counter() - started, "accounts": len(plans), "accounts_by_platform": by_platform,
            "account_days": days}


def fetch(args, settings, timers) -> dict[str, Any]:
    from ingestion.extract import fetch as fetch_mod
    from ingestion.extract import http
    from ingestion.extract.plan import AccountPlan
    from ingestion.pipeline import chain as pipeline

    timers.wrap(http.HttpClient, "_pace", "paced_s")  # time spent waiting on usage-header slowdowns
    plans = [AccountPlan.from_dict(d) for d in json.loads(_plans_path(args.work, args.run_id).read_text())]
    ctx = pipeline.fetch_context(settings, args.as_of)
    started = time.perf_counter()
    per_platform: dict[str, dict[str, Any]] = {}
    for index, chunk in enumerate(fetch_mod.chunk_plans(plans, pipeline.CHUNK_SIZE)):
        t = time.perf_counter()
        result = fetch_mod.fetch_chunk(settings, args.run_id, f"chunk-{index:04d}", chunk, ctx)
        agg = per_platform.setdefault(result.platform, {"accounts": 0, "failed": 0, "round_trips": 0,
                                                        "sub_requests": 0, "responses": 0, "retries": 0,
                                                        "wall_s": 0.0, "chunks": 0})
        agg["accounts"] += len(chunk)
        agg["failed"] += result.accounts_failed
        agg["round_trips"] += result.round_trips
        agg["sub_requests"] += result.sub_requests
        agg["responses"] += result.responses
        agg["retries"] += result.retries
        agg["wall_s"] += time.perf_counter() - t
        agg["chunks"] += 1
    wall = time.perf_counter() - started
    total = {k: sum(p[k] for p in per_platform.values())
             for k in ("accounts", "failed", "round_trips", "sub_requests", "responses", "retries")}
    from ingestion.extract import landing

    landed = sum(f.stat().st_size for f in landing.run_dir(settings.landing_dir, args.run_id).rglob("*.jsonl"))
    return {"wall_s": wall, **total, "per_platform": per_platform, "landed_mib": round(landed / 2**20, 1),
            "concurrency": settings.fetch_concurrency}


def load(args, settings, timers) -> dict[str, Any]:
    from ingestion.core.registry import load_registry
    from ingestion.extract import landing
    from ingestion.gates import load_gate
    from ingestion.load import loader as load_mod

    timers.wrap(load_mod, "parse_records", "parse_s")
    timers.wrap(load_mod, "observations_frame", "frame_s")
    timers.wrap(load_gate, "gate_batch", "gate_s")
    timers.wrap(load_mod, "_commit", "commit_s")
    timers.wrap(landing, "read_statuses", "read_statuses_s")
    registry = load_registry(settings.accounts)
    started = time.perf_counter()
    results = [load_mod.load_run(settings, registry, args.run_id, p)
               for p in landing.platforms_landed(settings.landing_dir, args.run_id)]
    wall = time.perf_counter() - started
    return {"wall_s": wall, "observations": sum(r.observations for r in results),
            "responses": sum(r.responses for r in results),
            "statuses": {r.platform: r.status for r in results},
            "accounts_failed": sum(len(r.accounts_failed) for r in results)}


def dbt(args, settings, timers) -> dict[str, Any]:
    from ingestion.transform import runner as transform

    lines: list[str] = []
    started = time.perf_counter()
    result = transform.build(settings, log=lines.append)
    wall = time.perf_counter() - started
    model_s = sum(n["execution_time"] or 0.0 for n in result.nodes if n["unique_id"].startswith("model."))
    test_s = sum(n["execution_time"] or 0.0 for n in result.nodes if not n["unique_id"].startswith("model."))
    slowest = sorted(((n["execution_time"] or 0.0, n["unique_id"]) for n in result.nodes), reverse=True)[:5]
    return {"wall_s": wall, "dbt_elapsed_s": result.elapsed_s, "models": len(result.models),
            "nodes": len(result.nodes), "model_exec_s": round(model_s, 3), "test_exec_s": round(test_s, 3),
            "slowest_nodes": [{"node": u, "s": round(s, 2)} for s, u in slowest]}


def mart_gate(args, settings, timers) -> dict[str, Any]:
    from ingestion.gates import mart_gate as gate

    started = time.perf_counter()
    result = gate.run(settings, args.run_id, as_of=args.as_of)
    return {"wall_s": time.perf_counter() - started, "rows": result.rows, "success": result.success,
            "findings": result.findings, "gx_import_s": round(result.gx_import_seconds or 0.0, 3)}


def publish(args, settings, timers) -> dict[str, Any]:
    from ingestion.publish import bi_copy as pub

    started = time.perf_counter()
    result = pub.publish(settings, run_id=args.run_id)
    wall = time.perf_counter() - started
    parquet = sum(p.stat().st_size for p in Path(result.parquet_version_dir).glob("*.parquet"))
    return {"wall_s": wall, "tables": len(result.tables), "rows": sum(result.tables.values()),
            "bi_bytes": Path(result.path).stat().st_size, "parquet_bytes": parquet,
            "bi_path": result.path, "parquet_dir": result.parquet_version_dir}


def report(args, settings, timers) -> dict[str, Any]:
    from ingestion.publish import report as rep

    started = time.perf_counter()
    page = rep.render(settings)
    return {"wall_s": time.perf_counter() - started, "bytes": page.stat().st_size}


PHASES = {"plan-nightly": plan, "plan-backfill": plan, "fetch": fetch, "load": load, "dbt": dbt,
          "mart-gate": mart_gate, "publish": publish, "report": report}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=sorted(PHASES))
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--since", type=date.fromisoformat)
    args = parser.parse_args(argv)

    from ingestion.core.settings import load_settings
    from ingestion.pipeline.preload import preload

    # A worker parses the dbt project once at start (ingestion.pipeline.preload); only the dbt
    # phase's process needs that parse, the others would pay it in import_s for nothing.
    preload(parse_dbt_project=args.phase == "dbt")
    settings = load_settings()
    timers = Timers()
    import_s = time.perf_counter() - T0
    import_cpu_s = _cpu_s(resource.RUSAGE_SELF)
    out = PHASES[args.phase](args, settings, timers)
    out.update(timers.out())
    out.update({"phase": args.phase, "import_s": round(import_s, 3), "process_s": round(time.perf_counter() - T0, 3),
                "cpu_s": _cpu_s(resource.RUSAGE_SELF),
                "work_cpu_s": round(_cpu_s(resource.RUSAGE_SELF) - import_cpu_s, 2),
                "children_cpu_s": _cpu_s(resource.RUSAGE_CHILDREN),
                "peak_rss_mib": _rss_mib(resource.RUSAGE_SELF),
                "children_peak_rss_mib": _rss_mib(resource.RUSAGE_CHILDREN)})
    out["wall_s"] = round(out["wall_s"], 3)
    sys.stdout.flush()
    print("BENCH-RESULT " + json.dumps(out, default=str), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
