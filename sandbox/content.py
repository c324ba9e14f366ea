"""Deterministic content: Facebook posts, Instagram media (FEED, REELS, STORY), YouTube uploads.

Why it is built this way:

* **Pure function of (seed, platform, account, Stockholm month).** A municipality posts during its
  own working day, so the schedule is drawn per *Europe/Stockholm* calendar day (weekday-heavy,
  peaks at 09-11 and 13-15 local time), one month block at a time from its own seed stream, and
  cached in a bounded LRU like the daily series. Listing the newest 25 posts touches one or two
  blocks; 50,000 accounts never materialise.
* **Ids encode their position.** A post id ``{page-id}_{POST_ID_BASE + day_index*100 + k}`` and a
  media id ``MEDIA_ID_BASE + account*10**7 + day_index*100 + k`` can be resolved in O(1), so
  ``GET /{post-id}/insights`` needs no index of all posts ever made. ``day_index`` counts
  Stockholm days from ``data.EPOCH``; ``k`` orders the items of one day by time.
* **Lifetime values grow, then settle.** Each item has *final* lifetime values; what the API
  reports at age ``t`` is ``floor(final * g(t))`` with ``g`` a saturating curve that reaches 1
  after ``SETTLE_SECONDS[kind]`` (7 days for posts and feed media, 14 for reels, 1 for stories).
  Values therefore never decrease between two reads, and the ground truth (final values) is
  what a client sees once an item is old enough.
* Post-level sums are *not* reconciled with page-level daily metrics (as on the real platforms,
  where page engagements include non-post activity and post metrics are lifetime-to-date).
"""

from __future__ import annotations

import base64
import math
from bisect import bisect_right
from datetime import date, timedelta
from typing import Any, NamedTuple

import numpy as np

from sandbox import data as D
from sandbox import pacific_time as PT

POST_ID_BASE = 1_220_000_000_000_000
MEDIA_ID_BASE = 18_000_000_000_000_000
MEDIA_ACCOUNT_STRIDE = 10**7
MAX_ITEMS_PER_DAY = 100
REELS_SINCE = date(2021, 6, 1)
"""No REELS before this day (the product type did not exist for these accounts)."""
VIEWS_METRIC_SINCE = date(2024, 7, 1)
"""ASSUMED cut-off: media published before this day answer the documented `views` error
(``(#100) The Media Insights API does not support the views metric for this media product
type.``); PLATFORM_APIS §3.6 says only "some older media"."""

SETTLE_SECONDS = {"post": 7 * 86400, "FEED": 7 * 86400, "REELS": 14 * 86400, "STORY": 86400, "video": 28 * 86400}
STORY_LIFETIME_S = 86400

_POST_WEEKDAY = np.array([1.25, 1.25, 1.2, 1.15, 1.0, 0.1, 0.05])  # Mon..Sun: office hours
_POST_HOURS = np.arange(6, 23)
_POST_HOUR_W = np.array([0.2, 0.6, 2.0, 3.5, 3.0, 1.8, 1.2, 2.5, 3.0, 2.2, 1.2, 0.6, 0.4, 0.5, 0.6, 0.4, 0.2])
_POST_HOUR_W = _POST_HOUR_W / _POST_HOUR_W.sum()


def _choice_cdf(weights: np.ndarray) -> np.ndarray:
    """The table ``numpy.random.Generator.choice(..., p=weights)`` builds on every call (cumulative
    weights over their total). Choosing with it by hand -- ``searchsorted(rng.random(), "right")``
    -- draws the same single double per pick and returns the same index as ``choice`` does (that
    is how ``choice`` picks with replacement), without ``choice``'s per-call checks of ``p``, which
    were a sixth of a content block's generation (issue 21). Same draws, same items.
    """
    cdf = np.asarray(weights, dtype=np.float64).cumsum()
    cdf /= cdf[-1]
    return cdf


_POST_HOUR_CDF = _choice_cdf(_POST_HOUR_W)

FB_STATUS_TYPES = ("added_photos", "shared_story", "added_video", "mobile_status_update")
_FB_STATUS_W = np.array([0.55, 0.22, 0.15, 0.08])
_FB_STATUS_CDF = _choice_cdf(_FB_STATUS_W).tolist()  # a list: bisect on floats beats numpy for one pick
REACTION_TYPES = ("like", "love", "care", "haha", "wow", "sorry", "anger")
_REACTION_W = np.array([0.74, 0.12, 0.04, 0.03, 0.04, 0.02, 0.01])
_FEED_MEDIA_TYPES = ("IMAGE", "CAROUSEL_ALBUM", "VIDEO")
_FEED_MEDIA_W = np.array([0.55, 0.32, 0.13])
_FEED_MEDIA_CDF = _choice_cdf(_FEED_MEDIA_W).tolist()

