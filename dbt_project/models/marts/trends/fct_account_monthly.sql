{#
    One row per platform x account x calendar month (month_start = the 1st): followers at the end
    of the month, summed flows/views/engagements/posts, the platform's own 28-day reach at month
    end, rates, and the previous month's and previous year's values with MoM and YoY changes.
    Logic: macro account_period_rollup (macros/account_period_rollup.sql).
#}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'account_id', 'month_start'],
    post_hook=["{{ refresh_account_attributes(this, per_1000=false) }}"],
) }}

{{ account_period_rollup('month') }}
