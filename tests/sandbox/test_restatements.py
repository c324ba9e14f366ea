"""Late restatements: the last two complete days are preliminary, the ground truth is final."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import requests

from sandbox import data as D
from sandbox import pacific_time as PT
from sandbox.truth import ground_truth
from tests.sandbox.conftest import IG, NOW, PAGE, graph_getter, start

WINDOW = {"since": "2026-11-14", "until": "2026-11-20"}  # measured Nov 14..19


def test_last_two_days_are_preliminary_and_settle_to_the_truth(server, graph):
    truth = [t for t in ground_truth(server.config, date(2026, 11, 14), date(2026, 11, 19)) if t["account_id"] == PAGE]
    body = graph(f"{PAGE}/insights", metric="page_media_view,page_post_engagements,page_follows", **WINDOW).json()
    views, engagements, follows = ([v["value"] for v in m["values"]] for m in body["data"])
    final_views = [t["views"] for t in truth]
    assert views[:4] == final_views[:4]  # older than 48 h: final
    # Nov 19 ended 17 h ago, Nov 18 41 h ago: both lower than final, the younger day more so.
    assert views[5] < final_views[5] and views[4] < final_views[4]
    assert views[5] / final_views[5] < views[4] / final_views[4] < 1
    assert views[5] == int(final_views[5] * D.restatement_factor(42, "facebook", PAGE, date(2026, 11, 19), NOW))
    assert engagements[5] < truth[5]["engagements"]
    assert follows == [t["followers"] for t in truth]  # follower stocks/flows are never restated
    ig_views = graph(f"{IG}/insights", metric="views", metric_type="total_value", since="2026-11-19",
                     until="2026-11-20").json()["data"][0]["total_value"]["value"]
    ig_truth = [t for t in ground_truth(server.config, date(2026, 11, 19), date(2026, 11, 19)) if t["account_id"] == IG]
    assert ig_views < ig_truth[0]["views"]


def test_values_grow_with_the_clock_until_final():
    srv = start(now=NOW)
    try:
        with requests.Session() as http:
            graph = graph_getter(srv, http)
            day = date(2026, 11, 19)
            seen = []
            for hours_after_day in (1, 12, 30, 47, 48, 72):
                srv.set_now(PT.day_start_utc(day + timedelta(days=1)) + timedelta(hours=hours_after_day))
                body = graph(f"{PAGE}/insights", metric="page_total_media_view_unique", since="2026-11-19",
                             until="2026-11-20").json()
                seen.append(body["data"][0]["values"][0]["value"])
            final = [t for t in ground_truth(srv.config, day, day) if t["account_id"] == PAGE][0]["reach"]
            assert seen == sorted(seen) and seen[0] < seen[3] < final
            assert seen[4:] == [final, final]
    finally:
        srv.stop()


def test_restatements_can_be_switched_off(server):
    srv = start(now=datetime(2026, 11, 20, 17, tzinfo=UTC), restatements=False)
    try:
        with requests.Session() as http:
            body = graph_getter(srv, http)(f"{PAGE}/insights", metric="page_media_view", **WINDOW).json()
            truth = [t for t in ground_truth(srv.config, date(2026, 11, 14), date(2026, 11, 19))
                     if t["account_id"] == PAGE]
            assert [v["value"] for v in body["data"][0]["values"]] == [t["views"] for t in truth]
    finally:
        srv.stop()
