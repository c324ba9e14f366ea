{#
    One row per Instagram account x snapshot day: the IG user node's counters as read by the
    nightly snapshot (latest observation per field). metric_date is the Pacific day the snapshot
    represents. Instagram has no follower-total time series, so these snapshots are the only
    anchors of follower history (earlier days are reconstructed from the daily flows).
#}

with

observations as (

    select * from {{ ref('base_instagram__observations') }}
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
        cast(max(metric_value) filter (where metric_name = 'followers_count') as bigint)
            as followers,
        cast(max(metric_value) filter (where metric_name = 'follows_count') as bigint) as follows,
        cast(max(metric_value) filter (where metric_name = 'media_count') as bigint) as media_count

    from observations
    group by platform, account_id, metric_date

)

select * from pivoted
