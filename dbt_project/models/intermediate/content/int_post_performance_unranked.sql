{#
    One row per published object (Facebook post, Instagram media): everything
    fct_post_performance shows except the ranks, i.e. metadata, the latest lifetime metrics
    (recipe: int_post_metrics_pivoted), engagement rates, and when it was published in the
    organisation's local time (Europe/Stockholm from the registry) for weekday x hour analysis.

    metric_date is the snapshot day of the lifetime metrics (their "as of" day); the post's rate
    by followers uses the account's followers at the end of that day (the end of the period the
    lifetime values cover).

    Incremental (delete+insert on platform, object_id): a run rewrites the objects whose listing or
    insights a load touched after the model's newest last_loaded_at, or whose stored
    account_followers differs from the account's followers on metric_date in the
    fct_account_daily rows recomputed since; a post-hook (refresh_account_attributes) keeps the
    registry's current department on the rows a run did not rewrite. (Until issue 21's session
    11 every post on a recomputed account day was rewritten, changed or not: ~92 % of the posts
    a nightly in the bench, the build's heaviest node.)

    Why the ranks are not here (issue 21): rank_in_account / rank_in_department span every post of
    an account / department, so each night's new and re-measured posts move many ranks of old
    posts. Stored, they made the nightly re-rank the whole table and update ~8 % of its rows
    (the cost grew with the history). fct_post_performance, a view over this table, ranks when
    read instead; the BI copy (ingestion/publish) materialises it once per publish.
#}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'object_id'],
    post_hook="{{ refresh_account_attributes(this, per_1000=false) }}",
) }}
{%- set watermark = incremental_watermark('last_loaded_at') %}
{# The first day of fct_account_daily recomputed since, as a literal: the posts whose rate by
   followers it may change have their metric_date from that day on. Only those whose stored
   account_followers differs are rewritten: followers are the only column the account days give. #}
{%- set recomputed_from = day_bound(ref('fct_account_daily'), changed_after(watermark)) %}

with

{%- if watermark is not none %}

{# Each read of the two inputs is filtered on its own (no shared CTE over every post). #}
touched_objects as (

    select platform, object_id from {{ ref('int_posts_unioned') }}
    where last_loaded_at > {{ watermark }}
    union
    select platform, object_id from {{ ref('int_post_metrics_pivoted') }}
    where last_loaded_at > {{ watermark }}
    union
    select stored.platform, stored.object_id
    from ({{ select_from_day(this, recomputed_from) }}) as stored
    inner join (
        select platform, account_id, metric_date, followers from {{ ref('fct_account_daily') }}
        where loaded_through_at > {{ watermark }}
    ) as account_daily
        on stored.platform = account_daily.platform
        and stored.account_id = account_daily.account_id
        and stored.metric_date = account_daily.metric_date
    where stored.account_followers is distinct from account_daily.followers

),
{%- endif %}

posts as (

    select * from {{ ref('int_posts_unioned') }}
    {%- if watermark is not none %}
    semi join touched_objects
        using (platform, object_id)
    {%- endif %}

),

post_metrics as (

    select * from {{ ref('int_post_metrics_pivoted') }}
    {%- if watermark is not none %}
    semi join touched_objects
        using (platform, object_id)
    {%- endif %}

),

account_daily as (

    select * from {{ ref('fct_account_daily') }}

),

registry_accounts as (

    select * from {{ ref('stg_registry__accounts') }}

),

organisation as (

    select * from {{ ref('stg_registry__organisation') }}

),

joined as (

    select
        coalesce(posts.platform, post_metrics.platform) as platform,
        coalesce(posts.account_id, post_metrics.account_id) as account_id,
        coalesce(posts.object_type, post_metrics.object_type) as object_type,
        coalesce(posts.object_id, post_metrics.object_id) as object_id,
        posts.content_type,
        posts.product_type,
        posts.permalink,
        posts.caption,
        posts.published_at,
        posts.published_platform_date,
        post_metrics.metric_date,
        post_metrics.views,
        post_metrics.reach,
        post_metrics.reactions,
        post_metrics.likes,
        post_metrics.comments,
        post_metrics.shares,
        post_metrics.saves,
        post_metrics.clicks,
        post_metrics.engagements,
        greatest(posts.observed_at, post_metrics.observed_at) as observed_at,
        greatest(posts.last_loaded_at, post_metrics.last_loaded_at) as last_loaded_at
    from posts
    full outer join post_metrics
        on posts.platform = post_metrics.platform
        and posts.object_id = post_metrics.object_id

),

enriched as (

    select
        joined.*,
        registry_accounts.department,
        timezone(
            coalesce(organisation.organisation_timezone, 'Europe/Stockholm'), joined.published_at
        ) as published_local_at,
        account_daily.followers as account_followers
    from joined
    left join registry_accounts using (platform, account_id)
    left join account_daily using (platform, account_id, metric_date)
    left join organisation
        on true

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['platform', 'object_id']) }} as post_performance_id,
        platform,
        account_id,
        object_type,
        object_id,
        department,

        ---------- content
        content_type,
        product_type,
        permalink,
        caption,

        ---------- when (UTC, platform day, organisation's local time)
        published_at,
        published_platform_date,
        published_local_at,
        cast(published_local_at as date) as published_local_date,
        cast(isodow(published_local_at) as integer) as published_weekday,
        dayname(published_local_at) as published_weekday_name,
        cast(hour(published_local_at) as integer) as published_hour,

        ---------- lifetime metrics as of metric_date
        metric_date,
        cast(metric_date - published_platform_date as integer) as days_since_published,
        views,
        reach,
        reactions,
        likes,
        comments,
        shares,
        saves,
        clicks,
        engagements,

        ---------- rates
        engagements / nullif(views, 0) as engagement_rate_by_views,
        engagements / nullif(reach, 0) as engagement_rate_by_reach,
        account_followers,
        engagements / nullif(account_followers, 0) as engagement_rate_by_followers,

        ---------- timestamps
        observed_at,
        last_loaded_at

    from enriched

)

select * from final
