"""Everything the report shows, read from the published BI copy (never the working warehouse).

Each section says which mart and columns it needs; a section whose mart is not published yet (or
lacks a column) comes back as `Missing`, and the report says so instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ingestion.publish.report import peers as peer_report
from ingestion.publish.report.reader import BICopy, Missing

GROWTH = "fct_follower_growth_daily"
DAILY = "fct_account_daily"
ACCOUNTS = "dim_accounts"
AUDIENCE = "fct_audience_demographics"
POSTS = "fct_post_performance"
HEALTH = "fct_account_health"
FINDINGS = "fct_data_quality_findings"

STALE_AFTER_DAYS = 2
ANOMALY_SIGMAS = 4.0
ANOMALY_MIN_ABS = 10


@dataclass
class ReportData:
    """The numbers behind every section (or `Missing`)."""

    as_of: date | None
    publish: dict[str, Any]
    kpis: dict[str, Any] | Missing
    followers_by_platform: list[dict] | Missing
    net_by_platform_week: list[dict] | Missing
    departments: list[dict] | Missing
    trend_daily: list[dict] | Missing
    comparisons: list[dict] | Missing
    audience: list[dict] | Missing
    top_accounts: list[dict] | Missing
    bottom_accounts: list[dict] | Missing
    top_posts: list[dict] | Missing
    attention: list[dict] | Missing
    peers: list[dict] | Missing | None = None  # "compared with peers" (ingestion/publish/report/peers.py)


def _period(d: date, start_back: int, end_back: int) -> list[date]:
    return [d - timedelta(days=start_back), d - timedelta(days=end_back)]


def publish_info(bi: BICopy) -> dict[str, Any]:
    if not bi.has_log:
        return {}
    return bi.one(
        "select publish_id, max(published_at) as published_at, any_value(git_sha) as git_sha, "
        "count(*) as tables, sum(row_count) as rows from main.publish_log "
        "where publish_id = (select publish_id from main.publish_log order by published_at desc, publish_id desc "
        "limit 1) group by publish_id"
    )


def as_of_date(bi: BICopy) -> date | None:
    if bi.missing(GROWTH, "metric_date"):
        return None
    return bi.one(f"select max(metric_date) as d from marts.{GROWTH}").get("d")


# Latest known follower total per account on or before the report date (a stock: never summed over days).
_LATEST_FOLLOWERS = f"""
    select platform, account_id, arg_max(followers, metric_date) as followers,
           arg_max(is_estimated, metric_date) as is_estimated, max(metric_date) as followers_date
    from marts.{GROWTH}
    where followers is not null and metric_date <= ?
    group by platform, account_id
