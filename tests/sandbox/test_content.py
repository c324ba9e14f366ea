"""Posts (Facebook) and media (Instagram): listings, cursor paging, lifetime insights."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from sandbox import content as C
from sandbox import data as D
from sandbox import pacific_time as PT
from sandbox.truth import ground_truth
from tests.sandbox.conftest import IG, NOW, PAGE, TOKEN, assert_graph_error, graph_getter, start

POST_FIELDS = "id,message,created_time,permalink_url,status_type"
MEDIA_FIELDS = "id,caption,media_type,media_product_type,timestamp,permalink,like_count,comments_count"


def walk(graph, http, path, **params):
    """Follow paging.next to the end (or 2,000 rows); returns (rows, pages)."""
    rows, pages = [], 0
    resp = graph(path, **params)
    while True:
        assert resp.status_code == 200, resp.text
        body = resp.json()
        rows += body["data"]
        pages += 1
        nxt = body.get("paging", {}).get("next")
        if not nxt or len(rows) >= 2000:
            return rows, pages
        assert "access_token" not in nxt
        resp = http.get(nxt, params={"access_token": TOKEN}, timeout=10)


def test_published_posts_cursor_paging_newest_first_matches_truth(graph, http, server):
    since = date(2026, 9, 1)
    rows, pages = walk(graph, http, f"{PAGE}/published_posts", fields=POST_FIELDS, limit=7,
                       since=since.isoformat())
    assert pages == -(-len(rows) // 7) or pages == len(rows) // 7 + 1
    assert set(rows[0]) == set(POST_FIELDS.split(","))
    stamps = [r["created_time"] for r in rows]
    assert stamps == sorted(stamps, reverse=True) and len(set(r["id"] for r in rows)) == len(rows)
    assert all(r["id"].startswith(PAGE + "_") for r in rows)
    assert stamps[0] <= NOW.strftime("%Y-%m-%dT%H:%M:%S+0000")
    # Posts per Pacific day equal the ground truth's posts_published.
    per_day = Counter(
        PT.pacific_date(datetime.strptime(s, "%Y-%m-%dT%H:%M:%S%z")) for s in stamps
    )
    truth = [t for t in ground_truth(server.config, since, date(2026, 11, 19)) if t["account_id"] == PAGE]
    assert {t["metric_date"]: t["posts_published"] for t in truth if t["posts_published"]} == {
        d: n for d, n in per_day.items() if d <= date(2026, 11, 19)
    }
    assert sum(t["posts_published"] for t in truth) > 10
    # A cursor from one page resumes exactly after its last row.
    first = graph(f"{PAGE}/published_posts", limit=3).json()
    second = graph(f"{PAGE}/published_posts", limit=3, after=first["paging"]["cursors"]["after"]).json()
    assert [r["id"] for r in first["data"] + second["data"]] == [r["id"] for r in graph(
        f"{PAGE}/published_posts", limit=6).json()["data"]]
    assert_graph_error(graph(f"{PAGE}/published_posts", fields="id,likes_total"), 100,
                       message="(#100) Tried accessing nonexisting field (likes_total) on node type (PagePost)")


def test_posting_schedule_is_office_hours_and_weekdays():
    stockholm = ZoneInfo("Europe/Stockholm")
    hours, weekdays = Counter(), Counter()
    for i in range(1, 21):
        for y, m in ((2026, mo) for mo in range(1, 13)):
            for item in C.month_items(42, "facebook", D.facebook_page_id(i), y, m):
                local = datetime.fromtimestamp(item.ts, UTC).astimezone(stockholm)
                hours[local.hour] += 1
                weekdays[local.weekday()] += 1
    total = sum(hours.values())
    assert total > 500
    assert min(hours) >= 6 and max(hours) <= 22
    assert (weekdays[5] + weekdays[6]) / total < 0.08  # weekends are quiet
    assert hours[9] + hours[10] > hours[7] + hours[8] + hours[20] + hours[21]  # morning peak


def test_post_insights_grow_then_settle_with_age():
    srv = start(now=datetime(2026, 11, 19, 8, 0, tzinfo=UTC))
    try:
        with requests.Session() as http:
            graph = graph_getter(srv, http)
            post = graph(f"{PAGE}/published_posts", limit=1, fields="id,created_time").json()["data"][0]
            created = datetime.strptime(post["created_time"], "%Y-%m-%dT%H:%M:%S%z")
            metrics = "post_media_view,post_total_media_view_unique,post_reactions_by_type_total,post_clicks"
            seen = []
            for hours in (1, 6, 24, 72, 24 * 7, 24 * 30):
                srv.set_now(created + timedelta(hours=hours))
                body = graph(f"{post['id']}/insights", metric=metrics).json()
                values = {m["name"]: m["values"][0]["value"] for m in body["data"]}
                assert all(m["period"] == "lifetime" and m["id"] == f"{post['id']}/insights/{m['name']}/lifetime"
                           for m in body["data"])
                seen.append(values)
            views = [v["post_media_view"] for v in seen]
            assert views[0] < views[1] < views[2] < views[3] <= views[4] == views[5]  # grows, then settles
            assert all(v["post_total_media_view_unique"] <= v["post_media_view"] for v in seen)
            item = C.find_item(42, "facebook", PAGE, *C.parse_post_id(post["id"])[1:])
            assert seen[-1]["post_media_view"] == item.final["post_media_view"]
            assert seen[-1]["post_reactions_by_type_total"] == item.final["post_reactions_by_type_total"]
            assert set(seen[-1]["post_reactions_by_type_total"]) <= set(C.REACTION_TYPES)
            assert_graph_error(graph(f"{post['id']}/insights", metric="post_impressions"), 100,
                               message="(#100) The value must be a valid insights metric")
            # A post that does not exist (yet) is an unknown object.
            srv.set_now(created - timedelta(seconds=1))
            assert_graph_error(graph(f"{post['id']}/insights", metric="post_clicks"), 100, subcode=33)
    finally:
        srv.stop()


def test_ig_media_listing_and_media_count_agree(graph, http):
    rows, _ = walk(graph, http, f"{IG}/media", fields=MEDIA_FIELDS, limit=100)
    node = graph(IG, fields="media_count").json()
    assert node["media_count"] == len(rows) > 100
    assert {r["media_product_type"] for r in rows} == {"FEED", "REELS"}  # stories are not in /media
    assert all(set(r) == set(MEDIA_FIELDS.split(",")) for r in rows[:50])
    reels = [r for r in rows if r["media_product_type"] == "REELS"]
    assert all(r["media_type"] == "VIDEO" and "/reel/" in r["permalink"] for r in reels)
    assert min(r["timestamp"] for r in reels) >= "2021-06-01"
    # like_count / comments_count are the same lifetime numbers media insights report.
    top = rows[0]
    ins = graph(f"{top['id']}/insights", metric="likes,comments").json()["data"]
    assert [m["values"][0]["value"] for m in ins] == [top["like_count"], top["comments_count"]]


ALLOWED = {
    "FEED": ("reach", "saved", "likes", "comments", "shares", "total_interactions", "follows", "profile_visits",
             "profile_activity", "views"),
    "REELS": ("reach", "likes", "comments", "shares", "saved", "total_interactions", "views",
              "ig_reels_avg_watch_time", "ig_reels_video_view_total_time"),
    "STORY": ("reach", "replies", "follows", "profile_visits", "shares", "total_interactions", "navigation", "views"),
}


@pytest.mark.parametrize("product", ["FEED", "REELS", "STORY"])
def test_media_insights_metric_set_depends_on_product_type(product):
    ig_id = D.instagram_user_id(2)
    item = next(
        it for it in C.iter_newest_first(42, "instagram", ig_id, None, int(NOW.timestamp()), frozenset({product}))
        if it.final["reach"] >= 5
    )
    # Stories have insights for 24 h only: look at this one an hour after it was posted.
    srv = start(now=datetime.fromtimestamp(item.ts + 3600, UTC) if product == "STORY" else NOW)
    try:
        with requests.Session() as http:
            graph = graph_getter(srv, http)
            media_id = C.media_id(item)
            if product == "STORY":
                assert media_id in [s["id"] for s in graph(f"{ig_id}/stories").json()["data"]]
            body = graph(f"{media_id}/insights", metric=",".join(ALLOWED[product])).json()
            assert [m["name"] for m in body["data"]] == list(ALLOWED[product]), body
            values = {m["name"]: m["values"][0]["value"] for m in body["data"]}
            assert all(m["period"] == "lifetime" for m in body["data"])
            if product == "STORY":
                assert values["replies"] == 0  # EU accounts: story replies are always 0
            if product == "REELS":
                assert values["ig_reels_video_view_total_time"] == values["views"] * values["ig_reels_avg_watch_time"]
            foreign = {"FEED": "navigation", "REELS": "profile_visits", "STORY": "saved"}[product]
            assert_graph_error(graph(f"{media_id}/insights", metric=f"reach,{foreign}"), 100, message=(
                f"(#100) The Media Insights API does not support the {foreign} metric for this media product type."))
            err = assert_graph_error(graph(f"{media_id}/insights", metric="reach,impressions"), 100)
            assert err["message"].startswith("(#100) metric[1] must be one of the following values: ")
    finally:
        srv.stop()


def test_stories_only_for_24_hours(graph):
    ig_id = D.instagram_user_id(3)
    now = int(NOW.timestamp())
    stories = graph(f"{ig_id}/stories", fields="id,timestamp,media_product_type").json()["data"]
    for s in stories:
        ts = datetime.strptime(s["timestamp"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
        assert now - ts < 86400 and s["media_product_type"] == "STORY"
    old = next(it for it in C.iter_newest_first(42, "instagram", ig_id, None, now - 86400, frozenset({"STORY"})))
    err = assert_graph_error(graph(f"{C.media_id(old)}/insights", metric="reach"), 10)
    assert "24 hours" in err["message"]


def test_views_metric_errors_for_media_older_than_documented(graph):
    old = next(
        it for it in C.iter_newest_first(42, "instagram", IG, None, int(datetime(2024, 6, 30, tzinfo=UTC).timestamp()),
                                         frozenset({"FEED"}))
    )
    assert_graph_error(
        graph(f"{C.media_id(old)}/insights", metric="reach,views"),
        100,
        message="(#100) The Media Insights API does not support the views metric for this media product type.",
    )
    assert graph(f"{C.media_id(old)}/insights", metric="reach").status_code == 200
