{#
    Continuity: over any 7 days, the sum of the daily flows must equal the change in the follower
    total, net_followers_7d(d) = followers(d) - followers(d - 7), wherever both totals and the
    window exist. Reconstructed days satisfy it by construction, so a failure means measured
    totals (stock/snapshots) and measured flows disagree: a restatement, a missed day, or a
    platform definition change. Tolerance: var continuity_tolerance (default 0).
    Failing rows: one per account and day that does not reconcile.
    Like the grain tests, it checks the days rewritten in the last var data_test_recent_days days
    (by loaded_through_at; every day after a full build); days no run rewrote were checked before.
    The bound is inlined (macro recent_threshold), and the week-earlier side reads only from 7 days
    before the earliest recent day, so the check reads the recent slice, not the history.
#}
{%- set threshold = recent_threshold(ref('fct_follower_growth_daily'), 'loaded_through_at') %}
{%- set earliest_recent_day = day_bound(
    ref('fct_follower_growth_daily'),
    none if threshold is none else 'loaded_through_at >= ' ~ threshold
) %}

with

follower_growth as (

    select * from {{ ref('fct_follower_growth_daily') }}

),

compared as (

    select
        current_day.platform,
        current_day.account_id,
        current_day.metric_date,
        current_day.net_followers_7d,
        current_day.followers,
        week_earlier.followers as followers_7d_earlier,
        current_day.followers - week_earlier.followers as follower_change_7d
    from follower_growth as current_day
    inner join follower_growth as week_earlier
        on current_day.platform = week_earlier.platform
        and current_day.account_id = week_earlier.account_id
        and current_day.metric_date - 7 = week_earlier.metric_date
    where current_day.net_followers_7d is not null
        and current_day.followers is not null
        and week_earlier.followers is not null
        {%- if threshold is not none %}
        and current_day.loaded_through_at >= {{ threshold }}
        and current_day.metric_date >= date '{{ earliest_recent_day }}'
        and week_earlier.metric_date >= date '{{ earliest_recent_day }}' - 7
        {%- endif %}

)

select * from compared
where abs(net_followers_7d - follower_change_7d) > {{ var('continuity_tolerance') }}
