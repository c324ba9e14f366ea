{#
    One row per YouTube channel x report end day x age group x gender: the latest
    `viewerPercentage` of the Analytics `ageGroup,gender` report over the 28 days ending on
    metric_date. A share of the channel's VIEWS (0-100, summing to 100 over the breakdown), not a
    count of people. Breakdown values are kept as delivered (`age18-24`, `female`).
#}

with

observations as (

    select * from {{ ref('base_youtube__observations') }}
    where object_type = 'account'
        and metric_source = 'insights'
        and metric_name = 'viewerPercentage'
        and dimension = 'ageGroup,gender'

),

renamed as (

    select
        ---------- ids
        platform,
        account_id,

        ---------- breakdown
        split_part(dimension_value, ',', 1) as age_group_as_delivered,
        split_part(dimension_value, ',', 2) as gender_as_delivered,
        period,

        ---------- dates / timestamps
        metric_date,
        observed_at,
        last_loaded_at,

        ---------- numerics
        metric_value as viewer_percentage

    from observations

)

select * from renamed
