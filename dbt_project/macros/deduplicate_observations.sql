{#
    The body of a base_<platform>__observations model: one row per observation key (macro
    observation_key) of one platform, the latest observation (observation_recency) with how
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

{#- One group per key (an aggregate, not windows: a hash aggregate over the key is ~2x cheaper
    than the two sorts of a window per key, issue 21). The latest observation's columns travel as
    one struct picked by arg_max, the first value as a one-field struct (arg_min would skip a NULL
    value; a struct is never NULL). -#}
observed as (

    select
        {{ key | join(',\n        ') }},
        arg_max(
            struct_pack(load_id, response_id, end_time, observed_at, value),
            {{ observation_recency() }}
        ) as latest,
        arg_min(struct_pack(value), {{ observation_recency() }}).value as first_metric_value,
        count(*) as observation_count,
        count(distinct value) - 1 as restatement_count,
        min(observed_at) as first_observed_at,
        max(committed_at) as last_loaded_at
    from loaded
    group by {{ key | join(', ') }}

),

renamed as (

    select
        ---------- ids
        platform,
        account_id,
        object_type,
        object_id,
        latest.load_id,
        latest.response_id,

        ---------- metric key
        source as metric_source,
        metric_name,
        period,
        metric_type,
        dimension,
        dimension_value,

        ---------- dates / timestamps
        metric_date,
        latest.end_time,
        latest.observed_at,
        first_observed_at,
        last_loaded_at,

        ---------- numerics
        latest.value as metric_value,
        first_metric_value,
        observation_count,
        restatement_count

    from observed

)

select * from renamed
{{ clustered_by_day() }}
{%- endmacro %}
