"""The metric registry: every metric socialpulse requests, with its validity dates and successor.

Meta retires insights metrics on fixed dates for every API version at once, and one invalid metric
fails the whole request (PLATFORM_APIS.md §2.6). Requests are therefore built from this registry:
a metric past its `retired_on` date is not requested, and a metric the platform refuses at run time
(`(#100) ... valid insights metric`) is recorded in `raw.metric_registry_events` and skipped from
then on (`retired_at_runtime`). A retired metric degrades alone; it never fails an account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Metric:
    """One requestable metric."""

    platform: str
    name: str
    endpoint: str  # account_insights | post_insights | media_insights | demographics | analytics
    period: str  # day | lifetime | days_28
    metric_type: str  # time_series | total_value
    valid_from: date | None = None
    retired_on: date | None = None
    successor: str | None = None
    meaning: str = ""

    def active_on(self, day: date) -> bool:
        """Whether the platform still answers this metric on `day`."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.retired_on is None or day < self.retired_on
        )


_D = date.fromisoformat


def _plain(platform: str, endpoint: str, period: str, metric_type: str, *names: str) -> tuple[Metric, ...]:
    """Metrics of one endpoint with nothing but a name: no dates, successor or note (in registry order)."""
    return tuple(Metric(platform, name, endpoint, period, metric_type) for name in names)


METRICS: tuple[Metric, ...] = (
    # Facebook Page daily insights (valid late 2026).
    Metric("facebook", "page_follows", "account_insights", "day", "time_series",
           meaning="followers at the end of the day (stock)"),
    Metric("facebook", "page_daily_follows_unique", "account_insights", "day", "time_series", meaning="gained"),
    Metric("facebook", "page_daily_unfollows_unique", "account_insights", "day", "time_series", meaning="lost"),
    Metric("facebook", "page_media_view", "account_insights", "day", "time_series", _D("2025-06-01"),
           meaning="views"),
    Metric("facebook", "page_total_media_view_unique", "account_insights", "day", "time_series",
           _D("2025-06-01"), meaning="viewers (unique, never summed)"),
    Metric("facebook", "page_post_engagements", "account_insights", "day", "time_series", meaning="engagements"),
    Metric("facebook", "page_views_total", "account_insights", "day", "time_series", meaning="page visits"),
    # Retired Page metrics, kept so history is explained and requests never include them.
    Metric("facebook", "page_fans", "account_insights", "day", "time_series", retired_on=_D("2025-11-15"),
           successor="page_follows"),
    Metric("facebook", "page_impressions", "account_insights", "day", "time_series", retired_on=_D("2025-11-15"),
           successor="page_media_view"),
    Metric("facebook", "page_impressions_unique", "account_insights", "day", "time_series",
           retired_on=_D("2026-06-15"), successor="page_total_media_view_unique"),
    # Facebook Page lifetime breakdowns (followers by city/country).
    *_plain("facebook", "demographics", "lifetime", "time_series", "page_follows_city", "page_follows_country"),
    # Facebook post lifetime insights.
    Metric("facebook", "post_media_view", "post_insights", "lifetime", "time_series", meaning="views"),
    Metric("facebook", "post_total_media_view_unique", "post_insights", "lifetime", "time_series",
           meaning="viewers"),
    Metric("facebook", "post_reactions_by_type_total", "post_insights", "lifetime", "time_series",
           meaning="reactions by type"),
    Metric("facebook", "post_clicks", "post_insights", "lifetime", "time_series", meaning="clicks"),
    Metric("facebook", "post_impressions", "post_insights", "lifetime", "time_series",
           retired_on=_D("2025-11-15"), successor="post_media_view"),
    # Instagram account insights.
    Metric("instagram", "reach", "account_insights", "day", "time_series", meaning="reach (unique)"),
    Metric("instagram", "follows_and_unfollows", "account_insights", "day", "total_value",
           meaning="FOLLOWER = gained, NON_FOLLOWER = lost"),
    Metric("instagram", "views", "account_insights", "day", "total_value", _D("2024-08-01"), meaning="views"),
    Metric("instagram", "total_interactions", "account_insights", "day", "total_value", meaning="engagements"),
    *_plain("instagram", "account_insights", "day", "total_value",
            "accounts_engaged", "likes", "comments", "shares", "saves"),
    Metric("instagram", "impressions", "account_insights", "day", "time_series", retired_on=_D("2025-04-21"),
           successor="views"),
    *_plain("instagram", "demographics", "lifetime", "total_value",
            "follower_demographics", "engaged_audience_demographics"),
    # Instagram media lifetime insights (FEED/REELS share this set; STORY differs).
    *_plain("instagram", "media_insights", "lifetime", "time_series",
            "reach", "views", "likes", "comments", "shares", "saved", "total_interactions"),
    # YouTube Analytics (core metrics, covered by YouTube's deprecation policy).
    *_plain("youtube", "analytics", "day", "time_series",
            "views", "estimatedMinutesWatched", "likes", "comments", "shares", "subscribersGained", "subscribersLost"),
    Metric("youtube", "viewerPercentage", "demographics", "days_28", "time_series"),
    # Snapchat Public Profile daily stats (field names ASSUMED until API access is granted).
    Metric("snapchat", "subscriber_count", "stats", "day", "time_series", meaning="subscribers (stock)"),
    *_plain("snapchat", "stats", "day", "time_series",
            "subscribers_gained", "subscribers_lost", "views", "unique_viewers", "shares"),
)

# Node (snapshot) fields per platform: not insights metrics, but known names for the load gate.
NODE_FIELDS: dict[str, tuple[str, ...]] = {
    "facebook": ("followers_count", "fan_count"),
    "instagram": ("followers_count", "follows_count", "media_count"),
    "youtube": ("subscriberCount", "viewCount", "videoCount"),
    "snapchat": ("subscriber_count",),
}


def active_metrics(platform: str, endpoint: str, day: date, retired_at_runtime: frozenset[str] = frozenset()
                   ) -> list[str]:
    """Names to request for one endpoint on `day`, in registry order."""
    return [
        m.name for m in METRICS
        if m.platform == platform and m.endpoint == endpoint and m.active_on(day)
        and m.name not in retired_at_runtime
    ]


def known_metrics(platform: str) -> set[str]:
    """Every metric or node field name the load gate accepts for a platform."""
    return {m.name for m in METRICS if m.platform == platform} | set(NODE_FIELDS.get(platform, ()))
