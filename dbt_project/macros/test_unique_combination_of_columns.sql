{#
    Grain test: no two rows share the values of `combination_of_columns`.
    A local version of dbt_utils.unique_combination_of_columns (no hub packages offline).
    Failing rows are the duplicated key values with their row count.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(',\n    ') }},
    count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
