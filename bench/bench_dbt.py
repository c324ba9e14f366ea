"""dbt figures (issue 6): `dbt build` time, full and incremental, on a synthetic warehouse.

Writes a synthetic raw layer straight into a fresh DuckDB file (no sandbox, no HTTP): N accounts
(45 % Facebook, 45 % Instagram, 10 % YouTube) with D days of daily insights ending 2026-11-18, the
last 60 days of nightly snapshots and Instagram/YouTube demographics, a post every other day per
Meta account with lifetime insights one and seven days after publication. The history up to a week
ago arrives in a backfill load committed a week ago, the last 7 days in last night's load (the
steady state of a nightly pipeline). Follower totals and flows agree, so every dbt test passes.

Then, per history length:
  1. full build: `dbt build` on the fresh warehouse (every incremental model from scratch);
  2. nightly: append one night's load (a new day for every account, the previous 6 days
     re-fetched with restated views, new posts and post snapshots) and `dbt build` again
     (incremental models process only what arrived).
The nightly figure is measured for the long history and for one week of history; their ratio is
how much the nightly transform grows with history (target <= 1.5).

    .venv/bin/python -m bench.bench_dbt [--accounts 170] [--days 730] [--threads 4]

Prints JSON (and writes bench/results/bench_dbt.json) and a table; never a pass/fail test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import figure, peak_rss_mib, write_results

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"
END = date(2026, 11, 18)
SNAPSHOT_DAYS = 60
POPULATION_BY_AGE = {
    "0-12": 13900, "13-17": 5600, "18-24": 8300, "25-34": 13200, "35-44": 12400, "45-54": 12100, "55-64": 11000,
    "65+": 17500,
}  # fmt: skip
_OBSERVATION_COLUMNS = (
    "load_id, response_id, platform, account_id, object_type, object_id, source, metric_name, period, metric_type, "
    "dimension, dimension_value, metric_date, end_time, value, observed_at"
)


def _accounts_sql(n_accounts: int) -> str:
    """A `bench_accounts` table: platform, account_id, department, base followers."""
    return f"""
        create or replace temp table bench_accounts as
        select
            case when i % 20 < 9 then 'facebook' when i % 20 < 18 then 'instagram' else 'youtube' end as platform,
            case
                when i % 20 < 9 then cast(100000000000000 + i as varchar)
                when i % 20 < 18 then cast(17841400000000000 + i as varchar)
                else 'UC' || lpad(cast(i as varchar), 22, '0')
            end as account_id,
            'department ' || (i % 8) as department,
            1000 + (hash(i) % 50000) as base_followers
        from range({n_accounts}) as accounts (i)
    """


def _series_sql(start: date, last: date) -> str:
    """`bench_days`: every account x day start..last with consistent flows and totals."""
    return f"""
        create or replace temp table bench_days as
        with days as (
            select
                bench_accounts.*,
                cast(day_start as date) as metric_date,
                cast(2 + hash(account_id, day_start) % 9 as bigint) as gained,
                cast(hash(account_id, day_start, 'lost') % 5 as bigint) as lost,
                cast(200 + hash(account_id, day_start, 'views') % 2000 as bigint) as views
            from bench_accounts
            cross join generate_series(date '{start}', date '{last}', interval 1 day) as calendar (day_start)
        )
        select
            *,
            base_followers + sum(gained - lost) over (
                partition by account_id order by metric_date rows between unbounded preceding and current row
            ) as followers
        from days
    """


def _insert_day_metrics(con, load_id: str, observed_at: str, first: date, last: date, views_bump: int) -> None:
    """Daily insights of every account for first..last (views + views_bump: a restatement)."""
    common = f"'{load_id}', '{load_id}-' || platform || '-' || account_id, platform, account_id, 'account', account_id"
    end_time = "cast(metric_date + 1 as timestamp) at time zone 'America/Los_Angeles'"
    where = f"metric_date between date '{first}' and date '{last}'"
    con.execute(f"""
        insert into raw.observations ({_OBSERVATION_COLUMNS})
        select {common}, 'insights', metric.name, 'day', 'time_series', '', '', metric_date, {end_time},
            metric.value, timestamptz '{observed_at}'
        from bench_days
        cross join unnest([
            {{'name': 'page_follows', 'value': followers}},
            {{'name': 'page_daily_follows_unique', 'value': gained}},
            {{'name': 'page_daily_unfollows_unique', 'value': lost}},
            {{'name': 'page_media_view', 'value': views + {views_bump}}},
            {{'name': 'page_total_media_view_unique', 'value': views // 2}},
            {{'name': 'page_post_engagements', 'value': views // 20}}
        ]) as metrics (metric)
        where platform = 'facebook' and {where}
        union all
        select {common}, 'insights', metric.name, 'day', metric.metric_type, metric.dimension, metric.dimension_value,
            metric_date, case when metric.metric_type = 'time_series' then {end_time} end, metric.value,
            timestamptz '{observed_at}'
        from bench_days
        cross join unnest([
            {{'name': 'follows_and_unfollows', 'metric_type': 'total_value', 'dimension': 'follow_type',
              'dimension_value': 'FOLLOWER', 'value': gained}},
            {{'name': 'follows_and_unfollows', 'metric_type': 'total_value', 'dimension': 'follow_type',
              'dimension_value': 'NON_FOLLOWER', 'value': lost}},
            {{'name': 'reach', 'metric_type': 'time_series', 'dimension': '', 'dimension_value': '',
              'value': views // 2}},
            {{'name': 'views', 'metric_type': 'total_value', 'dimension': '', 'dimension_value': '',
              'value': views + {views_bump}}},
            {{'name': 'total_interactions', 'metric_type': 'total_value', 'dimension': '', 'dimension_value': '',
              'value': views // 20}}
        ]) as metrics (metric)
        where platform = 'instagram' and {where}
        union all
        select {common}, 'insights', metric.name, 'day', 'time_series', '', '', metric_date, null, metric.value,
            timestamptz '{observed_at}'
        from bench_days
        cross join unnest([
            {{'name': 'subscribersGained', 'value': gained}},
            {{'name': 'subscribersLost', 'value': lost}},
            {{'name': 'views', 'value': views + {views_bump}}},
            {{'name': 'estimatedMinutesWatched', 'value': views * 3}},
            {{'name': 'likes', 'value': views // 30}},
            {{'name': 'comments', 'value': views // 200}},
            {{'name': 'shares', 'value': views // 400}}
        ]) as metrics (metric)
        where platform = 'youtube' and {where}
    """)


def _insert_snapshots(con, load_id: str, observed_at: str, first: date, last: date) -> None:
    """Nightly node snapshots and lifetime demographics for first..last."""
    common = f"'{load_id}', '{load_id}-' || platform || '-' || account_id, platform, account_id, 'account', account_id"
    where = f"metric_date between date '{first}' and date '{last}'"
    con.execute(f"""
        insert into raw.observations ({_OBSERVATION_COLUMNS})
        select {common}, 'node',
            case platform when 'youtube' then 'subscriberCount' else 'followers_count' end,
            'snapshot', 'node', '', '', metric_date, null,
            case platform
                when 'youtube' then round(followers, 2 - cast(floor(log10(followers)) as integer))
                else followers
            end,
            timestamptz '{observed_at}'
        from bench_days
        where {where}
        union all
        select {common}, 'insights', 'follower_demographics', 'lifetime', 'total_value', 'age,gender',
            age || ',' || gender, metric_date, null, 1 + hash(account_id, metric_date, age, gender) % 300,
            timestamptz '{observed_at}'
        from bench_days
        cross join unnest(['13-17', '18-24', '25-34', '35-44', '45-54', '55-64', '65+']) as ages (age)
        cross join unnest(['F', 'M', 'U']) as genders (gender)
        where platform = 'instagram' and {where}
        union all
        select {common}, 'insights', 'viewerPercentage', 'days_28', 'time_series', 'ageGroup,gender',
            'age' || replace(age, '+', '-') || ',' || gender, metric_date, null, 100 / 14,
            timestamptz '{observed_at}'
        from bench_days
        cross join unnest(['13-17', '18-24', '25-34', '35-44', '45-54', '55-64', '65+']) as ages (age)
        cross join unnest(['female', 'male']) as genders (gender)
        where platform = 'youtube' and {where}
    """)


def _insert_posts(con, load_id: str, observed_at: str, first: date, last: date, as_of: date) -> None:
    """A post every other day per Meta account published first..last, with lifetime snapshots one and seven
    days after publication (those up to as_of)."""
    con.execute(f"""
        create or replace temp table bench_posts as
        select
            platform, account_id,
            case platform when 'facebook' then 'post' else 'media' end as object_type,
            account_id || '_' || strftime(metric_date, '%Y%m%d') as object_id,
            cast(metric_date as timestamp) + interval 17 hour as published_at,
            metric_date, views
        from bench_days
        where platform in ('facebook', 'instagram')
            and metric_date between date '{first}' and date '{last}'
            and (hash(account_id) % 2 + (metric_date - date '2000-01-01')) % 2 = 0
    """)
    con.execute(f"""
        insert into raw.objects (load_id, response_id, platform, account_id, object_type, object_id, published_at,
            content_type, product_type, permalink, caption, observed_at)
        select '{load_id}', '{load_id}-posts', platform, account_id, object_type, object_id, published_at,
            'IMAGE', case platform when 'instagram' then 'FEED' end, 'https://example.test/' || object_id,
            'caption', timestamptz '{observed_at}'
        from bench_posts
    """)
    con.execute(f"""
        insert into raw.observations ({_OBSERVATION_COLUMNS})
        select '{load_id}', '{load_id}-post', platform, account_id, object_type, object_id, 'insights',
            case platform
                when 'facebook' then ['post_media_view', 'post_total_media_view_unique', 'post_clicks'][metric_index]
                else ['views', 'reach', 'total_interactions'][metric_index]
            end,
            'lifetime', 'time_series', '', '', metric_date + age_days, null,
            views * age_days / (metric_index * 3), timestamptz '{observed_at}'
        from bench_posts
        cross join unnest([1, 7]) as ages (age_days)
        cross join unnest([1, 2, 3]) as metric_indexes (metric_index)
        where metric_date + age_days <= date '{as_of}'
    """)


def write_warehouse(path: Path, n_accounts: int, n_days: int) -> None:
    """A fresh warehouse with n_days of history ending END, as it looks after nightly runs: the history
    up to END-7 was loaded (backfilled) a week ago, the last 7 days by last night's run."""
    sys.path.insert(0, str(REPO))
    from ingestion.load.warehouse import connect

    start = END - timedelta(days=n_days - 1)
    recent = END - timedelta(days=6)
    con = connect(path)
    try:
        con.execute(_accounts_sql(n_accounts))
        con.execute(_series_sql(start, END + timedelta(days=1)))
        backfill_at = f"{recent} 11:00:00+00"
        last_night_at = f"{END + timedelta(days=1)} 11:00:00+00"
        snapshots_from = max(start, END - timedelta(days=SNAPSHOT_DAYS - 1))
        if start < recent:
            _insert_day_metrics(con, "B0", backfill_at, start, recent - timedelta(days=1), 0)
            if snapshots_from < recent:
                _insert_snapshots(con, "B0", backfill_at, snapshots_from, recent - timedelta(days=1))
            _insert_posts(con, "B0", backfill_at, start, recent - timedelta(days=1), recent - timedelta(days=1))
        _insert_day_metrics(con, "B1", last_night_at, max(start, recent), END, 1)
        _insert_snapshots(con, "B1", last_night_at, max(snapshots_from, recent), END)
        _insert_posts(con, "B1", last_night_at, max(start, recent), END, END)
        con.execute(f"""
            insert into raw.accounts (platform, account_id, name, department, audience, active_from,
                active_until, linked_account_id, loaded_at)
            select platform, account_id, 'Account ' || account_id, department, ['all'], null, null, null,
                timestamptz '{last_night_at}'
            from bench_accounts
        """)
        con.execute(
            "insert into raw.organisation (name, timezone, population, population_by_age, loaded_at)"
            " values ('Bench kommun', 'Europe/Stockholm', 94000, ?, ?)",
            [json.dumps(POPULATION_BY_AGE), last_night_at],
        )
        con.execute(f"""
            insert into raw.loads (load_id, run_id, started_at, committed_at, status, n_responses,
                n_observations, n_accounts, business_date_min, business_date_max)
            values
                ('B0', 'bench', timestamptz '{backfill_at}', timestamptz '{backfill_at}', 'committed', 0, 0,
                 {n_accounts}, date '{start}', date '{recent - timedelta(days=1)}'),
                ('B1', 'bench', timestamptz '{last_night_at}', timestamptz '{last_night_at}', 'committed', 0, 0,
                 {n_accounts}, date '{recent}', date '{END}')
        """)
    finally:
        con.close()


def append_night(path: Path, k: int = 1) -> int:
    """Night k's load (k = 1: the first night after END): day END+k for every account, the 6 days
    before it re-fetched (views restated), new posts."""
    from ingestion.load.warehouse import connect

    night = END + timedelta(days=k)
    observed_at = f"{night + timedelta(days=1)} 11:00:00+00"
    load_id = f"N{k}"
    con = connect(path)
    try:
        before = con.sql("select count(*) from raw.observations").fetchall()[0][0]
        con.execute(_accounts_sql(int(con.sql("select count(*) from raw.accounts").fetchall()[0][0])))
        first_day = con.sql("select min(metric_date) from raw.observations").fetchall()[0][0]
        con.execute(_series_sql(first_day, night))
        _insert_day_metrics(con, load_id, observed_at, night - timedelta(days=6), night, k + 1)
        _insert_snapshots(con, load_id, observed_at, night, night)
        _insert_posts(con, load_id, observed_at, night, night, night + timedelta(days=1))
        con.execute(f"""
            insert into raw.loads (load_id, run_id, started_at, committed_at, status, n_responses,
                n_observations, n_accounts, business_date_min, business_date_max)
            values ('{load_id}', 'bench', timestamptz '{observed_at}', timestamptz '{observed_at}', 'committed', 0, 0,
                    0, date '{night - timedelta(days=6)}', date '{night}')
        """)
        return con.sql("select count(*) from raw.observations").fetchall()[0][0] - before
    finally:
        con.close()


def dbt_build(warehouse: Path, work_dir: Path, threads: int) -> tuple[float, float]:
    """`dbt build` the whole project; returns wall and CPU (user + system) seconds of dbt and its
    DuckDB threads (raises when dbt fails). CPU seconds are the steadier figure on a busy machine.
    The build's peak RSS (MiB) and its slowest nodes are left in LAST_BUILD."""
    env = {**os.environ, "SOCIALPULSE_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = Path(sys.executable).with_name("dbt")
    command = [
        str(dbt), "build", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"), "--threads", str(threads),
    ]  # fmt: skip
    started = time.perf_counter()
    with open(work_dir / "dbt_stdout.log", "w") as out:
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this build's own rusage (peak RSS, CPU)
        proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{(work_dir / 'dbt_stdout.log').read_text()[-4000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    LAST_BUILD.clear()
    LAST_BUILD.update(peak_rss_mib=round(usage.ru_maxrss / 1024, 1), slowest_nodes=_slowest_nodes(work_dir))
    return seconds, cpu


LAST_BUILD: dict = {}


def _slowest_nodes(work_dir: Path, top: int = 8) -> list[list]:
    """The build's slowest nodes from dbt's run_results.json: [name, seconds]."""
    path = work_dir / "target" / "run_results.json"
    if not path.exists():
        return []
    results = json.loads(path.read_text(encoding="utf-8"))["results"]
    ranked = sorted(results, key=lambda r: r.get("execution_time") or 0.0, reverse=True)[:top]
    return [[r["unique_id"].split(".")[-1][:90], round(r.get("execution_time") or 0.0, 2)] for r in ranked]


# Nights after the first at which the steady-state nightly is measured: by then the grain tests'
# recent window (var data_test_recent_days = 3) no longer reaches the rows the full build stamped.
STEADY_NIGHT = 4


def measure(n_accounts: int, n_days: int, threads: int, work_root: Path, steady: bool = True) -> dict[str, Any]:
    """Full build, then one nightly load and an incremental build, on a fresh warehouse (the
    protocol figure: the first nightly after the full build). With `steady`, nights 2..STEADY_NIGHT
    follow, each with its incremental build, and the last is reported as the steady-state nightly
    (the first nightlies after a full build still re-test every row it stamped)."""
    work_dir = work_root / f"a{n_accounts}-d{n_days}"
    work_dir.mkdir()
    warehouse = work_dir / "warehouse.duckdb"
    started = time.perf_counter()
    write_warehouse(warehouse, n_accounts, n_days)
    generate_seconds = time.perf_counter() - started
    full, full_cpu = dbt_build(warehouse, work_dir, threads)
    full_build = dict(LAST_BUILD)
    appended = append_night(warehouse)
    nightly, nightly_cpu = dbt_build(warehouse, work_dir, threads)
    nightly_build = dict(LAST_BUILD)
    steady_result: dict[str, Any] = {}
    if steady:
        for k in range(2, STEADY_NIGHT + 1):
            append_night(warehouse, k)
            steady_s, steady_cpu = dbt_build(warehouse, work_dir, threads)
        steady_result = {"steady_nightly_s": steady_s, "steady_nightly_cpu_s": steady_cpu,
                         "steady_nightly_peak_rss_mib": LAST_BUILD["peak_rss_mib"],
                         "steady_nightly_slowest_nodes": LAST_BUILD["slowest_nodes"]}
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        raw_rows = con.sql("select count(*) from raw.observations").fetchall()[0][0]
        mart_rows = con.sql("select count(*) from marts.fct_account_daily").fetchall()[0][0]
    finally:
        con.close()
    return {
        "generate_s": generate_seconds,
        "full_s": full,
        "nightly_s": nightly,
        "full_cpu_s": full_cpu,
        "nightly_cpu_s": nightly_cpu,
        "raw_observations": raw_rows,
        "nightly_observations": appended,
        "account_days": mart_rows,
        "warehouse_mib": warehouse.stat().st_size / 2**20,
        "full_peak_rss_mib": full_build["peak_rss_mib"],
        "nightly_peak_rss_mib": nightly_build["peak_rss_mib"],
        "full_slowest_nodes": full_build["slowest_nodes"],
        "nightly_slowest_nodes": nightly_build["slowest_nodes"],
        **steady_result,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=170)
    parser.add_argument("--days", type=int, default=730, help="long history (the short one is 7 days)")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as tmp:
        long_run = measure(args.accounts, args.days, args.threads, Path(tmp))
        short_run = measure(args.accounts, 7, args.threads, Path(tmp))
    label = f"{args.accounts} accounts"
    figures = [
        figure(f"dbt build, full, {args.days} days x {label}", long_run["full_s"], "s",
               cpu_s=round(long_run["full_cpu_s"], 1), raw_observations=long_run["raw_observations"],
               account_days=long_run["account_days"], warehouse_mib=round(long_run["warehouse_mib"], 1)),
        figure(f"dbt build, nightly incremental, {args.days} days of history", long_run["nightly_s"], "s",
               cpu_s=round(long_run["nightly_cpu_s"], 1), nightly_observations=long_run["nightly_observations"],
               slowest_nodes=long_run["nightly_slowest_nodes"]),
        figure("dbt build, full, 7 days of history", short_run["full_s"], "s",
               cpu_s=round(short_run["full_cpu_s"], 1), raw_observations=short_run["raw_observations"]),
        figure("dbt build, nightly incremental, 7 days of history", short_run["nightly_s"], "s",
               cpu_s=round(short_run["nightly_cpu_s"], 1), nightly_observations=short_run["nightly_observations"]),
        figure(f"nightly ratio {args.days} days / 7 days of history (wall)",
               long_run["nightly_s"] / short_run["nightly_s"], "x", target="<= 1.5"),
        figure(f"nightly ratio {args.days} days / 7 days of history (CPU)",
               long_run["nightly_cpu_s"] / short_run["nightly_cpu_s"], "x", target="<= 1.5"),
        figure("synthetic warehouse generation (long history)", long_run["generate_s"], "s"),
        figure(f"dbt build, steady-state nightly (night {STEADY_NIGHT}), {args.days} days of history",
               long_run["steady_nightly_s"], "s", cpu_s=round(long_run["steady_nightly_cpu_s"], 1),
               slowest_nodes=long_run["steady_nightly_slowest_nodes"]),
        figure(f"dbt build, steady-state nightly (night {STEADY_NIGHT}), 7 days of history",
               short_run["steady_nightly_s"], "s", cpu_s=round(short_run["steady_nightly_cpu_s"], 1)),
        figure(f"steady-state nightly ratio {args.days} days / 7 days of history (wall)",
               long_run["steady_nightly_s"] / short_run["steady_nightly_s"], "x", target="<= 1.5",
               cpu_ratio=round(long_run["steady_nightly_cpu_s"] / short_run["steady_nightly_cpu_s"], 2)),
        figure(f"dbt peak RSS, full build, {args.days} days", long_run["full_peak_rss_mib"], "MiB"),
        figure(f"dbt peak RSS, nightly incremental, {args.days} days", long_run["nightly_peak_rss_mib"], "MiB"),
    ]  # fmt: skip
    write_results(
        f"bench_dbt_{args.accounts}" if args.accounts != 170 else "bench_dbt",
        figures,
        {
            "accounts": args.accounts,
            "days": args.days,
            "threads": args.threads,
            "end": str(END),
            "peak_rss_mib": peak_rss_mib(children=True),
            "duckdb_memory_limit": os.environ.get("SOCIALPULSE_DUCKDB_MEMORY_LIMIT", "3GiB (profiles.yml default)"),
            "duckdb_threads": os.environ.get("SOCIALPULSE_DUCKDB_THREADS", "2 (profiles.yml default)"),
        },
    )


if __name__ == "__main__":
    main()
