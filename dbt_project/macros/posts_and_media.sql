{#
    posts_and_media(facebook_relation, instagram_relation, columns, where): Facebook posts and
    Instagram media on one vocabulary (union all): platform, account_id, object_type ('post' or
    'media'), object_id (from post_id or media_id), then `columns`, from the two relations, with
    the condition `where` (SQL) on both when given. For the content models (int_posts_unioned,
    int_post_metrics_pivoted).
#}
{% macro posts_and_media(facebook_relation, instagram_relation, columns, where=none) -%}
    {%- for relation, object_type, id_column in [
        (facebook_relation, 'post', 'post_id'),
        (instagram_relation, 'media', 'media_id'),
    ] %}
    select
        platform,
        account_id,
        '{{ object_type }}' as object_type,
        {{ id_column }} as object_id,
        {%- for column in columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }}
    {%- if where is not none %}
    where {{ where }}
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
