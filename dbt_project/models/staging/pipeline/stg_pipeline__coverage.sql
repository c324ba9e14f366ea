{#
    One row per coverage-ledger entry: a range of platform days (since..until, inclusive) of one
    endpoint/metric of one account, when it was fetched and with what outcome (ok | failed |
    retired). Append-only: a range re-fetched later appears again.
#}

with

source as (

    select * from {{ source('pipeline', 'coverage') }}

),

renamed as (

    select
        ---------- ids
        platform,
        account_id,
        load_id,

        ---------- attributes
        endpoint,
        metric_name,
        outcome as coverage_outcome,

        ---------- dates / timestamps
        since as covered_since_date,
        until as covered_until_date,
        fetched_at

    from source

)

select * from renamed
