{#
    One row per platform x account in the registry (config/accounts.yml as of the latest load).
    The loader replaces raw.accounts atomically; the dedup only guards against a double load.
#}

with

source as (

    select * from {{ source('registry', 'accounts') }}

),

renamed as (

    select
        ---------- ids
        platform,
        account_id,
        linked_account_id,

        ---------- attributes
        name,
        department,
        audience,

        ---------- dates / timestamps
        active_from,
        active_until,
        loaded_at

    from source
    qualify row_number() over (
        partition by platform, account_id order by loaded_at desc
    ) = 1

)

select * from renamed
