{#
    The body of fct_account_weekly (grain='week', ISO weeks Monday..Sunday) and
    fct_account_monthly (grain='month'): one row per platform x account x period from
    fct_account_daily, with the previous period's and the previous year's values and the relative
    changes (WoW/MoM and YoY).

    Stocks and flows: followers is the total at the end of the period's last day present (NULL
    when that day's total is unknown), followers_start the total at the end of the day before the
    period starts; flows, views, engagements,
    watch time and posts are summed over the days present. Reach is unique and never summed: a
    week takes the platform's own 7-day reach delivered for its Sunday, a month the platform's own
    28-day reach delivered for its last day (the 28 days ending then, not the calendar month);
    NULL where the platform delivered none.
    Previous year: the same ISO week number of the previous ISO year (week 53 has none), or the
    same month a year earlier.

    Incremental (delete+insert on platform, account_id, period start): per account, a run rewrites
    the periods from the one holding the earliest fct_account_daily day recomputed after the
    model's watermark (loaded_through_at). The previous-period and previous-year values of the
    rewritten periods come from the periods already held in the model (their daily rows did not
    change, or they would be rewritten too), so a run reads only the days of the rewritten
    periods (and the day before them), not the year before.
#}
{% macro account_period_rollup(grain) -%}
{%- if grain == 'week' -%}
    {%- set start_col, end_col, previous = 'week_start', 'week_end', 'previous_week' -%}
    {%- set change_suffix, reach_col, reach_source = 'wow_pct', 'reach_7d', 'reach_7d' -%}
{%- else -%}
    {%- set start_col, end_col, previous = 'month_start', 'month_end', 'previous_month' -%}
    {%- set change_suffix, reach_col = 'mom_pct', 'reach_28d_at_month_end' -%}
    {%- set reach_source = 'reach_28d' -%}
{%- endif -%}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'account_id', start_col],
    post_hook=["{{ refresh_account_attributes(this, per_1000=false) }}"],
) }}
{%- set compared = [
    'followers', 'net_followers', 'views', 'engagements', reach_col, 'engagement_rate_by_views'
] -%}

