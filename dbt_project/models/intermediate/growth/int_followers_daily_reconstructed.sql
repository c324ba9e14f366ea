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
      3. reconstructed_backward from the next known total s >= d (the earliest one):
                   followers(d) = total(s) - sum(net(k) for d < k <= s)
      4. reconstructed_forward from the previous known total p < d (days after the last
                   snapshot, or when a flow between d and s is missing):
                   followers(d) = total(p) + sum(net(k) for p < k <= d)
    A reconstruction that would need an unknown flow is NULL, never a guess. is_estimated is true
    whenever followers is not an exact measured total for that very day (sources 3 and 4, or NULL).

    YouTube (issue 17) takes its own path: subscriberCount is the count when it was READ, rounded
    to three significant figures, and dated by the Pacific day that had just closed then
    (ingestion.core.days.snapshot_date); Analytics reports flows 2-3 days late. So a snapshot only
    anchors history once its own day's flows are known (lag-complete): then every day d the flows
    connect to it gets followers(d) = anchor + sum(net over (anchor, d]) (or minus the net over
    (d, anchor]). The anchor is the least rounded lag-complete snapshot, the earliest on a tie
    (youtube_anchors). Days the anchor cannot reach (a flow in between unknown: the lag days, a
    gap) take their own snapshot if they have one, else NULL: never the snapshot copied onto an
    earlier day. Every YouTube level is is_estimated; followers_max_error is half the rounding
    step of the snapshot it rests on (0 below 1,000).

    Lineage of every level: level_source (measured: that day's own total; reconstructed: another
    day's total plus flows; unknown: NULL), level_anchor_date (the day of that total) and
    followers_max_error (what the total's rounding allows: 0 for Meta and Snapchat counts).

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
    flow pivots and windows cover the rewritten days, not the whole history. YouTube: a change on
    or before the channel's anchor day (a new or moved anchor is always one) rewrites the whole
    channel, a later change the days from it (read from the anchor); see rebuild_plan.
#}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'account_id', 'metric_date'],
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

youtube_snapshot_bounds as (

    {# subscriberCount is rounded half up to three significant figures (exact below 1,000): the
       true count lies within half a step of the shown one. #}
    select
        platform,
        account_id,
        metric_date,
        subscriber_count_rounded,
        case
            when subscriber_count_rounded < 1000 then cast(0 as bigint)
            else cast(power(10, length(cast(subscriber_count_rounded as varchar)) - 3) as bigint) // 2
        end as followers_max_error
    from youtube_snapshots
    where subscriber_count_rounded is not null

),

youtube_anchors as (

    {# The anchor: among the snapshots whose own day's flows are known (lag-complete: Analytics
       has caught up with the day the snapshot stands for, so every flow between any reported
       day and the snapshot is known or visibly missing), the least rounded one, the earliest on
       a tie. A later snapshot of the same step is no better, and keeping the first keeps history
       still night after night; a less rounded one (the count fell below a power of ten) moves it. #}
    select
        youtube_snapshot_bounds.platform,
        youtube_snapshot_bounds.account_id,
        youtube_snapshot_bounds.metric_date as anchor_date,
        youtube_snapshot_bounds.subscriber_count_rounded as anchor_followers,
        youtube_snapshot_bounds.followers_max_error as anchor_max_error
    from youtube_snapshot_bounds
    inner join youtube_daily using (platform, account_id, metric_date)
    where youtube_daily.subscribers_gained is not null
        and youtube_daily.subscribers_lost is not null
    qualify row_number() over (
        partition by youtube_snapshot_bounds.platform, youtube_snapshot_bounds.account_id
        order by youtube_snapshot_bounds.followers_max_error, youtube_snapshot_bounds.metric_date
    ) = 1

),

follower_snapshots as (

    {#- Exact "current value" totals. YouTube's rounded ones take their own path (youtube_anchors). #}
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
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

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

    {{ touched_account_days([
        'facebook_insights', 'facebook_snapshots', 'instagram_insights', 'instagram_snapshots',
        'youtube_daily', 'youtube_snapshots', 'snapchat_snapshots',
    ], watermark) }}
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
    left join known_totals using (platform, account_id)
    left join account_date_ranges using (platform, account_id)
    group by changed_accounts.platform, changed_accounts.account_id

),

rebuild_plan as (

    {# YouTube: every level rests on the channel's one anchor. A change on or before the anchor
       day (a new or moved anchor always is one: its snapshot or its flows were just loaded)
       rewrites the whole channel; a later change moves only the days from it, read from the
       anchor. Without an anchor a day's level is its own snapshot or nothing. #}
    select
        anchored_changes.platform,
        anchored_changes.account_id,
        case
            when anchored_changes.platform <> 'youtube'
                then anchored_changes.input_from
            when youtube_anchors.anchor_date is null
                then anchored_changes.changed_from
            when anchored_changes.changed_from > youtube_anchors.anchor_date
                then youtube_anchors.anchor_date
            else account_date_ranges.first_metric_date
        end as input_from,
        case
            when anchored_changes.platform <> 'youtube'
                then case
                    when anchored_changes.has_known_total_after_change
                        then anchored_changes.input_from
                    else anchored_changes.changed_from
                end
            when youtube_anchors.anchor_date is null
                or anchored_changes.changed_from > youtube_anchors.anchor_date
                then anchored_changes.changed_from
            else account_date_ranges.first_metric_date
        end as output_from
    from anchored_changes
    left join youtube_anchors using (platform, account_id)
    left join account_date_ranges using (platform, account_id)

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

youtube_own_snapshots as (

    select * from youtube_snapshot_bounds
    where true{{ read_bound['youtube'] }}

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
            and coalesce(follower_snapshots.is_snapshot_estimated, false) as is_known_estimated,
        youtube_own_snapshots.subscriber_count_rounded as own_rounded_followers,
        youtube_own_snapshots.followers_max_error as own_max_error,
        youtube_anchors.anchor_date,
        youtube_anchors.anchor_followers,
        youtube_anchors.anchor_max_error
    from account_days
    left join follower_flows using (platform, account_id, metric_date)
    left join follower_snapshots_read as follower_snapshots
        using (platform, account_id, metric_date)
    left join youtube_own_snapshots using (platform, account_id, metric_date)
    left join youtube_anchors using (platform, account_id)

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
        {#- The next known total (earliest day >= metric_date) and the previous one (latest
            day <= metric_date), with the running sums and the day at it. #}
        {%- for side, value_at, days in [
            ('next', 'first_value', 'following_days'), ('previous', 'last_value', 'preceding_days')
        ] %}
        {{ value_at }}(known_followers ignore nulls) over {{ days }} as {{ side }}_known_followers,
        {%- for column, name in [
            ('cumulative_net', 'cumulative_net'),
            ('cumulative_missing', 'cumulative_missing'),
            ('metric_date', 'date'),
        ] %}
        {{ value_at }}(
            case when known_followers is not null then {{ column }} end ignore nulls
        ) over {{ days }} as {{ side }}_known_{{ name }},
        {%- endfor %}
        {%- endfor %}

        ---------- YouTube: the running sums on the anchor day
        max(case when metric_date = anchor_date then cumulative_net end)
            over whole_account as anchor_cumulative_net,
        max(case when metric_date = anchor_date then cumulative_missing end)
            over whole_account as anchor_cumulative_missing
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
        ),
        whole_account as (partition by platform, account_id)

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
        end as forward_followers,
        {# YouTube, both directions at once: anchor + net flows of (anchor, d], or minus those of
           (d, anchor]; only when none of them is unknown. #}
        case
            when anchor_cumulative_missing = cumulative_missing
                then anchor_followers + (cumulative_net - anchor_cumulative_net)
        end as youtube_anchored_followers
    from anchored

),

levels as (

    select
        *,
        case
            when platform = 'youtube'
                then cast(coalesce(youtube_anchored_followers, own_rounded_followers) as bigint)
            else cast(coalesce(backward_followers, forward_followers) as bigint)
        end as followers,
        platform = 'youtube' or known_followers is null or is_known_estimated as is_estimated,
        case
            when platform = 'youtube' then case
                when youtube_anchored_followers is not null and metric_date = anchor_date
                    then 'rounded_snapshot'
                when youtube_anchored_followers is not null and metric_date < anchor_date
                    then 'reconstructed_backward'
                when youtube_anchored_followers is not null
                    then 'reconstructed_forward'
                when own_rounded_followers is not null
                    then 'rounded_snapshot'
            end
            when known_followers is not null then known_followers_source
            when backward_followers is not null then 'reconstructed_backward'
            when forward_followers is not null then 'reconstructed_forward'
        end as followers_source,
        case
            when platform = 'youtube' then case
                when youtube_anchored_followers is not null then anchor_date
                when own_rounded_followers is not null then metric_date
            end
            when known_followers is not null then metric_date
            when backward_followers is not null then next_known_date
            when forward_followers is not null then previous_known_date
        end as level_anchor_date,
        case
            when platform = 'youtube' then case
                when youtube_anchored_followers is not null then anchor_max_error
                when own_rounded_followers is not null then own_max_error
            end
            when coalesce(backward_followers, forward_followers) is not null
                then cast(0 as bigint)
        end as followers_max_error
    from reconstructed

),

final as (

    select
        ---------- keys
        platform,
        account_id,
        metric_date,

        ---------- followers (a stock: never summed over days)
        followers,
        is_estimated,
        followers_source,
        case
            when followers_source in ('stock', 'snapshot', 'rounded_snapshot') then 'measured'
            when followers_source is not null then 'reconstructed'
            else 'unknown'
        end as level_source,
        level_anchor_date,
        followers_max_error,

        ---------- flows
        followers_gained,
        followers_lost,
        net_followers,

        ---------- lineage
        {{ loaded_through_at() }} as loaded_through_at

    from levels
    where metric_date >= output_from

)

select * from final
{{ clustered_by_day() }}
