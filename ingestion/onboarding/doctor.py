"""`socialpulse doctor`: everything the nightly run needs, checked now, with the fix for each problem.

Checks, in order (a failed step skips the steps that depend on it):
1. settings   the `SOCIALPULSE_*` environment parses; URLs and the Graph API version make sense;
2. registry   `load_registry` accepts the file (one finding per bad line, with its line number);
3. tokens     every token the registry uses is set; Meta tokens through `/debug_token` (validity,
              expiry, data-access expiry, granted vs needed permissions, see `scopes.SCOPE_NEEDS`);
              YouTube credentials by refreshing them / one call;
4. accounts   one cheap call per active account (`{id}?fields=id` in Graph batches of 50;
              YouTube `channels.list` 50 ids per call plus one Analytics call per channel for
              ownership), through the shared, rate-limit-aware `HttpClient`;
5. warehouse  exists or can be created, is writable, and no other process holds it open;
6. bi         the published copy's folder is writable and the copy is fresh; publish not blocked
              (the last mart gate passed and no future coverage waits to fail it);
7. airflow    (inside Airflow only) the pools exist with the right sizes; optional connections.

Exit code 1 when any finding is an error (the nightly run would fail, at least for one account),
else 0. `--warn-days N` (default 14) turns upcoming token or data-access expiry into warnings.
Token checks are appended to `raw.tokens` when the warehouse is writable (`fct_account_health`
and `socialpulse status` read them). Nothing secret is printed: findings are redacted with every
token known to the run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ingestion.core.days import platform_today
from ingestion.core.findings import Severity, sort_findings
from ingestion.core.platforms import SUPPORTED
from ingestion.core.registry import Account, Registry, RegistryError, load_registry
from ingestion.core.settings import Settings, load_settings
from ingestion.onboarding.discover import REVIEW_COMMENT
from ingestion.onboarding.doctor_platforms import (
    check_meta_accounts,
    check_meta_tokens,
    check_youtube_accounts,
    check_youtube_tokens,
    plural,
    token_groups,
)
from ingestion.onboarding.doctor_report import DoctorReport
from ingestion.onboarding.graph import make_client
from ingestion.onboarding.tokens import (
    record_token_checks,
)

DEFAULT_WARN_DAYS = 14
FETCHED_PLATFORMS = SUPPORTED
PROJECT_ROOT = Path(__file__).resolve().parents[2]
POOLS_FILE = PROJECT_ROOT / "dags" / "dag_support" / "pools.json"
WRITER_POOL = "duckdb_writer"
ALERTS_CONNECTION = "socialpulse_alerts"
# Graph API versions and the day Meta stops serving them (PLATFORM_APIS.md §1).
GRAPH_VERSION_END: dict[str, date] = {
    "v20.0": date(2026, 9, 24), "v21.0": date(2027, 1, 21), "v22.0": date(2027, 5, 20),
    "v23.0": date(2027, 10, 8), "v24.0": date(2028, 2, 18), "v25.0": date(2028, 7, 29),
}
BI_STALE_AFTER = timedelta(days=2)
MIN_FREE_BYTES = 1 << 30
_LINE = re.compile(r" line (\d+)")

AirflowCli = Callable[[list[str]], tuple[int, str]]


# -- 1. settings -----------------------------------------------------------------------------------


def _env_name(loc: tuple[Any, ...]) -> str:
    return "SOCIALPULSE_" + "_".join(str(p) for p in loc).upper()


def check_settings(report: DoctorReport, env: dict[str, str] | os._Environ,
                   now: datetime | None = None) -> Settings | None:
    """Parse the environment; a broken variable stops the doctor (everything depends on it).

    `now` is the clock: Graph API versions end on Meta's (Pacific) calendar day.
    """
    try:
        settings = load_settings()
    except ValidationError as exc:
        for err in exc.errors():
            name = _env_name(tuple(err["loc"]))
            report.add(Severity.ERROR, "settings", name, f"{err['msg']}",
                       f"fix or unset {name} (every SOCIALPULSE_* setting is optional)")
        return None
    report.count("setting")
    for label, url in (("SOCIALPULSE_GRAPH_URL", settings.graph_url),
                       ("SOCIALPULSE_YOUTUBE_DATA_URL", settings.youtube_data_url),
                       ("SOCIALPULSE_YOUTUBE_ANALYTICS_URL", settings.youtube_analytics_url)):
        if not url.startswith(("https://", "http://")):
            report.add(Severity.ERROR, "settings", label, f"not an http(s) URL: {url!r}",
                       f"unset {label} for the production default, or give a full URL")
        elif url.startswith("http://") and not re.match(r"http://(127\.0\.0\.1|localhost|sandbox)[:/]", url):
            report.add(Severity.WARNING, "settings", label, "plain http to a remote host: tokens travel in the clear",
                       "use https")
    version = settings.graph_api_version
    if not re.fullmatch(r"v\d+\.\d+", version):
        report.add(Severity.ERROR, "settings", "SOCIALPULSE_GRAPH_API_VERSION", f"not a Graph API version: {version!r}",
                   "use the form v25.0")
    elif version in GRAPH_VERSION_END:
        end = GRAPH_VERSION_END[version]
        today = platform_today("facebook", now)
        if end <= today:
            report.add(Severity.ERROR, "settings", "SOCIALPULSE_GRAPH_API_VERSION",
                       f"Graph API {version} is no longer served (since {end})",
                       "set SOCIALPULSE_GRAPH_API_VERSION to a current version (PLATFORM_APIS.md §1)")
        elif end - today <= timedelta(days=90):
            report.add(Severity.WARNING, "settings", "SOCIALPULSE_GRAPH_API_VERSION",
                       f"Graph API {version} stops on {end}", "plan the upgrade to a newer version")
    for name in ("SOCIALPULSE_META_TOKEN", "SOCIALPULSE_YOUTUBE_TOKEN"):
        _check_token_text(report, name, env.get(name))
    return settings


def _check_token_text(report: DoctorReport, name: str, value: str | None) -> None:
    """Copy-paste damage that makes a good token fail: quotes, spaces, a 'Bearer ' prefix."""
    if not value:
        return
    if value != value.strip() or value[:1] in "\"'" or value[-1:] in "\"'" or value.lower().startswith("bearer "):
        report.add(Severity.ERROR, "settings", name,
                   "the token has surrounding spaces, quotes or a 'Bearer ' prefix",
                   f"store only the token itself in {name}")


# -- 2. registry -----------------------------------------------------------------------------------


def _registry_fix(message: str) -> str:
    text = message.lower()
    if "not valid yaml" in text:
        return "fix the YAML syntax on that line (indentation, a missing quote or colon)"
    if "cannot read the registry" in text:
        return ("set SOCIALPULSE_ACCOUNTS to the registry file, or create it: "
                "socialpulse accounts discover --organisation NAME --population N")
    if "duplicate account" in text:
        return "remove one of the two entries (keep the one with your hand edits)"
    if "linked account" in text:
        return "register the linked account (socialpulse accounts discover) or delete the `linked:` line"
    if "malformed" in text:
        return ("use the platform's own id: Facebook/Instagram numeric ids, YouTube 'UC' + 22 characters; "
                "`socialpulse accounts discover --dry-run` lists the ids the token can read")
    if "extra inputs are not permitted" in text:
        return ("remove or rename the key; allowed: platform, id, name, department, audience, active_from, "
                "active_until, linked, token_env")
    if "field required" in text:
        return "add the missing field"
    if "input should be" in text:
        return "use one of the allowed values shown"
    if "token_env" in text:
        return "token_env names an environment variable (e.g. SOCIALPULSE_PAGE_TOKEN_123); never paste a token here"
    return "edit that line of the registry"


def check_registry(report: DoctorReport, settings: Settings) -> Registry | None:
    """Validate the registry; one finding per problem line."""
    path = settings.accounts
    try:
        registry = load_registry(path)
    except RegistryError as exc:
        for line in str(exc).splitlines():
            if line.strip() in ("", "invalid registry:"):
                continue
            match = _LINE.search(line)
            subject = f"{path.name}:{match.group(1)}" if match else str(path)
            problem = line.split(": ", 1)[1] if line.startswith(str(path)) and ": " in line else line
            report.add(Severity.ERROR, "registry", subject, problem, _registry_fix(line))
        return None
    report.count("registry account", len(registry.accounts))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        text = ""
    guessed = text.count(REVIEW_COMMENT)
    if guessed:
        report.add(Severity.WARNING, "registry", str(path.name),
                   f"{guessed} guessed departments still marked '# {REVIEW_COMMENT}'",
                   "check each department (and add the audience), then delete the review comments")
    for notice in registry.organisation.notices:
        report.add(Severity.INFO, "registry", f"{path.name}: organisation", notice,
                   "add the figure to the organisation section (SCB publishes both per municipality)")
    for account in registry.accounts:
        if account.platform == "snapchat":
            report.add(Severity.INFO, "registry", f"snapchat:{account.id}",
                       "Snapchat accounts are registered but not fetched yet (allowlist-only API)")
    return registry


def account_lines(path: Path) -> dict[tuple[str, str], int]:
    """(platform, id) -> the 1-based line of the account's entry in the registry file."""
    from ruamel.yaml import YAML

    try:
        doc = YAML().load(path.read_text(encoding="utf-8"))
    except Exception:  # a registry that load_registry accepted parses; this is best effort only
        return {}
    out = {}
    for item in (doc or {}).get("accounts") or []:
        if hasattr(item, "lc"):
            out[(str(item.get("platform")), str(item.get("id")))] = item.lc.line + 1
    return out


