"""Scale: 5,000 accounts (~30 municipalities), `make bench-scale` (opt-in: ~10-20 min on 2 cores, ~12 GiB RAM).

Two parts, because fetching two years for 5,000 accounts over HTTP (~5.6 M API calls at the
demo's 1,100 calls per account) does not fit any reasonable budget here:

1. **nightly fetch + load over HTTP**: the real engine and loader, every phase in its own process,
   against the sandbox (2,353 FB / 2,353 IG / 294 YouTube, 50 ms per response), into a fresh
   warehouse. Fetch and load do not read history (the loader appends; its only warehouse read is
   the idempotency check), so an empty warehouse gives the same figure as a full one.
2. **dbt with history**: the two-year raw layer is *generated*, not fetched: bench.bench_dbt's
   synthetic writer (SQL straight into DuckDB; the raw contract's metric names, consistent follower
   totals and flows, posts with lifetime snapshots, restated recent days) for 5,000 accounts x 730
   days and x 7 days; then a full `dbt build`, one appended night, and an incremental `dbt build`
   on each. The ratio of the two incremental builds shows whether the nightly transform grows with
   history. Caveat: the generated warehouse has no raw.responses bodies (the demo shows they are
   ~40 % of the file), so its size is a lower bound; an estimate scaled from the demo is given.

    .venv/bin/python -m bench.scale [--skip-http] [--skip-dbt] [--threads 4]
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import bench_dbt
from bench import harness as H
from bench.common import RESULTS, figure, parse_options, write_results

SCALE = {"facebook": 2353, "instagram": 2353, "youtube": 294}
ACCOUNTS = sum(SCALE.values())


def http_nightly(work: Path, latency_ms: float) -> dict[str, Any]:
    from bench.registry import registry_file

    work.mkdir(parents=True, exist_ok=True)
    registry = registry_file(work, SCALE)
    out: dict[str, Any] = {}
    with H.sandbox(SCALE["facebook"], SCALE["youtube"], latency_ms) as sb:
        env = H.pipeline_env(work / "home", registry, sb["url"])
        for phase in ("plan-nightly", "fetch", "load"):
            out[phase] = H.run_phase(phase, env, work, "scale-nightly", H.AS_OF, sandbox_info=sb)
    out["sandbox_peak_rss_mib"] = sb.get("peak_rss_mib")
    warehouse = work / "home" / "warehouse.duckdb"
    out["warehouse_mib"] = warehouse.stat().st_size / 2**20
    from bench.limits import arrow_insert_s

    out["load_limit_s"], _ = arrow_insert_s(warehouse, "scale-nightly/")
    f = out["fetch"]
    out["fetch_limit_s"] = f["round_trips"] * latency_ms / 1000 / f["concurrency"]
    return out


def dbt_history(work: Path, days: int, threads: int) -> dict[str, Any]:
    """bench_dbt.measure in a child process (so its peak RSS is this history's alone)."""
    import subprocess
    import sys

    code = ("import json, resource, sys; from pathlib import Path; from bench import bench_dbt; "
            f"r = bench_dbt.measure({ACCOUNTS}, {days}, {threads}, Path({str(work)!r})); "
            "r['dbt_peak_rss_mib'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024; "
            "r['generator_peak_rss_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
            "print('SCALE-RESULT ' + json.dumps(r))")
    work.mkdir(parents=True, exist_ok=True)
    before = H.loadavg()
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], cwd=H.REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"bench_dbt.measure({ACCOUNTS}, {days}) failed:\n{proc.stdout[-2000:]}\n"
                           f"{proc.stderr[-3000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("SCALE-RESULT ")][-1]
    result = json.loads(line.split(" ", 1)[1])
    result.update(seconds=time.perf_counter() - started, load_avg=[before[0], H.loadavg()[0]])
    H.log(f"dbt with {days} days x {ACCOUNTS} accounts: full {result['full_s']:.0f} s, "
          f"nightly {result['nightly_s']:.0f} s")
    return result


