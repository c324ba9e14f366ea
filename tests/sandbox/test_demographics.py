"""Audiences: IG follower/engaged demographics, FB follows by city/country, department skews."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox import audience as AUD
from sandbox import data as D
from sandbox.truth import demographics_truth, ground_truth
from tests.sandbox.conftest import IG, PAGE, YESTERDAY, assert_graph_error

DEMO = {"period": "lifetime", "metric_type": "total_value"}
UNGDOM, ALDRE = 5, 10  # account indices whose department is Ungdom / Äldreomsorg (seed 42)


def results(body, metric=0):
    item = body["data"][metric]
    (breakdown,) = item["total_value"]["breakdowns"]
    return breakdown["dimension_keys"], {tuple(r["dimension_values"]): r["value"] for r in breakdown["results"]}


def test_follower_demographics_shape_and_consistency_with_truth(graph, server):
    body = graph(f"{IG}/insights", metric="follower_demographics", breakdown="age,gender", **DEMO).json()
    item = body["data"][0]
    assert set(item) == {"name", "period", "title", "description", "total_value", "id"}
    assert (item["period"], item["id"]) == ("lifetime", f"{IG}/insights/follower_demographics/lifetime")
    keys, cells = results(body)
    assert keys == ["age", "gender"]
    assert {a for a, _ in cells} <= set(AUD.AGE_GROUPS) and {g for _, g in cells} <= {"F", "M", "U"}
    followers = graph(IG, fields="followers_count").json()["followers_count"]
    assert 0.8 * followers < sum(cells.values()) < followers  # only people with demographic data
    # Each single breakdown sums to the same people and equals the truth export.
    truth = [r for r in demographics_truth(server.config, YESTERDAY)
             if r["account_id"] == IG and r["audience"] == "followers"]
    for breakdown in ("age", "gender", "country"):
        _, single = results(graph(f"{IG}/insights", metric="follower_demographics", breakdown=breakdown, **DEMO).json())
        assert sum(single.values()) == sum(cells.values())
        expected = {(r["key"],): r["value"] for r in truth if r["breakdown"] == breakdown and r["value"]}
        assert single == expected
    shares = [r["share"] for r in truth if r["breakdown"] == "age,gender"]
    assert abs(sum(shares) - 1) < 1e-9
    # gender,age keeps the requested key order.
    keys, swapped = results(graph(f"{IG}/insights", metric="follower_demographics", breakdown="gender,age",
                                  **DEMO).json())
    assert keys == ["gender", "age"] and swapped == {(g, a): n for (a, g), n in cells.items()}


def test_city_breakdown_is_top_45(graph):
    keys, cities = results(graph(f"{IG}/insights", metric="follower_demographics", breakdown="city", **DEMO).json())
    assert keys == ["city"] and len(cities) == 45 < len(AUD.CITIES) + 1
    assert ("Sandviken, Gävleborg County",) in cities
    values = list(cities.values())
    assert values == sorted(values, reverse=True)


def test_engaged_audience_uses_timeframe_and_differs_from_followers(graph):
    week = graph(f"{IG}/insights", metric="engaged_audience_demographics", breakdown="age", timeframe="this_week",
                 **DEMO).json()
    month = graph(f"{IG}/insights", metric="engaged_audience_demographics", breakdown="age", timeframe="this_month",
                  **DEMO).json()
    assert sum(results(week)[1].values()) < sum(results(month)[1].values())
    followers = results(graph(f"{IG}/insights", metric="follower_demographics", breakdown="age", **DEMO).json())[1]
    young = [("13-17",), ("18-24",)]
    share = lambda c: sum(c.get(k, 0) for k in young) / sum(c.values())  # noqa: E731
    assert share(results(month)[1]) > share(followers)  # engaged accounts skew younger
    assert_graph_error(
        graph(f"{IG}/insights", metric="engaged_audience_demographics", breakdown="age", timeframe="last_30_days",
              **DEMO),
        100,
        message="(#100) timeframe must be one of the following values: this_week, this_month",
    )


@pytest.mark.parametrize(
    "params",
    [
        {"metric_type": "time_series", "breakdown": "age", "period": "lifetime"},
        {"metric_type": "total_value", "breakdown": "age", "period": "day"},
        {"metric_type": "total_value", "breakdown": "age,city", "period": "lifetime"},
        {"metric_type": "total_value", "period": "lifetime"},
    ],
)
def test_demographics_require_lifetime_total_value_and_a_valid_breakdown(graph, params):
    assert_graph_error(graph(f"{IG}/insights", metric="follower_demographics", **params), 100)


def test_no_demographics_under_100_followers(graph):
    small = D.instagram_user_id(25)
    assert graph(small, fields="followers_count").json()["followers_count"] < 100
    body = graph(f"{small}/insights", metric="follower_demographics", breakdown="age", **DEMO)
    assert body.status_code == 200 and body.json() == {"data": []}
    page = D.facebook_page_id(25)
    assert graph(f"{page}/insights", metric="page_follows_city", period="lifetime").json()["data"] == []
    assert graph(f"{small}/insights", metric="follower_count", since="2026-11-10", until="2026-11-12").json()[
        "data"] == []


def test_page_follows_city_and_country_are_lifetime_dicts(graph, server):
    body = graph(f"{PAGE}/insights", metric="page_follows_city,page_follows_country", period="lifetime",
                 since="2026-11-17", until="2026-11-19").json()
    city, country = body["data"]
    assert (city["name"], city["period"]) == ("page_follows_city", "lifetime")
    assert [v["end_time"] for v in city["values"]] == ["2026-11-18T08:00:00+0000", "2026-11-19T08:00:00+0000"]
    last = city["values"][-1]["value"]
    assert isinstance(last, dict) and len(last) == 45
    assert all(k.endswith(", Sweden") for k in last)
    followers = graph(PAGE, fields="followers_count").json()["followers_count"]
    assert sum(country["values"][-1]["value"].values()) < followers
    assert len(city["values"]) == 2
    # The last value is measured day Nov 18 (end_time = 00:00 PST on Nov 19).
    truth = {r["key"]: r["value"] for r in demographics_truth(server.config, YESTERDAY - timedelta(days=1))
             if r["account_id"] == PAGE and r["breakdown"] == "country"}
    assert country["values"][-1]["value"] == {k: v for k, v in truth.items() if v}
    assert max(country["values"][-1]["value"], key=country["values"][-1]["value"].get) == "SE"
    assert_graph_error(graph(f"{PAGE}/insights", metric="page_follows_city", period="day"), 100)


def test_audiences_differ_by_department(server):
    rows = demographics_truth(server.config, YESTERDAY)

    def share(i, platform, ages):
        acc = D.instagram_user_id(i) if platform == "instagram" else D.facebook_page_id(i)
        return sum(r["share"] for r in rows if r["account_id"] == acc and r["audience"] == "followers"
                   and r["breakdown"] == "age" and r["key"] in ages)

    assert D.account_identity(42, UNGDOM)["department"] == "Ungdom"
    assert D.account_identity(42, ALDRE)["department"] == "Äldreomsorg"
    for platform in ("instagram", "facebook"):
        assert share(UNGDOM, platform, {"13-17", "18-24"}) > 0.35 > share(ALDRE, platform, {"13-17", "18-24"})
        assert share(ALDRE, platform, {"65+"}) > 0.2 > 0.05 > share(UNGDOM, platform, {"65+"})
    # Facebook audiences are older than Instagram ones for the same account.
    assert share(1, "facebook", {"55-64", "65+"}) > share(1, "instagram", {"55-64", "65+"})


def test_small_ig_accounts_keep_their_follow_flows(graph, server):
    small = D.instagram_user_id(25)
    body = graph(f"{small}/insights", metric="follows_and_unfollows", metric_type="total_value",
                 breakdown="follow_type", since="2026-11-10", until="2026-11-11").json()
    results = {r["dimension_values"][0]: r["value"] for r in body["data"][0]["total_value"]["breakdowns"][0]["results"]}
    day = YESTERDAY.replace(day=10)
    truth = [t for t in ground_truth(server.config, day, day)
             if t["account_id"] == small]
    assert results == {"FOLLOWER": truth[0]["followers_gained"], "NON_FOLLOWER": truth[0]["followers_lost"]}
