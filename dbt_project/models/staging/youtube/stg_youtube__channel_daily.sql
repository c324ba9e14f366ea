{#
    One row per YouTube channel x day of the Analytics `day` report: the latest observation of each
    core metric, pivoted. metric_date is the `day` value as YouTube delivers it (Pacific days).
    YouTube Analytics omits the last 2-3 days until every metric is final, and the nightly run
    re-reads them, so recent days may be restated.

    subscribers_gained / subscribers_lost are the channel's follower flows (the only exact source
    of subscriber growth: the public subscriberCount is rounded, see stg_youtube__channel_snapshots).
#}

{{ stage_observations(
    ref('base_youtube__observations'),
    where={
        'object_type': 'account',
        'metric_source': 'insights',
        'period': 'day',
        'dimension': '',
    },
    pivot={
        'views': 'views',
        'estimatedMinutesWatched': 'watch_time_minutes',
        'likes': 'likes',
        'comments': 'comments',
        'shares': 'shares',
        'subscribersGained': 'subscribers_gained',
        'subscribersLost': 'subscribers_lost',
    },
    aggregates=['cast(max(restatement_count) as integer) as max_restatement_count']
) }}
