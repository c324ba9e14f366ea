{#
    One row per metric the platform refused at run time as retired or invalid
    (`(#100) ... valid insights metric`): the metric is skipped from then on and reported here.
#}

with

source as (

    select * from {{ source('pipeline', 'metric_registry_events') }}

),

renamed as (

    select
        ---------- ids
        run_id,
        platform,

        ---------- attributes
        metric_name,
        error_code,
        message as error_message,

        ---------- timestamps
        detected_at

    from source

)

select * from renamed
