"""The sandbox Graph API's metric catalogues: which Page, Instagram, post and media metrics exist,
with which periods and metric types, how each is derived from the generated daily series, and which
node fields may be asked for. Data only (plus the derivation functions): the router in
`sandbox.graph` validates requests against it and answers from it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _derived(key: str, num: int = 1, den: int = 1) -> Callable[[dict], np.ndarray]:
    return lambda s: s[key] * num // den


# name -> (title, description, value function over a daily_series dict)
PAGE_METRICS: dict[str, tuple[str, str, Callable[[dict], np.ndarray]]] = {
    "page_follows": (
        "Page Follows",
        "Lifetime: The total number of people who follow your Page.",
        _derived("followers"),
    ),
    "page_daily_follows": (
        "Daily Follows",
        "Daily: The number of times people followed your Page.",
        _derived("followers_gained"),
    ),
    "page_daily_follows_unique": (
        "Daily New Follows",
        "Daily: The number of Meta Accounts that followed your Page.",
        _derived("followers_gained"),
    ),
    "page_daily_unfollows_unique": (
        "Daily Unfollows",
        "Daily: The number of Meta Accounts that unfollowed your Page.",
        _derived("followers_lost"),
    ),
    "page_media_view": (
        "Daily Views",
        "Daily: The number of times your Page's content was played or displayed.",
        _derived("views"),
    ),
    "page_total_media_view_unique": (
        "Daily Viewers",
        "Daily: The number of people who saw your Page's content at least once.",
        _derived("reach"),
    ),
    "page_post_engagements": (
        "Daily Post Engagements",
        "Daily: The number of times people have engaged with your posts through reactions, comments, shares and more.",
        _derived("engagements"),
    ),
    "page_views_total": (
        "Daily Total views count per Page",
        "Daily: The number of times a Page's profile has been viewed by logged in and logged out people.",
        _derived("page_visits"),
    ),
    "page_total_actions": (
        "Daily Total Actions",
        "Daily: The number of clicks on your Page's contact info and call-to-action button.",
        _derived("page_visits", 1, 8),
    ),
    "page_video_views": (
        "Daily Total Video Views",
        "Daily: The number of times your Page's videos played for at least 3 seconds.",
        _derived("views", 3, 10),
    ),
}

# Retired names are listed only to document intent: any name outside PAGE_METRICS fails the same
# way, exactly as the real API answers a retired metric.
RETIRED_PAGE_METRICS = frozenset(
    {
        "page_fans",
        "page_fan_adds",
        "page_fan_adds_unique",
        "page_fan_removes",
        "page_fan_removes_unique",
        "page_fans_locale",
        "page_fans_city",
        "page_fans_country",
        "page_impressions",
        "page_impressions_unique",
        "page_impressions_paid",
        "page_impressions_paid_unique",
        "page_impressions_viral",
        "page_impressions_viral_unique",
        "page_impressions_nonviral",
        "page_impressions_nonviral_unique",
        "page_engaged_users",
        "page_consumptions",
        "page_consumptions_unique",
        "page_fans_gender_age",
        "page_video_views_unique",
        "page_posts_impressions",
        "page_posts_impressions_unique",
    }
)


def dedup_total(daily: np.ndarray) -> int:
    """A window total for a *unique-people* metric: more than the best day, less than the sum
    (people recur across days). Deterministic stand-in for Meta's de-duplication."""
    if daily.size == 0:
        return 0
    peak = int(daily.max())
    return peak + (int(daily.sum()) - peak) // 3


def sum_total(daily: np.ndarray) -> int:
    return int(daily.sum())


