"""A tiny, hand-computable warehouse for building and testing the dbt project.

One Facebook Page and one Instagram account, written through `ingestion.warehouse.connect` exactly
as the loader would (append-only `raw.observations`, `raw.accounts`, `raw.loads`). Two loads: L1
fetches everything, L2 re-fetches a few keys, some with a changed value (restatements).

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

Run as a script to write a warehouse file: `python tests/dbt/make_fixture.py /tmp/fixture.duckdb`.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

FACEBOOK_PAGE_ID = "1234567890"
INSTAGRAM_ACCOUNT_ID = "17841400000000001"

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
        dimension: str = "",
        dimension_value: str = "",
        load_id: str = "L1",
        observed_at: datetime = L1_AT,
    ) -> None:
        end_time = _end_time(metric_date) if metric_type == "time_series" else None
        self.rows.append(
            (
                load_id,
                f"{load_id}-{platform}-{metric}",
                platform,
                account_id,
                "account",
                account_id,
                "insights",
                metric,
                "day",
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


def make_fixture(path: Path | str) -> Path:
    """Create (or overwrite) a warehouse file at `path` holding the fixture's raw tables.

    Args:
        path: the DuckDB file to write; an existing file is replaced.

    Returns:
        The absolute path of the written warehouse.
    """
    from ingestion.warehouse import connect

    path = Path(path).resolve()
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    obs = _Observations()
    _facebook(obs)
    _instagram(obs)
    per_load = {load: sum(row[0] == load for row in obs.rows) for load in ("L1", "L2")}
    con = connect(path)
    try:
        con.execute("begin")
        con.executemany(
            f"insert into raw.observations ({_COLUMNS}) values ({_PLACEHOLDERS})",
            obs.rows,
        )
        con.executemany(
            "insert into raw.loads values (?, ?, ?, ?, 'committed', ?, ?, 2, ?, ?)",
            [
                ("L1", "run-1", L1_AT, L1_AT, 3, per_load["L1"], day(-27), day(10)),
                ("L2", "run-2", L2_AT, L2_AT, 3, per_load["L2"], day(2), day(4)),
            ],
        )
        con.executemany(
            "insert into raw.accounts values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            ],
        )
        con.execute("commit")
    finally:
        con.close()
    return path


if __name__ == "__main__":
    print(make_fixture(sys.argv[1] if len(sys.argv) > 1 else "fixture.duckdb"))
