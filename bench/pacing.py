"""Pacing: the same small backfill against the sandbox's default usage limits and with headroom.

The fetch engine slows down (up to 5 s per request) when a response's usage headers show a counter
above 75 % (ingestion.extract.http.SLOWDOWN_FROM_PERCENT), in that counter's scope: X-App-Usage slows every
request, an account's X-Business-Use-Case-Usage / X-Page-Usage only that account's requests. The
sandbox reports usage against nominal limits (200 calls per Page/IG account per hour, 10,000 per app
per hour) unless a budget is configured. The standard backfill/nightly figures use headroom
(bench/README.md explains why); this section shows what the pacing costs:

* all accounts hot: a 90-day Instagram backfill makes ~258 calls per account, so every account's
  counters pass 75 % and each of them is paced (`pacing.slowdown_factor`);
* one hot account: the same accounts over 30 days (~100 calls each, below 75 %), one of them
  already at 90 % of its budget from earlier calls. Only that account should be paced: the figure
  is when the *other* accounts' last call completed, against the same plan with headroom
  (`pacing.one_hot_account.others_slowdown_factor`). This fetch runs in the bench process (its
  batch calls are timed per account); the hot account itself is paced either way.

    .venv/bin/python -m bench.pacing [--accounts 5] [--days 90] [--hot-days 30]
"""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import harness as H
from bench.common import figure, parse_options, write_results
from bench.registry import write_registry

# The hot account's calls before the measured fetch: 90 % of the sandbox's nominal 200 per hour.
HOT_CALLS = 180


def _heat(url: str, account: str, calls: int = HOT_CALLS) -> None:
    """Use up most of one account's hourly budget (as an earlier job sharing the app would)."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    with requests.Session() as session, ThreadPoolExecutor(8) as pool:
        def one(_: int) -> None:
            session.get(f"{url}/graph/v25.0/{account}", params={"fields": "followers_count",
                                                                "access_token": H.TOKEN}, timeout=30).raise_for_status()

        list(pool.map(one, range(calls)))


def _fetch_timed(env: dict[str, str], work: Path, run_id: str, as_of) -> dict[str, Any]:
    """The fetch phase in this process, recording when each account's last batch call completed."""
    from ingestion.core.settings import load_settings
    from ingestion.extract import fetch as fetch_mod
    from ingestion.extract.executors import GraphExecutor
    from ingestion.extract.plan import AccountPlan
    from ingestion.pipeline import chain as pipeline

    plans = [AccountPlan.from_dict(d) for d in json.loads((work / f"plans-{run_id}.json").read_text())]
    saved = dict(os.environ)
    os.environ.update(env)
    done: dict[str, float] = {}
    original = GraphExecutor._batch
    started = time.perf_counter()

    def timed(self, token, specs):
        out = original(self, token, specs)
        t = time.perf_counter() - started
        for spec in specs:
            done[spec.account_id] = max(done.get(spec.account_id, 0.0), t)
        return out

    GraphExecutor._batch = timed
    try:
        settings = load_settings()
        load = H.loadavg()[0]
        started = time.perf_counter()
        result = fetch_mod.fetch_chunk(settings, run_id, "chunk-0000", plans, pipeline.fetch_context(settings, as_of))
        wall = time.perf_counter() - started
    finally:
        GraphExecutor._batch = original
        os.environ.clear()
        os.environ.update(saved)
    return {"wall_s": wall, "done": done, "round_trips": result.round_trips, "sub_requests": result.sub_requests,
            "failed": result.accounts_failed, "load_avg": [load, H.loadavg()[0]]}


