"""Ingestion figures (issue 4): the nightly run and a two-year backfill of the demo registry.

Runs the real fetch engine and loader against the sandbox over loopback HTTP with added latency
(default 50 ms per response, like a distant API), into a fresh DuckDB file. Prints JSON and a table;
never a pass/fail test.

    .venv/bin/python -m bench.bench_ingest [--latency-ms 50] [--skip-backfill]
"""

from __future__ import annotations

import os
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.common import figure, parse_options, peak_rss_mib, write_results
from bench.registry import write_registry

AS_OF = date(2026, 11, 19)


def _settings(home: Path, registry: Path, graph_url: str, sandbox):
    os.environ.update({
        "SOCIALPULSE_HOME": str(home), "SOCIALPULSE_ACCOUNTS": str(registry), "SOCIALPULSE_GRAPH_URL": graph_url,
        "SOCIALPULSE_META_TOKEN": "bench-token", "SOCIALPULSE_YOUTUBE_TOKEN": "bench-token",
        "SOCIALPULSE_YOUTUBE_DATA_URL": getattr(sandbox, "youtube_data_url", f"{sandbox.base_url}/youtube/v3"),
        "SOCIALPULSE_YOUTUBE_ANALYTICS_URL": getattr(sandbox, "youtube_analytics_url",
                                                     f"{sandbox.base_url}/youtubeanalytics/v2"),
    })
    from ingestion.core.settings import load_settings

    return load_settings()


def _phase(settings, plans, run_id, as_of):
    """Fetch all chunks, then load: returns timings and counters."""
    from ingestion.core.registry import load_registry
    from ingestion.extract import fetch
    from ingestion.load import loader as load
    from ingestion.pipeline import chain as pipeline

    ctx = pipeline.fetch_context(settings, as_of)
    started = time.perf_counter()
    results = [fetch.fetch_chunk(settings, run_id, f"chunk-{i:04d}", chunk, ctx)
               for i, chunk in enumerate(fetch.chunk_plans(plans, pipeline.CHUNK_SIZE))]
    fetched = time.perf_counter()
    registry = load_registry(settings.accounts)
    loads = [load.load_run(settings, registry, run_id, p) for p in sorted({p.platform for p in plans})]
    loaded = time.perf_counter()
    return {
        "fetch_s": fetched - started, "load_s": loaded - fetched,
        "round_trips": sum(r.round_trips for r in results), "sub_requests": sum(r.sub_requests for r in results),
        "accounts": len(plans), "failed": sum(r.accounts_failed for r in results),
        "observations": sum(x.observations for x in loads), "statuses": [x.status for x in loads],
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write bench/results/ingest.json."""
    args = parse_options(__doc__, argv, latency_ms=50.0, facebook=80, instagram=80, youtube=10, skip_backfill=False)

    from datetime import UTC, datetime

    from ingestion.core.registry import load_registry
    from ingestion.extract.plan import plan_nightly, plan_window
    from sandbox.server import SandboxConfig, SandboxServer

    work = Path(tempfile.mkdtemp(prefix="socialpulse-bench-"))
    registry_path = work / "accounts.yml"
    with registry_path.open("w", encoding="utf-8") as fh:
        write_registry(fh, args.facebook, args.instagram, args.youtube)
    config = SandboxConfig(accounts=max(args.facebook, args.instagram), seed=42, latency_ms=args.latency_ms,
                           now=datetime(2026, 11, 20, 17, 0, tzinfo=UTC))
    if hasattr(config, "youtube_channels"):
        config.youtube_channels = args.youtube
    figures, params = [], {"latency_ms": args.latency_ms, "facebook": args.facebook, "instagram": args.instagram,
                           "youtube": args.youtube, "as_of": AS_OF.isoformat()}
    with SandboxServer(config).start() as sandbox:
        settings = _settings(work / "nightly", registry_path, sandbox.graph_url, sandbox)
        registry = load_registry(registry_path)
        plans = plan_nightly(registry, AS_OF, settings.lookback_days)
        nightly = _phase(settings, plans, "bench-nightly", AS_OF)
        n = nightly["accounts"]
        figures += [
            figure("nightly.fetch_wall", nightly["fetch_s"], "s"),
            figure("nightly.load_wall", nightly["load_s"], "s", note="parse + GX gate + commit"),
            figure("nightly.fetch_plus_load", nightly["fetch_s"] + nightly["load_s"], "s", target="< 30"),
            figure("nightly.round_trips_per_account", nightly["round_trips"] / n, "round trips", target="<= 3"),
            figure("nightly.sub_requests_per_account", nightly["sub_requests"] / n, "calls"),
            figure("nightly.observations", nightly["observations"], "rows"),
            figure("nightly.accounts_failed", nightly["failed"], "accounts"),
        ]
        if not args.skip_backfill:
            settings = _settings(work / "backfill", registry_path, sandbox.graph_url, sandbox)
            plans = plan_window(registry, AS_OF - timedelta(days=729), AS_OF)
            backfill = _phase(settings, plans, "bench-backfill", AS_OF)
            wall = backfill["fetch_s"] + backfill["load_s"]
            figures += [
                figure("backfill.wall", wall, "s", target="< 180"),
                figure("backfill.fetch_wall", backfill["fetch_s"], "s"),
                figure("backfill.load_wall", backfill["load_s"], "s"),
                figure("backfill.round_trips", backfill["round_trips"], "round trips"),
                figure("backfill.sub_requests", backfill["sub_requests"], "calls"),
                figure("backfill.observations", backfill["observations"], "rows"),
                figure("backfill.observations_per_s_into_duckdb", backfill["observations"] / backfill["load_s"],
                       "rows/s", note="load phase: parse + gate + commit"),
                figure("backfill.accounts_failed", backfill["failed"], "accounts"),
            ]
    figures.append(figure("peak_rss", peak_rss_mib(), "MiB", note="benchmark process incl. in-process sandbox"))
    write_results("ingest", figures, params)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
