"""`make bench`: the standard benchmark set, JSON results and one summary table.

    .venv/bin/python -m bench.run_all                    # `make bench`: everything below, standard then scale
    .venv/bin/python -m bench.run_all --only standard    # `make bench-quick`: the demo-size set (~7-10 min)
    .venv/bin/python -m bench.run_all --only scale       # `make bench-scale`: 5,000 accounts
    .venv/bin/python -m bench.run_all --only pacing      # the usage-pacing figures alone
    .venv/bin/python -m bench.run_all --only summary     # re-print the table from bench/results/*.json

Sections (see bench/README.md for what each figure means):
* backfill + nightly: one sandbox process (demo registry 80 FB / 80 IG / 10 YT, 50 ms per
  response); two years loaded with the backfill path, then transformed and published once; then a
  nightly on top, every phase in its own process (as Airflow runs them) -> results/backfill.json,
  results/nightly.json;
* peer: the same nightly plan fetched with dlt's REST API source into DuckDB, against the same
  sandbox (bench/.venv-dlt, created on first use) -> results/peer.json;
* limits: the best figure this machine allows per phase, measured on the same rows/bytes ->
  results/limits.json;
* pacing: a small backfill against the sandbox's default usage limits, to show the client's
  usage-based slowdown -> results/pacing.json;
* scale: 5,000 accounts -> results/scale.json.
Timings are never pass/fail; the machine is shared, so every figure carries the load average.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import harness as H
from bench.common import figure, write_results
from bench.registry import registry_file

DEMO = {"facebook": 80, "instagram": 80, "youtube": 10}
SCALE = {"facebook": 2353, "instagram": 2353, "youtube": 294}  # 5,000 accounts, the demo's mix
NIGHTLY_PHASES = ("plan-nightly", "fetch", "load", "dbt", "mart-gate", "publish", "report")
PHASE_LABEL = {"plan-nightly": "plan", "plan-backfill": "plan", "fetch": "fetch", "load": "load + gate",
               "dbt": "dbt build", "mart-gate": "mart gate", "publish": "publish", "report": "report"}


# Steady state (bench/README.md "Steady-state nightly"): the backfill ran weeks ago, and the two
# nights before the timed one ran 2 and 1 days ago. dbt's incremental models re-derive the loads
# committed after their watermark, and its grain tests check the keys loaded within
# `data_test_recent_days` (3) days: in production that is the last three nights, never the backfill.
BACKFILL_AGE_DAYS = 30
UNTIMED_NIGHTS = (("night-2", 2), ("previous-night", 1))


def _la(result: dict[str, Any]) -> dict[str, Any]:
    return {"load_avg": [result["load_avg_before"][0], result["load_avg_after"][0]]}


# ---------------------------------------------------------------------------------------------
# backfill + nightly + peer (one sandbox)
# ---------------------------------------------------------------------------------------------


def demo_section(work: Path, latency_ms: float, with_peer: bool) -> dict[str, Any]:
    registry = registry_file(work, DEMO)
    out: dict[str, Any] = {"backfill": {}, "backfill_transform": {}, "nightly": {}}
    # The backfill ends the day before the first untimed night's window closes; every run fetches at
    # its own sandbox time (H.sandbox_time), so each night's lifetime post/media snapshots carry that
    # night's date, as on the platform. Until issue 21's session 11 all runs shared the timed nightly's
    # clock: the backfill's snapshots of every post (~540,000 observations) were dated like the
    # timed nightly's, which re-derived them all (a first night after a backfill, not steady state).
    first_night = H.AS_OF - timedelta(days=max(age for _, age in UNTIMED_NIGHTS))
    since, until = H.AS_OF - timedelta(days=729), first_night - timedelta(days=1)
    if with_peer:
        from bench import peer

        try:  # before the sandbox starts: pip is not part of any timing
            out["peer_venv"] = peer.ensure_venv()
        except (OSError, subprocess.CalledProcessError) as exc:
            H.log(f"no dlt peer this time: creating bench/.venv-dlt failed ({exc})")
            out["peer_error"], with_peer = str(exc), False
    with H.sandbox(DEMO["facebook"], DEMO["youtube"], latency_ms) as sb:
        env = H.pipeline_env(work / "home", registry, sb["url"])
        H.log("backfill: two years for the demo registry")
        sb["set_now"](H.sandbox_time(until))
        for phase in ("plan-backfill", "fetch", "load"):
            out["backfill"][phase] = H.run_phase(phase, env, work, "backfill", until, since=since, sandbox_info=sb)
        warehouse = work / "home" / "warehouse.duckdb"
        age_loads(warehouse, "backfill/", days=BACKFILL_AGE_DAYS)
        for phase in ("dbt", "mart-gate", "publish"):
            out["backfill_transform"][phase] = H.run_phase(phase, env, work, "backfill", until, sandbox_info=sb)
        H.log("the two nights before (untimed), so that the timed nightly is a steady-state one")
        out["untimed_nights"] = {}
        for night, age in UNTIMED_NIGHTS:
            as_of = H.AS_OF - timedelta(days=age)
            sb["set_now"](H.sandbox_time(as_of))
            for phase in ("plan-nightly", "fetch", "load"):
                H.run_phase(phase, env, work, night, as_of, sandbox_info=sb)
            age_loads(warehouse, f"{night}/", days=age)
            out["untimed_nights"][night] = {"dbt": H.run_phase("dbt", env, work, night, as_of, sandbox_info=sb)}
        H.log("nightly on top of the two years")
        sb["set_now"](H.sandbox_time(H.AS_OF))
        for phase in NIGHTLY_PHASES:
            out["nightly"][phase] = H.run_phase(phase, env, work, "nightly", H.AS_OF, sandbox_info=sb)
        if with_peer:
            from bench import peer

            spec = peer.build_spec(work / "plans-nightly.json", H.AS_OF, sb["url"], work / "dlt_peer.duckdb",
                                   concurrency=int(env.get("SOCIALPULSE_FETCH_CONCURRENCY", 8)))
            try:
                out["peer"] = {"first_round_calls": spec["first_round_calls"],
                               "cold": peer.run_peer(spec, work, "cold"), "warm": peer.run_peer(spec, work, "warm")}
            except RuntimeError as exc:  # the peer failing must not cost the other figures
                H.log(f"dlt peer failed: {exc}")
                out["peer_error"] = str(exc)[-2000:]
    out["sandbox"] = {k: v for k, v in sb.items() if k != "pid"}
    out["home"] = work / "home"
    out["warehouse"] = warehouse_sizes(work / "home" / "warehouse.duckdb")
    return out


def age_loads(warehouse: Path, load_prefix: str, days: int) -> None:
    """Move the commit time of loads `load_prefix*` back by `days`, as if they had run that many nights ago.

    dbt's incremental models pick up the loads committed after their newest `last_loaded_at` minus
    `observation_lookback_hours` (1 h). Without this, a backfill committed minutes before the timed
    nightly would be re-derived by it in full; in production it ran nights earlier. Only
    raw.loads.started_at/committed_at change (the bench's clock, like the sandbox's frozen one).
    """
    import duckdb

    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"update raw.loads set started_at = started_at - interval {int(days)} day, "
                    f"committed_at = committed_at - interval {int(days)} day where load_id like ?",
                    [load_prefix + "%"])
    finally:
        con.close()


def warehouse_sizes(path: Path) -> dict[str, Any]:
    """File size and the bytes of raw.responses' JSON bodies (the largest single item)."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        body = con.execute("select sum(strlen(body::varchar)) from raw.responses").fetchone()[0] or 0
        rows = dict(con.execute("select schema_name || '.' || table_name, estimated_size from duckdb_tables() "
                                "where schema_name in ('raw', 'marts')").fetchall())
    finally:
        con.close()
    return {"file_mib": path.stat().st_size / 2**20, "response_body_json_mib": body / 2**20,
            "rows": {k: v for k, v in rows.items() if v}}


