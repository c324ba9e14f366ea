"""The Graph emulator's insights: Page and Instagram time series, post/media insights, demographics.

A mixin of `sandbox.graph.GraphApp` (it uses the app's config, clock and series cache): split out so
each file has one job; the router stays in `sandbox.graph`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

from sandbox import audience as AUD
from sandbox import content as C
from sandbox import data as D
from sandbox import graph_helpers as H
from sandbox import pacific_time as PT
from sandbox.catalogue import (
    ALL_MEDIA_METRICS,
    ALL_PAGE_METRICS,
    IG_DEMOGRAPHIC_BREAKDOWNS,
    IG_DEMOGRAPHIC_METRICS,
    IG_FOLLOW_TYPE_METRICS,
    IG_METRICS,
    IG_PRODUCT_TYPE_METRICS,
    IG_PRODUCT_TYPES,
    IG_TIMEFRAMES,
    MEDIA_METRIC_TITLES,
    MEDIA_METRICS,
    PAGE_DICT_METRICS,
    PAGE_METRIC_PERIODS,
    PAGE_METRICS,
    PAGE_UNIQUE_METRICS,
    PERIOD_DAYS,
    POST_METRICS,
    RESTATED_KEYS,
    TIME_SERIES,
    TOTAL_VALUE,
    dedup_total,
    sum_total,
)
from sandbox.graph_helpers import (
    HISTORY_DAYS,
    IG_FOLLOWER_COUNT_DAYS,
    IG_WINDOW_DAYS,
    PAGE_WINDOW_DAYS,
    WINDOW_TOLERANCE_S,
    Target,
)
from sandbox.tokens import (
    DAY,
)
from sandbox.wire import GraphError


class GraphInsights:
    """The /insights edges: windows, periods, restatements and time-based paging."""

    def _post_insights(self, target: Target, query: dict[str, str]) -> dict:
        item = target.item
        assert item is not None
        metrics = H.metric_list(query)
        for name in metrics:
            if name not in POST_METRICS:
                raise GraphError("(#100) The value must be a valid insights metric", 100)
        period = query.get("period") or "lifetime"
        if period != "lifetime":
            raise GraphError("(#100) period must be one of the following values: lifetime", 100)  # UNVERIFIED
        if D.is_small_account("facebook", target.account_id):
            return {"data": []}  # insights only for Pages with >= 100 likes
        current = C.values_at(item, self.now_ts())
        clicks = current["post_clicks"]
        derived = {
            "post_clicks_by_type": {
                k: v for k, v in (("link clicks", clicks * 3 // 10), ("photo view", clicks // 2),
                                  ("other clicks", clicks - clicks * 3 // 10 - clicks // 2)) if v
            },
            "post_video_avg_time_watched": (4000 + item.ts % 9000) if item.media_type == "added_video" else 0,
        }
        pid = C.post_id(item)
        data = []
        for name in metrics:
            title, description = POST_METRICS[name]
            value = derived[name] if name in derived else current[name]
            data.append(
                {
                    "name": name,
                    "period": "lifetime",
                    "values": [{"value": value}],
                    "title": title,
                    "description": description,
                    "id": f"{pid}/insights/{name}/lifetime",
                }
            )
        return {"data": data}

    def _media_insights(self, target: Target, query: dict[str, str]) -> dict:
        item = target.item
        assert item is not None
        metrics = H.metric_list(query)
        allowed = MEDIA_METRICS[item.kind]
        for i, name in enumerate(metrics):
            if name not in ALL_MEDIA_METRICS:
                raise GraphError(f"(#100) metric[{i}] must be one of the following values: " + ", ".join(allowed), 100)
        for name in metrics:
            unsupported = name not in allowed or (
                name == "views" and D.EPOCH + timedelta(days=item.day_index) < C.VIEWS_METRIC_SINCE
            )
            if unsupported:
                raise GraphError(
                    f"(#100) The Media Insights API does not support the {name} metric for this media product type.",
                    100,
                )
        now = self.now_ts()
        if item.kind == "STORY":
            if now - item.ts >= C.STORY_LIFETIME_S:
                # ASSUMED rendering of "story insights only for 24 h".
                raise GraphError("(#10) Insights for this story are no longer available (stories: 24 hours)", 10)
            if item.final["reach"] < 5:
                raise GraphError("(#10) Not enough viewers for the media to show insights", 10)
        current = C.values_at(item, now)
        mid = C.media_id(item)
        data = [
            {
                "name": name,
                "period": "lifetime",
                "values": [{"value": current.get(name, 0)}],
                "title": MEDIA_METRIC_TITLES[name],
                "description": f"The {MEDIA_METRIC_TITLES[name].lower()} of this media (lifetime).",
                "id": f"{mid}/insights/{name}/lifetime",
            }
            for name in metrics
        ]
        return {"data": data}

    # -- insights ---------------------------------------------------------------------------------

    def _window(self, query: dict[str, str], max_days: int) -> tuple[int, int]:
        """Resolve since/until (unix s) with the API's defaults, enforcing the max span."""
        today = self.today()
        until = H.parse_time(query, "until") if query.get("until") else PT.day_start_ts(today)
        # No since: the last 2 days before until (what v25 returned without since/until).
        since = H.parse_time(query, "since") if query.get("since") else until - 2 * DAY
        if since >= until:
            # UNVERIFIED wording.
            raise GraphError("(#100) The since timestamp must be before the until timestamp", 100)
        if until - since > max_days * DAY + WINDOW_TOLERANCE_S:
            raise GraphError(
                f"(#100) There cannot be more than {max_days} days ({max_days * DAY} s) between "
                "since and until" + ("." if max_days == IG_WINDOW_DAYS else ""),
                100,
            )
        return since, until

    def _measured_days(self, since: int, until: int) -> tuple[date, date]:
        """Inclusive measured-day range for [since, until), capped to complete days and the
        2-year horizon; first > last when nothing is available."""
        today = self.today()
        first = PT.pacific_date(since)
        last = PT.pacific_date(until - 1)
        first = max(first, today - timedelta(days=HISTORY_DAYS), D.EPOCH)
        last = min(last, today - timedelta(days=1))
        return first, last

    def _series(self, platform: str, obj: str, first: date, last: date) -> dict[str, np.ndarray]:
        """Daily series as the API reports them now: activity values of days younger than
        ``RESTATEMENT_HOURS`` are scaled by ``restatement_factor`` (module docstring)."""
        series = D.daily_series(self.config.seed, platform, obj, first, last)
        if not self.restatements or first > last:
            return series
        now = self.now_ts()
        lo = max(first, self.today() - timedelta(days=3))
        factors = []
        for k in range((lo - first).days, (last - first).days + 1):
            day = first + timedelta(days=k)
            f = D.restatement_factor(self.config.seed, platform, obj, day, now)
            if f < 1.0:
                factors.append((k, f))
        if not factors:
            return series
        lo_k = factors[0][0]
        scale = np.ones(len(series["views"]) - lo_k)
        for k, f in factors:
            scale[k - lo_k] = f
        out = dict(series)
        for key in RESTATED_KEYS:
            arr = series[key].copy()
            arr[lo_k:] = (arr[lo_k:] * scale).astype(np.int64)  # floor: values are >= 0
            out[key] = arr
        return out

    def _paging(self, base: str, params: list[tuple[str, Any]], since: int, until: int) -> dict:
        span = until - since
        fixed = "&".join(f"{k}={H.quote(str(v))}" for k, v in params)
        return {
            "previous": f"{base}{fixed}&since={since - span}&until={since}",
            "next": f"{base}{fixed}&since={until}&until={until + span}",
        }

    def _page_insights(self, obj: str, query: dict[str, str], version: str, base_url: str) -> dict:
        metrics = H.metric_list(query)
        for name in metrics:
            if name not in ALL_PAGE_METRICS:
                raise GraphError("(#100) The value must be a valid insights metric", 100)
        period = query.get("period") or "day"
        for name in metrics:
            periods = PAGE_METRIC_PERIODS.get(name, frozenset({"lifetime"}))
            if period not in periods:
                # UNVERIFIED wording.
                raise GraphError(
                    f"(#100) The metric {name} does not support period={period}; supported: "
                    + ", ".join(sorted(periods)),
                    100,
                )
        since, until = self._window(query, PAGE_WINDOW_DAYS)
        first, last = self._measured_days(since, until)
        base = f"{base_url}/graph/{version}/{obj}/insights?"
        paging = self._paging(base, [("metric", ",".join(metrics)), ("period", period)], since, until)
        if first > last or D.is_small_account("facebook", obj):
            # Small Pages (< 100 likes) have no insights at all (PLATFORM_APIS §2.3).
            return {"data": [], "paging": paging}
        width = PERIOD_DAYS.get(period, 1)
        lead = width - 1
        start = max(D.EPOCH, first - timedelta(days=lead))
        series = self._series("facebook", obj, start, last)
        offset = (first - start).days
        end_times = H.end_times(first, last)
        n = len(end_times)
        data = []
        for name in metrics:
            if name in PAGE_DICT_METRICS:
                title, description, breakdown = PAGE_DICT_METRICS[name]
                values = self._page_dict_values(obj, breakdown, series["followers"][offset:])
            else:
                title, description, fn = PAGE_METRICS[name]
                daily = fn(series)
                if width == 1:
                    values = daily[offset:].tolist()
                else:
                    values = []
                    agg = dedup_total if name in PAGE_UNIQUE_METRICS else sum_total
                    for k in range(n):
                        j = offset + k
                        values.append(agg(daily[max(0, j - lead) : j + 1]))
                if period != "day":
                    title = title.replace("Daily", {"week": "Weekly", "days_28": "28 Days"}.get(period, "Lifetime"))
                    description = description.replace(
                        "Daily:", {"week": "Weekly:", "days_28": "28 Days:"}.get(period, "Lifetime:")
                    )
            data.append(
                {
                    "name": name,
                    "period": period,
                    "values": [{"value": v, "end_time": e} for v, e in zip(values, end_times, strict=True)],
                    "title": title,
                    "description": description,
                    "id": f"{obj}/insights/{name}/{period}",
                }
            )
        return {"data": data, "paging": paging}

    def _page_dict_values(self, obj: str, breakdown: str, followers: np.ndarray) -> list[dict]:
        """Followers by city ("City, Region, Sweden") or country (ISO-2) for each day, top 45."""
        out = []
        for total in followers.tolist():
            counts = AUD.audience_counts(self.config.seed, "facebook", obj, int(total))[breakdown]
            if breakdown == "city":
                counts = {f"{city}, {region}, Sweden": n for (city, region), n in counts.items()}
            out.append(dict(H.top(counts, AUD.DEMOGRAPHIC_TOP_N)))
        return out

    def _ig_insights(self, obj: str, query: dict[str, str], version: str, base_url: str) -> dict:
        metrics = H.metric_list(query)
        known = list(IG_METRICS) + list(IG_DEMOGRAPHIC_METRICS)
        for i, name in enumerate(metrics):
            if name not in known:
                raise GraphError(f"(#100) metric[{i}] must be one of the following values: " + ", ".join(known), 100)
        demographic = [m for m in metrics if m in IG_DEMOGRAPHIC_METRICS]
        if demographic:
            return self._ig_demographics(obj, metrics, query)
        period = query.get("period") or "day"
        if period != "day":
            raise GraphError("(#100) period must be one of the following values: day", 100)
        metric_type = query.get("metric_type") or TIME_SERIES
        if metric_type not in (TIME_SERIES, TOTAL_VALUE):
            raise GraphError(
                "(#100) metric_type must be one of the following values: time_series, total_value",
                100,
            )
        wrong = [m for m in metrics if metric_type not in IG_METRICS[m][4]]
        if wrong and metric_type == TIME_SERIES:
            raise GraphError(
                f"(#100) The following metrics ({','.join(wrong)}) should be specified with "
                "parameter metric_type=total_value",
                100,
            )
        if wrong:
            # UNVERIFIED wording.
            raise GraphError(
                f"(#100) The following metrics ({','.join(wrong)}) do not support metric_type=total_value",
                100,
            )
        breakdown = query.get("breakdown") or ""
        if breakdown:
            supported = IG_FOLLOW_TYPE_METRICS if breakdown == "follow_type" else (
                IG_PRODUCT_TYPE_METRICS if breakdown == "media_product_type" else frozenset()
            )
            if metric_type != TOTAL_VALUE or any(m not in supported for m in metrics):
                # UNVERIFIED wording; follow_type and media_product_type are generated.
                raise GraphError(f"(#100) Incompatible breakdowns ({breakdown}) for the requested metrics", 100)
        since, until = self._window(query, IG_WINDOW_DAYS)
        today = self.today()
        if "follower_count" in metrics and since < PT.day_start_ts(today - timedelta(days=IG_FOLLOWER_COUNT_DAYS)):
            raise GraphError(
                "(#100) (follower_count) metric only supports querying data for the last 30 days "
                "excluding the current day",
                100,
            )
        first, last = self._measured_days(since, until)
        params: list[tuple[str, Any]] = [
            ("metric", ",".join(metrics)),
            ("period", period),
            ("metric_type", metric_type),
        ]
        if breakdown:
            params.append(("breakdown", breakdown))
        paging = self._paging(f"{base_url}/graph/{version}/{obj}/insights?", params, since, until)
        if first > last:
            return {"data": [], "paging": paging}  # §3.5: no data -> empty list, not zeros
        small = D.is_small_account("instagram", obj)
        series = self._series("instagram", obj, first, last)
        data = []
        for name in metrics:
            if small and name == "follower_count":
                continue  # documented: follower_count is unavailable under 100 followers
            title, description, fn, aggregate, _types = IG_METRICS[name]
            item: dict[str, Any] = {"name": name, "period": period}
            if metric_type == TIME_SERIES:
                values = fn(series).tolist()
                item["values"] = [
                    {"value": v, "end_time": e} for v, e in zip(values, H.end_times(first, last), strict=True)
                ]
            elif breakdown == "follow_type":
                if name == "follows_and_unfollows":
                    follower = int(series["followers_gained"].sum())
                    non_follower = int(series["followers_lost"].sum())
                else:  # reach split into followers / non-followers reached
                    total = aggregate(fn(series))
                    follower = total * 55 // 100
                    non_follower = total - follower
                item["total_value"] = {
                    "breakdowns": [
                        {
                            "dimension_keys": ["follow_type"],
                            "results": [
                                {"dimension_values": ["FOLLOWER"], "value": follower},
                                {"dimension_values": ["NON_FOLLOWER"], "value": non_follower},
                            ],
                        }
                    ]
                }
            elif breakdown == "media_product_type":
                total = aggregate(fn(series))
                cprof = C.content_profile(self.config.seed, "instagram", obj)
                shares = [0.85 * (1 - cprof["reels_share"]), 0.85 * cprof["reels_share"], 0.15]
                parts = AUD.apportion(total, shares)
                item["total_value"] = {
                    "breakdowns": [
                        {
                            "dimension_keys": ["media_product_type"],
                            "results": [
                                {"dimension_values": [t], "value": int(v)}
                                for t, v in zip(IG_PRODUCT_TYPES, parts, strict=True)
                                if v
                            ],
                        }
                    ]
                }
            else:
                item["total_value"] = {"value": aggregate(fn(series))}
            item.update(title=title, description=description, id=f"{obj}/insights/{name}/{period}")
            data.append(item)
        return {"data": data, "paging": paging}

    def _ig_demographics(self, obj: str, metrics: list[str], query: dict[str, str]) -> dict:
        """``follower_demographics`` / ``engaged_audience_demographics``: lifetime, total_value,
        breakdown age|gender|city|country (age,gender combinable), top 45 values, nothing under
        100 followers (or engaged accounts). ``timeframe`` this_week|this_month selects the window
        of the engaged audience (default this_month, ASSUMED); follower demographics ignore it."""
        other = [m for m in metrics if m not in IG_DEMOGRAPHIC_METRICS]
        period = query.get("period") or "lifetime"
        if other or period != "lifetime":
            raise GraphError(  # UNVERIFIED wording
                f"(#100) The following metrics ({','.join(m for m in metrics if m in IG_DEMOGRAPHIC_METRICS)}) "
                "only support period=lifetime and cannot be combined with other metrics",
                100,
            )
        if (query.get("metric_type") or TIME_SERIES) != TOTAL_VALUE:
            raise GraphError(
                f"(#100) The following metrics ({','.join(metrics)}) should be specified with "
                "parameter metric_type=total_value",
                100,
            )
        keys = [k.strip() for k in (query.get("breakdown") or "").split(",") if k.strip()]
        valid = keys and all(k in IG_DEMOGRAPHIC_BREAKDOWNS for k in keys) and (
            len(keys) == 1 or sorted(keys) == ["age", "gender"]
        )
        if not valid:
            raise GraphError(  # UNVERIFIED wording
                "(#100) breakdown must be one of age, gender, city, country (age,gender may be combined)", 100
            )
        timeframe = query.get("timeframe") or "this_month"
        if timeframe not in IG_TIMEFRAMES:
            raise GraphError("(#100) timeframe must be one of the following values: this_week, this_month", 100)
        seed = self.config.seed
        snapshot = self._snapshot_day()
        followers = D.followers_at(seed, "instagram", obj, snapshot)
        data = []
        for name in metrics:
            engaged = name == "engaged_audience_demographics"
            if engaged:
                start = max(D.EPOCH, snapshot - timedelta(days=IG_TIMEFRAMES[timeframe] - 1))
                population = dedup_total(D.daily_series(seed, "instagram", obj, start, snapshot)["accounts_engaged"])
            else:
                population = followers
            if followers < AUD.DEMOGRAPHIC_MIN_FOLLOWERS or population < AUD.DEMOGRAPHIC_MIN_FOLLOWERS:
                continue
            counts = AUD.audience_counts(seed, "instagram", obj, population, engaged=engaged)
            if len(keys) == 2:
                cells = {(a, g): n for (a, g), n in counts["age_gender"].items()}
                results = [
                    {"dimension_values": [a, g] if keys[0] == "age" else [g, a], "value": n}
                    for (a, g), n in H.top(cells, AUD.DEMOGRAPHIC_TOP_N)
                ]
            else:
                table = counts[keys[0]]
                if keys[0] == "city":
                    table = {f"{city}, {region}": n for (city, region), n in table.items()}
                results = [{"dimension_values": [k], "value": n} for k, n in H.top(table, AUD.DEMOGRAPHIC_TOP_N)]
            title, description = IG_DEMOGRAPHIC_METRICS[name]
            data.append(
                {
                    "name": name,
                    "period": "lifetime",
                    "title": title,
                    "description": description,
                    "total_value": {"breakdowns": [{"dimension_keys": keys, "results": results}]},
                    "id": f"{obj}/insights/{name}/lifetime",
                }
            )
        return {"data": data}
