{#
    One row per organisation (own and peers) x platform x snapshot day, plus platform 'all': the
    organisation's public follower total, its 7- and 28-day change, followers per 1,000 residents,
    Instagram posts per week and interactions per post, and its RANK among the organisations
    measured that day (by followers and by followers per 1,000 residents; 1 = most; NULL for an
    organisation without a public count on that platform, e.g. only a hidden YouTube count).

    Totals add the accounts with a public count that day (hidden YouTube counts are left out and
    counted in accounts_hidden). The changes add only accounts known on both days, so a failed
    night or a new account never shows as growth. 'all' adds the platforms; its rank is only fair
    between organisations listed on the same platforms (see docs/peers.md).
#}

with

accounts as (

    select * from {{ ref('fct_peer_account_daily') }}

),

per_platform as (

    select
        organisation_name,
        bool_or(is_own) as is_own,
        max(peer_group) as peer_group,
        max(population) as population,
        platform,
        snapshot_date,
        count(*) as accounts,
        count(*) filter (where followers is null) as accounts_hidden,
        sum(followers) as followers,
        sum(followers_change_7d) as followers_change_7d,
        sum(followers_change_28d) as followers_change_28d,
        sum(followers - followers_change_7d) as followers_7d_ago,
        sum(followers - followers_change_28d) as followers_28d_ago,
        sum(posts_28d) as posts_28d,
        sum(interactions_28d) as interactions_28d
    from accounts
    group by organisation_name, platform, snapshot_date

),

all_platforms as (

    select
        organisation_name,
        bool_or(is_own) as is_own,
        max(peer_group) as peer_group,
        max(population) as population,
        'all' as platform,
        snapshot_date,
        sum(accounts) as accounts,
        sum(accounts_hidden) as accounts_hidden,
        sum(followers) as followers,
        sum(followers_change_7d) as followers_change_7d,
        sum(followers_change_28d) as followers_change_28d,
        sum(followers_7d_ago) as followers_7d_ago,
        sum(followers_28d_ago) as followers_28d_ago,
        sum(posts_28d) as posts_28d,
        sum(interactions_28d) as interactions_28d
    from per_platform
    group by organisation_name, snapshot_date

),

unioned as (

    select * from per_platform
    union all
    select * from all_platforms

),

ranked as (

    select
        ---------- ids
        {{ surrogate_key(['organisation_name', 'platform', 'snapshot_date']) }} as peer_comparison_id,
        organisation_name,
        platform,

        ---------- attributes
        is_own,
        peer_group,

        ---------- dates
        snapshot_date,

        ---------- numerics
        cast(accounts as integer) as accounts,
        cast(accounts_hidden as integer) as accounts_hidden,
        cast(followers as bigint) as followers,
        cast(followers_change_7d as bigint) as followers_change_7d,
        cast(followers_change_28d as bigint) as followers_change_28d,
        round(100.0 * followers_change_7d / nullif(followers_7d_ago, 0), 3) as followers_growth_pct_7d,
        round(100.0 * followers_change_28d / nullif(followers_28d_ago, 0), 3) as followers_growth_pct_28d,
        population,
        round(1000.0 * followers / nullif(population, 0), 3) as followers_per_1000_residents,
        round(posts_28d / 4.0, 2) as posts_per_week_28d,
        round(interactions_28d / nullif(posts_28d, 0), 2) as interactions_per_post_28d,

        ---------- ranks among the organisations measured that day (1 = most)
        cast(count(*) over (partition by platform, snapshot_date) as integer) as organisations_compared,
        case when followers is not null then cast(rank() over (
            partition by platform, snapshot_date, followers is not null order by followers desc
        ) as integer) end as rank_followers,
        case when population is not null and followers is not null then cast(rank() over (
            partition by platform, snapshot_date, population is not null and followers is not null
            order by 1000.0 * followers / population desc
        ) as integer) end as rank_followers_per_1000

    from unioned

)

select * from ranked