def _demo_bytes_per_account() -> tuple[float, str] | None:
    """Warehouse bytes per account after the demo's two-year backfill + nightly (results/nightly.json)."""
    path = RESULTS / "nightly.json"
    if not path.exists():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    for f in doc["figures"]:
        if f["figure"] == "nightly.warehouse_size":
            return f["value"] * 2**20 / f["accounts"], doc["measured_at"]
    return None


def main(latency_ms: float = 50.0, keep: bool = False, skip_http: bool = False, skip_dbt: bool = False,
         threads: int = 4) -> int:
    work = Path(tempfile.mkdtemp(prefix="socialpulse-bench-scale-"))
    H.log(f"scale work folder {work}")
    figs: list[dict[str, Any]] = []
    try:
        if not skip_http:
            n = http_nightly(work / "http", latency_ms)
            f, ld = n["fetch"], n["load"]
            figs += [
                figure("scale.nightly.fetch_plus_load.wall", f["wall_s"] + ld["wall_s"], "s",
                       load_avg=[f["load_avg_before"][0], ld["load_avg_after"][0]]),
                figure("scale.nightly.plan.wall", n["plan-nightly"]["wall_s"], "s",
                       process_s=n["plan-nightly"]["spawn_s"]),
                figure("scale.nightly.fetch.wall", f["wall_s"], "s", round_trips=f["round_trips"],
                       sub_requests=f["sub_requests"], peak_rss_mib=f["peak_rss_mib"], cpu_s=f.get("cpu_s"),
                       sandbox_cpu_s=f.get("sandbox_cpu_s"), **_la(f)),
                figure("scale.nightly.load.wall", ld["wall_s"], "s", observations=ld["observations"],
                       parse_s=ld.get("parse_s"), frame_s=ld.get("frame_s"), gate_s=ld.get("gate_s"),
                       commit_s=ld.get("commit_s"), peak_rss_mib=ld["peak_rss_mib"], **_la(ld)),
                figure("scale.nightly.round_trips_per_account", f["round_trips"] / f["accounts"], "HTTP requests"),
                figure("scale.limits.fetch", n["fetch_limit_s"], "s", ours_s=f["wall_s"],
                       ratio_ours_over_limit=round(f["wall_s"] / n["fetch_limit_s"], 2),
                       how=f"{f['round_trips']} round trips x {latency_ms:g} ms / {f['concurrency']}"),
                figure("scale.limits.load", n["load_limit_s"], "s", ours_s=ld["wall_s"],
                       ratio_ours_over_limit=round(ld["wall_s"] / n["load_limit_s"], 2),
                       how="DuckDB insert from Arrow of the same rows"),
                figure("scale.nightly.peak_rss.load", ld["peak_rss_mib"], "MiB"),
                figure("scale.nightly.peak_rss.sandbox", n.get("sandbox_peak_rss_mib") or 0.0, "MiB"),
                figure("scale.nightly.one_night_warehouse", n["warehouse_mib"], "MiB",
                       note="fresh warehouse after one 5,000-account nightly load"),
            ]
        if not skip_dbt:
            long = dbt_history(work / "dbt-long", 730, threads)
            short = dbt_history(work / "dbt-short", 7, threads)
            figs += [
                figure("scale.dbt.full_build.2y", long["full_s"], "s", cpu_s=round(long["full_cpu_s"], 1),
                       raw_observations=long["raw_observations"], load_avg=long["load_avg"]),
                figure("scale.dbt.incremental_build.2y", long["nightly_s"], "s", cpu_s=round(long["nightly_cpu_s"], 1),
                       nightly_observations=long["nightly_observations"]),
                figure("scale.dbt.full_build.1w", short["full_s"], "s", cpu_s=round(short["full_cpu_s"], 1),
                       load_avg=short["load_avg"]),
                figure("scale.dbt.incremental_build.1w", short["nightly_s"], "s",
                       cpu_s=round(short["nightly_cpu_s"], 1)),
                figure("scale.dbt.incremental_ratio_2y_over_1w", long["nightly_s"] / short["nightly_s"], "x",
                       cpu_ratio=round(long["nightly_cpu_s"] / short["nightly_cpu_s"], 2),
                       note="first nightly after the full build (its grain tests still re-check every row "
                            "the full build stamped)"),
                figure("scale.dbt.steady_incremental_build.2y", long["steady_nightly_s"], "s",
                       cpu_s=round(long["steady_nightly_cpu_s"], 1), night=bench_dbt.STEADY_NIGHT,
                       slowest_nodes=long["steady_nightly_slowest_nodes"]),
                figure("scale.dbt.steady_incremental_build.1w", short["steady_nightly_s"], "s",
                       cpu_s=round(short["steady_nightly_cpu_s"], 1), night=bench_dbt.STEADY_NIGHT),
                figure("scale.dbt.steady_incremental_ratio_2y_over_1w",
                       long["steady_nightly_s"] / short["steady_nightly_s"], "x",
                       cpu_ratio=round(long["steady_nightly_cpu_s"] / short["steady_nightly_cpu_s"], 2),
                       note=f"night {bench_dbt.STEADY_NIGHT} after the full build: the grain tests check the "
                            "last 3 days' rewrites"),
                figure("scale.warehouse_size.2y_generated", long["warehouse_mib"], "MiB",
                       note="generated raw (no response bodies) + built marts: a lower bound"),
                figure("scale.peak_rss.dbt_2y", long["dbt_peak_rss_mib"], "MiB", note="largest dbt process"),
                figure("scale.peak_rss.dbt_full_build_2y", long["full_peak_rss_mib"], "MiB"),
                figure("scale.peak_rss.dbt_incremental_build_2y", long["nightly_peak_rss_mib"], "MiB",
                       slowest_nodes=long["nightly_slowest_nodes"]),
                figure("scale.peak_rss.dbt_steady_incremental_build_2y", long["steady_nightly_peak_rss_mib"], "MiB"),
                figure("scale.peak_rss.dbt_incremental_build_1w", short["nightly_peak_rss_mib"], "MiB",
                       slowest_nodes=short["nightly_slowest_nodes"]),
                figure("scale.peak_rss.generator_2y", long["generator_peak_rss_mib"], "MiB"),
                figure("scale.history_generation.2y", long["generate_s"], "s"),
            ]
            demo = _demo_bytes_per_account()
            if demo:
                figs.append(figure("scale.warehouse_size.2y_estimated_from_demo", demo[0] * ACCOUNTS / 2**20, "MiB",
                                   note=f"demo backfill+nightly bytes per account x {ACCOUNTS} "
                                        f"(demo measured {demo[1]})"))
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    if skip_http:
        figs = _carried_http_figures() + figs
    write_results("scale", figs, {"accounts": SCALE, "latency_ms": latency_ms, "threads": threads,
                                  "duckdb_memory_limit": os.environ.get("SOCIALPULSE_DUCKDB_MEMORY_LIMIT",
                                                                        "3GiB (profiles.yml default)"),
                                  "history": "HTTP nightly into a fresh warehouse; dbt on generated history "
                                             "(bench.bench_dbt writer)",
                                  "peak_rss_children_mib": round(
                                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)})
    return 0


def _carried_http_figures() -> list[dict[str, Any]]:
    """With --skip-http, the HTTP nightly figures of the previous scale.json, marked as carried over
    (so a dbt-only re-run does not drop them)."""
    path = RESULTS / "scale.json"
    if not path.exists():
        return []
    previous = json.loads(path.read_text(encoding="utf-8"))
    carried = []
    for f in previous.get("figures", []):
        if f["figure"].startswith(("scale.nightly.", "scale.limits.")):
            carried.append({**f, "carried_over_from": f.get("carried_over_from") or previous.get("measured_at")})
    return carried


def _la(r: dict[str, Any]) -> dict[str, Any]:
    return {"load_avg": [r["load_avg_before"][0], r["load_avg_after"][0]]}


if __name__ == "__main__":
    a = parse_options(__doc__, latency_ms=50.0, keep=False, skip_http=False, skip_dbt=False, threads=4)
    raise SystemExit(main(a.latency_ms, a.keep, a.skip_http, a.skip_dbt, a.threads))
