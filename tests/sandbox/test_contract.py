"""Contract tests: the sandbox must behave like the Graph API described in PLATFORM_APIS.md.

Everything runs against a real ``SandboxServer`` over HTTP (no mocks) with a frozen clock at
2026-11-20 17:00 UTC = 09:00 PST, so "today" (Meta day) is 2026-11-20 and the last complete
measured day is 2026-11-19. Expected values come from ``sandbox.truth`` (the generator), never
from the HTTP code under test.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests

from sandbox import data as D
from sandbox import pacific_time as PT
from sandbox.server import SandboxConfig, SandboxServer
from sandbox.truth import TRUTH_COLUMNS, ground_truth
from tests.sandbox.conftest import IG, NOW, PAGE, TODAY, TOKEN, YESTERDAY, N

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def config() -> SandboxConfig:
    return SandboxConfig(accounts=N, seed=42, now=NOW)


@pytest.fixture(scope="module")
def server(config):
    with SandboxServer(config) as srv:
        yield srv


@pytest.fixture(scope="module")
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture
def get(server, http):
    """GET {graph}/v25.0/{path} with the test token unless ``access_token`` is overridden."""

    def _get(path: str, token: str | None = TOKEN, **params):
        if token is not None:
            params.setdefault("access_token", token)
        return http.get(f"{server.graph_url}/v25.0/{path}", params=params, timeout=10)

    return _get


def truth_by_day(config, platform: str, account_id: str, since: date, until: date) -> list[dict]:
    rows = ground_truth(config, since, until)
    return [r for r in rows if r["platform"] == platform and r["account_id"] == account_id]


def assert_graph_error(resp, code: int, subcode: int | None = None, message: str | None = None, status: int = 400):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert err["code"] == code
    assert err.get("error_subcode") == subcode
    assert isinstance(err["fbtrace_id"], str) and err["fbtrace_id"]
    assert isinstance(err["type"], str) and err["type"]
    if message is not None:
        assert err["message"] == message
    return err


# ------------------------------------------------------------------------------------------------
# Page insights
# ------------------------------------------------------------------------------------------------


def test_page_insights_shape_and_end_time_switches_at_dst(get, config):
    resp = get(
        f"{PAGE}/insights",
        metric="page_follows,page_daily_follows_unique",
        period="day",
        since="2026-10-30",
        until="2026-11-03",
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [m["name"] for m in body["data"]] == ["page_follows", "page_daily_follows_unique"]
    truth = truth_by_day(config, "facebook", PAGE, date(2026, 10, 30), date(2026, 11, 2))
    for metric, key in (("page_follows", "followers"), ("page_daily_follows_unique", "followers_gained")):
        item = next(m for m in body["data"] if m["name"] == metric)
        assert set(item) == {"name", "period", "values", "title", "description", "id"}
        assert item["period"] == "day"
        assert item["id"] == f"{PAGE}/insights/{metric}/day"
        # Measured Oct 30, Oct 31 (PDT) then Nov 1, Nov 2 (PST after the 2026-11-01 switch).
        assert [v["end_time"] for v in item["values"]] == [
            "2026-10-31T07:00:00+0000",
            "2026-11-01T07:00:00+0000",
            "2026-11-02T08:00:00+0000",
            "2026-11-03T08:00:00+0000",
        ]
        assert [v["value"] for v in item["values"]] == [r[key] for r in truth]
    paging = body["paging"]
    prev_q = parse_qs(urlsplit(paging["previous"]).query)
    next_q = parse_qs(urlsplit(paging["next"]).query)
    until_ts = PT.day_start_ts(date(2026, 11, 3))
    since_ts = PT.day_start_ts(date(2026, 10, 30))
    assert next_q["since"] == [str(until_ts)] and prev_q["until"] == [str(since_ts)]
    assert "access_token" not in next_q and "access_token" not in prev_q


def test_page_end_time_switches_back_to_pdt_in_march(get):
    body = get(f"{PAGE}/insights", metric="page_media_view", since="2026-03-06", until="2026-03-10").json()
    assert [v["end_time"] for v in body["data"][0]["values"]] == [
        "2026-03-07T08:00:00+0000",
        "2026-03-08T08:00:00+0000",  # end of Mar 7 = 00:00 PST on Mar 8 (switch is at 02:00)
        "2026-03-09T07:00:00+0000",
        "2026-03-10T07:00:00+0000",
    ]


def test_since_day_is_included_for_dates_and_unix_seconds(get, config):
    by_date = get(f"{PAGE}/insights", metric="page_daily_follows_unique", since="2026-10-01", until="2026-10-04")
    by_ts = get(
        f"{PAGE}/insights",
        metric="page_daily_follows_unique",
        since=str(PT.day_start_ts(date(2026, 10, 1))),
        until=str(PT.day_start_ts(date(2026, 10, 4))),
    )
    values = by_date.json()["data"][0]["values"]
    assert values[0]["end_time"] == "2026-10-02T07:00:00+0000"  # since day (Oct 1) is the first value
    assert len(values) == 3
    truth = truth_by_day(config, "facebook", PAGE, date(2026, 10, 1), date(2026, 10, 3))
    assert [v["value"] for v in values] == [r["followers_gained"] for r in truth]
    assert by_ts.json()["data"] == by_date.json()["data"]


def test_page_window_longer_than_90_days_is_rejected(get):
    too_long = get(f"{PAGE}/insights", metric="page_follows", since="2026-08-01", until="2026-10-31")
    assert_graph_error(
        too_long, 100, message="(#100) There cannot be more than 90 days (7776000 s) between since and until"
    )
    ok = get(f"{PAGE}/insights", metric="page_follows", since="2026-08-01", until="2026-10-30")
    assert ok.status_code == 200
    assert len(ok.json()["data"][0]["values"]) == 90


@pytest.mark.parametrize(
    "retired",
    [
        "page_fans",
        "page_impressions",
        "page_impressions_unique",
        "page_fan_adds",
        "page_engaged_users",
        "no_such_metric",
    ],
)
def test_retired_or_unknown_page_metric_fails_the_whole_request(get, retired):
    resp = get(
        f"{PAGE}/insights", metric=f"page_follows,{retired},page_media_view", since="2026-11-01", until="2026-11-03"
    )
    assert_graph_error(resp, 100, message="(#100) The value must be a valid insights metric")
    assert "data" not in resp.json()


@pytest.mark.parametrize("params", [{}, {"metric": ""}, {"metric": " , "}])
def test_missing_metric_is_error_3001(get, params):
    resp = get(f"{PAGE}/insights", period="day", **params)
    assert_graph_error(resp, 3001, subcode=1504028, message="No metric was specified")


def test_history_horizon_and_incomplete_days_are_not_served(get):
    old = get(f"{PAGE}/insights", metric="page_follows", since="2024-11-10", until="2024-11-25").json()
    # Oldest servable day is today - 730 = 2024-11-20 -> end_time 2024-11-21 00:00 PST.
    assert old["data"][0]["values"][0]["end_time"] == "2024-11-21T08:00:00+0000"
    assert len(old["data"][0]["values"]) == 5
    recent = get(f"{PAGE}/insights", metric="page_follows", since="2026-11-15", until="2026-11-25").json()
    # Today (Nov 20) is incomplete: the last value is measured day Nov 19.
    assert recent["data"][0]["values"][-1]["end_time"] == "2026-11-20T08:00:00+0000"
    assert len(recent["data"][0]["values"]) == 5
    future = get(f"{IG}/insights", metric="reach", since="2026-11-20", until="2026-11-22")
    assert future.status_code == 200 and future.json()["data"] == []


# ------------------------------------------------------------------------------------------------
# Instagram insights
# ------------------------------------------------------------------------------------------------


def test_ig_follower_count_only_last_30_days(get, config):
    too_old = get(
        f"{IG}/insights",
        metric="follower_count",
        period="day",
        since=(TODAY - timedelta(days=31)).isoformat(),
        until=(TODAY - timedelta(days=1)).isoformat(),
    )
    assert_graph_error(
        too_old,
        100,
        message="(#100) (follower_count) metric only supports querying data for the last 30 days "
        "excluding the current day",
    )
    since = TODAY - timedelta(days=30)
    ok = get(f"{IG}/insights", metric="follower_count", period="day", since=since.isoformat(), until=TODAY.isoformat())
    assert ok.status_code == 200, ok.text
    item = ok.json()["data"][0]
    assert item["id"] == f"{IG}/insights/follower_count/day"
    truth = truth_by_day(config, "instagram", IG, since, YESTERDAY)
    assert [v["value"] for v in item["values"]] == [r["followers_gained"] for r in truth]  # new followers/day
    assert item["values"][-1]["end_time"] == "2026-11-20T08:00:00+0000"


def test_ig_follows_and_unfollows_total_value_equals_summed_flows(get, config):
    since, until = date(2026, 10, 25), date(2026, 11, 8)
    resp = get(
        f"{IG}/insights",
        metric="follows_and_unfollows",
        period="day",
        metric_type="total_value",
        breakdown="follow_type",
        since=since.isoformat(),
        until=until.isoformat(),
    )
    assert resp.status_code == 200, resp.text
    item = resp.json()["data"][0]
    breakdown = item["total_value"]["breakdowns"][0]
    assert breakdown["dimension_keys"] == ["follow_type"]
    results = {tuple(r["dimension_values"]): r["value"] for r in breakdown["results"]}
    truth = truth_by_day(config, "instagram", IG, since, until - timedelta(days=1))
    assert len(truth) == 14
    assert results[("FOLLOWER",)] == sum(r["followers_gained"] for r in truth)
    assert results[("NON_FOLLOWER",)] == sum(r["followers_lost"] for r in truth)


@pytest.mark.parametrize("metric", ["views", "total_interactions", "follows_and_unfollows", "accounts_engaged"])
def test_total_value_only_metrics_require_metric_type(get, config, metric):
    window = {"since": "2026-11-10", "until": "2026-11-17"}
    bad = get(f"{IG}/insights", metric=f"reach,{metric}", period="day", **window)
    assert_graph_error(
        bad,
        100,
        message=f"(#100) The following metrics ({metric}) should be specified with parameter metric_type=total_value",
    )
    good = get(f"{IG}/insights", metric=metric, period="day", metric_type="total_value", **window)
    assert good.status_code == 200, good.text
    total = good.json()["data"][0]["total_value"]["value"]
    truth = truth_by_day(config, "instagram", IG, date(2026, 11, 10), date(2026, 11, 16))
    expected = {
        "views": sum(r["views"] for r in truth),
        "total_interactions": sum(r["engagements"] for r in truth),
        "follows_and_unfollows": sum(r["followers_gained"] + r["followers_lost"] for r in truth),
    }
    if metric in expected:
        assert total == expected[metric]
    else:
        assert 0 < total <= sum(r["engagements"] for r in truth)


def test_ig_span_longer_than_30_days_is_rejected(get):
    resp = get(f"{IG}/insights", metric="reach", period="day", since="2026-10-01", until="2026-11-01")
    assert_graph_error(
        resp, 100, message="(#100) There cannot be more than 30 days (2592000 s) between since and until."
    )


@pytest.mark.parametrize("retired", ["impressions", "audience_gender_age", "online_follower_count"])
def test_retired_ig_metric_lists_allowed_values(get, retired):
    resp = get(f"{IG}/insights", metric=f"reach,{retired}", period="day", since="2026-11-10", until="2026-11-12")
    err = assert_graph_error(resp, 100)
    assert err["message"].startswith("(#100) metric[1] must be one of the following values: ")
    assert "follows_and_unfollows" in err["message"] and retired not in err["message"]


# ------------------------------------------------------------------------------------------------
# Auth, errors, nodes
# ------------------------------------------------------------------------------------------------


def test_token_errors(get, server, http):
    assert_graph_error(
        get(PAGE, token=None),
        2500,
        message="An active access token must be used to query information about the current user.",
    )
    expired = assert_graph_error(get(PAGE, token="expired-abc"), 190, subcode=463)
    assert expired["message"].startswith("Error validating access token: Session has expired on ")
    assert expired["type"] == "OAuthException"
    revoked = assert_graph_error(get(PAGE, token="revoked-abc"), 190, subcode=460)
    assert revoked["message"].startswith("Error validating access token:")
    bearer = http.get(f"{server.graph_url}/v25.0/{PAGE}", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert bearer.status_code == 200 and bearer.json()["id"] == PAGE


@pytest.mark.parametrize("obj", ["123", D.facebook_page_id(N + 1), D.instagram_user_id(N + 1), "abc"])
def test_unknown_object_id_is_100_33(get, obj):
    for path in (obj, f"{obj}/insights?metric=page_follows"):
        err = assert_graph_error(get(path), 100, subcode=33)
        assert err["message"].startswith(
            f"Unsupported get request. Object with ID '{obj}' does not exist, cannot be loaded due to missing "
            "permissions, or does not support this operation."
        )


def test_node_followers_count_is_truth_for_yesterday(get, config):
    for i in (1, 7, N):
        page_id, ig_id = D.facebook_page_id(i), D.instagram_user_id(i)
        page = get(page_id, fields="id,name,followers_count,fan_count").json()
        assert set(page) == {"id", "name", "followers_count", "fan_count"}
        assert (
            page["followers_count"] == truth_by_day(config, "facebook", page_id, YESTERDAY, YESTERDAY)[0]["followers"]
        )
        assert 0 < page["fan_count"] < page["followers_count"]
        ig = get(ig_id, fields="id,username,name,followers_count,follows_count,media_count").json()
        assert ig["followers_count"] == truth_by_day(config, "instagram", ig_id, YESTERDAY, YESTERDAY)[0]["followers"]
        assert ig["followers_count"] > 500 and ig["media_count"] > 0 and ig["follows_count"] > 0
    assert get(PAGE).json() == {"id": PAGE, "name": get(PAGE, fields="name").json()["name"]}  # default id,name
    assert_graph_error(
        get(PAGE, fields="id,owner_business"),
        100,
        message="(#100) Tried accessing nonexisting field (owner_business) on node type (Page)",
    )
    assert_graph_error(
        get(IG, fields="id,fan_count"),
        100,
        message="(#100) Tried accessing nonexisting field (fan_count) on node type (IGUser)",
    )


def test_followers_invariant_and_value_ranges(config, get):
    rows = ground_truth(config, TODAY - timedelta(days=730), YESTERDAY)
    assert len(rows) == (2 * N + config.youtube_channels) * 730
    by_account: dict[tuple, list[dict]] = {}
    for row in rows:
        by_account.setdefault((row["platform"], row["account_id"]), []).append(row)
    for (platform, account_id), series in by_account.items():
        for prev, cur in zip(series, series[1:], strict=False):
            assert cur["followers"] == prev["followers"] + cur["followers_gained"] - cur["followers_lost"]
        small = D.is_small_account(platform, account_id)
        for r in series:
            assert (10 <= r["followers"] < 100) if small else (r["followers"] > 500)
            if platform == "youtube":
                assert r["reach"] is None and r["engagements"] >= 0
                continue
            assert 0 <= r["reach"] <= r["views"] and r["engagements"] >= 0
            assert r["followers_gained"] >= 0 and r["followers_lost"] >= 0
    # Also through the API, across a month boundary and the DST switch.
    body = get(
        f"{PAGE}/insights",
        metric="page_follows,page_daily_follows_unique,page_daily_unfollows_unique",
        since="2026-10-20",
        until="2026-11-10",
    ).json()
    stock, gained, lost = ([v["value"] for v in m["values"]] for m in body["data"])
    for k in range(1, len(stock)):
        assert stock[k] == stock[k - 1] + gained[k] - lost[k]


def test_same_seed_same_bodies_different_seed_different(server, config, http):
    paths = [
        f"{PAGE}/insights?metric=page_follows,page_media_view,page_post_engagements&since=2026-09-01&until=2026-10-01",
        f"{IG}/insights?metric=views,reach&metric_type=total_value&since=2026-11-01&until=2026-11-15",
        f"{IG}?fields=id,username,followers_count,media_count",
        "me/accounts?fields=id,name,instagram_business_account,fan_count&limit=10",
    ]

    def bodies(srv: SandboxServer) -> list[str]:
        out = []
        for path in paths:
            resp = http.get(f"{srv.graph_url}/v25.0/{path}", params={"access_token": TOKEN}, timeout=10)
            assert resp.status_code == 200, resp.text
            out.append(resp.text.replace(srv.base_url, "BASE"))  # paging URLs carry the port
        return out

    first = bodies(server)
    with SandboxServer(SandboxConfig(accounts=N, seed=42, now=NOW)) as twin:
        assert bodies(twin) == first
    with SandboxServer(SandboxConfig(accounts=N, seed=7, now=NOW)) as other:
        assert all(a != b for a, b in zip(bodies(other), first, strict=True))


def test_me_accounts_paging_visits_every_page_once(get, http):
    resp = get("me/accounts", fields="id,name,instagram_business_account", limit=7)
    seen: list[str] = []
    pages = 0
    while True:
        assert resp.status_code == 200, resp.text
        body = resp.json()
        pages += 1
        for row in body["data"]:
            seen.append(row["id"])
            i = int(row["id"]) - D.FACEBOOK_ID_BASE
            assert row["instagram_business_account"] == {"id": D.instagram_user_id(i)}
        assert "after" in body["paging"]["cursors"]
        nxt = body["paging"].get("next")
        if nxt is None:
            break
        assert "access_token" not in nxt
        resp = http.get(nxt, params={"access_token": TOKEN}, timeout=10)
    assert pages == 5  # 30 pages, 7 per page
    assert seen == [D.facebook_page_id(i) for i in range(1, N + 1)]


def test_date_header_follows_sandbox_clock(server, http, get):
    expected = "Fri, 20 Nov 2026 17:00:00 GMT"
    assert get(PAGE).headers["Date"] == expected
    assert get("123").headers["Date"] == expected
    assert http.get(f"{server.base_url}/__health", timeout=10).headers["Date"] == expected
    assert http.get(f"{server.base_url}/__health", timeout=10).json() == {"ok": True}
    assert get(PAGE).headers["Content-Type"].startswith("application/json")


def test_set_now_moves_today_and_date_header():
    config = SandboxConfig(accounts=2, now=NOW)
    with SandboxServer(config) as srv, requests.Session() as http:
        srv.set_now(datetime(2026, 11, 21, 9, 30, tzinfo=UTC))  # 01:30 PST Nov 21 -> Nov 20 complete
        resp = http.get(
            f"{srv.graph_url}/v25.0/{PAGE}/insights",
            params={"metric": "page_follows", "since": "2026-11-18", "until": "2026-11-25", "access_token": TOKEN},
            timeout=10,
        )
        assert resp.headers["Date"] == "Sat, 21 Nov 2026 09:30:00 GMT"
        assert resp.json()["data"][0]["values"][-1]["end_time"] == "2026-11-21T08:00:00+0000"


def test_token_is_never_echoed(server, http):
    secrets = [TOKEN, "expired" + TOKEN, "revoked" + TOKEN]
    paths = [
        PAGE,
        f"{PAGE}?fields=id,nonexisting",
        f"{PAGE}/insights?metric=page_follows&since=2026-11-01&until=2026-11-05",
        f"{PAGE}/insights?metric=page_fans",
        f"{PAGE}/insights",
        f"{PAGE}/insights?metric=page_follows&since=2026-01-01&until=2026-11-05",
        f"{IG}/insights?metric=views&since=2026-11-01&until=2026-11-05",
        f"{IG}/insights?metric=follows_and_unfollows&metric_type=total_value&breakdown=follow_type",
        "me/accounts?limit=3",
        "me",
        "123456",
        f"{PAGE}/unknown_edge",
    ]
    checked = 0
    for secret in secrets:
        for path in paths:
            sep = "&" if "?" in path else "?"
            for resp in (
                http.get(f"{server.graph_url}/v25.0/{path}{sep}access_token={secret}", timeout=10),
                http.get(f"{server.graph_url}/v25.0/{path}", headers={"Authorization": f"Bearer {secret}"}, timeout=10),
            ):
                assert secret not in resp.text
                assert TOKEN not in resp.text
                for name, value in resp.headers.items():
                    assert TOKEN not in value and TOKEN not in name
                checked += 1
    assert checked == len(secrets) * len(paths) * 2


def test_usage_headers_present_and_json(get):
    ig_id = D.instagram_user_id(N - 1)  # an object no other test calls
    pcts = []
    for _ in range(4):
        resp = get(ig_id, fields="id")
        app = json.loads(resp.headers["X-App-Usage"])
        assert set(app) == {"call_count", "total_cputime", "total_time"}
        assert all(isinstance(v, int) and 0 <= v <= 100 for v in app.values())
        buc = json.loads(resp.headers["X-Business-Use-Case-Usage"])
        assert list(buc) == [ig_id]
        entry = buc[ig_id][0]
        assert entry["type"] == "instagram" and entry["estimated_time_to_regain_access"] == 0
        pcts.append(entry["call_count"])
    assert pcts == sorted(pcts) and pcts[-1] >= 1
    page_buc = json.loads(get(f"{PAGE}/insights").headers["X-Business-Use-Case-Usage"])  # error response too
    assert page_buc[PAGE][0]["type"] == "pages"
    assert json.loads(get("me").headers["X-Business-Use-Case-Usage"]) == {}


def test_flaky_profile_fails_every_7th_request_transiently():
    with SandboxServer(SandboxConfig(accounts=2, now=NOW, faults="flaky")) as srv, requests.Session() as http:
        statuses = []
        for _ in range(14):
            resp = http.get(f"{srv.graph_url}/v25.0/{PAGE}", params={"access_token": TOKEN}, timeout=10)
            statuses.append(resp.status_code)
            if resp.status_code == 500:
                err = resp.json()["error"]
                assert err["code"] == 2 and err["is_transient"] is True
        assert [i + 1 for i, s in enumerate(statuses) if s != 200] == [7, 14]
    with pytest.raises(ValueError):
        SandboxServer(SandboxConfig(faults="no-such-profile"))


# ------------------------------------------------------------------------------------------------
# Calendar, truth, cache, CLI
# ------------------------------------------------------------------------------------------------


def test_pacific_calendar_matches_zoneinfo():
    la = ZoneInfo("America/Los_Angeles")
    d = D.EPOCH
    while d <= date(2030, 12, 31):
        expected = datetime(d.year, d.month, d.day, tzinfo=la).astimezone(UTC)
        assert PT.day_start_utc(d) == expected, d
        d += timedelta(days=1)
    for day in (date(2026, 3, 8), date(2026, 11, 1), date(2027, 3, 14), date(2027, 11, 7)):
        start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(hours=12)
        for h in range(0, 48 * 4):
            moment = start + timedelta(minutes=15 * h)
            assert PT.pacific_date(moment) == moment.astimezone(la).date(), moment


def test_truth_endpoint_and_csv_export(server, http, config, tmp_path):
    rows = http.get(
        f"{server.base_url}/__truth", params={"since": "2026-11-17", "until": "2026-11-19"}, timeout=10
    ).json()
    expected = ground_truth(config, date(2026, 11, 17), date(2026, 11, 19))
    assert len(rows) == (2 * N + config.youtube_channels) * 3
    assert rows == [{**r, "metric_date": r["metric_date"].isoformat()} for r in expected]
    out = tmp_path / "truth.csv"
    from sandbox.cli import main

    assert (
        main(["truth", "--since", "2026-11-17", "--until", "2026-11-19", "--accounts", str(N), "--out", str(out)]) == 0
    )
    with out.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == TRUTH_COLUMNS
        csv_rows = list(reader)
    assert [(r["platform"], r["account_id"], r["metric_date"], int(r["followers"])) for r in csv_rows] == [
        (r["platform"], r["account_id"], r["metric_date"], r["followers"]) for r in rows
    ]


def test_series_cache_is_bounded():
    for i in range(1, 101):  # 100 accounts x 84 months > BLOCK_CACHE_MAX blocks
        D.daily_series(99, "facebook", D.facebook_page_id(i), D.EPOCH, date(2026, 12, 31))
        assert D.cache_size() <= D.BLOCK_CACHE_MAX
    assert D.cache_size() == D.BLOCK_CACHE_MAX


def test_cli_serve_prints_port_and_serves():
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--port", "0", "--accounts", "3", "--now", "2026-11-20T17:00:00Z"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("sandbox listening on http://127.0.0.1:"), line
        base = line.removeprefix("sandbox listening on ")
        assert int(base.rsplit(":", 1)[1]) > 0
        resp = requests.get(f"{base}/graph/v25.0/{D.facebook_page_id(3)}", params={"access_token": TOKEN}, timeout=10)
        assert resp.status_code == 200 and resp.headers["Date"] == "Fri, 20 Nov 2026 17:00:00 GMT"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
