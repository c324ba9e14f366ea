{#
    md5 over the '|'-joined text of the columns, with a marker for NULL so that (NULL, 'a') and
    ('', 'a') differ. A local stand-in for dbt_utils.generate_surrogate_key (no hub packages
    offline).
#}
{% macro surrogate_key(columns) -%}
    md5(concat_ws('|'
    {%- for column in columns %},
        coalesce(cast({{ column }} as varchar), '_dbt_null_')
    {%- endfor %}
    ))
{%- endmacro %}
