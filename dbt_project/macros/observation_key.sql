{#
    The key of one observed value in raw.observations. The loader appends a new row with the same
    key whenever it re-fetches a day; staging keeps the latest one (`latest_observation_order`). The
    measured object (`object_type`, `object_id`) is part of the key: an account and its posts share
    account_id, metric names and days.
#}
{% macro observation_key() -%}
    {{ return([
        'platform', 'account_id', 'object_type', 'object_id', 'source', 'metric_name', 'period',
        'metric_type', 'dimension', 'dimension_value', 'metric_date',
    ]) }}
{%- endmacro %}

{# Newest first: the latest fetch wins; load_id breaks ties between loads fetched together. #}
{% macro latest_observation_order() -%}
    observed_at desc, load_id desc
{%- endmacro %}
