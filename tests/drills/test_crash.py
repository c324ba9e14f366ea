"""Crash drills: `kill -9` the loader inside its transaction, the dbt build, and the publish; restart.

After each kill: the warehouse opens, it holds no partial load, the BI copy is the previous or the
new one (never a mix of the two), and a re-run completes with results equal to an uninterrupted run.
The children are real pipeline code paused at real points of danger (tests/drills/hooks.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from ingestion.core.registry import load_registry
from ingestion.core.settings import load_settings
from ingestion.load import loader as load
from ingestion.load.warehouse import connect
from ingestion.publish import bi_copy as publish
from ingestion.transform import runner as transform
from tests.drills.harness import (
    REPO,
    duplicates,
    environ,
    kill9,
    spawn,
    table_rows,
    wait_for_marker,
)

RUN_ID = "nightly__drill"
VOLATILE = {  # columns that hold the wall-clock time of the load/build, not data
    "raw.loads": ("started_at", "committed_at"),
    "raw.account_runs": ("finished_at",),
    "raw.coverage": ("fetched_at",),
    "raw.accounts": ("loaded_at",),
    "raw.organisation": ("loaded_at",),
    "raw.metric_registry_events": ("detected_at",),
}
MART_VOLATILE = ("as_of_at", "hours_since_successful_load")  # fct_account_health uses current_timestamp


def _env(home: Path, registry: Path) -> dict[str, str]:
    return {"SOCIALPULSE_HOME": str(home), "SOCIALPULSE_ACCOUNTS": str(registry), "GX_ANALYTICS_ENABLED": "false",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def _home_with_landing(root: Path, name: str, source_home: Path, warehouse: Path | None) -> Path:
    home = root / name / "data"
    shutil.copytree(source_home / "landing" / RUN_ID, home / "landing" / RUN_ID)
    if warehouse is not None:
        shutil.copyfile(warehouse, home / "warehouse.duckdb")
    return home


def _raw_state(warehouse: Path) -> dict[str, list[tuple]]:
    tables = ("raw.observations", "raw.responses", "raw.objects", *VOLATILE)
    return {t: table_rows(warehouse, t, VOLATILE.get(t, ())) for t in tables}


@pytest.fixture(scope="module")
def loader_states(nightly_home, tmp_path_factory):
    """The landing batch of the drill nightly. `ref`: its warehouse after the three loads (facebook,
    instagram, youtube), uninterrupted; `pre`: the same without the facebook load."""
    root = tmp_path_factory.mktemp("loader")
    ref_home = _home_with_landing(root, "ref", nightly_home.home, nightly_home.pre_dbt)
    pre_home = _home_with_landing(root, "pre", nightly_home.home, nightly_home.pre_dbt)
    con = duckdb.connect(str(pre_home / "warehouse.duckdb"))
    load_id = load.load_id_for(RUN_ID, "facebook")
    for table in ("observations", "responses", "objects", "account_runs", "coverage", "loads", "validation_runs"):
        con.execute(f"delete from raw.{table} where load_id = ?", [load_id])
    con.execute("delete from raw.metric_registry_events where run_id = ? and platform = 'facebook'", [RUN_ID])
    con.close()
    return root, pre_home, ref_home, nightly_home


def _check_no_partial_load(warehouse: Path, pre_state: dict) -> None:
    con = connect(warehouse)  # a writer can open it (DuckDB replays or drops its WAL)
    con.close()
    assert duplicates(warehouse) == {"observation_dups": 0, "response_dups": 0, "orphans": 0, "latest_dups": 0}
    assert _raw_state(warehouse) == pre_state, "the killed load left rows behind"


def test_kill_loader_inside_its_transaction(loader_states):
    root, pre_home, ref_home, nightly = loader_states
    home = _home_with_landing(root, "killed", nightly.home, pre_home / "warehouse.duckdb")
    env = _env(home, nightly.registry)
    marker, log = root / "load.paused", root / "load.log"
    child = spawn("load", RUN_ID, "facebook", env=env, marker=marker, log=log)
    wait_for_marker(marker, child, log=log)
    # The child is inside the transaction: every insert done, the raw.loads row written, no commit.
    kill9(child)

    warehouse = home / "warehouse.duckdb"
    _check_no_partial_load(warehouse, _raw_state(pre_home / "warehouse.duckdb"))
    with environ(env):  # restart: the same load again completes, exactly once
        settings = load_settings()
        result = load.load_run(settings, load_registry(settings.accounts), RUN_ID, "facebook")
        assert result.status == "committed"
        assert load.load_run(settings, load_registry(settings.accounts), RUN_ID, "facebook").status == \
            "already_loaded"
    assert _raw_state(warehouse) == _raw_state(ref_home / "warehouse.duckdb")


@pytest.mark.drills_long
def test_kill_loader_at_any_moment_is_all_or_nothing(loader_states):
    """kill -9 at spread moments of a load process's life (import, parse, gate, transaction, commit)."""
    root, pre_home, ref_home, nightly = loader_states
    pre_state = _raw_state(pre_home / "warehouse.duckdb")
    ref_state = _raw_state(ref_home / "warehouse.duckdb")
    outcomes = []
    # How long an uninterrupted load process lives on this machine, then kills spread over it.
    home = _home_with_landing(root, "timing", nightly.home, pre_home / "warehouse.duckdb")
    started = time.monotonic()
    spawn("load", RUN_ID, "facebook", env=_env(home, nightly.registry)).wait(timeout=300)
    lifetime = time.monotonic() - started
    assert _raw_state(home / "warehouse.duckdb") == ref_state
    for i, delay in enumerate(f * lifetime for f in (0.4, 0.7, 0.9, 0.99)):
        home = _home_with_landing(root, f"sweep{i}", nightly.home, pre_home / "warehouse.duckdb")
        child = spawn("load", RUN_ID, "facebook", env=_env(home, nightly.registry))
        time.sleep(delay)
        if child.poll() is None:
            kill9(child)
        warehouse = home / "warehouse.duckdb"
        connect(warehouse).close()
        state = _raw_state(warehouse)
        assert state in (pre_state, ref_state), f"a mix after a kill at {delay} s"
        outcomes.append("committed" if state == ref_state else "nothing")
        with environ(_env(home, nightly.registry)):
            settings = load_settings()
            load.load_run(settings, load_registry(settings.accounts), RUN_ID, "facebook")
        assert _raw_state(warehouse) == ref_state
    print(f"loader kill sweep over a {lifetime:.1f} s load: {outcomes}")
    assert "nothing" in outcomes


