{#
    One row per platform x account x day that has at least one of the metrics below: the platform's
    own daily values of views, reach (unique viewers), engagements and watch time, and the
    platform's own rolling 7-day and 28-day unique reach where it delivers them. Reach is unique:
    it is never summed across days, accounts or posts downstream.

    Recipe per platform (latest observation of each, no breakdown):
      metric            facebook                        instagram                   youtube
      views             page_media_view                 views (total_value)         views
      reach             page_total_media_view_unique    reach (time_series)         -
      reach_7d          page_total_media_view_unique    reach, period week          -
                        period week
      reach_28d         ... period days_28              reach, period days_28       -
      engagements       page_post_engagements           total_interactions          likes + comments
                        (reactions, comments, shares,   (likes, comments, shares,   + shares
                        clicks on posts)                saves, replies)
      watch_time_min    -                               -                           estimatedMinutesWatched
      accounts_engaged  -                               accounts_engaged            -
    (period = 'day' unless said otherwise; the 7/28-day values at metric_date d cover d-6..d and
    d-27..d.)

    Incremental (delete+insert on platform, account_id, metric_date): a run re-pivots only the
    days with an input a load touched after the model's newest last_loaded_at (minus var
    observation_lookback_hours of slack); the earliest such day, computed first, bounds the scans.
#}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'account_id', 'metric_date'],
) }}
-- depends_on: {{ ref('base_youtube__observations') }}
{%- set watermark = incremental_watermark('last_loaded_at') %}
{%- set touched_since = observation_lookback_from(watermark) %}
{%- set touched_filter = touched_day_filter([
    [ref('stg_facebook__page_insights'), 'true'],
    [ref('stg_instagram__account_insights'), 'true'],
    [ref('base_youtube__observations'),
     "object_type = 'account' and metric_source = 'insights' and period = 'day'"],
], touched_since) %}

with

facebook_insights as (

    select * from {{ ref('stg_facebook__page_insights') }}
    where period in ('day', 'week', 'days_28')
        and dimension = ''
        and metric_name in (
            'page_media_view', 'page_total_media_view_unique', 'page_post_engagements'
        ){{ touched_filter }}

),

instagram_insights as (

    select * from {{ ref('stg_instagram__account_insights') }}
    where period in ('day', 'week', 'days_28')
        and dimension = ''
        and metric_name in ('views', 'reach', 'total_interactions', 'accounts_engaged'){{ touched_filter }}

),

youtube_daily as (

    select * from {{ ref('stg_youtube__channel_daily') }}
    where true{{ touched_filter }}

),

{# The recipe of the two Meta platforms (the table above): output column, the Facebook and the
   Instagram metric (none: the platform has none, NULL), and the period. #}
{%- set meta_recipe = [
    ['views', 'page_media_view', 'views', 'day'],
    ['reach', 'page_total_media_view_unique', 'reach', 'day'],
    ['reach_7d', 'page_total_media_view_unique', 'reach', 'week'],
    ['reach_28d', 'page_total_media_view_unique', 'reach', 'days_28'],
    ['engagements', 'page_post_engagements', 'total_interactions', 'day'],
    ['watch_time_minutes', none, none, 'day'],
    ['accounts_engaged', none, 'accounts_engaged', 'day'],
] %}
{%- for platform in ['facebook', 'instagram'] %}

{{ platform }}_daily as (

    select
        platform,
        account_id,
        metric_date,
        {%- for column, facebook_metric, instagram_metric, period in meta_recipe %}
        {%- set metric = facebook_metric if platform == 'facebook' else instagram_metric %}
        {%- if metric is none %}
        cast(null as bigint) as {{ column }},
        {%- else %}
        cast(max(metric_value) filter (
            where metric_name = '{{ metric }}' and period = '{{ period }}'
        ) as bigint) as {{ column }},
        {%- endif %}
        {%- endfor %}
        max(last_loaded_at) as last_loaded_at
    from {{ platform }}_insights
    group by platform, account_id, metric_date

),
{%- endfor %}

youtube_metrics_daily as (

    select
        platform,
        account_id,
        metric_date,
        views,
        cast(null as bigint) as reach,
        cast(null as bigint) as reach_7d,
        cast(null as bigint) as reach_28d,
        case
            when likes is not null or comments is not null or shares is not null
                then coalesce(likes, 0) + coalesce(comments, 0) + coalesce(shares, 0)
        end as engagements,
        watch_time_minutes,
        cast(null as bigint) as accounts_engaged,
        last_loaded_at
    from youtube_daily

),

unioned as (

    select * from facebook_daily
    union all
    select * from instagram_daily
    union all
    select * from youtube_metrics_daily

)

select * from unioned
{%- if watermark is not none %}
{# A day is re-pivoted when any of its inputs is newer than the watermark (its last_loaded_at is
   the newest of them). #}
where last_loaded_at > {{ touched_since }}
{%- endif %}
{{ clustered_by_day() }}
