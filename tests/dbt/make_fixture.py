"""A tiny, hand-computable warehouse for building and testing the dbt project.

One Facebook Page and one Instagram account (department kommunledning) and one YouTube channel
(department kultur), written through `ingestion.load.warehouse.connect` exactly as the loader would
(append-only `raw.observations`, `raw.objects`, `raw.accounts`, `raw.loads`, the health tables and
`raw.organisation`). Two loads: L1 fetches everything, L2 re-fetches a few keys, some with a changed
value (restatements). Organisation: 2,000 residents (POPULATION_BY_AGE; 1,800 aged 13+).

Facebook Page 1234567890, 2024-12-04 .. 2025-01-10 (38 days):
  * Dec 4 .. Dec 31: gained 2, lost 1 every day; page_follows stock = 996 + t (t = 0 on Dec 31).
  * Jan 1 .. Jan 10:
        day        1    2    3    4    5    6    7    8    9   10
        gained     5    3    4*   6    2    7    1    3    4    2   (*L1 said 9, L2 restated 4)
        lost       1    2    0    1**  3    2    1    0    1    1   (**L1 5 and L2 1, same observed_at)
        stock   1000 1001 1005 1010 1009 1014 1014 1017    -    -
        snapshot                                   1018 1020    -   (stock wins on Jan 8)
  * views/reach/engagements on Jan 1..10: 100t / 50t / 7t (+ a breakdown row that must be ignored).

Instagram account 17841400000000001, 2025-01-01 .. 2025-01-10:
        day                1    2    3    4    5    6    7    8    9   10
        FOLLOWER           -    8    6    5    7    4    9    3    6    5
        NON_FOLLOWER       -    2    1    3*   2    -    1    4    2    1   (*L1 said 7)
        follower_count     6    8    7    5    7    4    9    3    6    5   (day 3 disagrees)
        snapshot                              500            511
  * views 200+t, reach 300 (Jan 2: L1 300, L2 320), total_interactions 10+t, accounts_engaged 5.
  * follower_demographics (age,gender): Jan 5 {18-24,F: 100}; Jan 8 {13-17,F: 10, 18-24,F: 40,
    18-24,M: 30, 25-34,F: 60, 25-34,M: 40, 65+,U: 20} (200); engaged_audience Jan 8 {18-24,F: 5,
    25-34,M: 15}.
  * Facebook extras: page_total_media_view_unique week = 1200 on Jan 5 (ISO week 2025-W01), days_28
    = 5000 on Dec 31.

Posts (raw.objects + lifetime insights; Stockholm = UTC+1 in January, Pacific = UTC-8):
    object        published (UTC)   Stockholm        Pacific day  latest snapshot  engagements
    FB_POST_1     Jan 3 18:30       Fri 19:30        Jan 3        Jan 8: views 800, reach 450,
                                                                  reactions 30+6+1, clicks 12 -> 49
    FB_POST_2     Jan 7 07:15       Tue 08:15        Jan 6 (!)    Jan 8: views 200, reach 150,
                                                                  reactions 4, clicks 2 -> 6
    IG_MEDIA_1    Jan 2 11:00       Thu 12:00        Jan 2        Jan 8: views 400, reach 250,
                                                                  total_interactions 40
    IG_MEDIA_2    Jan 9 16:45       Thu 17:45        Jan 9        Jan 10: views 300, reach 100,
                                                                  10+1+0+0 (no total_interactions) -> 11

YouTube channel UCabcdefghijklmnopqrstuv, spine Jan 1 .. Jan 10 (flows only to Jan 8: the lag):
        day                1      2      3      4      5      6      7      8    9   10
        subscribersGained  3      1      4      1      5      9*     2      6    -    -   (*L1 said 7)
        subscribersLost    1      0      1      2      0      1      1      0    -    -
        subscriberCount                       12300                                 12400 (rounded)
        followers      12297  12298  12301  12300  12305  12313  12314  12320    -    -
  The first (rounded) snapshot anchors everything; Jan 10's is ignored; all is_estimated.
  views 1000+10t, likes t, comments 1, shares 0 (engagements t+1), estimatedMinutesWatched 50t.
  viewerPercentage (28 days to Jan 8): 18-24 F 30 / M 20, 25-34 F 25 / M 15, 65- user_specified 10.

Health: run-1 (Jan 11) ok for all; run-2 (Jan 12) facebook ok, instagram failed (auth, 190),
youtube partial (retired metric shares). Coverage: instagram reach failed Jan 4-5 (a 2-day gap).
Tokens: the Meta token expires Mar 1 (facebook) / Jan 20 with a missing scope (instagram).

Run as a script to write a warehouse file: `python tests/dbt/make_fixture.py /tmp/fixture.duckdb`.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

FACEBOOK_PAGE_ID = "1234567890"
INSTAGRAM_ACCOUNT_ID = "17841400000000001"
YOUTUBE_CHANNEL_ID = "UCabcdefghijklmnopqrstuv"
FB_POST_1 = f"{FACEBOOK_PAGE_ID}_111"
FB_POST_2 = f"{FACEBOOK_PAGE_ID}_222"
IG_MEDIA_1 = "18000000000000001"
IG_MEDIA_2 = "18000000000000002"

# Residents by age group (registry labels); 2,000 in all, 1,800 aged 13+.
POPULATION_BY_AGE = {
    "0-12": 200, "13-17": 100, "18-24": 200, "25-34": 300, "35-44": 300, "45-54": 300, "55-64": 300, "65+": 300,
}  # fmt: skip

JAN_1 = date(2025, 1, 1)
L1_AT = datetime(2025, 1, 11, 3, 0, tzinfo=UTC)
L2_AT = datetime(2025, 1, 12, 3, 0, tzinfo=UTC)

_COLUMNS = (
    "load_id, response_id, platform, account_id, object_type, object_id, source, metric_name, "
    "period, metric_type, dimension, dimension_value, metric_date, end_time, value, observed_at"
)
_PLACEHOLDERS = ", ".join("?" * len(_COLUMNS.split(",")))


def day(t: int) -> date:
    """Day t of the fixture: t = 1 is 2025-01-01, t = 0 is 2024-12-31."""
    return JAN_1 + timedelta(days=t - 1)


def _end_time(metric_date: date) -> datetime:
    """Meta's end_time for a measured Pacific day: next midnight PST (all fixture days are PST)."""
    return datetime.combine(metric_date + timedelta(days=1), datetime.min.time(), UTC) + timedelta(hours=8)


