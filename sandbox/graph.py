"""Graph API request handling: (method, path, query, headers) -> ``GraphResponse``.

Kept free of any HTTP server code so the behaviour (routing, validation, error envelopes, usage
headers, fault injection) is one plain function call that the threaded server merely wraps.

Behaviour follows /work/shared/PLATFORM_APIS.md (sections 2-4): Facebook Page and Instagram user
nodes, their ``/insights`` edges, ``/me`` and ``/me/accounts``, the Graph error envelope with the
documented codes/subcodes, time-based insights paging and the ``X-App-Usage`` /
``X-Business-Use-Case-Usage`` headers. Where the reference is silent the sandbox picks a plausible
behaviour and says so in a comment ("UNVERIFIED").

Security rule: the caller's access token is never copied into any response (bodies, paging URLs,
headers); paging URLs are rebuilt from an allow-list of parameters instead of the raw query.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np

from sandbox import data as D

DAY = 86400
PAGE_WINDOW_DAYS = 90
IG_WINDOW_DAYS = 30
HISTORY_DAYS = 730
IG_FOLLOWER_COUNT_DAYS = 30
WINDOW_TOLERANCE_S = 3600
"""since/until spans are compared in seconds; a DST change inside a window built from date strings
adds or removes one hour, and failing an exact 90-day calendar window for that would only punish
correct clients (the real API's behaviour here is UNVERIFIED)."""

ME_ID = "61550000000001"
ME_NAME = "SocialPulse Sandbox System User"

VERSION_RE = re.compile(r"^v\d+\.\d+$")


class GraphResponse(NamedTuple):
    """What the HTTP layer sends: status, extra headers, JSON-serialisable body."""

    status: int
    headers: dict[str, str]
    body: Any


class GraphError(Exception):
    """Raised inside handlers; rendered as the Graph error envelope."""

    def __init__(
        self,
        message: str,
        code: int,
        *,
        status: int = 400,
        type_: str = "OAuthException",
        subcode: int | None = None,
        is_transient: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.type = type_
        self.subcode = subcode
        self.is_transient = is_transient


# ------------------------------------------------------------------------------------------------
# Metric catalogues
# ------------------------------------------------------------------------------------------------


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


def _dedup_total(daily: np.ndarray) -> int:
    """A window total for a *unique-people* metric: more than the best day, less than the sum
    (people recur across days). Deterministic stand-in for Meta's de-duplication."""
    if daily.size == 0:
        return 0
    peak = int(daily.max())
    return peak + (int(daily.sum()) - peak) // 3


def _sum_total(daily: np.ndarray) -> int:
    return int(daily.sum())


# IG: name -> (title, description, daily function, window aggregate, allowed metric types)
_TS, _TV = "time_series", "total_value"
IG_METRICS: dict[str, tuple[str, str, Callable[[dict], np.ndarray], Callable, frozenset]] = {
    "reach": (
        "Accounts reached",
        "The number of unique accounts that have seen your content, at least once, including in ads.",
        _derived("reach"),
        _dedup_total,
        frozenset({_TS, _TV}),
    ),
    "follower_count": (
        "Follower Count",
        "The number of new followers each day within the specified range.",
        _derived("followers_gained"),
        _sum_total,
        frozenset({_TS}),
    ),
    "views": (
        "Views",
        "The number of times your content was played or displayed.",
        _derived("views"),
        _sum_total,
        frozenset({_TV}),
    ),
    "total_interactions": (
        "Content interactions",
        "The total number of post interactions, story interactions, reels interactions, "
        "video interactions and live video interactions.",
        _derived("engagements"),
        _sum_total,
        frozenset({_TV}),
    ),
    "accounts_engaged": (
        "Accounts engaged",
        "The number of accounts that have interacted with your content, including in ads.",
        _derived("accounts_engaged"),
        _dedup_total,
        frozenset({_TV}),
    ),
    "follows_and_unfollows": (
        "Follows and unfollows",
        "The number of accounts that followed you and the number of accounts that unfollowed "
        "you or left Instagram in the selected time period.",
        lambda s: s["followers_gained"] + s["followers_lost"],
        _sum_total,
        frozenset({_TV}),
    ),
    "likes": (
        "Likes",
        "The number of likes on your posts, reels and videos.",
        _derived("engagements", 70, 100),
        _sum_total,
        frozenset({_TV}),
    ),
    "comments": (
        "Comments",
        "The number of comments on your posts, reels, videos and live videos.",
        _derived("engagements", 12, 100),
        _sum_total,
        frozenset({_TV}),
    ),
    "shares": (
        "Shares",
        "The number of shares of your posts, stories, reels, videos and live videos.",
        _derived("engagements", 8, 100),
        _sum_total,
        frozenset({_TV}),
    ),
    "saves": (
        "Saves",
        "The number of saves of your posts, reels and videos.",
        _derived("engagements", 9, 100),
        _sum_total,
        frozenset({_TV}),
    ),
    "replies": (
        "Replies",
        "The number of replies you received from your story, including text replies and quick reaction replies.",
        _derived("engagements", 1, 100),
        _sum_total,
        frozenset({_TV}),
    ),
    "profile_views": (
        "Profile views",
        "The number of times your profile was visited.",
        _derived("page_visits"),
        _sum_total,
        frozenset({_TV}),
    ),
    "website_clicks": (
        "Website clicks",
        "The number of times that the link in your account's bio was tapped.",
        _derived("page_visits", 1, 20),
        _sum_total,
        frozenset({_TV}),
    ),
    "profile_links_taps": (
        "Profile links taps",
        "The number of taps on your business address, call button, email button and text button.",
        _derived("page_visits", 1, 15),
        _sum_total,
        frozenset({_TV}),
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
# Fault profiles
# ------------------------------------------------------------------------------------------------


class FaultProfile:
    """Decides, per Graph request, whether to fail it. Subclass and register in FAULT_PROFILES."""

    def check(self, request_number: int, path: str) -> GraphError | None:  # noqa: ARG002
        return None


class NoFaults(FaultProfile):
    """Profile ``none``: every request is answered normally."""


class EveryNth(FaultProfile):
    """Fail every n-th Graph request with a transient error (default: HTTP 500, code 2).

    Deterministic (a counter, not a coin flip) so retry logic can be tested reproducibly.
    """

    def __init__(
        self,
        n: int,
        status: int = 500,
        code: int = 2,
        message: str = "An unexpected error has occurred. Please retry your request later.",
    ) -> None:
        self.n, self.status, self.code, self.message = n, status, code, message

    def check(self, request_number: int, path: str) -> GraphError | None:  # noqa: ARG002
        if request_number % self.n == 0:
            return GraphError(self.message, self.code, status=self.status, is_transient=True)
        return None


FAULT_PROFILES: dict[str, Callable[[], FaultProfile]] = {
    "none": NoFaults,
    "flaky": lambda: EveryNth(7),
}
"""Registry of fault profiles by name (``SandboxConfig.faults``). Add entries to extend."""


# ------------------------------------------------------------------------------------------------
# Usage accounting (X-App-Usage / X-Business-Use-Case-Usage)
# ------------------------------------------------------------------------------------------------


class UsageTracker:
    """Calls per object over a rolling hour, in 60 one-minute buckets.

    Buckets keep memory proportional to objects called in the last hour (a per-object deque would
    cost ~600 bytes each at 100,000 objects). Uses the real monotonic clock, not the sandbox
    clock: the sandbox clock is usually frozen, and usage must still decay.
    """

    def __init__(
        self,
        app_calls_per_hour: int = 10_000,
        object_calls_per_hour: int = 200,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app_limit = app_calls_per_hour
        self.object_limit = object_calls_per_hour
        self._clock = clock
        self._buckets: list[tuple[int, Counter]] = [(-1, Counter()) for _ in range(60)]
        self._lock = threading.Lock()

    def record(self, obj: str | None) -> tuple[int, int]:
        """Count one call (app-wide and for ``obj``); return (app pct, object pct)."""
        minute = int(self._clock() // 60)
        with self._lock:
            slot = minute % 60
            if self._buckets[slot][0] != minute:
                self._buckets[slot] = (minute, Counter())
            counter = self._buckets[slot][1]
            counter[""] += 1
            if obj:
                counter[obj] += 1
            live = [c for m, c in self._buckets if minute - m < 60]
            app = sum(c[""] for c in live)
            mine = sum(c[obj] for c in live) if obj else 0
        return min(100, app * 100 // self.app_limit), min(100, mine * 100 // self.object_limit)


# ------------------------------------------------------------------------------------------------
# The application
# ------------------------------------------------------------------------------------------------


class GraphApp:
    """All sandbox request handling. Thread-safe; one instance per server.

    ``config`` is a ``SandboxConfig``; ``clock`` returns the sandbox's current aware-UTC time.
    """

    def __init__(self, config: Any, clock: Callable[[], datetime]) -> None:
        if config.faults not in FAULT_PROFILES:
            raise ValueError(f"unknown fault profile {config.faults!r}; known: {sorted(FAULT_PROFILES)}")
        self.config = config
        self.clock = clock
        self.faults = FAULT_PROFILES[config.faults]()
        self.usage = UsageTracker()
        self._lock = threading.Lock()
        self._graph_requests = 0
        self._trace_counter = 0

    # -- entry point ------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], base_url: str) -> GraphResponse:
        """Answer one request. ``target`` is the raw request target (path + query)."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if path == "/__health":
            return GraphResponse(200, {}, {"ok": True})
        if path == "/__truth":
            return self._truth(query)
        if path == "/graph" or path.startswith("/graph/"):
            return self._graph(method, path[len("/graph") :], query, headers, base_url)
        return GraphResponse(404, {}, {"error": {"message": f"Unknown sandbox path {path}", "code": 404}})

    # -- sandbox helpers --------------------------------------------------------------------------

    def _truth(self, query: dict[str, str]) -> GraphResponse:
        from sandbox.truth import ground_truth

        try:
            since = date.fromisoformat(query["since"])
            until = date.fromisoformat(query["until"])
        except (KeyError, ValueError):
            return GraphResponse(400, {}, {"error": {"message": "since and until (YYYY-MM-DD) are required"}})
        rows = ground_truth(self.config, since, until)
        for row in rows:
            row["metric_date"] = row["metric_date"].isoformat()
        return GraphResponse(200, {}, rows)

    def today(self) -> date:
        """The sandbox's current Meta day (America/Los_Angeles date of the sandbox clock)."""
        return D.pacific_date(self.clock())

    def _fbtrace_id(self) -> str:
        # Looks random, is reproducible for a given seed and request sequence.
        with self._lock:
            self._trace_counter += 1
            n = self._trace_counter
        digest = hashlib.blake2b(f"{self.config.seed}:{n}".encode(), digest_size=9).digest()
        return "A" + base64.urlsafe_b64encode(digest).decode()[:10]

    def _error_response(self, err: GraphError, headers: dict[str, str]) -> GraphResponse:
        body: dict[str, Any] = {"message": err.message, "type": err.type, "code": err.code}
        if err.subcode is not None:
            body["error_subcode"] = err.subcode
        if err.is_transient is not None:
            body["is_transient"] = err.is_transient
        body["fbtrace_id"] = headers["x-fb-trace-id"]
        return GraphResponse(err.status, headers, {"error": body})

    # -- Graph ------------------------------------------------------------------------------------

    def _graph(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: Mapping[str, str],
        base_url: str,
    ) -> GraphResponse:
        segments = [s for s in path.split("/") if s]
        version = self.config.api_version
        if segments and VERSION_RE.match(segments[0]):
            version = segments.pop(0)
        obj = segments[0] if segments else None
        resolved = D.parse_account_id(obj, self.config.accounts) if obj else None

        with self._lock:
            self._graph_requests += 1
            number = self._graph_requests
        app_pct, obj_pct = self.usage.record(obj if resolved else None)
        out_headers = {
            "X-App-Usage": json.dumps(
                {"call_count": app_pct, "total_cputime": app_pct, "total_time": app_pct}, separators=(",", ":")
            ),
            "X-Business-Use-Case-Usage": json.dumps(
                {
                    obj: [
                        {
                            "type": "pages" if resolved[0] == "facebook" else "instagram",
                            "call_count": obj_pct,
                            "total_cputime": obj_pct,
                            "total_time": obj_pct,
                            "estimated_time_to_regain_access": 0,
                        }
                    ]
                }
                if resolved
                else {},
                separators=(",", ":"),
            ),
            "facebook-api-version": version,
            "x-fb-trace-id": self._fbtrace_id(),  # also the error's fbtrace_id, as on the real API
        }
        try:
            fault = self.faults.check(number, path)
            if fault is not None:
                raise fault
            self._authenticate(query, headers)
            if method != "GET":
                raise GraphError(f"Unsupported {method.lower()} request.", 100, type_="GraphMethodException")
            body = self._route(segments, resolved, query, version, base_url)
        except GraphError as err:
            return self._error_response(err, out_headers)
        return GraphResponse(200, out_headers, body)

    def _authenticate(self, query: dict[str, str], headers: Mapping[str, str]) -> None:
        token = query.get("access_token", "")
        if not token:
            auth = headers.get("Authorization") or headers.get("authorization") or ""
            scheme, _, value = auth.partition(" ")
            if scheme.lower() in ("bearer", "oauth"):
                token = value.strip()
        if not token:
            raise GraphError(
                "An active access token must be used to query information about the current user.",
                2500,
            )
        if token.startswith("expired"):
            now = self.clock()
            expired_at = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
            raise GraphError(
                f"Error validating access token: Session has expired on {_pacific_text(expired_at)}"
                f". The current time is {_pacific_text(now)}.",
                190,
                subcode=463,
            )
        if token.startswith("revoked"):
            raise GraphError(
                "Error validating access token: The session has been invalidated because the user "
                "changed their password or Facebook has changed the session for security reasons.",
                190,
                subcode=460,
            )

    def _route(
        self,
        segments: list[str],
        resolved: tuple[str, int] | None,
        query: dict[str, str],
        version: str,
        base_url: str,
    ) -> Any:
        if not segments:
            raise GraphError(
                "Unsupported get request. Please read the Graph API documentation at "
                "https://developers.facebook.com/docs/graph-api",
                100,
                type_="GraphMethodException",
            )
        obj, rest = segments[0], segments[1:]
        if obj == "me":
            if not rest:
                return _select(
                    _parse_fields(query.get("fields"), "id,name"), ME_FIELDS, "User", {"id": ME_ID, "name": ME_NAME}
                )
            if rest == ["accounts"]:
                return self._me_accounts(query, version, base_url)
            raise _unknown_path(rest)
        if resolved is None:
            raise GraphError(
                f"Unsupported get request. Object with ID '{obj}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation. Please "
                "read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
                100,
                type_="GraphMethodException",
                subcode=33,
            )
        platform, index = resolved
        if not rest:
            fields = _parse_fields(query.get("fields"), "id,name")
            if platform == "facebook":
                return self._page_node(index, fields, PAGE_FIELDS)
            return self._ig_node(index, fields)
        if rest[0] == "insights" and len(rest) <= 3:
            # Single-metric form: /{id}/insights/{metric}[/{period}]
            if len(rest) >= 2:
                query = {**query, "metric": rest[1]}
            if len(rest) == 3:
                query = {**query, "period": rest[2]}
            if platform == "facebook":
                return self._page_insights(obj, query, version, base_url)
            return self._ig_insights(obj, query, version, base_url)
        raise _unknown_path(rest)

    # -- nodes ------------------------------------------------------------------------------------

    def _snapshot_day(self) -> date:
        # The nightly snapshot runs right after the Pacific day closes: it sees day today-1.
        return self.today() - timedelta(days=1)

    def _page_node(self, index: int, fields: list[tuple[str, str | None]], allowed: frozenset) -> dict:
        seed = self.config.seed
        page_id = D.facebook_page_id(index)
        ident = D.account_identity(seed, index)

        def followers() -> int:
            return D.followers_at(seed, "facebook", page_id, self._snapshot_day())

        def talking_about() -> int:
            end = self._snapshot_day()
            start = max(D.EPOCH, end - timedelta(days=6))
            if end < start:
                return 0
            s = D.daily_series(seed, "facebook", page_id, start, end)
            return int(s["accounts_engaged"].sum() // 2)

        values: dict[str, Callable[[], Any]] = {
            "id": lambda: page_id,
            "name": lambda: ident["name"],
            "username": lambda: ident["username"],
            "link": lambda: f"https://www.facebook.com/{ident['username']}",
            "category": lambda: "Government organization",
            "category_list": lambda: [{"id": "2235", "name": "Government organization"}],
            "about": lambda: f"{ident['department']} i Sandviks kommun.",
            "website": lambda: f"https://www.sandvik.example/{ident['username']}",
            "followers_count": followers,
            "fan_count": lambda: int(followers() * D.cached_profile(seed, "facebook", page_id)["fan_ratio"]),
            "talking_about_count": talking_about,
            "tasks": lambda: ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
            # A made-up page token; never derived from the caller's token.
            "access_token": lambda: f"sandbox-page-token-{page_id}",
        }
        out: dict[str, Any] = {}
        for name, sub in fields:
            if name not in allowed:
                raise _nonexisting_field(name, "Page")
            if name == "instagram_business_account":
                out[name] = self._ig_node(index, _parse_fields(sub, "id"))
            else:
                out[name] = values[name]()
        return out

    def _ig_node(self, index: int, fields: list[tuple[str, str | None]]) -> dict:
        seed = self.config.seed
        ig_id = D.instagram_user_id(index)
        ident = D.account_identity(seed, index)

        def media_count() -> int:
            prof = D.cached_profile(seed, "instagram", ig_id)
            days = max(0, (self._snapshot_day() - D.EPOCH).days + 1)
            return prof["media_base"] + int(days * prof["posts_per_week"] / 7)

        values: dict[str, Callable[[], Any]] = {
            "id": lambda: ig_id,
            "ig_id": lambda: int(ig_id) - D.INSTAGRAM_ID_BASE + 4_000_000_000,
            "username": lambda: ident["username"],
            "name": lambda: ident["name"],
            "biography": lambda: f"{ident['department']} i Sandviks kommun.",
            "website": lambda: f"https://www.sandvik.example/{ident['username']}",
            "profile_picture_url": lambda: f"https://cdn.sandvik.example/ig/{ig_id}.jpg",
            "followers_count": lambda: D.followers_at(seed, "instagram", ig_id, self._snapshot_day()),
            "follows_count": lambda: D.cached_profile(seed, "instagram", ig_id)["follows_count"],
            "media_count": media_count,
        }
        out: dict[str, Any] = {}
        for name, _sub in fields:
            if name not in IG_FIELDS:
                raise _nonexisting_field(name, "IGUser")
            out[name] = values[name]()
        return out

    def _me_accounts(self, query: dict[str, str], version: str, base_url: str) -> dict:
        fields = _parse_fields(query.get("fields"), "id,name,category,tasks")
        allowed = PAGE_FIELDS | ACCOUNTS_EDGE_EXTRA_FIELDS
        for name, _ in fields:
            if name not in allowed:
                raise _nonexisting_field(name, "Page")
        raw_limit = query.get("limit", "25")
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            raise GraphError("(#100) Param limit must be a positive integer", 100)
        limit = min(int(raw_limit), 100)
        total = self.config.accounts
        if "after" in query:
            start = _decode_cursor(query["after"]) + 1
        elif "before" in query:
            start = max(0, _decode_cursor(query["before"]) - limit)
        else:
            start = 0
        stop = min(total, start + limit)
        rows = [self._page_node(i + 1, fields, allowed) for i in range(start, stop)]
        body: dict[str, Any] = {"data": rows}
        if not rows:
            return body
        paging: dict[str, Any] = {"cursors": {"before": _encode_cursor(start), "after": _encode_cursor(stop - 1)}}
        base = f"{base_url}/graph/{version}/me/accounts?"
        common = [("fields", query.get("fields") or "id,name,category,tasks"), ("limit", limit)]
        if start > 0:
            paging["previous"] = base + urlencode([*common, ("before", _encode_cursor(start))])
        if stop < total:
            paging["next"] = base + urlencode([*common, ("after", _encode_cursor(stop - 1))])
        body["paging"] = paging
        return body

    # -- insights ---------------------------------------------------------------------------------

    def _window(self, query: dict[str, str], max_days: int) -> tuple[int, int]:
        """Resolve since/until (unix s) with the API's defaults, enforcing the max span."""
        today = self.today()
        until = _parse_time(query, "until") if query.get("until") else D.day_start_ts(today)
        # No since: the last 2 days before until (what v25 returned without since/until).
        since = _parse_time(query, "since") if query.get("since") else until - 2 * DAY
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
        first = D.pacific_date(since)
        last = D.pacific_date(until - 1)
        first = max(first, today - timedelta(days=HISTORY_DAYS), D.EPOCH)
        last = min(last, today - timedelta(days=1))
        return first, last

    def _series(self, platform: str, obj: str, first: date, last: date) -> dict[str, np.ndarray]:
        return D.daily_series(self.config.seed, platform, obj, first, last)

    def _paging(self, base: str, params: list[tuple[str, Any]], since: int, until: int) -> dict:
        span = until - since
        return {
            "previous": base + urlencode([*params, ("since", since - span), ("until", since)]),
            "next": base + urlencode([*params, ("since", until), ("until", until + span)]),
        }

    def _page_insights(self, obj: str, query: dict[str, str], version: str, base_url: str) -> dict:
        metrics = _metric_list(query)
        for name in metrics:
            if name not in PAGE_METRICS:
                raise GraphError("(#100) The value must be a valid insights metric", 100)
        period = query.get("period") or "day"
        if period != "day":
            # Sandbox limitation: week/days_28/lifetime aggregates are not generated.
            raise GraphError("(#100) period must be one of the following values: day", 100)
        since, until = self._window(query, PAGE_WINDOW_DAYS)
        first, last = self._measured_days(since, until)
        base = f"{base_url}/graph/{version}/{obj}/insights?"
        paging = self._paging(base, [("metric", ",".join(metrics)), ("period", period)], since, until)
        if first > last:
            return {"data": [], "paging": paging}
        series = self._series("facebook", obj, first, last)
        end_times = _end_times(first, last)
        data = []
        for name in metrics:
            title, description, fn = PAGE_METRICS[name]
            values = fn(series).tolist()
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

    def _ig_insights(self, obj: str, query: dict[str, str], version: str, base_url: str) -> dict:
        metrics = _metric_list(query)
        for i, name in enumerate(metrics):
            if name not in IG_METRICS:
                raise GraphError(
                    f"(#100) metric[{i}] must be one of the following values: " + ", ".join(IG_METRICS),
                    100,
                )
        period = query.get("period") or "day"
        if period != "day":
            raise GraphError("(#100) period must be one of the following values: day", 100)
        metric_type = query.get("metric_type") or _TS
        if metric_type not in (_TS, _TV):
            raise GraphError(
                "(#100) metric_type must be one of the following values: time_series, total_value",
                100,
            )
        wrong = [m for m in metrics if metric_type not in IG_METRICS[m][4]]
        if wrong and metric_type == _TS:
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
        if breakdown and (
            metric_type != _TV or breakdown != "follow_type" or any(m not in IG_FOLLOW_TYPE_METRICS for m in metrics)
        ):
            # UNVERIFIED wording; only follow_type on follows_and_unfollows/reach is generated.
            raise GraphError(f"(#100) Incompatible breakdowns ({breakdown}) for the requested metrics", 100)
        since, until = self._window(query, IG_WINDOW_DAYS)
        today = self.today()
        if "follower_count" in metrics and since < D.day_start_ts(today - timedelta(days=IG_FOLLOWER_COUNT_DAYS)):
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
        series = self._series("instagram", obj, first, last)
        data = []
        for name in metrics:
            title, description, fn, aggregate, _types = IG_METRICS[name]
            item: dict[str, Any] = {"name": name, "period": period}
            if metric_type == _TS:
                values = fn(series).tolist()
                item["values"] = [
                    {"value": v, "end_time": e} for v, e in zip(values, _end_times(first, last), strict=True)
                ]
            elif breakdown:
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
            else:
                item["total_value"] = {"value": aggregate(fn(series))}
            item.update(title=title, description=description, id=f"{obj}/insights/{name}/{period}")
            data.append(item)
        return {"data": data, "paging": paging}


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


def _pacific_text(moment: datetime) -> str:
    """'Thursday, 19-Nov-26 07:00:00 PST' -- the format of Meta's token-expiry messages."""
    offset = D.pacific_utc_offset_hours(moment)
    local = moment.astimezone(UTC) - timedelta(hours=offset)
    return local.strftime("%A, %d-%b-%y %H:%M:%S ") + ("PDT" if offset == 7 else "PST")


def _end_times(first: date, last: date) -> list[str]:
    n = (last - first).days + 1
    return [D.end_time_str(first + timedelta(days=k)) for k in range(n)]


def _metric_list(query: dict[str, str]) -> list[str]:
    names = [m.strip() for m in (query.get("metric") or "").split(",") if m.strip()]
    if not names:
        raise GraphError("No metric was specified", 3001, subcode=1504028)
    return list(dict.fromkeys(names))  # de-duplicate, keep order


def _parse_time(query: dict[str, str], key: str) -> int:
    raw = query[key].strip()
    if raw.isdigit():
        return int(raw)
    try:
        return D.day_start_ts(date.fromisoformat(raw))
    except ValueError:
        # UNVERIFIED wording; the real API also accepts strtotime() phrases, the sandbox doesn't.
        raise GraphError(f"(#100) The parameter {key} must be a unix timestamp or a date (YYYY-MM-DD)", 100) from None


def _parse_fields(raw: str | None, default: str) -> list[tuple[str, str | None]]:
    """Split ``a,b{c,d},e`` at top-level commas into [(name, subfields-or-None), ...]."""
    text = raw if raw and raw.strip() else default
    out: list[tuple[str, str | None]] = []
    depth, token = 0, ""
    for ch in text + ",":
        if ch == "," and depth == 0:
            token = token.strip()
            if token:
                name, brace, sub = token.partition("{")
                out.append((name.strip(), sub[:-1] if brace and sub.endswith("}") else None))
            token = ""
            continue
        depth += (ch == "{") - (ch == "}")
        token += ch
    return list(dict.fromkeys(out))


def _select(fields: list[tuple[str, str | None]], allowed: frozenset, node_type: str, values: dict) -> dict:
    out = {}
    for name, _ in fields:
        if name not in allowed:
            raise _nonexisting_field(name, node_type)
        out[name] = values[name]
    return out


def _nonexisting_field(name: str, node_type: str) -> GraphError:
    return GraphError(f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})", 100)


def _unknown_path(rest: list[str]) -> GraphError:
    return GraphError("Unknown path components: /" + "/".join(rest), 2500)


def _encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"sandbox:{index}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, _, number = base64.urlsafe_b64decode(padded).decode().partition(":")
        if prefix != "sandbox" or not number.isdigit():
            raise ValueError
        return int(number)
    except (ValueError, UnicodeDecodeError):
        raise GraphError("(#100) Invalid cursor", 100) from None


def utc_now() -> datetime:
    """The real clock, aware UTC (used when ``SandboxConfig.now`` is None)."""
    return datetime.now(UTC)