# IG: name -> (title, description, daily function, window aggregate, allowed metric types)
TIME_SERIES, TOTAL_VALUE = "time_series", "total_value"  # the metric_type values
IG_METRICS: dict[str, tuple[str, str, Callable[[dict], np.ndarray], Callable, frozenset]] = {
    "reach": (
        "Accounts reached",
        "The number of unique accounts that have seen your content, at least once, including in ads.",
        _derived("reach"),
        dedup_total,
        frozenset({TIME_SERIES, TOTAL_VALUE}),
    ),
    "follower_count": (
        "Follower Count",
        "The number of new followers each day within the specified range.",
        _derived("followers_gained"),
        sum_total,
        frozenset({TIME_SERIES}),
    ),
    "views": (
        "Views",
        "The number of times your content was played or displayed.",
        _derived("views"),
        sum_total,
        frozenset({TOTAL_VALUE}),
    ),
    "total_interactions": (
        "Content interactions",
        "The total number of post interactions, story interactions, reels interactions, "
        "video interactions and live video interactions.",
        _derived("engagements"),
        sum_total,
        frozenset({TOTAL_VALUE}),
    ),
    "accounts_engaged": (
        "Accounts engaged",
        "The number of accounts that have interacted with your content, including in ads.",
        _derived("accounts_engaged"),
        dedup_total,
        frozenset({TOTAL_VALUE}),
    ),
    "follows_and_unfollows": (
        "Follows and unfollows",
        "The number of accounts that followed you and the number of accounts that unfollowed "
        "you or left Instagram in the selected time period.",
        lambda s: s["followers_gained"] + s["followers_lost"],
        sum_total,
        frozenset({TOTAL_VALUE}),
    ),
    "likes": (
        "Likes",
        "The number of likes on your posts, reels and videos.",
        _derived("engagements", 70, 100),
        sum_total,
        frozenset({TOTAL_VALUE}),
    ),
    "comments": (
        "Comments",
        "The number of comments on your posts, reels, videos and live videos.",
        _derived("engagements", 12, 100),
        sum_total,
        frozenset({TOTAL_VALUE}),
    ),
    "shares": (
        "Shares",
        "The number of shares of your posts, stories, reels, videos and live videos.",
        _derived("engagements", 8, 100),
        sum_total,
        frozenset({TOTAL_VALUE}),
    ),
    "saves": (
        "Saves",
        "The number of saves of your posts, reels and videos.",
        _derived("engagements", 9, 100),
        sum_total,
        frozenset({TOTAL_VALUE}),
    ),
    "replies": (
        "Replies",
        "The number of replies you received from your story, including text replies and quick reaction replies.",
        _derived("engagements", 1, 100),
        sum_total,
        frozenset({TOTAL_VALUE}),
    ),
    "profile_views": (
        "Profile views",
        "The number of times your profile was visited.",
        _derived("page_visits"),
        sum_total,
        frozenset({TOTAL_VALUE}),
    ),
    "website_clicks": (
        "Website clicks",
        "The number of times that the link in your account's bio was tapped.",
        _derived("page_visits", 1, 20),
        sum_total,
        frozenset({TOTAL_VALUE}),
    ),
    "profile_links_taps": (
        "Profile links taps",
        "The number of taps on your business address, call button, email button and text button.",
        _derived("page_visits", 1, 15),
        sum_total,
        frozenset({TOTAL_VALUE}),
    ),
}
IG_FOLLOW_TYPE_METRICS = frozenset({"follows_and_unfollows", "reach"})

PAGE_FIELDS = frozenset(
    {
        "id",
        "name",
        "username",
        "link",
        "category",
        "about",
        "website",
        "fan_count",
        "followers_count",
        "talking_about_count",
        "instagram_business_account",
    }
)
ACCOUNTS_EDGE_EXTRA_FIELDS = frozenset({"tasks", "access_token", "category_list"})
IG_FIELDS = frozenset(
    {
        "id",
        "ig_id",
        "username",
        "name",
        "biography",
        "website",
        "profile_picture_url",
        "followers_count",
        "follows_count",
        "media_count",
    }
)
ME_FIELDS = frozenset({"id", "name"})


# ------------------------------------------------------------------------------------------------
# Periods, dict metrics, post and media metrics
# ------------------------------------------------------------------------------------------------

PERIOD_DAYS = {"day": 1, "week": 7, "days_28": 28}
PAGE_METRIC_PERIODS: dict[str, frozenset] = {name: frozenset({"day"}) for name in PAGE_METRICS}
PAGE_METRIC_PERIODS["page_follows"] = frozenset({"day", "lifetime"})
for _name in (
    "page_media_view",
    "page_total_media_view_unique",
    "page_post_engagements",
    "page_views_total",
    "page_total_actions",
    "page_video_views",
):
    PAGE_METRIC_PERIODS[_name] = frozenset({"day", "week", "days_28"})
PAGE_UNIQUE_METRICS = frozenset({"page_total_media_view_unique"})
"""Unique-people metrics: week/days_28 values are de-duplicated, never plain sums."""

