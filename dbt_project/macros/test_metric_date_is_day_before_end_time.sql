{#
    Day semantics check for Meta insights: `end_time` marks the end of a Pacific day, so the
    measured day (`metric_date`) must be the Pacific date of `end_time` minus one. Rows without an
    end_time (total_value metrics, node fields) are not checked.

    recent_column (optional, the model's last_loaded_at): check only the rows a load touched in
    the last var data_test_recent_days days (macro recent_threshold); older rows were checked by
    the runs that wrote them. Var null checks every row.
#}
{% test metric_date_is_day_before_end_time(model, column_name, end_time_column='end_time', recent_column=none) %}
{%- set threshold = recent_threshold(model, recent_column) %}

select
    {{ column_name }},
    {{ end_time_column }}
from {{ model }}
where {{ end_time_column }} is not null
    and {{ column_name }} <> {{ pacific_date(end_time_column) }} - 1
    {%- if threshold is not none %}
    and {{ recent_column }} >= {{ threshold }}
    {%- endif %}

{% endtest %}
