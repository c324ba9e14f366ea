"""Overlap: a backfill started while the nightly run writes the warehouse waits or refuses with a
clear message - never a DuckDB lock traceback, never a corrupted file.

Two real `socialpulse` processes: the nightly `ingest` is paused inside its first load transaction
(tests/drills/hooks.py) while a `backfill` starts. Writing commands hold `$SOCIALPULSE_HOME/writer.lock`
(`warehouse.writer_lock`), and `warehouse.connect` waits a bounded time for DuckDB's own lock (a
writer that does not take the file lock: an Airflow task, dbt), then raises `WarehouseBusy`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import duckdb

from sandbox.server import SandboxServer
from tests.drills.harness import (
    AS_OF,
    BACKFILL,
    DRILL_APP_SECRET,
    DRILL_TOKEN,
    REPO,
    compare_with_truth,
    duplicates,
    pipeline_environ,
    sandbox_config,
    spawn,
    wait_for_marker,
    write_drill_registry,
)


def _socialpulse(env: dict[str, str], *args: str, wait_s: float) -> subprocess.CompletedProcess:
    cmd = [str(REPO / ".venv" / "bin" / "socialpulse"), *args]
    if not (REPO / ".venv" / "bin" / "socialpulse").exists():
        cmd = [sys.executable, "-m", "ingestion.cli", *args]
    return subprocess.run(cmd, cwd=REPO, env={**env, "SOCIALPULSE_WRITER_WAIT_S": str(wait_s)},
                          capture_output=True, text=True, timeout=300)


def _backfill_args() -> list[str]:
    return ["backfill", "--since", BACKFILL[0].isoformat(), "--until", BACKFILL[1].isoformat(), "--no-transform"]


def test_backfill_during_nightly_refuses_or_waits_never_a_traceback(tmp_path):
    registry = write_drill_registry(tmp_path / "accounts.yml")
    home = tmp_path / "data"
    with SandboxServer(sandbox_config()).start() as server:
        env = {**os.environ, **pipeline_environ(home, registry, server)}
        marker, log = tmp_path / "nightly.paused", tmp_path / "nightly.log"
        nightly = spawn("cli", "ingest", "--as-of", AS_OF.isoformat(), env=env, marker=marker, pause_s=8, log=log)
        try:
            wait_for_marker(marker, nightly, log=log)
            started = time.monotonic()
            refused = _socialpulse(env, *_backfill_args(), wait_s=1)
            refused_after = time.monotonic() - started
            # Started while the nightly still writes: waits (up to 120 s) and then completes.
            waited = _socialpulse(env, *_backfill_args(), wait_s=120)
        finally:
            if nightly.poll() is None:
                nightly.wait(timeout=300)
        nightly_log = log.read_text(encoding="utf-8", errors="replace")

    assert nightly.returncode == 0, nightly_log[-3000:]
    # The refusal: exit code 3, one clear line naming the holder, no traceback, nothing done.
    assert refused.returncode == 3, (refused.stdout, refused.stderr[-3000:])
    assert "Traceback" not in refused.stderr + refused.stdout
    assert "is being written by pid" in refused.stderr and "socialpulse ingest" in refused.stderr
    assert "nothing was done" in refused.stderr
    assert refused_after < 30
    outputs = refused.stdout + refused.stderr + waited.stdout + waited.stderr + nightly_log
    assert DRILL_TOKEN not in outputs and DRILL_APP_SECRET not in outputs
    landed_runs = sorted(p.name for p in (home / "landing").iterdir())
    # The wait: it announced itself, then ran after the nightly and loaded everything.
    assert waited.returncode == 0, (waited.stdout, waited.stderr[-3000:])
    assert "waiting up to 120 s" in waited.stderr and "Traceback" not in waited.stderr
    assert sum(1 for n in landed_runs if n.startswith("backfill")) == 1  # the refused one landed nothing
    # Nothing corrupted, nothing lost, nothing twice.
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    con.execute("checkpoint")
    con.close()
    assert duplicates(home / "warehouse.duckdb") == {"observation_dups": 0, "response_dups": 0, "orphans": 0,
                                                     "latest_dups": 0}
    assert compare_with_truth(home / "warehouse.duckdb", ("nightly", "backfill")).lost == 0


def test_writer_outside_the_lock_file_gives_warehouse_busy_not_a_lock_traceback(tmp_path):
    """An Airflow task or dbt holds DuckDB's lock without writer.lock: a writing command waits, then
    refuses (`replay` opens the warehouse first thing; a backfill reaches the same `connect` at its load)."""
    registry = write_drill_registry(tmp_path / "accounts.yml")
    home = tmp_path / "data"
    home.mkdir()
    env = {**os.environ, "SOCIALPULSE_HOME": str(home), "SOCIALPULSE_ACCOUNTS": str(registry)}
    holder = duckdb.connect(str(home / "warehouse.duckdb"))  # this process is "the other writer"
    try:
        started = time.monotonic()
        busy = _socialpulse(env, "replay", wait_s=2)
        busy_after = time.monotonic() - started
    finally:
        holder.close()
    again = _socialpulse(env, "replay", wait_s=2)
    assert busy.returncode == 3, (busy.stdout, busy.stderr[-3000:])
    assert "Traceback" not in busy.stderr + busy.stdout
    assert "held by another writer" in busy.stderr and "nothing was written" in busy.stderr
    assert busy_after < 30
    assert again.returncode == 0, again.stderr[-3000:]
    connect_ok = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    connect_ok.close()
