{#
    One row per instagram observation key (all object types and sources): the latest observation, the
    first value delivered, and how often the key was fetched and restated. Incremental: a nightly
    run re-derives only the keys that received new observations (macro deduplicate_observations).
#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=observation_key_columns(),
    on_schema_change='append_new_columns',
) }}

{{ deduplicate_observations(source('instagram', 'observations'), source('registry', 'loads'), 'instagram') }}
