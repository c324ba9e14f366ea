{#
    One row per recent Instagram media of a peer account as seen by the snapshot that
    stg_peers__snapshots keeps for its day (likes and comments at that moment).
#}

with

snapshots as (

    select response_id, account_ref, snapshot_date from {{ ref('stg_peers__snapshots') }}
    where platform = 'instagram'

),

media as (

    select * from {{ source('peers', 'peer_media') }}

),

joined as (

    select
        ---------- ids
        media.media_id,
        snapshots.account_ref,

        ---------- attributes
        media.media_product_type,

        ---------- numerics
        media.like_count,
        media.comments_count,

        ---------- dates / timestamps
        snapshots.snapshot_date,
        media.published_at,
        {{ pacific_date('media.published_at') }} as published_platform_date

    from media
    inner join snapshots on media.response_id = snapshots.response_id

)

select * from joined
