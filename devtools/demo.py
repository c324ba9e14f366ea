"""`make demo`: the nightly pipeline through Airflow against the sandbox, on a fresh machine.

Steps: validate the registry, initialise Airflow's metadata DB (SQLite) and pools, start the sandbox
sized to the registry (`sandbox serve --registry`: every account the registry lists, on every
platform it uses), give every token variable the registry needs a sandbox token, run the ingest DAG
and then the transform DAG with `airflow dags test`, stop the sandbox, check that every account
loaded and was published, and print what was built and where.

Nothing is hard-coded about the registry: counts, platforms and token variables come from the file
`SOCIALPULSE_ACCOUNTS` names. Exit codes: 0 every account built and published; 1 the run finished
but some account failed or is missing from the marts (each is named); 2 an invalid registry.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from devtools import devenv
from ingestion.core.registry import Registry, RegistryError, load_registry
from ingestion.core.settings import DEFAULT_TOKEN_ENV, Settings, load_settings
from ingestion.pipeline.chain import default_as_of

# The demo reads five weeks so that 7- and 28-day figures are populated on the first run.
DEMO_LOOKBACK_DAYS = 35
# Not a secret: the sandbox accepts any token that does not start with "expired"/"revoked".
DEMO_TOKEN = "sandbox-demo-token"


def demo_env(registry: Registry, home: Path, sandbox_url: str) -> dict[str, str]:
    """Settings that point every platform of the registry at the sandbox, with a sandbox token in
    every variable the registry's accounts read their token from."""
    platforms = {a.platform for a in registry.accounts}
    env = {
        "SOCIALPULSE_LOOKBACK_DAYS": str(DEMO_LOOKBACK_DAYS),
        "SOCIALPULSE_GRAPH_URL": f"{sandbox_url}/graph",
        "SOCIALPULSE_YOUTUBE_DATA_URL": f"{sandbox_url}/youtube/v3",
        "SOCIALPULSE_YOUTUBE_ANALYTICS_URL": f"{sandbox_url}/youtubeanalytics/v2",
        "SOCIALPULSE_GOOGLE_TOKEN_URL": f"{sandbox_url}/oauth2/token",
        "SOCIALPULSE_SNAPCHAT_URL": f"{sandbox_url}/snapchat/v1",
        # never a developer's own stored YouTube refresh credentials
        "SOCIALPULSE_YOUTUBE_SECRETS": str(home / "demo-youtube-secrets.json"),
    }
    if "snapchat" in platforms:
        env["SOCIALPULSE_SNAPCHAT_ENABLED"] = "true"
    for account in registry.accounts:
        env[account.token_env or DEFAULT_TOKEN_ENV[account.platform]] = DEMO_TOKEN
    return env


def main() -> int:
    """Run the demo; returns a process exit code."""
    started = time.monotonic()
    started_at = datetime.now(UTC)
    settings = load_settings()
    try:
        registry = load_registry(settings.accounts)
    except RegistryError as exc:
        print(f"[demo] invalid registry: {exc}", file=sys.stderr)
        return 2
    home = settings.home_abs
    log_file = home / "demo.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_text("", encoding="utf-8")
    env = devenv.airflow_env(home)
    counts = Counter(a.platform for a in registry.accounts)
    print(f"[demo] registry {settings.accounts}: "
          + ", ".join(f"{n} {p}" for p, n in sorted(counts.items())))
    print(f"[demo] Airflow home {env['AIRFLOW_HOME']} (SQLite); Airflow's output goes to {log_file}")
    devenv.init_airflow(env)
    as_of = default_as_of()
    with devenv.sandbox_process("--registry", str(settings.accounts)) as url:
        env.update(demo_env(registry, home, url))
        print(f"[demo] sandbox at {url}, serving every registry account")
        print(f"[demo] airflow dags test socialpulse_nightly: platform days up to {as_of} "
              f"(lookback {DEMO_LOOKBACK_DAYS} days) ...")
        devenv.airflow(env, "dags", "test", "socialpulse_nightly", "-c", json.dumps({"as_of": as_of.isoformat()}),
                       check=False, log_file=log_file)
    failures = _failed_accounts(settings.warehouse, started_at)
    if _committed_loads(settings.warehouse, started_at) == 0:
        _print_failures(failures)
        print(f"[demo] the nightly DAG committed no load; see {log_file}", file=sys.stderr)
        return 1
    print("[demo] airflow dags test socialpulse_transform: dbt build, mart gate, publish, report ...")
    devenv.airflow(env, "dags", "test", "socialpulse_transform", log_file=log_file)
    missing = _missing_accounts(registry, settings)
    _summary(settings, registry, env, log_file, time.monotonic() - started)
    _print_failures(failures)
    for where, keys in missing.items():
        if keys:
            print(f"[demo] {len(keys)} registry accounts missing from {where}, e.g. {', '.join(sorted(keys)[:5])}",
                  file=sys.stderr)
    if failures or any(missing.values()):
        print(f"[demo] not every account was built; details in {log_file}", file=sys.stderr)
        return 1
    return 0


