{#
    One row per Instagram account x metric (name, period, metric_type, breakdown) x measured day:
    the latest observation of that key. `restatement_count` measures how often Meta changed the
    value after first delivering it (distinct values seen - 1); `observation_count` counts the
    fetches. metric_date is the measured Pacific day (the loader converts end_time as for Facebook).
    Instagram breakdowns (follows_and_unfollows by follow_type) are kept as separate rows.
#}
{%- set key = observation_key() %}

with

source as (

    select * from {{ source('instagram', 'observations') }}
    where platform = 'instagram'
        and source = 'insights'

),

ranked as (

    select
        *,
        count(*) over observation as observation_count,
        count(distinct value) over observation - 1 as restatement_count,
        row_number() over (
            observation order by {{ latest_observation_order() }}
        ) as recency_rank
    from source
    window observation as (partition by {{ key | join(', ') }})

),

renamed as (

    select
        ---------- ids
        platform,
        account_id,
        load_id,
        response_id,

        ---------- metric key
        source as metric_source,
        metric_name,
        period,
        metric_type,
        dimension,
        dimension_value,

        ---------- dates / timestamps
        metric_date,
        end_time,
        observed_at,

        ---------- numerics
        value as metric_value,
        observation_count,
        restatement_count

    from ranked
    where recency_rank = 1

)

select * from renamed
