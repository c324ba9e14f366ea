"""Rate limits: real counters in X-App-Usage / X-Business-Use-Case-Usage, optional budget."""

from __future__ import annotations

import json

import requests

from sandbox import data as D
from sandbox.ratelimit import RateLimiter
from tests.sandbox.conftest import TOKEN, assert_graph_error, start


def usage(resp, obj):
    return json.loads(resp.headers["X-Business-Use-Case-Usage"])[obj][0]


def test_counters_are_real_per_app_and_per_object():
    srv = start(call_budget_per_hour=20)
    try:
        with requests.Session() as http:
            page, ig = D.facebook_page_id(6), D.instagram_user_id(6)
            get = lambda p: http.get(f"{srv.graph_url}/v25.0/{p}", params={"access_token": TOKEN}, timeout=5)  # noqa: E731
            pcts = [usage(get(page), page)["call_count"] for _ in range(5)]
            assert pcts == [5, 10, 15, 20, 25]  # 1..5 calls of a 20-call budget
            first_ig = get(f"{ig}?fields=id")
            assert usage(first_ig, ig) == {"type": "instagram", "call_count": 5, "total_cputime": 2,
                                           "total_time": 3, "estimated_time_to_regain_access": 0}
            app = json.loads(first_ig.headers["X-App-Usage"])
            assert set(app) == {"call_count", "total_cputime", "total_time"} and app["call_count"] == 0
            srv.advance(3600)  # the rolling hour has passed: counters start over
            assert usage(get(page), page)["call_count"] == 5
    finally:
        srv.stop()


def test_budget_excess_answers_80001_80002_until_the_regain_time():
    srv = start(call_budget_per_hour=3)
    try:
        with requests.Session() as http:
            get = lambda p: http.get(f"{srv.graph_url}/v25.0/{p}", params={"access_token": TOKEN}, timeout=5)  # noqa: E731
            for obj, code, subcode in ((D.facebook_page_id(7), 80001, None), (D.instagram_user_id(7), 80002, 2446079)):
                assert [get(obj).status_code for _ in range(3)] == [200, 200, 200]
                srv.advance(600)  # ten minutes later
                over = get(obj)
                assert_graph_error(over, code, subcode=subcode)
                entry = usage(over, obj)
                assert entry["call_count"] == 100 and entry["estimated_time_to_regain_access"] == 50
                assert get(D.facebook_page_id(8)).status_code == 200  # other objects are unaffected
                srv.advance(49 * 60)
                assert get(obj).status_code != 200  # one minute early: still throttled
                srv.advance(60)
                assert get(obj).status_code == 200
                srv.advance(3600)
    finally:
        srv.stop()


def test_unlimited_by_default_and_counters_stay_bounded():
    limiter = RateLimiter(None, clock=lambda: 0.0)
    for i in range(5000):
        u = limiter.record(f"obj{i % 1000}")
        assert not u.throttled
    assert limiter.objects_tracked() == 1000
    now = [0.0]
    limiter = RateLimiter(None, clock=lambda: now[0])
    for i in range(1000):
        limiter.record(f"o{i}")
    now[0] = 3700.0
    limiter.record("fresh")
    assert limiter.objects_tracked() == 1  # expired minutes are dropped: memory stays flat
