"""Fail fast, and output a person can follow (issue 16, items 3, 5 and 6).

Through the real `socialpulse` CLI (in process) against the sandbox over real HTTP, with the shipped
registry (80 Facebook Pages, 80 Instagram accounts, 10 YouTube channels: two chunks per Meta
platform), as a new user would meet it:

- a Graph URL on a closed port, an expired Meta token, no Meta token: the first 3 accounts of each
  Meta platform fail alike, the other 77 are skipped without a call and recorded, the summary says
  once what is wrong and which setting fixes it, YouTube goes on;
- a healthy run: a summary of a few lines (where the warehouse, BI copy, report and log are, the
  next command), plain progress lines on stderr, dbt's and GX's detail in the log file only;
- pacing waits show in the progress;
- the report's per-1,000-residents tile is labelled and defined as follows (not followers).

No test here asserts a duration: fail fast is asserted on requests attempted and accounts skipped.
"""

from __future__ import annotations

import io
import re
import socket
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingestion.cli import main
from ingestion.cli.console import Console
from ingestion.core.settings import load_settings
from ingestion.extract import landing
from ingestion.extract.fetch import fetch_chunk
from ingestion.extract.http import HttpClient
from ingestion.extract.plan import AccountPlan
from ingestion.pipeline import orchestration
from ingestion.pipeline.notify import TransientAccountsError
from ingestion.sources import FetchContext
from sandbox.server import SandboxConfig, SandboxServer
from tests.conftest import SANDBOX_NOW

AS_OF = "2026-11-19"  # the sandbox clock's last complete platday (tests/conftest.py)
META = ("facebook", "instagram")
PER_PLATFORM = {"facebook": 80, "instagram": 80, "youtube": 10}
ANSI = re.compile(r"\x1b\[")


@pytest.fixture
def env(pipeline_env, monkeypatch):
    """The shared sandbox environment with a 3-day lookback (what these tests check does not need 35)."""
    monkeypatch.setenv("SOCIALPULSE_LOOKBACK_DAYS", "3")
    return load_settings()


def _dead_url() -> str:
    """A loopback URL nothing listens on: bind a port, then close it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _cli(capsys, *argv: str) -> tuple[int, list[str], list[str]]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.splitlines()


def _runs(settings) -> dict[str, dict[str, int]]:
    """Per platform, from raw.account_runs (what `status` reads): accounts ok, with calls, skipped."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select platform, count(*) filter (where status <> 'failed'), count(*) filter (where requests > 0), "
            "count(*) filter (where message like 'skipped: %'), count(*) from raw.account_runs group by 1"
        ).fetchall()
    finally:
        con.close()
    return {p: {"ok": ok, "called": called, "skipped": skipped, "rows": n} for p, ok, called, skipped, n in rows}


def _assert_meta_stopped(out: list[str], err: list[str], settings, reason: str, fix: str, called: int) -> None:
    """Both Meta platforms stopped after their first 3 accounts; said once each; YouTube loaded."""
    stopped = [line for line in out if line.startswith("STOPPED")]
    assert len(stopped) == 2, out
    for platform, line in zip(META, stopped, strict=True):
        assert line.startswith(f"STOPPED    {platform}: the first 3 accounts") and "77 more skipped" in line
        assert reason in line
        following = out[out.index(line) + 1]
        assert following.strip().startswith("fix:") and fix in following
    assert sum(reason in line for line in out) == 2  # the cause once per platform, never per account
    assert not [line for line in out if line.startswith("FAILED")], out
    assert len(out) <= 12, out
    for platform in META:
        assert any(line.startswith(platform) and line.endswith("nothing loaded: 80 of 80 accounts failed or skipped")
                   for line in out), out
    assert "None..None" not in "\n".join(out)
    assert any(line.startswith("youtube") and "10 of 10 accounts loaded" in line for line in out)
    for text in ("Traceback", "urllib3", "HTTPConnectionPool", "Max retries"):
        assert text not in "\n".join(out + err)
    runs = _runs(settings)
    for platform in META:
        # the first 3 accounts only were tried (`called` of them sent calls); the rest skipped, and
        # every account is recorded for `status`
        assert runs[platform] == {"ok": 0, "called": called, "skipped": 77, "rows": 80}, runs
    assert runs["youtube"]["ok"] == 10


