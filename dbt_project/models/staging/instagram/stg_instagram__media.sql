{#
    One row per Instagram media: its metadata from raw.objects (the `/media` listing), the
    latest listing of the media wins. published_at is UTC; content_type is the
    `media_type` (IMAGE, VIDEO, CAROUSEL_ALBUM); product_type is `media_product_type`
    (FEED, REELS, STORY).

    Incremental on media_id, as stg_facebook__posts is on post_id (macro latest_object_listing:
    a run reads only the listings of loads committed since the model's newest last_loaded_at).
#}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'media_id'],
) }}

{{ latest_object_listing(source('instagram', 'objects'), 'instagram', 'media', 'media_id') }}