@pytest.mark.drills_long
def test_kill_dbt_build_then_rebuild_equals_uninterrupted(nightly_home, tmp_path):
    home = tmp_path / "data"
    home.mkdir()
    shutil.copyfile(nightly_home.pre_dbt, home / "warehouse.duckdb")
    env = {**os.environ, **_env(home, nightly_home.registry)}
    # dbt's lines go to the run's log file by default; the drill needs them on stdout to time its kill
    code = "from ingestion.transform import runner as transform; from ingestion.core.settings import load_settings; " \
           "transform.build(load_settings(), log=lambda line: print(line, flush=True))"
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    created, killed = 0, None
    assert parent.stdout is not None
    for line in parent.stdout:
        if " OK created " in line:
            created += 1
        if created >= 12 and killed is None:  # a dozen models written, the rest still to come
            # dbt runs inside the process that called transform.build (ingestion/transform/runner.py)
            os.kill(parent.pid, signal.SIGKILL)
            killed = created
    parent.wait(timeout=120)
    assert killed is not None, "dbt finished before the drill could kill it"
    assert parent.returncode == -signal.SIGKILL

    warehouse = home / "warehouse.duckdb"
    connect(warehouse).close()  # the warehouse opens for writing after the kill
    with environ(_env(home, nightly_home.registry)):
        result = transform.build(load_settings(), log=lambda line: None)
    assert result.returncode == 0 and not result.failed
    # every dbt mart (the mart gate's findings table is written by the gate after dbt, not by dbt)
    marts = [t for t in _tables(nightly_home.home / "warehouse.duckdb", "marts") if t != "fct_data_quality_findings"]
    assert marts == _tables(warehouse, "marts")
    for table in marts:
        assert table_rows(warehouse, f"marts.{table}", MART_VOLATILE) == \
            table_rows(nightly_home.home / "warehouse.duckdb", f"marts.{table}", MART_VOLATILE), table