"""


def kpis(bi: BICopy, d: date) -> dict[str, Any] | Missing:
    if miss := bi.missing(GROWTH, "followers", "net_followers", "views", "engagements", "is_estimated"):
        return miss
    latest = bi.one(
        f"select sum(followers) as total_followers, "
        f"sum(followers) filter (where is_estimated) as estimated_followers, count(*) as accounts_with_followers "
        f"from ({_LATEST_FOLLOWERS})", [d],
    )
    window = bi.one(
        f"select sum(net_followers) as net_followers_28d, sum(views) as views_28d, "
        f"sum(engagements) as engagements_28d, sum(engagements) filter (where views is not null) as eng_with_views, "
        f"sum(views) filter (where engagements is not null) as views_with_eng "
        f"from marts.{GROWTH} where metric_date between ? and ?", _period(d, 27, 0),
    )
    out = {**latest, **window}
    out["engagement_rate_28d"] = (
        window["eng_with_views"] / window["views_with_eng"] if window.get("views_with_eng") else None
    )
    total = latest.get("total_followers")
    out["estimated_share"] = (latest.get("estimated_followers") or 0) / total if total else None
    out["accounts"] = None
    if not bi.missing(ACCOUNTS, "is_registered"):
        out["accounts"] = bi.one(f"select count(*) as n from marts.{ACCOUNTS} where is_registered")["n"]
    out["followers_per_1000"] = None
    if not bi.missing(DAILY, "followers_per_1000_residents"):
        out["followers_per_1000"] = bi.one(
            f"select sum(v) as v from (select arg_max(followers_per_1000_residents, metric_date) as v "
            f"from marts.{DAILY} where followers_per_1000_residents is not null and metric_date <= ? "
            f"group by platform, account_id)", [d],
        )["v"]
    return out


def followers_by_platform(bi: BICopy, d: date, days: int = 90) -> list[dict] | Missing:
    """Followers per platform and day: each account's latest known total on that day (as the KPI), so an
    account whose data stops does not make the line drop."""
    if miss := bi.missing(GROWTH, "followers"):
        return miss
    return bi.rows(
        f"""
        with days as (select cast(unnest(generate_series(?::date, ?::date, interval 1 day)) as date) as day),
        accounts as (select distinct platform, account_id from marts.{GROWTH} where followers is not null),
        known as (select platform, account_id, metric_date, followers from marts.{GROWTH}
                  where followers is not null)
        select accounts.platform, days.day as metric_date, sum(known.followers) as followers
        from days cross join accounts
        asof join known on known.platform = accounts.platform and known.account_id = accounts.account_id
            and known.metric_date <= days.day
        group by all order by 1, 2
        """, _period(d, days - 1, 0),
    )


def net_by_platform_week(bi: BICopy, d: date, weeks: int = 12) -> list[dict] | Missing:
    if miss := bi.missing(GROWTH, "net_followers"):
        return miss
    start = d - timedelta(days=d.isoweekday() - 1) - timedelta(weeks=weeks - 1)
    return bi.rows(
        f"select platform, date_trunc('week', metric_date)::date as week_start, "
        f"sum(net_followers) as net_followers from marts.{GROWTH} where metric_date between ? and ? "
        f"group by all order by week_start, platform", [start, d],
    )


def departments(bi: BICopy, d: date) -> list[dict] | Missing:
    if miss := bi.missing(GROWTH, "department", "followers", "net_followers", "views", "engagements"):
        return miss
    return bi.rows(
        f"""
        with latest as ({_LATEST_FOLLOWERS}),
        dept as (select distinct platform, account_id, department from marts.{GROWTH}),
        window_sums as (
            select platform, account_id, sum(net_followers) as net_28d, sum(views) as views_28d,
                   sum(engagements) as engagements_28d
            from marts.{GROWTH} where metric_date between ? and ? group by all
        )
        select coalesce(dept.department, '?') as department, count(distinct dept.account_id) as accounts,
               sum(latest.followers) as followers, sum(window_sums.net_28d) as net_28d,
               sum(window_sums.views_28d) as views_28d, sum(window_sums.engagements_28d) as engagements_28d,
               sum(window_sums.engagements_28d) / nullif(sum(window_sums.views_28d), 0) as engagement_rate
        from dept
        left join latest using (platform, account_id)
        left join window_sums using (platform, account_id)
        group by all order by net_28d desc nulls last, department
        """, [d, *_period(d, 27, 0)],
    )


def trend_daily(bi: BICopy, d: date, days: int = 90) -> list[dict] | Missing:
    if miss := bi.missing(GROWTH, "views", "engagements"):
        return miss
    return bi.rows(
        f"""
        select metric_date, views, engagements,
               avg(views) over w as views_7d_avg, avg(engagements) over w as engagements_7d_avg
        from (select metric_date, sum(views) as views, sum(engagements) as engagements
              from marts.{GROWTH} where metric_date between ? and ? group by metric_date)
        window w as (order by metric_date rows 6 preceding)
        order by metric_date
        """, [d - timedelta(days=days + 5), d],
    )[6:]


def comparisons(bi: BICopy, d: date) -> list[dict] | Missing:
    """Week over week, 28 days over the previous 28, and year over year (same 28 days 364 days earlier).

    A period's value is None unless the marts have the measure on every day of it, so a comparison
    with a half-covered earlier period never shows a made-up jump."""
    if miss := bi.missing(GROWTH, "views", "engagements", "net_followers"):
        return miss
    periods = {
        "wow": (_period(d, 6, 0), _period(d, 13, 7)),
        "mom": (_period(d, 27, 0), _period(d, 55, 28)),
        "yoy": (_period(d, 27, 0), _period(d, 27 + 364, 364)),
    }
    out = []
    for metric in ("views", "engagements", "net_followers"):
        row: dict[str, Any] = {"metric": metric}
        for key, (cur, prev) in periods.items():
            values = []
            for start, end in (cur, prev):
                r = bi.one(
                    f"select sum({metric}) as v, count(distinct metric_date) filter (where {metric} is not null) "
                    f"as days from marts.{GROWTH} where metric_date between ? and ?", [start, end],
                )
                # A period compares only when the marts cover every one of its days (no partial history).
                values.append(r["v"] if r.get("days") == (end - start).days + 1 else None)
            row[key] = {"current": values[0], "previous": values[1],
                        "change": (values[0] - values[1]) / abs(values[1])
                        if values[0] is not None and values[1] not in (None, 0) else None}
        out.append(row)
    return out


def audience(bi: BICopy) -> list[dict] | Missing:
    """The organisation's follower audience per age group (each account's latest snapshot, weighted by
    people where counts exist) next to the population's share of that age group."""
    if miss := bi.missing(AUDIENCE, "age_group", "audience_share"):
        return miss
    cols = bi.columns[AUDIENCE]
    population = bi.first(AUDIENCE, "population_share_of_age_group", "population_share")
    if population is None:
        return Missing(AUDIENCE, ["population_share_of_age_group"])
    where = []
    if "is_latest_snapshot" in cols:
        where.append("is_latest_snapshot")
    elif {"platform", "account_id", "metric_date"} <= cols:
        where.append(f"(platform, account_id, metric_date) in (select (platform, account_id, max(metric_date)) "
                     f"from marts.{AUDIENCE} group by all)")
    if "audience_type" in cols:
        where.append("audience_type = 'followers'")
    clause = f"where {' and '.join(where)}" if where else ""
    share = ("sum(audience_count) / sum(sum(audience_count)) over ()" if "audience_count" in cols
             else "sum(audience_share) / sum(sum(audience_share)) over ()")
    return bi.rows(
        f"select age_group, {share} as audience_share, max({population}) as population_share "
        f"from marts.{AUDIENCE} {clause} group by age_group order by age_group"
    )


