"""Fault profiles: deterministic, bounded (a client with K retries completes), per account."""

from __future__ import annotations

import json
import time

import pytest
import requests

from sandbox import data as D
from sandbox.cli import build_parser
from sandbox.server import SandboxConfig, SandboxServer
from tests.sandbox.conftest import IG, PAGE, TOKEN, assert_graph_error, start

K = 2
PATHS = [
    f"{D.facebook_page_id(1 + i % 10)}/insights?metric=page_follows&since=2026-11-{1 + i // 10:02d}&until=2026-11-15"
    for i in range(40)
]


def attempt(http: requests.Session, url: str, timeout: float = 5.0) -> tuple[str, requests.Response | None]:
    """One try: ("ok", resp) for a JSON 200 with data, else the failure class."""
    try:
        resp = http.get(url, params={"access_token": TOKEN}, timeout=timeout)
    except requests.exceptions.ReadTimeout:
        return "timeout", None
    except requests.exceptions.ConnectionError:
        return "connection", None
    try:
        body = resp.json()
    except ValueError:
        return "garbage", resp
    if resp.status_code == 200 and isinstance(body, dict) and "data" in body:
        return "ok", resp
    return f"http{resp.status_code}", resp


def run_drill(profile: str) -> list[list[str]]:
    """Every path until success or K + 1 attempts; returns the outcome sequence per path."""
    srv = start(faults=profile, fault_max_consecutive=K)
    try:
        outcomes = []
        for path in PATHS:
            seq = []
            for _ in range(K + 1):
                with requests.Session() as http:  # a fresh connection after resets
                    kind, _ = attempt(http, f"{srv.graph_url}/v25.0/{path}")
                seq.append(kind)
                if kind == "ok":
                    break
            outcomes.append(seq)
        return outcomes
    finally:
        srv.stop()


@pytest.mark.parametrize(
    "profile, failure",
    [
        ("5xx", {"http500", "http503"}),
        ("429", {"http429"}),
        ("reset", {"connection"}),
        ("truncated", {"garbage"}),
        ("non_json", {"garbage"}),
        ("app_limit", {"http403"}),
        ("user_limit", {"http400"}),
        ("page_limit", {"http400"}),
        ("custom_limit", {"http400"}),
    ],
)
def test_transient_profiles_are_deterministic_and_bounded(profile, failure):
    outcomes = run_drill(profile)
    assert all(seq[-1] == "ok" for seq in outcomes), outcomes  # K retries always suffice
    assert all(len(seq) <= K + 1 for seq in outcomes)
    hit = [seq for seq in outcomes if len(seq) > 1]
    assert 1 <= len(hit) <= 30, outcomes  # a seeded fraction of requests: not all, not none
    assert {kind for seq in hit for kind in seq[:-1]} == failure
    assert run_drill(profile) == outcomes  # same seed, same drill


def test_fault_envelopes_per_profile():
    page = D.facebook_page_id(2)
    srv = start(account_faults={page: "429"})
    try:
        with requests.Session() as http:
            resp = http.get(f"{srv.graph_url}/v25.0/{page}", params={"access_token": TOKEN}, timeout=5)
            assert resp.status_code == 429 and 1 <= int(resp.headers["Retry-After"]) <= 3
            assert resp.json()["error"]["code"] == 4
    finally:
        srv.stop()
    codes = {}
    for profile, code in (("app_limit", 4), ("user_limit", 17), ("page_limit", 32), ("custom_limit", 613)):
        srv = start(account_faults={page: profile})
        try:
            with requests.Session() as http:
                resp = http.get(f"{srv.graph_url}/v25.0/{page}", params={"access_token": TOKEN}, timeout=5)
                err = resp.json()["error"]
                codes[profile] = err["code"]
                assert err["message"].startswith(f"(#{code}) ") and err["is_transient"] is True
        finally:
            srv.stop()
    assert codes == {"app_limit": 4, "user_limit": 17, "page_limit": 32, "custom_limit": 613}


def test_timeout_holds_longer_than_the_client_waits():
    srv = start(account_faults={PAGE: "timeout"}, fault_timeout_s=1.0)
    try:
        with requests.Session() as http:
            url = f"{srv.graph_url}/v25.0/{PAGE}/insights?metric=page_follows"
            kinds = []
            started = time.monotonic()
            for _ in range(K + 1):
                kind, _ = attempt(http, url, timeout=0.3)
                kinds.append(kind)
                if kind == "ok":
                    break
            assert kinds[0] == "timeout" and kinds[-1] == "ok" and len(kinds) <= K + 1
            assert time.monotonic() - started < 5
            other = attempt(http, f"{srv.graph_url}/v25.0/{IG}/insights?metric=reach", timeout=0.3)[0]
            assert other == "ok"  # other accounts are not held
    finally:
        srv.stop()


