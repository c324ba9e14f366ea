"""The set-based `column_checks` test (macros/test_column_checks.sql, issue 21) still catches what
the per-column not_null / accepted_values / unique tests it replaced caught, and the grain
(unique_combination_of_columns) of the models it took the grain test of.

Each case copies the fixture warehouse that test_models.py builds (same fixtures), breaks one rule
in one mart table, runs `dbt test` on that model, and reads which rule the model's column_checks
test reported (its compiled SQL from run_results.json, re-run on the broken copy).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
import test_models
from test_models import DBT_PROJECT, REPO, _dbt_command, run_dbt_build

# The built fixture warehouse of test_models.py (module-scoped: this module builds its own copy).
raw_fixture = test_models.raw_fixture
warehouse = test_models.warehouse


def _results(work_dir: Path) -> list[dict]:
    return json.loads((work_dir / "target" / "run_results.json").read_text())["results"]


def _column_checks(results: list[dict]) -> list[dict]:
    """The column_checks results of an invocation."""
    return [r for r in results if r["unique_id"].startswith("test.socialpulse.column_checks_")]


def test_clean_warehouse_passes_every_column_check(warehouse: Path) -> None:
    """The module's build (test_models' fixture, L1 then L2) ran one column_checks test per
    model that has column checks, and every one passed."""
    checks = _column_checks(_results(warehouse.parent))
    assert len(checks) == 28, [r["unique_id"] for r in checks]
    assert {r["status"] for r in checks} == {"pass"}


# (model, SQL that breaks exactly one rule of it, the rule column_checks must report)
_CORRUPTIONS = {
    "not_null": (
        "fct_account_daily",
        "update marts.fct_account_daily set is_estimated = null"
        " where platform = 'facebook' and metric_date = date '2025-01-05'",
        "not_null(is_estimated)",
    ),
    "accepted_values": (
        "fct_account_daily",
        "update marts.fct_account_daily set followers_source = 'guessed'"
        " where platform = 'facebook' and metric_date = date '2025-01-07'",  # a 'stock' day
        "accepted_values(followers_source)",
    ),
    # fct_post_performance is a view (ranks at read time): the id is broken in the table under it.
    "unique": (
        "fct_post_performance",
        "update intermediate.int_post_performance_unranked set post_performance_id ="
        " (select min(post_performance_id) from intermediate.int_post_performance_unranked)"
        " where post_performance_id = (select max(post_performance_id)"
        " from intermediate.int_post_performance_unranked)",
        "unique(post_performance_id)",
    ),
    # The grain, on the recent slice (grain_recent_column: loaded_through_at; the copied row is recent).
    "grain_recent": (
        "fct_account_daily",
        "insert into marts.fct_account_daily select * from marts.fct_account_daily"
        " where platform = 'facebook' and metric_date = date '2025-01-05'",
        "grain(platform, account_id, metric_date)",
    ),
    # The grain of an incremental intermediate table (delete+insert), on its recent slice.
    "grain_recent_intermediate": (
        "int_post_performance_unranked",
        "insert into intermediate.int_post_performance_unranked"
        " select * from intermediate.int_post_performance_unranked"
        " order by last_loaded_at desc, platform, object_id limit 1",
        "grain(platform, object_id)",
    ),
    # The grain over every row (no recent column).
    "grain_all_rows": (
        "dim_accounts",
        "insert into marts.dim_accounts select * from marts.dim_accounts where platform = 'instagram'",
        "grain(platform, account_id)",
    ),
}


# The table a case corrupts when it is not the model's own (a model that is a view over it).
_CORRUPTED_TABLE = {"fct_post_performance": ("intermediate", "int_post_performance_unranked")}


def _relation(model: str) -> tuple[str, str]:
    """(schema, name) of a model's relation: int_* models build in intermediate, the rest in marts."""
    return ("intermediate" if model.startswith("int_") else "marts", model)


@pytest.mark.parametrize("case", sorted(_CORRUPTIONS))
def test_column_checks_fail_on_the_broken_rule(case: str, warehouse: Path, tmp_path: Path) -> None:
    model, corrupt, rule = _CORRUPTIONS[case]
    broken = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, broken)
    with duckdb.connect(str(broken)) as writer:
        table_type = writer.sql(
            "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
            params=list(_CORRUPTED_TABLE.get(model, _relation(model))),
        ).fetchall()
        assert table_type == [("BASE TABLE",)]  # a table: the corruption stays until the test reads it
        changed = writer.execute(corrupt).fetchall()
    assert changed == [(1,)]

    result, _ = run_dbt_build(broken, tmp_path, [model], command_name="test")

    assert result.returncode != 0, result.stdout[-3000:]
    schema, name = _relation(model)
    [check] = [r for r in _column_checks(_results(tmp_path)) if f'"{schema}"."{name}"' in r["compiled_code"]]
    assert (check["status"], check["failures"]) == ("fail", 1)
    with duckdb.connect(str(broken), read_only=True) as reader:
        failing = reader.sql(check["compiled_code"]).fetchall()
    assert failing == [(rule, 1)]


def test_accepted_values_are_quoted_as_literals(tmp_path: Path) -> None:
    """Strings are quoted with their quotes doubled; numbers and booleans stay bare."""
    command = [
        *_dbt_command(), "compile", "--quiet", "--inline",
        "select {{ column_checks_literal(\"it's\") }}, {{ column_checks_literal(3) }},"
        " {{ column_checks_literal(true) }}",
        "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
    ]  # fmt: skip
    env = {**os.environ, "SOCIALPULSE_WAREHOUSE": str(tmp_path / "warehouse.duckdb")}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "select 'it''s', 3, true" in result.stdout