def active_accounts(registry: Registry, today: date, lookback_days: int) -> list[Account]:
    """Accounts the next nightly run fetches (supported platform, active inside its window)."""
    first = today - timedelta(days=lookback_days)
    return [a for a in registry.accounts if a.platform in FETCHED_PLATFORMS
            and (a.active_from is None or a.active_from <= today)
            and (a.active_until is None or a.active_until >= first)]


# -- 5./6. warehouse and BI ------------------------------------------------------------------------


def _lock_holder(message: str) -> str:
    match = re.search(r"held in (.+?) \(PID (\d+)\)", message)
    return f"{Path(match.group(1)).name}, PID {match.group(2)}" if match else "another process"


def open_warehouse_for_writing(report: DoctorReport, settings: Settings):
    """Check the warehouse; return a read-write connection when it is writable now, else None."""
    import duckdb

    from ingestion.load.warehouse import ensure_schema

    path = settings.warehouse
    report.count("path")
    if not path.exists():
        parent = path.parent
        probe = parent if parent.exists() else next((p for p in parent.parents if p.exists()), parent)
        if not os.access(probe, os.W_OK):
            report.add(Severity.ERROR, "warehouse", str(path), "does not exist and its folder is not writable",
                       f"set SOCIALPULSE_HOME to a writable folder, or give this user write access to {probe}")
        else:
            report.add(Severity.INFO, "warehouse", str(path), "not created yet: the first run creates it")
        return None
    if not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        report.add(Severity.ERROR, "warehouse", str(path), "not writable by this user",
                   "run the pipeline as the file's owner, or fix the permissions of the file and its folder")
        return None
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        message = str(exc)
        if "lock" not in message.lower():
            report.add(Severity.ERROR, "warehouse", str(path), f"cannot be opened: {message[:200]}",
                       "restore the file from the last good copy, or move it away and backfill")
            return None
        holder = _lock_holder(message)
        try:
            duckdb.connect(str(path), read_only=True).close()
            readers = True
        except duckdb.Error:
            readers = False
        if readers:
            report.add(Severity.ERROR, "warehouse", str(path),
                       f"held open read-only by {holder}: the nightly load cannot write",
                       "BI tools must read the published copy ($SOCIALPULSE_HOME/bi/socialpulse.duckdb), never the "
                       "working warehouse: close that program or repoint it")
        else:
            report.add(Severity.WARNING, "warehouse", str(path),
                       f"locked by a writer ({holder}): a load, dbt build or publish is running now",
                       "wait for it to finish; if no run is active, stop that process (only one writer at a time)")
        return None
    except duckdb.Error as exc:
        report.add(Severity.ERROR, "warehouse", str(path), f"cannot be opened: {str(exc)[:200]}",
                   "check the file (a DuckDB 2.0 warehouse); restore it or move it away and backfill")
        return None
    try:
        ensure_schema(con)
    except duckdb.Error as exc:
        con.close()
        report.add(Severity.ERROR, "warehouse", str(path), f"schema cannot be created: {str(exc)[:200]}",
                   "check the file; restore it or move it away and backfill")
        return None
    return con


