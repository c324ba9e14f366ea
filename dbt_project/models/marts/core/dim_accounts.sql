{#
    One row per platform x account: every account in the registry, plus any account that has
    observations but has since left the registry (is_registered = false, registry attributes NULL),
    so that every fact row has its dimension row and history is never orphaned.
    first/last_metric_date: the first and last day of the account in fct_account_daily (its first
    and last measured day with any daily insight or snapshot).
#}

with

registry_accounts as (

    select * from {{ ref('stg_registry__accounts') }}

),

account_daily as (

    select * from {{ ref('fct_account_daily') }}

),

observed_ranges as (

    select
        platform,
        account_id,
        min(metric_date) as first_metric_date,
        max(metric_date) as last_metric_date
    from account_daily
    group by platform, account_id

),

joined as (

    select
        ---------- keys
        coalesce(registry_accounts.platform, observed_ranges.platform) as platform,
        coalesce(registry_accounts.account_id, observed_ranges.account_id) as account_id,

        ---------- registry attributes
        registry_accounts.name,
        registry_accounts.department,
        registry_accounts.audience,
        registry_accounts.active_from,
        registry_accounts.active_until,
        registry_accounts.linked_account_id,

        ---------- coverage
        observed_ranges.first_metric_date,
        observed_ranges.last_metric_date,
        registry_accounts.account_id is not null as is_registered

    from registry_accounts
    full outer join observed_ranges
        on registry_accounts.platform = observed_ranges.platform
        and registry_accounts.account_id = observed_ranges.account_id

)

select * from joined
