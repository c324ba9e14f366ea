{#
    One row per Facebook Page x metric (name, period, metric_type, breakdown) x measured day: the
    latest observation of that key (deduplicated in base_facebook__observations).
    `restatement_count` measures how often Meta changed the value after first delivering it
    (distinct values seen - 1); `observation_count` counts the fetches. metric_date is the measured
    Pacific day (the loader already subtracted one day from end_time).
#}

with

observations as (

    select * from {{ ref('base_facebook__observations') }}
    where object_type = 'account'
        and metric_source = 'insights'

),

renamed as (

    select
        ---------- ids
        platform,
        account_id,
        load_id,
        response_id,

        ---------- metric key
        metric_source,
        metric_name,
        period,
        metric_type,
        dimension,
        dimension_value,

        ---------- dates / timestamps
        metric_date,
        end_time,
        observed_at,
        last_loaded_at,

        ---------- numerics
        metric_value,
        observation_count,
        restatement_count

    from observations

)

select * from renamed
