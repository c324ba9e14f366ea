{#
    One row per Facebook Page x snapshot day: the Page node's counters as read by the nightly
    snapshot (latest observation per field). metric_date is the Pacific day the snapshot represents.
    `followers` is a total at the end of that day; it is what follower history is anchored on when
    the page_follows insight is missing.
#}

{{ stage_observations(
    ref('base_facebook__observations'),
    where={'object_type': 'account', 'metric_source': 'node', 'period': 'snapshot'},
    pivot={'followers_count': 'followers', 'fan_count': 'page_likes'}
) }}
