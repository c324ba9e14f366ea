"""A small hand-made warehouse with the marts' columns (as the dbt project defines them), for tests
that need published marts without running the whole pipeline."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

DEPARTMENTS = ("kommunledning", "skola", "kultur", "fritid", "omsorg")


def build_warehouse(path: Path, accounts: int = 6, days: int = 60, until: date = date(2026, 11, 19),
                    rows_factor: int = 1) -> None:
    """Create or replace marts.fct_account_daily, fct_follower_growth_daily, dim_accounts and raw.loads.

    `rows_factor` repeats the day range per account (different days) to make tables bigger.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists raw")
        con.execute(
            "create or replace table raw.loads (load_id varchar primary key, run_id varchar, started_at timestamptz, "
            "committed_at timestamptz, status varchar, n_responses integer, n_observations integer, "
            "n_accounts integer, business_date_min date, business_date_max date)"
        )
        con.execute(
            "insert into raw.loads values ('load-0001', 'run-1', now() - interval 2 hour, now() - interval 1 hour, "
            "'committed', 10, 100, ?, ?, ?)", [accounts, until, until]
        )
        span = days * rows_factor
        con.execute(f"""
            create or replace table marts.dim_accounts as
            select
                case when a % 2 = 0 then 'facebook' else 'instagram' end as platform,
                cast(100000000000000 + a as varchar) as account_id,
                'Konto ' || a as name,
                '{DEPARTMENTS[0]}' as department,
                ['residents'] as audience,
                cast(null as date) as active_from,
                cast(null as date) as active_until,
                cast(null as varchar) as linked_account_id,
                date '{until}' - {span - 1} as first_metric_date,
                date '{until}' - case when a = {accounts - 1} then 9 else 0 end as last_metric_date,
                true as is_registered
            from range({accounts}) t(a)
        """)
        con.execute(
            "update marts.dim_accounts set department = list_extract(?, cast(account_id as bigint) % ? + 1)",
            [list(DEPARTMENTS), len(DEPARTMENTS)],
        )
        con.execute(f"""
            create or replace table marts.fct_account_daily as
            with base as (
                select d.platform, d.account_id, d.department, cast(d.account_id as bigint) % 1000 as a,
                       date '{until}' - t as metric_date, t
                from marts.dim_accounts d, (select cast(range as integer) as t from range({span})) r
                where date '{until}' - t <= d.last_metric_date
            )
            select
                md5(platform || account_id || metric_date) as account_day_id,
                platform, account_id, metric_date, department,
                cast(1000 * (a + 1) + 3 * ({span} - t) * (a % 3)
                     - 6 * ({span} - t) * cast(a = 1 as integer) as bigint) as followers,
                platform = 'instagram' and t > 0 as is_estimated,
                case when platform = 'instagram' and t > 0 then 'reconstructed_backward' else 'stock' end
                    as followers_source,
                cast(5 + a % 3 * 3 as bigint) as followers_gained,
                cast(5 + 6 * cast(a = 1 as integer) as bigint) as followers_lost,
                cast(3 * (a % 3) - 6 * cast(a = 1 as integer)
                     + 494 * cast(a = 2 and t = 0 as integer) as bigint) as net_followers,
                cast(200 + 10 * a + (t * 37) % 50 as bigint) as views,
                cast(150 + 5 * a + (t * 13) % 30 as bigint) as reach,
                cast(1000 + a as bigint) as reach_7d,
                cast(4000 + a as bigint) as reach_28d,
                cast(20 + a + t % 7 as bigint) as engagements,
                cast(null as bigint) as watch_time_minutes,
                cast(cast(t % 3 = 0 as integer) as bigint) as posts_published,
                (20 + a + t % 7) / (200 + 10 * a + (t * 37) % 50) as engagement_rate_by_views,
                (20 + a + t % 7) / (1000 * (a + 1)) as engagement_rate_by_followers,
                (20 + a + t % 7) / (150 + 5 * a + (t * 13) % 30) as engagement_rate_by_reach,
                (1000 * (a + 1)) / 94000 * 1000 as followers_per_1000_residents
            from base
        """)
        con.execute("""
            create or replace table marts.fct_follower_growth_daily as
            select
                account_day_id, platform, account_id, metric_date, department, followers, is_estimated,
                followers_source, followers_gained, followers_lost, net_followers,
                cast(sum(net_followers) over w7 as bigint) as net_followers_7d,
                cast(sum(net_followers) over w28 as bigint) as net_followers_28d,
                cast(sum(net_followers) over w90 as bigint) as net_followers_90d,
                cast(null as double) as growth_rate_7d,
                (followers - lag(followers, 28) over w) / nullif(lag(followers, 28) over w, 0) as growth_rate_28d,
                cast(null as double) as growth_rate_90d,
                cast(null as double) as compound_weekly_growth_28d,
                views, reach, engagements, engagement_rate_by_views
            from marts.fct_account_daily
            window w as (partition by platform, account_id order by metric_date),
                   w7 as (partition by platform, account_id order by metric_date rows 6 preceding),
                   w28 as (partition by platform, account_id order by metric_date rows 27 preceding),
                   w90 as (partition by platform, account_id order by metric_date rows 89 preceding)
        """)
    finally:
        con.close()


def add_rows(path: Path, table: str, n: int) -> None:
    """Grow a mart by `n` copied rows (for successive publishes with different row counts)."""
    con = duckdb.connect(str(path))
    try:
        con.execute(f"insert into marts.{table} select * from marts.{table} limit {n}")
    finally:
        con.close()
