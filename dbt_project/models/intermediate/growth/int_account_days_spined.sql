{#
    One row per platform x account x calendar day, from the account's first to its last observed
    day (any daily insight or follower snapshot, every platform). Days inside that range with no
    observation at all are kept, so every daily model downstream is dense: windows over "the last
    N days" are calendar windows, and a missing day shows up as NULL flows instead of silently
    shortening a window.

    Incremental (append): observed days only ever widen an account's range, so a run takes the
    accounts with a daily input a load touched after the model's watermark (loaded_through_at,
    minus var observation_lookback_hours of slack), widens their range with the days already held
    and appends the days not yet in the spine. Readers get a stored table instead of re-deriving
    the ranges from every observation.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
) }}
{%- set watermark = incremental_watermark() %}

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

    select platform, account_id, metric_date, last_loaded_at from facebook_insights
    where period = 'day'
    union all
    select platform, account_id, metric_date, last_loaded_at from facebook_snapshots
    union all
    select platform, account_id, metric_date, last_loaded_at from instagram_insights
    where period = 'day'
    union all
    select platform, account_id, metric_date, last_loaded_at from instagram_snapshots
    union all
    select platform, account_id, metric_date, last_loaded_at from youtube_daily
    union all
    select platform, account_id, metric_date, last_loaded_at from youtube_snapshots
    union all
    select platform, account_id, metric_date, last_loaded_at from snapchat_snapshots

),

{% if watermark is not none -%}
{# Days observed since the watermark, and the range each touched account already has. #}
new_days as (

    select platform, account_id, metric_date from observed_days
    where last_loaded_at > {{ watermark }} - interval {{ var('observation_lookback_hours') }} hour

),

range_inputs as (

    select platform, account_id, metric_date from new_days
    union all
    select existing.platform, existing.account_id, existing.metric_date
    from {{ this }} as existing
    semi join (select distinct platform, account_id from new_days) as touched_accounts
        using (platform, account_id)

),
{%- else -%}
range_inputs as (

    select platform, account_id, metric_date from observed_days

),
{%- endif %}

account_date_ranges as (

    select
        platform,
        account_id,
        min(metric_date) as first_metric_date,
        max(metric_date) as last_metric_date
    from range_inputs
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

),

final as (

    select
        spined.platform,
        spined.account_id,
        spined.metric_date,
        {{ loaded_through_at() }} as loaded_through_at
    from spined
    {%- if watermark is not none %}
    anti join {{ this }} as existing
        using (platform, account_id, metric_date)
    {%- endif %}

)

select * from final
