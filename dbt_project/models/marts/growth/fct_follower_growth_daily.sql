{#
    One row per platform x account x calendar day, from the account's first to its last observed
    day: followers (measured or reconstructed), the day's follower flows, rolling 7/28-day net
    growth and 28-day growth rate, and the day's views, reach and engagements.
    KPI definitions: models/_docs.md. Rolling windows are calendar windows over the dense day
    spine, NULL unless every day of the window has a known net_followers.
#}

with

followers_daily as (

    select * from {{ ref('int_followers_daily_reconstructed') }}

),

metrics_daily as (

    select * from {{ ref('int_account_metrics_daily') }}

),

registry_accounts as (

    select * from {{ ref('stg_registry__accounts') }}

),

rolling_windows as (

    select
        *,
        sum(net_followers) over last_7_days as net_followers_7d_sum,
        count(net_followers) over last_7_days as net_followers_7d_days,
        sum(net_followers) over last_28_days as net_followers_28d_sum,
        count(net_followers) over last_28_days as net_followers_28d_days
    from followers_daily
    window
        last_7_days as (
            partition by platform, account_id
            order by metric_date
            range between interval 6 days preceding and current row
        ),
        last_28_days as (
            partition by platform, account_id
            order by metric_date
            range between interval 27 days preceding and current row
        )

),

with_growth as (

    select
        rolling_windows.*,
        followers_28_days_earlier.followers as followers_28d_earlier
    from rolling_windows
    left join followers_daily as followers_28_days_earlier
        on rolling_windows.platform = followers_28_days_earlier.platform
        and rolling_windows.account_id = followers_28_days_earlier.account_id
        and rolling_windows.metric_date - 28 = followers_28_days_earlier.metric_date

),

final as (

    select
        ---------- keys
        {{ surrogate_key([
            'with_growth.platform', 'with_growth.account_id', 'with_growth.metric_date'
        ]) }} as account_day_id,
        with_growth.platform,
        with_growth.account_id,
        with_growth.metric_date,
        registry_accounts.department,

        ---------- followers
        with_growth.followers,
        with_growth.is_estimated,
        with_growth.followers_source,
        with_growth.followers_gained,
        with_growth.followers_lost,
        with_growth.net_followers,
        case
            when with_growth.net_followers_7d_days = 7
                then cast(with_growth.net_followers_7d_sum as bigint)
        end as net_followers_7d,
        case
            when with_growth.net_followers_28d_days = 28
                then cast(with_growth.net_followers_28d_sum as bigint)
        end as net_followers_28d,
        (with_growth.followers - with_growth.followers_28d_earlier)
            / nullif(with_growth.followers_28d_earlier, 0) as growth_rate_28d,

        ---------- reach and engagement
        metrics_daily.views,
        metrics_daily.reach,
        metrics_daily.engagements,
        metrics_daily.engagements / nullif(metrics_daily.views, 0) as engagement_rate_by_views

    from with_growth
    left join metrics_daily
        on with_growth.platform = metrics_daily.platform
        and with_growth.account_id = metrics_daily.account_id
        and with_growth.metric_date = metrics_daily.metric_date
    left join registry_accounts
        on with_growth.platform = registry_accounts.platform
        and with_growth.account_id = registry_accounts.account_id

)

select * from final
