"""Shared machinery of the reliability drills: a small registry, a sandbox with per-account faults,
the pipeline environment, a virtual clock for backoff waits, and the ground-truth comparison.

A drill cell runs the pipeline (nightly `run_ingest` or `run_backfill(transform=False)`) against a
sandbox whose fault profile hits a few accounts (one per platform) while the others stay healthy,
then re-runs against a clean sandbox (same seed and clock: the same data) and compares the latest
staged observations with `sandbox.truth.ground_truth`.

Backoff and Retry-After waits inside the fetch engine and the HTTP client are virtual: the drill
advances the sandbox's rate clock instead of sleeping (throttles lift, Retry-After passes), so a
60 s Meta throttle costs milliseconds. Transport faults (timeouts, latency spikes, resets) stay real.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from bench.registry import write_registry
from sandbox import data as D
from sandbox.server import SandboxConfig, SandboxServer
from sandbox.truth import ground_truth
from sandbox.youtube import last_analytics_day
from tests.conftest import SANDBOX_NOW

REPO = Path(__file__).resolve().parents[2]
# A token that looks like a real Meta token and appears nowhere else: the security scan greps for it.
DRILL_TOKEN = "EAADrillToken" + "x7Q2" * 12
DRILL_APP_SECRET = "drill-app-secret-4f9a0c2e7b"
AS_OF = date(2026, 11, 19)  # the last complete Pacific day at SANDBOX_NOW
NIGHTLY_LOOKBACK = 2
BACKFILL = (date(2026, 11, 9), date(2026, 11, 12))
YOUTUBE_LAST_DAY = last_analytics_day(42, SANDBOX_NOW)  # Analytics lags 48-72 h, varying per day
FB, IG, YT = 6, 6, 2  # the drill registry: write_registry(fh, 6, 6, 2)
# One account per platform gets the fault; the rest of the registry stays healthy.
FAULTED = {
    "facebook": D.facebook_page_id(2),
    "instagram": D.instagram_user_id(3),
    "youtube": D.youtube_channel_id(1),
}
HTTP_TIMEOUT_S = 2.0  # the pipeline's client timeout in drills (production: 30 s)
FAULT_TIMEOUT_S = 3.0  # the sandbox's `timeout` profile holds a response this long (> the client timeout)

# truth column -> metric (name, dimension_value) per platform; dimension '' unless given.
TRUTH_METRICS: dict[str, dict[str, tuple[str, str]]] = {
    "facebook": {
        "followers": ("page_follows", ""),
        "followers_gained": ("page_daily_follows_unique", ""),
        "followers_lost": ("page_daily_unfollows_unique", ""),
        "views": ("page_media_view", ""),
        "reach": ("page_total_media_view_unique", ""),
        "engagements": ("page_post_engagements", ""),
    },
    "instagram": {
        "followers_gained": ("follows_and_unfollows", "FOLLOWER"),
        "followers_lost": ("follows_and_unfollows", "NON_FOLLOWER"),
        "views": ("views", ""),
        "reach": ("reach", ""),
        "engagements": ("total_interactions", ""),
    },
    "youtube": {
        "followers_gained": ("subscribersGained", ""),
        "followers_lost": ("subscribersLost", ""),
        "views": ("views", ""),
    },
}

KEY = ("platform, account_id, object_type, object_id, source, metric_name, period, metric_type, dimension, "
       "dimension_value, metric_date")
LATEST_SQL = f"""
    select o.* from raw.observations o
    join raw.loads l on l.load_id = o.load_id and l.status = 'committed'
    qualify row_number() over (partition by {', '.join('o.' + k.strip() for k in KEY.split(','))}
                               order by o.observed_at desc, o.load_id desc) = 1
