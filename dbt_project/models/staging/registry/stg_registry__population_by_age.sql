{#
    One row per age group of the organisation's residents (registry `population_by_age`, SCB-style
    groups such as 0-12, 13-17, 18-24, ..., 65+), with the count of residents. The labels are the
    registry's own; the audience marts map the platforms' age groups onto them.
#}

with

organisation as (

    select * from {{ source('registry', 'organisation') }}
    qualify row_number() over (order by loaded_at desc) = 1

),

age_groups as (

    select
        unnest(
            map_entries(json_transform(population_by_age, '"MAP(VARCHAR, BIGINT)"')),
            recursive := true
        )
    from organisation
    where population_by_age is not null

),

renamed as (

    select
        ---------- attributes
        key as age_group,

        ---------- numerics
        value as residents

    from age_groups

)

select * from renamed
