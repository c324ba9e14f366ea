"""Pacing: the same small backfill against the sandbox's default usage limits and with headroom.

The fetch engine slows every worker of a client down (up to 5 s) whenever a response's usage
headers show any counter above 75 % (ingestion.http.SLOWDOWN_FROM_PERCENT). The sandbox reports
usage against nominal limits (200 calls per Page/IG account per hour, 10,000 per app per hour)
unless a budget is configured. A 90-day Instagram backfill makes ~190 calls per account, so with
the defaults the counters pass 75 % and the engine waits; with headroom it never does. The
standard backfill/nightly figures use headroom (bench/README.md explains why); this section shows
what the pacing costs.

    .venv/bin/python -m bench.pacing [--accounts 5] [--days 90]
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import harness as H
from bench.common import figure, write_results
from bench.registry import write_registry


def run(work: Path, latency_ms: float = 50.0, accounts: int = 5, days: int = 90) -> list[dict[str, Any]]:
    """Figures: fetch wall and time spent paced, default limits vs headroom."""
    work.mkdir(parents=True, exist_ok=True)
    registry = work / "accounts.yml"
    with registry.open("w", encoding="utf-8") as fh:
        write_registry(fh, 0, accounts, 0)
    until = H.AS_OF - timedelta(days=1)
    since = until - timedelta(days=days - 1)
    out: dict[str, dict[str, Any]] = {}
    for mode, headroom in (("default_limits", False), ("headroom", True)):
        sub = work / mode
        sub.mkdir()
        with H.sandbox(accounts, 0, latency_ms, headroom=headroom) as sb:
            env = H.pipeline_env(sub / "home", registry, sb["url"])
            H.run_phase("plan-backfill", env, sub, "pacing", until, since=since)
            out[mode] = H.run_phase("fetch", env, sub, "pacing", until, sandbox_info=sb)
    d, h = out["default_limits"], out["headroom"]
    la = {"load_avg": [d["load_avg_before"][0], h["load_avg_after"][0]]}
    return [
        figure("pacing.fetch_wall.default_limits", d["wall_s"], "s", round_trips=d["round_trips"],
               sub_requests=d["sub_requests"], paced_s_summed_over_workers=d.get("paced_s", 0.0), **la),
        figure("pacing.fetch_wall.headroom", h["wall_s"], "s", round_trips=h["round_trips"],
               sub_requests=h["sub_requests"], paced_s_summed_over_workers=h.get("paced_s", 0.0)),
        figure("pacing.slowdown_factor", d["wall_s"] / h["wall_s"], "x",
               note=f"{accounts} Instagram accounts x {days} days, default sandbox usage limits / headroom"),
    ]


def main(argv: list[str] | None = None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    import shutil

    work = Path(tempfile.mkdtemp(prefix="bench-pacing-"))
    try:
        figs = run(work, args.latency_ms, args.accounts, args.days)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_results("pacing", figs, {"accounts": args.accounts, "days": args.days, "latency_ms": args.latency_ms})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
