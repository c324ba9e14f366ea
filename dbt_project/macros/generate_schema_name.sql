{#
    Use the folder's custom schema verbatim (`marts`, not `main_marts`): the marts schema is part
    of the contract (ARCHITECTURE.md), and BI users query `marts.<mart>`. Models without a custom
    schema land in the target schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