"""


def write_drill_registry(path: Path, names: dict[str, str] | None = None) -> Path:
    """The 6/6/2 registry of the drills; `names` replaces account names (by account id)."""
    with path.open("w", encoding="utf-8") as fh:
        write_registry(fh, FB, IG, YT)
    if names:
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for account in data["accounts"]:
            if str(account["id"]) in names:
                account["name"] = names[str(account["id"])]
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def sandbox_config(account_faults: dict[str, str] | None = None, **overrides: Any) -> SandboxConfig:
    """The drill sandbox: 6 Pages, 6 IG accounts, 2 channels, the test clock, no restatements
    (activity values are final at once, so they compare exactly with the truth)."""
    params: dict[str, Any] = {
        "accounts": FB, "seed": 42, "now": SANDBOX_NOW, "youtube_channels": YT, "restatements": False,
        "account_faults": dict(account_faults or {}), "fault_timeout_s": FAULT_TIMEOUT_S,
        "youtube_quota_per_day": None,
    }
    params.update(overrides)
    return SandboxConfig(**params)


def pipeline_environ(home: Path, registry: Path, server: SandboxServer, **extra: str) -> dict[str, str]:
    """SOCIALPULSE_* variables for a run against `server` with data under `home`."""
    env = {
        "SOCIALPULSE_HOME": str(home),
        "SOCIALPULSE_ACCOUNTS": str(registry),
        "SOCIALPULSE_GRAPH_URL": server.graph_url,
        "SOCIALPULSE_YOUTUBE_DATA_URL": server.youtube_data_url,
        "SOCIALPULSE_YOUTUBE_ANALYTICS_URL": server.youtube_analytics_url,
        "SOCIALPULSE_META_TOKEN": DRILL_TOKEN,
        "SOCIALPULSE_YOUTUBE_TOKEN": DRILL_TOKEN,
        "SOCIALPULSE_META_APP_SECRET": DRILL_APP_SECRET,
        "SOCIALPULSE_LOOKBACK_DAYS": str(NIGHTLY_LOOKBACK),
        "SOCIALPULSE_HTTP_TIMEOUT_S": str(HTTP_TIMEOUT_S),
        "GX_ANALYTICS_ENABLED": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.update(extra)
    return env


@contextlib.contextmanager
def environ(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block, restore them after."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def virtual_waits(server: SandboxServer) -> Iterator[list[float]]:
    """Replace backoff sleeps of the fetch engine and the HTTP client by advancing the sandbox's rate
    clock (a throttle's 60 s pass instantly). Yields the list of waits requested.

    The engine's and the client's monotonic clock advance by the same virtual amount: the fetch
    engine schedules retries and paced calls at monotonic "not before" times and sleeps until the
    next one, so a clock that did not move with the virtual sleeps would have it sleep again and
    again (thousands of virtual waits) until real time caught up.
    """
    import threading

    from ingestion.extract import fetch, http

    waits: list[float] = []
    offset = [0.0]
    lock = threading.Lock()

    def monotonic() -> float:
        return time.monotonic() + offset[0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if seconds > 0:
            server.advance(seconds)
            with lock:
                offset[0] += seconds
            time.sleep(min(seconds, 0.01))

    originals = (fetch.time, http.time)
    shim = types.SimpleNamespace(sleep=sleep, monotonic=monotonic, perf_counter=time.perf_counter, time=time.time)
    fetch.time = shim
    http.time = shim
    try:
        yield waits
    finally:
        fetch.time, http.time = originals


def run_mode(settings, mode: str):
    """One drill run: the nightly ingest or a backfill without transform."""
    from ingestion.pipeline import chain as pipeline

    if mode == "nightly":
        return pipeline.run_ingest(settings, AS_OF)
    if mode == "backfill":
        return pipeline.run_backfill(settings, BACKFILL[0], BACKFILL[1], transform=False)
    raise ValueError(mode)


def expected_days(mode: str, platform: str) -> list[date]:
    """Platform days a run of `mode` must deliver for `platform` (as the sandbox serves them)."""
    if mode == "nightly":
        days = max(NIGHTLY_LOOKBACK, 7 if platform == "youtube" else 1)
        first, last = AS_OF - timedelta(days=days - 1), AS_OF
    else:
        first, last = BACKFILL
    if platform == "youtube":
        last = min(last, YOUTUBE_LAST_DAY)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def registry_accounts() -> list[tuple[str, str]]:
    """(platform, account id) of the drill registry."""
    return ([("facebook", D.facebook_page_id(i)) for i in range(1, FB + 1)]
            + [("instagram", D.instagram_user_id(i)) for i in range(1, IG + 1)]
            + [("youtube", D.youtube_channel_id(i)) for i in range(1, YT + 1)])


@dataclass
class TruthCheck:
    """Latest staged observations against the ground truth."""

    expected: int = 0
    missing: list[tuple] = field(default_factory=list)
    wrong: list[tuple] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return len(self.missing) + len(self.wrong)


def compare_with_truth(warehouse: Path, modes: tuple[str, ...], accounts: set[tuple[str, str]] | None = None
                       ) -> TruthCheck:
    """Every truth value of the modes' windows must be the latest committed observation."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            f"select platform, account_id, metric_name, dimension_value, metric_date, value from ({LATEST_SQL}) "
            "where object_type = 'account' and source = 'insights' and period = 'day' "
            "and dimension in ('', 'follow_type')"
        ).fetchall()
    finally:
        con.close()
    latest = {(p, a, m, dv, d): v for p, a, m, dv, d, v in rows}
    check = TruthCheck()
    wanted = accounts or set(registry_accounts())
    config = sandbox_config()
    for mode in modes:
        for platform, metrics in TRUTH_METRICS.items():
            days = expected_days(mode, platform)
            if not days:
                continue
            truth = [t for t in ground_truth(config, days[0], days[-1])
                     if t["platform"] == platform and (platform, t["account_id"]) in wanted]
            for t in truth:
                for column, (metric, dim_value) in metrics.items():
                    want = t[column]
                    got = latest.get((platform, t["account_id"], metric, dim_value, t["metric_date"]))
                    if platform == "instagram" and metric == "follows_and_unfollows" and got is None and want == 0:
                        continue  # the API omits a zero breakdown value
                    check.expected += 1
                    if got is None:
                        check.missing.append((platform, t["account_id"], t["metric_date"], column))
                    elif got != want:
                        check.wrong.append((platform, t["account_id"], t["metric_date"], column, got, want))
    return check