class _Observations:
    """Collects raw.observations rows with the loader's conventions."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def insight(
        self,
        platform: str,
        account_id: str,
        metric: str,
        metric_date: date,
        value: float,
        *,
        metric_type: str = "time_series",
        period: str = "day",
        dimension: str = "",
        dimension_value: str = "",
        object_type: str = "account",
        object_id: str | None = None,
        load_id: str = "L1",
        observed_at: datetime = L1_AT,
    ) -> None:
        # Meta delivers end_time for day/week/days_28 time series; YouTube and lifetime values not.
        meta_series = platform in ("facebook", "instagram") and metric_type == "time_series"
        end_time = _end_time(metric_date) if meta_series and period != "lifetime" else None
        self.rows.append(
            (
                load_id,
                f"{load_id}-{platform}-{metric}",
                platform,
                account_id,
                object_type,
                object_id or account_id,
                "insights",
                metric,
                period,
                metric_type,
                dimension,
                dimension_value,
                metric_date,
                end_time,
                float(value),
                observed_at,
            )
        )

    def node(self, platform: str, account_id: str, field: str, metric_date: date, value: float) -> None:
        self.rows.append(
            (
                "L1",
                f"L1-{platform}-node-{metric_date}",
                platform,
                account_id,
                "account",
                account_id,
                "node",
                field,
                "snapshot",
                "node",
                "",
                "",
                metric_date,
                None,
                float(value),
                L1_AT,
            )
        )


def _facebook(obs: _Observations) -> None:
    fb, page = "facebook", FACEBOOK_PAGE_ID
    # Dec 4 .. Dec 31: +2 -1 per day, stock 996 + t.
    for t in range(-27, 1):
        obs.insight(fb, page, "page_daily_follows_unique", day(t), 2)
        obs.insight(fb, page, "page_daily_unfollows_unique", day(t), 1)
        obs.insight(fb, page, "page_follows", day(t), 996 + t)
    gained = [5, 3, 9, 6, 2, 7, 1, 3, 4, 2]  # day 3 as first delivered (restated below)
    lost = [1, 2, 0, 5, 3, 2, 1, 0, 1, 1]  # day 4 as in load L1 (L2 says 1, same observed_at)
    stock = [1000, 1001, 1005, 1010, 1009, 1014, 1014, 1017]
    for t in range(1, 11):
        obs.insight(fb, page, "page_daily_follows_unique", day(t), gained[t - 1])
        obs.insight(fb, page, "page_daily_unfollows_unique", day(t), lost[t - 1])
        if t <= len(stock):
            obs.insight(fb, page, "page_follows", day(t), stock[t - 1])
        obs.insight(fb, page, "page_media_view", day(t), 100 * t)
        obs.insight(fb, page, "page_total_media_view_unique", day(t), 50 * t)
        obs.insight(fb, page, "page_post_engagements", day(t), 7 * t)
    # A breakdown of views: must not leak into the daily total.
    obs.insight(fb, page, "page_media_view", day(5), 20, dimension="is_from_ads", dimension_value="true")
    # Re-fetches in load L2: day 3 gained restated 9 -> 4; day 2 gained re-fetched unchanged.
    obs.insight(fb, page, "page_daily_follows_unique", day(3), 4, load_id="L2", observed_at=L2_AT)
    obs.insight(fb, page, "page_daily_follows_unique", day(2), 3, load_id="L2", observed_at=L2_AT)
    # Same observed_at as L1: the later load id wins.
    obs.insight(fb, page, "page_daily_unfollows_unique", day(4), 1, load_id="L2", observed_at=L1_AT)
    # Node snapshots: Jan 8 disagrees with the stock (stock wins); Jan 9 has no stock.
    obs.node(fb, page, "followers_count", day(8), 1018)
    obs.node(fb, page, "followers_count", day(9), 1020)
    obs.node(fb, page, "fan_count", day(9), 900)


def _instagram(obs: _Observations) -> None:
    ig, acct = "instagram", INSTAGRAM_ACCOUNT_ID
    follower = [None, 8, 6, 5, 7, 4, 9, 3, 6, 5]
    non_follower = [None, 2, 1, 7, 2, None, 1, 4, 2, 1]  # day 4 as first delivered; day 6 omitted
    follower_count = [6, 8, 7, 5, 7, 4, 9, 3, 6, 5]
    for t in range(1, 11):
        for follow_type, values in (("FOLLOWER", follower), ("NON_FOLLOWER", non_follower)):
            if values[t - 1] is not None:
                obs.insight(
                    ig,
                    acct,
                    "follows_and_unfollows",
                    day(t),
                    values[t - 1],
                    metric_type="total_value",
                    dimension="follow_type",
                    dimension_value=follow_type,
                )
        obs.insight(ig, acct, "follower_count", day(t), follower_count[t - 1])
        obs.insight(ig, acct, "reach", day(t), 300)
        obs.insight(ig, acct, "views", day(t), 200 + t, metric_type="total_value")
        obs.insight(ig, acct, "total_interactions", day(t), 10 + t, metric_type="total_value")
        obs.insight(ig, acct, "accounts_engaged", day(t), 5, metric_type="total_value")
    # Restatements in load L2.
    obs.insight(
        ig,
        acct,
        "follows_and_unfollows",
        day(4),
        3,
        metric_type="total_value",
        dimension="follow_type",
        dimension_value="NON_FOLLOWER",
        load_id="L2",
        observed_at=L2_AT,
    )
    obs.insight(ig, acct, "reach", day(2), 320, load_id="L2", observed_at=L2_AT)
    # Nightly snapshots on Jan 5 and Jan 8 only.
    obs.node(ig, acct, "followers_count", day(5), 500)
    obs.node(ig, acct, "followers_count", day(8), 511)
    obs.node(ig, acct, "follows_count", day(8), 50)
    obs.node(ig, acct, "media_count", day(8), 120)


def _instagram_extras(obs: _Observations) -> None:
    """Demographics (lifetime, age,gender) and the media insights of the two media."""
    ig, acct = "instagram", INSTAGRAM_ACCOUNT_ID
    for metric, snapshot_day, cells in (
        ("follower_demographics", day(5), {"18-24,F": 100}),
        (
            "follower_demographics",
            day(8),
            {"13-17,F": 10, "18-24,F": 40, "18-24,M": 30, "25-34,F": 60, "25-34,M": 40, "65+,U": 20},
        ),
        ("engaged_audience_demographics", day(8), {"18-24,F": 5, "25-34,M": 15}),
    ):
        for cell, value in cells.items():
            obs.insight(
                ig, acct, metric, snapshot_day, value, metric_type="total_value", period="lifetime",
                dimension="age,gender", dimension_value=cell,
            )  # fmt: skip
    # Media insights (lifetime-to-date, dated by snapshot day). M2 has no total_interactions.
    media = {
        IG_MEDIA_1: (day(8), {"reach": 250, "views": 400, "likes": 30, "comments": 5, "shares": 2, "saved": 3,
                              "total_interactions": 40}),
        IG_MEDIA_2: (day(10), {"reach": 100, "views": 300, "likes": 10, "comments": 1, "shares": 0, "saved": 0}),
    }  # fmt: skip
    for media_id, (snapshot_day, metrics) in media.items():
        for metric, value in metrics.items():
            obs.insight(
                ig, acct, metric, snapshot_day, value, period="lifetime", object_type="media", object_id=media_id
            )
    # An older snapshot of M1 (must lose to Jan 8).
    obs.insight(ig, acct, "likes", day(5), 12, period="lifetime", object_type="media", object_id=IG_MEDIA_1)


def _facebook_extras(obs: _Observations) -> None:
    """The Page's own 7/28-day reach and the lifetime insights of its two posts."""
    fb, page = "facebook", FACEBOOK_PAGE_ID
    obs.insight(fb, page, "page_total_media_view_unique", day(5), 1200, period="week")
    obs.insight(fb, page, "page_total_media_view_unique", day(0), 5000, period="days_28")
    posts = {
        FB_POST_1: {
            day(5): {"post_media_view": 500, "post_total_media_view_unique": 300, "post_clicks": 10,
                     "like": 20, "love": 5},
            day(8): {"post_media_view": 800, "post_total_media_view_unique": 450, "post_clicks": 12,
                     "like": 30, "love": 6, "haha": 1},
        },
        FB_POST_2: {
            day(8): {"post_media_view": 200, "post_total_media_view_unique": 150, "post_clicks": 2, "like": 4},
        },
    }  # fmt: skip
    for post_id, snapshots in posts.items():
        for snapshot_day, metrics in snapshots.items():
            for metric, value in metrics.items():
                if metric in ("like", "love", "haha"):
                    obs.insight(
                        fb, page, "post_reactions_by_type_total", snapshot_day, value, period="lifetime",
                        dimension="key", dimension_value=metric, object_type="post", object_id=post_id,
                    )  # fmt: skip
                else:
                    obs.insight(
                        fb, page, metric, snapshot_day, value, period="lifetime", object_type="post",
                        object_id=post_id,
                    )  # fmt: skip