def check_paths(report: DoctorReport, settings: Settings, now: datetime) -> None:
    """BI copy, landing and quarantine folders, free disk space."""
    home = settings.home_abs
    for label, folder in (("landing", settings.landing_dir), ("bi", settings.bi_dir)):
        report.count("path")
        probe = folder if folder.exists() else next((p for p in folder.parents if p.exists()), folder)
        if not os.access(probe, os.W_OK):
            report.add(Severity.ERROR, label, str(folder), "not writable",
                       f"give the pipeline user write access to {probe}, or set SOCIALPULSE_HOME")
    published = settings.bi_dir / "socialpulse.duckdb"
    if published.exists():
        age = now - datetime.fromtimestamp(published.stat().st_mtime, UTC)
        if age > BI_STALE_AFTER:
            report.add(Severity.WARNING, "bi", str(published),
                       f"the published copy is {age.days} days old: BI users see old numbers",
                       "check the last nightly runs (socialpulse status, Airflow UI) and re-run the transform")
        try:
            import duckdb

            duckdb.connect(str(published), read_only=True).close()
        except Exception as exc:  # a BI copy that cannot be read is a problem whatever the cause
            report.add(Severity.ERROR, "bi", str(published), f"cannot be opened read-only: {str(exc)[:200]}",
                       "re-run the publish step (socialpulse run) to rewrite it")
    else:
        report.add(Severity.INFO, "bi", str(published), "not published yet: the first full run writes it")
    quarantine = settings.quarantine_dir
    if quarantine.is_dir():
        batches = [p for p in quarantine.iterdir() if p.is_dir() and (p / "validation.json").exists()]
        if batches:
            report.add(Severity.WARNING, "quarantine", str(quarantine),
                       f"{plural(len(batches), 'load batch')} quarantined and not in the warehouse",
                       "inspect and release or drop them (docs/operations.md, 'Reading a quarantine')")
    try:
        free = shutil.disk_usage(home if home.exists() else next(p for p in home.parents if p.exists())).free
    except (OSError, StopIteration):
        free = None
    if free is not None and free < MIN_FREE_BYTES:
        report.add(Severity.WARNING, "disk", str(home), f"only {free // (1 << 20)} MiB free",
                   "free disk space: the load, dbt and the BI copy each need room for a full copy")


