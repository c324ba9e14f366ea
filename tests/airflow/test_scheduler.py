"""The real scheduler in the production shape (tests/airflow/services.py): PostgreSQL metadata DB,
Redis, CeleryExecutor with two workers standing in for two machines, every Airflow component its
own process, against a sandbox subprocess. Nothing is run in-process: the scheduler creates the
nightly DAG's scheduled run when the DAG is unpaused, its fetch shards spread over both workers,
the loads run on the writer host one at a time, and the load events trigger the transform on their
own. Then a backfill-DAG run must trigger exactly one transform run, and `airflow backfill create`
on the nightly DAG must work for a short range.

The worker drill kills one worker (kill -9 of its process group) while it runs fetch shards of a
nightly run: the scheduler notices the missing heartbeats, the shards are retried on the other
worker, and the marts end complete with no observation lost or duplicated.

The last test is the security drill of issue 10 for Airflow's own files: the registry gains
accounts whose calls fail on the token paths (an expired Page token, a revoked user token, 5xx on a
second Page token, a YouTube endpoint that echoes the bearer token in its 500 and 401 bodies), every
Graph call carries `appsecret_proof`, and a manual nightly run goes through the real scheduler. Then
every file of the stack's folder - Airflow's task logs, a dump of its metadata DB, every component's
log and both workers' folders, and the landing files, warehouse, BI copy, GX Data Docs and report -
is scanned for every secret value.

Every wait polls with a deadline; every component's process group is killed at the end, the
PostgreSQL cluster and Redis are thrown away.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
import yaml

from devtools import devenv
from ingestion.extract.executors import appsecret_proof
from ingestion.extract.landing import run_dir
from ingestion.pipeline.chain import default_as_of
from sandbox import data as D
from sandbox.server import SandboxConfig
from sandbox.truth import ground_truth
from tests.airflow.conftest import write_registry
from tests.airflow.services import WORKERS, celery_stack
from tests.airflow.standalone import DAG_IDS, RUN_S
from tests.drills.secret_scan import scan_for_secrets

pytestmark = [pytest.mark.scheduler, pytest.mark.timeout(1200)]

ACCOUNTS = 3  # per platform: small on purpose, the scheduler's overhead is what is tested here
LOOKBACK_DAYS = 2
SHARD_SIZE = 1  # accounts per fetch task: 3 shards per platform, enough to spread over both workers
WRITER_HOST, OTHER_HOST = WORKERS
# The security drill's accounts (not in the registry until the last test): Page 4 with its own
# Page token that the sandbox answers as expired, Instagram 4 with another Page token and 5xx on
# every call (retried within the task, completes), Page 5 on the user token, revoked.
SANDBOX_ACCOUNTS = 5
EXPIRED_PAGE, FLAKY_IG, REVOKED_PAGE = D.facebook_page_id(4), D.instagram_user_id(4), D.facebook_page_id(5)
ECHO_CHANNEL = D.youtube_channel_id(1)
REGISTERED = {*(("facebook", D.facebook_page_id(i)) for i in range(1, ACCOUNTS + 1)),
              *(("instagram", D.instagram_user_id(i)) for i in range(1, ACCOUNTS + 1))}
# Secret values that look like real ones (and name themselves drills, for the committed-secrets scan).
USER_TOKEN = "EAADrillSchedUser" + "u7Kq" * 10
PAGE_TOKENS = {"SOCIALPULSE_DRILL_PAGE_TOKEN_A": "EAADrillSchedPageA" + "p4Wz" * 10,
               "SOCIALPULSE_DRILL_PAGE_TOKEN_B": "EAADrillSchedPageB" + "r8Nd" * 10}
APP_SECRET = "drill-sched-app-secret-7c1e93"
YOUTUBE_TOKEN = "ya29.drill-sched-" + "Yt3x" * 8
META_TOKENS = (USER_TOKEN, *PAGE_TOKENS.values())
SECRETS = (*META_TOKENS, APP_SECRET, YOUTUBE_TOKEN, *(appsecret_proof(t, APP_SECRET) for t in META_TOKENS))


class EchoingGoogle:
    """Stands for the YouTube APIs of the security drill: answers every call with an error whose
    message echoes the bearer token bare (as some gateways do): HTTP 500 for the first two calls of
    each path (retried by the fetch engine), then 401 (an auth failure: reported, not retried)."""

    def __init__(self) -> None:
        calls = self.calls = Counter()
        tokens = self.tokens = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                token = (self.headers.get("Authorization") or "").partition(" ")[2]
                tokens.append(token)
                path = self.path.split("?", 1)[0]
                calls[path] += 1
                status = 500 if calls[path] <= 2 else 401
                reason = "backendError" if status == 500 else "authError"
                message = f"Request failed for credential {token} on {path}"
                body = json.dumps({"error": {"code": status, "message": message,
                                             "errors": [{"reason": reason, "message": message}]}}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("standalone")
    registry = write_registry(home / "accounts.yml", ACCOUNTS)
    faults = [f"{EXPIRED_PAGE}=expired_token", f"{FLAKY_IG}=5xx", f"{REVOKED_PAGE}=revoked_token"]
    google = EchoingGoogle()
    with devenv.sandbox_process("--accounts", str(SANDBOX_ACCOUNTS),  # the real clock
                                *(a for f in faults for a in ("--account-fault", f))) as sandbox_url:
        env = {"SOCIALPULSE_ACCOUNTS": str(registry), "SOCIALPULSE_GRAPH_URL": f"{sandbox_url}/graph",
               "SOCIALPULSE_META_TOKEN": USER_TOKEN, "SOCIALPULSE_LOOKBACK_DAYS": str(LOOKBACK_DAYS),
               # Tokens in URLs (no Graph batching) and appsecret_proof on every Graph call: the
               # hardest case for redaction. The YouTube APIs are the echoing stand-in (no YouTube
               # account is registered before the security drill).
               "SOCIALPULSE_GRAPH_BATCH": "false", "SOCIALPULSE_META_APP_SECRET": APP_SECRET,
               "SOCIALPULSE_YOUTUBE_TOKEN": YOUTUBE_TOKEN, "SOCIALPULSE_YOUTUBE_DATA_URL": f"{google.url}/youtube/v3",
               "SOCIALPULSE_YOUTUBE_ANALYTICS_URL": f"{google.url}/youtubeanalytics/v2",
               "SOCIALPULSE_FETCH_SHARD_SIZE": str(SHARD_SIZE),
               # A retry 5 s after a failure instead of 2 min (the worker drill; dag_support/defaults.py).
               "SOCIALPULSE_RETRY_DELAY_S": "5", **PAGE_TOKENS}
        try:
            with celery_stack(home, env) as stack:
                stack.registry, stack.google = registry, google
                for dag_id in DAG_IDS:  # unpausing the nightly lets the scheduler create its latest interval's run
                    stack.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
                stack.unpaused_at = time.monotonic()
                yield stack
        finally:
            google.close()


def _mart_rows(path: Path, accounts: set[tuple[str, str]]) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select platform, account_id, metric_date, followers, followers_gained, followers_lost, net_followers "
            "from marts.fct_follower_growth_daily"
        ).fetchall()
    finally:
        con.close()
    return {(r[0], r[1], r[2]): r[3:] for r in rows if (r[0], r[1]) in accounts}


def test_scheduler_runs_the_nightly_chain_then_the_asset_triggered_transform(stack):
    nightly = stack.wait("the scheduled nightly run", lambda: stack.runs("socialpulse_nightly"))[0]
    assert nightly["run_type"] == "scheduled"
    nightly = stack.wait("the nightly run to finish", lambda: stack.finished("socialpulse_nightly",
                                                                               nightly["dag_run_id"]))
    stack.assert_success("socialpulse_nightly", nightly)

    transforms = stack.wait("the asset-triggered transform", stack.transform_runs_settled)
    assert all(r["run_type"] == "asset_triggered" for r in transforms)
    for run in transforms:
        stack.assert_success("socialpulse_transform", run)
    stack.chain_s = time.monotonic() - stack.unpaused_at
    (stack.home / "timing.json").write_text(json.dumps({"startup_s": stack.startup_s,
                                                         "nightly_chain_s": stack.chain_s}))

    # Fetch shards ran on both workers; everything that opens the warehouse ran on the writer host.
    tis = _task_instances(stack, "socialpulse_nightly", nightly["dag_run_id"])
    fetches = [t for t in tis if t["task_id"].startswith("fetch_") and t["map_index"] >= 0]  # no YouTube here
    assert len(fetches) == 2 * ACCOUNTS // SHARD_SIZE, _placement(fetches)
    assert {t["hostname"] for t in fetches} == set(WORKERS), _placement(fetches)
    assert len({(t["hostname"], t["pid"]) for t in fetches}) >= 2
    # The UI names each shard by its accounts (not "fetch_facebook [0]").
    assert {t["rendered_map_index"] for t in fetches if t["task_id"] == "fetch_facebook"} == {
        f"facebook {D.facebook_page_id(i)} (1 account): 0 failed" for i in range(1, ACCOUNTS + 1)}
    writers = [t for t in tis if t["pool"] == "duckdb_writer" and t["state"] != "skipped"]  # no YouTube load
    for run in transforms:
        writers += [t for t in _task_instances(stack, "socialpulse_transform", run["dag_run_id"])
                    if t["pool"] == "duckdb_writer"]
    assert len(writers) >= 5, _placement(writers)  # 2 loads, dbt_build, mart_gate, publish
    assert {t["hostname"] for t in writers} == {WRITER_HOST}, _placement(writers)
    _assert_one_at_a_time(writers)
    # The writer host's worker imported Great Expectations once, before its pool forked
    # (dags/dag_support/celery_config.py): the load tasks' gates found it imported.
    for platform in ("facebook", "instagram"):
        text = "".join(p.read_text(encoding="utf-8")
                       for p in _task_logs(stack, "socialpulse_nightly", nightly["dag_run_id"], f"load_{platform}"))
        imports = [float(s) for s in re.findall(r"load gate .*? gx_seconds=[0-9.]+ \(import ([0-9.]+)\)", text)]
        assert imports and max(imports) < 0.1, f"load_{platform}: GX imported in the task ({imports} s)"

    events = stack.events(source_dag_id="socialpulse_nightly", source_run_id=nightly["dag_run_id"])
    assert sorted(e["name"] for e in events) == ["socialpulse.raw.facebook", "socialpulse.raw.instagram"]
    assert all(e["created_dagruns"] for e in events), "every load event fed a transform run"
    assert not any(secret in json.dumps(events) for secret in SECRETS)

    # The marts and the published copy hold exactly what the sandbox generated, for every account
    # and every day of the window the scheduled run read (as_of = the Pacific day before its
    # interval end).
    as_of = default_as_of(_parse(nightly["data_interval_end"]))
    since = as_of - timedelta(days=LOOKBACK_DAYS - 1)
    data = stack.home
    bi = data / "bi" / "socialpulse.duckdb"
    assert bi.exists() and (data / "bi" / "parquet" / "fct_follower_growth_daily.parquet").exists()
    truth = {(t["platform"], t["account_id"], t["metric_date"]): t
             for t in ground_truth(SandboxConfig(accounts=SANDBOX_ACCOUNTS, seed=42), since, as_of)
             if (t["platform"], t["account_id"]) in REGISTERED}  # the registry of this test
    accounts = {(p, a) for p, a, _ in truth}
    published = _mart_rows(bi, accounts)
    working = _mart_rows(data / "warehouse.duckdb", accounts)
    assert published == working
    # Instagram's follower level comes only from the snapshot a fetch takes (the level at the end of
    # the last complete Pacific day at fetch time); earlier days are reconstructed back from the daily
    # flows in between. The scheduler runs the latest *closed* interval: between 00:00 Pacific and the
    # interval end (10:00 Stockholm) that interval's day is two days before the snapshot's, the flows
    # of the day between are not in the window, and the levels stay NULL (never guessed) until a later
    # run brings them. The production nightly starts at the interval end: there the two days meet.
    snapshot_day = default_as_of(_parse(nightly["start_date"]))
    for key, t in truth.items():
        assert key in published, f"{key} missing from the published mart"
        followers, gained, lost, net = published[key]
        assert (gained, lost, net) == (t["followers_gained"], t["followers_lost"],
                                       t["followers_gained"] - t["followers_lost"]), key
        level_known = key[0] != "instagram" or snapshot_day <= as_of
        assert followers == (t["followers"] if level_known else None), (key, snapshot_day, as_of)
    assert len(accounts) == 2 * ACCOUNTS



def test_a_backfill_dag_run_triggers_exactly_one_transform(stack):
    stack.wait("earlier transform runs to settle", stack.transform_runs_settled)
    before = {r["dag_run_id"] for r in stack.runs("socialpulse_transform")}
    until = default_as_of() - timedelta(days=LOOKBACK_DAYS + 1)
    conf = {"since": (until - timedelta(days=3)).isoformat(), "until": until.isoformat(),
            "platforms": ["facebook", "instagram"]}
    run = stack.call("POST", "/dags/socialpulse_backfill/dagRuns", {"logical_date": None, "conf": conf})
    run = stack.wait("the backfill DAG run", lambda: stack.finished("socialpulse_backfill", run["dag_run_id"]))
    stack.assert_success("socialpulse_backfill", run)

    events = stack.events(source_dag_id="socialpulse_backfill", source_run_id=run["dag_run_id"])
    assert sorted(e["name"] for e in events) == ["socialpulse.raw.facebook", "socialpulse.raw.instagram"]
    assert all(e["extra"]["kind"] == "backfill" for e in events)
    stack.wait("the backfill's events to be consumed",
               lambda: all(e["created_dagruns"] for e in
                           stack.events(source_dag_id="socialpulse_backfill", source_run_id=run["dag_run_id"])))
    runs = stack.wait("the transform to finish", stack.transform_runs_settled)
    new = [r for r in runs if r["dag_run_id"] not in before]
    consumers = {d["run_id"] for e in stack.events(source_dag_id="socialpulse_backfill") for d in e["created_dagruns"]
                 if d["dag_id"] == "socialpulse_transform"}
    assert len(new) == 1 and consumers == {new[0]["dag_run_id"]}, (new, consumers)
    stack.assert_success("socialpulse_transform", new[0])


def test_airflow_backfill_create_runs_the_nightly_dag_for_a_short_range(stack):
    today = date.today()
    first, last = today - timedelta(days=12), today - timedelta(days=11)
    # The dates are midnights (UTC) and the runs' logical dates 09:00 UTC (10:00 Stockholm): the
    # last day's run needs the next day's midnight as the end of the range.
    devenv.airflow(stack.env, "backfill", "create", "--dag-id", "socialpulse_nightly", "--from-date",
                   first.isoformat(), "--to-date", (last + timedelta(days=1)).isoformat(), log_file=stack.log)

    def backfilled():
        runs = [r for r in stack.runs("socialpulse_nightly") if r["run_type"] == "backfill"]
        return runs if len(runs) == 2 and all(r["state"] in ("success", "failed") for r in runs) else None

    runs = stack.wait("two backfilled nightly runs", backfilled, timeout_s=RUN_S * 2)
    for run in runs:
        stack.assert_success("socialpulse_nightly", run)
    assert sorted(r["logical_date"][:10] for r in runs) == [first.isoformat(), last.isoformat()]
    # Each backfilled run emitted its own events. The transform consumed them, folded or not: no
    # event waits, and a successful transform run started after the last event.
    # (Airflow 3.3 may leave an event that arrives while a consumer run waits for max_active_runs
    # unlinked from any run, so "every event has a consumer run" is not a reliable check.)
    last_event = ""
    for run in runs:
        events = stack.events(source_dag_id="socialpulse_nightly", source_run_id=run["dag_run_id"])
        assert sorted(e["name"] for e in events) == ["socialpulse.raw.facebook", "socialpulse.raw.instagram"]
        last_event = max(last_event, *(e["timestamp"] for e in events))
    transforms = stack.wait("the transform runs to finish", stack.transform_runs_settled)
    for run in transforms:
        stack.assert_success("socialpulse_transform", run)
    assert any(_parse(r["start_date"]) > _parse(last_event) for r in transforms), "no transform after the backfill"


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _task_instances(stack, dag_id: str, run_id: str) -> list[dict]:
    return stack.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=500)["task_instances"]


def _placement(tis: list[dict]) -> list[tuple]:
    return sorted((t["task_id"], t["map_index"], t["try_number"], t["hostname"], t["pid"], t["state"]) for t in tis)


def _assert_one_at_a_time(tis: list[dict]) -> None:
    """No two of these task instances ran at the same time (the single DuckDB writer)."""
    spans = sorted((_parse(t["start_date"]), _parse(t["end_date"]), t["task_id"]) for t in tis
                   if t["start_date"] and t["end_date"])
    assert len(spans) == len(tis), _placement(tis)
    for (_, end, first), (start, _, second) in zip(spans, spans[1:], strict=False):
        assert start >= end, f"{second} started before {first} ended: two writers at once"


def _task_logs(stack, dag_id: str, run_id: str, task_id: str) -> list[Path]:
    """Airflow's log files of one task of one run (every map index and attempt)."""
    run_dir = next((d for d in (stack.home / "airflow" / "logs" / f"dag_id={dag_id}").glob("run_id=*")
                    if d.name.replace(":", "") == f"run_id={run_id}".replace(":", "")), None)
    assert run_dir is not None, f"Airflow wrote no log folder for {dag_id} {run_id}"
    return sorted((run_dir / f"task_id={task_id}").rglob("*.log"))


