"""GX overhead of the gates at nightly size (not a test: prints JSON figures).

Load gate: the nightly window of the demo registry (80 Pages, 80 Instagram accounts, 10 YouTube
channels, 3 lookback days) through the real sandbox -> fetch -> landing -> loader path, in one
fresh process, so the first gate pays the GX import. Mart gate: a synthetic
`marts.fct_follower_growth_daily` of 170 accounts x 2 years.

    .venv/bin/python -m tests.quality.measure_gate [--lookback 3] [--skip-mart]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

AS_OF = date(2026, 11, 19)


def _load_gate(work: Path, lookback: int) -> dict:
    from bench.registry import write_registry
    from sandbox.server import SandboxConfig, SandboxServer

    registry = work / "accounts.yml"
    with registry.open("w", encoding="utf-8") as fh:
        write_registry(fh, 80, 80, 10)
    config = SandboxConfig(accounts=80, seed=42, latency_ms=0, now=datetime(2026, 11, 20, 17, 0, tzinfo=UTC))
    with SandboxServer(config) as sandbox:
        os.environ.update({
            "SOCIALPULSE_HOME": str(work / "data"), "SOCIALPULSE_ACCOUNTS": str(registry),
            "SOCIALPULSE_GRAPH_URL": sandbox.graph_url, "SOCIALPULSE_META_TOKEN": "sandbox-test-token-0123456789",
            "SOCIALPULSE_YOUTUBE_TOKEN": "sandbox-test-token-0123456789",
            "SOCIALPULSE_YOUTUBE_DATA_URL": f"{sandbox.base_url}/youtube/v3",
            "SOCIALPULSE_YOUTUBE_ANALYTICS_URL": f"{sandbox.base_url}/youtubeanalytics/v2",
            "SOCIALPULSE_LOOKBACK_DAYS": str(lookback),
        })
        from ingestion.core.settings import load_settings
        from ingestion.pipeline import chain as pipeline

        started = time.perf_counter()
        report = pipeline.run_ingest(load_settings(), AS_OF)
        wall = time.perf_counter() - started
    loads = {
        item["platform"]: {
            "status": item["status"], "rows": (item["gate"] or {}).get("rows"),
            "gx_seconds": (item["gate"] or {}).get("gx_seconds"),
            "gx_import_seconds": (item["gate"] or {}).get("gx_import_seconds"),
        }
        for item in report.loads
    }
    gx = sum(v["gx_seconds"] or 0 for v in loads.values())
    return {"ingest_wall_s": round(wall, 2), "gx_seconds_total": round(gx, 2),
            "gx_share_of_ingest": round(gx / wall, 3) if wall else None, "loads": loads}


def _mart_gate(work: Path) -> dict:
    import numpy as np
    import pandas as pd

    from ingestion.core.settings import Settings
    from ingestion.gates import mart_gate
    from ingestion.load.warehouse import connect

    settings = Settings(home=work / "marts")
    days = pd.date_range(AS_OF - timedelta(days=729), AS_OF, freq="D")
    rng = np.random.default_rng(1)
    frames = []
    for i in range(170):
        platform = ("facebook", "instagram", "youtube")[i % 3]
        gained, lost = rng.poisson(6, len(days)), rng.poisson(2, len(days))
        followers = 1000 + np.cumsum(gained - lost)
        frames.append(pd.DataFrame({
            "platform": platform, "account_id": f"{platform}-{i}", "metric_date": days.date,
            "followers": followers, "followers_gained": gained, "followers_lost": lost,
            "net_followers": gained - lost, "is_estimated": False, "views": rng.poisson(400, len(days)),
            "reach": rng.poisson(300, len(days)), "engagements": rng.poisson(30, len(days)),
            "growth_rate_28d": 0.01,
        }))
    fact = pd.concat(frames, ignore_index=True)
    con = connect(settings.warehouse)
    con.execute("create schema if not exists marts")
    con.register("fact", fact)
    con.execute("create table marts.fct_follower_growth_daily as select * from fact")
    con.execute("insert into raw.accounts select distinct platform, account_id, 'n', 'd', [], null, null, null, "
                "now() from fact")
    con.close()
    result = mart_gate.run(settings, "measure", as_of=AS_OF)
    return {"rows": result.rows, "gx_seconds": round(result.gx_seconds, 2),
            "gx_import_seconds": round(result.gx_import_seconds, 2), "findings": result.findings}


def main() -> None:
    """Print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookback", type=int, default=3)
    parser.add_argument("--skip-mart", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="socialpulse-gate-"))
    out = {"load_gate": _load_gate(work, args.lookback), "load_average": os.getloadavg(), "cpus": os.cpu_count()}
    if not args.skip_mart:
        out["mart_gate"] = _mart_gate(work)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
