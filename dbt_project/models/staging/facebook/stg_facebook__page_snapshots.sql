{#
    One row per Facebook Page x snapshot day: the Page node's counters as read by the nightly
    snapshot (latest observation per field). metric_date is the Pacific day the snapshot represents.
    `followers` is a total at the end of that day; it is what follower history is anchored on when
    the page_follows insight is missing.
#}

{{ stage_snapshots(ref('base_facebook__observations'), {
    'followers_count': 'followers',
    'fan_count': 'page_likes',
}) }}