def ranked_accounts(bi: BICopy, d: date, n: int = 5) -> tuple[list[dict] | Missing, list[dict] | Missing]:
    if miss := bi.missing(GROWTH, "followers", "net_followers_28d", "growth_rate_28d", "views", "engagements"):
        return miss, miss
    name = "coalesce(a.name, g.account_id)" if not bi.missing(ACCOUNTS, "name") else "g.account_id"
    join = f"left join marts.{ACCOUNTS} a using (platform, account_id)" if not bi.missing(ACCOUNTS, "name") else ""
    rows = bi.rows(
        f"""
        with last_day as (
            select platform, account_id, arg_max(followers, metric_date) as followers,
                   arg_max(net_followers_28d, metric_date) as net_28d,
                   arg_max(growth_rate_28d, metric_date) as growth_28d,
                   arg_max(is_estimated, metric_date) as is_estimated,
                   any_value(department) as department
            from marts.{GROWTH} where metric_date <= ? group by all
        ),
        rates as (
            select platform, account_id, sum(engagements) / nullif(sum(views), 0) as engagement_rate
            from marts.{GROWTH} where metric_date between ? and ? group by all
        )
        select g.platform, g.account_id, {name} as name, g.department, g.followers, g.net_28d, g.growth_28d,
               g.is_estimated, rates.engagement_rate
        from last_day g left join rates using (platform, account_id) {join}
        where g.growth_28d is not null
        order by g.growth_28d desc, g.account_id
        """, [d, *_period(d, 27, 0)],
    )
    return rows[:n], list(reversed(rows[n:]))[:n] if len(rows) > n else []


def top_posts(bi: BICopy, n: int = 10) -> list[dict] | Missing:
    if miss := bi.missing(POSTS, "engagements"):
        return miss
    ident = bi.first(POSTS, "object_id", "post_id", "media_id")
    if ident is None:
        return Missing(POSTS, ["object_id"])
    optional = [c for c in ("platform", "account_id", "published_at", "permalink", "caption", "views", "reach")
                if c in bi.columns[POSTS]]
    cols = ", ".join([f"{ident} as object_id", *optional, "engagements"])
    return bi.rows(f"select {cols} from marts.{POSTS} where engagements is not null "
                   f"order by engagements desc limit {int(n)}")