def nightly_figures(res: dict[str, Any], latency_ms: float) -> list[dict[str, Any]]:
    n = res["nightly"]
    figs = []
    for phase in NIGHTLY_PHASES:
        r = n[phase]
        figs.append(figure(f"nightly.{PHASE_LABEL[phase].replace(' + ', '_').replace(' ', '_')}.wall", r["wall_s"],
                           "s", process_s=r["spawn_s"], import_s=r["import_s"], peak_rss_mib=r["peak_rss_mib"],
                           children_peak_rss_mib=r["children_peak_rss_mib"], cpu_s=r.get("cpu_s"),
                           children_cpu_s=r.get("children_cpu_s"), sandbox_cpu_s=r.get("sandbox_cpu_s"), **_la(r)))
    total = sum(n[p]["wall_s"] for p in NIGHTLY_PHASES)
    total_process = sum(n[p]["spawn_s"] for p in NIGHTLY_PHASES)
    f, ld = n["fetch"], n["load"]
    accounts = f["accounts"]
    figs += [
        figure("nightly.total.wall", total, "s", note="sum of the phases' work", process_s=round(total_process, 3)),
        figure("nightly.fetch_plus_load.wall", f["wall_s"] + ld["wall_s"], "s"),
        figure("nightly.round_trips", f["round_trips"], "HTTP requests", by_platform={
            p: v["round_trips"] for p, v in f["per_platform"].items()}),
        figure("nightly.round_trips_per_account", f["round_trips"] / accounts, "HTTP requests/account"),
        figure("nightly.sub_requests_per_account", f["sub_requests"] / accounts, "API calls/account",
               by_platform={p: round(v["sub_requests"] / v["accounts"], 2) for p, v in f["per_platform"].items()}),
        figure("nightly.observations_loaded", ld["observations"], "rows", responses=ld["responses"]),
        figure("nightly.accounts_failed", f["failed"] + ld["accounts_failed"], "accounts"),
        figure("nightly.load.breakdown", ld["wall_s"], "s", parse_s=ld.get("parse_s"), frame_s=ld.get("frame_s"),
               gate_s=ld.get("gate_s"), commit_s=ld.get("commit_s")),
        figure("nightly.dbt.breakdown", n["dbt"]["wall_s"], "s", dbt_elapsed_s=round(n["dbt"]["dbt_elapsed_s"], 2),
               model_exec_s_sum=n["dbt"]["model_exec_s"], test_exec_s_sum=n["dbt"]["test_exec_s"],
               slowest_nodes=n["dbt"]["slowest_nodes"]),
        figure("nightly.mart_gate.gx_import", n["mart-gate"]["gx_import_s"], "s"),
        figure("nightly.peak_rss.max_process", max(max(n[p]["peak_rss_mib"], n[p]["children_peak_rss_mib"])
                                                   for p in NIGHTLY_PHASES), "MiB",
               by_phase={PHASE_LABEL[p]: max(n[p]["peak_rss_mib"], n[p]["children_peak_rss_mib"])
                         for p in NIGHTLY_PHASES}),
        figure("nightly.sandbox.peak_rss", res["sandbox"].get("peak_rss_mib", 0.0), "MiB",
               note="sandbox process, whole invocation"),
        figure("nightly.warehouse_size", res["warehouse"]["file_mib"], "MiB", accounts=accounts,
               response_body_json_mib=round(res["warehouse"]["response_body_json_mib"], 1),
               note="after the 2-year backfill and the nightly", largest_tables=dict(
                   sorted(res["warehouse"]["rows"].items(), key=lambda kv: -kv[1])[:6])),
    ]
    return figs


