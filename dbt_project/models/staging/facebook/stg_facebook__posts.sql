{#
    One row per Facebook post: its metadata from raw.objects (the `/published_posts` listing), the
    latest listing of the post wins. published_at is UTC; content_type is the Graph API
    `status_type` (added_photos, added_video, shared_story, mobile_status_update, ...).

    Incremental (delete+insert on post_id): a run reads only the listings of loads committed after
    the model's newest last_loaded_at and compares them with the row it already holds, so the cost
    follows the new listings, not the growing raw.objects.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['platform', 'post_id'],
    on_schema_change='append_new_columns',
) }}
{%- set load_ids = new_load_ids() %}

with

source as (

    select * from {{ source('facebook', 'objects') }}
    where platform = 'facebook'
        and object_type = 'post'
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
        post_id as object_id,
        load_id,
        content_type,
        product_type,
        permalink,
        caption,
        published_at,
        observed_at,
        last_loaded_at
    from {{ this }}
    where post_id in (select object_id from source)
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
        object_id as post_id,
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