_MESSAGES = (
    "Välkommen till {venue}! Här är veckans program.",
    "Nu öppnar vi anmälan till höstens aktiviteter på {venue}.",
    "Tack alla som kom i helgen! Fler bilder kommer.",
    "Påminnelse: {venue} har ändrade öppettider under helgdagarna.",
    "Vi söker synpunkter – tyck till om {venue} i vår enkät.",
    "Idag firar vi med fika på {venue} kl 14.",
    "Nyhet från {department}: läs mer på vår webbplats.",
    "Snart är det lov – se vad som händer på {venue}.",
    "Information från {department} om vinterns arbete.",
    "Möt personalen på {venue} i veckans porträtt.",
    "Trafikinformation: vägarbete vid {venue} nästa vecka.",
    "Kom ihåg att du kan följa {venue} här för nyheter och evenemang.",
)


class Item(NamedTuple):
    """One post / media / upload. ``final`` holds lifetime values once the item has settled."""

    platform: str
    account_id: str
    day_index: int  # Stockholm day since data.EPOCH
    k: int  # order within that day
    ts: int  # unix seconds (UTC) of publication
    kind: str  # FB: "post"; IG: FEED | REELS | STORY; YouTube: "video"
    media_type: str  # FB status_type; IG media_type; "" for YouTube
    final: dict[str, Any]


def _content_profile(seed: int, platform: str, account_id: str) -> dict[str, float]:
    prof = D.cached_profile(seed, platform, account_id)
    rng = np.random.default_rng(
        np.random.SeedSequence([*D.seed_words(seed), D.platform_code(platform), D.account_int(account_id), 0xC0])
    )
    per_week = prof["posts_per_week"]
    if platform == "youtube":
        per_week = float(rng.uniform(0.1, 1.5))
    return {
        "posts_per_week": per_week,
        "stories_per_week": float(rng.uniform(0.0, 8.0)) if platform == "instagram" else 0.0,
        "reels_share": float(rng.uniform(0.2, 0.6)),
        "reach_mult": float(rng.uniform(0.15, 0.6)),
        "eng_mult": float(rng.uniform(0.015, 0.06)),
    }


_PROFILES = D._LRU(D.PROFILE_CACHE_MAX)
MONTH_CACHE_MAX = 1024
"""Content month blocks (~16 KiB each, tracemalloc: ~16 MiB at most); bounded like
``data.BLOCK_CACHE_MAX``. Sized for the demo nightly: its IG media listings (the newest 100
items, ~8 months an account) and the insights of those items touch ~845 blocks, which thrashed a
512-block cache (every block generated twice; issue 21). 50,000 accounts still cannot grow it."""
_MONTHS = D._LRU(MONTH_CACHE_MAX)


def content_profile(seed: int, platform: str, account_id: str) -> dict[str, float]:
    return _PROFILES.get_or_make((seed, platform, account_id), lambda: _content_profile(seed, platform, account_id))


