"""Pacing follows the scope of each usage counter: app usage slows every request, an account's own
usage (X-Business-Use-Case-Usage, X-Page-Usage) slows only that account's requests. Real sandbox
HTTP, with a small per-account call budget so one account gets hot quickly."""

from __future__ import annotations

import pytest

from ingestion.core.settings import load_settings
from ingestion.extract.executors import GraphExecutor
from ingestion.extract.http import APP, ApiResponse, HttpClient
from ingestion.sources import RequestSpec
from sandbox.server import SandboxConfig, SandboxServer
from tests.conftest import SANDBOX_NOW, TEST_TOKEN

HOT, COOL, COOL2 = "17841400000000001", "17841400000000002", "17841400000000003"
BUDGET = 10  # calls per business object per hour: the 9th call reads 90 % (a 3 s slowdown)


@pytest.fixture
def budget_sandbox(monkeypatch, tmp_path):
    server = SandboxServer(SandboxConfig(accounts=3, seed=42, now=SANDBOX_NOW, youtube_channels=0,
                                         call_budget_per_hour=BUDGET)).start()
    monkeypatch.setenv("SOCIALPULSE_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("SOCIALPULSE_GRAPH_URL", server.graph_url)
    try:
        yield server
    finally:
        server.stop()


def _node(client: HttpClient, server: SandboxServer, account: str) -> ApiResponse:
    return client.send("GET", f"{server.graph_url}/v25.0/{account}", retries=0, pace_keys=(account,),
                       params={"fields": "followers_count", "access_token": TEST_TOKEN})


def _heat(client: HttpClient, server: SandboxServer, account: str, calls: int = BUDGET - 1) -> None:
    for _ in range(calls):
        _node(client, server, account)


def test_a_hot_account_slows_only_its_own_requests(budget_sandbox):
    client = HttpClient(max_retries=0)
    try:
        _heat(client, budget_sandbox, HOT)
        assert client.pause_remaining(HOT) > 2.0  # 90 % of its budget: about 3 s
        assert client.pause_remaining(COOL) == 0.0 and client.pause_remaining() == 0.0
        assert set(client.stats.paced_s) <= {HOT}  # the warm-up itself only ever waited for HOT
        waited_before = client.stats.paced_s.get(HOT, 0.0)
        _node(client, budget_sandbox, COOL)
        assert set(client.stats.paced_s) <= {HOT}  # COOL went straight through
        _node(client, budget_sandbox, HOT)
        assert client.stats.paced_s[HOT] - waited_before > 1.5  # HOT waited for its own usage
    finally:
        client.close()


def test_batches_keep_a_hot_account_apart(budget_sandbox):
    settings = load_settings()
    client = HttpClient(max_retries=0)
    try:
        _heat(client, budget_sandbox, HOT)
        waited = dict(client.stats.paced_s)
        trips = client.stats.round_trips
        specs = [RequestSpec("instagram", a, "node", a, {"fields": "id,followers_count"}) for a in (COOL, HOT, COOL2)]
        outcomes = GraphExecutor(settings, client).execute([(s, TEST_TOKEN) for s in specs])
        assert all(isinstance(o, ApiResponse) for o in outcomes)
        assert [o.body["id"] for o in outcomes] == [COOL, HOT, COOL2]  # answers in the callers' order
        # one batch for the two cool accounts (sent at once), one for the hot account (paced)
        assert client.stats.round_trips - trips == 2
        assert set(client.stats.paced_s) == {HOT} and client.stats.paced_s[HOT] > waited.get(HOT, 0.0) + 1.5
    finally:
        client.close()


def test_usage_scopes():
    client = HttpClient()
    try:
        # an account's Business Use Case usage: that account only
        client.observe_usage({"x-business-use-case-usage": {HOT: [{"type": "instagram", "call_count": 95,
                                                                   "total_cputime": 10, "total_time": 10}]}})
        assert client.pause_remaining(HOT) > 0 and client.pause_remaining(COOL) == 0 == client.pause_remaining()
        # X-Page-Usage names no object: it belongs to the account the request was about
        client.observe_usage({"x-page-usage": {"call_count": 10, "total_cputime": 99, "total_time": 1}}, COOL)
        assert client.pause_remaining(COOL) > 0 and client.pause_remaining(COOL2) == 0 == client.pause_remaining()
        # below the threshold nothing changes; malformed counters count as 0
        client.observe_usage({"x-business-use-case-usage": {COOL2: [{"call_count": 75}]},
                              "x-app-usage": {"call_count": "nan", "total_time": None}})
        assert client.pause_remaining(COOL2) == 0 == client.pause_remaining()
        # app usage is app-wide: every request waits
        client.observe_usage({"x-app-usage": {"call_count": 90, "total_cputime": 5, "total_time": 5}})
        assert client.pause_remaining() > 0 and client.pause_remaining(COOL2) > 0
        assert client.stats.slowdowns == 3
    finally:
        client.close()


def test_fetch_rounds_do_not_wait_for_a_hot_or_backing_off_account():
    import time

    from ingestion.extract.fetch import _ready_split

    client = HttpClient()
    try:
        client.observe_usage({"x-business-use-case-usage": {HOT: [{"call_count": 100}]}})  # 5 s for HOT
        spec = {a: RequestSpec("instagram", a, "node", a) for a in (HOT, COOL, COOL2)}
        later = time.monotonic() + 2.0  # COOL2's retry backs off for 2 s
        ready, waiting, next_at = _ready_split([(spec[HOT], 0, 0.0), (spec[COOL], 0, 0.0), (spec[COOL2], 1, later)],
                                               client)
        assert ready == [(spec[COOL], 0)]
        assert waiting == [(spec[HOT], 0, 0.0), (spec[COOL2], 1, later)]
        assert next_at == pytest.approx(later, abs=0.01)  # the earliest of the waiting calls
        # app-wide usage is applied when sending (everyone waits alike), not by holding calls back
        client.observe_usage({"x-app-usage": {"call_count": 100}})
        ready, _, _ = _ready_split([(spec[COOL], 0, 0.0)], client)
        assert ready == [(spec[COOL], 0)]
    finally:
        client.close()


def test_unattributed_page_usage_paces_everything():
    client = HttpClient()
    try:
        client.observe_usage({"x-page-usage": {"call_count": 99}})  # no account known: the safe side
        assert client.pause_remaining() > 0 and client.pause_remaining(HOT) > 0
        assert APP == "app"
    finally:
        client.close()


def test_fetch_paces_only_the_hot_account(monkeypatch, tmp_path):
    """The whole engine: one Instagram account already at 90 % of its hourly budget (calls made
    before this fetch), two others fresh. Only the hot account is slowed; nobody waits app-wide,
    and every account's data arrives."""
    from datetime import date

    from ingestion.extract import landing
    from ingestion.extract.fetch import fetch_chunk
    from ingestion.extract.plan import AccountPlan
    from ingestion.sources import FetchContext

    server = SandboxServer(SandboxConfig(accounts=3, seed=42, now=SANDBOX_NOW, youtube_channels=0)).start()
    try:
        monkeypatch.setenv("SOCIALPULSE_HOME", str(tmp_path / "data"))
        monkeypatch.setenv("SOCIALPULSE_GRAPH_URL", server.graph_url)
        monkeypatch.setenv("SOCIALPULSE_META_TOKEN", TEST_TOKEN)
        import requests

        with requests.Session() as session:  # earlier calls (another job): 155 of the nominal 200 per hour
            for _ in range(155):
                session.get(f"{server.graph_url}/v25.0/{HOT}", timeout=10,
                            params={"fields": "followers_count", "access_token": TEST_TOKEN}).raise_for_status()
        as_of = date(2026, 11, 19)
        plans = [AccountPlan("instagram", a, None, date(2026, 11, 18), as_of) for a in (HOT, COOL, COOL2)]
        settings = load_settings()
        result = fetch_chunk(settings, "run-pacing", "c0", plans, FetchContext(as_of=as_of))
        assert (result.accounts_ok, result.accounts_failed) == (3, 0)
        assert result.paced_accounts == [HOT] and result.app_paced_s == 0.0
        endpoints: dict[str, set[str]] = {}
        for record in landing.read_records(settings.landing_dir, "run-pacing", "instagram"):
            endpoints.setdefault(record["account_id"], set()).add(record["endpoint"])
        assert endpoints[HOT] == endpoints[COOL] == endpoints[COOL2]  # nothing lost by pacing
        assert {"node", "insights", "media"} <= endpoints[HOT]
    finally:
        server.stop()
