{#
    The body of a base_<platform>__observations model: one row per observation key (macro
    observation_key) of one platform, the latest observation (latest_observation_order) with how
    often the key was fetched, how often its value changed, the first value delivered, and
    `last_loaded_at`: when a load last touched the key (the latest committed_at in raw.loads of its
    observations), the arrival marker every incremental model downstream plans its work with.

    Incremental runs (is_incremental()) take the loads committed after the newest last_loaded_at
    already in the model (minus var observation_lookback_hours of slack), find the keys they
    observed, and re-derive exactly those keys from all their observations (bounded below by the
    oldest metric_date among the arrivals, so most of raw.observations is skipped). Keyed by the
    observation key, a key processed twice yields the same row. Observations whose load is not in
    raw.loads are only picked up by a full refresh (the loader always writes the load row).

    Args:
        source_relation: the source() of raw.observations.
        loads_relation: the source() of raw.loads.
        platform: the platform to keep.
#}
{% macro deduplicate_observations(source_relation, loads_relation, platform) -%}
{%- set key = observation_key() -%}
{%- set arrival = none -%}
{%- if is_incremental() and execute and has_column(this, 'last_loaded_at') -%}
    {%- set arrival_query -%}
        with watermark as (
            select coalesce(
                max(last_loaded_at) - interval {{ var('observation_lookback_hours') }} hour,
                timestamptz '1970-01-01 00:00:00+00'
            ) as loaded_after
            from {{ this }}
        ),

        new_loads as (
            select load_id from {{ loads_relation }}
            where committed_at > (select loaded_after from watermark)
        )

        select
            load_id,
            (
                select min(metric_date) from {{ source_relation }}
                where platform = '{{ platform }}'
                    and load_id in (select load_id from new_loads)
            ) as first_metric_date
        from new_loads
        order by load_id
    {%- endset -%}
    {%- set rows = run_query(arrival_query).rows -%}
    {%- set arrival = [
        rows | map(attribute=0) | list,
        (rows[0][1] if rows | length > 0 and rows[0][1] is not none else '9999-12-31'),
    ] -%}
{%- endif %}

with

source as (

    select * from {{ source_relation }}
    where platform = '{{ platform }}'
    {%- if arrival is not none %}
        and metric_date >= date '{{ arrival[1] }}'
    {%- endif %}

),

loads as (

    select load_id, committed_at from {{ loads_relation }}

),

{% if arrival is not none -%}
arrived_keys as (

    select distinct {{ key | join(', ') }}
    from source
    where load_id in (
        {%- for load_id in arrival[0] %}'{{ load_id }}'{{ ', ' if not loop.last }}{% endfor -%}
        {%- if arrival[0] | length == 0 %}null{% endif -%}
    )

),

observations as (

    select source.*
    from source
    semi join arrived_keys
        using ({{ key | join(', ') }})

),
{%- else -%}
observations as (

    select * from source

),
{%- endif %}

loaded as (

    select
        observations.*,
        coalesce(loads.committed_at, observations.observed_at) as committed_at
    from observations
    left join loads
        on observations.load_id = loads.load_id

),

ranked as (

    select
        *,
        count(*) over observation as observation_count,
        count(distinct value) over observation - 1 as restatement_count,
        row_number() over (
            observation order by {{ latest_observation_order() }}
        ) as recency_rank,
        first_value(value) over (
            observation order by observed_at, load_id
            rows between unbounded preceding and unbounded following
        ) as first_metric_value,
        min(observed_at) over observation as first_observed_at,
        max(committed_at) over observation as last_loaded_at
    from loaded
    window observation as (partition by {{ key | join(', ') }})

),

renamed as (

    select
        ---------- ids
        platform,
        account_id,
        object_type,
        object_id,
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
        first_observed_at,
        last_loaded_at,

        ---------- numerics
        value as metric_value,
        first_metric_value,
        observation_count,
        restatement_count

    from ranked
    where recency_rank = 1

)

select * from renamed
{{ clustered_by_day() }}
{%- endmacro %}
