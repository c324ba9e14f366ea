{#
    One row per platform x account x calendar day (the dense spine of int_account_days_spined):
    followers at the end of the day, the day's flows, and where the total came from.

    Flows (latest observation of each insight, period = 'day'):
      facebook   gained = page_daily_follows_unique, lost = page_daily_unfollows_unique
      instagram  gained = follows_and_unfollows[FOLLOWER], else follower_count (same number);
                 lost   = follows_and_unfollows[NON_FOLLOWER].
                 The API omits a breakdown value that is zero, so when one follow_type of
                 follows_and_unfollows was delivered for a day, the missing one counts as 0.
    net_followers = gained - lost (NULL when either is unknown).

    Followers, best source first:
      1. stock:    facebook page_follows for that day (a measured total; instagram has none)
      2. snapshot: the nightly node snapshot (followers_count) for that day
      3. reconstructed_backward from the next known total s >= d (the earliest one):
                   followers(d) = total(s) - sum(net(k) for d < k <= s)
      4. reconstructed_forward from the previous known total p < d (days after the last
                   snapshot, or when a flow between d and s is missing):
                   followers(d) = total(p) + sum(net(k) for p < k <= d)
    A reconstruction that would need an unknown flow is NULL, never a guess. is_estimated is true
    whenever followers is not a measured total for that very day (sources 3 and 4, or NULL).
#}

with

account_days as (

    select * from {{ ref('int_account_days_spined') }}

),

facebook_insights as (

    select * from {{ ref('stg_facebook__page_insights') }}
    where period = 'day'
        and dimension = ''
        and metric_name in (
            'page_follows', 'page_daily_follows_unique', 'page_daily_unfollows_unique'
        )

),

facebook_snapshots as (

    select * from {{ ref('stg_facebook__page_snapshots') }}

),

instagram_insights as (

    select * from {{ ref('stg_instagram__account_insights') }}
    where period = 'day'
        and (
            (metric_name = 'follows_and_unfollows' and dimension = 'follow_type')
            or (metric_name = 'follower_count' and dimension = '')
        )

),

instagram_snapshots as (

    select * from {{ ref('stg_instagram__account_snapshots') }}

),

facebook_follower_flows as (

    select
        platform,
        account_id,
        metric_date,
        cast(max(metric_value) filter (where metric_name = 'page_follows') as bigint)
            as followers_stock,
        cast(max(metric_value) filter (where metric_name = 'page_daily_follows_unique') as bigint)
            as followers_gained,
        cast(max(metric_value) filter (where metric_name = 'page_daily_unfollows_unique') as bigint)
            as followers_lost
    from facebook_insights
    group by platform, account_id, metric_date

),

instagram_follower_flows as (

    select
        platform,
        account_id,
        metric_date,
        cast(null as bigint) as followers_stock,
        cast(coalesce(
            max(metric_value) filter (
                where metric_name = 'follows_and_unfollows' and dimension_value = 'FOLLOWER'
            ),
            max(metric_value) filter (where metric_name = 'follower_count'),
            case when bool_or(metric_name = 'follows_and_unfollows') then 0 end
        ) as bigint) as followers_gained,
        cast(coalesce(
            max(metric_value) filter (
                where metric_name = 'follows_and_unfollows' and dimension_value = 'NON_FOLLOWER'
            ),
            case when bool_or(metric_name = 'follows_and_unfollows') then 0 end
        ) as bigint) as followers_lost
    from instagram_insights
    group by platform, account_id, metric_date

),

follower_flows as (

    select * from facebook_follower_flows
    union all
    select * from instagram_follower_flows

),

follower_snapshots as (

    select platform, account_id, metric_date, followers as followers_snapshot
    from facebook_snapshots
    where followers is not null
    union all
    select platform, account_id, metric_date, followers as followers_snapshot
    from instagram_snapshots
    where followers is not null

),

daily as (

    select
        account_days.platform,
        account_days.account_id,
        account_days.metric_date,
        follower_flows.followers_gained,
        follower_flows.followers_lost,
        follower_flows.followers_gained - follower_flows.followers_lost as net_followers,
        coalesce(follower_flows.followers_stock, follower_snapshots.followers_snapshot)
            as known_followers,
        case
            when follower_flows.followers_stock is not null then 'stock'
            when follower_snapshots.followers_snapshot is not null then 'snapshot'
        end as known_followers_source
    from account_days
    left join follower_flows
        on account_days.platform = follower_flows.platform
        and account_days.account_id = follower_flows.account_id
        and account_days.metric_date = follower_flows.metric_date
    left join follower_snapshots
        on account_days.platform = follower_snapshots.platform
        and account_days.account_id = follower_snapshots.account_id
        and account_days.metric_date = follower_snapshots.metric_date

),

{#
    Running sums turn "sum of net over (a, b]" into cumulative_net(b) - cumulative_net(a), and
    "was any flow in (a, b] unknown" into cumulative_missing(b) <> cumulative_missing(a).
#}
cumulated as (

    select
        *,
        sum(coalesce(net_followers, 0)) over running_days as cumulative_net,
        sum(case when net_followers is null then 1 else 0 end) over running_days
            as cumulative_missing
    from daily
    window running_days as (
        partition by platform, account_id
        order by metric_date
        rows between unbounded preceding and current row
    )

),

anchored as (

    select
        *,
        ---------- the next known total (earliest day >= metric_date)
        first_value(known_followers ignore nulls) over following_days as next_known_followers,
        first_value(
            case when known_followers is not null then cumulative_net end ignore nulls
        ) over following_days as next_known_cumulative_net,
        first_value(
            case when known_followers is not null then cumulative_missing end ignore nulls
        ) over following_days as next_known_cumulative_missing,

        ---------- the previous known total (latest day <= metric_date)
        last_value(known_followers ignore nulls) over preceding_days as previous_known_followers,
        last_value(
            case when known_followers is not null then cumulative_net end ignore nulls
        ) over preceding_days as previous_known_cumulative_net,
        last_value(
            case when known_followers is not null then cumulative_missing end ignore nulls
        ) over preceding_days as previous_known_cumulative_missing
    from cumulated
    window
        following_days as (
            partition by platform, account_id
            order by metric_date
            rows between current row and unbounded following
        ),
        preceding_days as (
            partition by platform, account_id
            order by metric_date
            rows between unbounded preceding and current row
        )

),

reconstructed as (

    select
        *,
        case
            when known_followers is not null
                then known_followers
            when next_known_followers is not null
                and next_known_cumulative_missing = cumulative_missing
                then next_known_followers - (next_known_cumulative_net - cumulative_net)
        end as backward_followers,
        case
            when previous_known_followers is not null
                and previous_known_cumulative_missing = cumulative_missing
                then previous_known_followers + (cumulative_net - previous_known_cumulative_net)
        end as forward_followers
    from anchored

),

final as (

    select
        ---------- keys
        platform,
        account_id,
        metric_date,

        ---------- followers (a stock: never summed over days)
        cast(coalesce(backward_followers, forward_followers) as bigint) as followers,
        known_followers is null as is_estimated,
        case
            when known_followers is not null then known_followers_source
            when backward_followers is not null then 'reconstructed_backward'
            when forward_followers is not null then 'reconstructed_forward'
        end as followers_source,

        ---------- flows
        followers_gained,
        followers_lost,
        net_followers

    from reconstructed

)

select * from final