{%- set watermark = incremental_watermark() %}
{%- set history = 'interval 371 days' if grain == 'week' else 'interval 13 months' %}
{%- set period_start = "cast(date_trunc('" ~ grain ~ "', min(metric_date)) as date)" %}
{# The earliest day any account reads (the day before its first rewritten period), as a literal:
   pushes down to the scan. #}
{%- set read_from = day_bound(
    ref('fct_account_daily'), changed_after(watermark), period_start ~ ' - 1'
) %}

with

account_daily_all as (

    {{ select_from_day(ref('fct_account_daily'), read_from) }}

),

rebuild_plan as (

    {{ rebuild_plan_of('account_daily_all', output_from=period_start, watermark=watermark) }}

),

{# The days of the rewritten periods and the day before them (a full build: every day). #}
account_daily as (

    {{ days_in_rebuild_plan('account_daily_all', days_before=1) }}

),

dated as (

    select
        *,
        cast(date_trunc('{{ grain }}', metric_date) as date) as {{ start_col }}
    from account_daily

),

aggregated as (

    select
        platform,
        account_id,
        {{ start_col }},
        max(department) as department,
        min(output_from) as output_from,
        max(loaded_through_at) as loaded_through_at,
        count(*) as days_with_data,
        count(net_followers) as days_with_net_followers,
        max(metric_date) as last_metric_date,
        {{ summed_additive_metrics() }}
    from dated
    group by platform, account_id, {{ start_col }}

),

bounded as (

    select
        *,
        {%- if grain == 'week' %}
        {{ start_col }} + 6 as {{ end_col }},
        cast(isoyear({{ start_col }}) as integer) as iso_year,
        cast(week({{ start_col }}) as integer) as iso_week,
        7 as days_in_period
        {%- else %}
        last_day({{ start_col }}) as {{ end_col }},
        cast(day(last_day({{ start_col }})) as integer) as days_in_period
        {%- endif %}
    from aggregated

),

with_boundaries as (

    select
        bounded.*,
        last_day.followers,
        last_day.is_estimated,
        day_before.followers as followers_start,
        period_end_day.{{ reach_source }} as {{ reach_col }}
    from bounded
    inner join account_daily as last_day
        on bounded.platform = last_day.platform
        and bounded.account_id = last_day.account_id
        and bounded.last_metric_date = last_day.metric_date
    left join account_daily as day_before
        on bounded.platform = day_before.platform
        and bounded.account_id = day_before.account_id
        and bounded.{{ start_col }} - 1 = day_before.metric_date
    left join account_daily as period_end_day
        on bounded.platform = period_end_day.platform
        and bounded.account_id = period_end_day.account_id
        and bounded.{{ end_col }} = period_end_day.metric_date

),

rated as (

    select
        *,
        (followers - followers_start) / nullif(followers_start, 0) as growth_rate,
        engagements / nullif(views, 0) as engagement_rate_by_views,
        engagements / nullif(followers, 0) as engagement_rate_by_followers,
        engagements / nullif({{ reach_col }}, 0) as engagement_rate_by_reach
    from with_boundaries

),

{# What the previous period / previous year columns compare with: the periods just computed
   and, in an incremental run, the year of periods the model already holds before them. #}
comparable as (

    select
        platform, account_id, {{ start_col }},
        {%- if grain == 'week' %} iso_year, iso_week,{%- endif %}
        {{ compared | join(', ') }}
    from rated
    where {{ start_col }} >= output_from
    {%- if watermark is not none %}
    union all
    select
        held.platform, held.account_id, held.{{ start_col }},
        {%- if grain == 'week' %} held.iso_year, held.iso_week,{%- endif %}
        {%- for metric in compared %}
        held.{{ metric }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ this }} as held
    inner join rebuild_plan
        on held.platform = rebuild_plan.platform
        and held.account_id = rebuild_plan.account_id
        and held.{{ start_col }} < rebuild_plan.output_from
        and held.{{ start_col }} >= cast(rebuild_plan.output_from - {{ history }} as date)
    {%- endif %}

),

compared as (

    select
        current_period.*,
        {%- for metric in compared %}
        previous_period.{{ metric }} as {{ metric }}_{{ previous }},
        previous_year.{{ metric }} as {{ metric }}_previous_year{{ ',' if not loop.last }}
        {%- endfor %}
    from rated as current_period
    left join comparable as previous_period
        on current_period.platform = previous_period.platform
        and current_period.account_id = previous_period.account_id
        {%- if grain == 'week' %}
        and current_period.{{ start_col }} - 7 = previous_period.{{ start_col }}
        {%- else %}
        and current_period.{{ start_col }} - interval 1 month = previous_period.{{ start_col }}
        {%- endif %}
    left join comparable as previous_year
        on current_period.platform = previous_year.platform
        and current_period.account_id = previous_year.account_id
        {%- if grain == 'week' %}
        and current_period.iso_year - 1 = previous_year.iso_year
        and current_period.iso_week = previous_year.iso_week
        {%- else %}
        and current_period.{{ start_col }} - interval 1 year = previous_year.{{ start_col }}
        {%- endif %}

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['platform', 'account_id', start_col]) }} as account_{{ grain }}_id,
        platform,
        account_id,
        {{ start_col }},
        {{ end_col }},
        {%- if grain == 'week' %}
        iso_year,
        iso_week,
        {%- endif %}
        department,

        ---------- completeness
        cast(days_in_period as integer) as days_in_period,
        cast(days_with_data as integer) as days_with_data,
        cast(days_with_net_followers as integer) as days_with_net_followers,
        days_with_data = days_in_period as is_complete_period,

        ---------- followers
        followers_start,
        followers,
        is_estimated,
        followers_gained,
        followers_lost,
        net_followers,
        growth_rate,

        ---------- reach, views, engagement
        views,
        {{ reach_col }},
        engagements,
        watch_time_minutes,
        posts_published,
        engagement_rate_by_views,
        engagement_rate_by_followers,
        engagement_rate_by_reach,

        ---------- previous period, previous year and changes
        {%- for metric in compared %}
        {{ metric }}_{{ previous }},
        {{ metric }}_previous_year,
        ({{ metric }} - {{ metric }}_{{ previous }})
            / nullif(abs({{ metric }}_{{ previous }}), 0) as {{ metric }}_{{ change_suffix }},
        ({{ metric }} - {{ metric }}_previous_year)
            / nullif(abs({{ metric }}_previous_year), 0) as {{ metric }}_yoy_pct,
        {%- endfor %}

        ---------- lineage
        loaded_through_at

    from compared
    where {{ start_col }} >= output_from

)

select * from final
{%- endmacro %}
