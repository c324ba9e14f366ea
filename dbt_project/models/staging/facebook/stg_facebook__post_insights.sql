{#
    One row per Facebook post x lifetime metric (name, breakdown) x snapshot day: the latest
    observation of that key. Post insights are lifetime-to-date values: metric_date is the day the
    value stands for ("end of that day"), so a post has one value per metric per night it was
    fetched. Never sum them across days; take the latest day.
#}

with

observations as (

    select * from {{ ref('base_facebook__observations') }}
    where object_type = 'post'
        and metric_source = 'insights'

),

renamed as (

    select
        ---------- ids
        platform,
        account_id,
        object_id as post_id,
        load_id,

        ---------- metric key
        metric_name,
        period,
        metric_type,
        dimension,
        dimension_value,

        ---------- dates / timestamps
        metric_date,
        observed_at,
        last_loaded_at,

        ---------- numerics
        metric_value,
        observation_count,
        restatement_count

    from observations

)

select * from renamed
