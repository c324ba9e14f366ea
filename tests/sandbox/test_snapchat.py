"""Snapchat Public Profile stats (shape and field names ASSUMED, see sandbox/snapchat.py)."""

from __future__ import annotations

import re
from datetime import date

from sandbox import data as D
from sandbox.snapchat import STATS_FIELDS
from sandbox.truth import ground_truth

BEARER = {"Authorization": "Bearer snap-token"}
P1 = D.snapchat_profile_id(1)


def stats(server, http, profile=P1, **params):
    return http.get(f"{server.snapchat_url}/public_profiles/{profile}/stats", params=params, headers=BEARER, timeout=5)


def test_profile_ids_are_deterministic_uuids():
    ids = [D.snapchat_profile_id(i) for i in range(1, 501)]
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", p) for p in ids)
    assert len(set(ids)) == 500 and all(D.parse_snapchat_profile_id(p) == i for i, p in enumerate(ids, 1))


def test_day_stats_envelope_and_values_match_truth(server, http):
    resp = stats(server, http, granularity="DAY", startTime="2026-11-10T00:00:00", endTime="2026-11-13T00:00:00Z")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["request_status"] == "SUCCESS" and body["request_id"]
    (entry,) = body["timeseries_stats"]
    stat = entry["timeseries_stat"]
    assert entry["sub_request_status"] == "SUCCESS"
    assert (stat["id"], stat["type"], stat["granularity"]) == (P1, "PUBLIC_PROFILE", "DAY")
    points = stat["timeseries"]
    assert [p["start_time"] for p in points] == ["2026-11-10T00:00:00.000Z", "2026-11-11T00:00:00.000Z",
                                                  "2026-11-12T00:00:00.000Z"]
    assert set(points[0]["stats"]) == set(STATS_FIELDS)
    truth = [t for t in ground_truth(server.config, date(2026, 11, 10), date(2026, 11, 12)) if t["account_id"] == P1]
    assert [p["stats"]["subscriber_count"] for p in points] == [t["followers"] for t in truth]
    assert [p["stats"]["views"] for p in points] == [t["views"] for t in truth]
    assert [p["stats"]["shares"] + p["stats"]["screenshots"] for p in points] == [t["engagements"] for t in truth]


def test_total_and_lifetime_granularity(server, http):
    day = stats(server, http, granularity="DAY", startTime="2026-11-01T00:00:00", endTime="2026-11-08T00:00:00",
                fields="views,subscribers_gained,subscriber_count").json()
    total = stats(server, http, granularity="TOTAL", startTime="2026-11-01T00:00:00", endTime="2026-11-08T00:00:00",
                  fields="views,subscribers_gained,subscriber_count").json()
    points = day["timeseries_stats"][0]["timeseries_stat"]["timeseries"]
    tot = total["total_stats"][0]["total_stat"]
    assert tot["granularity"] == "TOTAL" and set(tot["stats"]) == {"views", "subscribers_gained", "subscriber_count"}
    assert tot["stats"]["views"] == sum(p["stats"]["views"] for p in points)
    assert tot["stats"]["subscriber_count"] == points[-1]["stats"]["subscriber_count"]
    life = stats(server, http).json()["total_stats"][0]["total_stat"]  # LIFETIME is the default
    assert life["granularity"] == "LIFETIME" and life["stats"]["views"] > tot["stats"]["views"]


def test_window_limits_fields_and_auth(server, http):
    old = stats(server, http, granularity="DAY", startTime="2026-08-01T00:00:00", endTime="2026-08-05T00:00:00")
    assert old.status_code == 400
    body = old.json()
    assert body["request_status"] == "ERROR" and body["error_code"] == "E1008" and "90 days" in body["debug_message"]
    assert stats(server, http, granularity="DAY").status_code == 400  # times required unless LIFETIME
    assert stats(server, http, fields="views,hearts").json()["debug_message"] == "Invalid field: hearts"
    denied = http.get(f"{server.snapchat_url}/public_profiles/{P1}/stats",
                      headers={"Authorization": "Bearer expired-x"}, timeout=5)
    assert denied.status_code == 401 and denied.json()["request_status"] == "ERROR"
    assert stats(server, http, profile=D.snapchat_profile_id(99)).status_code == 404
    me = http.get(f"{server.snapchat_url}/public_profiles/my_profile", headers=BEARER, timeout=5).json()
    profile = me["public_profiles"][0]["public_profile"]
    assert profile["id"] == P1 and profile["subscriber_count"] > 0
