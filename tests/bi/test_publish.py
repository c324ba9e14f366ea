"""Publishing for BI: a v1.5.0 DuckDB copy and Parquet per mart, a publish_log that accumulates, the
previous copy kept on any failure, and readers that never see a half-published state."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from ingestion.publish import bi_copy as publish
from tests.bi.warehouse_factory import add_rows

HERE = Path(__file__).resolve().parent
MARTS = {"dim_accounts", "fct_account_daily", "fct_follower_growth_daily"}


def _ro(path: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _warehouse_counts(settings) -> dict[str, int]:
    return {t: _ro(settings.warehouse, f"select count(*) from marts.{t}")[0][0] for t in MARTS}


def _fingerprint(bi_dir: Path) -> tuple:
    """Identity and content of what readers see: the DuckDB file and the Parquet folder behind the link."""
    db = bi_dir / publish.BI_FILE
    folder = Path(os.path.realpath(bi_dir / publish.PARQUET_LINK))
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.parquet"))}
    return db.stat().st_ino, hashlib.sha256(db.read_bytes()).hexdigest(), folder.name, files


def _leftovers(bi_dir: Path) -> list[str]:
    return sorted(p.name for p in [*bi_dir.glob(".*.tmp*"), *(bi_dir / publish.PARQUET_VERSIONS).glob(".*")])


def test_publish_copies_marts_to_duckdb_and_parquet_with_a_log(bi_settings):
    result = publish.publish(bi_settings, run_id="run-42")
    bi = bi_settings.bi_dir
    assert result.tables == _warehouse_counts(bi_settings)
    assert result.path == str(bi / "socialpulse.duckdb") and result.publish_id
    # Contract paths: the DuckDB copy and bi/parquet/<mart>.parquet (a symlink to the version folder).
    assert (bi / "parquet").is_symlink()
    assert os.readlink(bi / "parquet") == f"parquet-versions/{result.publish_id}"
    for mart, rows in result.tables.items():
        assert _ro(bi / "socialpulse.duckdb", f"select count(*) from marts.{mart}")[0][0] == rows
        assert duckdb.sql(f"select count(*) from '{bi / 'parquet' / (mart + '.parquet')}'").fetchall()[0][0] == rows
    log = _ro(bi / "socialpulse.duckdb",
              "select publish_id, table_name, row_count, run_id, load_ids, last_load_id, storage_version, "
              "column_count from main.publish_log order by table_name")
    assert [(r[1], r[2]) for r in log] == sorted(result.tables.items())
    assert {r[0] for r in log} == {result.publish_id}
    assert all(r[3] == "run-42" and r[4] == ["load-0001"] and r[5] == "load-0001" and r[6] == "v1.5.0"
               for r in log)
    assert dict((r[1], r[7]) for r in log)["fct_follower_growth_daily"] == 22
    # The Parquet folder carries the same log.
    assert duckdb.sql(f"select count(*) from '{bi / 'parquet' / 'publish_log.parquet'}'").fetchall()[0][0] == 3
    assert _leftovers(bi) == []



def test_a_view_in_marts_is_published_as_a_table(bi_settings):
    # marts.fct_data_quality_findings is a dbt view on the mart gate's own table (quality schema), so
    # it is current right after the gate; the BI copy must still hold it as a table (and Parquet).
    from ingestion.load.warehouse import connect

    con = connect(bi_settings.warehouse)  # creates quality.data_quality_findings like every writer
    try:
        con.execute("insert into quality.data_quality_findings (check_name, severity, detail)"
                    " values ('freshness', 'warning', 'stale'), ('anomalies', 'warning', 'spike')")
        con.execute("create view marts.fct_data_quality_findings as select * from quality.data_quality_findings")
    finally:
        con.close()
    result = publish.publish(bi_settings, run_id="run-42")
    bi = bi_settings.bi_dir
    assert result.tables["fct_data_quality_findings"] == 2
    assert _ro(bi / "socialpulse.duckdb", "select table_type from information_schema.tables "
               "where table_schema = 'marts' and table_name = 'fct_data_quality_findings'") == [("BASE TABLE",)]
    assert _ro(bi / "socialpulse.duckdb", "select check_name from marts.fct_data_quality_findings order by 1"
               ) == [("anomalies",), ("freshness",)]
    parquet = bi / "parquet" / "fct_data_quality_findings.parquet"
    assert duckdb.sql(f"select count(*) from '{parquet}'").fetchall()[0][0] == 2

def test_publish_log_accumulates_and_records_new_loads(bi_settings):
    first = publish.publish(bi_settings)
    add_rows(bi_settings.warehouse, "fct_account_daily", 7)
    second = publish.publish(bi_settings)
    con = duckdb.connect(str(bi_settings.warehouse))
    con.execute("insert into raw.loads (load_id, status, committed_at) values ('load-0002', 'committed', now())")
    con.close()
    third = publish.publish(bi_settings, load_ids=None)
    rows = _ro(bi_settings.bi_dir / "socialpulse.duckdb",
               "select publish_id, table_name, row_count, load_ids, last_load_id from main.publish_log")
    by_publish: dict[str, dict] = {}
    for pid, table, count, load_ids, last in rows:
        by_publish.setdefault(pid, {})[table] = (count, load_ids, last)
    assert list(sorted(by_publish)) == [first.publish_id, second.publish_id, third.publish_id]
    assert by_publish[second.publish_id]["fct_account_daily"][0] == first.tables["fct_account_daily"] + 7
    assert by_publish[first.publish_id]["dim_accounts"][1:] == (["load-0001"], "load-0001")
    assert by_publish[second.publish_id]["dim_accounts"][1:] == ([], "load-0001")  # nothing new loaded
    assert by_publish[third.publish_id]["dim_accounts"][1:] == (["load-0002"], "load-0002")
    assert publish.published_snapshot(bi_settings) == third.tables
    # Only the newest versions of the Parquet folder are kept.
    versions = sorted(p.name for p in (bi_settings.bi_dir / "parquet-versions").iterdir())
    assert versions == sorted([first.publish_id, second.publish_id, third.publish_id])[-publish.KEEP_VERSIONS:]


def test_log_of_the_first_publish_format_is_carried_forward(bi_settings):
    bi = bi_settings.bi_dir
    bi.mkdir(parents=True)
    con = duckdb.connect(str(bi / "socialpulse.duckdb"))
    con.execute("create table publish_log (published_at varchar, tables varchar)")
    con.execute("insert into publish_log values "
                "('2026-11-01T02:00:00+00:00', 'dim_accounts,fct_follower_growth_daily')")
    con.close()
    (bi / "parquet").mkdir()  # the old unversioned folder is moved aside, not lost
    (bi / "parquet" / "dim_accounts.parquet").write_bytes(b"old")
    result = publish.publish(bi_settings)
    rows = _ro(bi / "socialpulse.duckdb", "select publish_id, table_name from main.publish_log order by all")
    legacy = [r for r in rows if r[0].startswith("legacy-")]
    assert [r[1] for r in legacy] == ["dim_accounts", "fct_follower_growth_daily"]
    assert publish.published_snapshot(bi_settings) == result.tables
    assert (bi / "parquet").is_symlink()
    assert (bi / "parquet-versions" / f"legacy-{result.publish_id}" / "dim_accounts.parquet").exists()


def test_nothing_to_publish_keeps_the_previous_copy(bi_settings):
    publish.publish(bi_settings)
    before = _fingerprint(bi_settings.bi_dir)
    con = duckdb.connect(str(bi_settings.warehouse))
    for mart in MARTS:
        con.execute(f"drop table marts.{mart}")
    con.close()
    with pytest.raises(publish.PublishError, match="nothing to publish"):
        publish.publish(bi_settings)
    assert _fingerprint(bi_settings.bi_dir) == before
    assert _leftovers(bi_settings.bi_dir) == []


def test_a_mart_that_cannot_be_copied_fails_midway_and_keeps_the_previous_copy(bi_settings):
    """Two tables are already copied when the third (a name no file can carry) fails."""
    publish.publish(bi_settings)
    before = _fingerprint(bi_settings.bi_dir)
    con = duckdb.connect(str(bi_settings.warehouse))
    con.execute('create table marts."z/../../escape" as select 1 as x')
    con.close()
    with pytest.raises(publish.PublishError, match="not publishable"):
        publish.publish(bi_settings)
    assert _fingerprint(bi_settings.bi_dir) == before
    assert _leftovers(bi_settings.bi_dir) == []
    assert not list(bi_settings.home_abs.glob("**/escape*"))


def test_a_failure_after_writing_before_the_swap_keeps_the_previous_copy(bi_settings):
    """A real error between 'copy written and verified' and 'swap': the path of the copy's WAL is a
    folder that cannot be removed, so the swap step raises."""
    first = publish.publish(bi_settings)
    before = _fingerprint(bi_settings.bi_dir)
    add_rows(bi_settings.warehouse, "fct_follower_growth_daily", 5)
    blocker = bi_settings.bi_dir / "socialpulse.duckdb.wal"
    blocker.mkdir()
    (blocker / "keep").write_text("x")
    with pytest.raises(publish.PublishError, match="previous copy kept"):
        publish.publish(bi_settings)
    assert _fingerprint(bi_settings.bi_dir) == before
    assert _leftovers(bi_settings.bi_dir) == []
    assert sorted(p.name for p in (bi_settings.bi_dir / "parquet-versions").iterdir()) == [first.publish_id]
    # Once the obstacle is gone the next publish goes through and carries the log forward.
    (blocker / "keep").unlink()
    blocker.rmdir()
    assert publish.published_snapshot(bi_settings) == first.tables
    second = publish.publish(bi_settings)
    assert second.tables["fct_follower_growth_daily"] == first.tables["fct_follower_growth_daily"] + 5
    pids = {r[0] for r in _ro(bi_settings.bi_dir / "socialpulse.duckdb", "select publish_id from publish_log")}
    assert pids == {first.publish_id, second.publish_id}


PUBLISHES = 24


def test_reader_process_sees_only_complete_snapshots_during_consecutive_publishes(bi_settings, tmp_path):
    """A separate reader process queries the DuckDB copy and the Parquet folder in a loop while the
    marts change and are published 24 times: every snapshot it sees matches its own publish_log and
    it sees zero errors."""
    from tests.bi.warehouse_factory import build_warehouse

    build_warehouse(bi_settings.warehouse, accounts=40, days=120, rows_factor=3)  # ~14k rows per fact
    publish.publish(bi_settings)
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, str(HERE / "reader_probe.py"), str(bi_settings.bi_dir), str(stop), "240"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    timings, published = [], []
    try:
        time.sleep(0.3)
        for i in range(PUBLISHES):
            add_rows(bi_settings.warehouse, "fct_follower_growth_daily", 1 + i)
            if i % 5 == 4:  # marts come and go between publishes too
                con = duckdb.connect(str(bi_settings.warehouse))
                con.execute(f"create or replace table marts.fct_extra as select range as x from range({i})")
                con.close()
            start = time.perf_counter()
            published.append(publish.publish(bi_settings).publish_id)
            timings.append(time.perf_counter() - start)
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    print(json.dumps({"publishes": PUBLISHES, "publish_s_median": sorted(timings)[len(timings) // 2],
                      "publish_s_max": max(timings), **{k: v for k, v in summary.items() if k != "errors"},
                      "snapshots_duckdb": len(summary["snapshots_duckdb"]),
                      "snapshots_parquet": len(summary["snapshots_parquet"])}))
    assert summary["error_count"] == 0, summary["errors"]
    assert summary["reads"] >= PUBLISHES
    # The reader really overlapped the publishes: it saw many distinct snapshots of both forms.
    assert len(summary["snapshots_duckdb"]) >= PUBLISHES // 3
    assert len(summary["snapshots_parquet"]) >= PUBLISHES // 3
    assert set(summary["snapshots_duckdb"]) <= set(published) | {summary["snapshots_duckdb"][0]}
    log_ids = {r[0] for r in _ro(bi_settings.bi_dir / "socialpulse.duckdb", "select publish_id from publish_log")}
    assert set(published) <= log_ids and len(log_ids) == PUBLISHES + 1
