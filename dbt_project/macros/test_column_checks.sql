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

    Every row of the model is checked, like the built-in tests it replaces (no recent slice).
    Failing rows: one per broken rule, `rule` (e.g. `not_null(platform)`,
    `accepted_values(platform)`, `unique(post_id)`) and `failing_rows` (rows that break it; for
    unique, the rows beyond the first of each duplicated value). No row: the test passes.
#}
{% test column_checks(model, not_null=[], accepted_values={}, unique=[]) %}
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
{%- if rules | length == 0 %}
    {{ exceptions.raise_compiler_error("column_checks on " ~ model ~ ": no column to check") }}
{%- endif %}

with

-- One scan, one aggregate: a column per rule, named after the rule.
counts as (

    select
        {%- for rule, expression in rules %}
        {{ expression }} as "{{ rule }}"{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}

)

-- One row per rule; only the broken ones are failures.
select rule, failing_rows
from (
    unpivot counts
    on {% for rule, expression in rules %}"{{ rule }}"{{ ", " if not loop.last }}{% endfor %}
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
