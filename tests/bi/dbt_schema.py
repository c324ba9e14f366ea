"""The marts as the dbt project defines them (model YAML under dbt_project/models/marts), as an empty
DuckDB schema that dashboard SQL can be bound against without running dbt."""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

REPO = Path(__file__).resolve().parents[2]
MARTS_DIR = REPO / "dbt_project" / "models" / "marts"


def mart_columns() -> dict[str, list[tuple[str, str | None]]]:
    """model name -> [(column, data_type or None)] for every mart model that has a SQL file."""
    sql_models = {p.stem for p in MARTS_DIR.rglob("*.sql")}
    out: dict[str, list[tuple[str, str | None]]] = {}
    for path in sorted(MARTS_DIR.rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in doc.get("models", []) or []:
            if model["name"] in sql_models:
                out[model["name"]] = [(c["name"], c.get("data_type")) for c in model.get("columns", []) or []]
    return out


def guess_type(column: str) -> str:
    """A type for a column whose YAML gives none (models without an enforced contract)."""
    if column.endswith("_date") or column in {"week_start", "week_end", "month_start", "month_end"}:
        return "date"
    if column.endswith("_at"):
        return "timestamptz"
    if column.startswith(("is_", "has_")):
        return "boolean"
    if any(k in column for k in ("rate", "share", "pct", "index", "per_1000")):
        return "double"
    if column.endswith(("followers", "_gained", "_lost", "views", "reach", "engagements", "_count", "_7d", "_28d",
                        "_90d", "accounts", "posts_published")):
        return "bigint"
    return "varchar"


def empty_marts(extra: dict[str, list[tuple[str, str]]] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with schema `marts` holding one empty table per mart model."""
    con = duckdb.connect()
    con.execute("create schema marts")
    for model, columns in mart_columns().items():
        if columns:
            cols = ", ".join(f'"{name}" {dtype or guess_type(name)}' for name, dtype in columns)
            con.execute(f'create table marts."{model}" ({cols})')
    for table, columns in (extra or {}).items():
        con.execute(f"create table {table} ({', '.join(f'{n} {t}' for n, t in columns)})")
    return con
