{#
    One row per department x platform x calendar day with at least one registered account of that
    department and platform: the accounts' days from fct_account_daily added up (additive metrics
    only; unique reach is never summed). Logic: macro account_daily_rollup.
#}
{{ config(
    materialized='incremental',
    unique_key=['department', 'platform', 'metric_date'],
) }}

{{ account_daily_rollup(['department', 'platform']) }}