def run(work: Path, latency_ms: float = 50.0, accounts: int = 5, days: int = 90,
        hot_days: int = 30) -> list[dict[str, Any]]:
    """Figures: fetch wall and time spent paced, default limits vs headroom; and one hot account."""
    from ingestion.core.registry import load_registry

    work.mkdir(parents=True, exist_ok=True)
    registry = work / "accounts.yml"
    with registry.open("w", encoding="utf-8") as fh:
        write_registry(fh, 0, accounts, 0)
    hot = load_registry(registry).for_platform("instagram")[0].id
    until = H.AS_OF - timedelta(days=1)
    out: dict[str, dict[str, Any]] = {}
    scenarios = (("default_limits", False, days, False), ("headroom", True, days, False),
                 ("one_hot", False, hot_days, True), ("one_hot_headroom", True, hot_days, False))
    for mode, headroom, span, heat in scenarios:
        sub = work / mode
        sub.mkdir()
        with H.sandbox(accounts, 0, latency_ms, headroom=headroom) as sb:
            env = H.pipeline_env(sub / "home", registry, sb["url"])
            H.run_phase("plan-backfill", env, sub, "pacing", until, since=until - timedelta(days=span - 1))
            if heat:
                _heat(sb["url"], hot)
            if mode.startswith("one_hot"):
                out[mode] = _fetch_timed(env, sub, "pacing", until)
            else:
                out[mode] = H.run_phase("fetch", env, sub, "pacing", until, sandbox_info=sb)
    d, h = out["default_limits"], out["headroom"]
    oh, ohh = out["one_hot"], out["one_hot_headroom"]
    others = max(v for k, v in oh["done"].items() if k != hot)
    others_h = max(v for k, v in ohh["done"].items() if k != hot)
    la = {"load_avg": [d["load_avg_before"][0], h["load_avg_after"][0]]}
    return [
        figure("pacing.fetch_wall.default_limits", d["wall_s"], "s", round_trips=d["round_trips"],
               sub_requests=d["sub_requests"], paced_s_summed_over_workers=d.get("paced_s", 0.0), **la,
               note="paced_s: time inside HttpClient._pace (app-wide waits); an account's own slowdown is "
                    "waited for by the fetch scheduler instead, which holds only that account's calls"),
        figure("pacing.fetch_wall.headroom", h["wall_s"], "s", round_trips=h["round_trips"],
               sub_requests=h["sub_requests"], paced_s_summed_over_workers=h.get("paced_s", 0.0)),
        figure("pacing.slowdown_factor", d["wall_s"] / h["wall_s"], "x",
               note=f"{accounts} Instagram accounts x {days} days, default sandbox usage limits / headroom"),
        figure("pacing.one_hot_account.others_done", others, "s", round_trips=oh["round_trips"],
               sub_requests=oh["sub_requests"], failed=oh["failed"], load_avg=oh["load_avg"],
               note="when the last call of the accounts that are not hot completed"),
        figure("pacing.one_hot_account.others_done.headroom", others_h, "s", round_trips=ohh["round_trips"],
               sub_requests=ohh["sub_requests"], load_avg=ohh["load_avg"]),
        figure("pacing.one_hot_account.others_slowdown_factor", others / others_h, "x",
               note=f"{accounts} Instagram accounts x {hot_days} days, one of them at 90 % of its usage budget "
                    "before the fetch (default limits) / the same plan with headroom"),
        figure("pacing.one_hot_account.hot_done", oh["done"].get(hot, 0.0), "s",
               note="the hot account itself (paced by design)"),
        figure("pacing.one_hot_account.fetch_wall", oh["wall_s"], "s"),
    ]


def main(argv: list[str] | None = None) -> int:
    import tempfile

    args = parse_options(__doc__, argv, accounts=5, days=90, hot_days=30, latency_ms=50.0)
    import shutil

    work = Path(tempfile.mkdtemp(prefix="bench-pacing-"))
    try:
        figs = run(work, args.latency_ms, args.accounts, args.days, args.hot_days)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write_results("pacing", figs, {"accounts": args.accounts, "days": args.days, "hot_days": args.hot_days,
                                   "latency_ms": args.latency_ms})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
