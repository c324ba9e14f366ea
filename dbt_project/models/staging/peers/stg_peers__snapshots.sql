{#
    One row per peer account x snapshot day: the public counts of the latest snapshot of that day
    (a re-run of a night replaces, never adds). snapshot_date is the Pacific day the current counts
    stand for (the day before the nightly read them), the same day semantics as the own accounts'
    snapshots. followers is NULL when a YouTube owner hides the count; YouTube counts are rounded.
#}

with

source as (

    select * from {{ source('peers', 'peer_snapshots') }}

),

latest as (

    select
        ---------- ids
        response_id,
        platform,
        ref as account_ref,

        ---------- attributes
        peer_name as organisation_name,
        peer_group,
        department,
        account_name,

        ---------- numerics
        population,
        followers,
        fan_count,
        media_count,
        recent_media,

        ---------- booleans
        followers_hidden,
        followers_rounded,

        ---------- dates / timestamps
        snapshot_date,
        observed_at

    from source
    qualify row_number() over (
        partition by platform, ref, snapshot_date order by observed_at desc, load_id desc
    ) = 1

)

select * from latest
