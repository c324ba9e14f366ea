{#
    The rebuild plan of the incremental marts rewritten per account (fct_account_daily,
    fct_follower_growth_daily, fct_account_weekly/monthly).

    rebuild_plan_of(days, output_from, watermark): one row per platform x account of `days` (a CTE
    with platform, account_id, metric_date and, with a watermark, loaded_through_at) and
    `output_from`, the first day (or period start) the run writes: the aggregate `output_from`
    over the account's days recomputed after `watermark`, or over all its days when watermark is
    none (a full build, or `days` holds only touched days).

    days_in_rebuild_plan(days, days_before): the rows of `days` from `days_before` days before
    their account's output_from on (the history the windows and comparisons need), with
    output_from; reads the CTE `rebuild_plan`.

    touched_account_days(inputs, watermark): platform, account_id and day of every row of the
    `inputs` loaded after `watermark` (each a CTE name, read by last_loaded_at and metric_date,
    or a list [CTE, loaded-at column, day column]), and every account's last
    var daily_lookback_days days held in the model (always rewritten).
#}
{% macro rebuild_plan_of(days, output_from='min(metric_date)', watermark=none) -%}
    select
        platform,
        account_id,
        {{ output_from }} as output_from
    from {{ days }}
    {%- if watermark is not none %}
    where loaded_through_at > {{ watermark }}
    {%- endif %}
    group by platform, account_id
{%- endmacro %}

{% macro days_in_rebuild_plan(days, days_before=0) -%}
    select
        {{ days }}.*,
        rebuild_plan.output_from
    from {{ days }}
    inner join rebuild_plan
        on {{ days }}.platform = rebuild_plan.platform
        and {{ days }}.account_id = rebuild_plan.account_id
        and {{ days }}.metric_date >= rebuild_plan.output_from - {{ days_before }}
{%- endmacro %}

{% macro touched_account_days(inputs, watermark) -%}
    {%- for input in inputs %}
    {%- set relation, loaded_column, date_column = (
        [input, 'last_loaded_at', 'metric_date'] if input is string else input
    ) %}
    select platform, account_id, {{ date_column }} from {{ relation }}
    where {{ loaded_column }} > {{ watermark }}
    union all
    {%- endfor %}
    select platform, account_id, max(metric_date) - {{ var('daily_lookback_days') - 1 }}
    from {{ this }}
    group by platform, account_id
{%- endmacro %}
