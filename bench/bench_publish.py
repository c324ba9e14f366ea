"""Publish and report figures (issue 8): publishing the marts for BI at demo-registry size and larger,
the nightly report's render time, and a reader process's errors during consecutive publishes.

Builds a hand-made warehouse with the marts' columns (tests/bi/warehouse_factory.py) so the figures
do not depend on the fetch engine. Prints JSON and a table; never a pass/fail test.

    .venv/bin/python -m bench.bench_publish [--accounts 170] [--days 730] [--publishes 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import figure, peak_rss_mib, write_results

REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=170, help="accounts (demo registry: 80 FB + 80 IG + 10 YT)")
    parser.add_argument("--days", type=int, default=730, help="days of history per account")
    parser.add_argument("--publishes", type=int, default=20, help="consecutive publishes under a reader")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    os.environ["SOCIALPULSE_HOME"] = str(home)
    sys.path.insert(0, str(REPO))
    from ingestion.core.settings import load_settings
    from ingestion.publish import bi_copy as publish
    from ingestion.publish import report
    from tests.bi.warehouse_factory import add_rows, build_warehouse

    settings = load_settings()
    start = time.perf_counter()
    build_warehouse(settings.warehouse, accounts=args.accounts, days=args.days)
    build_s = time.perf_counter() - start

    first = publish.publish(settings)
    rows = sum(first.tables.values())
    bi_mib = Path(first.path).stat().st_size / 2**20
    parquet_mib = sum(p.stat().st_size for p in Path(first.parquet_version_dir).glob("*.parquet")) / 2**20

    start = time.perf_counter()
    page = report.render(settings, lang="sv")
    render_s = time.perf_counter() - start

    stop = home / "stop"
    reader = subprocess.Popen(
        [sys.executable, str(REPO / "tests/bi/reader_probe.py"), str(settings.bi_dir), str(stop), "900"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    timings = []
    try:
        time.sleep(0.3)
        for i in range(args.publishes):
            add_rows(settings.warehouse, "fct_follower_growth_daily", 1 + i)
            t = time.perf_counter()
            publish.publish(settings)
            timings.append(time.perf_counter() - t)
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=300)
    summary = json.loads(out.strip().splitlines()[-1]) if out.strip() else {"error_count": -1, "reads": 0,
                                                                            "errors": [err[-500:]]}
    figures = [
        figure("marts_rows_published", rows, "rows", tables=len(first.tables)),
        figure("publish_s_first", first.elapsed_s, "s"),
        figure("publish_s_median_under_reader", statistics.median(timings), "s"),
        figure("publish_s_max_under_reader", max(timings), "s"),
        figure("bi_duckdb_size", bi_mib, "MiB"),
        figure("parquet_size", parquet_mib, "MiB"),
        figure("report_render_s", render_s, "s", size_kib=round(page.stat().st_size / 1024, 1)),
        figure("reader_reads", summary["reads"], "reads"),
        figure("reader_snapshots_seen", len(summary.get("snapshots_duckdb", [])), "publishes"),
        figure("reader_errors", summary["error_count"], "errors", first_errors=summary.get("errors", [])[:3]),
        figure("warehouse_build_s", build_s, "s"),
        figure("peak_rss", peak_rss_mib(), "MiB"),
    ]
    write_results("bench_publish", figures, {"accounts": args.accounts, "days": args.days,
                                             "publishes": args.publishes})
    return 0


if __name__ == "__main__":
    sys.exit(main())