def _youtube(obs: _Observations) -> None:
    """YouTube channel: flows Jan 1..8 (Jan 9..10 not delivered yet), rounded snapshots Jan 4, 10."""
    yt, channel = "youtube", YOUTUBE_CHANNEL_ID
    gained = [3, 1, 4, 1, 5, 7, 2, 6]  # day 6 as first delivered (restated to 9 in L2)
    lost = [1, 0, 1, 2, 0, 1, 1, 0]
    for t in range(1, 9):
        obs.insight(yt, channel, "subscribersGained", day(t), gained[t - 1])
        obs.insight(yt, channel, "subscribersLost", day(t), lost[t - 1])
        obs.insight(yt, channel, "views", day(t), 1000 + 10 * t)
        obs.insight(yt, channel, "estimatedMinutesWatched", day(t), 50 * t)
        obs.insight(yt, channel, "likes", day(t), t)
        obs.insight(yt, channel, "comments", day(t), 1)
        obs.insight(yt, channel, "shares", day(t), 0)
    obs.insight(yt, channel, "subscribersGained", day(6), 9, load_id="L2", observed_at=L2_AT)
    # Rounded subscriberCount: Jan 4 anchors the history; Jan 10 (flows not known yet) only its own day.
    obs.node(yt, channel, "subscriberCount", day(4), 12300)
    obs.node(yt, channel, "subscriberCount", day(10), 12400)
    obs.node(yt, channel, "videoCount", day(10), 42)
    for cell, percentage in {
        "age18-24,female": 30, "age18-24,male": 20, "age25-34,female": 25, "age25-34,male": 15,
        "age65-,user_specified": 10,
    }.items():  # fmt: skip
        obs.insight(
            yt, channel, "viewerPercentage", day(8), percentage, period="days_28", dimension="ageGroup,gender",
            dimension_value=cell,
        )  # fmt: skip


