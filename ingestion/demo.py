"""`make demo`: the nightly pipeline through Airflow against the sandbox, on a fresh machine.

Steps: initialise Airflow's metadata DB (SQLite) and the writer pool, start the sandbox on a free
loopback port, run the ingest DAG and then the transform DAG with `airflow dags test`, stop the
sandbox and print where everything is.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
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
    started_at = datetime.now(UTC)
    settings = load_settings()
    home = settings.home_abs
    env = devenv.airflow_env(home, {"SOCIALPULSE_LOOKBACK_DAYS": str(DEMO_LOOKBACK_DAYS),
                                    "SOCIALPULSE_META_TOKEN": DEMO_TOKEN})
    log_file = home / "demo.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text("", encoding="utf-8")
    print(f"[demo] Airflow home {env['AIRFLOW_HOME']} (SQLite); Airflow's output goes to {log_file}")
    devenv.init_airflow(env)
    as_of = default_as_of()
    with devenv.sandbox_process("--accounts", "10") as url:
        env["SOCIALPULSE_GRAPH_URL"] = f"{url}/graph"
        print(f"[demo] sandbox at {url}")
        print(f"[demo] airflow dags test socialpulse_nightly: platform days up to {as_of} "
              f"(lookback {DEMO_LOOKBACK_DAYS} days) ...")
        devenv.airflow(env, "dags", "test", "socialpulse_nightly", "-c", json.dumps({"as_of": as_of.isoformat()}),
                       log_file=log_file)
    _require_fresh_loads(settings.warehouse, started_at)
    print("[demo] airflow dags test socialpulse_transform: dbt build, publish ...")
    devenv.airflow(env, "dags", "test", "socialpulse_transform", log_file=log_file)
    _summary(settings.warehouse, settings.bi_dir, time.monotonic() - started)
    return 0


def _require_fresh_loads(warehouse: Path, since: datetime) -> None:
    """`airflow dags test` can end without a failing exit code; check the loads really committed."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        committed = con.execute(
            "select count(*) from raw.loads where status = 'committed' and committed_at >= ?", [since]
        ).fetchone()[0]
    finally:
        con.close()
    if committed == 0:
        raise SystemExit("[demo] the nightly DAG committed no load; see the demo log")


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
