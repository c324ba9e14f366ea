{#
    One row per platform x account x calendar day, from the account's first to its last observed
    day: followers (measured or reconstructed, flagged), the day's follower flows, rolling
    7/28/90-day net growth, 7/28/90-day growth rates and compound weekly growth over 28 days, and
    the day's views, reach and engagements. KPI definitions: models/_docs.md.
    Rolling windows are calendar windows over the dense day spine, NULL unless every day of the
    window has a known net_followers; growth rates compare with the total exactly N days earlier.

    Incremental (delete+insert on platform, account_id, metric_date): per account, a run rewrites
    the days from the earliest fct_account_daily day recomputed after this model's watermark
    (loaded_through_at), reading the 90 days before it for the windows.
#}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'account_id', 'metric_date'],
    post_hook=["{{ refresh_account_attributes(this, per_1000=false) }}"],
) }}
{%- set watermark = incremental_watermark() %}
{%- set longest_window_days = 90 %}
{# The earliest day any account reads, as a literal: pushes down to the scan. #}
{%- set read_from = day_bound(
    ref('fct_account_daily'), changed_after(watermark), 'min(metric_date) - ' ~ longest_window_days
) %}

with

account_daily_all as (

    {{ select_from_day(ref('fct_account_daily'), read_from) }}

),

rebuild_plan as (

    {{ rebuild_plan_of('account_daily_all', watermark=watermark) }}

),

account_daily as (

    {{ days_in_rebuild_plan('account_daily_all', days_before=longest_window_days) }}

),

windowed as (

    select
        *,
        {%- for days in [7, 28, 90] %}
        sum(net_followers) over last_{{ days }}_days as net_followers_{{ days }}d_sum,
        count(net_followers) over last_{{ days }}_days as net_followers_{{ days }}d_days,
        max(followers) over day_{{ days }}_earlier as followers_{{ days }}d_earlier{{ ',' if not loop.last }}
        {%- endfor %}
    from account_daily
    window
        {%- for days in [7, 28, 90] %}
        last_{{ days }}_days as (
            partition by platform, account_id
            order by metric_date
            range between interval {{ days - 1 }} days preceding and current row
        ),
        day_{{ days }}_earlier as (
            partition by platform, account_id
            order by metric_date
            range between interval {{ days }} days preceding and interval {{ days }} days preceding
        ){{ ',' if not loop.last }}
        {%- endfor %}

),

final as (

    select
        ---------- keys
        account_day_id,
        platform,
        account_id,
        metric_date,
        department,

        ---------- followers
        followers,
        is_estimated,
        followers_source,
        level_source,
        level_anchor_date,
        followers_max_error,
        followers_gained,
        followers_lost,
        net_followers,

        ---------- rolling growth
        {%- for days in [7, 28, 90] %}
        case
            when net_followers_{{ days }}d_days = {{ days }}
                then cast(net_followers_{{ days }}d_sum as bigint)
        end as net_followers_{{ days }}d,
        {%- endfor %}
        {%- for days in [7, 28, 90] %}
        (followers - followers_{{ days }}d_earlier)
            / nullif(followers_{{ days }}d_earlier, 0) as growth_rate_{{ days }}d,
        {%- endfor %}
        case
            when followers_28d_earlier > 0 and followers >= 0
                then power(followers / followers_28d_earlier, 1 / 4) - 1
        end as compound_weekly_growth_28d,

        ---------- reach and engagement
        views,
        reach,
        engagements,
        engagement_rate_by_views,

        ---------- lineage
        loaded_through_at

    from windowed
    where metric_date >= output_from

)

select * from final
{{ clustered_by_day() }}
