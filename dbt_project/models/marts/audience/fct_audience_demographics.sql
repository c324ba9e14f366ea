{#
    One row per platform x account x snapshot day x audience type x age group x gender: the
    account's audience in the cell (count and share), next to the population of the age group
    (residents, their share of the residents aged 13+, the audience per 1,000 residents of the age
    group) and the account's followers per 1,000 residents.

    Audience types: followers and engaged_audience (Instagram, counts), viewers (YouTube, shares of
    views only: counts and per-1,000 figures NULL). Counts are additive over accounts, genders and
    age groups, so department and platform figures are sums of this mart's counts (a person who
    follows two accounts counts twice). representation_index compares the age group's share of the
    audience with its share of the residents aged 13+ (1 = as in the population).

    Incremental (delete+insert on platform, account_id, metric_date): a run rewrites the account
    snapshot days whose cells a load touched after the model's newest last_loaded_at, or whose
    account total (fct_account_daily) was recomputed since; post-hooks
    clear is_latest_snapshot on superseded days and refresh the department.
#}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'account_id', 'metric_date'],
    post_hook=[
        "{{ refresh_account_attributes(this, per_1000=false) }}",
        "{{ clear_superseded_snapshots(this) }}",
    ],
) }}
{%- set watermark = incremental_watermark('last_loaded_at') %}
{%- set first_touched_date = none %}
{%- if watermark is not none and execute %}
    {%- set first_touched_query -%}
        select least(
            (select min(metric_date) from {{ ref('int_audience_demographics_unioned') }}
             where last_loaded_at > {{ watermark }}),
            (select min(metric_date) from {{ ref('fct_account_daily') }}
             where loaded_through_at > {{ watermark }})
        )
    {%- endset %}
    {%- set first_touched_date = run_query(first_touched_query).rows[0][0] or '9999-12-31' %}
{%- endif %}

with

demographics_all as (

    {{ select_from_day(ref('int_audience_demographics_unioned'), first_touched_date) }}

),

{%- if watermark is not none %}

{# Snapshot days with a newer cell, or whose account total was recomputed since. #}
touched_days as (

    select platform, account_id, metric_date from demographics_all
    where last_loaded_at > {{ watermark }}
    union
    select platform, account_id, metric_date from {{ ref('fct_account_daily') }}
    where loaded_through_at > {{ watermark }}
        and metric_date >= date '{{ first_touched_date }}'

),
{%- endif %}

demographics as (

    select
        *,
        case
            when audience_percentage is not null
                then audience_percentage / 100
            else audience_count / nullif(sum(audience_count) over account_audience, 0)
        end as audience_share
    from demographics_all
    {%- if watermark is not none %}
    semi join touched_days
        using (platform, account_id, metric_date)
    {%- endif %}
    window account_audience as (partition by platform, account_id, metric_date, audience_type)

),

population_by_age as (

    select * from {{ ref('stg_registry__population_by_age') }}

),

organisation as (

    select * from {{ ref('stg_registry__organisation') }}

),

{# Joined on the cells' day, all from first_touched_date on: the day bound skips older row groups. #}
account_daily as (

    {{ select_from_day(ref('fct_account_daily'), first_touched_date) }}

),

registry_accounts as (

    select * from {{ ref('stg_registry__accounts') }}

),

{# Residents in the age groups the platforms report (lower bound >= audience_min_age). #}
reported_ages as (

    select
        age_group,
        residents,
        residents / sum(residents) over () as population_share_of_age_group
    from population_by_age
    where try_cast(regexp_extract(age_group, '^(\d+)', 1) as integer)
        >= {{ var('audience_min_age') }}

),

shares as (

    select
        *,
        sum(audience_share) over age_group_cells as age_group_audience_share,
        metric_date = max(metric_date) over account_audience as is_latest_snapshot
    from demographics
    window
        age_group_cells as (
            partition by platform, account_id, metric_date, audience_type, age_group
        ),
        account_audience as (partition by platform, account_id, audience_type)

),

final as (

    select
        ---------- keys
        {{ surrogate_key([
            'shares.platform', 'shares.account_id', 'shares.metric_date', 'shares.audience_type',
            'shares.age_group', 'shares.gender',
        ]) }} as audience_cell_id,
        shares.platform,
        shares.account_id,
        shares.metric_date,
        registry_accounts.department,
        shares.audience_type,
        shares.age_group,
        shares.gender,
        shares.breakdown_as_delivered,

        ---------- audience
        shares.audience_count,
        shares.audience_share,
        shares.age_group_audience_share,

        ---------- population
        reported_ages.residents as residents_in_age_group,
        reported_ages.population_share_of_age_group,
        shares.age_group_audience_share / nullif(reported_ages.population_share_of_age_group, 0)
            as representation_index,
        shares.audience_count * 1000 / nullif(reported_ages.residents, 0)
            as audience_per_1000_residents_of_age_group,

        ---------- the account
        account_daily.followers as account_followers,
        account_daily.followers * 1000 / nullif(organisation.population, 0)
            as followers_per_1000_residents,
        shares.is_latest_snapshot,

        ---------- timestamps
        shares.observed_at,
        shares.last_loaded_at

    from shares
    left join reported_ages
        on shares.age_group = reported_ages.age_group
    left join account_daily using (platform, account_id, metric_date)
    left join registry_accounts using (platform, account_id)
    left join organisation
        on true

)

select * from final
{{ clustered_by_day() }}
