{#
    One row per Facebook post: its metadata from raw.objects (the `/published_posts` listing), the
    latest listing of the post wins. published_at is UTC; content_type is the Graph API
    `status_type` (added_photos, added_video, shared_story, mobile_status_update, ...).

    Incremental (delete+insert on post_id): a run reads only the listings of loads committed after
    the model's newest last_loaded_at and compares them with the row it already holds, so the cost
    follows the new listings, not the growing raw.objects. Logic: macro latest_object_listing.
#}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'post_id'],
) }}

{{ latest_object_listing(source('facebook', 'objects'), 'facebook', 'post', 'post_id') }}
