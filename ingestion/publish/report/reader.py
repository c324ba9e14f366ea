"""The published BI copy as the report reads it: one short read-only session, and what is missing.

Its own module because every section module (data, peers) reads through it: they share the reader,
not each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb


@dataclass
class Missing:
    """A section that cannot be shown yet, and why."""

    mart: str
    columns: list[str] = field(default_factory=list)


class BICopy:
    """A short-lived read-only connection to the published copy, with its table/column catalogue."""

    def __init__(self, path: Path):
        if not path.exists():
            raise FileNotFoundError(f"no published BI copy at {path}: run the pipeline (publish) first")
        self.con = duckdb.connect(str(path), read_only=True)
        self.columns: dict[str, set[str]] = {}
        for table, column in self.con.execute(
            "select table_name, column_name from duckdb_columns() where schema_name = 'marts'"
        ).fetchall():
            self.columns.setdefault(table, set()).add(column)
        self.has_log = bool(self.con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'main' and table_name = 'publish_log'"
        ).fetchall()[0][0])

    def close(self) -> None:
        self.con.close()

    def missing(self, table: str, *columns: str) -> Missing | None:
        """None when `marts.table` has every column, else what is missing."""
        if table not in self.columns:
            return Missing(table)
        absent = [c for c in columns if c not in self.columns[table]]
        return Missing(table, absent) if absent else None

    def first(self, table: str, *candidates: str) -> str | None:
        """The first of `candidates` that `table` has."""
        return next((c for c in candidates if c in self.columns.get(table, ())), None)

    def rows(self, sql: str, params: list | None = None) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    def one(self, sql: str, params: list | None = None) -> dict[str, Any]:
        rows = self.rows(sql, params)
        return rows[0] if rows else {}