def _objects() -> list[tuple]:
    """raw.objects: two Facebook posts and two Instagram media (M1 listed twice)."""
    fb, ig = ("facebook", FACEBOOK_PAGE_ID, "post"), ("instagram", INSTAGRAM_ACCOUNT_ID, "media")
    rows = [
        # FB_POST_1: Fri Jan 3 18:30 UTC = 19:30 Stockholm, Jan 3 in Pacific.
        ("L1", *fb, FB_POST_1, datetime(2025, 1, 3, 18, 30, tzinfo=UTC), "added_photos", None, L1_AT),
        # FB_POST_2: Tue Jan 7 07:15 UTC = 08:15 Stockholm on Jan 7, but still Jan 6 in Pacific.
        ("L1", *fb, FB_POST_2, datetime(2025, 1, 7, 7, 15, tzinfo=UTC), "added_video", None, L1_AT),
        # IG_MEDIA_1: Thu Jan 2 11:00 UTC = 12:00 Stockholm; re-listed in L2 with a new caption.
        ("L1", *ig, IG_MEDIA_1, datetime(2025, 1, 2, 11, 0, tzinfo=UTC), "IMAGE", "FEED", L1_AT),
        ("L2", *ig, IG_MEDIA_1, datetime(2025, 1, 2, 11, 0, tzinfo=UTC), "IMAGE", "FEED", L2_AT),
        # IG_MEDIA_2: Thu Jan 9 16:45 UTC = 17:45 Stockholm.
        ("L1", *ig, IG_MEDIA_2, datetime(2025, 1, 9, 16, 45, tzinfo=UTC), "VIDEO", "REELS", L1_AT),
    ]
    return [
        (load_id, f"{load_id}-{object_id}", platform, account, object_type, object_id, published_at, content_type,
         product_type, f"https://example.test/{object_id}", f"caption {object_id} {load_id}", observed_at)
        for load_id, platform, account, object_type, object_id, published_at, content_type, product_type, observed_at
        in rows
    ]  # fmt: skip


