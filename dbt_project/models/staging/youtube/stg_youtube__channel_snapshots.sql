{#
    One row per YouTube channel x snapshot day: the Data API channel statistics as read by the
    nightly snapshot (latest observation per field). metric_date is the Pacific day the snapshot
    represents.

    subscriber_count is ROUNDED by YouTube (three significant figures: 12,345 shows as 12,300), so
    it is never used for growth. It only anchors the reconstructed subscriber history (see
    int_followers_daily_reconstructed), and everything derived from it is flagged is_estimated.
#}

with

observations as (

    select * from {{ ref('base_youtube__observations') }}
    where object_type = 'account'
        and metric_source = 'node'
        and period = 'snapshot'

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
        cast(max(metric_value) filter (where metric_name = 'subscriberCount') as bigint)
            as subscriber_count_rounded,
        cast(max(metric_value) filter (where metric_name = 'viewCount') as bigint) as view_count,
        cast(max(metric_value) filter (where metric_name = 'videoCount') as bigint) as video_count

    from observations
    group by platform, account_id, metric_date

)

select * from pivoted