DRILL_DAYS_BACK = 20  # the drill's nightly reads days no other test reads
DRILL_LOOKBACK = 14  # more requests per shard: the victim is caught while it fetches


def test_kill_9_of_a_worker_mid_run_its_shards_are_retried_on_the_other(stack):
    """Issue 20's drill: SIGKILL one worker's process group while it runs fetch shards of a nightly
    run. Airflow notices the missing heartbeats, the shards are retried on the writer host, the run
    and the transform succeed, and the marts hold every account-day of the window exactly once."""
    stack.wait("earlier runs to finish", lambda: all(r["state"] in ("success", "failed") for dag_id in DAG_IDS
                                                     for r in stack.runs(dag_id)))
    as_of = default_as_of() - timedelta(days=DRILL_DAYS_BACK)
    run = stack.call("POST", "/dags/socialpulse_nightly/dagRuns",
                     {"logical_date": None, "conf": {"as_of": as_of.isoformat(), "lookback_days": DRILL_LOOKBACK}})
    run_id = run["dag_run_id"]

    def victims():
        return [t for t in _task_instances(stack, "socialpulse_nightly", run_id)
                if t["task_id"].startswith("fetch_") and t["state"] == "running" and t["hostname"] == OTHER_HOST]

    caught = stack.wait(f"a fetch shard running on {OTHER_HOST}", victims, timeout_s=RUN_S, every_s=0.25)
    stack.kill_worker(OTHER_HOST)
    killed_at = time.monotonic()
    run = stack.wait("the nightly run after the kill", lambda: stack.finished("socialpulse_nightly", run_id),
                     timeout_s=RUN_S * 2)
    stack.assert_success("socialpulse_nightly", run)
    recovered_s = time.monotonic() - killed_at

    tis = {(t["task_id"], t["map_index"]): t for t in _task_instances(stack, "socialpulse_nightly", run_id)}
    for victim in caught:
        final = tis[(victim["task_id"], victim["map_index"])]
        assert final["state"] == "success" and final["try_number"] > victim["try_number"], _placement([final])
        assert final["hostname"] == WRITER_HOST, _placement([final])
    fetches = [t for t in tis.values() if t["task_id"].startswith("fetch_") and t["map_index"] >= 0]
    assert len(fetches) == 2 * ACCOUNTS and all(t["state"] == "success" for t in fetches), _placement(fetches)

    transforms = stack.wait("the transform runs to finish", stack.transform_runs_settled)
    for transform in transforms:
        stack.assert_success("socialpulse_transform", transform)
    since = as_of - timedelta(days=DRILL_LOOKBACK - 1)
    truth = {(t["platform"], t["account_id"], t["metric_date"]): t
             for t in ground_truth(SandboxConfig(accounts=SANDBOX_ACCOUNTS, seed=42), since, as_of)
             if (t["platform"], t["account_id"]) in REGISTERED}
    con = duckdb.connect(str(stack.home / "warehouse.duckdb"), read_only=True)
    try:
        keys = con.execute(
            "select platform, account_id, metric_date, count(*) from marts.fct_follower_growth_daily "
            "where metric_date between ? and ? group by all", [since, as_of]).fetchall()
        # Raw: the killed shards' landing files were rewritten by the retry and loaded once.
        raw_dupes = con.execute(
            "select count(*) from (select platform, account_id, object_id, metric_name, period, dimension, "
            "dimension_value, metric_date, count(*) n from raw.observations o join raw.loads l using (load_id) "
            "where l.run_id = ? group by all having n > 1)", [run_id]).fetchone()[0]
    finally:
        con.close()
    marts = {(p, a, d): n for p, a, d, n in keys if (p, a) in REGISTERED}
    lost = sorted(set(truth) - set(marts))
    duplicated = sorted(k for k, n in marts.items() if n > 1)
    assert (lost, duplicated, raw_dupes) == ([], [], 0)
    assert len(truth) == 2 * ACCOUNTS * DRILL_LOOKBACK
    published, working = _mart_rows(stack.home / "bi" / "socialpulse.duckdb", REGISTERED), _mart_rows(
        stack.home / "warehouse.duckdb", REGISTERED)
    assert published == working
    for key, t in truth.items():
        assert published[key][1:] == (t["followers_gained"], t["followers_lost"],
                                      t["followers_gained"] - t["followers_lost"]), key
    print(f"worker drill: killed {OTHER_HOST} while it ran {[(v['task_id'], v['map_index']) for v in caught]}; "
          f"retried on {WRITER_HOST}, run succeeded {recovered_s:.0f} s after the kill; "
          f"{len(truth)} account-days, 0 lost, 0 duplicated")