def attention(bi: BICopy, d: date) -> list[dict] | Missing:
    """Stale accounts, declining accounts, anomalous days; plus health and findings marts when published."""
    if miss := bi.missing(GROWTH, "net_followers", "net_followers_28d"):
        return miss
    names = {}
    if not bi.missing(ACCOUNTS, "name"):
        names = {(r["platform"], r["account_id"]): r["name"] for r in bi.rows(
            f"select platform, account_id, name from marts.{ACCOUNTS}")}
    out: list[dict] = []
    if not bi.missing(ACCOUNTS, "last_metric_date", "is_registered"):
        for r in bi.rows(
            f"select platform, account_id, last_metric_date from marts.{ACCOUNTS} "
            f"where is_registered and (last_metric_date is null or last_metric_date < ?) order by all",
            [d - timedelta(days=STALE_AFTER_DAYS)],
        ):
            out.append({**r, "kind": "stale", "value": r["last_metric_date"]})
    for r in bi.rows(
        f"select platform, account_id, arg_max(net_followers_28d, metric_date) as v from marts.{GROWTH} "
        f"where metric_date <= ? group by all having v < 0 order by v", [d],
    ):
        out.append({**r, "kind": "declining", "value": r["v"]})
    for r in bi.rows(
        f"""
        with hist as (
            select platform, account_id, metric_date, net_followers,
                   avg(net_followers) over w as mean_28d, stddev_samp(net_followers) over w as sd_28d
            from marts.{GROWTH}
            window w as (partition by platform, account_id order by metric_date
                         range between interval 28 days preceding and interval 1 day preceding)
        )
        select platform, account_id, metric_date, net_followers, mean_28d, sd_28d from hist
        where metric_date = ? and net_followers is not null and sd_28d is not null
          and abs(net_followers - mean_28d) > greatest(? * sd_28d, ?)
        order by abs(net_followers - mean_28d) desc
        """, [d, ANOMALY_SIGMAS, ANOMALY_MIN_ABS],
    ):
        out.append({**r, "kind": "anomaly", "value": r["net_followers"]})
    if not bi.missing(HEALTH, "platform", "account_id", "health_status"):
        # One row per account: failing/warning, with the mart's own reasons (failed runs, tokens about
        # to expire, missing scopes, retired metrics, coverage gaps, stale data).
        issues = "array_to_string(issues, '; ')" if "issues" in bi.columns[HEALTH] else "health_status"
        for r in bi.rows(
            f"select platform, account_id, health_status, {issues} as v from marts.{HEALTH} "
            f"where health_status <> 'ok' order by health_status = 'failing' desc, platform, account_id"
        ):
            out.append({**r, "kind": "health", "value": f"{r['health_status']}: {r['v'] or ''}".rstrip(": ")})
    if not bi.missing(FINDINGS, "platform", "account_id"):
        text = bi.first(FINDINGS, "finding", "check_name", "description", "rule", "finding_type")
        if text:
            for r in bi.rows(f"select platform, account_id, {text} as v from marts.{FINDINGS} "
                             f"order by all limit 50"):
                out.append({**r, "kind": "finding", "value": r["v"]})
    for r in out:
        r["name"] = names.get((r["platform"], r["account_id"])) or r["account_id"]
    return out


def collect(bi_path: Path) -> ReportData:
    """Read every section from the published copy, in one short read-only session."""
    bi = BICopy(bi_path)
    try:
        d = as_of_date(bi)
        info = publish_info(bi)
        if d is None:
            missing = bi.missing(GROWTH, "metric_date") or Missing(GROWTH)
            return ReportData(None, info, *([missing] * 11), peers=peer_report.rows(bi))
        top, bottom = ranked_accounts(bi, d)
        return ReportData(
            as_of=d, publish=info, kpis=kpis(bi, d), followers_by_platform=followers_by_platform(bi, d),
            net_by_platform_week=net_by_platform_week(bi, d), departments=departments(bi, d),
            trend_daily=trend_daily(bi, d), comparisons=comparisons(bi, d), audience=audience(bi),
            top_accounts=top, bottom_accounts=bottom, top_posts=top_posts(bi), attention=attention(bi, d),
            peers=peer_report.rows(bi),
        )
    finally:
        bi.close()


def jsonable(value: Any) -> Any:
    """For data attributes and logs."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value
