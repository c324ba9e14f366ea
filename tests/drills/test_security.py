"""Security drills: no token anywhere after the drills, no SQL injection through the registry, servers
on loopback, Airflow in compose without the development auth manager, no committed secrets.

The token scan runs last in the drills (file order): it covers everything the drills of this session
wrote under the drill folder - the fault matrix cells (landing files, quarantine, warehouse, GX Data
Docs), the full nightly chain (warehouse, BI copy in DuckDB and Parquet, GX Data Docs, dbt logs and
target, the HTML report, the run report) and the log file of every record logged at INFO and up.
"""

from __future__ import annotations

import html
import logging
import re
import subprocess
from pathlib import Path

import duckdb
import psutil
import yaml

from ingestion.extract.executors import appsecret_proof
from sandbox import data as D
from tests.drills import secret_scan
from tests.drills.harness import (
    AS_OF,
    DRILL_APP_SECRET,
    DRILL_TOKEN,
    HOSTILE_NAMES,
    REPO,
    environ,
    pipeline_environ,
    sandbox_config,
    write_drill_registry,
)

SECRETS = (DRILL_TOKEN, DRILL_APP_SECRET, appsecret_proof(DRILL_TOKEN, DRILL_APP_SECRET))


def scan_for_secrets(root: Path, secrets: tuple[str, ...] = SECRETS) -> tuple[list[str], int, int]:
    return secret_scan.scan_for_secrets(root, secrets)


def test_the_scanner_finds_a_planted_secret(tmp_path):
    """Positive control: the scan must see a token in a text file, a DuckDB struct column and Parquet."""
    (tmp_path / "a.log").write_text(f"GET /x?access_token={DRILL_TOKEN}\n")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema raw")
    con.execute("create table raw.t as select {'url': ?} as s, 1 as n", [f"https://x/?appsecret_proof={SECRETS[2]}"])
    con.execute(f"copy raw.t to '{tmp_path / 't.parquet'}' (format parquet)")
    con.close()
    hits, _, _ = scan_for_secrets(tmp_path)
    assert any(h.endswith("a.log: bytes") for h in hits)
    assert any("w.duckdb:raw.t" in h for h in hits)
    assert any("t.parquet:parquet" in h for h in hits)


def test_no_token_in_logs_landing_warehouse_bi_copy_data_docs_or_report(nightly_home, drill_dir, drill_log):
    logging.getLogger(__name__).info("security scan of %s", drill_dir)
    for handler in logging.getLogger().handlers:
        handler.flush()
    home = nightly_home.home
    # Everything the scan must cover exists (otherwise a clean scan proves nothing).
    assert (home / "landing").is_dir() and any((home / "landing").rglob("*.jsonl"))
    assert any((home / "gx_docs").rglob("*.html"))
    assert (home / "bi" / "socialpulse.duckdb").is_file() and any((home / "bi").rglob("*.parquet"))
    assert any((home / "reports").glob("*.html")) and nightly_home.report_json.is_file()
    assert drill_log.is_file() and drill_log.stat().st_size > 0
    assert nightly_home.failed  # the chain ran with faults: error messages were written
    hits, files, tables = scan_for_secrets(drill_dir)
    assert hits == [], hits[:20]
    assert files > 50 and tables >= 2
    print(f"security scan: {files} files, {tables} DuckDB/Parquet files (every table, every column), 0 hits")


def test_debug_logging_of_the_http_stack_is_redacted(tmp_path, caplog):
    """urllib3 logs each request line with its query string at DEBUG; Graph tokens travel in it."""
    from ingestion.core.settings import load_settings
    from ingestion.extract.fetch import fetch_chunk
    from ingestion.extract.plan import AccountPlan
    from sandbox.server import SandboxServer

    registry = write_drill_registry(tmp_path / "accounts.yml")
    caplog.set_level(logging.DEBUG)
    with SandboxServer(sandbox_config({D.facebook_page_id(1): "reset"})) as server, \
            environ(pipeline_environ(tmp_path / "data", registry, server, SOCIALPULSE_GRAPH_BATCH="false")):
        fetch_chunk(load_settings(), "debug-run", "c0", [AccountPlan("facebook", D.facebook_page_id(1), None,
                                                                     AS_OF, AS_OF)])
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "access_token=***" in logged  # the request lines were logged ...
    assert not any(s in logged for s in SECRETS)  # ... without the token


def test_registry_names_cannot_inject_sql_and_flow_through_intact(nightly_home):
    home = nightly_home.home
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        raw = dict(con.execute("select account_id, name from raw.accounts").fetchall())
        loads = con.execute("select count(*) from raw.loads where status = 'committed'").fetchone()[0]
        staged = dict(con.execute("select account_id, name from marts.dim_accounts").fetchall())
    finally:
        con.close()
    bi = duckdb.connect(str(home / "bi" / "socialpulse.duckdb"), read_only=True)
    try:
        published = dict(bi.execute("select account_id, name from marts.dim_accounts").fetchall())
    finally:
        bi.close()
    parquet_file = home / "bi" / "parquet" / "dim_accounts.parquet"
    parquet = dict(duckdb.sql(f"select account_id, name from read_parquet('{parquet_file}')").fetchall())
    assert loads == 3  # nothing dropped
    for account_id, name in HOSTILE_NAMES.items():
        assert raw[account_id] == name
        assert staged[account_id] == name
        assert published[account_id] == name
        assert parquet[account_id] == name
    assert len(published) == len(raw) == 14
    page = (home / "reports" / "latest.html").read_text(encoding="utf-8")
    # Names are HTML-escaped in the report. The failed account is always named (accounts that need
    # action); which healthy accounts appear depends on the report's rankings.
    assert "<script>alert" not in page and "<img src=x" not in page
    assert HOSTILE_NAMES[D.facebook_page_id(4)] in html.unescape(page), "the failed account is not in the report"


