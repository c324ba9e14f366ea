{#
    Day semantics check for Meta insights: `end_time` marks the end of a Pacific day, so the
    measured day (`metric_date`) must be the Pacific date of `end_time` minus one. Rows without an
    end_time (total_value metrics, node fields) are not checked.
#}
{% test metric_date_is_day_before_end_time(model, column_name, end_time_column='end_time') %}

select
    {{ column_name }},
    {{ end_time_column }}
from {{ model }}
where {{ end_time_column }} is not null
    and {{ column_name }} <> {{ pacific_date(end_time_column) }} - 1

{% endtest %}
