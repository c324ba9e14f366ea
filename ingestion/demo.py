"""`make demo`: the nightly pipeline through Airflow against the sandbox, on a fresh machine.

Steps: initialise Airflow's metadata DB (SQLite) and the writer pool, start the sandbox on a free
loopback port, run the ingest DAG and then the transform DAG with `airflow dags test`, stop the
sandbox and print where everything is.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

from ingestion import devenv
from ingestion.pipeline import default_as_of
from ingestion.settings import load_settings

# The demo reads five weeks so that 7- and 28-day figures are populated on the first run.
DEMO_LOOKBACK_DAYS = 35
# Not a secret: the sandbox accepts any token that does not start with "expired"/"revoked".
DEMO_TOKEN = "sandbox-demo-token"


def main() -> int:
    """Run the demo; returns a process exit code."""
    started = time.monotonic()
    settings = load_settings()
    home = settings.home_abs
    env = devenv.airflow_env(home, {"SOCIALPULSE_LOOKBACK_DAYS": str(DEMO_LOOKBACK_DAYS),
                                    "SOCIALPULSE_META_TOKEN": DEMO_TOKEN})
    print(f"[demo] Airflow home {env['AIRFLOW_HOME']} (SQLite), data folder {home}")
    devenv.init_airflow(env)
    as_of = default_as_of()
    with devenv.sandbox_process("--accounts", "10") as url:
        env["SOCIALPULSE_GRAPH_URL"] = f"{url}/graph"
        print(f"[demo] sandbox at {url}; nightly run for platform day {as_of} (lookback {DEMO_LOOKBACK_DAYS})")
        devenv.airflow(env, "dags", "test", "socialpulse_nightly", "-c", json.dumps({"as_of": as_of.isoformat()}))
    devenv.airflow(env, "dags", "test", "socialpulse_transform")
    _summary(settings.warehouse, settings.bi_dir, time.monotonic() - started)
    return 0


def _summary(warehouse: Path, bi_dir: Path, elapsed: float) -> None:
    con = duckdb.connect(str(bi_dir / "socialpulse.duckdb"), read_only=True)
    try:
        marts = con.execute(
            "select table_name, estimated_size from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()
        accounts = con.execute(
            "select platform, count(distinct account_id), min(metric_date), max(metric_date) "
            "from marts.fct_follower_growth_daily group by 1 order by 1"
        ).fetchall()
    finally:
        con.close()
    print("\n=== socialpulse demo ===")
    for platform, n, first, last in accounts:
        print(f"{platform:<10} {n} accounts, platform days {first} .. {last}")
    for name, rows in marts:
        print(f"mart marts.{name}: {rows} rows")
    print(f"warehouse : {warehouse}")
    print(f"BI copy   : {bi_dir / 'socialpulse.duckdb'}")
    print(f"Parquet   : {bi_dir / 'parquet'}")
    print(f"wall time : {elapsed:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
