"""Deterministic synthetic data behind the sandbox.

Design constraints (and why):

* **Pure function of (seed, platform, account_id, date).** Tests and the ground-truth export must
  agree with what the HTTP server returned, no matter in which order, window size or "today" the
  data was requested. Randomness is therefore drawn per *(account, calendar month)* block from a
  ``numpy.random.SeedSequence`` built from those integers (never Python's salted ``hash``).
* **Anchored at a fixed epoch (2020-01-01).** ``followers(d) = base + cumsum(gained - lost)`` from
  the epoch, so the stock of followers on a day never depends on the requested window, and
  ``followers(d) == followers(d-1) + gained(d) - lost(d)`` holds for every day. To keep that
  cheap, month blocks are *bridged* to a smooth anchor trajectory (``follower_anchor``): each
  month's flows sum exactly to the anchor difference, so a month never needs the months before
  it and a cold read of "the last 3 days" costs one ~31-day block, not six years of history.
* **Lazy and bounded.** A 50,000-account benchmark must not allocate 50,000 full histories:
  month blocks are generated on demand and kept in a bounded LRU (``BLOCK_CACHE_MAX``). A miss
  costs well under a millisecond, so eviction only costs CPU, never correctness.
* **Plausible shapes.** Totals stay above 500 for ordinary accounts, growth with churn, a weekday
  pattern, yearly seasonality, slow trends and occasional viral spikes; ``reach <= views`` and
  ``engagements <= views`` on every day.
* **A few tiny accounts.** Every ``SMALL_ACCOUNT_EVERY``-th account (index 25, 50, ...) stays
  below 100 followers for its whole history, because the platforms' "<100 followers" rules (no
  follower metrics, no demographics, no Page insights) must be testable and real municipal
  portfolios do contain such accounts. Indices 1..24 are never small, so small test setups keep
  seeing only ordinary accounts.
* **Four platforms.** Facebook Page i, Instagram account i, YouTube channel i and Snapchat
  profile i belong to the same department/venue (``account_identity``); each has its own series.
* **Audiences by department** (``audience``): age/gender/city/country shares drawn around a
  department prior (Ungdom skews 13-24, Äldreomsorg 65+), so demographic marts have something
  real to show.

The module also holds the *Meta day* calendar helpers (``day_start_utc`` etc.): Meta's "day" is the
America/Los_Angeles calendar day, and both the server and the tests need the same definition.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import threading
import unicodedata
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from sandbox.pacific_time import day_start_ts

EPOCH = date(2020, 1, 1)
"""First day with data. Accounts "start" here; followers at the end of 2019-12-31 equal ``base``."""

FOLLOWER_FLOOR = 600
"""Follower totals of ordinary accounts never drop below this (see ``_generate_block``)."""

SMALL_ACCOUNT_EVERY = 25
"""Account index i with ``i % SMALL_ACCOUNT_EVERY == 0`` is a tiny account (< 100 followers)."""
SMALL_FLOOR, SMALL_CEILING = 10, 99

BLOCK_CACHE_MAX = 2048
"""Month blocks (one account, one calendar month, ~4.7 KB) kept in memory: ~10 MB at most. Sized so
that a nightly run over ~100 accounts mostly fits, while 50,000 accounts cannot grow memory past
the same ceiling (bench/bench_sandbox.py checks 100 vs 50,000); a miss costs well under 1 ms."""

PROFILE_CACHE_MAX = 2048
"""Account profiles (time-invariant parameters, ~1.5 KB) kept in memory."""

PLATFORMS = ("facebook", "instagram", "youtube", "snapchat")
"""Codes 1..4 feed the seed streams; the order is part of the data definition (never reorder)."""
META_PLATFORMS = ("facebook", "instagram")
FACEBOOK_ID_BASE = 100_000_000_000_000
INSTAGRAM_ID_BASE = 17_841_400_000_000_000

SERIES_KEYS = (
    "followers",  # total at END of the day (stock)
    "followers_gained",
    "followers_lost",
    "views",  # page_media_view / IG views
    "reach",  # page_total_media_view_unique / IG reach (<= views)
    "engagements",  # page_post_engagements / IG total_interactions (<= views)
    "page_visits",  # page_views_total / IG profile_views (extra; not in the ground truth)
    "accounts_engaged",  # IG accounts_engaged (extra; <= engagements)
)

DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "Kommunstyrelsen": ("Kommunen", "Kommunikation", "Näringsliv", "Krisinformation"),
    "Kultur": ("Kulturhuset", "Konsthallen", "Kulturskolan", "Teatern"),
    "Fritid": ("Badhuset", "Sporthallen", "Friluftsgården", "Ishallen"),
    "Skola": ("Gymnasiet", "Grundskolan", "Vuxenutbildningen", "Förskolan"),
    "Äldreomsorg": ("Hemtjänsten", "Äldreboendet", "Träffpunkten"),
    "Ungdom": ("Fritidsgården", "Ungdomsrådet", "Sommarlovet"),
    "Bibliotek": ("Stadsbiblioteket", "Filialbiblioteket", "Bokbussen"),
    "Miljö": ("Miljöförvaltningen", "Parkerna", "Återvinningen", "Klimatrådet"),
}
_DEPARTMENT_NAMES = tuple(DEPARTMENTS)

# ------------------------------------------------------------------------------------------------
# Account ids and directory
# ------------------------------------------------------------------------------------------------


def facebook_page_id(i: int) -> str:
    """Facebook Page id of account ``i`` (1-based). Real Page ids are 15-digit numbers too."""
    if i < 1:
        raise ValueError("account index is 1-based")
    return str(FACEBOOK_ID_BASE + i)


def instagram_user_id(i: int) -> str:
    """Instagram professional-account id of account ``i``; the 1784140... prefix mimics real ones."""
    if i < 1:
        raise ValueError("account index is 1-based")
    return str(INSTAGRAM_ID_BASE + i)


_MASK48 = (1 << 48) - 1
_MUL48 = 0x9E3779B97F4B  # odd -> invertible mod 2**48
_INV48 = pow(_MUL48, -1, 1 << 48)
_XOR48 = 0x5DEECE66D1A7


def _scramble(i: int) -> bytes:
    """Bijective 48-bit mix of an index, so ids do not end in visible counters."""
    return (((i * _MUL48) & _MASK48) ^ _XOR48).to_bytes(6, "big")


def _unscramble(raw: bytes) -> int:
    return ((int.from_bytes(raw, "big") ^ _XOR48) * _INV48) & _MASK48


def youtube_channel_id(i: int) -> str:
    """YouTube channel id of channel ``i``: "UC" + 22 chars of [A-Za-z0-9_-], like real ones.

    The 22 chars are the base64url form of 16 bytes (10 hash bytes + ``i`` mixed into 6), so the
    last char is one of A/Q/g/w exactly as in real ids, and the index can be recovered in O(1)
    (``parse_youtube_channel_id``) without a 50,000-entry lookup table.
    """
    if i < 1:
        raise ValueError("account index is 1-based")
    raw = hashlib.blake2b(f"yt:{i}".encode(), digest_size=10).digest() + _scramble(i)
    return "UC" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_youtube_channel_id(channel_id: str) -> int | None:
    """Index ``i`` of a generated channel id, or None if it is not one."""
    if len(channel_id) != 24 or not channel_id.startswith("UC"):
        return None
    try:
        raw = base64.urlsafe_b64decode(channel_id[2:] + "==")
    except (ValueError, binascii.Error):
        return None
    i = _unscramble(raw[10:16])
    return i if 1 <= i < 10**9 and youtube_channel_id(i) == channel_id else None


def snapchat_profile_id(i: int) -> str:
    """Snapchat Public Profile id of profile ``i``: a deterministic version-4 UUID (index in the
    last 6 bytes, recoverable by ``parse_snapchat_profile_id``)."""
    if i < 1:
        raise ValueError("account index is 1-based")
    raw = hashlib.blake2b(f"snap:{i}".encode(), digest_size=10).digest() + _scramble(i)
    return str(uuid.UUID(bytes=raw, version=4))


def parse_snapchat_profile_id(profile_id: str) -> int | None:
    try:
        value = uuid.UUID(profile_id)
    except (ValueError, AttributeError):
        return None
    i = _unscramble(value.bytes[10:])
    return i if 1 <= i < 10**9 and snapchat_profile_id(i) == profile_id.lower() else None


def account_index(platform: str, account_id: str) -> int | None:
    """The 1-based index behind any generated id (no upper bound check), else None."""
    if platform in META_PLATFORMS:
        if not account_id.isdigit():
            return None
        n = int(account_id) - (FACEBOOK_ID_BASE if platform == "facebook" else INSTAGRAM_ID_BASE)
        return n if 1 <= n < 10**9 else None
    if platform == "youtube":
        return parse_youtube_channel_id(account_id)
    if platform == "snapchat":
        return parse_snapchat_profile_id(account_id)
    return None


def is_small_account(platform: str, account_id: str) -> bool:
    """Whether the account is one of the tiny (< 100 followers) accounts."""
    i = account_index(platform, account_id)
    return i is not None and i % SMALL_ACCOUNT_EVERY == 0


def parse_account_id(account_id: str, accounts: int) -> tuple[str, int] | None:
    """Map an object id to ``(platform, index)`` if it is one of the ``accounts`` generated ids.

    Arithmetic instead of a dict keeps lookups O(1) and memory-free at 50,000 accounts.
    """
    if not account_id.isdigit() or len(account_id) > 20:
        return None
    n = int(account_id)
    if FACEBOOK_ID_BASE < n <= FACEBOOK_ID_BASE + accounts:
        return "facebook", n - FACEBOOK_ID_BASE
    if INSTAGRAM_ID_BASE < n <= INSTAGRAM_ID_BASE + accounts:
        return "instagram", n - INSTAGRAM_ID_BASE
    return None


def seed_words(seed: int) -> list[int]:
    # SeedSequence needs non-negative ints; keep negative seeds distinct from positive ones.
    return [seed & 0xFFFFFFFFFFFFFFFF, 1 if seed < 0 else 0]


def account_int(account_id: str) -> int:
    if account_id.isdigit():
        return int(account_id)
    # Non-numeric ids (only used by callers experimenting with daily_series) get a stable hash.
    return int.from_bytes(hashlib.blake2b(account_id.encode(), digest_size=8).digest(), "big")


def platform_code(platform: str) -> int:
    try:
        return PLATFORMS.index(platform) + 1
    except ValueError:
        raise ValueError(f"platform must be one of {PLATFORMS}, got {platform!r}") from None


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() else "_" for c in ascii_text.lower()).strip("_")


def account_identity(seed: int, i: int) -> dict[str, str]:
    """Department, display name and IG username of account pair ``i`` (same for FB and IG).

    Deterministic per (seed, i) so a directory of 50,000 never needs to be materialised. Read
    through a bounded LRU: every post and media node of a listing asks for it (its caption names
    the venue), and drawing it costs a seed stream and two slugs (issue 21). A copy is returned,
    so a caller that edits it cannot change the cached one.
    """
    return dict(_IDENTITIES.get_or_make((seed, i), lambda: _draw_identity(seed, i)))


def _draw_identity(seed: int, i: int) -> dict[str, str]:
    rng = np.random.default_rng(np.random.SeedSequence([*seed_words(seed), 0xD1, i]))
    department = _DEPARTMENT_NAMES[int(rng.integers(len(_DEPARTMENT_NAMES)))]
    venues = DEPARTMENTS[department]
    venue = venues[int(rng.integers(len(venues)))]
    return {
        "department": department,
        "name": f"{department} – {venue} {i}",
        "username": f"{_slug(department)}_{_slug(venue)}_{i}",
    }


def account_directory(config: Any) -> list[dict]:
    """All generated accounts: first the ``2 * config.accounts`` Meta accounts (Facebook Page i is
    linked to Instagram account i, exactly as before YouTube/Snapchat existed), then
    ``config.youtube_channels`` YouTube channels and ``config.snapchat_profiles`` Snapchat
    profiles (``linked_account_id`` = the Facebook Page of the same index, or None).

    ``config`` is any object with ``accounts`` and ``seed`` (normally ``SandboxConfig``); missing
    ``youtube_channels``/``snapchat_profiles`` attributes count as 0.
    """
    rows: list[dict] = []
    for platform in META_PLATFORMS:
        for i in range(1, config.accounts + 1):
            ident = account_identity(config.seed, i)
            fb, ig = facebook_page_id(i), instagram_user_id(i)
            rows.append(
                {
                    "platform": platform,
                    "account_id": fb if platform == "facebook" else ig,
                    "name": ident["name"],
                    "department": ident["department"],
                    "linked_account_id": ig if platform == "facebook" else fb,
                }
            )
    for platform, count, make_id in (
        ("youtube", getattr(config, "youtube_channels", 0), youtube_channel_id),
        ("snapchat", getattr(config, "snapchat_profiles", 0), snapchat_profile_id),
    ):
        for i in range(1, count + 1):
            ident = account_identity(config.seed, i)
            rows.append(
                {
                    "platform": platform,
                    "account_id": make_id(i),
                    "name": ident["name"],
                    "department": ident["department"],
                    "linked_account_id": facebook_page_id(i) if i <= config.accounts else None,
                }
            )
    return rows


# ------------------------------------------------------------------------------------------------
# Account profile (time-invariant parameters)
# ------------------------------------------------------------------------------------------------

_WEEKDAY_SHAPE = np.array([1.06, 1.10, 1.08, 1.04, 0.96, 0.78, 0.72])  # Mon..Sun


def account_profile(seed: int, platform: str, account_id: str) -> dict[str, Any]:
    """Time-invariant parameters of one account (drawn once from its own seed stream).

    Exposed because snapshot fields that are not daily series (``fan_count`` ratio,
    ``follows_count``, media counts) derive from it.
    """
    code = platform_code(platform)
    rng = np.random.default_rng(np.random.SeedSequence([*seed_words(seed), code, account_int(account_id), 0xA0]))
    ig = platform == "instagram"
    base = float(np.clip(rng.lognormal(math.log(2200 if ig else 3200), 0.9), 800, 150_000))
    weekday = _WEEKDAY_SHAPE * rng.uniform(0.9, 1.1, 7)
    prof = {
        "base_followers": int(base),
        "growth_rate": float(rng.uniform(0.0006, 0.0030)),  # mean gained/day per base follower
        "churn": float(rng.uniform(0.35, 0.80)),  # mean lost / mean gained
        "view_rate": float(rng.uniform(0.20, 1.50) if ig else rng.uniform(0.15, 1.20)),
        "reach_frac": float(rng.uniform(0.45, 0.80)),
        "eng_rate": float(rng.uniform(0.010, 0.050)),
        "visit_rate": float(rng.uniform(0.005, 0.030)),
        "engaged_frac": float(rng.uniform(0.55, 0.80)),
        "weekday": weekday / weekday.mean(),
        "season_amp": float(rng.uniform(0.05, 0.30)),
        "season_phase": float(rng.uniform(0.0, 2 * math.pi)),
        "trend_per_year": float(rng.uniform(-0.03, 0.12)),
        "spike_prob": float(rng.uniform(0.004, 0.020)),
        "fan_ratio": float(rng.uniform(0.82, 0.97)),
        "follows_count": int(rng.integers(40, 900)),
        "media_base": int(rng.integers(30, 600)),
        "posts_per_week": float(rng.uniform(0.5, 7.0)),
        "floor": FOLLOWER_FLOOR,
        "ceiling": None,
    }
    if is_small_account(platform, account_id):
        # Tiny account: flat anchor (churn == 1 -> zero net growth), kept inside [10, 99].
        prof.update(
            base_followers=int(25 + rng.integers(0, 55)),
            growth_rate=float(rng.uniform(0.002, 0.01)),
            churn=1.0,
            trend_per_year=0.0,
            floor=SMALL_FLOOR,
            ceiling=SMALL_CEILING,
        )
    return prof


# ------------------------------------------------------------------------------------------------
# Month-block generation
# ------------------------------------------------------------------------------------------------


def follower_anchor(prof: dict, day_index: int) -> int:
    """Followers at the end of the day before ``EPOCH + day_index`` for a month's first day.

    A smooth, non-decreasing trajectory (linear growth with a slow trend). Each month block is
    "bridged" so its flows sum exactly to the change between consecutive anchors; that makes
    every month independent of all earlier months (no O(history) walk on a cold cache) while
    ``followers(d) = followers(d-1) + gained(d) - lost(d)`` still holds across month boundaries.
    """
    t = float(day_index)
    growth = prof["base_followers"] * prof["growth_rate"] * (1.0 - prof["churn"])
    curvature = max(prof["trend_per_year"], 0.0) * t * t / 730.5  # >= 0 keeps it non-decreasing
    return int(round(prof["base_followers"] + growth * (t + curvature)))


def _spread(rng: np.random.Generator, total: int, weights: np.ndarray) -> np.ndarray:
    """Distribute a non-negative integer ``total`` over days proportionally to ``weights``."""
    if total <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    w = np.maximum(weights, 1e-9)
    return rng.multinomial(total, w / w.sum()).astype(np.int64)


def _generate_block(
    seed: int, platform: str, account_int: int, year: int, month: int, prof: dict
) -> dict[str, np.ndarray]:
    """All series for one calendar month; a pure function of (seed, platform, account, month)."""
    first = date(year, month, 1)
    nxt = date(year + month // 12, month % 12 + 1, 1)
    n = (nxt - first).days
    t0 = (first - EPOCH).days
    rng = np.random.default_rng(
        np.random.SeedSequence([*seed_words(seed), platform_code(platform), account_int, 0xB1, year * 12 + month])
    )
    t = np.arange(n) + t0  # global day index from the epoch
    weekday = prof["weekday"][(EPOCH.weekday() + t) % 7]
    season = 1.0 + prof["season_amp"] * np.sin(2 * np.pi * t / 365.25 + prof["season_phase"])
    trend = np.maximum(0.3, 1.0 + prof["trend_per_year"] * t / 365.25)
    u = rng.random((3, n))
    spike = np.where(u[0] < prof["spike_prob"], 1.0 + np.exp(1.0 + 0.6 * rng.normal(size=n)), 1.0)
    unfollow_wave = np.where(u[1] < prof["spike_prob"] / 2, 2.0 + 3.0 * u[2], 1.0)

    base_gain = prof["base_followers"] * prof["growth_rate"]
    gained_lam = base_gain * weekday * season * trend * (1.0 + 0.5 * (spike - 1.0))
    lost_lam = base_gain * prof["churn"] * np.sqrt(season * trend) * unfollow_wave
    noise = rng.gamma(5.0, 1 / 5.0, (2, n))  # Gamma-Poisson: realistic over-dispersion
    gained = rng.poisson(gained_lam * noise[0]).astype(np.int64)
    lost = rng.poisson(lost_lam * noise[1]).astype(np.int64)

    # Bridge to the anchor trajectory (see follower_anchor).
    start = follower_anchor(prof, t0)
    target = follower_anchor(prof, t0 + n) - start  # >= 0: anchors never decrease
    diff = target - int(gained.sum() - lost.sum())
    if diff > 0:
        gained += _spread(rng, diff, gained_lam)
    elif diff < 0:
        lost += _spread(rng, -diff, lost_lam)
    followers = start + np.cumsum(gained - lost)
    too_high = prof["ceiling"] is not None and followers.max() > prof["ceiling"]
    if followers.min() < prof["floor"] or too_high:
        # Practically never happens for ordinary accounts (anchors >= 800), but guarantee the
        # floor (and a tiny account's ceiling): a churn-free month that still ends on the anchor is
        # non-decreasing from an in-range start (for tiny accounts target == 0: a flat month).
        lost = np.zeros(n, dtype=np.int64)
        gained = _spread(rng, target, gained_lam)
        followers = start + np.cumsum(gained)

    prev = np.concatenate(([start], followers[:-1])).astype(np.float64)
    activity = weekday * season * trend * spike
    views = rng.poisson(prev * prof["view_rate"] * activity * rng.gamma(6.0, 1 / 6.0, n))
    reach_p = np.clip(prof["reach_frac"] + 0.05 * rng.normal(size=n), 0.2, 0.98)
    reach = rng.binomial(views, reach_p)
    eng_p = np.clip(prof["eng_rate"] * np.exp(0.25 * rng.normal(size=n)), 0.0, 0.5)
    engagements = rng.binomial(views, eng_p)
    page_visits = rng.poisson(views * prof["visit_rate"] + 1.0)
    accounts_engaged = rng.binomial(engagements, prof["engaged_frac"])

    block = {
        "followers": followers,
        "followers_gained": gained,
        "followers_lost": lost,
        "views": views,
        "reach": reach,
        "engagements": engagements,
        "page_visits": page_visits,
        "accounts_engaged": accounts_engaged,
    }
    for key, arr in block.items():
        arr = arr.astype(np.int64, copy=False)
        arr.flags.writeable = False  # cached and handed out as views: protect against mutation
        block[key] = arr
    return block


class _LRU:
    """Small thread-safe LRU. Values are computed outside the lock by the caller; two threads
    racing on the same miss just compute the same deterministic value twice."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: tuple) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: tuple, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def get_or_make(self, key: tuple, make: Callable[[], Any]) -> Any:
        """The cached value for `key`, else `make()` (outside the lock), cached and returned."""
        value = self.get(key)
        if value is None:
            value = make()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