def test_closed_graph_port_stops_meta_after_three_accounts_and_names_the_setting(env, capsys, monkeypatch):
    dead = _dead_url()
    monkeypatch.setenv("SOCIALPULSE_GRAPH_URL", dead)
    code, out, err = _cli(capsys, "ingest", "--as-of", AS_OF)
    assert code == 1
    _assert_meta_stopped(out, err, load_settings(), f"cannot reach {dead}: connection refused",
                         f"check SOCIALPULSE_GRAPH_URL (now {dead})", called=3)


def test_expired_meta_token_stops_meta_after_three_accounts(env, capsys, monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", "expired-token-for-test")
    code, out, err = _cli(capsys, "ingest", "--as-of", AS_OF)
    assert code == 1
    _assert_meta_stopped(out, err, load_settings(), "SOCIALPULSE_META_TOKEN was refused: (190/463)",
                         "renew the token in SOCIALPULSE_META_TOKEN (`socialpulse token exchange`)", called=3)
    assert "expired-token-for-test" not in "\n".join(out + err)


def test_missing_meta_token_names_the_variable_and_calls_nothing(env, capsys, monkeypatch):
    monkeypatch.delenv("SOCIALPULSE_META_TOKEN")
    code, out, err = _cli(capsys, "ingest", "--as-of", AS_OF)
    assert code == 1
    _assert_meta_stopped(out, err, load_settings(), "no token configured: SOCIALPULSE_META_TOKEN is not set",
                         "set SOCIALPULSE_META_TOKEN", called=0)


def test_airflow_fetch_task_stops_its_shard_early_and_logs_the_cause_once(env, monkeypatch, caplog):
    """The DAGs' fetch task runs the same engine: one shard of 50 Pages on a dead port."""
    monkeypatch.setenv("SOCIALPULSE_GRAPH_URL", _dead_url())
    chunk = [AccountPlan("facebook", str(100000000000000 + i), None, date(2026, 11, 17), date(2026, 11, 19)).to_dict()
             for i in range(1, 51)]
    with pytest.raises(TransientAccountsError):  # tries left: Airflow retries the shard (the host may come back)
        orchestration.fetch("run-airflow", chunk, try_number=1, max_tries=1, as_of=AS_OF)
    caplog.clear()
    result = orchestration.fetch("run-airflow", chunk, try_number=2, max_tries=1, as_of=AS_OF)
    assert result["accounts_failed"] == 50
    called = [s["account_id"] for s in landing.read_statuses(env.landing_dir, "run-airflow", "facebook")
              if s["requests"]]
    assert called == [p["account_id"] for p in chunk[:3]]  # only the first 3 accounts sent calls
    assert [(s["skipped"], s["first_accounts"]) for s in result["stopped"]] == [
        (47, [p["account_id"] for p in chunk[:3]])]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) <= 5 and sum("skipped" in w for w in warnings) == 2, warnings
    with pytest.raises(orchestration.AccountsFailed) as failed:
        orchestration.report({"facebook": [chunk]}, [result], [])
    assert len(str(failed.value).splitlines()) == 1 + 3 + 1  # headline, the 3 tried, one line for the 47


def test_a_healthy_run_prints_a_short_summary_and_files_the_detail(env, capsys):
    code, out, err = _cli(capsys, "run", "--as-of", AS_OF)
    assert code == 0, out
    settings = load_settings()
    labels = [line[:10].strip() for line in out]
    assert labels == ["facebook", "instagram", "youtube", "warehouse", "BI copy", "report", "log", "next"], out
    for platform, n in PER_PLATFORM.items():
        assert f"{n} of {n} accounts loaded" in out[labels.index(platform)]
    where = {label: line[10:].strip() for label, line in zip(labels, out, strict=True)}
    assert where["warehouse"] == str(settings.warehouse)
    assert where["BI copy"].startswith(str(settings.bi_dir))
    assert Path(where["report"]).is_file()
    log_path = Path(where["log"].split(" (")[0])
    assert log_path.parent == settings.home_abs / "logs" and log_path.is_file()
    assert "socialpulse status" in where["next"]
    # stderr: plain progress lines only (not a terminal), each phase once, per-platform counts, and a
    # "still running" line for any 10 s without news (dbt build)
    assert err and all(re.match(r"\[\s*\d+ s\] ", line) for line in err), err
    assert len([line for line in err if not line.endswith("(still running)")]) <= 25, err
    for phase in ("dbt build", "mart gate", "publishing", "report"):
        assert sum(line.endswith(f"] {phase}") for line in err) == 1, err
    for platform, n in PER_PLATFORM.items():
        assert any(f"] {platform}: {n}/{n} accounts, " in line for line in err), err
    # the detail: dbt's ~370 lines in the log file without colour codes, no GX chatter anywhere
    log_text = log_path.read_text(encoding="utf-8")
    assert log_text.count(" dbt: ") > 100 and "Completed successfully" in log_text
    assert "load gate" in log_text
    for text in (out, err, log_text.splitlines()):
        joined = "\n".join(text)
        assert not ANSI.search(joined) and "Skipping registering function" not in joined
    assert not [line for line in out + err if "Running with dbt" in line or "OK created" in line]
    # item 6: the per-1,000 tile counts follows, and says so
    html = Path(where["report"]).read_text(encoding="utf-8")
    assert "Följningar per 1 000 invånare" in html and "Följare per 1 000" not in html
    assert "räknas en gång per konto" in html


