{#
    Column checks of one model in one test node and one scan (issue 21): not_null, accepted_values
    and unique, as dbt's built-in tests define them, for several columns at once.

    Why: every built-in column test is its own dbt node, and the nightly build paid dbt's per-node
    cost (parse, compile, statements, a commit: ~20-40 ms) plus a scan of the model for each of
    them (105 such tests over 27 models; bench/README "dbt nightly, session 7"). One test per model
    keeps the same checks with one node and one aggregate over the model.

    Arguments (column names as the model spells them):
      not_null:        [column, ...]      no NULL
      accepted_values: {column: [v, ...]}  every non-NULL value is one of these (NULLs pass, as in
                                           dbt's accepted_values); strings are quoted and escaped,
                                           numbers and booleans are not
      unique:          [column, ...]      no non-NULL value twice (NULLs ignored, as in dbt's unique)
      grain:           [column, ...]      no two rows share these columns' values (the model's
                                           grain; NULLs compare equal, as in GROUP BY)
      grain_recent_column:                 check the grain on the recent slice only (the
                                           `recent_column` of unique_combination_of_columns, whose
                                           rows it reads: macro grain_duplicates)

    The grain is here, not in its own unique_combination_of_columns test, for the same reason: a
    model with column checks and a grain test was two nodes (22 such models, issue 21 session 9).

    The column rules check every row of the model, like the built-in tests they replace (no
    recent slice). Failing rows: one per broken rule, `rule` (e.g. `not_null(platform)`,
    `accepted_values(platform)`, `unique(post_id)`, `grain(platform, object_id)`) and
    `failing_rows` (rows that break it; for unique and grain, the rows beyond the first of each
    duplicated value). No row: the test passes.
#}
{% test column_checks(model, not_null=[], accepted_values={}, unique=[], grain=[], grain_recent_column=none) %}
{%- set rules = [] %}
{%- for column in not_null %}
    {%- do rules.append(('not_null(' ~ column ~ ')', 'count(*) filter (where ' ~ column ~ ' is null)')) %}
{%- endfor %}
{%- for column, values in accepted_values.items() %}
    {%- if values | length == 0 %}
        {{ exceptions.raise_compiler_error("column_checks: accepted_values of " ~ column ~ " is empty") }}
    {%- endif %}
    {%- set literals = [] %}
    {%- for value in values %}
        {%- do literals.append(column_checks_literal(value)) %}
    {%- endfor %}
    {%- do rules.append((
        'accepted_values(' ~ column ~ ')',
        'count(*) filter (where ' ~ column ~ ' not in (' ~ literals | join(', ') ~ '))'
    )) %}
{%- endfor %}
{%- for column in unique %}
    {%- do rules.append(('unique(' ~ column ~ ')', 'count(' ~ column ~ ') - count(distinct ' ~ column ~ ')')) %}
{%- endfor %}
{%- set grain_rule = 'grain(' ~ grain | join(', ') ~ ')' %}
{%- if rules | length == 0 and grain | length == 0 %}
    {{ exceptions.raise_compiler_error("column_checks on " ~ model ~ ": no column to check") }}
{%- endif %}
{%- set names = rules | map(attribute=0) | list + ([grain_rule] if grain else []) %}

with

{%- if rules %}

-- One scan, one aggregate: a column per rule, named after the rule.
counts as (

    select
        {%- for rule, expression in rules %}
        {{ expression }} as "{{ rule }}"{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}

),
{%- endif %}
{%- if grain %}

-- The grain: rows beyond the first of each duplicated key.
grain_counts as (

    select coalesce(sum(n_rows - 1), 0) as "{{ grain_rule }}"
    from ({{ grain_duplicates(model, grain, grain_recent_column) }}) as duplicates

),
{%- endif %}

all_counts as (

    select * from {{ (['counts'] if rules else []) | join('') }}
    {{- ' cross join ' if rules and grain }}{{ 'grain_counts' if grain }}

)

-- One row per rule; only the broken ones are failures.
select rule, failing_rows
from (
    unpivot all_counts
    on {% for name in names %}"{{ name }}"{{ ", " if not loop.last }}{% endfor %}
    into name rule value failing_rows
) as rules
where failing_rows > 0

{% endtest %}


{#- A SQL literal of an accepted value: strings quoted (quotes doubled), numbers and booleans as they are. -#}
{% macro column_checks_literal(value) -%}
    {%- if value is boolean -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        '{{ value | string | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}
