{#
    One row per Snapchat public profile x snapshot day: the profile's `subscriber_count` as read by
    the nightly snapshot (latest observation). Snap's stats API is allowlist-only and its metric
    names are not verified (PLATFORM_APIS.md §6), so only the profile's subscriber total is staged:
    it gives Snapchat accounts a follower total per day; flows, views and engagements stay NULL
    until the stats fields are known.
#}

with

observations as (

    select * from {{ ref('base_snapchat__observations') }}
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
        cast(max(metric_value) filter (where metric_name = 'subscriber_count') as bigint)
            as followers

    from observations
    group by platform, account_id, metric_date

)

select * from pivoted
