{#
    clustered_by_day(): the `order by metric_date` that ends the final select of the big
    incremental models keyed by day (and of int_post_metrics_pivoted, whose re-pivoted posts carry
    their newest snapshot day). It changes no row, only where rows lie on disk: a full build
    writes the days in order and every incremental run appends its recent days after them, so
    DuckDB's per-row-group min/max of metric_date lets the nightly's day-bounded scans (the bounded
    delete of delete+insert, select_from_day, the grain tests' recent key range) skip every row
    group of older days. Unsorted, a full build scattered the days over all row groups (the window
    and join outputs are in hash order), so each of those scans read the whole history (issue 21:
    26 of 26 row groups of base_instagram__observations for one week of days).
#}
{% macro clustered_by_day() -%}
order by metric_date
{%- endmacro %}
