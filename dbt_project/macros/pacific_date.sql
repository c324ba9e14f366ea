{#
    The calendar date of a timestamptz in the platform's reporting time zone (Meta and YouTube
    report Pacific days). Meta's `end_time` is the *end* of the measured day, so the measured day is
    pacific_date(end_time) - 1; the loader already stores that as `metric_date`.
#}
{% macro pacific_date(timestamp_column) -%}
    cast(timezone('{{ var("platform_timezone") }}', {{ timestamp_column }}) as date)
{%- endmacro %}
