{#
    One row per platform x account x ISO week (week_start = Monday): followers at the end of the
    week, summed flows/views/engagements/posts, the platform's own 7-day reach for the week, rates,
    and the previous week's and previous year's (same ISO week) values with WoW and YoY changes.
    Logic: macro account_period_rollup (macros/account_period_rollup.sql).
#}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'account_id', 'week_start'],
    post_hook=["{{ refresh_account_attributes(this, per_1000=false) }}"],
) }}

{{ account_period_rollup('week') }}
