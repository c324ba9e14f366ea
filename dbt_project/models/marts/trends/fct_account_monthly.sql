{#
    One row per platform x account x calendar month (month_start = the 1st): followers at the end
    of the month, summed flows/views/engagements/posts, the platform's own 28-day reach at month
    end, rates, and the previous month's and previous year's values with MoM and YoY changes.
    Logic and config (incremental on platform, account_id, month_start): macro
    account_period_rollup (macros/account_period_rollup.sql).
#}
{{ account_period_rollup('month') }}
