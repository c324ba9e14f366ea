"""The project's view materialization (macros/materialization_view.sql, issue 21) leaves a view
alone only when its definition is the one it was created from, and re-creates it otherwise.

Real dbt on a copy of the hand-computed fixture's raw layer (make_fixture.py): two staging views on
the registry sources are built, then the cases that must and must not re-create them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from make_fixture import make_fixture
from test_models import DBT_PROJECT, REPO, _dbt_command

VIEWS = ("stg_registry__accounts", "stg_registry__organisation")
PREFIX = "socialpulse-view-md5:"


def _run(warehouse: Path, work: Path, *args: str, project: Path = DBT_PROJECT) -> dict[str, str]:
    """`dbt run` of the two views; returns each view's result message (OK when created, UNCHANGED when left)."""
    env = {**os.environ, "SOCIALPULSE_WAREHOUSE": str(warehouse)}
    command = [*_dbt_command(), "run", "--project-dir", str(project), "--profiles-dir", str(project),
               "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
               "--select", *VIEWS, *args]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[-1]: r["message"] for r in results}


def _views(warehouse: Path) -> dict[str, tuple[str, str | None]]:
    """Each view's stored SQL and comment (the fingerprint)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select view_name, sql, comment from duckdb_views() where schema_name = 'staging'").fetchall()
    return {name: (sql, comment) for name, sql, comment in rows}


@pytest.fixture
def built(tmp_path: Path) -> Path:
    """A raw fixture with the two views built once (each created and fingerprinted)."""
    warehouse = make_fixture(tmp_path / "fixture.duckdb")
    assert _run(warehouse, tmp_path / "first") == dict.fromkeys(VIEWS, "OK")
    return warehouse


def test_an_unchanged_view_is_left_as_it_is(built: Path, tmp_path: Path) -> None:
    before = _views(built)
    assert all(comment and comment.startswith(PREFIX) for _, comment in before.values()), before
    assert _run(built, tmp_path / "again") == dict.fromkeys(VIEWS, "UNCHANGED")
    assert _views(built) == before
    with duckdb.connect(str(built), read_only=True) as con:
        assert con.execute("select count(*) from staging.stg_registry__accounts").fetchone()[0] > 0


def test_a_view_from_another_definition_is_recreated(built: Path, tmp_path: Path) -> None:
    """A stale fingerprint, or a view created before the fingerprint existed (no comment, other
    SQL), is re-created with the project's definition; the untouched view is left."""
    fingerprint = _views(built)["stg_registry__organisation"][1]
    with duckdb.connect(str(built)) as con:
        con.execute(f"comment on view staging.stg_registry__accounts is '{PREFIX}stale'")
        con.execute("create or replace view staging.stg_registry__organisation as select 1 as leftover")
    messages = _run(built, tmp_path / "again")
    assert messages == dict.fromkeys(VIEWS, "OK")
    views = _views(built)
    assert views["stg_registry__organisation"][1] == fingerprint
    with duckdb.connect(str(built), read_only=True) as con:
        columns = [c[0] for c in con.execute("select * from staging.stg_registry__organisation").description]
    assert "organisation_name" in columns and "leftover" not in columns
    assert _run(built, tmp_path / "third") == dict.fromkeys(VIEWS, "UNCHANGED")


def test_an_edited_model_is_recreated(built: Path, tmp_path: Path) -> None:
    """A change of the model's SQL (here a project copy whose model gains a column) changes the
    fingerprint: the view is re-created and shows the change."""
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    model = project / "models" / "staging" / "registry" / "stg_registry__organisation.sql"
    model.write_text(model.read_text().replace("select * from renamed", "select *, 42 as edited from renamed"))
    before = _views(built)
    messages = _run(built, tmp_path / "edited", project=project)
    assert messages == {"stg_registry__accounts": "UNCHANGED", "stg_registry__organisation": "OK"}
    after = _views(built)
    assert after["stg_registry__organisation"][1] != before["stg_registry__organisation"][1]
    with duckdb.connect(str(built), read_only=True) as con:
        assert con.execute("select edited from staging.stg_registry__organisation").fetchone() == (42,)


def test_full_refresh_recreates_every_view(built: Path, tmp_path: Path) -> None:
    assert _run(built, tmp_path / "full", "--full-refresh") == dict.fromkeys(VIEWS, "OK")


def test_a_view_reads_columns_its_table_gained_after_it_was_created(tmp_path: Path) -> None:
    """Why leaving a view is sound: DuckDB binds a view's query when the view is read, so a
    `select *` view over a table that gained a column (on_schema_change: append_new_columns)
    shows it without being re-created."""
    with duckdb.connect(str(tmp_path / "bind.duckdb")) as con:
        con.execute("create table t (a integer)")
        con.execute("create view v as select * from t")
        con.execute("alter table t add column b integer")
        con.execute("insert into t values (1, 2)")
        assert con.execute("select * from v").fetchall() == [(1, 2)]