def duplicates(warehouse: Path) -> dict[str, int]:
    """Ways the warehouse could hold a thing twice or half: must all be 0."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            # the same observation key, fetch time and load twice: "latest" would be ambiguous
            "observation_dups": con.execute(
                f"select count(*) from (select {KEY}, observed_at, load_id from raw.observations "
                "group by all having count(*) > 1)").fetchone()[0],
            # the same response stored twice
            "response_dups": con.execute(
                "select count(*) - count(distinct (load_id, response_id)) from raw.responses").fetchone()[0],
            # rows of a load that has no committed load row (a partial load)
            "orphans": con.execute(
                "select (select count(*) from raw.observations where load_id not in "
                "(select load_id from raw.loads where status = 'committed')) + "
                "(select count(*) from raw.responses where load_id not in "
                "(select load_id from raw.loads where status = 'committed'))").fetchone()[0],
            # staged latest observations: exactly one row per key
            "latest_dups": con.execute(
                f"select count(*) - count(distinct ({KEY})) from ({LATEST_SQL})").fetchone()[0],
        }
    finally:
        con.close()


def reported_failures(warehouse: Path) -> dict[tuple[str, str], str | None]:
    """(platform, account) -> error_class of failed accounts recorded in raw.account_runs."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {(p, a): c for p, a, c in con.execute(
            "select platform, account_id, any_value(error_class) from raw.account_runs where status = 'failed' "
            "group by all").fetchall()}
    finally:
        con.close()


@dataclass
class Cell:
    """One row of the fault matrix."""

    profile: str
    mode: str
    completed: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # "platform:id" -> error class
    not_reported: list[str] = field(default_factory=list)  # failures missing from raw.account_runs
    collateral: list[str] = field(default_factory=list)  # healthy accounts that failed
    lost_first: int = 0  # truth values missing/wrong after the faulted run (silent or reported loss)
    silent_loss: list[tuple] = field(default_factory=list)  # losses of accounts reported as completed
    rerun_accounts: int = 0
    rerun_failed: int = 0
    lost: int = 0  # after the clean re-run: must be 0
    lost_sample: list[tuple] = field(default_factory=list)
    dups: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    waits_s: float = 0.0
    seconds: float = 0.0
    crashed: str | None = None

    def classes(self) -> str:
        return ",".join(sorted(set(self.failed.values()))) or "-"

    def row(self) -> dict[str, Any]:
        return {
            "profile": self.profile, "mode": self.mode, "completed": self.completed, "failed": len(self.failed),
            "error class": self.classes(), "reported": "yes" if not self.not_reported else
            f"NO({len(self.not_reported)})", "lost 1st": self.lost_first, "silent": len(self.silent_loss),
            "re-run": "not needed" if self.rerun_accounts < 0 else
            f"{self.rerun_accounts} acc" + (f"/{self.rerun_failed} failed" if self.rerun_failed else ""),
            "lost": self.lost, "dups": sum(self.dups.values()), "backoffs": self.retries,
            "virt wait s": round(self.waits_s, 1), "s": round(self.seconds, 1),
        }


