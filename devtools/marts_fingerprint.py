"""Fingerprint the marts, to show that a change to the dbt project (or to its performance) left
every mart exactly as it was.

    .venv/bin/python -m devtools.marts_fingerprint build OUT_DIR [--days N] [--keep-home]
    .venv/bin/python -m devtools.marts_fingerprint compare DIR_A DIR_B

`build` makes a warehouse from scratch in a scratch SOCIALPULSE_HOME (OUT_DIR/home, removed at the
end unless --keep-home). The sandbox (seed 42, its clock frozen) serves every account of the demo
registry (config/accounts.yml, or the file SOCIALPULSE_ACCOUNTS names). Two nights, as production
runs them: night 1 (clock NOW) ingests the N days up to AS_OF (default 21) and the peers'
snapshot, then `dbt build` (data tests included) from nothing; night 2 (clock NOW + 1 day) ingests
the last 3 days again (the sandbox restates its preliminary days) and the peers, then `dbt build`
on top (the incremental models' incremental path, restatements). The health mart's as-of instant
is pinned to the night's clock. Then it writes, per relation of the `marts` schema,
OUT_DIR/<relation>.parquet with the rows in a total order (`order by all`) and
OUT_DIR/fingerprint.json: {relation: {"rows": n, "hash": md5 of the ordered rows, "columns": [...]}}
plus what the build was made from. Same code, same data: same fingerprint (about 2 minutes on a busy 2-core box).

`compare` prints one line per relation, `equal` or `differs` (row counts, rows only in A and only
in B, counted with DuckDB EXCEPT ALL, and a few of those rows), and exits 1 on any difference
(a relation missing on one side, other columns, other rows), 0 when every relation is equal.

Left out of the fingerprint, because they follow the wall clock of the build, not the data (the
loads and runs happen now, while the sandbox's clock is frozen): the columns in RUN_DEPENDENT, i.e.
`loaded_through_at`, `last_loaded_at`, `latest_load_id`, and in fct_account_health `last_run_at`,
`last_successful_load_at`, `hours_since_successful_load`, `token_checked_at`; `found_at` in
fct_data_quality_findings. Every other column is compared; doubles rounded to DOUBLE_DECIMALS (9)
decimals, because DuckDB's parallel sums may differ in the last bit from one build to the next.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
SEED = 42
# The sandbox's frozen clock: 01:00 Pacific, so AS_OF (yesterday, Pacific) has just closed.
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
AS_OF = date(2026, 11, 19)
DEFAULT_DAYS = 21
NIGHT_2_LOOKBACK_DAYS = 3
# Columns whose values follow the wall clock of the build, not the data: the loads, runs and token
# checks happen now, while the sandbox's clock and the health as-of instant are frozen.
RUN_DEPENDENT = frozenset(
    {
        "loaded_through_at",  # daily, weekly, monthly, department, organisation marts: the newest load
        "last_loaded_at",  # fct_post_performance, fct_audience_demographics, fct_metric_restatements
        "latest_load_id",  # fct_metric_restatements: load ids carry the run's start time
        "last_run_at",  # fct_account_health: when the last run happened
        "last_successful_load_at",  # fct_account_health: when the last load committed
        "hours_since_successful_load",  # fct_account_health: frozen as-of instant minus a real commit time
        "token_checked_at",  # fct_account_health: when the ingest checked the token
        "found_at",  # fct_data_quality_findings: when the check ran
    }
)
# Doubles are compared to this many decimals: DuckDB's parallel sums and window aggregates may
# add the same numbers in another order from one build to the next (a last-bit difference).
DOUBLE_DECIMALS = 9
SAMPLE_ROWS = 5


def build(out_dir: Path, days: int = DEFAULT_DAYS, keep_home: bool = False) -> dict:
    """Build the warehouse and write the fingerprint into `out_dir`; returns the fingerprint."""
    out_dir.mkdir(parents=True, exist_ok=True)
    home = out_dir / "home"
    shutil.rmtree(home, ignore_errors=True)
    warehouse = _build_warehouse(home, days)
    fingerprint = {
        "made_from": {
            "registry": os.environ.get("SOCIALPULSE_ACCOUNTS", "config/accounts.yml"),
            "seed": SEED,
            "now": NOW.isoformat(),
            "as_of": AS_OF.isoformat(),
            "days": days,
            "night_2_lookback_days": NIGHT_2_LOOKBACK_DAYS,
            "excluded_columns": sorted(RUN_DEPENDENT),
        },
        "relations": _export_marts(warehouse, out_dir),
    }
    (out_dir / "fingerprint.json").write_text(json.dumps(fingerprint, indent=2) + "\n", encoding="utf-8")
    if not keep_home:
        shutil.rmtree(home)
    return fingerprint


def _build_warehouse(home: Path, days: int) -> Path:
    """Two nights against a frozen sandbox, each ingest followed by `dbt build`: night 1 reads
    `days` days up to AS_OF (a first, full build), night 2 (the clock one day on) the usual
    NIGHT_2_LOOKBACK_DAYS (restated values, incremental models on top of night 1)."""
    from devtools.demo import demo_env
    from ingestion.core.registry import load_registry
    from sandbox.registry_fit import sizes_for_registry
    from sandbox.server import SandboxConfig, SandboxServer

    registry_path = Path(os.environ.get("SOCIALPULSE_ACCOUNTS", REPO / "config" / "accounts.yml"))
    sizes = sizes_for_registry(registry_path)
    config = SandboxConfig(
        accounts=max(sizes.accounts, 1),
        youtube_channels=sizes.youtube_channels,
        snapchat_profiles=sizes.snapchat_profiles,
        seed=SEED,
        now=NOW,
    )
    with SandboxServer(config) as sandbox:
        os.environ.update({"SOCIALPULSE_HOME": str(home), "SOCIALPULSE_ACCOUNTS": str(registry_path)})
        os.environ.update(demo_env(load_registry(registry_path), home, sandbox.base_url))
        _night(NOW, days)
        sandbox.set_now(NOW + timedelta(days=1))
        warehouse = _night(NOW + timedelta(days=1), NIGHT_2_LOOKBACK_DAYS)
    return warehouse


def _night(now: datetime, lookback_days: int) -> Path:
    """One nightly ingest (own accounts and peers) for the Pacific day before `now`, then `dbt build`
    with the health mart's as-of instant pinned to `now`; returns the warehouse path."""
    from ingestion.core.settings import load_settings
    from ingestion.pipeline import chain
    from ingestion.transform import runner as transform

    os.environ["SOCIALPULSE_LOOKBACK_DAYS"] = str(lookback_days)
    settings = load_settings()
    report = chain.run_ingest(settings, chain.default_as_of(now), now=now)
    chain.run_peers(settings, report, now)
    if report.failed_accounts:
        raise SystemExit(f"ingest failed for {len(report.failed_accounts)} accounts, e.g. {report.failed_accounts[0]}")
    result = transform.dbt(
        settings, "build", "--vars", json.dumps({"health_as_of_at": now.isoformat()}), log=lambda line: None
    )
    if result.returncode != 0:
        failed = ", ".join(n["unique_id"] for n in result.failed) or f"see {settings.home_abs / 'dbt_logs'}"
        raise SystemExit(f"dbt build failed: {failed}")
    return settings.warehouse