def test_a_night_with_failing_tokens_leaks_no_secret_into_airflow_or_pipeline_files(stack, tmp_path):
    """Issue 10, security: the token paths fail for real under the real scheduler, then every file
    of the stack (Airflow's task logs and metadata DB included) is scanned for every secret value."""
    stack.wait("earlier runs to finish", lambda: all(r["state"] in ("success", "failed") for dag_id in DAG_IDS
                                                     for r in stack.runs(dag_id)))
    # The registry gains the drill's accounts (written whole, then swapped in: a reader never sees half).
    drill = write_registry(tmp_path / "accounts.yml", SANDBOX_ACCOUNTS,
                           token_envs={EXPIRED_PAGE: "SOCIALPULSE_DRILL_PAGE_TOKEN_A",
                                       FLAKY_IG: "SOCIALPULSE_DRILL_PAGE_TOKEN_B"})
    registry = yaml.safe_load(drill.read_text(encoding="utf-8"))
    demo = yaml.safe_load((devenv.REPO / "config" / "accounts.yml").read_text(encoding="utf-8"))
    channel = dict(next(a for a in demo["accounts"] if a["id"] == ECHO_CHANNEL))
    channel.pop("linked", None)
    registry["accounts"].append(channel)
    drill.write_text(yaml.safe_dump(registry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    shutil.move(drill, stack.registry)

    run = stack.call("POST", "/dags/socialpulse_nightly/dagRuns",
                     {"logical_date": None, "conf": {"as_of": default_as_of().isoformat()}})
    run_id = run["dag_run_id"]
    run = stack.wait("the drill's nightly run", lambda: stack.finished("socialpulse_nightly", run_id))
    tis = stack.get(f"/dags/socialpulse_nightly/dagRuns/{run_id}/taskInstances", limit=200)["task_instances"]
    states: dict[str, set[str]] = {}
    for ti in tis:
        states.setdefault(ti["task_id"], set()).add(ti["state"])
    # Partial failure: the healthy accounts loaded, the report task failed the run and named the rest.
    assert run["state"] == "failed", states
    assert states["report"] == {"failed"}, states
    for task_id in ("fetch_facebook", "fetch_instagram", "fetch_youtube", "load_facebook", "load_instagram"):
        assert states[task_id] == {"success"}, states
    report_log = "\n".join(p.read_text(encoding="utf-8", errors="replace")
                           for p in _task_logs(stack, "socialpulse_nightly", run_id, "report"))
    for account in (EXPIRED_PAGE, REVOKED_PAGE, ECHO_CHANNEL):
        assert account in report_log, f"{account} not named as failed in the report task's log"
    assert FLAKY_IG not in report_log  # 5xx on every call: retried within the task, completed
    # The token paths really ran: the echoing endpoint got the YouTube token (and answered with it),
    # every Graph call carried appsecret_proof (landing records keep the masked parameter).
    assert set(stack.google.tokens) == {YOUTUBE_TOKEN} and sum(stack.google.calls.values()) >= 3
    # One landing file per shard of one account: an account that failed before any response (or
    # was skipped after its platform's token failed) has an empty file, so the check is per record.
    records = [line for p in sorted(run_dir(stack.home / "landing", run_id).rglob("*.jsonl"))  # not the drill's
               if "youtube" not in str(p) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert records and all('"appsecret_proof": "***"' in line for line in records)

    # Everything written under the stack's folder, once the transform the healthy loads triggered
    # has finished (no DuckDB file may be skipped as locked: strict).
    stack.wait("the transform runs to finish", stack.transform_runs_settled)
    airflow_logs = sorted((stack.home / "airflow" / "logs").rglob("*.log"))
    # The metadata DB lives in PostgreSQL: scanned as a plain-SQL dump of every table.
    metadata = stack.dump_metadata(stack.home / "airflow" / "metadata.sql")
    assert len(airflow_logs) >= 20 and "task_instance" in metadata.read_text(encoding="utf-8")
    hits, files, tables = scan_for_secrets(stack.home, SECRETS, strict=True)
    assert hits == [], hits[:20]
    assert files > len(airflow_logs) and tables >= 3  # warehouse, BI copy, Parquet marts
    # ... and the echoed message reached Airflow's task log, masked.
    youtube_log = "\n".join(p.read_text(encoding="utf-8", errors="replace")
                            for p in _task_logs(stack, "socialpulse_nightly", run_id, "fetch_youtube"))
    assert "Request failed for credential ***" in youtube_log, youtube_log[-3000:]
    print(f"airflow security scan: {files} files ({len(airflow_logs)} Airflow task logs, the metadata DB), "
          f"{tables} DuckDB/Parquet files, {len(SECRETS)} secret values, 0 hits")

    # The scan can fail: each secret planted in a copy of a real task log of this run is found.
    planted = tmp_path / "planted"
    for i, secret in enumerate(SECRETS):
        copy = planted / str(i) / "attempt=1.log"
        copy.parent.mkdir(parents=True)
        shutil.copyfile(_task_logs(stack, "socialpulse_nightly", run_id, "fetch_facebook")[0], copy)
        with copy.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"event": f"GET /v25.0/{EXPIRED_PAGE}/insights?access_token={secret}"}) + "\n")
    hits, files, _ = scan_for_secrets(planted, SECRETS)
    assert files == len(SECRETS) and sorted(hits) == sorted(f"{planted / str(i) / 'attempt=1.log'}: bytes"
                                                            for i in range(len(SECRETS)))
