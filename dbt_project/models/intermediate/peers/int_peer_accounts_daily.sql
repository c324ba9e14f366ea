{#
    One row per account x snapshot day, the organisation's own accounts and the peers' alike,
    measured the same way: PUBLIC counts as read by the nightly snapshot (own Facebook/Instagram
    followers_count, own YouTube subscriberCount, which is rounded like the peers'). Own accounts'
    private insights (exact YouTube subscribers, daily flows) are deliberately not used here, so
    the comparison is like for like.

    Instagram adds the posts published in the 28 Pacific days ending on the snapshot day and
    their likes + comments: for peers from the recent media of that night's business discovery
    (values as seen that night; `posts_28d_is_lower_bound` when the sample of recent media did not
    reach back 28 days), for own accounts from the media listing and fct_post_performance in the
    mart (fct_peer_account_daily).

    Only days with a snapshot have rows: nothing is filled in before the first snapshot or for a
    night whose read failed.
#}

with

organisation as (

    select organisation_name, population from {{ ref('stg_registry__organisation') }}

),

registry as (

    select platform, account_id, name, department from {{ ref('stg_registry__accounts') }}

),

own_snapshots as (

    select platform, account_id, metric_date, followers, false as followers_rounded
    from {{ ref('stg_facebook__page_snapshots') }}
    union all
    select platform, account_id, metric_date, followers, false as followers_rounded
    from {{ ref('stg_instagram__account_snapshots') }}
    union all
    select platform, account_id, metric_date, subscriber_count_rounded as followers, true as followers_rounded
    from {{ ref('stg_youtube__channel_snapshots') }}

),

own as (

    select
        organisation.organisation_name,
        true as is_own,
        cast(null as varchar) as peer_group,
        organisation.population,
        own_snapshots.platform,
        own_snapshots.account_id as account_ref,
        registry.department,
        registry.name as account_name,
        own_snapshots.metric_date as snapshot_date,
        own_snapshots.followers,
        own_snapshots.followers is null as followers_hidden,
        own_snapshots.followers_rounded,
        cast(null as bigint) as posts_28d,
        cast(null as bigint) as interactions_28d,
        false as posts_28d_is_lower_bound
    from own_snapshots
    inner join registry using (platform, account_id)
    cross join organisation

),

peer_media as (

    select
        account_ref,
        snapshot_date,
        count(*) filter (where published_platform_date > snapshot_date - 28) as posts_28d,
        sum(like_count + comments_count) filter (where published_platform_date > snapshot_date - 28)
            as interactions_28d,
        min(published_platform_date) as oldest_in_sample
    from {{ ref('stg_peers__media') }}
    group by account_ref, snapshot_date

),

peers as (

    select
        snapshots.organisation_name,
        false as is_own,
        snapshots.peer_group,
        snapshots.population,
        snapshots.platform,
        snapshots.account_ref,
        snapshots.department,
        snapshots.account_name,
        snapshots.snapshot_date,
        snapshots.followers,
        snapshots.followers_hidden,
        snapshots.followers_rounded,
        case when snapshots.platform = 'instagram' then coalesce(peer_media.posts_28d, 0) end as posts_28d,
        case when snapshots.platform = 'instagram' then coalesce(peer_media.interactions_28d, 0) end
            as interactions_28d,
        coalesce(
            snapshots.recent_media >= {{ var('peer_media_limit', 30) }}
            and peer_media.oldest_in_sample > snapshots.snapshot_date - 28,
            false
        ) as posts_28d_is_lower_bound
    from {{ ref('stg_peers__snapshots') }} as snapshots
    left join peer_media
        on snapshots.platform = 'instagram'
        and snapshots.account_ref = peer_media.account_ref
        and snapshots.snapshot_date = peer_media.snapshot_date

),

unioned as (

    select * from own
    union all
    select * from peers

)

select * from unioned
