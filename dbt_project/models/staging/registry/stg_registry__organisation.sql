{#
    One row: the organisation from the registry (config/accounts.yml as of the latest load), with
    its population, the denominator of every "per 1,000 residents" figure.
#}

with

source as (

    select * from {{ source('registry', 'organisation') }}

),

renamed as (

    select
        ---------- attributes
        name as organisation_name,
        timezone as organisation_timezone,

        ---------- numerics
        population,
        population_by_age,

        ---------- timestamps
        loaded_at

    from source
    qualify row_number() over (order by loaded_at desc) = 1

)

select * from renamed
