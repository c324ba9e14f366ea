"""YouTube Data API channels.list, Analytics reports, quota, auth, Google OAuth token."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from sandbox import data as D
from sandbox import pacific_time as PT
from sandbox.truth import demographics_truth, ground_truth
from sandbox.youtube import analytics_release_at, last_analytics_day, round_subscribers
from tests.sandbox.conftest import YESTERDAY, start

BEARER = {"Authorization": "Bearer ya29.test-token"}
CH1, CH2 = D.youtube_channel_id(1), D.youtube_channel_id(2)
DAY_METRICS = (
    "views,estimatedMinutesWatched,averageViewDuration,likes,comments,shares,subscribersGained,subscribersLost"
)


def test_channel_ids_look_real_and_resolve():
    ids = [D.youtube_channel_id(i) for i in range(1, 2001)]
    assert all(re.fullmatch(r"UC[A-Za-z0-9_-]{22}", c) for c in ids) and len(set(ids)) == 2000
    assert {c[-1] for c in ids} <= set("AQgw")  # as real channel ids (128 bits in 22 base64 chars)
    assert all(D.parse_youtube_channel_id(c) == i for i, c in enumerate(ids, 1))
    assert D.parse_youtube_channel_id("UC" + "x" * 22) is None


def test_channels_list_statistics_strings_and_rounded_subscribers(server, http):
    unknown = "UC" + "A" * 22
    resp = http.get(f"{server.youtube_data_url}/channels",
                    params={"part": "snippet,statistics", "id": f"{CH1},{unknown},{CH2}", "key": "AIzaTest"}, timeout=5)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["kind"] == "youtube#channelListResponse" and body["pageInfo"]["totalResults"] == 2
    assert [it["id"] for it in body["items"]] == [CH1, CH2]  # unknown ids are silently left out
    truth = {t["account_id"]: t for t in ground_truth(server.config, YESTERDAY, YESTERDAY)}
    for item in body["items"]:
        stats = item["statistics"]
        assert all(isinstance(stats[k], str) for k in ("viewCount", "subscriberCount", "videoCount"))
        assert stats["hiddenSubscriberCount"] is False
        exact = truth[item["id"]]["followers"]
        shown = int(stats["subscriberCount"])
        assert shown == round_subscribers(exact) and abs(shown - exact) <= 0.005 * exact
        assert len(str(shown).rstrip("0")) <= 3 or exact < 1000
        assert item["snippet"]["title"] and item["snippet"]["country"] == "SE"
    assert round_subscribers(10_749_999) == 10_700_000 and round_subscribers(10_750_000) == 10_800_000
    assert round_subscribers(987) == 987 and round_subscribers(99_951) == 100_000
    too_many = ",".join(D.youtube_channel_id(i) for i in range(1, 52))
    err = http.get(f"{server.youtube_data_url}/channels", params={"part": "id", "id": too_many, "key": "k"}, timeout=5)
    assert err.status_code == 400 and err.json()["error"]["errors"][0]["reason"] == "invalidFilters"
    fifty = ",".join(D.youtube_channel_id(i) for i in range(1, 51))
    ok = http.get(f"{server.youtube_data_url}/channels", params={"part": "id", "id": fifty, "key": "k"}, timeout=5)
    assert ok.json()["pageInfo"]["totalResults"] == server.config.youtube_channels


def test_auth_envelopes_key_and_mine(server, http):
    url = f"{server.youtube_data_url}/channels"
    for token in ("expired-abc", "revoked-abc"):
        resp = http.get(url, params={"part": "id", "mine": "true"}, headers={"Authorization": f"Bearer {token}"},
                        timeout=5)
        assert resp.status_code == 401
        err = resp.json()["error"]
        assert err["code"] == 401 and err["status"] == "UNAUTHENTICATED"
        assert err["message"].startswith("Request had invalid authentication credentials")
    assert http.get(url, params={"part": "id", "id": CH1}, timeout=5).status_code == 403
    assert http.get(url, params={"part": "id", "id": CH1, "key": "invalid-key"}, timeout=5).status_code == 400
    assert http.get(url, params={"part": "id", "mine": "true", "key": "k"}, timeout=5).status_code == 401
    mine = http.get(url, params={"part": "id", "mine": "true"}, headers={"Authorization": "Bearer t-channel-3"},
                    timeout=5).json()
    assert [it["id"] for it in mine["items"]] == [D.youtube_channel_id(3)]


def test_analytics_day_rows_match_truth_and_lag_two_to_three_days(server, http):
    params = {"ids": "channel==MINE", "startDate": "2026-11-01", "endDate": "2026-11-20", "metrics": DAY_METRICS,
              "dimensions": "day", "sort": "day"}
    body = http.get(f"{server.youtube_analytics_url}/reports", params=params, headers=BEARER, timeout=5).json()
    names = [h["name"] for h in body["columnHeaders"]]
    assert names == ["day", *DAY_METRICS.split(",")]
    assert body["columnHeaders"][0] == {"name": "day", "columnType": "DIMENSION", "dataType": "STRING"}
    # 09:00 PST on Nov 20 (seed 42): Nov 17 closed 57 h ago and is out (its lag: 52 h), Nov 18
    # closed 33 h ago (lag 49 h): rows run to Nov 17, the later days are omitted, not zero.
    assert body["rows"][0][0] == "2026-11-01" and body["rows"][-1][0] == "2026-11-17"
    assert [r[0] for r in body["rows"]] == [f"2026-11-{d:02d}" for d in range(1, 18)]
    truth = {t["metric_date"].isoformat(): t for t in ground_truth(server.config, date(2026, 11, 1),
                                                                   date(2026, 11, 17)) if t["account_id"] == CH1}
    col = {n: i for i, n in enumerate(names)}
    for row in body["rows"]:
        t = truth[row[0]]
        assert row[col["views"]] == t["views"]
        assert (row[col["subscribersGained"]], row[col["subscribersLost"]]) == (t["followers_gained"],
                                                                                t["followers_lost"])
        assert row[col["likes"]] + row[col["comments"]] + row[col["shares"]] == t["engagements"]
    # Nov 18 is released at 09:00 UTC on Nov 21 (lag 49 h), Nov 19 at 12:00 UTC on Nov 22 (52 h):
    # one clock a minute before and one at each release.
    for now, last in ((datetime(2026, 11, 21, 8, 59, tzinfo=UTC), "2026-11-17"),
                      (datetime(2026, 11, 21, 9, tzinfo=UTC), "2026-11-18"),
                      (datetime(2026, 11, 22, 12, tzinfo=UTC), "2026-11-19")):
        srv = start(now=now)
        try:
            late = http.get(f"{srv.youtube_analytics_url}/reports", params=params, headers=BEARER, timeout=5).json()
            assert late["rows"][-1][0] == last, now
        finally:
            srv.stop()
    empty = http.get(f"{server.youtube_analytics_url}/reports",
                     params={**params, "startDate": "2026-11-18", "endDate": "2026-11-20"}, headers=BEARER,
                     timeout=5).json()
    assert "rows" not in empty and empty["columnHeaders"]  # rows omitted when empty


def test_analytics_lag_varies_per_day_between_two_and_three_days():
    """Over a year the release lag takes many values in 48..72 h, and the last reported day is
    never a day whose release (or an earlier day's) is still ahead."""
    start_day = date(2026, 1, 1)
    lags = set()
    for k in range(365):
        day = start_day + timedelta(days=k)
        closed = PT.day_start_utc(day + timedelta(days=1))
        hours = (analytics_release_at(42, day) - closed) / timedelta(hours=1)
        assert 48 <= hours <= 72 and hours == int(hours)
        lags.add(int(hours))
        now = closed + timedelta(hours=60)
        last = last_analytics_day(42, now)
        assert all(analytics_release_at(42, last - timedelta(days=j)) <= now for j in range(6))
        assert analytics_release_at(42, last + timedelta(days=1)) > now
    assert len(lags) > 20 and min(lags) < 54 and max(lags) > 66


def test_viewer_percentage_by_age_group_and_gender_sums_to_100(server, http):
    params = {"ids": f"channel=={CH2}", "startDate": "2026-10-01", "endDate": "2026-10-28",
              "metrics": "viewerPercentage", "dimensions": "ageGroup,gender"}
    body = http.get(f"{server.youtube_analytics_url}/reports", params=params, headers=BEARER, timeout=5).json()
    assert [h["name"] for h in body["columnHeaders"]] == ["ageGroup", "gender", "viewerPercentage"]
    assert body["columnHeaders"][2]["dataType"] == "FLOAT"
    assert {r[0] for r in body["rows"]} <= {"age13-17", "age18-24", "age25-34", "age35-44", "age45-54",
                                            "age55-64", "age65-"}
    assert {r[1] for r in body["rows"]} <= {"female", "male", "user_specified"}
    assert sum(r[2] for r in body["rows"]) == pytest.approx(100.0, abs=1e-6)
    truth = {r["key"]: r["value"] for r in demographics_truth(server.config, YESTERDAY) if r["account_id"] == CH2}
    assert {f"{a},{g}": p for a, g, p in body["rows"]} == truth
    bad = http.get(f"{server.youtube_analytics_url}/reports", params={**params, "metrics": "views"}, headers=BEARER,
                   timeout=5)
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("The query is not supported.")
    assert http.get(f"{server.youtube_analytics_url}/reports", params=params, timeout=5).status_code == 401


def test_quota_exceeded_then_reset_at_pacific_midnight():
    srv = start(youtube_quota_per_day=3)
    try:
        with requests.Session() as http:
            url = f"{srv.youtube_data_url}/channels"
            statuses = [http.get(url, params={"part": "id", "id": CH1, "key": "k"}, timeout=5) for _ in range(4)]
            assert [r.status_code for r in statuses] == [200, 200, 200, 403]
            err = statuses[-1].json()["error"]
            assert err["code"] == 403 and "quota" in err["message"]
            assert err["errors"][0] == {"message": err["message"], "domain": "youtube.quota", "reason": "quotaExceeded"}
            srv.set_now(datetime(2026, 11, 21, 8, 0, 1, tzinfo=UTC))  # 00:00:01 PST Nov 21
            assert http.get(url, params={"part": "id", "id": CH1, "key": "k"}, timeout=5).status_code == 200
    finally:
        srv.stop()


def test_google_oauth_token_endpoint(server, http):
    ok = http.post(server.google_token_url, data={"grant_type": "refresh_token", "refresh_token": "1//r-channel-2",
                                                  "client_id": "cid", "client_secret": "s"}, timeout=5)
    body = ok.json()
    assert ok.status_code == 200 and body["expires_in"] == 3599 and body["token_type"] == "Bearer"
    assert "1//r" not in body["access_token"] and body["access_token"].startswith("ya29.")
    mine = http.get(f"{server.youtube_data_url}/channels", params={"part": "id", "mine": "true"},
                    headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=5).json()
    assert mine["items"][0]["id"] == CH2
    code = http.post(server.google_token_url, data={"grant_type": "authorization_code", "code": "4/abc",
                                                    "client_id": "cid"}, timeout=5).json()
    assert "refresh_token" in code
    revoked = http.post(server.google_token_url, data={"grant_type": "refresh_token", "refresh_token": "revoked-x",
                                                       "client_id": "cid"}, timeout=5)
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"
    assert http.post(server.google_token_url, data={"grant_type": "password", "client_id": "c"},
                     timeout=5).json()["error"] == "unsupported_grant_type"
