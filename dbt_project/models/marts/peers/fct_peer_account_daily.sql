{#
    One row per account x snapshot day, own accounts and peers measured the same way (public
    counts; see int_peer_accounts_daily): follower level, its change over 7 and 28 days (NULL
    when either day has no snapshot: history starts with the first snapshot and gaps stay gaps),
    followers per 1,000 residents of the account's organisation, and for Instagram posts per week
    and interactions (likes + comments) per post over the 28 days ending on the snapshot day.

    Own Instagram posts come from the own media listing; their likes and comments are the latest
    lifetime values (fct_post_performance), while the peers' are as seen by each night's snapshot:
    on the latest day both are as of the same night.
#}

with

accounts as (

    select * from {{ ref('int_peer_accounts_daily') }}

),

own_posts as (

    select
        accounts.account_ref,
        accounts.snapshot_date,
        count(*) as posts_28d,
        sum(coalesce(posts.likes, 0) + coalesce(posts.comments, 0)) as interactions_28d
    from accounts
    inner join {{ ref('fct_post_performance') }} as posts
        on posts.platform = 'instagram'
        and posts.account_id = accounts.account_ref
        and posts.published_platform_date > accounts.snapshot_date - 28
        and posts.published_platform_date <= accounts.snapshot_date
        and coalesce(posts.product_type, '') <> 'STORY'
    where accounts.is_own and accounts.platform = 'instagram'
    group by accounts.account_ref, accounts.snapshot_date

),

measured as (

    select
        accounts.* exclude (posts_28d, interactions_28d),
        case
            when accounts.platform <> 'instagram' then null
            when accounts.is_own then coalesce(own_posts.posts_28d, 0)
            else accounts.posts_28d
        end as posts_28d,
        case
            when accounts.platform <> 'instagram' then null
            when accounts.is_own then coalesce(own_posts.interactions_28d, 0)
            else accounts.interactions_28d
        end as interactions_28d
    from accounts
    left join own_posts
        on accounts.is_own
        and accounts.account_ref = own_posts.account_ref
        and accounts.snapshot_date = own_posts.snapshot_date

),

with_growth as (

    select
        ---------- ids
        {{ surrogate_key(['measured.platform', 'measured.account_ref', 'measured.snapshot_date']) }}
            as peer_account_day_id,
        measured.platform,
        measured.account_ref,

        ---------- attributes
        measured.organisation_name,
        measured.is_own,
        measured.peer_group,
        measured.department,
        measured.account_name,

        ---------- dates
        measured.snapshot_date,

        ---------- followers
        measured.followers,
        measured.followers_hidden,
        measured.followers_rounded,
        measured.followers - week_ago.followers as followers_change_7d,
        measured.followers - month_ago.followers as followers_change_28d,
        round(100.0 * (measured.followers - week_ago.followers) / nullif(week_ago.followers, 0), 3)
            as followers_growth_pct_7d,
        round(100.0 * (measured.followers - month_ago.followers) / nullif(month_ago.followers, 0), 3)
            as followers_growth_pct_28d,
        measured.population,
        round(1000.0 * measured.followers / nullif(measured.population, 0), 3)
            as followers_per_1000_residents,

        ---------- instagram publishing
        measured.posts_28d,
        round(measured.posts_28d / 4.0, 2) as posts_per_week_28d,
        measured.interactions_28d,
        round(measured.interactions_28d / nullif(measured.posts_28d, 0), 2) as interactions_per_post_28d,
        measured.posts_28d_is_lower_bound

    from measured
    left join measured as week_ago
        on measured.platform = week_ago.platform
        and measured.account_ref = week_ago.account_ref
        and week_ago.snapshot_date = measured.snapshot_date - 7
    left join measured as month_ago
        on measured.platform = month_ago.platform
        and measured.account_ref = month_ago.account_ref
        and month_ago.snapshot_date = measured.snapshot_date - 28

)

select * from with_growth