# name -> (title, description, audience breakdown)
PAGE_DICT_METRICS: dict[str, tuple[str, str, str]] = {
    "page_follows_city": (
        "Lifetime Follows by City",
        "Lifetime: Aggregated Facebook location data, sorted by city, about the people who follow your Page.",
        "city",
    ),
    "page_follows_country": (
        "Lifetime Follows by Country",
        "Lifetime: Aggregated Facebook location data, sorted by country, about the people who follow your Page.",
        "country",
    ),
}
ALL_PAGE_METRICS = frozenset(PAGE_METRICS) | frozenset(PAGE_DICT_METRICS)

RESTATED_KEYS = ("views", "reach", "engagements", "page_visits", "accounts_engaged")
"""Series keys whose last two complete days are preliminary (see the module docstring)."""

POST_METRICS: dict[str, tuple[str, str]] = {
    "post_media_view": ("Lifetime Post Views", "Lifetime: The number of times your post was played or displayed."),
    "post_total_media_view_unique": (
        "Lifetime Post Viewers",
        "Lifetime: The number of people who saw your post at least once.",
    ),
    "post_reactions_by_type_total": (
        "Lifetime Total post Reactions by Type.",
        "Lifetime: Total post reactions by type.",
    ),
    "post_clicks": ("Lifetime Post Clicks", "Lifetime: The number of times people clicked on anywhere in your posts."),
    "post_clicks_by_type": (
        "Lifetime Post Clicks by Type",
        "Lifetime: The number of clicks anywhere in your post, by type.",
    ),
    "post_video_avg_time_watched": (
        "Lifetime Average time video viewed",
        "Lifetime: The average length of time (in milliseconds) people spent viewing your video.",
    ),
}

MEDIA_METRICS: dict[str, tuple[str, ...]] = {
    "FEED": (
        "reach", "saved", "likes", "comments", "shares", "total_interactions", "follows", "profile_visits",
        "profile_activity", "views",
    ),
    "REELS": (
        "reach", "likes", "comments", "shares", "saved", "total_interactions", "views", "ig_reels_avg_watch_time",
        "ig_reels_video_view_total_time",
    ),
    "STORY": ("reach", "replies", "follows", "profile_visits", "shares", "total_interactions", "navigation", "views"),
}
"""Media insights per product type (PLATFORM_APIS §3.6)."""
ALL_MEDIA_METRICS = frozenset(m for names in MEDIA_METRICS.values() for m in names)
MEDIA_METRIC_TITLES = {
    "reach": "Accounts reached",
    "saved": "Saved",
    "likes": "Likes",
    "comments": "Comments",
    "shares": "Shares",
    "total_interactions": "Interactions",
    "follows": "Follows",
    "profile_visits": "Profile visits",
    "profile_activity": "Profile activity",
    "views": "Views",
    "ig_reels_avg_watch_time": "Average watch time",
    "ig_reels_video_view_total_time": "Watch time",
    "replies": "Replies",
    "navigation": "Navigation",
}

IG_DEMOGRAPHIC_METRICS: dict[str, tuple[str, str]] = {
    "follower_demographics": (
        "Follower demographics",
        "The demographic characteristics of followers, including countries, cities and gender distribution.",
    ),
    "engaged_audience_demographics": (
        "Engaged audience demographics",
        "The demographic characteristics of the engaged audience, including countries, cities and gender "
        "distribution.",
    ),
}
IG_DEMOGRAPHIC_BREAKDOWNS = ("age", "gender", "city", "country")
IG_TIMEFRAMES = {"this_week": 7, "this_month": 30}
IG_PRODUCT_TYPE_METRICS = frozenset({"reach", "views", "total_interactions", "likes", "comments", "shares", "saves"})
IG_PRODUCT_TYPES = ("POST", "REEL", "STORY")

POST_FIELDS = frozenset(
    {"id", "message", "created_time", "permalink_url", "status_type", "full_picture", "is_published", "updated_time",
     "attachments"}
)
MEDIA_FIELDS = frozenset(
    {"id", "caption", "media_type", "media_product_type", "timestamp", "permalink", "like_count", "comments_count",
     "username", "shortcode", "media_url", "thumbnail_url", "is_comment_enabled"}
)
