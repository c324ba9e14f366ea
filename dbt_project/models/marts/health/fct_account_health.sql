{#
    One row per platform x account (registered, or with pipeline runs): is the account's data
    loading, fresh and complete, and what needs fixing? As of var health_as_of_at (default: the
    build's now()); metric_date is that instant's Pacific platform day.

      runs       the latest run's status and error, consecutive failed runs, the last load that
                 committed data (status ok or partial) and how many hours ago it was (stale after
                 var stale_after_hours)
      data       the last platform day with a measured metric and the lag to metric_date
      coverage   per endpoint/metric of the coverage ledger, the days between the first and last
                 covered day that no `ok` (or `retired`) range covers: interior gaps that a
                 backfill should fill (the trailing edge is freshness, not a gap)
      tokens     raw.tokens has no account key, so an account gets its platform's tokens (latest
                 check of each token_ref): valid only if all are, the earliest expiry, the union
                 of missing scopes
      metrics    retired metrics: the account's runs' retired_metrics, its `retired` coverage
                 ranges and the platform's metric_registry_events
    health_status: failing (last run failed, an invalid token, or stale), else warning (partial
    run, coverage gaps, token expiring within var token_expiry_warning_days days, missing scopes,
    retired metrics), else ok; `issues` lists the reasons.
#}

{%- set as_of_at -%}
    {%- if var('health_as_of_at') -%} timestamptz '{{ var('health_as_of_at') }}'
    {%- else -%} now() {%- endif -%}
{%- endset %}

with

account_runs as (

    select * from {{ ref('stg_pipeline__account_runs') }}

),

coverage as (

    select * from {{ ref('stg_pipeline__coverage') }}

),

tokens as (

    select * from {{ ref('stg_pipeline__tokens') }}

),

metric_registry_events as (

    select * from {{ ref('stg_pipeline__metric_registry_events') }}

),

registry_accounts as (

    select * from {{ ref('stg_registry__accounts') }}

),

account_daily as (

    select * from {{ ref('fct_account_daily') }}

),

accounts as (

    select platform, account_id from registry_accounts
    union
    select platform, account_id from account_runs

),

run_summary as (

    select
        platform,
        account_id,
        max(finished_at) as last_run_at,
        arg_max(run_status, finished_at) as last_run_status,
        arg_max(error_class, finished_at) as last_error_class,
        arg_max(error_code, finished_at) as last_error_code,
        arg_max(error_message, finished_at) as last_error_message,
        max(finished_at) filter (
            where run_status in ('ok', 'partial') and load_id is not null
        ) as last_successful_load_at,
        list_sort(list_distinct(flatten(list(retired_metrics)))) as run_retired_metrics
    from account_runs
    group by platform, account_id

),

consecutive_failures as (

    select
        account_runs.platform,
        account_runs.account_id,
        count(*) as consecutive_failed_runs
    from account_runs
    left join run_summary using (platform, account_id)
    where account_runs.run_status = 'failed'
        and account_runs.finished_at > coalesce(
            run_summary.last_successful_load_at, timestamptz '1970-01-01 00:00:00+00'
        )
    group by account_runs.platform, account_runs.account_id

),

last_data as (

    select
        platform,
        account_id,
        max(metric_date) as last_metric_date
    from account_daily
    where coalesce(views, engagements, net_followers, reach) is not null
    group by platform, account_id

),

{# Ranges that count as covered, merged per endpoint/metric (gaps-and-islands). #}
covered_ranges as (

    select
        platform,
        account_id,
        endpoint,
        metric_name,
        covered_since_date,
        covered_until_date,
        max(covered_until_date) over (
            partition by platform, account_id, endpoint, metric_name
            order by covered_since_date, covered_until_date
            rows between unbounded preceding and 1 preceding
        ) as covered_until_before
    from coverage
    where coverage_outcome in ('ok', 'retired')

),

coverage_gaps as (

    select
        platform,
        account_id,
        endpoint,
        metric_name,
        covered_until_before + 1 as gap_start_date,
        covered_since_date - 1 as gap_end_date
    from covered_ranges
    where covered_since_date > covered_until_before + 1

),

coverage_summary as (

    select
        platform,
        account_id,
        cast(count(*) as integer) as coverage_gaps,
        cast(sum(gap_end_date - gap_start_date + 1) as integer) as coverage_gap_metric_days,
        min(gap_start_date) as first_gap_date,
        list_sort(list_distinct(list(endpoint || '/' || metric_name))) as metrics_with_gaps
    from coverage_gaps
    group by platform, account_id

),

coverage_retired as (

    select
        platform,
        account_id,
        list_distinct(list(metric_name)) as coverage_retired_metrics
    from coverage
    where coverage_outcome = 'retired'
    group by platform, account_id

),

latest_tokens as (

    select * from tokens
    qualify row_number() over (partition by platform, token_ref order by checked_at desc) = 1

),

token_summary as (

    select
        platform,
        bool_and(coalesce(is_token_valid, false)) as is_token_valid,
        min(token_expires_at) as token_expires_at,
        max(checked_at) as token_checked_at,
        list_sort(list_distinct(flatten(list(missing_scopes)))) as missing_scopes
    from latest_tokens
    group by platform

),

platform_retired as (

    select
        platform,
        list_distinct(list(metric_name)) as platform_retired_metrics
    from metric_registry_events
    group by platform

),

joined as (

    select
        accounts.platform,
        accounts.account_id,
        registry_accounts.name as account_name,
        registry_accounts.department,
        registry_accounts.account_id is not null as is_registered,
        {{ as_of_at }} as as_of_at,
        {{ pacific_date(as_of_at) }} as metric_date,
        run_summary.last_run_at,
        run_summary.last_run_status,
        run_summary.last_error_class,
        run_summary.last_error_code,
        run_summary.last_error_message,
        cast(coalesce(consecutive_failures.consecutive_failed_runs, 0) as integer)
            as consecutive_failed_runs,
        run_summary.last_successful_load_at,
        date_diff('second', run_summary.last_successful_load_at, {{ as_of_at }}) / 3600
            as hours_since_successful_load,
        last_data.last_metric_date,
        coalesce(coverage_summary.coverage_gaps, 0) as coverage_gaps,
        coalesce(coverage_summary.coverage_gap_metric_days, 0) as coverage_gap_metric_days,
        coverage_summary.first_gap_date,
        coalesce(coverage_summary.metrics_with_gaps, []) as metrics_with_gaps,
        token_summary.is_token_valid,
        token_summary.token_expires_at,
        token_summary.token_checked_at,
        coalesce(token_summary.missing_scopes, []) as missing_scopes,
        list_sort(list_distinct(list_concat(
            coalesce(run_summary.run_retired_metrics, []),
            coalesce(coverage_retired.coverage_retired_metrics, []),
            coalesce(platform_retired.platform_retired_metrics, [])
        ))) as retired_metrics
    from accounts
    left join registry_accounts using (platform, account_id)
    left join run_summary using (platform, account_id)
    left join consecutive_failures using (platform, account_id)
    left join last_data using (platform, account_id)
    left join coverage_summary using (platform, account_id)
    left join coverage_retired using (platform, account_id)
    left join token_summary
        on accounts.platform = token_summary.platform
    left join platform_retired
        on accounts.platform = platform_retired.platform

),

assessed as (

    select
        *,
        cast(metric_date - last_metric_date as integer) as data_lag_days,
        date_diff('second', as_of_at, token_expires_at) / 86400 as days_until_token_expiry,
        last_successful_load_at is null
            or hours_since_successful_load > {{ var('stale_after_hours') }} as is_stale
    from joined

),

with_issues as (

    select
        *,
        list_filter([
            case
                when last_run_status = 'failed'
                    then 'last run failed (' || coalesce(last_error_class, 'unknown') || ')'
            end,
            case when last_run_status = 'partial' then 'last run partial' end,
            case
                when is_stale
                    then 'no successful load for over {{ var("stale_after_hours") }} hours'
            end,
            case when is_token_valid = false then 'token invalid' end,
            case
                when days_until_token_expiry <= {{ var('token_expiry_warning_days') }}
                    then 'token expires within {{ var("token_expiry_warning_days") }} days'
            end,
            case when len(missing_scopes) > 0 then 'missing scopes' end,
            case when coverage_gaps > 0 then 'coverage gaps' end,
            case when len(retired_metrics) > 0 then 'retired metrics' end
        ], lambda issue: issue is not null) as issues
    from assessed

),

final as (

    select
        ---------- keys
        {{ surrogate_key(['platform', 'account_id']) }} as account_health_id,
        platform,
        account_id,
        metric_date,
        account_name,
        department,
        is_registered,

        ---------- status
        case
            when last_run_status = 'failed' or is_token_valid = false or is_stale
                then 'failing'
            when len(issues) > 0 then 'warning'
            else 'ok'
        end as health_status,
        issues,

        ---------- runs and freshness
        last_run_at,
        last_run_status,
        last_error_class,
        last_error_code,
        last_error_message,
        consecutive_failed_runs,
        last_successful_load_at,
        hours_since_successful_load,
        is_stale,
        last_metric_date,
        data_lag_days,

        ---------- coverage
        coverage_gaps,
        coverage_gap_metric_days,
        first_gap_date,
        metrics_with_gaps,

        ---------- tokens and metrics
        is_token_valid,
        token_expires_at,
        days_until_token_expiry,
        token_checked_at,
        missing_scopes,
        retired_metrics,

        ---------- timestamps
        as_of_at

    from with_issues

)

select * from final
