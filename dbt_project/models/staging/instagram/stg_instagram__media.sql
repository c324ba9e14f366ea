{#
    One row per Instagram media: its metadata from raw.objects (the `/media` listing), the
    latest listing of the media wins. published_at is UTC; content_type is the
    `media_type` (IMAGE, VIDEO, CAROUSEL_ALBUM); product_type is `media_product_type`
    (FEED, REELS, STORY).

    Incremental (delete+insert on media_id): a run reads only the listings of loads committed after
    the model's newest last_loaded_at and compares them with the row it already holds, so the cost
    follows the new listings, not the growing raw.objects.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['platform', 'media_id'],
    on_schema_change='append_new_columns',
) }}
{%- set load_ids = new_load_ids() %}

with

source as (

    select * from {{ source('instagram', 'objects') }}
    where platform = 'instagram'
        and object_type = 'media'
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
        source.account_id,
        source.object_id,
        source.load_id,
        source.content_type,
        source.product_type,
        source.permalink,
        source.caption,
        source.published_at,
        source.observed_at,
        coalesce(loads.committed_at, source.observed_at) as last_loaded_at
    from source
    left join loads
        on source.load_id = loads.load_id
    {%- if load_ids is not none %}
    union all
    select
        platform,
        account_id,
        media_id as object_id,
        load_id,
        content_type,
        product_type,
        permalink,
        caption,
        published_at,
        observed_at,
        last_loaded_at
    from {{ this }}
    where media_id in (select object_id from source)
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
        object_id as media_id,
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
