{#
    Helpers of the data tests that check only what recent runs rewrote (var data_test_recent_days;
    null checks everything).

    recent_threshold(model, recent_column): a SQL literal, the lower bound of recent_column for
    "rewritten in the last data_test_recent_days days", or none (var null, or at parse time).
    Computed before the test runs and inlined, so the filter pushes down to the scans of tables
    and of the views' underlying tables (a scalar subquery would not). For the load watermark
    columns (last_loaded_at, loaded_through_at: committed_at values of raw.loads) the bound is
    taken from raw.loads, the newest committed load minus the days, which costs nothing even on a
    view that aggregates; for a date column (metric_date) from the model itself.
#}
{% macro recent_threshold(model, recent_column) -%}
    {%- set recent_days = var('data_test_recent_days', none) -%}
    {%- if recent_column is none or recent_days is none or not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if recent_column in ('last_loaded_at', 'loaded_through_at') -%}
        {%- set query -%}
            select max(committed_at) - interval {{ recent_days }} day
            from {{ source('registry', 'loads') }}
            where status = 'committed'
        {%- endset -%}
        {%- set value = run_query(query).rows[0][0] -%}
        {{ return("timestamptz '" ~ value ~ "'" if value is not none else "timestamptz '9999-12-31 00:00:00+00'") }}
    {%- else -%}
        {%- set query -%}
            select cast(max({{ recent_column }}) - interval {{ recent_days }} day as date) from {{ model }}
        {%- endset -%}
        {%- set value = run_query(query).rows[0][0] -%}
        {{ return("date '" ~ value ~ "'" if value is not none else "date '9999-12-31'") }}
    {%- endif -%}
{%- endmacro %}

{#
    recent_key_bounds(model, key_columns, recent_column, threshold): for the DATE columns among
    key_columns, `column between <min> and <max>` over the recent rows, joined with 'and' (or
    'true'). Rows that share a key share its date, so a duplicate of a recent key lies within
    these bounds: the check scans only that range of the model (pushed down like the threshold).
#}
{% macro recent_key_bounds(model, key_columns, recent_column, threshold) -%}
    {%- set date_columns = relation_columns(model, data_type='DATE') | select('in', key_columns) | list -%}
    {%- if date_columns | length == 0 -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set query -%}
        select
            {%- for column in date_columns %}
            min({{ column }}), max({{ column }}){{ ',' if not loop.last }}
            {%- endfor %}
        from {{ model }}
        where {{ recent_column }} >= {{ threshold }}
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- set predicates = [] -%}
    {%- for column in date_columns -%}
        {%- set low, high = row[loop.index0 * 2], row[loop.index0 * 2 + 1] -%}
        {%- if low is none -%}
            {%- do predicates.append('false') -%}
        {%- else -%}
            {%- do predicates.append(column ~ " between date '" ~ low ~ "' and date '" ~ high ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(predicates | join(' and ')) }}
{%- endmacro %}
