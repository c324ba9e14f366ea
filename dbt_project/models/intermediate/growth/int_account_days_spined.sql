{#
    One row per platform x account x calendar day, from the account's first to its last observed
    day (any daily insight or follower snapshot, every platform). Days inside that range with no
    observation at all are kept, so every daily model downstream is dense: windows over "the last
    N days" are calendar windows, and a missing day shows up as NULL flows instead of silently
    shortening a window.
#}

with

facebook_insights as (

    select * from {{ ref('stg_facebook__page_insights') }}

),

facebook_snapshots as (

    select * from {{ ref('stg_facebook__page_snapshots') }}

),

instagram_insights as (

    select * from {{ ref('stg_instagram__account_insights') }}

),

instagram_snapshots as (

    select * from {{ ref('stg_instagram__account_snapshots') }}

),

youtube_daily as (

    select * from {{ ref('stg_youtube__channel_daily') }}

),

youtube_snapshots as (

    select * from {{ ref('stg_youtube__channel_snapshots') }}

),

snapchat_snapshots as (

    select * from {{ ref('stg_snapchat__profile_snapshots') }}

),

observed_days as (

    select platform, account_id, metric_date from facebook_insights where period = 'day'
    union all
    select platform, account_id, metric_date from facebook_snapshots
    union all
    select platform, account_id, metric_date from instagram_insights where period = 'day'
    union all
    select platform, account_id, metric_date from instagram_snapshots
    union all
    select platform, account_id, metric_date from youtube_daily
    union all
    select platform, account_id, metric_date from youtube_snapshots
    union all
    select platform, account_id, metric_date from snapchat_snapshots

),

account_date_ranges as (

    select
        platform,
        account_id,
        min(metric_date) as first_metric_date,
        max(metric_date) as last_metric_date
    from observed_days
    group by platform, account_id

),

spined as (

    select
        account_date_ranges.platform,
        account_date_ranges.account_id,
        cast(calendar_day.day_start as date) as metric_date
    from account_date_ranges
    cross join lateral generate_series(
        account_date_ranges.first_metric_date,
        account_date_ranges.last_metric_date,
        interval 1 day
    ) as calendar_day (day_start)

)

select * from spined