def run_cell(profile: str, mode: str, workdir: Path, extra_env: dict[str, str] | None = None) -> Cell:
    """Faulted run + clean re-run of one matrix cell; returns its figures (asserts nothing)."""
    from ingestion.core.settings import load_settings

    started = time.perf_counter()
    cell = Cell(profile, mode)
    home = workdir / "data"
    registry = write_drill_registry(workdir / "accounts.yml")
    faults = {} if profile == "none" else {acc: profile for acc in FAULTED.values()}
    faulted_keys = {f"{p}:{a}" for p, a in FAULTED.items()} if faults else set()

    server = SandboxServer(sandbox_config(faults)).start()
    try:
        with environ(pipeline_environ(home, registry, server, **(extra_env or {}))), virtual_waits(server) as waits:
            settings = load_settings()
            try:
                report = run_mode(settings, mode)
            except Exception as exc:  # a crash of the run is the worst outcome: record it
                cell.crashed = f"{type(exc).__name__}: {exc}"[:300]
                logging.getLogger("drills").exception("run crashed in cell %s/%s", profile, mode)
                return cell
            cell.waits_s = sum(waits)
            cell.retries = len(waits)
    finally:
        server.stop()
    cell.failed = {f"{f['platform']}:{f['account_id']}": str(f.get("error_class")) for f in report.failed_accounts}
    cell.completed = len(registry_accounts()) - len(cell.failed)
    cell.collateral = sorted(set(cell.failed) - faulted_keys)
    recorded = reported_failures(settings.warehouse)
    cell.not_reported = sorted(k for k in cell.failed if tuple(k.split(":", 1)) not in recorded)
    first = compare_with_truth(settings.warehouse, (mode,))
    cell.lost_first = first.lost
    cell.silent_loss = [m for m in [*first.missing, *first.wrong] if f"{m[0]}:{m[1]}" not in cell.failed]
    if mode == "nightly" and not cell.failed and not first.lost:
        # Nothing to complete: a nightly re-run would only re-fetch the same window (the cells that
        # do re-run show that re-fetching adds no duplicate).
        cell.rerun_accounts, cell.lost = -1, 0
        cell.dups = duplicates(settings.warehouse)
        cell.seconds = time.perf_counter() - started
        return cell

    clean = SandboxServer(sandbox_config()).start()
    try:
        with environ(pipeline_environ(home, registry, clean, **(extra_env or {}))), virtual_waits(clean):
            settings = load_settings()
            rerun = run_mode(settings, mode)
    finally:
        clean.stop()
    cell.rerun_accounts = sum(f["accounts_ok"] + f["accounts_failed"] for f in rerun.fetches)
    cell.rerun_failed = len(rerun.failed_accounts)
    final = compare_with_truth(settings.warehouse, (mode,))
    cell.lost = final.lost
    cell.lost_sample = [*final.missing, *final.wrong][:5]
    cell.dups = duplicates(settings.warehouse)
    cell.seconds = time.perf_counter() - started
    return cell


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table (for the terminal summary)."""
    if not rows:
        return ""
    columns = list(rows[0])
    width = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    line = " | ".join(c.ljust(width[c]) for c in columns)
    out = [line, "-+-".join("-" * width[c] for c in columns)]
    out += [" | ".join(str(r.get(c, "")).ljust(width[c]) for c in columns) for r in rows]
    return "\n".join(out)


# ----------------------------------------------------------------------------------- child processes


def spawn(kind: str, *args: str, env: dict[str, str], marker: Path | None = None, pause_s: float = 600.0,
          log: Path | None = None):
    """Start `python -m tests.drills.hooks KIND ARGS` (see hooks.py) in the repo; returns the Popen."""
    import subprocess
    import sys

    child_env = {**os.environ, **env}
    child_env.pop("DRILL_MARKER", None)
    if marker is not None:
        child_env.update(DRILL_MARKER=str(marker), DRILL_PAUSE_S=str(pause_s))
    out = open(log, "a", encoding="utf-8") if log else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen([sys.executable, "-m", "tests.drills.hooks", kind, *args], cwd=REPO, env=child_env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        if log:
            out.close()


def wait_for_marker(marker: Path, proc, timeout_s: float = 120.0, log: Path | None = None) -> None:
    """Until the child reached its pause point (it wrote the marker); fails if it exited first."""
    deadline = time.monotonic() + timeout_s
    while not marker.exists():
        if proc.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:] if log and log.exists() else ""
            raise AssertionError(f"drill child exited with {proc.returncode} before its pause point:\n{tail}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("drill child never reached its pause point")
        time.sleep(0.05)


def kill9(proc) -> None:
    """SIGKILL the child (no cleanup handlers run), and reap it."""
    import signal

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def table_rows(warehouse: Path, table: str, exclude: tuple[str, ...] = ()) -> list[tuple]:
    """Sorted rows of a table (columns in `exclude` left out), for equality checks between warehouses.

    Floating-point columns compare at 12 significant digits: DuckDB sums doubles in parallel, so two
    builds from the same data can differ in the last bit.
    """
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        types = {r[0]: r[1] for r in con.execute(f"describe {table}").fetchall()}
        columns = [c for c in types if c not in exclude]
        select = ", ".join(f"printf('%.12g', \"{c}\")" if types[c] in ("DOUBLE", "FLOAT") else f'cast("{c}" as varchar)'
                           for c in columns)
        return sorted(con.execute(f"select {select} from {table}").fetchall(), key=repr)
    finally:
        con.close()


# ------------------------------------------------------------------------------ the full nightly chain

# Registry names a careless SQL builder would choke on: quotes, semicolons, comments, unicode.
HOSTILE_NAMES = {
    D.facebook_page_id(1): "O'Brien; DROP TABLE raw.loads; --",
    D.instagram_user_id(1): 'Ungdom "Insta"\'); delete from marts.dim_accounts where (\'1\'=\'1',
    D.facebook_page_id(3): "Äldreomsorg $$ ' || (select 1) || ' \\x00-free {{ jinja }} %s",
    D.youtube_channel_id(2): "Kultur */ /* ; COMMIT; --",
    D.instagram_user_id(2): "<script>alert('pwn')</script> & <b>Fritid</b>",
    # Its token is expired (NIGHTLY_FAULTS): the report lists it under the accounts that need action.
    D.facebook_page_id(4): "Gymnasiet <img src=x onerror=alert(4)> 'O\"Neil' & co",
}
# The nightly chain of the security and crash drills: faults on some accounts, Graph batching off so
# tokens travel in URLs (the hardest case for redaction), an app secret (appsecret_proof).
NIGHTLY_FAULTS = {
    D.facebook_page_id(2): "reset",
    D.facebook_page_id(4): "expired_token",
    D.instagram_user_id(3): "truncated",
    D.instagram_user_id(5): "non_json",
    D.youtube_channel_id(1): "5xx",
}


@dataclass
class NightlyHome:
    """A data folder after one full nightly chain (fetch, load, dbt build, mart gate, publish, report)."""

    home: Path
    registry: Path
    pre_dbt: Path  # copy of the warehouse after the loads, before dbt
    report_json: Path
    failed: dict[str, str]


def build_nightly(workdir: Path) -> NightlyHome:
    """Run the whole nightly chain like `socialpulse run` (in steps, to keep a pre-dbt copy)."""
    import json
    import shutil

    from ingestion.core.registry import load_registry
    from ingestion.core.settings import load_settings
    from ingestion.extract.plan import plan_nightly
    from ingestion.pipeline import chain as pipeline

    registry = write_drill_registry(workdir / "accounts.yml", HOSTILE_NAMES)
    home = workdir / "data"
    server = SandboxServer(sandbox_config(NIGHTLY_FAULTS)).start()
    try:
        env = pipeline_environ(home, registry, server, SOCIALPULSE_GRAPH_BATCH="false")
        with environ(env), virtual_waits(server):
            settings = load_settings()
            plans = plan_nightly(load_registry(settings.accounts), AS_OF, settings.lookback_days)
            report = pipeline.fetch_and_load(settings, plans, "nightly__drill", AS_OF)
            pre_dbt = workdir / "pre_dbt.duckdb"
            shutil.copyfile(settings.warehouse, pre_dbt)
            pipeline.transform_and_publish(settings, report)
    finally:
        server.stop()
    report_json = workdir / "run_report.json"
    report_json.write_text(json.dumps({**report.__dict__, "failed_accounts": report.failed_accounts}, default=str,
                                      indent=1), encoding="utf-8")
    failed = {f"{f['platform']}:{f['account_id']}": str(f.get("error_class")) for f in report.failed_accounts}
    return NightlyHome(home, registry, pre_dbt, report_json, failed)


PROFILE_ORDER = ("none", "flaky", "latency", "5xx", "timeout", "reset", "429", "throttle", "app_limit", "user_limit",
                 "page_limit", "custom_limit", "expired_token", "revoked_token", "truncated", "non_json", "empty",
                 "schema_drift")


def print_matrix(terminalreporter, rows: list[dict[str, Any]]) -> None:
    """The fault matrix as the run's last section (called by tests/conftest.py's terminal summary)."""
    order = {p: i for i, p in enumerate(PROFILE_ORDER)}
    rows = sorted(rows, key=lambda r: (order.get(r["profile"], 99), r["mode"] != "nightly"))
    terminalreporter.section("fault matrix (issue 10)")
    terminalreporter.write_line(
        "faults hit facebook page 2, instagram account 3, youtube channel 1 of a 6/6/2 registry; "
        "'lost' = truth values missing or wrong after the clean re-run; 'dups' = duplicate/orphan rows")
    for line in format_table(rows).splitlines():
        terminalreporter.write_line(line)