_PROFILES = _LRU(PROFILE_CACHE_MAX)
_BLOCKS = _LRU(BLOCK_CACHE_MAX)
_IDENTITIES = _LRU(PROFILE_CACHE_MAX)  # account_identity: three short strings per (seed, index)


def cache_size() -> int:
    """Month blocks currently cached (bounded by ``BLOCK_CACHE_MAX``: memory stays flat)."""
    return len(_BLOCKS)


def cached_profile(seed: int, platform: str, account_id: str) -> dict:
    """``account_profile`` through a bounded LRU (it is needed for every block and node read)."""
    return _PROFILES.get_or_make((seed, platform, account_id), lambda: account_profile(seed, platform, account_id))


def _block(seed: int, platform: str, account_id: str, year: int, month: int) -> dict:
    def make() -> dict:
        prof = cached_profile(seed, platform, account_id)
        return _generate_block(seed, platform, account_int(account_id), year, month, prof)

    return _BLOCKS.get_or_make((seed, platform, account_id, year, month), make)


def daily_series(seed: int, platform: str, account_id: str, start: date, end: date) -> dict[str, np.ndarray]:
    """Daily values for ``start..end`` inclusive, one int64 array per key in ``SERIES_KEYS``.

    ``followers`` is the total at the END of each day; the rest are per-day flows. Raises
    ``ValueError`` for days before ``EPOCH`` (the generated accounts have no earlier history;
    callers that expose arbitrary windows, like the server, clamp first). Returned arrays may be
    read-only views into the cache -- copy before mutating.
    """
    platform_code(platform)
    if start > end:
        return {k: np.zeros(0, dtype=np.int64) for k in SERIES_KEYS}
    if start < EPOCH:
        raise ValueError(f"no data before {EPOCH.isoformat()} (asked for {start.isoformat()})")
    parts: list[dict[str, np.ndarray]] = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        block = _block(seed, platform, account_id, y, m)
        first = date(y, m, 1)
        lo = (max(start, first) - first).days
        hi = (end - first).days + 1  # slicing clips to the month
        parts.append({k: v[lo:hi] for k, v in block.items()})
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in SERIES_KEYS}


