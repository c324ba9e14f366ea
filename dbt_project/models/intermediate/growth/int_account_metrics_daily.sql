{#
    One row per platform x account x day that has at least one of the metrics below: the platform's
    own daily values of views, reach (unique viewers) and engagements. Reach is unique per day and
    is never summed across days downstream.

    Recipe per platform (latest observation of each, period = 'day', no breakdown):
      metric          facebook                         instagram
      views           page_media_view                  views (total_value)
      reach           page_total_media_view_unique     reach (time_series)
      engagements     page_post_engagements            total_interactions (total_value)
      accounts_engaged  -                              accounts_engaged (total_value)
#}

with

facebook_insights as (

    select * from {{ ref('stg_facebook__page_insights') }}
    where period = 'day'
        and dimension = ''
        and metric_name in (
            'page_media_view', 'page_total_media_view_unique', 'page_post_engagements'
        )

),

instagram_insights as (

    select * from {{ ref('stg_instagram__account_insights') }}
    where period = 'day'
        and dimension = ''
        and metric_name in ('views', 'reach', 'total_interactions', 'accounts_engaged')

),

facebook_daily as (

    select
        platform,
        account_id,
        metric_date,
        cast(max(metric_value) filter (where metric_name = 'page_media_view') as bigint) as views,
        cast(
            max(metric_value) filter (where metric_name = 'page_total_media_view_unique') as bigint
        ) as reach,
        cast(
            max(metric_value) filter (where metric_name = 'page_post_engagements') as bigint
        ) as engagements,
        cast(null as bigint) as accounts_engaged
    from facebook_insights
    group by platform, account_id, metric_date

),

instagram_daily as (

    select
        platform,
        account_id,
        metric_date,
        cast(max(metric_value) filter (where metric_name = 'views') as bigint) as views,
        cast(max(metric_value) filter (where metric_name = 'reach') as bigint) as reach,
        cast(
            max(metric_value) filter (where metric_name = 'total_interactions') as bigint
        ) as engagements,
        cast(
            max(metric_value) filter (where metric_name = 'accounts_engaged') as bigint
        ) as accounts_engaged
    from instagram_insights
    group by platform, account_id, metric_date

),

unioned as (

    select * from facebook_daily
    union all
    select * from instagram_daily

)

select * from unioned