def check_publish(report: DoctorReport, settings: Settings, now: datetime) -> None:
    """A blocked publish: the mart gate failed last (or future coverage will make it fail), so the BI
    copy stays behind the warehouse night after night while every account looks "ok" (issue 16)."""
    from ingestion.gates.mart_diagnosis import publish_state

    report.count("publish")
    state = publish_state(settings, now)
    if state["blocked"]:
        since = state["last_publish_at"]
        report.add(Severity.ERROR, "publish", str(settings.bi_dir),
                   f"blocked (BI copy from {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC): {state['cause']}" if since
                   else f"blocked (never published): {state['cause']}", state["repair"])


# -- 7. airflow ------------------------------------------------------------------------------------


def in_airflow(env: dict[str, str] | os._Environ) -> bool:
    """Running as an Airflow task (the task context exports AIRFLOW_CTX_DAG_ID)."""
    return bool(env.get("AIRFLOW_CTX_DAG_ID"))


def _airflow_cli(args: list[str]) -> tuple[int, str]:
    exe = shutil.which("airflow")
    if exe is None:
        return 127, "airflow command not found"
    try:
        done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return 124, "timed out"
    return done.returncode, done.stdout if done.returncode == 0 else (done.stderr or done.stdout)


def check_airflow(report: DoctorReport, run: AirflowCli = _airflow_cli) -> None:
    """Pools from dags/dag_support/pools.json exist with their sizes (the writer pool must be 1)."""
    try:
        wanted = json.loads(POOLS_FILE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        wanted = {WRITER_POOL: {"slots": 1}}
    for name, spec in wanted.items():
        report.count("airflow pool")
        code, out = run(["pools", "get", name, "-o", "json"])
        if code == 127:
            report.add(Severity.WARNING, "airflow", "airflow", "the airflow command is not on PATH: pools not checked",
                       "run `socialpulse doctor --airflow` where the airflow CLI is installed")
            return
        if code != 0 and "does not exist" in out.lower():
            report.add(Severity.ERROR, "airflow", f"pool {name}",
                       "missing: tasks in this pool are never scheduled (they wait silently)",
                       "airflow pools import dags/dag_support/pools.json")
            continue
        if code != 0:
            last = (out.strip().splitlines() or ["no output"])[-1][:200]
            report.add(Severity.WARNING, "airflow", "airflow", f"pools could not be read: {last}",
                       "run `airflow pools list` where the Airflow metadata database is reachable")
            return
        try:
            rows = json.loads(out)
            row = rows[0] if isinstance(rows, list) else rows
            slots = int(row.get("slots"))
        except (ValueError, TypeError, AttributeError, IndexError):
            continue
        if name == WRITER_POOL and slots != 1:
            report.add(Severity.ERROR, "airflow", f"pool {name}",
                       f"has {slots} slots: two writers would fight over the DuckDB lock",
                       "airflow pools import dags/dag_support/pools.json")
        elif slots != int(spec.get("slots", slots)):
            report.add(Severity.WARNING, "airflow", f"pool {name}",
                       f"has {slots} slots, pools.json says {spec.get('slots')}",
                       "airflow pools import dags/dag_support/pools.json")
    code, out = run(["connections", "get", ALERTS_CONNECTION, "-o", "json"])
    if code != 0 and "not found" in out.lower():
        report.add(Severity.INFO, "airflow", f"connection {ALERTS_CONNECTION}",
                   "not configured: failures are only logged, nobody is paged",
                   "optional: add an http connection with a Teams/Slack webhook (dags/dag_support/alerts.py)")


# -- the whole run ---------------------------------------------------------------------------------


def run_doctor(
    *,
    warn_days: int = DEFAULT_WARN_DAYS,
    now: datetime | None = None,
    env: dict[str, str] | os._Environ | None = None,
    airflow: bool | None = None,
    record: bool = True,
    network: bool = True,
    youtube_secrets: Path | None = None,
    airflow_cli: AirflowCli = _airflow_cli,
) -> DoctorReport:
    """Run every check; see the module docstring. Never raises for a finding; returns the report."""
    env = os.environ if env is None else env
    now = now or datetime.now(UTC)
    report = DoctorReport()
    started = time.monotonic()
    settings = check_settings(report, env, now)
    if settings is None:
        report.notes.append("settings are broken: nothing else was checked")
        return report
    secrets: list[str] = [v for k, v in env.items() if v and k.startswith("SOCIALPULSE_")
                          and ("TOKEN" in k or "SECRET" in k)]
    registry = check_registry(report, settings)
    client = make_client(settings, tuple(secrets))
    try:
        if registry is not None:
            accounts = active_accounts(registry, now.date(), settings.lookback_days)
            groups = token_groups(accounts, env)
            secrets += [g.token for g in groups if g.token]
            client.secrets = tuple(dict.fromkeys(secrets))
            if network:
                check_meta_tokens(report, settings, groups, client, now, warn_days)
                credentials = check_youtube_tokens(report, settings, groups, client, now, youtube_secrets)
                secrets += [c.access_token for c in credentials]
                client.secrets = tuple(dict.fromkeys(secrets))
                lines = account_lines(settings.accounts)
                check_meta_accounts(report, settings, groups, client, lines)
                check_youtube_accounts(report, settings, groups, client, lines, now)
                from ingestion.load.peers import doctor_check  # peer Pages need an app feature (issue 22)

                doctor_check(report, settings, registry, client)
            else:
                report.notes.append("--offline: tokens and accounts were not checked")
        else:
            report.notes.append("the registry is invalid: tokens and accounts were not checked")
    finally:
        client.close()
    con = open_warehouse_for_writing(report, settings)
    try:
        if con is not None and record and report.token_checks:
            n = record_token_checks(con, report.token_checks)
            report.notes.append(f"recorded {n} token checks in raw.tokens")
        elif report.token_checks and record:
            why = "no warehouse yet" if not settings.warehouse.exists() else "the warehouse is not writable now"
            report.notes.append(f"token checks not recorded in raw.tokens: {why}")
    finally:
        if con is not None:
            con.close()
    check_paths(report, settings, now)
    check_publish(report, settings, now)
    if airflow if airflow is not None else in_airflow(env):
        check_airflow(report, airflow_cli)
    else:
        report.notes.append("not running inside Airflow: pools and connections not checked (use --airflow)")
    report.findings = [f.redacted(secrets) for f in report.findings]
    report.notes.append(f"took {time.monotonic() - started:.1f} s")
    return report


# -- output ----------------------------------------------------------------------------------------

_STYLE = {Severity.ERROR: ("✗ error", "red"), Severity.WARNING: ("! warning", "yellow"),
          Severity.INFO: ("i note", "dim")}


def print_report(report: DoctorReport, console=None) -> None:
    """A rich table, one line per finding, then a one-line verdict."""
    import sys

    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 200)
    findings = sort_findings(report.findings)
    if findings:
        table = Table(title="socialpulse doctor", show_lines=False, expand=False)
        for column, kwargs in (("", {"no_wrap": True}), ("check", {"no_wrap": True}), ("subject", {}),
                               ("problem", {}), ("fix", {})):
            table.add_column(column, **kwargs)
        for f in findings:
            label, style = _STYLE[f.severity]
            table.add_row(f"[{style}]{label}[/{style}]", f.check, f.subject, f.problem, f.fix)
        console.print(table)
    checked = ", ".join(plural(n, what) for what, n in report.checked.items()) or "nothing else"
    for note in report.notes:
        console.print(f"[dim]{note}[/dim]")
    if report.errors:
        console.print(f"[red bold]{plural(len(report.errors), 'error')}, {plural(len(report.warnings), 'warning')}"
                      f": the nightly run would fail.[/red bold] Checked: {checked}.")
    elif report.warnings:
        console.print(f"[yellow]{plural(len(report.warnings), 'warning')}, no errors.[/yellow] Checked: {checked}.")
    else:
        console.print(f"[green]All good.[/green] Checked: {checked}.")
