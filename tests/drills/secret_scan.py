"""The secret scan of the security drills: every file under a folder, as raw bytes, and every table
of every DuckDB and Parquet file, each column cast to text. Used after the in-process drills
(`test_security.py`) and after the real-scheduler run (`tests/airflow/test_scheduler.py`), whose
folder holds Airflow's task logs and metadata DB as well as the pipeline's files.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

BINARY_SQL = (".duckdb", ".parquet")


class LockedFile(AssertionError):
    """A DuckDB file could not be opened (another process writes it): it was not scanned."""


def _sql_hits(path: Path, secrets: tuple[str, ...]) -> list[str]:
    """Tables (or the Parquet file) in which any secret occurs in any column cast to text."""
    con = duckdb.connect()
    hits = []
    try:
        if path.suffix == ".parquet":
            relations = [("parquet", f"read_parquet('{path}')")]
        else:
            con.execute(f"attach '{path}' as scan (read_only)")
            relations = [(f"{s}.{t}", f'scan."{s}"."{t}"') for s, t in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = 'scan'").fetchall()]
        for name, relation in relations:
            columns = [r[0] for r in con.execute(f"select * from {relation} limit 0").description]
            if not columns:
                continue
            text = "concat_ws('|', " + ", ".join(f'cast("{c}" as varchar)' for c in columns) + ")"
            for secret in secrets:
                if con.execute(f"select count(*) from {relation} where contains({text}, ?)", [secret]).fetchone()[0]:
                    hits.append(f"{path}:{name}")
    finally:
        con.close()
    return hits


def scan_for_secrets(root: Path, secrets: tuple[str, ...], strict: bool = False) -> tuple[list[str], int, int]:
    """(hits, files scanned, DuckDB/Parquet files scanned) under `root`.

    A DuckDB file locked by a writer is skipped, or raises `LockedFile` with `strict` (a scan that
    must cover everything).
    """
    assert secrets and all(len(s) >= 8 for s in secrets), "scan for real secret values"
    hits, files, tables = [], 0, 0
    needles = [s.encode() for s in secrets]
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        files += 1
        data = path.read_bytes()
        hits += [f"{path}: bytes" for n in needles if n in data]
        if path.suffix in BINARY_SQL and not path.name.startswith("."):
            try:
                found = _sql_hits(path, secrets)
            except duckdb.Error as exc:  # a file another process holds open, or not a database
                if path.suffix == ".parquet" or "lock" not in str(exc).lower():
                    raise
                if strict:
                    raise LockedFile(f"{path} is locked by a writer and was not scanned: {exc}") from None
                continue
            tables += 1
            hits += found
    return hits, files, tables