def _health(con) -> None:
    """account_runs, coverage, tokens and metric_registry_events for fct_account_health."""
    jan = lambda t, h=3: datetime(2025, 1, t, h, 0, tzinfo=UTC)  # noqa: E731
    con.executemany(
        "insert into raw.account_runs (run_id, load_id, platform, account_id, status, error_class, error_code,"
        " message, requests, retired_metrics, since, until, finished_at)"
        " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ("run-1", "L1", "facebook", FACEBOOK_PAGE_ID, "ok", None, None, None, 12, [], day(-27), day(10), jan(11)),
            ("run-1", "L1", "instagram", INSTAGRAM_ACCOUNT_ID, "ok", None, None, None, 30, [], day(1), day(10),
             jan(11)),
            ("run-1", "L1", "youtube", YOUTUBE_CHANNEL_ID, "ok", None, None, None, 3, [], day(1), day(10), jan(11)),
            ("run-2", "L2", "facebook", FACEBOOK_PAGE_ID, "ok", None, None, None, 4, [], day(2), day(11), jan(12)),
            ("run-2", None, "instagram", INSTAGRAM_ACCOUNT_ID, "failed", "auth", 190,
             "Error validating access token", 1, [], day(2), day(11), jan(12)),
            ("run-2", "L2", "youtube", YOUTUBE_CHANNEL_ID, "partial", "retired_metric", 400,
             "Unknown metric shares", 2, ["shares"], day(2), day(11), jan(12)),
        ],
    )  # fmt: skip
    con.executemany(
        "insert into raw.coverage (platform, account_id, endpoint, metric_name, since, until, fetched_at,"
        " load_id, outcome) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ("facebook", FACEBOOK_PAGE_ID, "insights", "page_follows", day(-27), day(0), jan(11), "L1", "ok"),
            ("facebook", FACEBOOK_PAGE_ID, "insights", "page_follows", day(1), day(10), jan(11), "L1", "ok"),
            ("instagram", INSTAGRAM_ACCOUNT_ID, "insights", "reach", day(1), day(3), jan(11), "L1", "ok"),
            ("instagram", INSTAGRAM_ACCOUNT_ID, "insights", "reach", day(4), day(5), jan(11), "L1", "failed"),
            ("instagram", INSTAGRAM_ACCOUNT_ID, "insights", "reach", day(6), day(10), jan(11), "L1", "ok"),
            ("youtube", YOUTUBE_CHANNEL_ID, "analytics", "views", day(1), day(8), jan(11), "L1", "ok"),
            ("youtube", YOUTUBE_CHANNEL_ID, "analytics", "shares", day(9), day(11), jan(12), "L2", "retired"),
        ],
    )  # fmt: skip
    con.executemany(
        "insert into raw.tokens (checked_at, token_ref, platform, is_valid, expires_at,"
        " data_access_expires_at, scopes, missing_scopes) values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (jan(11), "SOCIALPULSE_META_TOKEN", "facebook", True, datetime(2025, 3, 1, tzinfo=UTC), None,
             ["pages_read_engagement"], []),
            (jan(12), "SOCIALPULSE_META_TOKEN", "facebook", True, datetime(2025, 3, 1, tzinfo=UTC), None,
             ["pages_read_engagement"], []),
            (jan(12), "SOCIALPULSE_META_TOKEN", "instagram", True, datetime(2025, 1, 20, tzinfo=UTC), None,
             ["instagram_basic"], ["instagram_manage_insights"]),
            (jan(12), "YOUTUBE_TOKEN", "youtube", True, None, None, ["yt-analytics.readonly"], []),
        ],
    )  # fmt: skip
    con.execute(
        "insert into raw.metric_registry_events (detected_at, platform, metric_name, error_code, message, run_id)"
        " values (?, 'facebook', 'page_impressions', 100,"
        " '(#100) The value must be a valid insights metric', 'run-1')",
        [jan(11)],
    )


