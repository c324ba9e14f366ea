{#
    The body of a platform's snapshot or insight staging model, read from its
    base_<platform>__observations (already one row per observation key, latest observation).
    Every platform stages its observations in one of two shapes, so the SQL lives here once and
    each staging model only says which observations it takes and what they are called:

    * pivot (snapshots, YouTube's daily report): one row per account x metric_date, one bigint
      column per metric (the latest observation, `max` over a single row per key and day), with
      the newest observed_at / last_loaded_at of the pivoted keys. `pivot` maps metric_name to
      column name, in column order; `aggregates` adds finished select expressions after them
      (e.g. the day's largest restatement_count).
    * rows (insights): one row per observation key with its metric key, dates and values.
      Account-level rows keep response_id, metric_source and end_time (the loader's day
      arithmetic is checked on them); object-level rows (posts, media) name the object id
      `object_id_as` instead.

    Args:
        relation: ref() of the platform's base_<platform>__observations.
        where: column -> string value; the observations where every one holds.
        pivot: metric_name -> column name; omitted = the rows shape.
        aggregates: extra select expressions of the pivot shape.
        object_id_as: the rows shape for an object (posts, media): the name of its id column.
#}
{% macro stage_observations(relation, where, pivot=none, aggregates=[], object_id_as=none) -%}
with

observations as (

    select * from {{ relation }}
    {%- for column, value in where.items() %}
    {{ 'where' if loop.first else '    and' }} {{ column }} = '{{ value }}'
    {%- endfor %}

),

{% if pivot is not none -%}
pivoted as (

    select
        ---------- ids
        platform,
        account_id,

        ---------- dates / timestamps
        metric_date,
        max(observed_at) as observed_at,
        max(last_loaded_at) as last_loaded_at,

        ---------- numerics
        {%- for metric_name, column_name in pivot.items() %}
        cast(max(metric_value) filter (where metric_name = '{{ metric_name }}') as bigint)
            as {{ column_name }}{{ ',' if not loop.last or aggregates }}
        {%- endfor %}
        {%- for expression in aggregates %}
        {{ expression }}{{ ',' if not loop.last }}
        {%- endfor %}

    from observations
    group by platform, account_id, metric_date

)

select * from pivoted
{%- else -%}
renamed as (

    select
        ---------- ids
        platform,
        account_id,
        {%- if object_id_as is not none %}
        object_id as {{ object_id_as }},
        load_id,
        {%- else %}
        load_id,
        response_id,
        {%- endif %}

        ---------- metric key
        {%- if object_id_as is none %}
        metric_source,
        {%- endif %}
        metric_name,
        period,
        metric_type,
        dimension,
        dimension_value,

        ---------- dates / timestamps
        metric_date,
        {%- if object_id_as is none %}
        end_time,
        {%- endif %}
        observed_at,
        last_loaded_at,

        ---------- numerics
        metric_value,
        observation_count,
        restatement_count

    from observations

)

select * from renamed
{%- endif %}
{%- endmacro %}

{#
    stage_snapshots(relation, pivot): a platform's nightly snapshot staging model (one row per
    account x snapshot day): the account node's counters it read (metric_source `node`, period
    `snapshot`), pivoted to the columns `pivot` names (metric_name -> column).
#}
{% macro stage_snapshots(relation, pivot) -%}
    {{ stage_observations(
        relation,
        where={'object_type': 'account', 'metric_source': 'node', 'period': 'snapshot'},
        pivot=pivot
    ) }}
{%- endmacro %}
