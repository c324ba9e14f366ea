{#
    One row per Facebook Page x snapshot day: the Page node's counters as read by the nightly
    snapshot (latest observation per field). metric_date is the Pacific day the snapshot represents.
    `followers` is a total at the end of that day; it is what follower history is anchored on when
    the page_follows insight is missing.
#}

with

observations as (

    select * from {{ ref('base_facebook__observations') }}
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
        cast(max(metric_value) filter (where metric_name = 'fan_count') as bigint) as page_likes

    from observations
    group by platform, account_id, metric_date

)

select * from pivoted
