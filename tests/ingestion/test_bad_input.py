"""Bad input never wedges the warehouse (issue 16): every bad input gets one clear line, a documented
exit code (ingestion/cli/__init__.py) and loses nothing already loaded.

Real sandbox, real warehouse, real dbt and mart gate, the real `socialpulse` command (in-process
through `cli.main`, and as a separate process where a different user is needed for a read-only
data folder). The "platform's last complete day" is the real clock's (yesterday, Pacific), so the
sandbox's own days (2026-11) are in the past and 2030 is in the future.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from ingestion import cli
from ingestion.core.registry import load_registry
from ingestion.extract.plan import last_complete_day
from ingestion.onboarding import doctor
from ingestion.pipeline import chain as pipeline
from tests.conftest import REPO, sized_settings, warehouse_rows

AS_OF = date(2026, 11, 19)  # the sandbox's last complete day (tests/conftest.py SANDBOX_NOW)
FUTURE = date(2030, 1, 1)  # the typo'd year of the issue


@pytest.fixture
def small_env(pipeline_env, tmp_path, monkeypatch):
    """Two Pages, two Instagram accounts, one channel; a 5-day nightly window (fast dbt and gate)."""
    return sized_settings(tmp_path, monkeypatch, {"facebook": 2, "instagram": 2, "youtube": 1},
                          SOCIALPULSE_LOOKBACK_DAYS="5")


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_bad_days_accounts_ranges_and_load_ids_are_refused_before_anything_is_written(small_env, capsys):
    settings = small_env
    registry = {a.platform: a.id for a in load_registry(settings.accounts).accounts}
    cases = [
        (["run", "--as-of", str(FUTURE)], "--as-of 2030-01-01 is after the last complete platform day"),
        (["ingest", "--as-of", str(FUTURE)], "--as-of 2030-01-01 is after the last complete platform day"),
        (["backfill", "--since", "2026-11-01", "--until", str(FUTURE)], "--until 2030-01-01 is after"),
        (["backfill", "--since", "2026-11-10", "--until", "2026-11-05"], "--since 2026-11-10 is after --until"),
        (["backfill", "--since", "2026-11-01", "--until", "2026-11-05", "--account", "nosuch"],
         "--account nosuch: not in the registry"),
        (["backfill", "--since", "2026-11-01", "--until", "2026-11-05", "--platform", "facebook",
          "--account", registry["instagram"]], f"--account {registry['instagram']} is registered on instagram"),
        (["backfill", "--since", "2020-01-01", "--until", "2020-02-01"], "beyond facebook's history limit"),
        (["replay", "--load-id", "nosuch"], "--load-id nosuch: no committed load with that id"),
    ]
    for args, expected in cases:
        code, out, err = _cli(capsys, *args)
        assert code == 2, (args, out, err)
        assert expected in err and "nothing was" in err, (args, err)
        assert len(err.strip().splitlines()) == 1 and out == "", (args, out, err)
    # Nothing was written: no data folder at all (no lock file, no log file, no warehouse).
    assert not settings.home_abs.exists()
    # A range reaching past the history limit is narrowed, and says so.
    last = last_complete_day("facebook")
    notes = pipeline.check_backfill(settings, date(2020, 1, 1), last, ("facebook",))
    assert len(notes) == 1 and "730-day history limit" in notes[0]


def _make_read_only(paths: list[Path], read_only: bool) -> None:
    """Permission bits, and for root (who writes past them) the immutable attribute as well.

    Why not drop to another user instead: the checkout and its virtualenv may sit in a folder only
    root can enter (a fresh clone in a mktemp folder, as CI makes), and then no other user can even
    start the interpreter.
    """
    root = os.geteuid() == 0
    if root and not read_only:  # an immutable file refuses even chmod: lift the attribute first
        subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
    for path in paths:
        path.chmod((0o555 if path.is_dir() else 0o444) if read_only else (0o755 if path.is_dir() else 0o644))
    if root and read_only:
        subprocess.run(["chattr", "+i", *map(str, paths)], check=True)


def test_future_coverage_blocks_publish_with_its_cause_and_repair_then_repair_loses_nothing(small_env, capsys):
    settings = small_env
    # The wedge as the issue found it: a run with a typo'd year, as versions before the refusal let
    # through (the pipeline with a clock at which 2030-01-01 is complete, against the real sandbox
    # that has no such days): the coverage ledger records the 5 (YouTube: 7) days up to 2030-01-01 as fetched.
    wedge = pipeline.run_ingest(settings, FUTURE, now=datetime(2030, 1, 2, 17, tzinfo=UTC))
    assert wedge.failed_accounts == []
    assert warehouse_rows(settings, "select max(until) from raw.coverage") == [(FUTURE,)]

    # status and doctor see the blocked publish before any gate ran.
    code, out, _ = _cli(capsys, "status")
    lines = out.splitlines()
    assert code == 0 and lines[0].endswith("; BLOCKED") and lines[0].startswith("5 accounts: ")
    assert "socialpulse repair --drop-future" in out
    assert max(len(line) for line in lines) <= 80
    code, out, _ = _cli(capsys, "status", "--json")
    data = json.loads(out)
    assert data["summary"]["blocked"] is True and len(data["accounts"]) == 5
    assert "27 account-day(s)" in data["publish"]["cause"] and "..2030-01-01, 5 account(s)" in data["publish"]["cause"]
    found = doctor.run_doctor(network=False, record=False, airflow=False)
    blocked = [f for f in found.findings if f.check == "publish"]
    assert len(blocked) == 1 and blocked[0].severity == doctor.Severity.ERROR
    assert "repair --drop-future" in blocked[0].fix and found.exit_code == 1

    # The nightly run for a real day: loads, then the gate blocks the publish: the load summary,
    # then one line with the cause (the future days) and the repair command; exit code 4.
    code, out, err = _cli(capsys, "run", "--as-of", str(AS_OF))
    assert code == 4, (out, err)
    assert "facebook   2 of 2 accounts loaded" in out and "instagram  2 of 2 accounts loaded" in out
    gate_lines = [line for line in err.splitlines() if "mart gate blocked publish" in line]
    assert len(gate_lines) == 1
    assert "27 account-day(s)" in gate_lines[0] and "..2030-01-01" in gate_lines[0]
    assert "`socialpulse repair --drop-future`" in gate_lines[0]
    assert not (settings.bi_dir / "socialpulse.duckdb").exists()
    observations = warehouse_rows(settings, "select count(*), max(metric_date) from raw.observations")
    assert observations[0][0] > 0 and observations[0][1] == AS_OF

    # The repair removes only the future ledger entries; every observation stays.
    code, out, _ = _cli(capsys, "repair", "--drop-future")
    assert code == 0 and "5 future entries removed" in out
    assert warehouse_rows(settings, "select count(*), max(metric_date) from raw.observations") == observations
    assert warehouse_rows(settings, "select max(until) from raw.coverage")[0][0] <= last_complete_day("facebook")
    kept = warehouse_rows(settings, "select count(*) from raw.coverage where until >= ?", [AS_OF])[0][0]
    assert kept > 0  # real days kept
    code, out, _ = _cli(capsys, "repair", "--drop-future")
    assert code == 0 and "nothing to repair" in out
    code, out, _ = _cli(capsys, "status")
    assert out.splitlines()[0].endswith("; BLOCKED")  # the last gate failed: a run is still due
    assert "`socialpulse run`" in out and "drop-future" not in out

    # The next run publishes again; status and doctor agree.
    code, out, err = _cli(capsys, "run", "--as-of", str(AS_OF))
    assert code == 0, (out, err)
    assert (settings.bi_dir / "socialpulse.duckdb").exists()
    code, out, _ = _cli(capsys, "status")
    assert "BLOCKED" not in out and "published never" not in out.splitlines()[0]
    assert not [f for f in doctor.run_doctor(network=False, record=False, airflow=False).findings
                if f.check == "publish"]
    code, out, _ = _cli(capsys, "replay", "--load-id", "nosuch")
    assert code == 2

    # A data folder this user cannot write: `run` and `report` say so in one line, exit code 5.
    readonly = Path(tempfile.mkdtemp(prefix="socialpulse-ro-"))
    try:
        home = readonly / "data"
        shutil.copytree(settings.home_abs, home, ignore=shutil.ignore_patterns("writer.lock", "reports"))
        _make_read_only([readonly, *readonly.rglob("*")], True)
        env = {**os.environ, "SOCIALPULSE_HOME": str(home)}
        for args in (["run", "--as-of", str(AS_OF)], ["report"]):
            done = subprocess.run([sys.executable, "-m", "ingestion.cli", *args], cwd=REPO,
                                  env=env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 5, (args, done.stdout, done.stderr[-2000:])
            assert "Traceback" not in done.stderr
            line = [x for x in done.stderr.splitlines() if x.startswith("socialpulse:")]
            assert len(line) == 1 and f"cannot write to the data folder {home}" in line[0], done.stderr
            assert "SOCIALPULSE_HOME" in line[0]
    finally:
        _make_read_only([readonly, *readonly.rglob("*")], False)
        shutil.rmtree(readonly)
