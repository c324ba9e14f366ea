{#
    One row per Instagram media x lifetime metric (name, breakdown) x snapshot day: the latest
    observation of that key. Post insights are lifetime-to-date values: metric_date is the day the
    value stands for ("end of that day"), so a media has one value per metric per night it was
    fetched. Never sum them across days; take the latest day.
#}

{{ stage_observations(
    ref('base_instagram__observations'),
    where={'object_type': 'media', 'metric_source': 'insights'},
    object_id_as='media_id'
) }}
