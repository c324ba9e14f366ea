"""What the runner saves across dbt invocations (issue 21) must not change what dbt does or says.

* A process's builds start from its earlier parse only while the project is the one it parsed
  (ingestion/transform/parsed.py). A Celery worker parses at start and lives for days: a deploy
  that adds or edits a model after that must build the new SQL, never the stale manifest.
* Events below every reader's level are dropped before dbt builds them (ingestion/transform/
  inprocess.py): dbt.log and the console lines stay the same; a debug log still gets everything.
* dbt's type testers are built once per set of arguments: results are typed as before.

The end-to-end case runs real dbt on a copy of the project (plus one probe model) against a DuckDB
file in tmp_path; the fingerprint cases are plain files.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from ingestion.core.settings import load_settings
from ingestion.transform import inprocess, runner
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


def _file_log(settings) -> Counter:
    """dbt.log's lines as (level, message), digits masked (times, durations, thread numbers)."""
    lines = (settings.home_abs / "dbt_logs" / "dbt.log").read_text(encoding="utf-8").splitlines()
    found = (re.match(r"^\S+ \[(\w+)\s*\] \[[^\]]*\]: (.*)$", line) for line in lines)
    return Counter((m.group(1), re.sub(r"\d+", "#", m.group(2))) for m in found if m)


def _build_probe(settings, install, monkeypatch) -> tuple[Counter, list[str], int]:
    """Build the probe with `install` as the event manager's installer: (dbt.log lines, console
    lines, messages dbt built)."""
    import dbt_common.events.event_manager as event_manager

    built = Counter()
    real_build = event_manager.msg_from_base_event

    def counting_build(event, level=None):
        built["messages"] += 1
        return real_build(event, level=level)

    (settings.home_abs / "dbt_logs" / "dbt.log").unlink(missing_ok=True)
    monkeypatch.setattr(inprocess, "install", install)
    monkeypatch.setattr(event_manager, "msg_from_base_event", counting_build)
    console: list[str] = []
    result = runner.dbt(settings, "build", "--select", PROBE, log=console.append)
    monkeypatch.setattr(event_manager, "msg_from_base_event", real_build)
    assert result.returncode == 0, console[-20:]
    return _file_log(settings), [re.sub(r"\d+", "#", line) for line in console], built["messages"]


def test_dropped_events_change_no_log_line(project: Path, monkeypatch) -> None:
    from dbt_common.events.event_manager import EventManager
    from dbt_common.events.event_manager_client import ctx_set_event_manager

    settings = load_settings()
    _write_probe(project, 1)
    assert runner.parse(settings)
    gated = inprocess.install

    stock_log, stock_console, stock_built = _build_probe(
        settings, lambda: ctx_set_event_manager(EventManager()), monkeypatch)
    gated_log, gated_console, gated_built = _build_probe(settings, gated, monkeypatch)

    assert gated_log == stock_log and any(level == "info" for level, _ in gated_log)
    assert gated_console == stock_console and any("OK created" in line for line in gated_console)
    assert gated_built < stock_built / 2, (gated_built, stock_built)  # the debug events were most

    # A debug log reads every event: nothing is dropped, the SQL is in the file.
    monkeypatch.setenv("SOCIALPULSE_DBT_LOG_LEVEL", "debug")
    debug_log, _, debug_built = _build_probe(load_settings(), gated, monkeypatch)
    assert debug_built >= stock_built
    assert any(level == "debug" and "create" in message.lower() for level, message in debug_log)


def test_remembered_type_testers_type_results_as_before() -> None:
    from dbt_common.clients import agate_helper

    inprocess.remember_type_testers()
    inprocess.remember_type_testers()  # idempotent: still one layer
    remembered = agate_helper.build_type_tester
    original = remembered.original
    assert not getattr(original, "remembered", False)
    assert remembered({"b", "a"}, string_null_values=()) is remembered(["a", "b"], string_null_values=[])
    assert remembered(("a",)) is not remembered(("a",), string_null_values=())

    rows = [("2025-01-02", "x", "3", "", "null", "2025-01-02 03:04:05"),
            ("2025-01-03", "y", "4", "5", "1", "2025-01-02T03:04:05Z")]
    names = ["day", "text", "number", "blank", "null_text", "stamp"]
    for text_columns, nulls in ((("text", "blank"), ()), ((), ("null", "")), (("null_text",), ("null",))):
        kept = agate_helper.agate.Table(rows, names, column_types=remembered(text_columns, string_null_values=nulls))
        fresh = agate_helper.agate.Table(rows, names, column_types=original(text_columns, string_null_values=nulls))
        assert [type(t).__name__ for t in kept.column_types] == [type(t).__name__ for t in fresh.column_types]
        assert [tuple(r) for r in kept.rows] == [tuple(r) for r in fresh.rows]
