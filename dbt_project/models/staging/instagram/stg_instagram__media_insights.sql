{#
    One row per Instagram media x lifetime metric (name, breakdown) x snapshot day: the latest
    observation of that key. Lifetime-to-date values, read like stg_facebook__post_insights: one
    value per metric per night the media was fetched; never sum them across days.
#}

{{ stage_observations(
    ref('base_instagram__observations'),
    where={'object_type': 'media', 'metric_source': 'insights'},
    object_id_as='media_id'
) }}
