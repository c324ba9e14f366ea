{#
    One row per Instagram account x snapshot day: the IG user node's counters as read by the
    nightly snapshot (latest observation per field). metric_date is the Pacific day the snapshot
    represents. Instagram has no follower-total time series, so these snapshots are the only
    anchors of follower history (earlier days are reconstructed from the daily flows).
#}

{{ stage_snapshots(ref('base_instagram__observations'), {
    'followers_count': 'followers',
    'follows_count': 'follows',
    'media_count': 'media_count',
}) }}
