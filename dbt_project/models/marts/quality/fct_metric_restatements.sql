{#
    One row per observation key whose value changed after it was first delivered (every platform,
    object type and metric): the first value delivered against the latest one, how often it was
    fetched and how often it changed, and when. The key: platform, account_id, object_type,
    object_id, source, metric_name, period, metric_type, dimension, dimension_value, metric_date.
    Keys fetched once, and keys re-fetched with the same value, are absent: the nightly re-fetches
    its lookback window on purpose, so "fetched twice, unchanged" is nearly every key, and kept
    here it made the mart grow with every identical re-run (53,492 rows, all unchanged, after two
    demo runs; issue 21). Their fetch counts stay in the base models (observation_count).

    Incremental (delete+insert on the key's columns, of which restatement_id is the hash; the
    key's metric_date bounds the delete's scan): a run rewrites the keys a load touched after the
    model's newest last_loaded_at. A key's restatement_count never falls (raw.observations is
    append-only), so a key once here stays here; the post-hook's delete only clears rows of
    unchanged keys written before issue 21 (a no-op afterwards).
#}
{{ config(
    materialized='incremental',
    unique_key=[
        'platform', 'account_id', 'object_type', 'object_id', 'metric_source', 'metric_name',
        'period', 'metric_type', 'dimension', 'dimension_value', 'metric_date',
    ],
    post_hook=[
        "{% if is_incremental() %}delete from {{ this }} where not is_restated{% endif %}",
        "{{ refresh_account_attributes(this, per_1000=false) }}",
    ],
) }}
{%- set watermark = incremental_watermark('last_loaded_at') %}

with

observations as (

    {%- for platform in ['facebook', 'instagram', 'youtube', 'snapchat'] %}
    select * from {{ ref('base_' ~ platform ~ '__observations') }}
    where observation_count > 1
        and restatement_count > 0
    {%- if watermark is not none %}
        and last_loaded_at > {{ watermark }}
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

registry_accounts as (

    select * from {{ ref('stg_registry__accounts') }}

),

final as (

    select
        ---------- keys
        {{ surrogate_key([
            'observations.platform', 'observations.account_id', 'observations.object_type',
            'observations.object_id', 'observations.metric_source', 'observations.metric_name',
            'observations.period', 'observations.metric_type', 'observations.dimension',
            'observations.dimension_value', 'observations.metric_date',
        ]) }} as restatement_id,
        observations.platform,
        observations.account_id,
        observations.metric_date,
        registry_accounts.department,
        observations.object_type,
        observations.object_id,
        observations.metric_source,
        observations.metric_name,
        observations.period,
        observations.metric_type,
        observations.dimension,
        observations.dimension_value,

        ---------- first vs latest
        observations.first_metric_value,
        observations.metric_value as latest_metric_value,
        observations.metric_value - observations.first_metric_value as absolute_change,
        (observations.metric_value - observations.first_metric_value)
            / nullif(abs(observations.first_metric_value), 0) as relative_change,
        observations.observation_count,
        observations.restatement_count,
        observations.restatement_count > 0 as is_restated,

        ---------- when
        observations.first_observed_at,
        observations.observed_at as latest_observed_at,
        observations.load_id as latest_load_id,
        cast(
            {{ pacific_date('observations.first_observed_at') }} - observations.metric_date
            as integer
        ) as days_to_first_observation,
        date_diff('second', observations.first_observed_at, observations.observed_at) / 86400
            as days_first_to_latest,
        observations.last_loaded_at

    from observations
    left join registry_accounts using (platform, account_id)

)

select * from final