def backfill_figures(res: dict[str, Any]) -> list[dict[str, Any]]:
    b, t = res["backfill"], res["backfill_transform"]
    f, ld = b["fetch"], b["load"]
    wall = b["plan-backfill"]["wall_s"] + f["wall_s"] + ld["wall_s"]
    return [
        figure("backfill.wall", wall, "s", note="plan + fetch + load (+gate)", **_la(ld)),
        figure("backfill.fetch.wall", f["wall_s"], "s", peak_rss_mib=f["peak_rss_mib"], cpu_s=f.get("cpu_s"),
               sandbox_cpu_s=f.get("sandbox_cpu_s"), **_la(f)),
        figure("backfill.load.wall", ld["wall_s"], "s", peak_rss_mib=ld["peak_rss_mib"], cpu_s=ld.get("cpu_s"),
               parse_s=ld.get("parse_s"),
               frame_s=ld.get("frame_s"), gate_s=ld.get("gate_s"), commit_s=ld.get("commit_s"), **_la(ld)),
        figure("backfill.round_trips", f["round_trips"], "HTTP requests",
               by_platform={p: v["round_trips"] for p, v in f["per_platform"].items()}),
        figure("backfill.sub_requests", f["sub_requests"], "API calls",
               by_platform={p: v["sub_requests"] for p, v in f["per_platform"].items()}),
        figure("backfill.observations", ld["observations"], "rows", account_days=b["plan-backfill"]["account_days"]),
        figure("backfill.observations_per_s_into_duckdb", ld["observations"] / ld["wall_s"], "rows/s",
               note="load phase: read landing + parse + gate + commit"),
        figure("backfill.landed", f["landed_mib"], "MiB"),
        figure("backfill.accounts_failed", f["failed"] + ld["accounts_failed"], "accounts"),
        figure("backfill.dbt_full.wall", t["dbt"]["wall_s"], "s",  # dbt runs in the phase's process
               peak_rss_mib=max(t["dbt"]["peak_rss_mib"], t["dbt"]["children_peak_rss_mib"]), **_la(t["dbt"])),
        figure("backfill.mart_gate.wall", t["mart-gate"]["wall_s"], "s"),
        figure("backfill.publish.wall", t["publish"]["wall_s"], "s"),
    ]


