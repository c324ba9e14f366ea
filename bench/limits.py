"""Limits: the best figure this machine allows for each phase, measured on the same rows and bytes.

* fetch: HTTP round trips x sandbox latency / allowed concurrency (`fetch_concurrency`, 8): the
  time the requests would take if the server and the client cost nothing;
* load + gate: DuckDB's bulk insert from Arrow of the very rows the load committed (its
  raw.observations, raw.responses and raw.objects rows, read back into Arrow first, untimed), into
  a fresh warehouse with the same DDL, in one transaction;
* dbt build: one `CREATE TABLE AS SELECT * FROM marts.<mart>` per mart of the built warehouse in
  one transaction (rolled back): the cost of writing the marts' rows once, with no SQL logic,
  tests, parsing or process start-up;
* publish: copying the published bytes (the BI DuckDB file and the Parquet files), with fsync;
* plan, mart gate and report have no meaningful floor here (reported without a ratio).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from bench.common import figure
from bench.harness import loadavg


def arrow_insert_s(warehouse: Path, load_prefix: str) -> tuple[float, int]:
    """Seconds to bulk-insert the rows of loads `load_prefix*` from Arrow into a fresh warehouse."""
    from ingestion.load.warehouse import connect

    src = duckdb.connect(str(warehouse), read_only=True)
    try:
        src.execute("set enable_progress_bar = false")
        like = load_prefix.replace("'", "''") + "%"
        tables = {t: src.sql(f"select * from raw.{t} where load_id like '{like}'").to_arrow_table()
                  for t in ("observations", "responses", "objects")}
    finally:
        src.close()
    with tempfile.TemporaryDirectory(prefix="bench-limit-") as tmp:
        con = connect(Path(tmp) / "limit.duckdb")
        try:
            con.execute("set enable_progress_bar = false")
            for name, table in tables.items():
                con.register(f"arrow_{name}", table)
            started = time.perf_counter()
            con.execute("begin transaction")
            for name in tables:
                con.execute(f"insert into raw.{name} select * from arrow_{name}")
            con.execute("commit")
            con.execute("checkpoint")
            seconds = time.perf_counter() - started
        finally:
            con.close()
    return seconds, tables["observations"].num_rows


def ctas_marts_s(warehouse: Path) -> tuple[float, int, int]:
    """Seconds to CREATE TABLE AS every mart once (rolled back); (seconds, tables, rows)."""
    con = duckdb.connect(str(warehouse))
    try:
        marts = [r[0] for r in con.execute(  # views too, as publish copies them (fct_post_performance)
            "select table_name from duckdb_tables() where schema_name = 'marts'"
            " union all select view_name from duckdb_views() where schema_name = 'marts' order by 1").fetchall()]
        rows = 0
        con.execute("begin transaction")
        con.execute("create schema bench_limit")
        started = time.perf_counter()
        for name in marts:
            con.execute(f'create table bench_limit."{name}" as select * from marts."{name}"')
            rows += con.execute(f'select count(*) from bench_limit."{name}"').fetchone()[0]
        seconds = time.perf_counter() - started
        con.execute("rollback")
    finally:
        con.close()
    return seconds, len(marts), rows


def copy_s(paths: list[Path]) -> tuple[float, int]:
    """Seconds to copy the files (and fsync them); (seconds, bytes)."""
    total = sum(p.stat().st_size for p in paths)
    with tempfile.TemporaryDirectory(prefix="bench-copy-") as tmp:
        started = time.perf_counter()
        for i, p in enumerate(paths):
            target = Path(tmp) / f"{i}-{p.name}"
            shutil.copyfile(p, target)
            with open(target, "rb+") as fh:
                os.fsync(fh.fileno())
        seconds = time.perf_counter() - started
    return seconds, total


def figures(res: dict[str, Any], work: Path, latency_ms: float) -> list[dict[str, Any]]:
    """Limit figures and our ratio to each (ours / limit: 1.0 is the best possible)."""
    warehouse = Path(res["home"]) / "warehouse.duckdb"
    n, b = res["nightly"], res["backfill"]
    la = loadavg()[0]
    out = []
    for label, run in (("nightly", n), ("backfill", b)):
        f = run["fetch"]
        floor = f["round_trips"] * latency_ms / 1000 / f["concurrency"]
        out.append(figure(f"limits.{label}.fetch", floor, "s", ours_s=f["wall_s"],
                          ratio_ours_over_limit=round(f["wall_s"] / floor, 2),
                          how=f"{f['round_trips']} round trips x {latency_ms:g} ms / {f['concurrency']}"))
        seconds, rows = arrow_insert_s(warehouse, f"{label}/")
        ours = run["load"]["wall_s"]
        out.append(figure(f"limits.{label}.load", seconds, "s", rows=rows, rows_per_s=round(rows / seconds),
                          ours_s=ours, ratio_ours_over_limit=round(ours / seconds, 2),
                          how="DuckDB insert from Arrow of the same observations/responses/objects", load_avg=la))
    seconds, tables, rows = ctas_marts_s(warehouse)
    ours = n["dbt"]["wall_s"]
    out.append(figure("limits.nightly.dbt_build", seconds, "s", marts=tables, rows=rows, ours_s=ours,
                      ratio_ours_over_limit=round(ours / seconds, 2),
                      how="one CREATE TABLE AS per mart, one transaction", load_avg=la))
    pub = n["publish"]
    files = [Path(pub["bi_path"]), *sorted(Path(pub["parquet_dir"]).glob("*.parquet"))]
    seconds, size = copy_s(files)
    out.append(figure("limits.nightly.publish", seconds, "s", bytes=size, ours_s=pub["wall_s"],
                      ratio_ours_over_limit=round(pub["wall_s"] / seconds, 2), how="copy + fsync of the same files",
                      load_avg=la))
    return out
