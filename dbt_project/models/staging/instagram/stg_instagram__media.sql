{#
    One row per Instagram media: its metadata from raw.objects (the `/media` listing), the
    latest listing of the media wins. published_at is UTC; content_type is the
    `media_type` (IMAGE, VIDEO, CAROUSEL_ALBUM); product_type is `media_product_type`
    (FEED, REELS, STORY).

    Incremental (delete+insert on media_id): a run reads only the listings of loads committed after
    the model's newest last_loaded_at and compares them with the row it already holds, so the cost
    follows the new listings, not the growing raw.objects. Logic: macro latest_object_listing.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['platform', 'media_id'],
    on_schema_change='append_new_columns',
) }}

{{ latest_object_listing(source('instagram', 'objects'), 'instagram', 'media', 'media_id') }}
