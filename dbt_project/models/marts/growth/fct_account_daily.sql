{#
    One row per platform x account x calendar day (the dense spine, from the account's first to its
    last observed day) across all platforms: followers and flows, views, reach, engagements, posts
    published, engagement rates and followers per 1,000 residents. KPI definitions: models/_docs.md;
    the per-platform recipes: int_followers_daily_reconstructed, int_account_metrics_daily,
    int_post_metrics_pivoted.

    Incremental (delete+insert on platform, account_id, metric_date): per account, a run rewrites
    the days from the earliest one that changed after the model's watermark (loaded_through_at):
    days the follower reconstruction rewrote, days whose metrics or posts a newer load touched,
    and always the account's last var daily_lookback_days days. Slowly changing attributes
    (department, population) are refreshed in place on all rows by post-hooks, only where they
    differ.
#}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'account_id', 'metric_date'],
    post_hook=[
        "{{ refresh_account_attributes(this) }}",
    ],
) }}
-- depends_on: {{ ref('base_facebook__observations') }}
-- depends_on: {{ ref('base_instagram__observations') }}
-- depends_on: {{ ref('base_youtube__observations') }}
{%- set watermark = incremental_watermark() %}
{%- set first_touched_date = none %}
{%- if watermark is not none and execute %}
    {# The earliest day any input changed: bounds every history read below (pushed to scans). #}
    {%- set first_touched_query -%}
        select least(
            coalesce((
                select min(metric_date) from {{ ref('int_followers_daily_reconstructed') }}
                where loaded_through_at > {{ watermark }}
            ), date '9999-12-31'),
            {%- for platform in ['facebook', 'instagram', 'youtube'] %}
            coalesce((
                select min(metric_date) from {{ ref('base_' ~ platform ~ '__observations') }}
                where object_type = 'account' and last_loaded_at > {{ watermark }}
            ), date '9999-12-31'),
            {%- endfor %}
            coalesce((
                select min(published_platform_date) from {{ ref('int_posts_unioned') }}
                where last_loaded_at > {{ watermark }}
            ), date '9999-12-31'),
            coalesce((
                select min(last_metric_date) - {{ var('daily_lookback_days') - 1 }}
                from (
                    select max(metric_date) as last_metric_date from {{ this }}
                    group by platform, account_id
                )
            ), date '9999-12-31')
        )
    {%- endset %}
    {%- set first_touched_date = run_query(first_touched_query).rows[0][0] %}
{%- endif %}

with

account_days_spined as (

    {{ select_from_day(ref('int_account_days_spined'), first_touched_date) }}

),

followers_daily as (

    {{ select_from_day(ref('int_followers_daily_reconstructed'), first_touched_date) }}

),

metrics_daily as (

    {{ select_from_day(ref('int_account_metrics_daily'), first_touched_date) }}

),

posts as (

    select * from {{ ref('int_posts_unioned') }}

),

registry_accounts as (

    select * from {{ ref('stg_registry__accounts') }}

),

organisation as (

    select * from {{ ref('stg_registry__organisation') }}

),

posts_published_daily as (

    select
        platform,
        account_id,
        published_platform_date as metric_date,
        count(*) as posts_published
    from posts
    {%- if first_touched_date is not none %}
    {# Any time zone's day starts less than a day before UTC midnight: the first bound pushes down
       to the listing tables, the second is exact. #}
    where published_at >= timestamptz '{{ first_touched_date }} 00:00:00+00' - interval 1 day
        and published_platform_date >= date '{{ first_touched_date }}'
    {%- endif %}
    group by platform, account_id, published_platform_date

),

{% if watermark is not none -%}
touched_days as (

    {{ touched_account_days([
        ['followers_daily', 'loaded_through_at', 'metric_date'],
        'metrics_daily',
        ['posts', 'last_loaded_at', 'published_platform_date'],
    ], watermark) }}

),
{%- endif %}

{# Per account, the first day to write: its first day (a full build) or first touched day. #}
rebuild_plan as (

    {{ rebuild_plan_of('account_days_spined' if watermark is none else 'touched_days') }}

),

account_days as (

    {{ days_in_rebuild_plan('account_days_spined') }}

),

{# Accounts whose content is ingested: a day without a post is 0 posts, not unknown. #}
accounts_with_posts as (

    select distinct platform, account_id from posts

),

joined as (

    select
        account_days.platform,
        account_days.account_id,
        account_days.metric_date,
        registry_accounts.department,
        followers_daily.followers,
        followers_daily.is_estimated,
        followers_daily.followers_source,
        followers_daily.level_source,
        followers_daily.level_anchor_date,
        followers_daily.followers_max_error,
        followers_daily.followers_gained,
        followers_daily.followers_lost,
        followers_daily.net_followers,
        metrics_daily.views,
        metrics_daily.reach,
        metrics_daily.reach_7d,
        metrics_daily.reach_28d,
        metrics_daily.engagements,
        metrics_daily.watch_time_minutes,
        case
            when accounts_with_posts.account_id is not null
                then coalesce(posts_published_daily.posts_published, 0)
        end as posts_published,
        organisation.population
    from account_days
    left join followers_daily using (platform, account_id, metric_date)
    left join metrics_daily using (platform, account_id, metric_date)
    left join posts_published_daily using (platform, account_id, metric_date)
    left join accounts_with_posts using (platform, account_id)
    left join registry_accounts using (platform, account_id)
    left join organisation
        on true

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['platform', 'account_id', 'metric_date']) }} as account_day_id,
        platform,
        account_id,
        metric_date,
        department,

        ---------- followers (a stock: never summed over days)
        followers,
        coalesce(is_estimated, true) as is_estimated,
        followers_source,
        coalesce(level_source, 'unknown') as level_source,
        level_anchor_date,
        followers_max_error,
        followers_gained,
        followers_lost,
        net_followers,

        ---------- reach, views, engagement (reach is unique: never summed)
        views,
        reach,
        reach_7d,
        reach_28d,
        engagements,
        watch_time_minutes,
        cast(posts_published as bigint) as posts_published,

        ---------- rates
        engagements / nullif(views, 0) as engagement_rate_by_views,
        engagements / nullif(followers, 0) as engagement_rate_by_followers,
        engagements / nullif(reach, 0) as engagement_rate_by_reach,
        followers * 1000 / nullif(population, 0) as followers_per_1000_residents,

        ---------- lineage
        {{ loaded_through_at() }} as loaded_through_at

    from joined

)

select * from final
{{ clustered_by_day() }}