def month_counts(seed: int, platform: str, account_id: str, year: int, month: int) -> tuple[np.ndarray, np.ndarray]:
    """(posts, stories) per Stockholm day of a month, from their own small seed stream so counting
    (IG ``media_count``, YouTube ``videoCount``) never has to generate the items themselves."""
    first = date(year, month, 1)
    n_days = (date(year + month // 12, month % 12 + 1, 1) - first).days
    cprof = content_profile(seed, platform, account_id)
    rng = np.random.default_rng(
        np.random.SeedSequence(
            [*D.seed_words(seed), D.platform_code(platform), D.account_int(account_id), 0xC2, year * 12 + month]
        )
    )
    wd = _POST_WEEKDAY[[(first + timedelta(days=j)).weekday() for j in range(n_days)]]
    wd = wd / _POST_WEEKDAY.mean()
    n_posts = np.minimum(rng.poisson(cprof["posts_per_week"] / 7.0 * wd), 8)
    n_stories = np.minimum(rng.poisson(cprof["stories_per_week"] / 7.0 * wd), 12)
    if first < D.EPOCH:
        n_posts[:] = 0
        n_stories[:] = 0
    return n_posts, n_stories


def _generate_month(seed: int, platform: str, account_id: str, year: int, month: int) -> tuple[Item, ...]:
    first = date(year, month, 1)
    n_days = (date(year + month // 12, month % 12 + 1, 1) - first).days
    cprof = content_profile(seed, platform, account_id)
    prof = D.cached_profile(seed, platform, account_id)
    rng = np.random.default_rng(
        np.random.SeedSequence(
            [*D.seed_words(seed), D.platform_code(platform), D.account_int(account_id), 0xC1, year * 12 + month]
        )
    )
    n_posts, n_stories = month_counts(seed, platform, account_id, year, month)
    items: list[Item] = []
    for j in range(n_days):
        day = first + timedelta(days=j)
        if day < D.EPOCH:
            continue
        day_index = (day - D.EPOCH).days
        kinds = ["post"] * int(n_posts[j]) + ["STORY"] * int(n_stories[j])
        if not kinds:
            continue
        hours = _POST_HOURS[_POST_HOUR_CDF.searchsorted(rng.random(len(kinds)), side="right")]  # = rng.choice(p=)
        minutes = rng.integers(0, 60, size=len(kinds))
        stamps = sorted(
            (int(PT.stockholm_to_utc(day, int(h), int(m)).timestamp()) + int(s), kind)
            for h, m, s, kind in zip(hours, minutes, rng.integers(0, 60, size=len(kinds)), kinds, strict=True)
        )
        followers = D.follower_anchor(prof, day_index)
        for k, (ts, kind) in enumerate(stamps):
            items.append(_make_item(rng, platform, account_id, day, day_index, k, ts, kind, followers, cprof))
    return tuple(items)


def _make_item(
    rng: np.random.Generator,
    platform: str,
    account_id: str,
    day: date,
    day_index: int,
    k: int,
    ts: int,
    kind: str,
    followers: int,
    cprof: dict,
) -> Item:
    boost = float(rng.lognormal(0.0, 0.8))
    eng = cprof["eng_mult"] * float(rng.lognormal(0.0, 0.4))
    if platform == "facebook":
        status = FB_STATUS_TYPES[bisect_right(_FB_STATUS_CDF, rng.random())]  # = rng.choice(4, p=_FB_STATUS_W)
        views = int(followers * cprof["reach_mult"] * boost) + 1
        reactions = rng.multinomial(int(views * eng), _REACTION_W)
        final = {
            "post_media_view": views,
            "post_total_media_view_unique": int(views * float(rng.uniform(0.55, 0.8))),
            "post_reactions_by_type_total": {t: int(n) for t, n in zip(REACTION_TYPES, reactions, strict=True) if n},
            "post_clicks": int(views * float(rng.uniform(0.01, 0.04))),
            "message_no": int(rng.integers(len(_MESSAGES))),
        }
        return Item(platform, account_id, day_index, k, ts, "post", status, final)
    if platform == "youtube":
        return Item(platform, account_id, day_index, k, ts, "video", "", {})
    # Instagram
    if kind == "STORY":
        media_type = "IMAGE" if rng.random() < 0.7 else "VIDEO"
        reach = int(followers * float(rng.uniform(0.03, 0.15)) * boost)
        views = int(reach * float(rng.uniform(1.1, 1.4)))
        shares = int(reach * float(rng.uniform(0.0, 0.01)))
        final = {
            "reach": reach,
            "views": views,
            "replies": 0,  # EU accounts: replies are always 0 (PLATFORM_APIS §3.6)
            "follows": int(reach * float(rng.uniform(0.0, 0.004))),
            "profile_visits": int(reach * float(rng.uniform(0.005, 0.03))),
            "shares": shares,
            "navigation": int(views * float(rng.uniform(0.6, 0.9))),
            "total_interactions": shares,  # replies + shares (ASSUMED composition)
        }
        return Item(platform, account_id, day_index, k, ts, "STORY", media_type, final)
    reels = day >= REELS_SINCE and rng.random() < cprof["reels_share"]
    product = "REELS" if reels else "FEED"
    media_type = "VIDEO" if reels else _FEED_MEDIA_TYPES[bisect_right(_FEED_MEDIA_CDF, rng.random())]  # = choice(3, p=)
    reach = int(followers * cprof["reach_mult"] * (2.5 if reels else 1.0) * boost) + 1
    views = int(reach * float(rng.uniform(1.3, 2.5)))
    likes = int(reach * eng * 2.0)
    comments = int(likes * float(rng.uniform(0.02, 0.1)))
    shares = int(reach * float(rng.uniform(0.002, 0.02)))
    saved = int(reach * float(rng.uniform(0.002, 0.03)))
    final = {
        "reach": reach,
        "views": views,
        "likes": likes,
        "comments": comments,
        "shares": shares,
        "saved": saved,
        "total_interactions": likes + comments + shares + saved,
        "follows": int(reach * float(rng.uniform(0.0005, 0.004))),
        "profile_visits": int(reach * float(rng.uniform(0.01, 0.03))),
    }
    final["profile_activity"] = final["profile_visits"] // 3
    if reels:
        avg_ms = int(rng.uniform(3000, 15000))
        final["ig_reels_avg_watch_time"] = avg_ms
        final["ig_reels_video_view_total_time"] = views * avg_ms
    final["message_no"] = int(rng.integers(len(_MESSAGES)))
    return Item(platform, account_id, day_index, k, ts, product, media_type, final)


def month_items(seed: int, platform: str, account_id: str, year: int, month: int) -> tuple[Item, ...]:
    """All items of one Stockholm month (every kind), ordered by time. Cached, bounded."""
    return _MONTHS.get_or_make((seed, platform, account_id, year, month),
                               lambda: _generate_month(seed, platform, account_id, year, month))


def _prev_month(y: int, m: int) -> tuple[int, int]:
    return (y - 1, 12) if m == 1 else (y, m - 1)


def iter_newest_first(
    seed: int, platform: str, account_id: str, before: tuple[int, int] | None, now_ts: int, kinds: frozenset[str]
):
    """Items of ``kinds`` published at or before ``now_ts``, newest first, strictly older than the
    position ``before`` = (day_index, k) if given. Walks month blocks backwards to the epoch."""
    if before is not None:
        start_day = D.EPOCH + timedelta(days=before[0])
    else:
        start_day = PT.pacific_date(now_ts) + timedelta(days=1)  # Stockholm is ahead of Pacific
    y, m = start_day.year, start_day.month
    while (y, m) >= (D.EPOCH.year, D.EPOCH.month):
        for item in reversed(month_items(seed, platform, account_id, y, m)):
            if item.kind not in kinds or item.ts > now_ts:
                continue
            if before is not None and (item.day_index, item.k) >= before:
                continue
            yield item
        y, m = _prev_month(y, m)


def find_item(seed: int, platform: str, account_id: str, day_index: int, k: int) -> Item | None:
    day = D.EPOCH + timedelta(days=day_index)
    for item in month_items(seed, platform, account_id, day.year, day.month):
        if item.day_index == day_index and item.k == k:
            return item
    return None


def count_posts(seed: int, platform: str, account_id: str, now_ts: int) -> int:
    """Posts (IG: FEED + REELS; YouTube: uploads) published up to ``now_ts``: IG ``media_count``,
    YouTube ``videoCount``. Whole months before the current one are counted from
    ``month_counts`` only (``_posts_before``); the current and next Stockholm month are generated
    in full."""
    last = PT.pacific_date(now_ts) + timedelta(days=1)
    first_recent = _prev_month(last.year, last.month)
    total = _posts_before(seed, platform, account_id, *first_recent)
    kinds = POST_KINDS[platform]
    for y, m in (first_recent, (last.year, last.month)):
        if (y, m) >= (D.EPOCH.year, D.EPOCH.month):
            total += sum(
                1 for it in month_items(seed, platform, account_id, y, m) if it.kind in kinds and it.ts <= now_ts
            )
    return total


_POSTS_BEFORE = D._LRU(D.PROFILE_CACHE_MAX)
"""``_posts_before`` per (seed, platform, account, month): one int each, bounded like the profiles."""


def _posts_before(seed: int, platform: str, account_id: str, year: int, month: int) -> int:
    """Posts of the whole months from the epoch up to (not including) ``year-month``, from
    ``month_counts``. Cached: every IG node's ``media_count`` and YouTube ``videoCount`` asked for
    all ~80 months again, 90 % of a node's CPU (issue 21); the sum is the same."""

    def count() -> int:
        total = 0
        y, m = D.EPOCH.year, D.EPOCH.month
        while (y, m) < (year, month):
            total += int(month_counts(seed, platform, account_id, y, m)[0].sum())
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return total

    return _POSTS_BEFORE.get_or_make((seed, platform, account_id, year, month), count)


# ------------------------------------------------------------------------------------------------
# Ids
# ------------------------------------------------------------------------------------------------


def post_id(item: Item) -> str:
    return f"{item.account_id}_{POST_ID_BASE + item.day_index * MAX_ITEMS_PER_DAY + item.k}"


def parse_post_id(text: str) -> tuple[str, int, int] | None:
    """``{page-id}_{n}`` -> (page_id, day_index, k), or None."""
    page, sep, n = text.partition("_")
    if not sep or not page.isdigit() or not n.isdigit():
        return None
    rest = int(n) - POST_ID_BASE
    if rest < 0:
        return None
    return page, rest // MAX_ITEMS_PER_DAY, rest % MAX_ITEMS_PER_DAY


def media_id(item: Item) -> str:
    i = D.account_index("instagram", item.account_id) or 0
    return str(MEDIA_ID_BASE + i * MEDIA_ACCOUNT_STRIDE + item.day_index * MAX_ITEMS_PER_DAY + item.k)


def parse_media_id(text: str) -> tuple[int, int, int] | None:
    """IG media id -> (account index, day_index, k), or None."""
    if not text.isdigit():
        return None
    rest = int(text) - MEDIA_ID_BASE
    if rest < MEDIA_ACCOUNT_STRIDE or rest >= MEDIA_ACCOUNT_STRIDE * 10**6:
        return None
    i, pos = divmod(rest, MEDIA_ACCOUNT_STRIDE)
    return i, pos // MAX_ITEMS_PER_DAY, pos % MAX_ITEMS_PER_DAY


def shortcode(item: Item) -> str:
    raw = int(media_id(item)).to_bytes(8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")[1:]


def message(item: Item, seed: int) -> str:
    i = D.account_index(item.platform, item.account_id) or 1
    ident = D.account_identity(seed, i)
    venue = ident["name"].split(" – ", 1)[-1]
    return _MESSAGES[item.final.get("message_no", 0)].format(venue=venue, department=ident["department"])


# ------------------------------------------------------------------------------------------------
# Lifetime values at an age
# ------------------------------------------------------------------------------------------------


def growth(kind: str, age_s: float) -> float:
    """Share of the final lifetime value reached at ``age_s`` seconds (0 before publication, 1 after
    ``SETTLE_SECONDS[kind]``): ``(1 - exp(-5 a / T)) / (1 - exp(-5))``."""
    settle = SETTLE_SECONDS[kind]
    if age_s <= 0:
        return 0.0
    if age_s >= settle:
        return 1.0
    return min(1.0, (1.0 - math.exp(-5.0 * age_s / settle)) / (1.0 - math.exp(-5.0)))


_CONSTANT_METRICS = frozenset({"ig_reels_avg_watch_time", "message_no"})


def values_at(item: Item, now_ts: float) -> dict[str, Any]:
    """Lifetime-to-date values at ``now_ts`` (floor of final x growth; averages stay constant)."""
    g = growth(item.kind, now_ts - item.ts)
    out: dict[str, Any] = {}
    for name, final in item.final.items():
        if name in _CONSTANT_METRICS:
            out[name] = final
        elif isinstance(final, dict):
            out[name] = {key: int(v * g) for key, v in final.items() if int(v * g)}
        else:
            out[name] = int(final * g)
    if "ig_reels_video_view_total_time" in out:
        out["ig_reels_video_view_total_time"] = out["views"] * item.final["ig_reels_avg_watch_time"]
    return out


def interactions(item: Item) -> int:
    """Final interactions of an item for the ground truth: FB reactions (all types), IG
    ``total_interactions``."""
    if item.platform == "facebook":
        return sum(item.final["post_reactions_by_type_total"].values())
    return int(item.final.get("total_interactions", 0))


# ------------------------------------------------------------------------------------------------
# Per-day aggregates for the ground truth
# ------------------------------------------------------------------------------------------------

POST_KINDS = {
    "facebook": frozenset({"post"}),
    "instagram": frozenset({"FEED", "REELS"}),
    "youtube": frozenset({"video"}),
}


def daily_posts(seed: int, platform: str, account_id: str, first: date, last: date) -> tuple[np.ndarray, np.ndarray]:
    """(posts published, their final interactions) per *Pacific* day ``first..last``.

    Instagram counts FEED and REELS (what ``/media`` lists), not stories. Snapchat: zeros.
    """
    n = (last - first).days + 1
    counts = np.zeros(max(n, 0), dtype=np.int64)
    inter = np.zeros(max(n, 0), dtype=np.int64)
    kinds = POST_KINDS.get(platform)
    if n <= 0 or kinds is None:
        return counts, inter
    lo = max(first, D.EPOCH)
    end = last + timedelta(days=1)
    y, m = lo.year, lo.month
    while (y, m) <= (end.year, end.month):
        for item in month_items(seed, platform, account_id, y, m):
            if item.kind not in kinds:
                continue
            j = (PT.pacific_date(item.ts) - first).days
            if 0 <= j < n:
                counts[j] += 1
                inter[j] += interactions(item)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return counts, inter
