{#
    summed_additive_metrics(): the sums of fct_account_daily's additive metrics (flows, views,
    engagements, watch time, posts) as bigint columns of the same names, for the rollups over
    accounts (account_daily_rollup) and over days (account_period_rollup). Followers (a stock) and
    reach (unique) are never summed.
#}
{% macro summed_additive_metrics() -%}
    {%- set additive = [
        'followers_gained', 'followers_lost', 'net_followers', 'views', 'engagements',
        'watch_time_minutes', 'posts_published',
    ] -%}
    {%- for column in additive %}
        cast(sum({{ column }}) as bigint) as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
