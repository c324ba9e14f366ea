{#
    Override of dbt-duckdb's delete+insert (same statements) that bounds the delete's scan of the
    target: for each DATE column of the unique key, the new rows' min and max are read first and
    added as literal predicates on the target, so DuckDB filters the target on that one column
    before joining on the whole key. Sound: a target row is deleted only when its key equals a
    new row's key, so its date lies within the new rows' range. Without it every nightly delete
    probed every row of the target (the cost grew with the history). Models whose key has no
    date column behave exactly as before.
#}
{% macro duckdb__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}

    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute="name")) -%}

    {% if unique_key %}
        {% if unique_key is sequence and unique_key is not string %}
            {%- set key_bounds = [] -%}
            {%- set date_keys = [] -%}
            {%- for column in dest_columns -%}
                {%- if column.name in unique_key and column.dtype | lower == 'date' -%}
                    {%- do date_keys.append(column.name) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if date_keys and execute -%}
                {%- set bounds_query -%}
                    select
                    {%- for key in date_keys %}
                        min({{ key }}), max({{ key }}){{ ',' if not loop.last }}
                    {%- endfor %}
                    from {{ source }}
                {%- endset -%}
                {%- set row = run_query(bounds_query).rows[0] -%}
                {%- for key in date_keys -%}
                    {%- set low, high = row[loop.index0 * 2], row[loop.index0 * 2 + 1] -%}
                    {%- if low is not none -%}
                        {%- do key_bounds.append(
                            'DBT_INCREMENTAL_TARGET.' ~ key ~ " between date '" ~ low ~ "' and date '" ~ high ~ "'"
                        ) -%}
                    {%- endif -%}
                {%- endfor -%}
            {%- endif %}
            delete from {{target }} as DBT_INCREMENTAL_TARGET
            using {{ source }}
            where (
                {% for key in unique_key %}
                    {{ source }}.{{ key }} = DBT_INCREMENTAL_TARGET.{{ key }}
                    {{ "and " if not loop.last}}
                {% endfor %}
                {% for bound in key_bounds %}
                    and {{ bound }}
                {% endfor %}
                {% if incremental_predicates %}
                    {% for predicate in incremental_predicates %}
                        and {{ predicate }}
                    {% endfor %}
                {% endif %}
            );
        {% else %}
            delete from {{ target }}
            where (
                {{ unique_key }}) in (
                select ({{ unique_key }})
                from {{ source }}
            )
            {%- if incremental_predicates %}
                {% for predicate in incremental_predicates %}
                    and {{ predicate }}
                {% endfor %}
            {%- endif -%};

        {% endif %}
    {% endif %}

    insert into {{ target }} ({{ dest_cols_csv }})
    (
        select {{ dest_cols_csv }}
        from {{ source }}
    )

{%- endmacro %}
