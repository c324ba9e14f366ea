"""YouTube Data API v3 ``channels.list``, YouTube Analytics API v2 ``reports``, Google OAuth token.

Paths on the sandbox server: ``/youtube/v3/channels``, ``/youtubeanalytics/v2/reports`` and
``POST /oauth2/token`` -- the real hosts' paths below one base URL, so a client only swaps base
URLs (``SandboxServer.youtube_data_url`` / ``.youtube_analytics_url``).

Behaviour (PLATFORM_APIS §5) and the choices made where it is unsure:

* ``channels.list``: ``part`` (snippet, statistics, contentDetails, id) and exactly one filter of
  ``id`` (comma list, max 50; unknown ids are silently left out, as on YouTube), ``mine=true``
  (OAuth only) or ``forHandle``. ``statistics`` values are strings; ``subscriberCount`` is the
  subscriber count at request time, rounded half up to 3 significant figures. The generated world
  moves in whole days (a day's subscribersGained/Lost are booked when it closes), so the count at
  request time is the total at the end of the last complete Pacific day -- the day a snapshot is
  dated by (``ingestion.core.days.snapshot_date``). Rounding: 12,345 -> "12300", 12,350 -> "12400",
  below 1,000 exact; whether YouTube rounds or truncates is UNVERIFIED. ``viewCount`` is lifetime
  views to that day, ``videoCount`` the uploads so far.
* Quota: every Data API request costs 1 unit, also invalid ones; ``SandboxConfig.youtube_quota_per_day``
  (default 10,000) per Pacific day (reset at midnight PT) -> 403 ``quotaExceeded``.
  The Analytics API quota is separate and not enforced (size UNVERIFIED).
* ``reports``: ``ids=channel==MINE|channel==UC...``, ``startDate``/``endDate``, ``metrics``,
  ``dimensions`` (none, ``day``, ``ageGroup``, ``gender``, ``ageGroup,gender``, ``country``),
  ``sort``. Columns are dimensions then metrics in request order. ``day`` rows end at the last
  available day: a day is released 48 to 72 whole hours after it closed, the lag varying from day
  to day (``analytics_release_at``; the documented "2-3 day" lag, its distribution ASSUMED), and
  rows stop before the first unreleased day (omitted, never zero); ``rows`` is omitted when there
  are none. ``viewerPercentage`` rows
  use ``age13-17``...``age65-`` and ``female|male|user_specified`` and sum to 100 (3 decimals).
  Day boundaries are Pacific (UNVERIFIED upstream). Any valid OAuth token may read every
  generated channel (as a content manager would).
* Auth: ``Authorization: Bearer <token>`` -- tokens starting ``expired``/``revoked`` answer 401
  UNAUTHENTICATED; the Data API also accepts ``key=`` (keys starting ``invalid`` -> 400
  keyInvalid). ``mine`` resolves to channel 1 unless the token contains ``channel-N``.
* ``POST /oauth2/token`` (form): ``grant_type=refresh_token`` (``refresh_token``) or
  ``authorization_code`` (``code``) -> ``access_token`` (``ya29.sandbox-...``), ``expires_in: 3599``;
  refresh tokens starting ``expired``/``revoked`` -> 400 ``invalid_grant``.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Collection, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sandbox import audience as AUD
from sandbox import content as C
from sandbox import data as D
from sandbox import pacific_time as PT
from sandbox.host import Host, HostedApp
from sandbox.wire import GraphResponse

MAX_IDS = 50
YT_PARTS = frozenset({"snippet", "statistics", "contentDetails", "id"})
AGE_GROUPS = ("age13-17", "age18-24", "age25-34", "age35-44", "age45-54", "age55-64", "age65-")
GENDERS = ("female", "male", "user_specified")
SCOPES = "https://www.googleapis.com/auth/yt-analytics.readonly https://www.googleapis.com/auth/youtube.readonly"
METRIC_TYPES = {
    "views": "INTEGER",
    "estimatedMinutesWatched": "INTEGER",
    "averageViewDuration": "INTEGER",
    "likes": "INTEGER",
    "dislikes": "INTEGER",
    "comments": "INTEGER",
    "shares": "INTEGER",
    "subscribersGained": "INTEGER",
    "subscribersLost": "INTEGER",
    "viewerPercentage": "FLOAT",
}
DIMENSIONS = ("", "day", "ageGroup", "gender", "ageGroup,gender", "country")
_UNSUPPORTED_QUERY = (
    "The query is not supported. Check the documentation at "
    "https://developers.google.com/youtube/analytics/v2/available_reports for a list of supported queries."
)
_INVALID_CREDENTIALS = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
    "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."
)
_MISSING_CREDENTIALS = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or "
    "other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)


class GoogleError(Exception):
    def __init__(self, status: int, message: str, reason: str, state: str, domain: str = "global") -> None:
        super().__init__(message)
        self.status, self.message, self.reason, self.state, self.domain = status, message, reason, state, domain

    def body(self) -> dict:
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [{"message": self.message, "domain": self.domain, "reason": self.reason}],
                "status": self.state,
            }
        }


def round_subscribers(n: int) -> int:
    """Public subscriber count: exact below 1,000, else rounded (half up) to 3 significant figures."""
    if n < 1000:
        return n
    step = 10 ** (len(str(n)) - 3)
    return (n + step // 2) // step * step


def youtube_series(seed: int, channel_id: str, first: date, last: date) -> dict[str, Any]:
    """Daily YouTube metrics for ``first..last`` (lists of ints), derived from the generic series:
    subscribers = followers; likes + comments + shares = engagements exactly;
    ``estimatedMinutesWatched`` and ``averageViewDuration`` from a per-channel watch time."""
    s = D.daily_series(seed, "youtube", channel_id, first, last)
    prof = D.cached_profile(seed, "youtube", channel_id)
    base_avd = 60 + int(prof["visit_rate"] * 6000)  # 90..240 s
    eng = s["engagements"].tolist()
    views = s["views"].tolist()
    likes = [e * 70 // 100 for e in eng]
    comments = [e * 18 // 100 for e in eng]
    shares = [e - a - b for e, a, b in zip(eng, likes, comments, strict=True)]
    avd = [base_avd + (v * 7919) % 41 - 20 for v in views]
    return {
        "subscribers": s["followers"].tolist(),
        "subscribersGained": s["followers_gained"].tolist(),
        "subscribersLost": s["followers_lost"].tolist(),
        "views": views,
        "likes": likes,
        "dislikes": [e // 40 for e in eng],
        "comments": comments,
        "shares": shares,
        "averageViewDuration": avd,
        "estimatedMinutesWatched": [v * a // 60 for v, a in zip(views, avd, strict=True)],
    }


# Analytics releases a day 48..72 hours after it closed (PLATFORM_APIS §5: "2-3 days").
ANALYTICS_LAG_HOURS = (48, 72)


def analytics_release_at(seed: int, day: date) -> datetime:
    """When the Analytics API starts reporting Pacific ``day``: its close plus a lag of 48 to 72
    whole hours that varies from day to day (a hash of seed and day, so a run is reproducible).

    Why varying: a fixed lag let the pipeline get away with assuming one (issue 17); YouTube's
    own lag is "2-3 days" and not a constant.
    """
    low, high = ANALYTICS_LAG_HOURS
    digest = hashlib.blake2b(f"{seed}:yt-analytics-lag:{day.isoformat()}".encode(), digest_size=4).digest()
    lag = low + int.from_bytes(digest, "big") % (high - low + 1)
    return PT.day_start_utc(day + timedelta(days=1)) + timedelta(hours=lag)


def last_analytics_day(seed: int, now: datetime) -> date:
    """The newest day the Analytics ``day`` report has at ``now``: every day up to it is
    released, so rows end there and later days are omitted (not zero). A day released before an
    earlier one waits for it (the report never has holes)."""
    today = PT.pacific_date(now)
    last = today - timedelta(days=4)  # closed >= 72 h ago: always released
    for ahead in (3, 2, 1):
        day = today - timedelta(days=ahead)
        if analytics_release_at(seed, day) > now:
            break
        last = day
    return last


def viewer_percentages(seed: int, channel_id: str) -> list[tuple[str, str, float]]:
    """(ageGroup, gender, viewerPercentage) cells > 0, summing to exactly 100 (3 decimals)."""
    aud = AUD.audience(seed, "youtube", channel_id)
    parts = AUD.apportion(100_000, aud["age_gender"]).reshape(len(AGE_GROUPS), len(GENDERS))
    return [
        (AGE_GROUPS[a], GENDERS[g], parts[a, g] / 1000.0)
        for a in range(len(AGE_GROUPS))
        for g in range(len(GENDERS))
        if parts[a, g]
    ]


class YouTubeApp(HostedApp):
    """The YouTube surface of the sandbox (shares clock, faults and seed with ``Host``)."""

    PLATFORM, SERVED_FIELD, SERVED_DEFAULT = "youtube", "youtube_channels", 10

    def __init__(self, app: Host) -> None:
        super().__init__(app)
        self._quota_lock = threading.Lock()
        self._quota_day: date | None = None
        self._quota_used = 0
        self._viewcount_cache: dict[tuple[str, date], int] = {}

    # -- entry ------------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], base_url: str
    ) -> GraphResponse:

        if path == "/oauth2/token":
            return self._token(method, query)
        if path == "/youtube/v3/channels":
            handler, account = self._channels, self._account_of(query.get("id", "").split(",")[0], query, headers)
        elif path == "/youtubeanalytics/v2/reports":
            ids = query.get("ids", "")
            handler, account = self._reports, self._account_of(ids.partition("==")[2], query, headers)
        else:
            return GraphResponse(404, {}, GoogleError(404, "Not Found", "notFound", "NOT_FOUND").body())
        key = self.app.request_key(method, path, query)
        plan = self.app.faults.decide(key, account)
        try:
            if plan.error is not None:
                raise self._fault_error(plan.error)
            if method != "GET":
                raise GoogleError(405, "Method not allowed", "methodNotAllowed", "INVALID_ARGUMENT")
            body = handler(query, headers, account)
        except GoogleError as err:
            hdrs = {"Retry-After": str(err.retry_after)} if getattr(err, "retry_after", 0) else {}
            return self.app.finish(GraphResponse(err.status, hdrs, err.body()), plan._replace(transforms=()))
        return self.app.finish(GraphResponse(200, {}, body), plan, empty=_empty_youtube)

    def _account_of(self, raw: str, query: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
        raw = raw.strip()
        if raw == "MINE" or query.get("mine") == "true":
            return self.mine_channel(self.app.bearer_or_query_token({}, headers))
        return raw if raw and self.served_index(raw) else None

    def mine_channel(self, token: str) -> str | None:
        m = re.search(r"channel-(\d+)", token)
        i = int(m.group(1)) if m else 1
        return D.youtube_channel_id(i) if 1 <= i <= self.served else None

    def _fault_error(self, fault: Any) -> GoogleError:
        if fault.kind in ("5xx", "flaky"):
            if fault.status == 503:
                return GoogleError(503, "The service is currently unavailable.", "backendError", "UNAVAILABLE")
            return GoogleError(500, "Backend Error", "backendError", "INTERNAL")
        err = GoogleError(429, "Too many requests. Please slow down.", "rateLimitExceeded", "RESOURCE_EXHAUSTED")
        err.retry_after = fault.retry_after_s or 1  # type: ignore[attr-defined]
        return err

    def _oauth_token(self, headers: Mapping[str, str]) -> str:
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""

    def _check_oauth(self, token: str, account: str | None) -> None:
        fault = self.app.faults.auth_fault(account)
        if token.startswith(("expired", "revoked")) or fault:
            raise GoogleError(401, _INVALID_CREDENTIALS, "authError", "UNAUTHENTICATED")

    # -- Data API ---------------------------------------------------------------------------------

    def _charge_quota(self) -> None:
        limit = getattr(self.config, "youtube_quota_per_day", 10_000)
        today = self.app.today()
        with self._quota_lock:
            if self._quota_day != today:
                self._quota_day, self._quota_used = today, 0
            if limit is not None and self._quota_used >= limit:
                raise GoogleError(
                    403,
                    'The request cannot be completed because you have exceeded your <a href="/youtube/v3/'
                    'getting-started#quota">quota</a>.',
                    "quotaExceeded",
                    "PERMISSION_DENIED",
                    domain="youtube.quota",
                )
            self._quota_used += 1

    def quota_used(self) -> int:
        """Units used today (Pacific day of the sandbox clock)."""
        with self._quota_lock:
            return self._quota_used if self._quota_day == self.app.today() else 0

    def _channels(self, query: dict[str, str], headers: Mapping[str, str], account: str | None) -> dict:
        token = self._oauth_token(headers)
        key = query.get("key", "")
        if token:
            self._check_oauth(token, account)
        elif key:
            if key.startswith(("invalid", "expired", "revoked")):
                raise GoogleError(400, "API key not valid. Please pass a valid API key.", "badRequest",
                                  "INVALID_ARGUMENT")
        else:
            raise GoogleError(403, "The request is missing a valid API key.", "forbidden", "PERMISSION_DENIED")
        self._charge_quota()
        if not token and self.app.faults.auth_fault(account):
            raise GoogleError(400, "API key not valid. Please pass a valid API key.", "badRequest", "INVALID_ARGUMENT")
        parts = _required_list(query, "part", YT_PARTS,
                               lambda p: GoogleError(400, f"'{p}'", "unknownPart", "INVALID_ARGUMENT"))
        filters = [f for f in ("id", "mine", "forHandle") if query.get(f)]
        if len(filters) != 1:
            raise GoogleError(  # UNVERIFIED wording
                400,
                "No filter selected. Expected one of: forUsername, managedByMe, id, mine, mySubscribers, "
                "categoryId, forHandle",
                "missingRequiredParameter",
                "INVALID_ARGUMENT",
            )
        if filters[0] == "id":
            ids = list(dict.fromkeys(x.strip() for x in query["id"].split(",") if x.strip()))
            if len(ids) > MAX_IDS:
                raise GoogleError(400, f"The request specifies more than {MAX_IDS} channel ids.",  # UNVERIFIED
                                  "invalidFilters", "INVALID_ARGUMENT")
        elif filters[0] == "mine":
            if query["mine"] != "true":
                ids = []
            elif not token:
                raise GoogleError(401, _MISSING_CREDENTIALS, "required", "UNAUTHENTICATED")
            else:
                mine = self.mine_channel(token)
                ids = [mine] if mine else []
        else:
            handle = query["forHandle"].lstrip("@").lower()
            ids = [
                D.youtube_channel_id(i)
                for i in range(1, min(self.served, 1000) + 1)
                if D.account_identity(self.config.seed, i)["username"].lower() == handle
            ][:1]
        items = [self._channel(cid, parts) for cid in ids if self.served_index(cid)]
        return {
            "kind": "youtube#channelListResponse",
            "etag": etag(",".join(ids)),
            "pageInfo": {"totalResults": len(items), "resultsPerPage": max(5, len(items))},
            "items": items,
        }

    def _channel(self, channel_id: str, parts: list[str]) -> dict:
        seed = self.config.seed
        i = self.served_index(channel_id) or 1
        ident = D.account_identity(seed, i)
        snapshot = self.app.today() - timedelta(days=1)
        out: dict[str, Any] = {"kind": "youtube#channel", "etag": etag(f"{channel_id}:{snapshot}"), "id": channel_id}
        if "snippet" in parts:
            published = datetime(2014 + i % 6, 1 + i % 12, 1 + i % 28, 9, i % 60, (i * 7) % 60)
            out["snippet"] = {
                "title": ident["name"],
                "description": f"{ident['department']} i Sandviks kommun.",
                "customUrl": "@" + ident["username"].replace("_", ""),
                "publishedAt": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "thumbnails": {
                    "default": {"url": f"https://yt3.sandvik.example/{channel_id}=s88", "width": 88, "height": 88}
                },
                "localized": {"title": ident["name"], "description": f"{ident['department']} i Sandviks kommun."},
                "country": "SE",
            }
        if "contentDetails" in parts:
            out["contentDetails"] = {"relatedPlaylists": {"likes": "", "uploads": "UU" + channel_id[2:]}}
        if "statistics" in parts:
            subscribers = D.followers_at(seed, "youtube", channel_id, snapshot)
            out["statistics"] = {
                "viewCount": str(self._view_count(channel_id, snapshot)),
                "subscriberCount": str(round_subscribers(subscribers)),
                "hiddenSubscriberCount": False,
                "videoCount": str(C.count_posts(seed, "youtube", channel_id, int(self.app.now_ts()))),
            }
        return out

    def _view_count(self, channel_id: str, day: date) -> int:
        key = (channel_id, day)
        cached = self._viewcount_cache.get(key)
        if cached is None:
            if day < D.EPOCH:
                return 0
            prof = D.cached_profile(self.config.seed, "youtube", channel_id)
            views = D.daily_series(self.config.seed, "youtube", channel_id, D.EPOCH, day)["views"]
            cached = prof["base_followers"] * 40 + int(views.sum())  # views before 2020 + since
            if len(self._viewcount_cache) > 10_000:
                self._viewcount_cache.clear()
            self._viewcount_cache[key] = cached
        return cached

    # -- Analytics API ----------------------------------------------------------------------------

    def last_available_day(self) -> date:
        """The newest day Analytics reports (see ``last_analytics_day``)."""
        return last_analytics_day(self.config.seed, self.app.clock())

    def _reports(self, query: dict[str, str], headers: Mapping[str, str], account: str | None) -> dict:
        token = self._oauth_token(headers)
        if not token:
            raise GoogleError(401, _MISSING_CREDENTIALS, "required", "UNAUTHENTICATED")
        self._check_oauth(token, account)
        ids = query.get("ids", "")
        if not ids:
            raise GoogleError(400, "Required parameter: ids", "required", "INVALID_ARGUMENT")
        kind, _, value = ids.partition("==")
        if kind != "channel" or not value:
            raise GoogleError(400, f"Invalid value '{ids}'. Values must match the following regular expression: "
                              "'(channel|contentOwner)==[^,]+'", "invalid", "INVALID_ARGUMENT")
        channel = self.mine_channel(token) if value == "MINE" else (value if self.served_index(value) else None)
        if channel is None:
            raise GoogleError(403, "Forbidden", "forbidden", "PERMISSION_DENIED")
        try:
            start = date.fromisoformat(query["startDate"])
            end = date.fromisoformat(query["endDate"])
        except KeyError as exc:
            raise GoogleError(400, f"Required parameter: {exc.args[0]}", "required", "INVALID_ARGUMENT") from None
        except ValueError:
            raise GoogleError(400, "Invalid date: dates must be YYYY-MM-DD", "invalid", "INVALID_ARGUMENT") from None
        if start > end:
            raise GoogleError(400, "The start date must not be after the end date.", "invalid", "INVALID_ARGUMENT")
        metrics = _required_list(query, "metrics", METRIC_TYPES, lambda m: GoogleError(
            400, f"Unknown identifier ({m}) given in field parameters.metrics.", "badRequest", "INVALID_ARGUMENT"))
        dims = ",".join(d.strip() for d in query.get("dimensions", "").split(",") if d.strip())
        if dims not in DIMENSIONS:
            raise GoogleError(400, _UNSUPPORTED_QUERY, "badRequest", "INVALID_ARGUMENT")
        demographic = dims in ("ageGroup", "gender", "ageGroup,gender")
        if demographic != (metrics == ["viewerPercentage"]) or (dims == "country" and "viewerPercentage" in metrics):
            raise GoogleError(400, _UNSUPPORTED_QUERY, "badRequest", "INVALID_ARGUMENT")
        sort = query.get("sort", "")
        if sort and sort.lstrip("-") not in dims.split(",") + metrics:
            raise GoogleError(400, _UNSUPPORTED_QUERY, "badRequest", "INVALID_ARGUMENT")

        headers_out = [{"name": d, "columnType": "DIMENSION", "dataType": "STRING"} for d in dims.split(",") if d]
        headers_out += [{"name": m, "columnType": "METRIC", "dataType": METRIC_TYPES[m]} for m in metrics]
        body: dict[str, Any] = {"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers_out}
        first = max(start, D.EPOCH)
        last = min(end, self.last_available_day())
        if first > last:
            return body
        seed = self.config.seed
        rows: list[list[Any]]
        if demographic:
            cells = viewer_percentages(seed, channel)
            if dims == "ageGroup,gender":
                rows = [[a, g, p] for a, g, p in cells]
            else:
                pos = 0 if dims == "ageGroup" else 1
                agg: dict[str, float] = {}
                for cell in cells:
                    agg[cell[pos]] = round(agg.get(cell[pos], 0.0) + cell[2], 3)
                rows = [[k, v] for k, v in agg.items()]
        else:
            series = youtube_series(seed, channel, first, last)
            n = (last - first).days + 1
            if dims == "day":
                rows = [
                    [(first + timedelta(days=k)).isoformat(), *(series[m][k] for m in metrics)] for k in range(n)
                ]
            else:
                totals = {m: sum(series[m]) for m in metrics if m != "averageViewDuration"}
                if "averageViewDuration" in metrics:
                    views = sum(series["views"])
                    watched = sum(v * a for v, a in zip(series["views"], series["averageViewDuration"], strict=True))
                    totals["averageViewDuration"] = watched // views if views else 0
                if dims == "country":
                    countries = AUD.audience(seed, "youtube", channel)["countries"]
                    rows = []
                    split = {m: AUD.apportion(int(totals[m]), [s for _, s in countries]) for m in metrics}
                    for c, (code, _) in enumerate(countries):
                        rows.append([code, *(int(split[m][c]) for m in metrics)])
                else:
                    rows = [[totals[m] for m in metrics]]
        if sort:
            col = [h["name"] for h in headers_out].index(sort.lstrip("-"))
            rows.sort(key=lambda r: r[col], reverse=sort.startswith("-"))
        if rows:
            body["rows"] = rows
        return body

    # -- OAuth ------------------------------------------------------------------------------------

    def _token(self, method: str, query: dict[str, str]) -> GraphResponse:

        def fail(status: int, error: str, description: str) -> GraphResponse:
            body = {"error": error, "error_description": description}
            return GraphResponse(status, {"Cache-Control": "no-store"}, body)

        if method != "POST":
            return fail(405, "invalid_request", "Only POST is supported.")
        grant = query.get("grant_type", "")
        if not query.get("client_id"):
            return fail(401, "invalid_client", "The OAuth client was not found.")
        if grant == "refresh_token":
            secret = query.get("refresh_token", "")
            if not secret:
                return fail(400, "invalid_request", "Missing required parameter: refresh_token")
        elif grant == "authorization_code":
            secret = query.get("code", "")
            if not secret:
                return fail(400, "invalid_request", "Missing required parameter: code")
        else:
            return fail(400, "unsupported_grant_type", f"Invalid grant_type: {grant[:40]}")
        if secret.startswith(("expired", "revoked")):
            return fail(400, "invalid_grant", "Token has been expired or revoked.")
        channel = re.search(r"channel-\d+", secret)
        suffix = f"-{channel.group(0)}" if channel else ""
        digest = hashlib.blake2b(secret.encode(), digest_size=16).hexdigest()
        body = {"access_token": f"ya29.sandbox-{digest}{suffix}", "expires_in": 3599, "scope": SCOPES,
                "token_type": "Bearer"}
        if grant == "authorization_code":
            body["refresh_token"] = f"1//sandbox-{digest[:20]}{suffix}"
        return GraphResponse(200, {"Cache-Control": "no-store"}, body)


def _required_list(query: Mapping[str, str], param: str, known: Collection[str],
                   unknown: Callable[[str], GoogleError]) -> list[str]:
    """The items of a required comma-separated parameter (`part`, `metrics`), in order.

    Google answers a missing or empty one with "Required parameter", and the first unknown item
    with the API's own error for it (`unknown(item)`).
    """
    items = [item.strip() for item in query.get(param, "").split(",") if item.strip()]
    if not items:
        raise GoogleError(400, f"Required parameter: {param}", "required", "INVALID_ARGUMENT")
    for item in items:
        if item not in known:
            raise unknown(item)
    return items


def _empty_youtube(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return {**body, "items": [], "pageInfo": {"totalResults": 0, "resultsPerPage": 5}}
    if isinstance(body, dict) and "rows" in body:
        return {k: v for k, v in body.items() if k != "rows"}
    return body


def etag(text: str) -> str:
    """A YouTube-style ETag for `text`: stable for the same content (the peers app answers with it too)."""
    return hashlib.blake2b(text.encode(), digest_size=20).hexdigest()[:27]


__all__ = [
    "YouTubeApp", "analytics_release_at", "last_analytics_day", "round_subscribers", "viewer_percentages",
    "youtube_series",
]
