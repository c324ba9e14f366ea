{#
    One row per platform x account x ISO week (week_start = Monday): followers at the end of the
    week, summed flows/views/engagements/posts, the platform's own 7-day reach for the week, rates,
    and the previous week's and previous year's (same ISO week) values with WoW and YoY changes.
    Logic and config (incremental on platform, account_id, week_start): macro
    account_period_rollup (macros/account_period_rollup.sql).
#}
{{ account_period_rollup('week') }}
