{#
    The body of fct_department_daily (group_by=['department', 'platform']) and
    fct_organisation_daily (group_by=['platform']): registered accounts' days from
    fct_account_daily added up per group and day.

    Additive metrics are summed: followers (a sum of account totals: a person who follows two
    accounts counts twice), flows, views, engagements, watch time, posts. Unique metrics (reach,
    7/28-day reach) are NOT summed and are absent: no platform delivers a unique reach across
    accounts. Rates are ratios of the sums. is_estimated is true when any account's total that day
    is estimated or unknown (accounts_with_followers < accounts).

    Incremental (delete+insert on the group and metric_date): a run rewrites every group's days
    from the earliest fct_account_daily day recomputed after the model's watermark
    (loaded_through_at). Moving an account to another department re-attributes its history only
    on a full refresh (`dbt build --full-refresh -s fct_department_daily`).
#}
{% macro account_daily_rollup(group_by) -%}
{%- set watermark = incremental_watermark() %}
{# The earliest recomputed day, as a literal: pushes down to the scan. #}
{%- set rewrite_from = day_bound(
    ref('fct_account_daily'),
    none if watermark is none else 'department is not null and ' ~ changed_after(watermark)
) %}

with

account_daily as (

    select * from {{ ref('fct_account_daily') }}
    where department is not null
    {%- if rewrite_from is not none %}
        and metric_date >= date '{{ rewrite_from }}'
    {%- endif %}

),

organisation as (

    select * from {{ ref('stg_registry__organisation') }}

),

aggregated as (

    select
        {{ group_by | join(',\n        ') }},
        metric_date,
        {%- if 'department' not in group_by %}
        cast(count(distinct department) as integer) as departments,
        {%- endif %}
        cast(count(*) as integer) as accounts,
        cast(count(followers) as integer) as accounts_with_followers,
        cast(sum(followers) as bigint) as followers,
        bool_or(is_estimated) or count(followers) < count(*) as is_estimated,
        {{ summed_additive_metrics() }},
        max(loaded_through_at) as loaded_through_at
    from account_daily
    group by {{ group_by | join(', ') }}, metric_date

),

final as (

    select
        ---------- keys
        {{ surrogate_key(group_by + ['metric_date']) }} as {{ group_by[0] }}_day_id,
        {%- if 'department' not in group_by %}
        organisation.organisation_name,
        {%- endif %}
        aggregated.*,

        ---------- rates
        engagements / nullif(views, 0) as engagement_rate_by_views,
        engagements / nullif(followers, 0) as engagement_rate_by_followers,
        followers * 1000 / nullif(organisation.population, 0) as followers_per_1000_residents

    from aggregated
    left join organisation
        on true

)

select * from final
{%- endmacro %}