def _export_marts(warehouse: Path, out_dir: Path) -> dict[str, dict]:
    """One ordered parquet per marts relation, and its row count, content hash and columns."""
    relations: dict[str, dict] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = [
            r[0]
            for r in con.sql(
                "select table_name from information_schema.tables where table_schema = 'marts' order by table_name"
            ).fetchall()
        ]
        for name in names:
            types = dict(
                con.execute(
                    "select column_name, data_type from information_schema.columns where "
                    "table_schema = 'marts' and table_name = ? order by ordinal_position",
                    [name],
                ).fetchall()
            )
            columns = [c for c in types if c not in RUN_DEPENDENT]
            ordered = f"select {', '.join(_selected(c, types[c]) for c in columns)} from marts.{name} order by all"
            con.execute(f"copy ({ordered}) to '{out_dir / (name + '.parquet')}' (format parquet)")
            rows, digest = con.execute(
                f"select count(*), md5(coalesce(string_agg(cast(t as varchar), chr(10) "
                f"order by cast(t as varchar)), '')) from ({ordered}) as t"
            ).fetchone()
            relations[name] = {"rows": rows, "hash": digest, "columns": columns}
    return relations


def _selected(column: str, data_type: str) -> str:
    """The column as fingerprinted: quoted, and doubles rounded (see DOUBLE_DECIMALS)."""
    quoted = '"' + column.replace('"', '""') + '"'
    return f"round({quoted}, {DOUBLE_DECIMALS}) as {quoted}" if data_type in ("DOUBLE", "FLOAT") else quoted