def make_fixture(path: Path | str) -> Path:
    """Create (or overwrite) a warehouse file at `path` holding the fixture's raw tables.

    Args:
        path: the DuckDB file to write; an existing file is replaced.

    Returns:
        The absolute path of the written warehouse.
    """
    from ingestion.load.warehouse import connect

    path = Path(path).resolve()
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    obs = _Observations()
    _facebook(obs)
    _facebook_extras(obs)
    _instagram(obs)
    _instagram_extras(obs)
    _youtube(obs)
    per_load = {load: sum(row[0] == load for row in obs.rows) for load in ("L1", "L2")}
    con = connect(path)
    try:
        con.execute("begin")
        con.executemany(
            f"insert into raw.observations ({_COLUMNS}) values ({_PLACEHOLDERS})",
            obs.rows,
        )
        con.executemany(
            "insert into raw.objects (load_id, response_id, platform, account_id, object_type, object_id,"
            " published_at, content_type, product_type, permalink, caption, observed_at)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _objects(),
        )
        _health(con)
        con.execute(
            "insert into raw.organisation (name, timezone, population, population_by_age, loaded_at)"
            " values ('Exempel kommun', 'Europe/Stockholm', 2000, ?, ?)",
            [json.dumps(POPULATION_BY_AGE), L2_AT],
        )
        con.executemany(
            "insert into raw.loads (load_id, run_id, started_at, committed_at, status, n_responses,"
            " n_observations, n_accounts, business_date_min, business_date_max)"
            " values (?, ?, ?, ?, 'committed', ?, ?, 3, ?, ?)",
            [
                ("L1", "run-1", L1_AT, L1_AT, 3, per_load["L1"], day(-27), day(10)),
                ("L2", "run-2", L2_AT, L2_AT, 3, per_load["L2"], day(2), day(4)),
            ],
        )
        con.executemany(
            "insert into raw.accounts (platform, account_id, name, department, audience, active_from,"
            " active_until, linked_account_id, loaded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    "facebook",
                    FACEBOOK_PAGE_ID,
                    "Exempel kommun",
                    "kommunledning",
                    ["residents", "press"],
                    date(2010, 5, 1),
                    None,
                    f"instagram:{INSTAGRAM_ACCOUNT_ID}",
                    L2_AT,
                ),
                (
                    "instagram",
                    INSTAGRAM_ACCOUNT_ID,
                    "Exempel kommun IG",
                    "kommunledning",
                    ["residents", "youth"],
                    date(2015, 3, 1),
                    None,
                    f"facebook:{FACEBOOK_PAGE_ID}",
                    L2_AT,
                ),
                ("youtube", YOUTUBE_CHANNEL_ID, "Exempel kultur", "kultur", ["youth"], None, None, None, L2_AT),
            ],
        )
        con.execute("commit")
    finally:
        con.close()
    return path


if __name__ == "__main__":
    print(make_fixture(sys.argv[1] if len(sys.argv) > 1 else "fixture.duckdb"))
