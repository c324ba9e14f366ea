{#
    One row per Snapchat public profile x snapshot day: the profile's `subscriber_count` as read by
    the nightly snapshot (latest observation). Snap's stats API is allowlist-only and its metric
    names are not verified (PLATFORM_APIS.md §6), so only the profile's subscriber total is staged:
    it gives Snapchat accounts a follower total per day; flows, views and engagements stay NULL
    until the stats fields are known.
#}

{{ stage_snapshots(ref('base_snapchat__observations'), {'subscriber_count': 'followers'}) }}