def compare(dir_a: Path, dir_b: Path, out=sys.stdout) -> int:
    """Print per relation whether A and B hold the same rows; 0 when all do, else 1."""
    a, b = (json.loads((d / "fingerprint.json").read_text(encoding="utf-8"))["relations"] for d in (dir_a, dir_b))
    differences = 0
    for name in sorted(a.keys() | b.keys()):
        line = _compare_relation(name, a.get(name), b.get(name), dir_a, dir_b)
        differences += not line.startswith("equal")
        print(f"{name:<34} {line}", file=out)
    print(f"{len(a.keys() | b.keys()) - differences} equal, {differences} differ", file=out)
    return 1 if differences else 0


def _compare_relation(name: str, a: dict | None, b: dict | None, dir_a: Path, dir_b: Path) -> str:
    if a is None or b is None:
        return f"differs: only in {'B' if a is None else 'A'}"
    if a["columns"] != b["columns"]:
        return f"differs: columns A {a['columns']} vs B {b['columns']}"
    if a["rows"] == b["rows"] and a["hash"] == b["hash"]:
        return f"equal ({a['rows']} rows)"
    with duckdb.connect() as con:
        side_a, side_b = (f"read_parquet('{d / (name + '.parquet')}')" for d in (dir_a, dir_b))
        only_a = con.sql(f"select * from {side_a} except all select * from {side_b} order by all").fetchall()
        only_b = con.sql(f"select * from {side_b} except all select * from {side_a} order by all").fetchall()
    samples = "".join(f"\n    A only: {row}" for row in only_a[:SAMPLE_ROWS])
    samples += "".join(f"\n    B only: {row}" for row in only_b[:SAMPLE_ROWS])
    return f"differs: rows A {a['rows']} B {b['rows']}, only in A {len(only_a)}, only in B {len(only_b)}" + samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.marts_fingerprint", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build_cmd = sub.add_parser("build", help="build the marts from the sandbox and fingerprint them")
    build_cmd.add_argument("out_dir", type=Path)
    build_cmd.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"days ingested (default {DEFAULT_DAYS})")
    build_cmd.add_argument("--keep-home", action="store_true", help="keep the scratch home (warehouse, logs)")
    compare_cmd = sub.add_parser("compare", help="compare two fingerprints; exit 1 on any difference")
    compare_cmd.add_argument("dir_a", type=Path)
    compare_cmd.add_argument("dir_b", type=Path)
    args = parser.parse_args(argv)
    if args.command == "compare":
        return compare(args.dir_a, args.dir_b)
    started = datetime.now(UTC)
    fingerprint = build(args.out_dir, args.days, args.keep_home)
    rows = sum(r["rows"] for r in fingerprint["relations"].values())
    print(
        f"{len(fingerprint['relations'])} marts relations, {rows} rows, fingerprint in "
        f"{args.out_dir / 'fingerprint.json'} ({(datetime.now(UTC) - started) / timedelta(seconds=1):.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
