{#
    One row per platform x calendar day for the whole organisation (every registered account of the
    platform): the accounts' days from fct_account_daily added up (additive metrics only; unique
    reach is never summed). Logic: macro account_daily_rollup.
#}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'metric_date'],
) }}

{{ account_daily_rollup(['platform']) }}