def test_servers_we_start_bind_loopback_only():
    from devtools.devenv import sandbox_process
    from sandbox.server import SandboxServer

    assert SandboxServer(sandbox_config()).host == "127.0.0.1"
    with sandbox_process("--accounts", "2") as url:
        assert url.startswith("http://127.0.0.1:")
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        listening = [c for c in psutil.net_connections("tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
        assert listening and {c.laddr.ip for c in listening} == {"127.0.0.1"}
    # The Airflow api-server of the scheduler tests binds loopback (Airflow's own default is 0.0.0.0).
    assert '"AIRFLOW__API__HOST": "127.0.0.1"' in (REPO / "tests" / "airflow" / "standalone.py").read_text()


def test_compose_publishes_on_loopback_and_airflow_has_a_real_auth_manager():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    for name, service in compose["services"].items():
        env = service.get("environment") or {}
        env = env if isinstance(env, dict) else dict(item.split("=", 1) for item in env)
        manager = str(env.get("AIRFLOW__CORE__AUTH_MANAGER", ""))
        assert "SimpleAuthManager" not in manager and "simple_auth_manager" not in manager, name
        assert not any(k.startswith("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER") for k in env), name
        if str(service.get("command", "")).find("airflow") >= 0 or "AIRFLOW__CORE__EXECUTOR" in env:
            assert manager.endswith("FabAuthManager"), f"{name}: auth manager {manager!r}"
        for port in service.get("ports") or []:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    env_example = (REPO / ".env.example").read_text(encoding="utf-8")
    assert "SimpleAuthManager" not in env_example and "SIMPLE_AUTH_MANAGER_ALL_ADMINS" not in env_example


# Token-like patterns (gitleaks-style). Real Meta tokens are 100+ characters after "EAA".
SECRET_PATTERNS = {
    "meta_token": re.compile(r"EAA[A-Za-z0-9]{30,}"),
    "google_oauth_access_token": re.compile(r"ya29\.[0-9A-Za-z_-]{20,}"),
    "google_refresh_token": re.compile(r"\b1//0[0-9A-Za-z_-]{30,}"),
    "google_api_key": re.compile(r"AIza[0-9A-Za-z_-]{35}"),
    "slack_token": re.compile(r"xox[abposr]-[0-9A-Za-z-]{10,}"),
    "aws_access_key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "private_key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY( BLOCK)?-----"),
    "github_token": re.compile(r"\bgh[pousr]_[0-9A-Za-z]{36,}"),
    "fernet_key_value": re.compile(r"FERNET_KEY\s*[:=]\s*['\"]?[0-9A-Za-z_-]{43}="),
}
SECRET_FILES = re.compile(
    r"(^|/)(\.env|id_rsa|id_ed25519|.*\.pem|.*\.p12|.*\.pfx|credentials\.json|client_secret.*\.json)$")
# A match that names itself fake is a test fixture (e.g. "ya29.sandbox-onboarding-channel-1").
FAKE_WORDS = ("sandbox", "example", "test", "fake", "dummy", "drill")


def _repo_files() -> list[str]:
    """Tracked files plus untracked ones that are not ignored (what the next commit can contain)."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                         capture_output=True, check=True).stdout
    return sorted({name for name in out.decode().split("\0") if name})


def find_secrets(name: str, text: str) -> list[str]:
    return [f"{name}: {kind}" for kind, pattern in SECRET_PATTERNS.items()
            if any(not any(w in m.group(0).lower() for w in FAKE_WORDS) for m in pattern.finditer(text))]


def test_the_secret_patterns_catch_real_looking_secrets():
    planted = {
        "meta_token": "EAAG" + "m0PXsQ9ZBA1bCdEfGhIjKlMnOpQrSUvWxYz0123456789",
        "google_oauth_access_token": "ya29." + "a0AfB_byC" * 4,
        "slack_token": "xoxb-" + "1234567890-abcdefghij",
        "aws_access_key": "AKIA" + "Q3ZJ7K2M9XW4PLRT",
        "private_key": "-----BEGIN " + "RSA PRIVATE KEY-----",
    }
    for kind, value in planted.items():
        assert find_secrets("x", f"token = '{value}'") == [f"x: {kind}"], kind


def test_repo_has_no_committed_secrets():
    files = _repo_files()
    assert len(files) > 50
    assert [f for f in files if SECRET_FILES.search(f) and not f.endswith(".example")] == []
    hits = []
    for name in files:
        path = REPO / name
        if not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        hits += find_secrets(name, path.read_text(encoding="utf-8", errors="replace"))
    assert hits == [], hits


def test_tokens_are_secret_in_settings(monkeypatch):
    monkeypatch.setenv("SOCIALPULSE_META_TOKEN", DRILL_TOKEN)
    monkeypatch.setenv("SOCIALPULSE_META_APP_SECRET", DRILL_APP_SECRET)
    from ingestion.core.settings import load_settings

    settings = load_settings()
    assert DRILL_TOKEN not in repr(settings) and DRILL_APP_SECRET not in str(settings.model_dump())
