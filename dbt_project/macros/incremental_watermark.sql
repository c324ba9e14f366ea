{#
    Incremental bookkeeping shared by the incremental models.

    incremental_watermark(column): in an incremental run, the newest value of `column` already in
    the model ({{ this }}), as a SQL literal; none in a full build (or when the model is empty).
    Every incremental mart stores `loaded_through_at`, the newest committed load its rows were
    computed from; a run re-derives what upstream changed after that watermark.

    loaded_through_at(): the newest committed load in raw.loads, the value a run stamps on the
    rows it (re)computes.
#}
{% macro incremental_watermark(column='loaded_through_at') -%}
    {%- if is_incremental() and execute and has_column(this, column) -%}
        {%- set value = run_query('select max(' ~ column ~ ') from ' ~ this).rows[0][0] -%}
        {%- if value is not none -%}
            {{ return("timestamptz '" ~ value ~ "'") }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{% macro loaded_through_at() -%}
    (
        select max(committed_at) from {{ source('registry', 'loads') }}
        where status = 'committed'
    )
{%- endmacro %}

{#
    new_load_ids(column): in an incremental run, the ids of the loads committed after the newest
    `column` (a load's committed_at) already in the model, minus var observation_lookback_hours;
    none in a full build (or when the model predates the column). Staging models that read raw tables incrementally keep only these
    loads' rows.
#}
{% macro new_load_ids(column='last_loaded_at') -%}
    {%- if is_incremental() and execute and has_column(this, column) -%}
        {%- set query -%}
            select load_id from {{ source('registry', 'loads') }}
            where committed_at > coalesce(
                (select max({{ column }}) from {{ this }})
                    - interval {{ var('observation_lookback_hours') }} hour,
                timestamptz '1970-01-01 00:00:00+00'
            )
            order by load_id
        {%- endset -%}
        {{ return(run_query(query).rows | map(attribute=0) | list) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{# A SQL list of load ids for `load_id in (...)` (never empty). #}
{% macro load_id_list(load_ids) -%}
    ({%- for load_id in load_ids %}'{{ load_id }}'{{ ', ' if not loop.last }}{% endfor -%}
    {%- if load_ids | length == 0 %}null{% endif -%})
{%- endmacro %}

{#
    Whether `relation` has `column` (an incremental model built before the column existed has not).
    One `describe` through run_query, not adapter.get_columns_in_relation: that adapter call builds
    a fresh macro context of every macro in the project first (~10 ms of dbt Python per call, ~90
    calls a nightly build; issue 21).
#}
{% macro has_column(relation, column) -%}
    {{ return(column in relation_columns(relation)) }}
{%- endmacro %}

{#
    relation_columns(relation, data_type=none): the names of `relation`'s columns (of `data_type`,
    e.g. 'DATE', when given), in order; what adapter.get_columns_in_relation reads (DuckDB's
    describe), without its macro context.
#}
{% macro relation_columns(relation, data_type=none) -%}
    {%- set query -%}
        select column_name from (describe {{ relation }})
        {%- if data_type is not none %} where column_type = '{{ data_type }}'{% endif %}
    {%- endset -%}
    {{ return(run_query(query).rows | map(attribute=0) | list) }}
{%- endmacro %}

{#
    earliest_touched_date(inputs, touched_since): the earliest metric_date among the rows of
    `inputs` (a list of [relation, condition]) whose last_loaded_at is after `touched_since` (a SQL
    timestamp expression), as a date; 9999-12-31 when there is none. Models query it before they
    run and inline it, so their scans are bounded by it (a subquery would not push down).
#}
{% macro earliest_touched_date(inputs, touched_since) -%}
    {%- set query -%}
        select coalesce(least(
            {%- for relation, condition in inputs %}
            (select min(metric_date) from {{ relation }}
             where {{ condition }} and last_loaded_at > {{ touched_since }}){{ ',' if not loop.last }}
            {%- endfor %}
        ), date '9999-12-31')
    {%- endset -%}
    {{ return(run_query(query).rows[0][0]) }}
{%- endmacro %}

{#
    day_bound(relation, condition, day): the date `day` (an aggregate, default min(metric_date))
    over the rows of `relation` that meet `condition`, 9999-12-31 when no row does; none when
    `condition` is none (a full build: nothing to bound) and at parse time. Models and tests
    compute it before they run and inline it (select_from_day), so their scans are bounded by it
    (a subquery would not push down).

    changed_after(watermark, column): the condition "`column` is newer than `watermark`" for
    day_bound, or none when there is no watermark (a full build).

    select_from_day(relation, first_day): every row of `relation`, or only the rows from
    metric_date `first_day` on when it is not none.
#}
{% macro day_bound(relation, condition, day='min(metric_date)') -%}
    {%- if condition is none or not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select coalesce({{ day }}, date '9999-12-31') from {{ relation }} where {{ condition }}
    {%- endset -%}
    {{ return(run_query(query).rows[0][0]) }}
{%- endmacro %}

{% macro changed_after(watermark, column='loaded_through_at') -%}
    {{ return(none if watermark is none else column ~ ' > ' ~ watermark) }}
{%- endmacro %}

{% macro select_from_day(relation, first_day) -%}
    select * from {{ relation }}
    {%- if first_day is not none %}
    where metric_date >= date '{{ first_day }}'
    {%- endif %}
{%- endmacro %}

{#
    observation_lookback_from(watermark): where an intermediate model re-derives from in an
    incremental run: the rows loaded after its watermark minus var observation_lookback_hours of
    slack, as a SQL timestamp expression; none in a full build.

    touched_day_filter(inputs, touched_since): " and metric_date >= date '<day>'" with the
    earliest day among the `inputs` rows loaded since then (macro earliest_touched_date), for the
    import CTEs' where clauses; '' in a full build.
#}
{% macro observation_lookback_from(watermark) -%}
    {%- if watermark is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(watermark ~ " - interval " ~ var('observation_lookback_hours') ~ " hour") }}
{%- endmacro %}

{% macro touched_day_filter(inputs, touched_since) -%}
    {%- if touched_since is none or not execute -%}
        {{ return('') }}
    {%- endif -%}
    {{ return(" and metric_date >= date '" ~ earliest_touched_date(inputs, touched_since) ~ "'") }}
{%- endmacro %}