def _committed_loads(warehouse: Path, since: datetime) -> int:
    """`airflow dags test` can end without a failing exit code; count the loads that really committed."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select count(*) from raw.loads where status = 'committed' and committed_at >= ?", [since]
        ).fetchone()[0]


def _failed_accounts(warehouse: Path, since: datetime) -> list[tuple[str, str, str, str]]:
    """(platform, account, error class, message) of every account whose fetch failed in this demo."""
    if not warehouse.exists():
        return []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select platform, account_id, coalesce(error_class, ''), coalesce(message, '') from raw.account_runs "
            "where finished_at >= ? and status = 'failed' order by 1, 2", [since]
        ).fetchall()


def _print_failures(failures: list[tuple[str, str, str, str]]) -> None:
    for platform, account, error_class, message in failures[:20]:
        print(f"[demo] FAILED {platform}:{account} [{error_class}] {message}", file=sys.stderr)
    if len(failures) > 20:
        print(f"[demo] ... and {len(failures) - 20} more failed accounts", file=sys.stderr)


def _missing_accounts(registry: Registry, settings: Settings) -> dict[str, set[str]]:
    """Registry accounts absent from the follower mart, in the warehouse and in the published copy."""
    wanted = {f"{a.platform}:{a.id}" for a in registry.accounts}
    found: dict[str, set[str]] = {}
    for where, path in (("the warehouse", settings.warehouse), ("the BI copy", settings.bi_dir / "socialpulse.duckdb")):
        with duckdb.connect(str(path), read_only=True) as con:
            rows = con.execute(
                "select distinct platform || ':' || account_id from marts.fct_follower_growth_daily"
            ).fetchall()
        found[where] = wanted - {r[0] for r in rows}
    return found


def _summary(settings: Settings, registry: Registry, env: dict[str, str], log_file: Path, elapsed: float) -> None:
    bi_copy = settings.bi_dir / "socialpulse.duckdb"
    with duckdb.connect(str(bi_copy), read_only=True) as con:
        marts = con.execute(
            "select table_name, estimated_size from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()
        built = con.execute(
            "select platform, count(distinct account_id), count(distinct metric_date), min(metric_date), "
            "max(metric_date) from marts.fct_follower_growth_daily group by 1 order by 1"
        ).fetchall()
    registered = Counter(a.platform for a in registry.accounts)
    home = settings.home_abs
    reports = sorted((home / "reports").glob("latest*.html")) if (home / "reports").exists() else []
    print("\n=== socialpulse demo ===")
    print(f"accounts  : {sum(n for _, n, *_ in built)} of {len(registry.accounts)} built and published")
    for platform, n, days, first, last in built:
        print(f"{platform:<10} {n} of {registered.get(platform, 0)} accounts, {days} platform days "
              f"{first} .. {last}")
    for name, rows in marts:
        print(f"  marts.{name:<34} {rows:>9,} rows")
    print(f"warehouse : {settings.warehouse}")
    print(f"BI copy   : {bi_copy}  (+ Parquet in {settings.bi_dir / 'parquet'})")
    print(f"report    : {reports[0] if reports else 'not rendered; see ' + str(log_file)}")
    print(f"Airflow   : metadata {env['AIRFLOW_HOME']}/airflow.db, task output in {log_file}; "
          "browse the runs with `make airflow-ui`")
    print(f"wall time : {elapsed:.0f} s")
    print("next      : .venv/bin/socialpulse status   (coverage and freshness per account)")
    print("            make bi                       (dashboards over the BI copy)")


def ui(port: int = 8080) -> int:
    """`make airflow-ui`: Airflow's UI over the demo's metadata DB, to browse the runs `make demo` made.

    Only the api-server (bound to 127.0.0.1): no scheduler, so nothing runs against the real platform
    URLs. Airflow's SimpleAuthManager generates the `admin` password into the file named below.
    """
    settings = load_settings()
    env = devenv.airflow_env(settings.home_abs)
    passwords = Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
    print(f"[demo] Airflow UI on http://127.0.0.1:{port} (user admin, password in {passwords}); Ctrl-C stops it")
    return devenv.airflow(env, "api-server", "--host", "127.0.0.1", "--port", str(port), check=False).returncode


if __name__ == "__main__":
    if sys.argv[1:2] == ["ui"]:
        sys.exit(ui(int(sys.argv[2]) if len(sys.argv) > 2 else 8080))
    sys.exit(main())