def followers_at(seed: int, platform: str, account_id: str, day: date) -> int:
    """Follower total at the end of ``day`` (the base before the epoch)."""
    if day < EPOCH:
        return cached_profile(seed, platform, account_id)["base_followers"]
    return int(daily_series(seed, platform, account_id, day, day)["followers"][0])


# ------------------------------------------------------------------------------------------------
# Late restatements
# ------------------------------------------------------------------------------------------------

RESTATEMENT_HOURS = 48
"""A measured day's activity values are final RESTATEMENT_HOURS after the day ended."""


def restatement_factor(seed: int, platform: str, account_id: str, day: date, now: datetime | float) -> float:
    """Fraction of the final value that the platform reports for ``day`` at instant ``now``.

    1.0 once ``RESTATEMENT_HOURS`` have passed since the end of the (Pacific) day; before that it
    rises linearly from ``1 - deficit`` (at the end of the day) to 1.0, where ``deficit`` in
    [0.15, 0.40] is drawn per (account, day). Monotone in ``now``, so re-reading a day never
    shows a smaller number, and a pure function, so tests can predict every preliminary value.
    """
    ts = now if isinstance(now, int | float) else now.timestamp()
    age_h = (ts - day_start_ts(day + timedelta(days=1))) / 3600.0
    if age_h >= RESTATEMENT_HOURS:
        return 1.0
    digest = hashlib.blake2b(
        f"{seed}:{platform}:{account_id}:{day.isoformat()}".encode(), digest_size=4
    ).digest()
    deficit = 0.15 + 0.25 * int.from_bytes(digest, "big") / 2**32
    return 1.0 - deficit * (1.0 - max(0.0, age_h) / RESTATEMENT_HOURS)
