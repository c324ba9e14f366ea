"""A BI reader in its own process: keeps opening the published copy (DuckDB file and Parquet folder)
and checks that every snapshot it sees is complete and consistent with that snapshot's publish_log.

Usage: python reader_probe.py BI_DIR STOP_FILE MAX_SECONDS. Prints one JSON summary line.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

LATEST = "select publish_id from {log} order by published_at desc, publish_id desc limit 1"


def matches_log(copy: str, pid: str, expected: dict[str, int], present: set[str], holds: str,
                count: Callable[[str], int]) -> tuple[str, int]:
    """A snapshot is complete when it `holds` exactly the tables its publish_log lists, each with the
    logged row count (`count(table)`); both copies (DuckDB file, Parquet folder) are judged alike."""
    if present != set(expected):
        raise AssertionError(f"{copy} {pid}: {holds} {sorted(present)} != log {sorted(expected)}")
    for table, rows in expected.items():
        got = count(table)
        if got != rows:
            raise AssertionError(f"{copy} {pid}: {table} has {got} rows, log says {rows}")
    return pid, len(expected)


def check_duckdb(path: Path) -> tuple[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        pid = con.execute(LATEST.format(log="main.publish_log")).fetchall()[0][0]
        expected = dict(con.execute(
            "select table_name, row_count from main.publish_log where publish_id = ?", [pid]
        ).fetchall())
        present = {r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts'"
        ).fetchall()}
        return matches_log("duckdb", pid, expected, present, "tables",
                           lambda table: con.execute(f'select count(*) from marts."{table}"').fetchall()[0][0])
    finally:
        con.close()


def check_parquet(link: Path) -> tuple[str, int]:
    folder = Path(os.path.realpath(link))  # resolve once: one snapshot for every file
    con = duckdb.connect()
    try:
        log = f"read_parquet('{folder / 'publish_log.parquet'}')"
        pid = con.execute(LATEST.format(log=log)).fetchall()[0][0]
        if folder.name != pid:
            raise AssertionError(f"parquet folder {folder.name} holds the log of {pid}")
        expected = dict(con.execute(f"select table_name, row_count from {log} where publish_id = ?", [pid]).fetchall())
        files = {p.stem for p in folder.glob("*.parquet")} - {"publish_log"}
        return matches_log("parquet", pid, expected, files, "files", lambda table: con.execute(
            f"select count(*) from read_parquet('{folder / (table + '.parquet')}')").fetchall()[0][0])
    finally:
        con.close()


def main() -> None:
    bi_dir, stop, max_s = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    deadline = time.monotonic() + max_s
    seen_db, seen_pq, errors, reads = set(), set(), [], 0
    while time.monotonic() < deadline:
        for kind, check, target, seen in (("duckdb", check_duckdb, bi_dir / "socialpulse.duckdb", seen_db),
                                          ("parquet", check_parquet, bi_dir / "parquet", seen_pq)):
            try:
                pid, _ = check(target)
                seen.add(pid)
            except Exception as exc:  # every failure counts: lock errors, missing files, mismatches
                errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            reads += 1
        if stop.exists():
            break
    print(json.dumps({"reads": reads, "snapshots_duckdb": sorted(seen_db), "snapshots_parquet": sorted(seen_pq),
                      "errors": errors[:20], "error_count": len(errors)}))


if __name__ == "__main__":
    main()
