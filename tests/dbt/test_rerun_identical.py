"""An identical re-fetch changes no mart (issue 21).

The nightly re-fetches the last days of every account on purpose (late platform data), so most
observation keys are delivered more than once with the same value. Such a re-delivery must leave
every mart as it was: same rows, same values; only the columns that say when a row was computed,
or which load delivered it, may move. In particular `marts.fct_metric_restatements` must not grow
with it: before issue 21 it kept one row per key fetched twice (53,492 rows after two identical
demo runs, all `is_restated = false`); it now keeps only keys whose value changed.

Built on the hand-computed fixture of test_models.py (loads L1 and L2, from scratch), then load L3
re-delivers the latest value of every key and of every object, and an incremental `dbt run`
processes it, as the next nightly would.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
from make_fixture import L2_AT, make_fixture
from test_models import run_dbt_build

# Columns that say when a row was computed, or when / by which load its value was fetched (a
# re-fetch moves them by design), not what it holds.
_LINEAGE = {"loaded_through_at", "last_loaded_at", "observed_at", "latest_observed_at", "latest_load_id",
            "observation_count", "days_first_to_latest"}
L3_AT = L2_AT + timedelta(days=1)


def _marts(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every mart's columns (lineage excluded) and rows, in a stable order."""
    names = [r[0] for r in con.sql(
        "select table_name from duckdb_tables() where schema_name = 'marts'"
        " union all select view_name from duckdb_views() where schema_name = 'marts'"  # fct_post_performance
        " order by 1").fetchall()]
    out = {}
    for name in names:
        columns = [c for c in con.sql(f"select * from marts.{name} limit 0").columns if c not in _LINEAGE]
        out[name] = (columns, con.sql(f"select {', '.join(columns)} from marts.{name} order by all").fetchall())
    return out


def _changed_columns(before: tuple[list[str], list[tuple]], after: tuple[list[str], list[tuple]]) -> list[str]:
    """The columns whose values differ (all of them when the row count or the columns differ)."""
    (columns, rows), (columns_after, rows_after) = before, after
    if columns != columns_after or len(rows) != len(rows_after):
        return [f"{len(rows)} rows -> {len(rows_after)}", *sorted(set(columns) ^ set(columns_after))]
    return [c for i, c in enumerate(columns) if [r[i] for r in rows] != [r[i] for r in rows_after]]


def _redeliver_latest(path: Path) -> None:
    """Load L3: the latest observation of every key and the latest row of every object, unchanged."""
    with duckdb.connect(str(path)) as writer:
        writer.execute(
            """
            insert into raw.observations
            select * replace ('L3' as load_id, 'L3-' || response_id as response_id, $at as observed_at)
            from raw.observations
            qualify row_number() over (
                partition by platform, account_id, object_type, object_id, source, metric_name, period,
                    metric_type, dimension, dimension_value, metric_date
                order by observed_at desc, load_id desc) = 1
            """,
            {"at": L3_AT},
        )
        columns = [c for c in writer.sql("select * from raw.objects limit 0").columns]
        replaced = ["'L3' as load_id"] + (["$at as observed_at"] if "observed_at" in columns else [])
        writer.execute(
            f"""
            insert into raw.objects
            select * replace ({', '.join(replaced)}) from raw.objects
            qualify row_number() over (partition by platform, object_type, object_id order by load_id desc) = 1
            """,
            {"at": L3_AT} if "observed_at" in columns else {},
        )
        writer.execute(
            "insert into raw.loads (load_id, run_id, started_at, committed_at, status)"
            " values ('L3', 'run-3', ?, ?, 'committed')",
            [L3_AT, L3_AT + timedelta(minutes=5)],
        )


def test_identical_refetch_changes_no_mart_and_does_not_grow_restatements(tmp_path: Path) -> None:
    path = make_fixture(tmp_path / "warehouse.duckdb")
    first, _ = run_dbt_build(path, tmp_path / "first", command_name="run")
    assert first.returncode == 0, first.stdout[-5000:]
    with duckdb.connect(str(path), read_only=True) as con:
        before = _marts(con)
        restated = con.execute("select count(*), count(*) filter (where is_restated)"
                               " from marts.fct_metric_restatements").fetchone()
    assert len(before) >= 12
    # Only keys whose value changed (the fixture restates five: FB Jan 3 and Jan 4, IG Jan 2 and
    # Jan 4, YouTube Jan 6); a key fetched twice with the same value is not a restatement.
    assert restated == (5, 5)

    keep = tmp_path / "before-refetch.duckdb"
    shutil.copy(path, keep)
    _redeliver_latest(path)
    second, _ = run_dbt_build(path, tmp_path / "second", command_name="run")
    assert second.returncode == 0, second.stdout[-5000:]
    with duckdb.connect(str(path), read_only=True) as con:
        after = _marts(con)
    assert sorted(after) == sorted(before)
    changed = {mart: _changed_columns(before[mart], after[mart]) for mart in before}
    assert {mart: cols for mart, cols in changed.items() if cols} == {}