def _tables(path: Path, schema: str) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [r[0] for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = ? order by 1", [schema]).fetchall()]
    finally:
        con.close()


def _bi_snapshot(bi_dir: Path) -> dict:
    """What a BI reader sees: per table the rows of the DuckDB copy, its own log, and the Parquet folder."""
    con = duckdb.connect(str(bi_dir / publish.BI_FILE), read_only=True)
    try:
        latest = con.execute(publish.LATEST_PUBLISH_SQL).fetchone()[0]
        logged = dict(con.execute(f"select table_name, row_count from main.{publish.LOG_TABLE} "
                                  "where publish_id = ?", [latest]).fetchall())
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'marts' "
                                            "order by 1").fetchall()]
        counts = {t: con.execute(f'select count(*) from marts."{t}"').fetchone()[0] for t in tables}
        content = {t: sorted(map(repr, con.execute(f'select * from marts."{t}"').fetchall())) for t in tables}
    finally:
        con.close()
    folder = Path(os.path.realpath(bi_dir / publish.PARQUET_LINK))
    pq = duckdb.connect()
    try:
        parquet_latest = pq.execute(
            f"select publish_id from read_parquet('{folder / (publish.LOG_TABLE + '.parquet')}') "
            "order by published_at desc, publish_id desc limit 1").fetchone()[0]
        parquet_logged = dict(pq.execute(
            f"select table_name, row_count from read_parquet('{folder / (publish.LOG_TABLE + '.parquet')}') "
            "where publish_id = ?", [parquet_latest]).fetchall())
        parquet_counts = {t: pq.execute(f"select count(*) from read_parquet('{folder / (t + '.parquet')}')")
                          .fetchone()[0] for t in parquet_logged}
    finally:
        pq.close()
    return {"publish_id": latest, "logged": logged, "counts": counts, "content": content,
            "parquet_publish_id": parquet_latest, "parquet_counts": parquet_counts, "parquet_logged": parquet_logged,
            "parquet_folder": folder.name}


@pytest.mark.parametrize("point", ["copy", "verify", "swap_parquet"])
def test_kill_publish_leaves_the_previous_or_the_new_copy(nightly_home, tmp_path, point):
    home = tmp_path / "data"
    shutil.copytree(nightly_home.home / "bi", home / "bi", symlinks=True)
    shutil.copyfile(nightly_home.home / "warehouse.duckdb", home / "warehouse.duckdb")
    previous = _bi_snapshot(home / "bi")
    # The next publish differs from the previous one: the working marts lose a day.
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("delete from marts.fct_account_daily where metric_date = (select max(metric_date) "
                "from marts.fct_account_daily)")
    con.close()

    env = _env(home, nightly_home.registry)
    marker, log = tmp_path / "publish.paused", tmp_path / "publish.log"
    child = spawn("publish", "drill-publish", point, env=env, marker=marker, log=log)
    wait_for_marker(marker, child, log=log)
    kill9(child)

    after = _bi_snapshot(home / "bi")
    # Each form is internally consistent: the DuckDB file holds exactly what its own log says,
    # and the Parquet folder the log it carries.
    assert after["counts"] == after["logged"]
    assert after["parquet_counts"] == after["parquet_logged"]
    if point in ("copy", "verify"):  # killed before the swap: the previous copy, in both forms
        assert after == previous
    else:  # killed between the two swaps: the DuckDB file is the new copy, Parquet still the previous one
        assert after["publish_id"] != previous["publish_id"]
        assert after["content"]["fct_account_daily"] != previous["content"]["fct_account_daily"]
        assert {k: after["content"][k] for k in after["content"] if k != "fct_account_daily"} == \
            {k: previous["content"][k] for k in previous["content"] if k != "fct_account_daily"}
        assert after["parquet_publish_id"] == previous["parquet_publish_id"]

    with environ(env):  # restart: the next publish completes and cleans up after the crash
        result = publish.publish(load_settings(), run_id="drill-publish-again")
    final = _bi_snapshot(home / "bi")
    assert final["publish_id"] == final["parquet_publish_id"] == result.publish_id
    assert final["counts"] == final["logged"] == final["parquet_counts"] == final["parquet_logged"]
    leftovers = [p.name for p in (home / "bi").iterdir() if p.name.endswith((".tmp", ".lnk", ".wal"))]
    leftovers += [p.name for p in (home / "bi" / publish.PARQUET_VERSIONS).iterdir() if p.name.startswith(".")]
    assert leftovers == []
    # Equal to an uninterrupted publish of the same marts.
    uninterrupted = tmp_path / "clean" / "data"
    uninterrupted.mkdir(parents=True)
    shutil.copyfile(home / "warehouse.duckdb", uninterrupted / "warehouse.duckdb")
    with environ(_env(uninterrupted, nightly_home.registry)):
        publish.publish(load_settings(), run_id="drill-publish-clean")
    assert _bi_snapshot(uninterrupted / "bi")["content"] == final["content"]
