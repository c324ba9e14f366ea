{#
    One row per run x platform x account: what the nightly (or backfill) run did for the account,
    from raw.account_runs. status ok | partial | failed; error_class says why (auth, permission,
    throttled, retired_metric, ...). The message is already redacted by the loader.
#}

with

source as (

    select * from {{ source('pipeline', 'account_runs') }}

),

renamed as (

    select
        ---------- ids
        run_id,
        load_id,
        platform,
        account_id,

        ---------- attributes
        status as run_status,
        error_class,
        error_code,
        error_subcode,
        message as error_message,
        fbtrace_id,
        coalesce(retired_metrics, []) as retired_metrics,

        ---------- numerics
        requests as request_count,

        ---------- dates / timestamps
        since as planned_since_date,
        until as planned_until_date,
        finished_at

    from source

)

select * from renamed
