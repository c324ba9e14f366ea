{#
    One row per Instagram account x metric (name, period, metric_type, breakdown) x measured day: the
    latest observation of that key (deduplicated in base_instagram__observations).
    `restatement_count` measures how often Meta changed the value after first delivering it
    (distinct values seen - 1); `observation_count` counts the fetches. metric_date is the measured
    Pacific day (the loader converts end_time as for Facebook).
    Breakdowns (follows_and_unfollows by follow_type, demographics by age,gender) are separate rows.
#}

{{ stage_observations(
    ref('base_instagram__observations'),
    where={'object_type': 'account', 'metric_source': 'insights'}
) }}
