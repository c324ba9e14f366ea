{#
    One row per Facebook post x lifetime metric (name, breakdown) x snapshot day: the latest
    observation of that key. Post insights are lifetime-to-date values: metric_date is the day the
    value stands for ("end of that day"), so a post has one value per metric per night it was
    fetched. Never sum them across days; take the latest day.
#}

{{ stage_observations(
    ref('base_facebook__observations'),
    where={'object_type': 'post', 'metric_source': 'insights'},
    object_id_as='post_id'
) }}
