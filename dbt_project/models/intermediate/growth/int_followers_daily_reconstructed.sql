{#
    One row per platform x account x calendar day (the dense spine of int_account_days_spined):
    followers at the end of the day, the day's flows, and where the total came from.

    Flows (latest observation of each insight, period = 'day'):
      facebook   gained = page_daily_follows_unique, lost = page_daily_unfollows_unique
      instagram  gained = follows_and_unfollows[FOLLOWER], else follower_count (same number);
                 lost   = follows_and_unfollows[NON_FOLLOWER].
                 The API omits a breakdown value that is zero, so when one follow_type of
                 follows_and_unfollows was delivered for a day, the missing one counts as 0.
      youtube    gained = subscribersGained, lost = subscribersLost (Analytics day report)
      snapchat   none yet (only the subscriber_count snapshot is staged)
    net_followers = gained - lost (NULL when either is unknown).

    Followers, best source first:
      1. stock:    facebook page_follows for that day (a measured total; instagram has none)
      2. snapshot: the nightly node snapshot (followers_count; snapchat subscriber_count)
      2b. rounded_snapshot (youtube only): YouTube rounds subscriberCount to three significant
                   figures, so using every nightly snapshot would make the series jump by the
                   rounding step and contradict the exact flows. Only the channel's FIRST
                   snapshot is used, as the single anchor: earlier days are reconstructed
                   backward and later days forward from it with subscribersGained/Lost. History
                   stays stable night after night (later snapshots never move it), continuity
                   with the flows is exact, and the level is off by at most the anchor's rounding
                   (<= 0.5 % at three significant figures) plus any drift of the flows. Every
                   YouTube total, the anchor included, is is_estimated.
      3. reconstructed_backward from the next known total s >= d (the earliest one):
                   followers(d) = total(s) - sum(net(k) for d < k <= s)
      4. reconstructed_forward from the previous known total p < d (days after the last
                   snapshot, or when a flow between d and s is missing):
                   followers(d) = total(p) + sum(net(k) for p < k <= d)
    A reconstruction that would need an unknown flow is NULL, never a guess. is_estimated is true
    whenever followers is not an exact measured total for that very day (sources 2b, 3 and 4, or
    NULL).

    Incremental (delete+insert on platform, account_id, metric_date). Per account, changed_from is
    the earliest day whose flows or totals a load touched after the model's watermark
    (loaded_through_at), or the account's last var daily_lookback_days days. A change on day c
    moves every later day (forward reconstruction, and the windows downstream) and, when a known
    total on or after c exists, the backward-reconstructed days after the last known total before
    c. So a run reads the account's days from that earlier known total (input_from) and rewrites
    them from input_from (a known total on or after c exists) or from c (none does). Nightly, with
    nightly snapshots, that is a few days per account; a backfill rewrites what it reaches.
    The plan (cheap: touched days and the dates of known totals) runs first, at compile time; its
    earliest input_from per platform bounds every history read of the reconstruction, so the
    flow pivots and windows cover the rewritten days, not the whole history. (YouTube, anchored
    on its first snapshot, still reads from that anchor.)
#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['platform', 'account_id', 'metric_date'],
    on_schema_change='append_new_columns',
) }}
{%- set watermark = incremental_watermark() %}
{%- set platforms = ['facebook', 'instagram', 'youtube', 'snapchat'] %}