def peer_figures(res: dict[str, Any]) -> list[dict[str, Any]]:
    p, n = res["peer"], res["nightly"]
    cold, warm = p["cold"], p["warm"]
    ours = n["fetch"]["wall_s"] + n["load"]["wall_s"]
    ours_calls = n["fetch"]["round_trips"]
    la = {"load_avg": [warm["load_avg_before"][0], warm["load_avg_after"][0]]}
    return [
        figure("peer.dlt.wall_warm", warm["wall_s"], "s", extract_s=warm["extract_s"], normalize_s=warm["normalize_s"],
               load_s=warm["load_s"], peak_rss_mib=warm["peak_rss_mib"], rows=warm["rows"], **la),
        figure("peer.dlt.wall_cold", cold["wall_s"], "s", extract_s=cold["extract_s"], normalize_s=cold["normalize_s"],
               load_s=cold["load_s"], peak_rss_mib=cold["peak_rss_mib"],
               load_avg=[cold["load_avg_before"][0], cold["load_avg_after"][0]]),
        figure("peer.dlt.http_requests", warm["http_requests"], "HTTP requests"),
        figure("peer.ours.fetch_plus_load", ours, "s", http_requests=ours_calls,
               api_calls=n["fetch"]["sub_requests"]),
        figure("peer.ratio.wall_ours_over_dlt", ours / warm["wall_s"], "x", note="ours fetch+load / dlt warm run"),
        figure("peer.ratio.process_wall_ours_over_dlt",
               (n["fetch"]["spawn_s"] + n["load"]["spawn_s"]) / warm["process_s"], "x",
               note="whole processes incl. interpreter start and imports (ours: 2 processes, dlt: 1)"),
        figure("peer.ratio.cpu_ours_over_dlt", (n["fetch"]["cpu_s"] + n["load"]["cpu_s"]) / warm["cpu_s"], "x",
               note="client CPU seconds (user+system, incl. dlt's normalize workers)"),
        figure("peer.ratio.fetch_ours_over_dlt_extract", n["fetch"]["wall_s"] / warm["extract_s"], "x"),
        figure("peer.ratio.http_requests_ours_over_dlt", ours_calls / warm["http_requests"], "x"),
        figure("peer.ratio.peak_rss_ours_over_dlt",
               max(n["fetch"]["peak_rss_mib"], n["load"]["peak_rss_mib"]) / warm["peak_rss_mib"], "x",
               note="max of our fetch and load processes / dlt process"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("standard", "scale", "pacing", "summary", "all"), default="all")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (warehouses, landing, logs)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if args.only == "pacing":
        from bench import pacing

        work = Path(tempfile.mkdtemp(prefix="socialpulse-bench-"))
        try:
            write_results("pacing", pacing.run(work / "pacing", args.latency_ms),
                          {"latency_ms": args.latency_ms, "work": str(work)})
        finally:
            shutil.rmtree(work, ignore_errors=True)
    if args.only in ("standard", "all"):
        from bench import limits, pacing

        work = Path(tempfile.mkdtemp(prefix="socialpulse-bench-"))
        H.log(f"work folder {work}")
        try:
            res = demo_section(work, args.latency_ms, with_peer=not args.no_peer)
            (work / "raw-results.json").write_text(json.dumps(res, default=str, indent=1), encoding="utf-8")
            params = {"registry": DEMO, "latency_ms": args.latency_ms, "as_of": H.AS_OF.isoformat(),
                      "sandbox": "bench.sandbox_host --headroom (own process)", "work": str(work)}
            write_results("backfill", backfill_figures(res), params)
            write_results("nightly", nightly_figures(res, args.latency_ms), params)
            if "peer" in res:
                write_results("peer", peer_figures(res), {**params, "dlt": res["peer"]["warm"]["dlt_version"],
                                                          "venv": res["peer_venv"]})
            elif "peer_error" in res:  # say so rather than leave an older peer.json standing
                write_results("peer", [figure("peer.not_measured", 0, "-", error=res["peer_error"][-500:])], params)
            write_results("limits", limits.figures(res, work, args.latency_ms), params)
            write_results("pacing", pacing.run(work / "pacing", args.latency_ms), params)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    if args.only in ("scale", "all"):
        from bench import scale

        scale.main(latency_ms=args.latency_ms, keep=args.keep)
    from bench import summary

    summary.main()
    H.log(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
