"""Ground truth: what the sandbox "platform" measured, straight from the generator.

Why: an end-to-end test must be able to say "the warehouse holds exactly what the API would have
reported" without re-implementing API parsing. These rows come from ``sandbox.data`` /
``sandbox.content`` directly (not through HTTP), so they are independent of the code under test.

The truth is not limited by the sandbox clock: it describes the generated world for any measured
day >= 2020-01-01 (earlier days have no data and yield no rows). Whether a day was *servable* at a
given moment (complete day, 2-year horizon, YouTube lag, accounts under 100 followers) is the
server's concern, and tests choose windows accordingly. Values are **final**: the API may report
preliminary (lower) activity values for the last two complete days (late restatements, see
``sandbox.graph``); the truth is what it settles to.

Daily rows (``ground_truth``), one per platform x account x Pacific day (Snapchat: UTC day):

* ``followers`` total at the END of the day, ``followers_gained``, ``followers_lost``
  (YouTube: subscribers, subscribersGained, subscribersLost; Snapchat: subscriber stats).
  YouTube's ``followers`` is the TRUE daily subscriber count, never rounded: the API only ever
  shows it rounded (``subscriberCount``, at request time) and reports the flows 2-3 days late, so
  a warehouse level can be compared with it only within the rounding bound of its anchor;
* ``views``, ``reach`` (unique viewers; None for YouTube, which has no reach), ``engagements``
  (FB ``page_post_engagements``, IG ``total_interactions``, YouTube likes + comments + shares,
  Snapchat shares + screenshots);
* ``posts_published``: FB posts / IG FEED+REELS media (not stories) / YouTube uploads whose
  ``created_time`` falls on that Pacific day (Snapchat: None);
* ``post_interactions``: final lifetime interactions of those posts (FB: reactions of all types,
  IG: ``total_interactions``; None for YouTube and Snapchat).

Demographic rows (``demographics_truth``): audience shares per account (see the function).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, timedelta
from typing import IO, Any

from sandbox import audience as AUD
from sandbox import content as C
from sandbox import data as D

TRUTH_COLUMNS = (
    "platform",
    "account_id",
    "metric_date",
    "followers",
    "followers_gained",
    "followers_lost",
    "views",
    "reach",
    "engagements",
    "posts_published",
    "post_interactions",
)
_SERIES_COLUMNS = ("followers", "followers_gained", "followers_lost", "views", "reach", "engagements")

DEMOGRAPHIC_COLUMNS = ("platform", "account_id", "department", "audience", "breakdown", "key", "share", "value")


def truth_accounts(config: Any) -> Iterator[tuple[str, str]]:
    """(platform, account_id) of every generated account, in export order."""
    for i in range(1, config.accounts + 1):
        yield "facebook", D.facebook_page_id(i)
    for i in range(1, config.accounts + 1):
        yield "instagram", D.instagram_user_id(i)
    for i in range(1, getattr(config, "youtube_channels", 0) + 1):
        yield "youtube", D.youtube_channel_id(i)
    for i in range(1, getattr(config, "snapchat_profiles", 0) + 1):
        yield "snapchat", D.snapchat_profile_id(i)


def iter_ground_truth(config: Any, since: date, until: date, platforms: tuple[str, ...] | None = None
                      ) -> Iterator[dict]:
    """Yield truth rows platform x account x day (``since..until`` inclusive) without building a
    list, so exporting 50,000 accounts stays at constant memory."""
    since = max(since, D.EPOCH)
    if since > until:
        return
    n_days = (until - since).days + 1
    days = [since + timedelta(days=k) for k in range(n_days)]
    seed = config.seed
    for platform, account_id in truth_accounts(config):
        if platforms is not None and platform not in platforms:
            continue
        series = D.daily_series(seed, platform, account_id, since, until)
        columns = {c: series[c].tolist() for c in _SERIES_COLUMNS}
        if platform == "youtube":
            columns["reach"] = [None] * n_days
        if platform in ("facebook", "instagram", "youtube"):
            counts, inter = C.daily_posts(seed, platform, account_id, since, until)
            columns["posts_published"] = counts.tolist()
            columns["post_interactions"] = inter.tolist() if platform != "youtube" else [None] * n_days
        else:
            columns["posts_published"] = [None] * n_days
            columns["post_interactions"] = [None] * n_days
        for k, day in enumerate(days):
            row: dict[str, Any] = {"platform": platform, "account_id": account_id, "metric_date": day}
            for name in TRUTH_COLUMNS[3:]:
                row[name] = columns[name][k]
            yield row


def ground_truth(config: Any, since: date, until: date) -> list[dict]:
    """One dict per platform x account x measured day in [since, until] inclusive.

    Keys: ``TRUTH_COLUMNS`` (metric_date is a ``date``). Ordered by platform (facebook,
    instagram, youtube, snapchat), account index, date. YouTube rows exist for
    ``config.youtube_channels`` channels, Snapchat rows for ``config.snapchat_profiles``.
    """
    return list(iter_ground_truth(config, since, until))


def write_csv(config: Any, since: date, until: date, out: IO[str]) -> int:
    """Stream the ground truth as CSV (header + rows, ISO dates, None as empty); returns the row count."""
    writer = csv.DictWriter(out, fieldnames=TRUTH_COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in iter_ground_truth(config, since, until):
        row["metric_date"] = row["metric_date"].isoformat()
        writer.writerow(row)
        count += 1
    return count


# ------------------------------------------------------------------------------------------------
# Demographics
# ------------------------------------------------------------------------------------------------


def iter_demographics_truth(config: Any, as_of: date) -> Iterator[dict]:
    """Audience truth per account, as of the end of Pacific day ``as_of``.

    Rows: ``DEMOGRAPHIC_COLUMNS``. ``audience`` is ``followers`` (FB/IG/Snapchat), ``engaged``
    (IG engaged accounts over the 30 days ending ``as_of``: ``timeframe=this_month``) or
    ``viewers`` (YouTube). ``breakdown`` is ``age``, ``gender``, ``age,gender``, ``city``,
    ``country`` (YouTube: ``ageGroup,gender``); ``key`` is formatted as the API serves it
    (IG city "City, Region", FB city "City, Region, Sweden", age "18-24", gender F/M/U,
    "18-24,F", YouTube "age18-24,female"). ``share`` is the exact model share (sums to 1 per
    breakdown); ``value`` is the count the API derives from it (YouTube: viewerPercentage). Keys
    are not cut to the top 45 here, and accounts under 100 followers are included although the
    API serves them no demographics.
    """
    from sandbox.youtube import viewer_percentages

    seed = config.seed
    for platform, account_id in truth_accounts(config):
        if platform == "youtube":
            aud = AUD.audience(seed, platform, account_id)
            shares = aud["age_gender"]
            for age_group, gender, pct in viewer_percentages(seed, account_id):
                a = AUD.AGE_GROUPS.index(age_group[3:].replace("65-", "65+"))
                g = ("female", "male", "user_specified").index(gender)
                yield _row(platform, account_id, aud, "viewers", "ageGroup,gender", f"{age_group},{gender}",
                           float(shares[a, g]), pct)
            continue
        audiences = [("followers", False)] + ([("engaged", True)] if platform == "instagram" else [])
        followers = D.followers_at(seed, platform, account_id, as_of)
        for audience, engaged in audiences:
            aud = AUD.audience(seed, platform, account_id, engaged=engaged)
            if engaged:
                start = max(D.EPOCH, as_of - timedelta(days=29))
                daily = D.daily_series(seed, platform, account_id, start, as_of)["accounts_engaged"]
                population = 0 if daily.size == 0 else int(daily.max()) + (int(daily.sum()) - int(daily.max())) // 3
            else:
                population = followers
            counts = AUD.audience_counts(seed, platform, account_id, population, engaged=engaged)
            grid = aud["age_gender"]
            for a, age in enumerate(AUD.AGE_GROUPS):
                yield _row(platform, account_id, aud, audience, "age", age, float(grid[a].sum()),
                           counts["age"].get(age, 0))
                for g, gender in enumerate(AUD.GENDERS):
                    yield _row(platform, account_id, aud, audience, "age,gender", f"{age},{gender}",
                               float(grid[a, g]), counts["age_gender"].get((age, gender), 0))
            for g, gender in enumerate(AUD.GENDERS):
                yield _row(platform, account_id, aud, audience, "gender", gender, float(grid[:, g].sum()),
                           counts["gender"].get(gender, 0))
            for (city, region), share in aud["cities"]:
                key = f"{city}, {region}" + (", Sweden" if platform == "facebook" else "")
                yield _row(platform, account_id, aud, audience, "city", key, share,
                           counts["city"].get((city, region), 0))
            for code, share in aud["countries"]:
                yield _row(platform, account_id, aud, audience, "country", code, share, counts["country"].get(code, 0))


def _row(platform: str, account_id: str, aud: dict, audience: str, breakdown: str, key: str, share: float,
         value: float) -> dict:
    return {
        "platform": platform,
        "account_id": account_id,
        "department": aud["department"],
        "audience": audience,
        "breakdown": breakdown,
        "key": key,
        "share": share,
        "value": value,
    }


def demographics_truth(config: Any, as_of: date) -> list[dict]:
    """``iter_demographics_truth`` as a list."""
    return list(iter_demographics_truth(config, as_of))


def write_demographics_csv(config: Any, as_of: date, out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=DEMOGRAPHIC_COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in iter_demographics_truth(config, as_of):
        writer.writerow(row)
        count += 1
    return count
