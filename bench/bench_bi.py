"""Superset dashboard load times (issue 19): cold and warm load of every dashboard, all its chart
queries, on the demo registry's size with 2 years of history.

The warehouse is bench_dbt's synthetic one (170 accounts: 45 % Facebook, 45 % Instagram, 10 % YouTube,
730 days ending 2026-11-18, posts, snapshots, demographics), built by the real `dbt build` and
published by the real publisher. Superset is set up and served by bi/superset_bi.py (what `make bi`
runs; .venv-bi is created first if missing), and headless Chromium opens each dashboard until every
chart has rendered (tests/bi/superset_live.py, the browser test's code).

- cold: the first open of each dashboard after Superset started (fresh gunicorn workers, nothing read
  from the published file yet by Superset);
- warm: the median of --warm further opens (Superset keeps no result cache by design, docs/bi.md: every
  open runs every chart query again; warm only means warm processes and OS page cache).

    .venv/bin/python -m bench.bench_bi [--accounts 170] [--days 730] [--warm 3] [--workers 2]

Prints JSON (and writes bench/results/bench_bi.json) and a table; never a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import figure, write_results

REPO = Path(__file__).resolve().parents[1]
DASHBOARDS = ("follower_growth", "trends", "audience", "top_posts", "benchmarks", "data_health")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=170, help="accounts (demo registry: 170)")
    parser.add_argument("--days", type=int, default=730, help="days of history per account")
    parser.add_argument("--warm", type=int, default=3, help="warm opens per dashboard (median reported)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (make bi's default: 2)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from bench.bench_dbt import dbt_build, write_warehouse
    from tests.bi.superset_live import Server, load_dashboard, login, run_setup
    from tests.bi.webdriver import Browser

    home = Path(tempfile.mkdtemp(prefix="bench-bi-"))
    os.environ["SOCIALPULSE_HOME"] = str(home)
    from ingestion.core.settings import load_settings
    from ingestion.publish import bi_copy as publish

    settings = load_settings()
    started = time.perf_counter()
    write_warehouse(settings.warehouse, args.accounts, args.days)
    (home / "dbt").mkdir()
    dbt_build(settings.warehouse, home / "dbt", threads=2)
    published = publish.publish(settings)
    prepare_s = time.perf_counter() - started
    rows = sum(published.tables.values())

    env = {**os.environ, "SOCIALPULSE_HOME": str(home)}
    _stdout, setup_s = run_setup(env)
    password = (home / "superset" / "admin-password").read_text().strip()
    cold: dict[str, float] = {}
    warm: dict[str, list[float]] = {key: [] for key in DASHBOARDS}
    charts: dict[str, int] = {}
    with Server(env, home / "serve.log", workers=args.workers) as server:
        healthy_s = server.wait_healthy()
        with Browser(home / "chromium-profile") as browser:
            login(browser, server.base, password)
            for rounds in range(args.warm + 1):
                for key in DASHBOARDS:
                    t0 = time.perf_counter()
                    shown = load_dashboard(browser, server.base, key.replace("_", "-"))
                    seconds = time.perf_counter() - t0
                    errors = [c["title"] for c in shown if c["error"]]
                    if errors:
                        raise SystemExit(f"{key}: chart errors {errors}")
                    charts[key] = len(shown)
                    if rounds == 0:
                        cold[key] = seconds
                    else:
                        warm[key].append(seconds)

    figures = [
        figure("published copy: rows in the marts", rows, "rows"),
        figure("warehouse generation + dbt build + publish", prepare_s, "s"),
        figure("superset_bi.py setup (metadata DB, admin, import)", setup_s, "s"),
        figure("Superset healthy after start", healthy_s, "s"),
    ]
    for key in DASHBOARDS:
        figures.append(figure(f"{key}: cold load, {charts[key]} charts", cold[key], "s"))
        figures.append(figure(f"{key}: warm load (median of {args.warm})", statistics.median(warm[key]), "s"))
    write_results(
        "bench_bi",
        figures,
        {
            "accounts": args.accounts,
            "days": args.days,
            "warm": args.warm,
            "workers": args.workers,
            "browser": "headless chromium 1600x2400",
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
