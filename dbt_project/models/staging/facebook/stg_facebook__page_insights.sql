{#
    One row per Facebook Page x metric (name, period, metric_type, breakdown) x measured day: the
    latest observation of that key (deduplicated in base_facebook__observations).
    `restatement_count` measures how often Meta changed the value after first delivering it
    (distinct values seen - 1); `observation_count` counts the fetches. metric_date is the measured
    Pacific day (the loader already subtracted one day from end_time).
#}

{{ stage_observations(
    ref('base_facebook__observations'),
    where={'object_type': 'account', 'metric_source': 'insights'}
) }}
