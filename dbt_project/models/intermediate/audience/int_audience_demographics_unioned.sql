{#
    One row per platform x account x snapshot day x audience type x age group x gender: the
    platforms' age/gender breakdowns on one vocabulary.

    audience_type and recipe:
      followers         instagram follower_demographics (lifetime, age,gender): a count of followers
      engaged_audience  instagram engaged_audience_demographics (lifetime, age,gender): a count of
                        accounts that engaged
      viewers           youtube viewerPercentage (ageGroup,gender, 28 days ending metric_date): a
                        share of the channel's views; no count (audience_count NULL)
    Age groups are mapped to the registry's labels ('13-17', '18-24', ..., '65+'; YouTube
    'age18-24' -> '18-24', 'age65-' -> '65+'). Gender: F/female -> female, M/male -> male,
    U/user_specified -> unknown. Shares are computed in fct_audience_demographics, after its
    incremental filter (no window here, so filters on the key push down to staging).

    Incremental (delete+insert on the cell): a run re-derives only the cells with an input a load
    touched after the model's newest last_loaded_at (minus var observation_lookback_hours of
    slack); the earliest such day, computed first, bounds the scans.
#}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'account_id', 'metric_date', 'audience_type', 'age_group', 'gender'],
) }}
{%- set watermark = incremental_watermark('last_loaded_at') %}
{%- set touched_since = observation_lookback_from(watermark) %}
{%- set touched_filter = touched_day_filter([
    [ref('stg_instagram__account_insights'), 'true'],
    [ref('stg_youtube__channel_demographics'), 'true'],
], touched_since) %}

with

instagram_insights as (

    select * from {{ ref('stg_instagram__account_insights') }}
    where metric_name in ('follower_demographics', 'engaged_audience_demographics')
        and dimension = 'age,gender'{{ touched_filter }}

),

youtube_demographics as (

    select * from {{ ref('stg_youtube__channel_demographics') }}
    where true{{ touched_filter }}

),

instagram_rows as (

    select
        platform,
        account_id,
        metric_date,
        case metric_name
            when 'follower_demographics' then 'followers'
            else 'engaged_audience'
        end as audience_type,
        split_part(dimension_value, ',', 1) as age_group_as_delivered,
        split_part(dimension_value, ',', 2) as gender_as_delivered,
        cast(metric_value as bigint) as audience_count,
        cast(null as double) as audience_percentage,
        observed_at,
        last_loaded_at
    from instagram_insights

),

youtube_rows as (

    select
        platform,
        account_id,
        metric_date,
        'viewers' as audience_type,
        age_group_as_delivered,
        gender_as_delivered,
        cast(null as bigint) as audience_count,
        viewer_percentage as audience_percentage,
        observed_at,
        last_loaded_at
    from youtube_demographics

),

unioned as (

    select * from instagram_rows
    union all
    select * from youtube_rows

),

canonical as (

    select
        *,
        replace(
            case
                when age_group_as_delivered like 'age%'
                    then substr(age_group_as_delivered, 4)
                else age_group_as_delivered
            end,
            '65-', '65+'
        ) as age_group,
        case lower(gender_as_delivered)
            when 'f' then 'female'
            when 'female' then 'female'
            when 'm' then 'male'
            when 'male' then 'male'
            else 'unknown'
        end as gender
    from unioned

),

{# Two delivered values can map to one canonical cell (none do today); add them up. #}
aggregated as (

    select
        platform,
        account_id,
        metric_date,
        audience_type,
        age_group,
        gender,
        string_agg(distinct age_group_as_delivered || ',' || gender_as_delivered, ';')
            as breakdown_as_delivered,
        cast(sum(audience_count) as bigint) as audience_count,
        sum(audience_percentage) as audience_percentage,
        max(observed_at) as observed_at,
        max(last_loaded_at) as last_loaded_at
    from canonical
    group by platform, account_id, metric_date, audience_type, age_group, gender

)

select * from aggregated
{%- if watermark is not none %}
{# A cell is re-derived when any of its inputs is newer than the watermark. #}
where last_loaded_at > {{ touched_since }}
{%- endif %}
{{ clustered_by_day() }}