{#- The plan: per account, input_from (first day read) and output_from (first day rewritten). #}
{%- set plan_ctes %}
account_days_spined as (

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

youtube_daily as (

    select * from {{ ref('stg_youtube__channel_daily') }}

),

youtube_snapshots as (

    select * from {{ ref('stg_youtube__channel_snapshots') }}

),

snapchat_snapshots as (

    select * from {{ ref('stg_snapchat__profile_snapshots') }}

),

youtube_first_snapshots as (

    select
        platform,
        account_id,
        metric_date,
        subscriber_count_rounded
    from youtube_snapshots
    where subscriber_count_rounded is not null
    qualify row_number() over (partition by platform, account_id order by metric_date) = 1

),

youtube_anchor_snapshots as (

    {# Analytics lags the snapshot by 2-4 days, so the anchor would sit beyond the last known flow
       and no day could be reconstructed. The rounded count is an estimate anyway: pin it to the
       last day with flows on or before the snapshot (error <= the few days' net in between, far
       below the rounding step). #}
    select
        youtube_first_snapshots.platform,
        youtube_first_snapshots.account_id,
        coalesce(max(youtube_daily.metric_date), youtube_first_snapshots.metric_date) as metric_date,
        youtube_first_snapshots.subscriber_count_rounded
    from youtube_first_snapshots
    left join youtube_daily
        on youtube_daily.platform = youtube_first_snapshots.platform
        and youtube_daily.account_id = youtube_first_snapshots.account_id
        and youtube_daily.metric_date <= youtube_first_snapshots.metric_date
        and youtube_daily.subscribers_gained is not null
        and youtube_daily.subscribers_lost is not null
    group by 1, 2, youtube_first_snapshots.metric_date, 4

),

follower_snapshots as (

    {%- for snapshot_platform in ['facebook', 'instagram', 'snapchat'] %}
    select
        platform,
        account_id,
        metric_date,
        followers as followers_snapshot,
        'snapshot' as snapshot_source,
        false as is_snapshot_estimated
    from {{ snapshot_platform }}_snapshots
    where followers is not null
    union all
    {%- endfor %}
    select
        platform,
        account_id,
        metric_date,
        subscriber_count_rounded as followers_snapshot,
        'rounded_snapshot' as snapshot_source,
        true as is_snapshot_estimated
    from youtube_anchor_snapshots

),

{# Days with a measured total: a Facebook page_follows stock (the only platform with one) or a
   snapshot. Read straight from the stock rows (no pivot of the whole history). #}
known_totals as (

    select platform, account_id, metric_date
    from facebook_insights
    where metric_name = 'page_follows'
        and metric_value is not null
    union
    select platform, account_id, metric_date
    from follower_snapshots

),

account_date_ranges as (

    select
        platform,
        account_id,
        min(metric_date) as first_metric_date
    from account_days_spined
    group by platform, account_id

),

{% if watermark is none -%}
rebuild_plan as (

    select
        platform,
        account_id,
        first_metric_date as input_from,
        first_metric_date as output_from
    from account_date_ranges

)
{%- else -%}
touched_days as (

    select platform, account_id, metric_date from facebook_insights
    where last_loaded_at > {{ watermark }}
    union all
    select platform, account_id, metric_date from facebook_snapshots
    where last_loaded_at > {{ watermark }}
    union all
    select platform, account_id, metric_date from instagram_insights
    where last_loaded_at > {{ watermark }}
    union all
    select platform, account_id, metric_date from instagram_snapshots
    where last_loaded_at > {{ watermark }}
    union all
    select platform, account_id, metric_date from youtube_daily
    where last_loaded_at > {{ watermark }}
    union all
    select platform, account_id, metric_date from youtube_snapshots
    where last_loaded_at > {{ watermark }}
    union all
    select platform, account_id, metric_date from snapchat_snapshots
    where last_loaded_at > {{ watermark }}
    union all
    select platform, account_id, max(metric_date) - {{ var('daily_lookback_days') - 1 }}
    from {{ this }}
    group by platform, account_id
    union all
    {# Days new to the spine without a follower input (e.g. a backfilled views-only day): the
       spine stamps the days it appends. #}
    select platform, account_id, metric_date from account_days_spined
    where loaded_through_at > {{ watermark }}

),

changed_accounts as (

    select
        platform,
        account_id,
        min(metric_date) as changed_from
    from touched_days
    group by platform, account_id

),

anchored_changes as (

    select
        changed_accounts.platform,
        changed_accounts.account_id,
        min(changed_accounts.changed_from) as changed_from,
        coalesce(
            max(known_totals.metric_date) filter (
                where known_totals.metric_date < changed_accounts.changed_from
            ),
            min(account_date_ranges.first_metric_date)
        ) as input_from,
        coalesce(
            bool_or(known_totals.metric_date >= changed_accounts.changed_from), false
        ) as has_known_total_after_change
    from changed_accounts
    left join known_totals
        on changed_accounts.platform = known_totals.platform
        and changed_accounts.account_id = known_totals.account_id
    left join account_date_ranges
        on changed_accounts.platform = account_date_ranges.platform
        and changed_accounts.account_id = account_date_ranges.account_id
    group by changed_accounts.platform, changed_accounts.account_id

),

rebuild_plan as (

    select
        platform,
        account_id,
        input_from,
        case when has_known_total_after_change then input_from else changed_from end
            as output_from
    from anchored_changes

)
{%- endif %}
{%- endset %}

{#- Per platform, the first day any account's reconstruction reads (bounds the scans below). #}
{%- set read_from = {} %}
{%- if watermark is not none and execute %}
    {%- set bounds_query -%}
        with {{ plan_ctes }}
        select platform, min(input_from) from rebuild_plan group by platform
    {%- endset %}
    {%- for row in run_query(bounds_query).rows %}
        {%- do read_from.update({row[0]: row[1]}) %}
    {%- endfor %}
    {%- for platform in platforms %}
        {%- if platform not in read_from %}{% do read_from.update({platform: modules.datetime.date(9999, 12, 31)}) %}{% endif %}
    {%- endfor %}
{%- endif %}
{%- set read_bound = {} %}
{%- for platform in platforms %}
    {%- do read_bound.update({platform: (
        " and metric_date >= date '" ~ read_from[platform] ~ "'" if platform in read_from else ''
    )}) %}
{%- endfor %}

with

{{ plan_ctes }},

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
    from {{ ref('stg_facebook__page_insights') }}
    where period = 'day'
        and dimension = ''
        and metric_name in (
            'page_follows', 'page_daily_follows_unique', 'page_daily_unfollows_unique'
        ){{ read_bound['facebook'] }}
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
    from {{ ref('stg_instagram__account_insights') }}
    where period = 'day'
        and (
            (metric_name = 'follows_and_unfollows' and dimension = 'follow_type')
            or (metric_name = 'follower_count' and dimension = '')
        ){{ read_bound['instagram'] }}
    group by platform, account_id, metric_date

),

youtube_follower_flows as (

    select
        platform,
        account_id,
        metric_date,
        cast(null as bigint) as followers_stock,
        subscribers_gained as followers_gained,
        subscribers_lost as followers_lost
    from {{ ref('stg_youtube__channel_daily') }}
    where true{{ read_bound['youtube'] }}

),

follower_flows as (

    select * from facebook_follower_flows
    union all
    select * from instagram_follower_flows
    union all
    select * from youtube_follower_flows

),

follower_snapshots_read as (

    {%- for platform in platforms %}
    select * from follower_snapshots
    where platform = '{{ platform }}'{{ read_bound[platform] }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

account_days as (

    select
        account_days_spined.platform,
        account_days_spined.account_id,
        account_days_spined.metric_date,
        rebuild_plan.output_from
    from account_days_spined
    inner join rebuild_plan
        on account_days_spined.platform = rebuild_plan.platform
        and account_days_spined.account_id = rebuild_plan.account_id
        and account_days_spined.metric_date >= rebuild_plan.input_from
    {%- if read_from %}
    where account_days_spined.metric_date >= date '{{ read_from.values() | min }}'
    {%- endif %}

),

daily as (

    select
        account_days.platform,
        account_days.account_id,
        account_days.metric_date,
        account_days.output_from,
        follower_flows.followers_gained,
        follower_flows.followers_lost,
        follower_flows.followers_gained - follower_flows.followers_lost as net_followers,
        coalesce(follower_flows.followers_stock, follower_snapshots.followers_snapshot)
            as known_followers,
        case
            when follower_flows.followers_stock is not null then 'stock'
            else follower_snapshots.snapshot_source
        end as known_followers_source,
        follower_flows.followers_stock is null
            and coalesce(follower_snapshots.is_snapshot_estimated, false) as is_known_estimated
    from account_days
    left join follower_flows
        on account_days.platform = follower_flows.platform
        and account_days.account_id = follower_flows.account_id
        and account_days.metric_date = follower_flows.metric_date
    left join follower_snapshots_read as follower_snapshots
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
        known_followers is null or is_known_estimated as is_estimated,
        case
            when known_followers is not null then known_followers_source
            when backward_followers is not null then 'reconstructed_backward'
            when forward_followers is not null then 'reconstructed_forward'
        end as followers_source,

        ---------- flows
        followers_gained,
        followers_lost,
        net_followers,

        ---------- lineage
        {{ loaded_through_at() }} as loaded_through_at

    from reconstructed
    where metric_date >= output_from

)

select * from final
