"""A process's dbt builds start from its earlier parse only while the project is the one it parsed
(ingestion/transform/parsed.py, issue 21). A Celery worker parses at start and lives for days: a
deploy that adds or edits a model after that must build the new SQL, never the stale manifest.

The end-to-end case runs real dbt on a copy of the project (plus one probe model) against a DuckDB
file in tmp_path; the fingerprint cases are plain files.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from ingestion.core.settings import load_settings
from ingestion.transform import runner
from ingestion.transform.parsed import ParsedProject, project_fingerprint

PROBE = "probe_version"


def _write_probe(project: Path, version: int) -> None:
    (project / "models" / "probe").mkdir(exist_ok=True)
    (project / "models" / "probe" / f"{PROBE}.sql").write_text(
        f"{{{{ config(materialized='table') }}}}\nselect {version} as version\n", encoding="utf-8")


def _probe_version(settings) -> int:
    with duckdb.connect(str(settings.warehouse), read_only=True) as reader:
        [(version,)] = reader.sql(f"select version from main.{PROBE}").fetchall()
    return version


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the dbt project that the runner builds, with a fresh per-process parse cache."""
    copy = tmp_path / "dbt_project"
    shutil.copytree(runner.DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setattr(runner, "DBT_PROJECT_DIR", copy)
    monkeypatch.setattr(runner, "_PARSED", ParsedProject())
    monkeypatch.setenv("SOCIALPULSE_HOME", str(tmp_path / "home"))
    return copy


def test_builds_reuse_the_parse_until_the_project_changes(project: Path) -> None:
    settings = load_settings()
    assert runner.parse(settings)
    parsed_at_start = runner._PARSED.manifest
    assert parsed_at_start is not None
    # The macros' templates are compiled with it (for the worker's forked tasks).
    from dbt_common.clients.jinja import template_cache

    assert all(macro.macro_sql in template_cache.file_cache for macro in parsed_at_start.macros.values())

    # A model added after the parse (a deploy): the stale manifest does not know it.
    _write_probe(project, 1)
    lines: list[str] = []
    result = runner.dbt(settings, "build", "--select", PROBE, log=lines.append)
    assert result.returncode == 0, lines[-20:]
    assert [node["unique_id"] for node in result.nodes] == [f"model.socialpulse.{PROBE}"]
    assert _probe_version(settings) == 1
    assert runner._PARSED.manifest is not parsed_at_start
    reparsed = runner._PARSED.manifest

    # Nothing changed: the next build starts from that parse.
    result = runner.dbt(settings, "build", "--select", PROBE)
    assert result.returncode == 0
    assert runner._PARSED.manifest is reparsed

    # An edited model: built as edited.
    _write_probe(project, 2)
    result = runner.dbt(settings, "build", "--select", PROBE)
    assert result.returncode == 0
    assert _probe_version(settings) == 2
    assert runner._PARSED.manifest is not reparsed


def test_a_project_that_does_not_parse_fails_the_build_once(project: Path) -> None:
    settings = load_settings()
    assert runner.parse(settings)
    (project / "models" / "broken.yml").write_text("version: 2\nmodels: [\n", encoding="utf-8")
    lines: list[str] = []
    result = runner.dbt(settings, "build", log=lines.append)
    assert result.returncode == 2
    assert sum("dbt could not run" in line for line in lines) == 1, lines
    assert not runner.parse(settings)


@pytest.fixture
def small_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "a.sql").write_text("select 1", encoding="utf-8")
    (project / "profiles.yml").write_text("path: \"{{ env_var('PROBE_WAREHOUSE') }}\"\n", encoding="utf-8")
    return project


def test_fingerprint_follows_files_and_the_variables_the_project_names(small_project: Path, monkeypatch) -> None:
    monkeypatch.setenv("PROBE_WAREHOUSE", "/one.duckdb")
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", "token-1")
    before = project_fingerprint(small_project)
    assert project_fingerprint(small_project) == before

    # Not inputs of a parse: dbt's outputs in the folder, a variable the project does not name.
    (small_project / "target").mkdir()
    (small_project / "target" / "partial_parse.msgpack").write_bytes(b"x")
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", "token-2")
    assert project_fingerprint(small_project) == before

    monkeypatch.setenv("PROBE_WAREHOUSE", "/two.duckdb")
    assert project_fingerprint(small_project) != before
    monkeypatch.setenv("PROBE_WAREHOUSE", "/one.duckdb")
    assert project_fingerprint(small_project) == before

    monkeypatch.setenv("DBT_PARTIAL_PARSE", "false")
    assert project_fingerprint(small_project) != before
    monkeypatch.delenv("DBT_PARTIAL_PARSE")

    (small_project / "models" / "a.sql").write_text("select 2", encoding="utf-8")
    edited = project_fingerprint(small_project)
    assert edited != before
    (small_project / "models" / "b.sql").write_text("select 3", encoding="utf-8")
    assert project_fingerprint(small_project) not in (before, edited)