def test_throttle_profile_answers_buc_codes_and_lifts_after_the_stated_time():
    srv = start(account_faults={PAGE: "throttle", IG: "throttle"}, fault_throttle_minutes=2)
    try:
        with requests.Session() as http:
            for obj, code, kind in ((PAGE, 80001, "pages"), (IG, 80002, "instagram")):
                url = f"{srv.graph_url}/v25.0/{obj}"
                statuses = [http.get(url, params={"access_token": TOKEN}, timeout=5) for _ in range(5)]
                throttled = [r for r in statuses if r.status_code != 200]
                assert statuses[0].status_code == 200 and throttled, [r.status_code for r in statuses]
                err = throttled[0].json()["error"]
                assert err["code"] == code and err["message"].startswith(f"(#{code}) There have been too many calls")
                entry = json.loads(throttled[0].headers["X-Business-Use-Case-Usage"])[obj][0]
                assert entry["type"] == kind and entry["estimated_time_to_regain_access"] == 2
            srv.advance(61)
            again = http.get(f"{srv.graph_url}/v25.0/{PAGE}", params={"access_token": TOKEN}, timeout=5)
            assert again.status_code == 400
            assert json.loads(again.headers["X-Business-Use-Case-Usage"])[PAGE][0][
                "estimated_time_to_regain_access"] == 1
            srv.advance(60)
            for obj in (PAGE, IG):
                for _ in range(3):  # lifted for good
                    assert http.get(f"{srv.graph_url}/v25.0/{obj}", params={"access_token": TOKEN},
                                    timeout=5).status_code == 200
    finally:
        srv.stop()


def test_auth_faults_are_permanent_for_that_account_only():
    page3, ig4 = D.facebook_page_id(3), D.instagram_user_id(4)
    srv = start(account_faults={page3: "expired_token", ig4: "revoked_token"})
    try:
        with requests.Session() as http:
            get = lambda p: http.get(f"{srv.graph_url}/v25.0/{p}", params={"access_token": TOKEN}, timeout=5)  # noqa: E731
            for _ in range(5):
                assert_graph_error(get(page3), 190, subcode=463)
                assert_graph_error(get(f"{page3}/insights?metric=page_follows"), 190, subcode=463)
                assert_graph_error(get(f"{page3}/published_posts"), 190, subcode=463)
                assert_graph_error(get(ig4), 190, subcode=460)
            assert get(PAGE).status_code == 200 and get(IG).status_code == 200
    finally:
        srv.stop()


def test_empty_and_schema_drift_change_successful_bodies():
    page2 = D.facebook_page_id(2)
    srv = start(account_faults={PAGE: "empty", page2: "schema_drift"})
    try:
        with requests.Session() as http:
            def get(path):
                return http.get(f"{srv.graph_url}/v25.0/{path}", params={"access_token": TOKEN}, timeout=5).json()

            window = "metric=page_follows,page_media_view&since=2026-11-01&until=2026-11-05"
            assert get(f"{PAGE}/insights?{window}") == {"data": []}
            assert get(f"{PAGE}/published_posts") == {"data": []}
            assert get(f"{PAGE}?fields=id,followers_count")["id"] == PAGE  # nodes have no list to empty
            drifted = get(f"{page2}/insights?{window}")
            for item in drifted["data"]:
                assert "description" not in item and "title" in item and len(item["values"]) == 4
                assert item["is_estimated"] is False and item["source_version"]
            assert "experimental_summary" in drifted
            clean = get(f"{D.facebook_page_id(5)}/insights?{window}")
            assert "description" in clean["data"][0] and "is_estimated" not in clean["data"][0]
    finally:
        srv.stop()


def test_latency_profile_delays_answers():
    srv = start(account_faults={PAGE: "latency"})
    try:
        with requests.Session() as http:
            def timed(path):
                t = time.monotonic()
                assert http.get(f"{srv.graph_url}/v25.0/{path}", params={"access_token": TOKEN},
                                timeout=5).status_code == 200
                return time.monotonic() - t

            slow = [timed(f"{PAGE}?fields=id,name") for _ in range(3)]
            fast = [timed(f"{D.facebook_page_id(2)}?fields=id,name") for _ in range(3)]
            assert min(slow) >= 0.02 and max(fast) < min(slow) + 0.5
    finally:
        srv.stop()


def test_fault_configuration_is_validated_and_parsed_by_the_cli():
    with pytest.raises(ValueError):
        SandboxServer(SandboxConfig(faults="5xx,no-such-profile"))
    with pytest.raises(ValueError):
        SandboxServer(SandboxConfig(account_faults={PAGE: "nope"}))
    args = build_parser().parse_args(
        ["serve", "--faults", "5xx,latency", "--account-fault", f"{PAGE}=expired_token",
         "--account-fault", f"{IG}=429,empty", "--call-budget-per-hour", "100"]
    )
    assert args.faults == "5xx,latency"
    assert dict(args.account_fault) == {PAGE: "expired_token", IG: "429,empty"}
    assert args.call_budget_per_hour == 100
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--account-fault", "no-equals-sign"])
