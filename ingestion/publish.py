"""Publish the marts for BI tools: a read-only DuckDB copy plus Parquet, swapped in atomically.

BI tools never open the working warehouse (a reader's lock would block the nightly writer). The copy
is written with STORAGE_VERSION 'v1.5.0' so BI drivers that bundle DuckDB 1.x can open it, into a
temporary file that replaces the published one with one rename: a reader sees the old copy or the
new one, never a mix. If anything fails, the previous copy stays.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingestion.settings import Settings

MARTS_SCHEMA = "marts"
BI_FILE = "socialpulse.duckdb"


@dataclass
class PublishResult:
    """What was published, where."""

    path: str
    parquet_dir: str
    tables: dict[str, int]
    published_at: str


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def publish(settings: Settings) -> PublishResult:
    """Copy every table of schema `marts` into the BI file and Parquet, atomically."""
    bi_dir = settings.bi_dir
    bi_dir.mkdir(parents=True, exist_ok=True)
    final, tmp = bi_dir / BI_FILE, bi_dir / f".{BI_FILE}.tmp"
    parquet_final, parquet_tmp = bi_dir / "parquet", bi_dir / ".parquet.tmp"
    for stale in (tmp, Path(f"{tmp}.wal")):
        stale.unlink(missing_ok=True)
    shutil.rmtree(parquet_tmp, ignore_errors=True)
    parquet_tmp.mkdir()

    con = duckdb.connect()
    tables: dict[str, int] = {}
    try:
        con.execute("attach ? as src (read_only)", [str(settings.warehouse)])
        con.execute("attach ? as pub (storage_version 'v1.5.0')", [str(tmp)])
        names = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where database_name = 'src' and schema_name = ? "
                "order by table_name",
                [MARTS_SCHEMA],
            ).fetchall()
        ]
        if not names:
            raise RuntimeError("nothing to publish: the warehouse has no tables in schema 'marts'")
        con.execute(f"create schema pub.{MARTS_SCHEMA}")
        for name in names:
            src, dst = f"src.{MARTS_SCHEMA}.{_quote(name)}", f"pub.{MARTS_SCHEMA}.{_quote(name)}"
            con.execute(f"create table {dst} as select * from {src}")
            tables[name] = con.execute(f"select count(*) from {dst}").fetchone()[0]
            con.execute(f"copy {dst} to '{parquet_tmp / (name + '.parquet')}' (format parquet)")
        published_at = datetime.now(UTC).isoformat()
        con.execute("create table pub.main.publish_log (published_at varchar, tables varchar)")
        con.execute("insert into pub.main.publish_log values (?, ?)", [published_at, ",".join(names)])
        con.execute("detach pub")
        con.execute("detach src")
    finally:
        con.close()
    os.replace(tmp, final)  # the atomic swap: readers see old or new, never a mix
    # Parquet: swap the folder (two renames; each file inside is complete).
    old = bi_dir / ".parquet.old"
    shutil.rmtree(old, ignore_errors=True)
    if parquet_final.exists():
        os.replace(parquet_final, old)
    os.replace(parquet_tmp, parquet_final)
    shutil.rmtree(old, ignore_errors=True)
    return PublishResult(path=str(final), parquet_dir=str(parquet_final), tables=tables, published_at=published_at)
