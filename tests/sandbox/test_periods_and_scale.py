"""Page insight periods (week, days_28) and behaviour at 50,000 accounts."""

from __future__ import annotations

from datetime import date

import requests

from sandbox import data as D
from sandbox.catalogue import dedup_total
from tests.sandbox.conftest import PAGE, assert_graph_error, graph_getter, start


def test_week_and_days_28_are_trailing_windows(graph, server):
    window = {"since": "2026-11-01", "until": "2026-11-04"}  # measured Nov 1..3
    daily = D.daily_series(42, "facebook", PAGE, date(2026, 10, 5), date(2026, 11, 3))
    for period, width in (("week", 7), ("days_28", 28)):
        body = graph(f"{PAGE}/insights", metric="page_media_view,page_total_media_view_unique", period=period,
                     **window).json()
        views, viewers = body["data"]
        assert views["period"] == period and views["id"] == f"{PAGE}/insights/page_media_view/{period}"
        n = len(daily["views"])
        expected = [int(daily["views"][n - 3 + k - width + 1 : n - 3 + k + 1].sum()) for k in range(3)]
        assert [v["value"] for v in views["values"]] == expected
        unique = [dedup_total(daily["reach"][n - 3 + k - width + 1 : n - 3 + k + 1]) for k in range(3)]
        assert [v["value"] for v in viewers["values"]] == unique  # de-duplicated, not summed
        assert unique[0] < int(daily["reach"][n - 3 - width + 1 : n - 2].sum())
    assert_graph_error(graph(f"{PAGE}/insights", metric="page_daily_follows_unique", period="week", **window), 100)


def test_fifty_thousand_accounts_are_served_lazily():
    srv = start(accounts=50_000, youtube_channels=50_000)
    try:
        with requests.Session() as http:
            graph = graph_getter(srv, http)
            last_page, last_ig = D.facebook_page_id(50_000), D.instagram_user_id(50_000)
            assert graph(last_page, fields="id,followers_count").json()["id"] == last_page
            body = graph(f"{last_ig}/insights", metric="reach", since="2026-11-10", until="2026-11-12").json()
            assert len(body["data"][0]["values"]) == 2
            assert_graph_error(graph(D.facebook_page_id(50_001)), 100, subcode=33)
            page = graph("me/accounts", limit=100, fields="id").json()
            assert len(page["data"]) == 100 and "next" in page["paging"]
            yt = http.get(f"{srv.youtube_data_url}/channels",
                          params={"part": "id", "id": D.youtube_channel_id(50_000), "key": "k"}, timeout=5).json()
            assert yt["items"][0]["id"] == D.youtube_channel_id(50_000)
        assert D.cache_size() <= D.BLOCK_CACHE_MAX
    finally:
        srv.stop()