def test_pacing_waits_show_in_the_progress(tmp_path, monkeypatch):
    """An account already at 76 % of its hourly call budget: the fetch slows down for its usage
    (X-Business-Use-Case-Usage above 75 %) and the progress says so."""
    account, budget = "17841400000000001", 100
    server = SandboxServer(SandboxConfig(accounts=1, seed=42, now=SANDBOX_NOW, youtube_channels=0,
                                         call_budget_per_hour=budget)).start()
    try:
        monkeypatch.setenv("SOCIALPULSE_HOME", str(tmp_path / "data"))
        monkeypatch.setenv("SOCIALPULSE_GRAPH_URL", server.graph_url)
        monkeypatch.setenv("SOCIALPULSE_META_TOKEN", "sandbox-test-token")
        heater = HttpClient(max_retries=0)
        try:
            for _ in range(76):
                heater.send("GET", f"{server.graph_url}/v25.0/{account}",
                            params={"fields": "followers_count", "access_token": "sandbox-test-token"})
        finally:
            heater.close()
        settings = load_settings()
        stream = io.StringIO()
        plans = [AccountPlan("instagram", account, None, date(2026, 11, 19), date(2026, 11, 19))]
        with Console("ingest", settings, stream=stream, live=False) as console:
            console.planned(plans)
            result = fetch_chunk(settings, "run-paced", "c0", plans, FetchContext(as_of=date(2026, 11, 19)), console)
    finally:
        server.stop()
    assert result.accounts_failed == 0 and result.paced_accounts == [account]
    lines = stream.getvalue().splitlines()
    last = [line for line in lines if "instagram: 1/1 accounts" in line]
    assert len(last) == 1 and re.search(r"\d+ s of waits for usage limits", last[0]), lines
    # an account counts as done only once nothing of it is in flight or waiting
    assert [line for line in lines if "instagram:" in line][-1] == last[0] and "in flight" not in last[0]


def test_live_display_on_a_terminal_draws_and_leaves_no_trace(env):
    """On a terminal the display is a transient rich progress: nothing of it is left in the output."""
    stream = io.StringIO()
    plans = [AccountPlan("facebook", "100000000000001", None, date(2026, 11, 19), date(2026, 11, 19))]
    with Console("ingest", env, stream=stream, live=True) as console:
        console.planned(plans)
        fetch_chunk(env, "run-live", "c0", plans, FetchContext(as_of=date(2026, 11, 19)), console)
        console.step("loading facebook")
    assert console.chunks["facebook"]["c0"].done == 1
    assert "Traceback" not in stream.getvalue()


def test_plain_progress_says_still_running_when_a_phase_is_long(env, monkeypatch):
    """Not a terminal: a phase that says nothing for PLAIN_EVERY_S (dbt, a paced round) is still
    reported, so a cron log never goes silent for minutes."""
    from ingestion.cli import console as console_mod

    monkeypatch.setattr(console_mod, "PLAIN_EVERY_S", 0.2)
    stream = io.StringIO()
    with Console("run", env, stream=stream, live=False) as console:
        console.step("dbt build")
        deadline = time.monotonic() + 30
        while "dbt build (still running)" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.05)  # polling for the ticker's line, bounded by the deadline
    assert "] dbt build (still running)" in stream.getvalue()
