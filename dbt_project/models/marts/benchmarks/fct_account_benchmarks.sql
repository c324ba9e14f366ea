{#
    One row per platform x account, as of its platform's latest day with data (metric_date): the
    account's last 28 days (metric_date - 27 .. metric_date) next to the previous 28, normalised by
    its size (followers at metric_date), and its percentile among the organisation's accounts
    (and among its platform's accounts) for growth, reach, views and engagement.

    Percentiles are percent_rank over the accounts with a value (0 = lowest, 1 = highest; NULL when
    fewer than two accounts have one). Reach is unique, so the window's reach is the mean of the
    daily reach (never a sum). Flags: is_inactive = no post published for more than
    var inactive_after_days days (NULL where the platform's content is not listed);
    is_losing_followers = net follower loss over the 28 days; is_declining_views /
    is_declining_engagements = the 28-day total fell by more than var declining_threshold against
    the previous 28 days; is_declining = any of the three.
#}

{%- set window_days = 28 %}

with

account_daily as (

    select * from {{ ref('fct_account_daily') }}

),

follower_growth as (

    select * from {{ ref('fct_follower_growth_daily') }}

),

posts as (

    select * from {{ ref('int_posts_unioned') }}

),

registry_accounts as (

    select * from {{ ref('stg_registry__accounts') }}

),

{# The benchmark day of each platform: its latest day with any measured metric. #}
platform_as_of as (

    select
        platform,
        max(metric_date) as as_of_date
    from account_daily
    where coalesce(views, engagements, net_followers, reach) is not null
    group by platform

),

account_days_in_windows as (

    select
        account_daily.*,
        platform_as_of.as_of_date,
        account_daily.metric_date > platform_as_of.as_of_date - {{ window_days }}
            as is_in_window,
        account_daily.metric_date <= platform_as_of.as_of_date - {{ window_days }}
            as is_in_previous_window
    from account_daily
    inner join platform_as_of
        on account_daily.platform = platform_as_of.platform
    where account_daily.metric_date > platform_as_of.as_of_date - {{ 2 * window_days }}
        and account_daily.metric_date <= platform_as_of.as_of_date

),

windowed as (

    select
        platform,
        account_id,
        as_of_date,
        sum(views) filter (where is_in_window) as views_28d,
        sum(engagements) filter (where is_in_window) as engagements_28d,
        sum(views) filter (where is_in_previous_window) as views_previous_28d,
        sum(engagements) filter (where is_in_previous_window) as engagements_previous_28d,
        avg(reach) filter (where is_in_window) as avg_daily_reach_28d,
        sum(posts_published) filter (where is_in_window) as posts_28d
    from account_days_in_windows
    group by platform, account_id, as_of_date

),

last_posts as (

    select
        posts.platform,
        posts.account_id,
        max(posts.published_platform_date) as last_post_date
    from posts
    inner join platform_as_of
        on posts.platform = platform_as_of.platform
    where posts.published_platform_date <= platform_as_of.as_of_date
    group by posts.platform, posts.account_id

),

platforms_with_posts as (

    select distinct platform from posts

),

measured as (

    select
        windowed.*,
        registry_accounts.department,
        follower_growth.followers,
        follower_growth.is_estimated,
        follower_growth.net_followers_28d,
        follower_growth.growth_rate_28d,
        last_posts.last_post_date,
        platforms_with_posts.platform is not null as is_content_listed,
        windowed.views_28d / nullif(follower_growth.followers, 0) as views_per_follower_28d,
        windowed.avg_daily_reach_28d / nullif(follower_growth.followers, 0)
            as reach_per_follower_28d,
        windowed.engagements_28d / nullif(follower_growth.followers, 0)
            as engagement_rate_by_followers_28d,
        windowed.engagements_28d / nullif(windowed.views_28d, 0) as engagement_rate_by_views_28d
    from windowed
    left join follower_growth
        on windowed.platform = follower_growth.platform
        and windowed.account_id = follower_growth.account_id
        and windowed.as_of_date = follower_growth.metric_date
    left join registry_accounts
        on windowed.platform = registry_accounts.platform
        and windowed.account_id = registry_accounts.account_id
    left join last_posts
        on windowed.platform = last_posts.platform
        and windowed.account_id = last_posts.account_id
    left join platforms_with_posts
        on windowed.platform = platforms_with_posts.platform

),

{%- set ranked_metrics = {
    'growth': 'growth_rate_28d',
    'reach': 'reach_per_follower_28d',
    'views': 'views_per_follower_28d',
    'engagement': 'engagement_rate_by_followers_28d',
} %}

ranked as (

    select
        *,
        {%- for label, metric in ranked_metrics.items() %}
        case
            when {{ metric }} is not null
                and count({{ metric }}) over () >= 2
                then percent_rank() over (
                    partition by {{ metric }} is null order by {{ metric }}
                )
        end as {{ label }}_percentile,
        case
            when {{ metric }} is not null
                and count({{ metric }}) over (partition by platform) >= 2
                then percent_rank() over (
                    partition by platform, {{ metric }} is null order by {{ metric }}
                )
        end as {{ label }}_percentile_in_platform{{ ',' if not loop.last }}
        {%- endfor %}
    from measured

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['platform', 'account_id']) }} as account_benchmark_id,
        platform,
        account_id,
        as_of_date as metric_date,
        as_of_date - {{ window_days - 1 }} as window_start_date,
        department,

        ---------- size and growth
        followers,
        is_estimated,
        net_followers_28d,
        growth_rate_28d,

        ---------- the last 28 days and the 28 before
        cast(views_28d as bigint) as views_28d,
        cast(views_previous_28d as bigint) as views_previous_28d,
        cast(engagements_28d as bigint) as engagements_28d,
        cast(engagements_previous_28d as bigint) as engagements_previous_28d,
        avg_daily_reach_28d,
        cast(posts_28d as bigint) as posts_28d,
        last_post_date,
        cast(as_of_date - last_post_date as integer) as days_since_last_post,

        ---------- size-normalised
        views_per_follower_28d,
        reach_per_follower_28d,
        engagement_rate_by_followers_28d,
        engagement_rate_by_views_28d,

        ---------- percentiles within the organisation and the platform
        {%- for label in ranked_metrics %}
        {{ label }}_percentile,
        {{ label }}_percentile_in_platform,
        {%- endfor %}
        (
            {%- for label in ranked_metrics %}
            coalesce({{ label }}_percentile, 0){{ ' +' if not loop.last }}
            {%- endfor %}
        ) / nullif(
            {%- for label in ranked_metrics %}
            ({{ label }}_percentile is not null)::integer{{ ' +' if not loop.last }}
            {%- endfor %}
        , 0) as overall_percentile,

        ---------- flags
        case
            when is_content_listed
                then last_post_date is null
                    or as_of_date - last_post_date > {{ var('inactive_after_days') }}
        end as is_inactive,
        coalesce(net_followers_28d < 0, false) as is_losing_followers,
        coalesce(
            views_28d < (1 - {{ var('declining_threshold') }}) * views_previous_28d, false
        ) as is_declining_views,
        coalesce(
            engagements_28d < (1 - {{ var('declining_threshold') }}) * engagements_previous_28d,
            false
        ) as is_declining_engagements,
        coalesce(net_followers_28d < 0, false)
            or coalesce(
                views_28d < (1 - {{ var('declining_threshold') }}) * views_previous_28d, false
            )
            or coalesce(
                engagements_28d < (1 - {{ var('declining_threshold') }})
                    * engagements_previous_28d,
                false
            ) as is_declining

    from ranked

)

select * from final
