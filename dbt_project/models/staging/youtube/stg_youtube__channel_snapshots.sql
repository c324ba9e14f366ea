{#
    One row per YouTube channel x snapshot day: the Data API channel statistics as read by the
    nightly snapshot (latest observation per field). metric_date is the Pacific day the snapshot
    represents.

    subscriber_count is ROUNDED by YouTube (three significant figures: 12,345 shows as 12,300), so
    it is never used for growth. It only anchors the reconstructed subscriber history (see
    int_followers_daily_reconstructed), and everything derived from it is flagged is_estimated.
#}

{{ stage_snapshots(ref('base_youtube__observations'), {
    'subscriberCount': 'subscriber_count_rounded',
    'viewCount': 'view_count',
    'videoCount': 'video_count',
}) }}
