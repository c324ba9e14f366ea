"""`socialpulse doctor` against the sandbox: each injected problem is reported with the right fix."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingestion.core.findings import Finding, Severity
from ingestion.core.settings import load_settings
from ingestion.onboarding import discover as D
from ingestion.onboarding import doctor
from ingestion.onboarding.cli import main as cli
from sandbox import data as sandbox_data
from tests.conftest import SANDBOX_NOW
from tests.onboarding.conftest import GOOD_TOKEN, PAGES, YOUTUBE_TOKEN


@pytest.fixture
def registered(onboarding_env):
    """A registry discovered from the sandbox (10 Pages, 10 IG accounts, YouTube channel 1)."""
    D.run_discover(load_settings(), organisation="Sandviks kommun", population=39000, today="2026-11-20")
    return onboarding_env / "accounts.yml"


def _run(**kwargs) -> doctor.DoctorReport:
    kwargs.setdefault("now", SANDBOX_NOW)
    kwargs.setdefault("airflow", False)
    return doctor.run_doctor(**kwargs)


def _errors(report, check=None):
    return [f for f in report.errors if check is None or f.check == check]


def _rendered(report) -> str:
    from rich.console import Console

    buf = io.StringIO()
    doctor.print_report(report, Console(file=buf, width=250))
    return buf.getvalue() + json.dumps(report.to_json(), default=str)


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_clean_setup_exits_zero_and_records_token_health(registered, onboarding_env):
    from ingestion.load.warehouse import connect

    connect(load_settings().warehouse).close()  # an existing, idle warehouse
    report = _run()
    assert report.errors == [], report.errors
    assert report.exit_code == 0
    assert report.checked["account"] == 2 * PAGES + 1
    import duckdb

    with duckdb.connect(str(load_settings().warehouse), read_only=True) as con:
        rows = con.sql("select token_ref, platform, is_valid, expires_at, missing_scopes from raw.tokens "
                       "order by platform").fetchall()
    assert rows == [("SOCIALPULSE_META_TOKEN", "facebook", True, None, []),
                    ("SOCIALPULSE_META_TOKEN", "instagram", True, None, [])]
    assert GOOD_TOKEN not in _rendered(report)


def test_clean_setup_cli_exit_code(registered, capsys):
    assert cli(["doctor", "--no-airflow"]) == 0
    out = capsys.readouterr().out
    assert "All good" in out or "no errors" in out
    assert GOOD_TOKEN not in out and YOUTUBE_TOKEN not in out


def test_expired_token_is_one_error_with_the_system_user_fix(registered, monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", "expired-token-of-a-person")
    report = _run()
    [finding] = _errors(report, "token")
    assert finding.subject == "SOCIALPULSE_META_TOKEN"
    assert "expired (190/463)" in finding.problem and f"{2 * PAGES} accounts use it" in finding.problem
    assert "Systemanvändare" in finding.fix and "Generera ny token" in finding.fix
    assert _errors(report, "account") == []  # its accounts are not reported one by one
    assert report.exit_code == 1
    assert "expired-token-of-a-person" not in _rendered(report)


def test_revoked_token_names_the_cause(registered, monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", "revoked-token")
    [finding] = _errors(_run(), "token")
    assert "190/460" in finding.problem


def test_missing_scope_names_the_permission_the_calls_and_the_fix(registered, monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", "sandbox-noscope-read_insights-token")
    report = _run()
    [finding] = _errors(report)
    assert finding.check == "token" and "permission read_insights missing" in finding.problem
    assert "facebook insights" in finding.problem
    assert "grant read_insights" in finding.fix and "Behörigheter" in finding.fix
    assert report.exit_code == 1
    rows = [c for c in report.token_checks if c.platform == "facebook"]
    assert rows[0].missing_scopes == ["read_insights"]


def test_missing_node_permission_explains_the_unreadable_accounts_once(registered, monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", "sandbox-noscope-instagram_basic-token")
    report = _run()
    assert [f.problem.split(":")[0] for f in report.errors] == ["permission instagram_basic missing"]
    notes = [f for f in report.findings if f.severity is Severity.INFO and f.check == "account"]
    assert notes and f"{PAGES} accounts could not be read" in notes[0].problem


def test_unreachable_account_is_reported_with_its_registry_line_and_fix(registered, monkeypatch):
    # GIVEN a registered Page the token cannot see (the sandbox only has Pages 1..10)
    path = registered
    ghost = sandbox_data.facebook_page_id(PAGES + 5)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f'  - platform: facebook\n    id: "{ghost}"\n    name: "Gamla sidan"\n    department: "Kultur"\n')
    # WHEN the doctor runs
    report = _run()
    # THEN exactly that account is an error, located in the file, with the fix
    [finding] = _errors(report)
    assert finding.check == "account"
    assert finding.subject == f"facebook:{ghost} (accounts.yml:{_line_of(path, ghost) - 1})"
    assert "unreachable" in finding.problem and "(100/33)" in finding.problem
    assert "Tilldela tillgångar" in finding.fix and "accounts discover --dry-run" in finding.fix
    assert report.exit_code == 1


def test_unreachable_youtube_channel(registered):
    ghost = sandbox_data.youtube_channel_id(40)
    with registered.open("a", encoding="utf-8") as handle:
        handle.write(f'  - platform: youtube\n    id: "{ghost}"\n    name: "Gammal kanal"\n    department: "Kultur"\n')
    [finding] = _errors(_run())
    assert finding.subject.startswith(f"youtube:{ghost}") and "no such YouTube channel" in finding.problem


def test_bad_registry_lines_are_reported_line_by_line(registered):
    path = registered
    text = path.read_text(encoding="utf-8")
    first_fb = sandbox_data.facebook_page_id(1)
    text = text.replace(f'    id: "{first_fb}"\n    name:', f'    id: "{first_fb}"\n    colour: blue\n    name:', 1)
    path.write_text(text, encoding="utf-8")
    report = _run()
    [finding] = _errors(report)
    assert finding.check == "registry"
    assert finding.subject == f"accounts.yml:{_line_of(path, 'colour: blue')}"
    assert "Extra inputs are not permitted" in finding.problem
    assert "allowed: platform, id, name" in finding.fix
    assert report.exit_code == 1
    assert "the registry is invalid: tokens and accounts were not checked" in report.notes


def test_broken_yaml_is_located(registered):
    registered.write_text("organisation:\n  name: X\n  population: 10\naccounts:\n  - platform: [facebook\n",
                          encoding="utf-8")
    [finding] = _errors(_run())
    assert finding.check == "registry" and finding.subject.startswith("accounts.yml:")
    assert "YAML" in finding.fix


def test_missing_registry_file_points_to_discover(onboarding_env):
    [finding] = _errors(_run())
    assert finding.check == "registry" and "accounts discover" in finding.fix


def test_unset_token_env_is_named(registered, monkeypatch):
    text = registered.read_text(encoding="utf-8")
    first_fb = sandbox_data.facebook_page_id(1)
    text = text.replace(f'    id: "{first_fb}"\n', f'    id: "{first_fb}"\n    token_env: KULTUR_PAGE_TOKEN\n', 1)
    registered.write_text(text, encoding="utf-8")
    monkeypatch.delenv("KULTUR_PAGE_TOKEN", raising=False)
    [finding] = _errors(_run())
    assert finding.subject == "KULTUR_PAGE_TOKEN" and "not set; 1 account use it" in finding.problem


def test_short_lived_token_is_an_error_with_the_exchange_fix(registered, monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", "shortlived-token-from-explorer")
    [finding] = _errors(_run())
    assert "short-lived user token" in finding.problem and "socialpulse token exchange" in finding.fix


def test_upcoming_expiries_warn_but_do_not_fail(registered, monkeypatch):
    # a long-lived user token: expires in 60 days, data access in 90 days
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", "longlived-token-of-a-person")
    quiet = _run(warn_days=14)
    assert [f for f in quiet.findings if f.check == "token"] == []
    report = _run(warn_days=100)
    problems = sorted(f.problem for f in report.warnings if f.check == "token")
    assert len(problems) == 2
    assert problems[0].startswith("data access expires")
    assert problems[1].startswith("token expires in 60 days, on 2027-01-19")
    assert report.exit_code == 0
    [row] = [c for c in report.token_checks if c.platform == "facebook"]
    assert row.expires_at is not None and row.data_access_expires_at is not None


def test_token_with_quotes_is_caught_before_any_call(registered, monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", f'"{GOOD_TOKEN}"')
    report = _run()
    assert any(f.check == "settings" and "quotes" in f.problem for f in report.errors)
    assert GOOD_TOKEN not in _rendered(report)


def test_broken_setting_names_the_variable(registered, monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_LOOKBACK_DAYS", "many")
    report = _run()
    [finding] = report.errors
    assert finding.subject == "SOCIALPULSE_LOOKBACK_DAYS" and report.exit_code == 1


def test_expired_youtube_refresh_token_and_open_secrets_file(registered, onboarding_env):
    path = onboarding_env / "secrets" / "youtube.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"version": 1, "client_id": "cid", "client_secret": "csecret", "credentials": [
        {"channel_id": sandbox_data.youtube_channel_id(1), "refresh_token": "expired-refresh-token"}]}))
    os.chmod(path, 0o644)
    report = _run()
    problems = {f.problem.split(" (")[0] for f in report.errors}
    assert "the YouTube secrets file is readable by other users" in problems
    assert "refresh token refused" in problems
    assert "expired-refresh-token" not in _rendered(report)


def test_youtube_channel_without_token_is_an_error(registered, monkeypatch):
    monkeypatch.delenv("SOCIALPULSE_YOUTUBE_TOKEN")
    [finding] = _errors(_run())
    assert finding.subject == "SOCIALPULSE_YOUTUBE_TOKEN" and "youtube authorize" in finding.fix


def test_stored_refresh_token_is_enough_for_the_nightly_run(registered, onboarding_env, monkeypatch):
    # The nightly fetch mints access tokens from the stored refresh token: no access-token variable
    # is needed, and a stale one does not matter for the channels the credential covers.
    from ingestion.onboarding import youtube_oauth
    from ingestion.sources import google_oauth

    path = onboarding_env / "secrets" / "youtube.json"
    youtube_oauth.store_credential(path, google_oauth.OAuthClient("cid", "csecret"), "unused", {
        "channel_id": sandbox_data.youtube_channel_id(1), "refresh_token": "1//stored-refresh-token"})
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_TOKEN", "expired-ya29-token")
    assert _errors(_run(), "token") == []
    monkeypatch.delenv("SOCIALPULSE_YOUTUBE_TOKEN")
    report = _run()
    assert _errors(report, "token") == [] and "1//stored-refresh-token" not in _rendered(report)


def test_refresh_token_from_the_environment(registered, monkeypatch):
    monkeypatch.delenv("SOCIALPULSE_YOUTUBE_TOKEN")
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_REFRESH_TOKEN", "revoked-env-refresh-token")
    findings = {f.subject: f for f in _errors(_run())}
    assert set(findings) == {"SOCIALPULSE_YOUTUBE_REFRESH_TOKEN", "SOCIALPULSE_YOUTUBE_TOKEN"}
    assert "CLIENT_ID" in findings["SOCIALPULSE_YOUTUBE_REFRESH_TOKEN"].problem
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_CLIENT_ID", "cid")
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_CLIENT_SECRET", "csecret-env")
    report = _run()
    problems = [f.problem for f in _errors(report, "token")]
    assert any("refresh token refused" in p and "invalid_grant" in p for p in problems)
    assert "revoked-env-refresh-token" not in _rendered(report) and "csecret-env" not in _rendered(report)
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_REFRESH_TOKEN", "1//good-env-refresh-token")
    assert _errors(_run(), "token") == []


def _hold_warehouse(path: Path, read_only: bool):
    code = ("import duckdb, sys, time\n"
            f"con = duckdb.connect(sys.argv[1], read_only={read_only})\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.parametrize(("read_only", "severity", "text"), [
    (True, Severity.ERROR, "held open read-only"),
    (False, Severity.WARNING, "locked by a writer"),
])
def test_locked_warehouse_is_explained(registered, read_only, severity, text):
    from ingestion.load.warehouse import connect

    path = load_settings().warehouse
    connect(path).close()
    holder = _hold_warehouse(path, read_only)
    try:
        report = _run()
    finally:
        holder.kill()
        holder.wait()
    [finding] = [f for f in report.findings if f.check == "warehouse"]
    assert finding.severity is severity and text in finding.problem
    assert f"PID {holder.pid}" in finding.problem
    assert "token checks not recorded in raw.tokens: the warehouse is not writable now" in report.notes


def test_quarantine_and_stale_bi_copy_warn(registered):
    settings = load_settings()
    batch = settings.quarantine_dir / "load-1"
    batch.mkdir(parents=True)
    (batch / "validation.json").write_text("{}")
    import duckdb

    settings.bi_dir.mkdir(parents=True)
    duckdb.connect(str(settings.bi_dir / "socialpulse.duckdb")).close()
    old = time.time() - 5 * 86400
    os.utime(settings.bi_dir / "socialpulse.duckdb", (old, old))
    report = _run(now=datetime.now(UTC))
    checks = {f.check: f for f in report.warnings}
    assert "1 load batch quarantined" in checks["quarantine"].problem
    assert "days old" in checks["bi"].problem


def test_airflow_pools_are_checked_inside_airflow(registered, monkeypatch):
    calls = []

    def fake_airflow(args):
        calls.append(args)
        if args[:2] == ["pools", "get"]:
            name = args[2]
            if name == "duckdb_writer":
                return 0, json.dumps([{"pool": name, "slots": 2}])
            if name == "socialpulse_fetch_youtube":
                return 1, "Pool socialpulse_fetch_youtube does not exist"
            return 0, json.dumps([{"pool": name, "slots": json.loads(doctor.POOLS_FILE.read_text())[name]["slots"]}])
        return 1, "Connection not found."

    monkeypatch.setenv("AIRFLOW_CTX_DAG_ID", "socialpulse_nightly")
    report = doctor.run_doctor(now=SANDBOX_NOW, airflow_cli=fake_airflow)
    airflow = {f.subject: f for f in report.findings if f.check == "airflow"}
    assert "2 slots" in airflow["pool duckdb_writer"].problem
    assert airflow["pool socialpulse_fetch_youtube"].fix == "airflow pools import dags/dag_support/pools.json"
    assert airflow["connection socialpulse_alerts"].severity is Severity.INFO
    assert report.exit_code == 1


def test_outside_airflow_the_airflow_checks_are_skipped(registered):
    report = _run(airflow=None, airflow_cli=lambda args: pytest.fail("airflow must not be called"))
    assert any("not running inside Airflow" in n for n in report.notes)


def test_offline_mode_makes_no_api_calls(registered, monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_GRAPH_URL", "http://127.0.0.1:9/graph")  # nothing listens there
    report = _run(network=False)
    assert report.exit_code == 0 and "account" not in report.checked


def test_json_output(registered, monkeypatch, capsys):
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", "expired-token")
    assert cli(["doctor", "--json", "--no-airflow", "--no-record"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["exit_code"] == 1 and data["findings"][0]["severity"] == "error"


def test_findings_are_redacted():
    finding = Finding(Severity.ERROR, "token", "X", "GET /me?access_token=abc123def&x=1 failed with s3cr3t-value",
                      "use s3cr3t-value")
    clean = finding.redacted(["s3cr3t-value"])
    assert "abc123def" not in clean.problem and "s3cr3t-value" not in clean.problem + clean.fix


def test_unreadable_airflow_metadata_is_a_warning_not_a_missing_pool(registered):
    report = _run(airflow=True, airflow_cli=lambda args: (1, "sqlalchemy.exc.OperationalError: unable to open"))
    [finding] = [f for f in report.findings if f.check == "airflow"]
    assert finding.severity is Severity.WARNING and "could not be read" in finding.problem


def test_an_account_refusing_the_token_is_reported_alone(registered, monkeypatch):
    from sandbox.server import SandboxConfig, SandboxServer

    refusing = sandbox_data.facebook_page_id(3)
    server = SandboxServer(SandboxConfig(accounts=PAGES, seed=42, now=SANDBOX_NOW, youtube_channels=3,
                                         account_faults={refusing: "revoked_token"})).start()
    try:
        monkeypatch.setenv("SOCIALPULSE_GRAPH_URL", server.graph_url)
        report = _run()
    finally:
        server.stop()
    [finding] = report.errors
    assert finding.subject.startswith(f"facebook:{refusing} (accounts.yml:")
    assert "refused" in finding.problem and "Tilldela tillgångar" in finding.fix


def test_expired_youtube_access_token_points_to_a_refresh(registered, monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_YOUTUBE_TOKEN", "expired-ya29-token")
    [finding] = _errors(_run())
    assert finding.subject == "SOCIALPULSE_YOUTUBE_TOKEN" and "(401)" in finding.problem
    assert "socialpulse youtube access-token" in finding.fix


def test_graph_version_end_is_judged_on_the_injected_pacific_day(registered, monkeypatch):
    # v21.0 ends on 2027-01-21 (Meta's calendar). 07:30 UTC that day is still the 20th in California.
    monkeypatch.setenv("SOCIALPULSE_GRAPH_API_VERSION", "v21.0")
    before = _run(now=datetime(2027, 1, 21, 7, 30, tzinfo=UTC), network=False)
    [warning] = [f for f in before.findings if f.subject == "SOCIALPULSE_GRAPH_API_VERSION"]
    assert warning.severity is Severity.WARNING and "stops on 2027-01-21" in warning.problem
    after = _run(now=datetime(2027, 1, 21, 8, 30, tzinfo=UTC), network=False)
    [error] = [f for f in after.findings if f.subject == "SOCIALPULSE_GRAPH_API_VERSION"]
    assert error.severity is Severity.ERROR and "no longer served" in error.problem
