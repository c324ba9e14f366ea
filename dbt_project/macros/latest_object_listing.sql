{#
    The body of the object listing models (stg_facebook__posts, stg_instagram__media): one row per
    listed object of `platform` / `object_type` from raw.objects, the latest listing wins, with
    `last_loaded_at` the newest load that listed it.

    Incremental (delete+insert on platform and the id): a run reads only the listings of loads
    committed after the model's newest last_loaded_at (macro new_load_ids) and compares them with
    the row it already holds, so the cost follows the new listings, not the growing raw.objects.

    Args:
        source_relation: the platform's source() of raw.objects.
        platform: the platform to keep.
        object_type: post | media.
        id_column: the model's name for the object id (post_id, media_id).
#}
{% macro latest_object_listing(source_relation, platform, object_type, id_column) -%}
{%- set load_ids = new_load_ids() %}
{#- What a listing says about its object, read from raw.objects and from the model alike. #}
{%- set listed = [
    'account_id', 'load_id', 'content_type', 'product_type', 'permalink', 'caption',
    'published_at', 'observed_at',
] %}

with

source as (

    select * from {{ source_relation }}
    where platform = '{{ platform }}'
        and object_type = '{{ object_type }}'
    {%- if load_ids is not none %}
        and load_id in {{ load_id_list(load_ids) }}
    {%- endif %}

),

loads as (

    select * from {{ source('registry', 'loads') }}

),

listings as (

    select
        source.platform,
        source.object_id,
        {%- for column in listed %}
        source.{{ column }},
        {%- endfor %}
        coalesce(loads.committed_at, source.observed_at) as last_loaded_at
    from source
    left join loads
        on source.load_id = loads.load_id
    {%- if load_ids is not none %}
    union all
    select
        platform,
        {{ id_column }} as object_id,
        {%- for column in listed %}
        {{ column }},
        {%- endfor %}
        last_loaded_at
    from {{ this }}
    where {{ id_column }} in (select object_id from source)
    {%- endif %}

),

latest_listing as (

    select
        *,
        max(last_loaded_at) over (partition by platform, object_id) as touched_at
    from listings
    qualify row_number() over (
        partition by platform, object_id order by {{ latest_observation_order() }}
    ) = 1

),

renamed as (

    select
        ---------- ids
        platform,
        account_id,
        object_id as {{ id_column }},
        load_id,

        ---------- attributes
        content_type,
        product_type,
        permalink,
        caption,

        ---------- timestamps
        published_at,
        observed_at,
        touched_at as last_loaded_at

    from latest_listing

)

select * from renamed
{%- endmacro %}
