{#
    One row per YouTube channel x day of the Analytics `day` report: the latest observation of each
    core metric, pivoted. metric_date is the `day` value as YouTube delivers it (Pacific days).
    YouTube Analytics omits the last 2-3 days until every metric is final, and the nightly run
    re-reads them, so recent days may be restated.

    subscribers_gained / subscribers_lost are the channel's follower flows (the only exact source
    of subscriber growth: the public subscriberCount is rounded, see stg_youtube__channel_snapshots).
#}

with

observations as (

    select * from {{ ref('base_youtube__observations') }}
    where object_type = 'account'
        and metric_source = 'insights'
        and period = 'day'
        and dimension = ''

),

pivoted as (

    select
        ---------- ids
        platform,
        account_id,

        ---------- dates / timestamps
        metric_date,
        max(observed_at) as observed_at,
        max(last_loaded_at) as last_loaded_at,

        ---------- numerics
        cast(max(metric_value) filter (where metric_name = 'views') as bigint) as views,
        cast(max(metric_value) filter (where metric_name = 'estimatedMinutesWatched') as bigint)
            as watch_time_minutes,
        cast(max(metric_value) filter (where metric_name = 'likes') as bigint) as likes,
        cast(max(metric_value) filter (where metric_name = 'comments') as bigint) as comments,
        cast(max(metric_value) filter (where metric_name = 'shares') as bigint) as shares,
        cast(max(metric_value) filter (where metric_name = 'subscribersGained') as bigint)
            as subscribers_gained,
        cast(max(metric_value) filter (where metric_name = 'subscribersLost') as bigint)
            as subscribers_lost,
        cast(max(restatement_count) as integer) as max_restatement_count

    from observations
    group by platform, account_id, metric_date

)

select * from pivoted
