{#
    Grain test: no two rows share the values of `combination_of_columns`.
    A local version of dbt_utils.unique_combination_of_columns (no hub packages offline).
    Failing rows are the duplicated key values with their row count.

    recent_column (optional): the model's load watermark column (last_loaded_at,
    loaded_through_at) or a date. Then only keys with a row whose recent_column lies within var
    data_test_recent_days days of the newest load (of the newest value, for a date) are checked,
    with all their rows (old ones included). For incremental models that is sound: rows no run
    rewrote cannot have become duplicates since the check that already passed over them, and a
    full build stamps every row as recent. The bound and the recent keys' date range are computed
    first and inlined (macros/data_test_recent.sql), so the check reads the recent slice of the
    model, not all of it: the nightly cost follows the rows rewritten, not the history. Set the
    var to null (`--vars '{data_test_recent_days: null}'`) to check everything.

    A model that also has column checks states its grain in its column_checks test instead (one
    node; macros/test_column_checks.sql), which reads the same rows through grain_duplicates.
#}
{% test unique_combination_of_columns(model, combination_of_columns, recent_column=none) %}
{{ grain_duplicates(model, combination_of_columns, recent_column) }}
{% endtest %}


{#
    The duplicated keys of `model` on `key_columns` (one row per key value seen more than once,
    with its n_rows), over the recent slice when recent_column is given (see above).
#}
{% macro grain_duplicates(model, key_columns, recent_column=none) -%}
{%- set threshold = recent_threshold(model, recent_column) %}
{%- set key = key_columns | join(', ') %}
select
    {{ key_columns | join(',\n    ') }},
    count(*) as n_rows
from (
    select * from {{ model }}
    {%- if threshold is not none %}
    semi join (
        select distinct {{ key }}
        from {{ model }}
        where {{ recent_column }} >= {{ threshold }}
    ) as recent_keys
        using ({{ key }})
    where {{ recent_key_bounds(model, key_columns, recent_column, threshold) }}
    {%- endif %}
) as checked
group by {{ key }}
having count(*) > 1
{%- endmacro %}
