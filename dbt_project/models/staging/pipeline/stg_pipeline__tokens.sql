{#
    One row per token check (debug_token): whether the token named by token_ref (the environment
    variable / connection name, never the token) was valid, when it and its data access expire
    (NULL = never), and which required scopes it lacks.
#}

with

source as (

    select * from {{ source('pipeline', 'tokens') }}

),

renamed as (

    select
        ---------- ids
        token_ref,
        platform,

        ---------- attributes
        is_valid as is_token_valid,
        coalesce(scopes, []) as scopes,
        coalesce(missing_scopes, []) as missing_scopes,

        ---------- timestamps
        checked_at,
        expires_at as token_expires_at,
        data_access_expires_at

    from source

)

select * from renamed
