"""Graph API request handling: (method, path, query, headers, body) -> ``GraphResponse``.

Kept free of any HTTP server code so the behaviour (routing, validation, error envelopes, usage
headers, fault injection) is one plain function call that the HTTP server merely wraps.
``GraphApp`` is also the front door for the other surfaces (``/youtube/v3``,
``/youtubeanalytics/v2``, ``/oauth2/token``, ``/snapchat/v1``; see ``sandbox.youtube`` and
``sandbox.snapchat``) so one server, one clock and one fault injector serve everything.

Behaviour follows /work/shared/PLATFORM_APIS.md (sections 2-4): Facebook Page and Instagram user
nodes, their ``/insights`` edges (periods day/week/days_28/lifetime, dict-valued follows by
city/country, IG total_value/breakdowns/demographics), posts and media with lifetime insights,
batch requests, ``/debug_token``, the long-lived token exchange, ``/me`` and ``/me/accounts``, the
Graph error envelope with the documented codes/subcodes, time-based insights paging, cursor paging
for edges, and the ``X-App-Usage`` / ``X-Business-Use-Case-Usage`` headers with real counters.
Where the reference is silent the sandbox picks a plausible behaviour and says so ("UNVERIFIED" /
"ASSUMED"); ``sandbox/README.md`` lists every such choice.

Late restatements: the *activity* values (views, viewers/reach, engagements, interactions, page
visits, accounts engaged and the IG metrics derived from them) of the last two complete days are
preliminary: the API reports ``floor(final * f)`` with ``f = data.restatement_factor(...)``, which
grows with the time between the end of the measured day and the request (sandbox clock) and is
1.0 from 48 h on. The ground truth holds the final values. Follower stocks and flows
(``page_follows``, follows/unfollows, ``follower_count``) are *not* restated, so
``followers(d) = followers(d-1) + gained(d) - lost(d)`` holds in every response.
``SandboxConfig.restatements = False`` turns this off.

Security rule: the caller's access token is never copied into any response (bodies, paging URLs,
headers); paging URLs are rebuilt from an allow-list of parameters instead of the raw query, and
tokens handed out (page tokens, exchanged tokens) are derived, never equal to the caller's.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from typing import Any, NamedTuple
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

import numpy as np

from sandbox import content as C
from sandbox import data as D
from sandbox.catalogue import (
    ACCOUNTS_EDGE_EXTRA_FIELDS,
    ALL_MEDIA_METRICS,
    ALL_PAGE_METRICS,
    IG_DEMOGRAPHIC_BREAKDOWNS,
    IG_DEMOGRAPHIC_METRICS,
    IG_FIELDS,
    IG_FOLLOW_TYPE_METRICS,
    IG_METRICS,
    IG_PRODUCT_TYPE_METRICS,
    IG_PRODUCT_TYPES,
    IG_TIMEFRAMES,
    ME_FIELDS,
    MEDIA_FIELDS,
    MEDIA_METRIC_TITLES,
    MEDIA_METRICS,
    PAGE_DICT_METRICS,
    PAGE_FIELDS,
    PAGE_METRIC_PERIODS,
    PAGE_METRICS,
    PAGE_UNIQUE_METRICS,
    PERIOD_DAYS,
    POST_FIELDS,
    POST_METRICS,
    RESTATED_KEYS,
    TIME_SERIES,
    TOTAL_VALUE,
    dedup_total,
    sum_total,
)
from sandbox.faults import NON_JSON_STATUS, FaultInjector, FaultPlan, drift, html_page, truncate
from sandbox.ratelimit import RateLimiter, Usage
from sandbox.tokens import (
    DAY,
    LONG_LIVED_S,
    ME_ID,
    ME_NAME,
    PAGE_TOKEN_PREFIX,
    derived_token,
    token_info,
)
from sandbox.wire import GraphError, GraphResponse, parse_fields

PAGE_WINDOW_DAYS = 90
IG_WINDOW_DAYS = 30
HISTORY_DAYS = 730
IG_FOLLOWER_COUNT_DAYS = 30
WINDOW_TOLERANCE_S = 3600
"""since/until spans are compared in seconds; a DST change inside a window built from date strings
adds or removes one hour, and failing an exact 90-day calendar window for that would only punish
correct clients (the real API's behaviour here is UNVERIFIED)."""


VERSION_RE = re.compile(r"^v\d+\.\d+$")


# ------------------------------------------------------------------------------------------------
# The application
# ------------------------------------------------------------------------------------------------


class Target(NamedTuple):
    """The object a Graph path starts with, resolved without any lookup table."""

    kind: str  # page | ig | post | media
    platform: str  # facebook | instagram
    index: int
    account_id: str  # the business object (Page / IG user) that owns it
    item: C.Item | None = None


class GraphApp:
    """All sandbox request handling. Thread-safe; one instance per server.

    ``config`` is a ``SandboxConfig``; ``clock`` returns the sandbox's current aware-UTC time;
    ``rate_clock`` returns monotonic seconds for rate windows and throttles (defaults to
    ``time.monotonic``).
    """

    def __init__(
        self, config: Any, clock: Callable[[], datetime], rate_clock: Callable[[], float] | None = None
    ) -> None:
        self.config = config
        self.clock = clock
        self.rate_clock = rate_clock or time.monotonic
        self.faults = FaultInjector(
            config.seed,
            config.faults,
            getattr(config, "account_faults", None),
            max_consecutive=getattr(config, "fault_max_consecutive", 2),
            timeout_s=getattr(config, "fault_timeout_s", 35.0),
            throttle_minutes=getattr(config, "fault_throttle_minutes", 1),
            clock=self.rate_clock,
        )
        self.usage = RateLimiter(getattr(config, "call_budget_per_hour", None), clock=self.rate_clock)
        self.restatements = getattr(config, "restatements", True)
        self._lock = threading.Lock()
        self._trace_counter = 0
        from sandbox.snapchat import SnapchatApp
        from sandbox.youtube import YouTubeApp

        self.youtube = YouTubeApp(self)
        self.snapchat = SnapchatApp(self)
        from sandbox.peers import PeerApp

        self.peers = PeerApp(self)

    # -- entry point ------------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], base_url: str, body: bytes = b""
    ) -> GraphResponse:
        """Answer one request. ``target`` is the raw request target (path + query); ``body`` the
        raw request body (form-encoded or JSON parameters of POST requests)."""
        parts = urlsplit(target)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if body:
            query.update(_body_params(body, headers))
        if path == "/__health":
            return GraphResponse(200, {}, {"ok": True})
        if path == "/__truth":
            return self._truth(query)
        if path == "/__truth/demographics":
            return self._truth_demographics(query)
        if path == "/__truth/peers":
            return self.peers.truth_response(query)
        if path == "/graph" or path.startswith("/graph/"):
            return self._graph(method, path[len("/graph") :], query, headers, base_url)
        if self.peers.wants(path, query):
            return self.peers.youtube_channels(method, query, headers)
        if path.startswith(("/youtube/", "/youtubeanalytics/", "/oauth2/")):
            return self.youtube.handle(method, path, query, headers, base_url)
        if path.startswith("/snapchat/"):
            return self.snapchat.handle(method, path, query, headers, base_url)
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

    def _truth_demographics(self, query: dict[str, str]) -> GraphResponse:
        from sandbox.truth import demographics_truth

        try:
            as_of = date.fromisoformat(query["as_of"]) if query.get("as_of") else self.today() - timedelta(days=1)
        except ValueError:
            return GraphResponse(400, {}, {"error": {"message": "as_of must be YYYY-MM-DD"}})
        return GraphResponse(200, {}, demographics_truth(self.config, as_of))

    def today(self) -> date:
        """The sandbox's current Meta day (America/Los_Angeles date of the sandbox clock)."""
        return D.pacific_date(self.clock())

    def now_ts(self) -> float:
        return self.clock().timestamp()

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

    @staticmethod
    def request_key(method: str, path: str, query: Mapping[str, str]) -> str:
        """Identity of a request for fault decisions: a retry has the same key; the token is not
        part of it (a client that refreshes its token is still retrying the same request)."""
        items = sorted((k, v) for k, v in query.items() if k != "access_token")
        return f"{method} {path}?{urlencode(items)}"

    def finish(self, resp: GraphResponse, plan: FaultPlan, empty: Callable[[Any], Any] | None = None) -> GraphResponse:
        """Apply a fault plan's body transforms, delay and transport fault to a response."""
        body = resp.body
        if resp.status == 200 and plan.transforms:
            for name in plan.transforms:
                if name == "empty":
                    body = (empty or _empty_graph)(body)
                elif name == "schema_drift":
                    body = drift(body)
        resp = resp._replace(body=body, delay_s=resp.delay_s + plan.delay_s)
        fault = plan.transport
        if fault is None:
            return resp
        if fault.kind == "reset":
            return resp._replace(action="reset")
        if fault.kind == "truncated":
            payload = json.dumps(resp.body, separators=(",", ":")).encode()
            return resp._replace(raw=truncate(payload))
        if fault.kind == "non_json":
            status = NON_JSON_STATUS[fault.variant % len(NON_JSON_STATUS)]
            headers = {**resp.headers, "Content-Type": "text/html; charset=utf-8"}
            return resp._replace(status=status, headers=headers, raw=html_page(status))
        return resp

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
        if not segments and method == "POST":
            return self._batch(query, headers, base_url, version)
        key = self.request_key(method, "/".join(segments), query) if self.faults.active else ""
        return self._graph_call(method, segments, version, query, headers, base_url, key=key)

    def _resolve(self, obj: str) -> Target | None:
        seed, accounts = self.config.seed, self.config.accounts
        resolved = D.parse_account_id(obj, accounts)
        if resolved is not None:
            platform, index = resolved
            return Target("page" if platform == "facebook" else "ig", platform, index, obj)
        if "_" in obj:
            parsed = C.parse_post_id(obj)
            if parsed is None:
                return None
            page_id, day_index, k = parsed
            resolved = D.parse_account_id(page_id, accounts)
            if resolved is None or resolved[0] != "facebook":
                return None
            item = C.find_item(seed, "facebook", page_id, day_index, k)
            if item is None or item.kind != "post" or item.ts > self.now_ts():
                return None
            return Target("post", "facebook", resolved[1], page_id, item)
        parsed_media = C.parse_media_id(obj)
        if parsed_media is not None:
            index, day_index, k = parsed_media
            if not 1 <= index <= accounts:
                return None
            ig_id = D.instagram_user_id(index)
            item = C.find_item(seed, "instagram", ig_id, day_index, k)
            if item is None or item.kind not in MEDIA_METRICS or item.ts > self.now_ts():
                return None
            return Target("media", "instagram", index, ig_id, item)
        return None

    def _usage_headers(self, usage: Usage, target: Target | None, version: str, trace: str, regain: int = 0) -> dict:
        buc: dict[str, Any] = {}
        if target is not None:
            pct = 100 if regain else usage.object_pct
            buc[target.account_id] = [
                {
                    "type": "pages" if target.platform == "facebook" else "instagram",
                    "call_count": pct,
                    "total_cputime": max(0, pct // 2),
                    "total_time": max(0, pct * 2 // 3),
                    "estimated_time_to_regain_access": regain,
                }
            ]
        app = usage.app_pct
        return {
            "X-App-Usage": json.dumps({"call_count": app, "total_cputime": app // 2, "total_time": app * 2 // 3},
                                      separators=(",", ":")),
            "X-Business-Use-Case-Usage": json.dumps(buc, separators=(",", ":")),
            "facebook-api-version": version,
            "x-fb-trace-id": trace,  # also the error's fbtrace_id, as on the real API
        }

    def _graph_call(
        self,
        method: str,
        segments: list[str],
        version: str,
        query: dict[str, str],
        headers: Mapping[str, str],
        base_url: str,
        *,
        key: str,
        transport_allowed: bool = True,
    ) -> GraphResponse:
        obj = segments[0] if segments else None
        target = self._resolve(obj) if obj else None
        buc_obj = target.account_id if target else None
        usage = self.usage.record(buc_obj)
        plan = self.faults.decide(key, buc_obj, transport_allowed=transport_allowed)
        regain = 0
        if plan.error is not None and plan.error.kind == "throttle":
            regain = plan.error.regain_minutes
        elif usage.throttled:
            regain = usage.regain_minutes
        out_headers = self._usage_headers(usage, target, version, self._fbtrace_id(), regain)
        try:
            if plan.error is not None:
                raise self._fault_error(plan.error, target, out_headers)
            oauth = segments[:2] == ["oauth", "access_token"]
            token = "" if oauth else self._authenticate(query, headers, buc_obj)
            if usage.throttled and target is not None:
                raise _buc_error(target)
            if method != "GET":
                raise GraphError(f"Unsupported {method.lower()} request.", 100, type_="GraphMethodException")
            body = self._route(segments, target, query, version, base_url, token)
        except GraphError as err:
            return self.finish(self._error_response(err, out_headers), plan._replace(transforms=()))
        return self.finish(GraphResponse(200, out_headers, body), plan)

    def _fault_error(self, fault: Any, target: Target | None, out_headers: dict[str, str]) -> GraphError:
        if fault.kind == "throttle":
            return _buc_error(target)  # type: ignore[arg-type]
        if fault.kind == "429":
            out_headers["Retry-After"] = str(fault.retry_after_s)
        if fault.code == 4:
            out_headers["X-App-Usage"] = json.dumps(
                {"call_count": 100, "total_cputime": 40, "total_time": 70}, separators=(",", ":")
            )
        transient = True if fault.kind in ("5xx", "flaky") or fault.code in (4, 17, 32, 613) else None
        return GraphError(fault.message, fault.code, status=fault.status, is_transient=transient)

    def bearer_or_query_token(self, query: Mapping[str, str], headers: Mapping[str, str]) -> str:
        token = query.get("access_token", "")
        if not token:
            auth = headers.get("Authorization") or headers.get("authorization") or ""
            scheme, _, value = auth.partition(" ")
            if scheme.lower() in ("bearer", "oauth"):
                token = value.strip()
        return token

    def _authenticate(self, query: Mapping[str, str], headers: Mapping[str, str], account: str | None) -> str:
        token = self.bearer_or_query_token(query, headers)
        if not token:
            raise GraphError(
                "An active access token must be used to query information about the current user.",
                2500,
            )
        fault = self.faults.auth_fault(account)
        if token.startswith("expired") or fault == "expired_token":
            raise self.expired_error()
        if token.startswith("revoked") or fault == "revoked_token":
            raise GraphError(
                "Error validating access token: The session has been invalidated because the user "
                "changed their password or Facebook has changed the session for security reasons.",
                190,
                subcode=460,
            )
        return token

    def expired_error(self) -> GraphError:
        now = self.clock()
        expired_at = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
        return GraphError(
            f"Error validating access token: Session has expired on {_pacific_text(expired_at)}"
            f". The current time is {_pacific_text(now)}.",
            190,
            subcode=463,
        )

    def require(self, token: str, scope: str) -> None:
        if "noscope-" in token and scope not in token_info(token, self.clock())["scopes"]:
            # UNVERIFIED wording; code 10 is the documented "permission denied" class.
            raise GraphError(f"(#10) This endpoint requires the '{scope}' permission.", 10)

    # -- batch ------------------------------------------------------------------------------------

    def _batch(self, query: dict[str, str], headers: Mapping[str, str], base_url: str, version: str) -> GraphResponse:
        """``POST /vNN.0/`` with ``batch=[{"method":"GET","relative_url":"..."}, ...]`` (max 50).

        Each sub-request is a full Graph call (own auth, faults, rate-limit count, usage headers);
        its answer comes back as ``{"code", "headers", "body": "<JSON string>"}``. Transport faults
        (delay, reset, truncation, HTML) apply to the batch as a whole, never to one sub-request.
        ``depends_on``/JSONPath references between sub-requests are not supported (ASSUMED unused).
        """
        trace = self._fbtrace_id()
        app_usage = self.usage.record(None)
        out_headers = self._usage_headers(app_usage, None, version, trace)
        raw = query.get("batch")
        try:
            if raw is None or not raw.strip():
                raise GraphError("(#100) The parameter batch is required", 100)
            try:
                ops = json.loads(raw)
            except ValueError:
                ops = None
            if not isinstance(ops, list):
                raise GraphError("(#100) param batch must be a JSON-encoded array", 100)  # UNVERIFIED wording
            if len(ops) > 50:
                raise GraphError("(#1) Maximum batch size is 50", 1, type_="GraphBatchException")
        except GraphError as err:
            return self._error_response(err, out_headers)
        include_headers = query.get("include_headers", "true").strip().lower() != "false"
        top_token = self.bearer_or_query_token(query, headers)
        first_obj = None
        results: list[dict[str, Any]] = []
        merged_buc: dict[str, Any] = {}
        for op in ops:
            if not isinstance(op, dict) or not isinstance(op.get("relative_url"), str):
                err = GraphError("(#100) Each batch request must have a relative_url", 100)
                results.append(self._sub_result(self._error_response(err, out_headers), include_headers))
                continue
            method = str(op.get("method") or "GET").upper()
            rel = op["relative_url"].strip().lstrip("/")
            parts = urlsplit(rel)
            sub_query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            if isinstance(op.get("body"), str):
                sub_query.update({k: v[-1] for k, v in parse_qs(op["body"], keep_blank_values=True).items()})
            if "access_token" not in sub_query and top_token:
                sub_query["access_token"] = top_token
            segments = [s for s in parts.path.split("/") if s]
            sub_version = version
            if segments and VERSION_RE.match(segments[0]):
                sub_version = segments.pop(0)
            if first_obj is None and segments:
                first_obj = segments[0]
            key = "batch " + self.request_key(method, "/".join(segments), sub_query)
            resp = self._graph_call(
                method, segments, sub_version, sub_query, {}, base_url, key=key, transport_allowed=False
            )
            merged_buc.update(json.loads(resp.headers["X-Business-Use-Case-Usage"]))
            out_headers["X-App-Usage"] = resp.headers["X-App-Usage"]
            results.append(self._sub_result(resp, include_headers))
        out_headers["X-Business-Use-Case-Usage"] = json.dumps(merged_buc, separators=(",", ":"))
        target = self._resolve(first_obj) if first_obj else None
        plan = self.faults.decide("batch " + hashlib.blake2b(raw.encode(), digest_size=8).hexdigest(),  # type: ignore[union-attr]
                                  target.account_id if target else None)
        plan = plan._replace(error=None, transforms=())
        return self.finish(GraphResponse(200, out_headers, results), plan)

    @staticmethod
    def _sub_result(resp: GraphResponse, include_headers: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"code": resp.status}
        if include_headers:
            hdrs = [{"name": "Content-Type", "value": "text/javascript; charset=UTF-8"}]
            for name in ("facebook-api-version", "x-fb-trace-id", "X-App-Usage", "X-Business-Use-Case-Usage",
                         "Retry-After"):
                if name in resp.headers:
                    hdrs.append({"name": name, "value": resp.headers[name]})
            out["headers"] = hdrs
        out["body"] = json.dumps(resp.body, separators=(",", ":"))
        return out

    # -- routing ----------------------------------------------------------------------------------

    def _route(
        self,
        segments: list[str],
        target: Target | None,
        query: dict[str, str],
        version: str,
        base_url: str,
        token: str,
    ) -> Any:
        if not segments:
            raise GraphError(
                "Unsupported get request. Please read the Graph API documentation at "
                "https://developers.facebook.com/docs/graph-api",
                100,
                type_="GraphMethodException",
            )
        obj, rest = segments[0], segments[1:]
        peer = self.peers.route(obj, rest, target, query, token)
        if peer is not None:
            return peer
        if obj == "me":
            if not rest:
                return _select(
                    parse_fields(query.get("fields"), "id,name"), ME_FIELDS, "User", {"id": ME_ID, "name": ME_NAME}
                )
            if rest == ["accounts"]:
                self.require(token, "pages_show_list")
                return self._me_accounts(query, version, base_url, token)
            raise _unknown_path(rest)
        if obj == "debug_token" and not rest:
            return self._debug_token(query)
        if obj == "oauth" and rest == ["access_token"]:
            return self._oauth_exchange(query)
        if target is None:
            raise GraphError(
                f"Unsupported get request. Object with ID '{obj}' does not exist, cannot be "
                "loaded due to missing permissions, or does not support this operation. Please "
                "read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
                100,
                type_="GraphMethodException",
                subcode=33,
            )
        if target.kind in ("page", "ig") and rest and rest[0] == "insights" and len(rest) <= 3:
            # Single-metric form: /{id}/insights/{metric}[/{period}]
            if len(rest) >= 2:
                query = {**query, "metric": rest[1]}
            if len(rest) == 3:
                query = {**query, "period": rest[2]}
            rest = ["insights"]
        edge = rest[0] if rest else None
        if len(rest) > 1:
            raise _unknown_path(rest)
        if target.kind == "page":
            if edge is None:
                self.require(token, "pages_read_engagement")
                return self._page_node(target.index, parse_fields(query.get("fields"), "id,name"), PAGE_FIELDS)
            if edge == "insights":
                self.require(token, "read_insights")
                return self._page_insights(obj, query, version, base_url)
            if edge in ("published_posts", "posts", "feed"):
                self.require(token, "pages_read_engagement")
                return self._content_edge(target, edge, query, version, base_url)
        elif target.kind == "ig":
            if edge is None:
                self.require(token, "instagram_basic")
                return self.ig_node(target.index, parse_fields(query.get("fields"), "id,username"))
            if edge == "insights":
                self.require(token, "instagram_manage_insights")
                return self._ig_insights(obj, query, version, base_url)
            if edge in ("media", "stories"):
                self.require(token, "instagram_basic")
                return self._content_edge(target, edge, query, version, base_url)
        elif target.kind == "post":
            if edge is None:
                self.require(token, "pages_read_engagement")
                return self._post_node(target.item, parse_fields(query.get("fields"), "id,message,created_time"))
            if edge == "insights":
                self.require(token, "read_insights")
                return self._post_insights(target, query)
        elif target.kind == "media":
            if edge is None:
                self.require(token, "instagram_basic")
                return self._media_node(target.item, parse_fields(query.get("fields"), "id"))
            if edge == "insights":
                self.require(token, "instagram_manage_insights")
                return self._media_insights(target, query)
        raise _unknown_path(rest)

    # -- onboarding -------------------------------------------------------------------------------

    def _debug_token(self, query: dict[str, str]) -> dict:
        token = query.get("input_token", "").strip()
        if not token:
            raise GraphError("(#100) The parameter input_token is required", 100)
        return {"data": token_info(token, self.clock())}

    def _oauth_exchange(self, query: dict[str, str]) -> dict:
        """``GET /oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret&fb_exchange_token``
        -> a long-lived token (~60 days). Error wordings for missing parameters are UNVERIFIED."""
        if not query.get("client_id"):
            raise GraphError("Missing client_id parameter.", 101)
        if not query.get("client_secret"):
            raise GraphError("(#100) Missing client_secret parameter.", 100)
        if query.get("grant_type") != "fb_exchange_token":
            raise GraphError("(#100) Unsupported grant_type; use fb_exchange_token", 100)
        short = query.get("fb_exchange_token", "")
        if not short:
            raise GraphError("(#100) Missing fb_exchange_token parameter.", 100)
        if short.startswith("expired"):
            raise self.expired_error()
        if short.startswith("revoked"):
            raise GraphError("Error validating access token: The session has been invalidated.", 190, subcode=460)
        return {
            "access_token": derived_token("longlived-", short),
            "token_type": "bearer",
            "expires_in": LONG_LIVED_S - 3600 * 17 - 1,  # "~60 days", like real answers (5,122,799 s)
        }

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
            # A page token derived from the page id: never the caller's token.
            "access_token": lambda: f"{PAGE_TOKEN_PREFIX}{page_id}",
        }
        out: dict[str, Any] = {}
        for name, sub in fields:
            if name not in allowed:
                raise _nonexisting_field(name, "Page")
            if name == "instagram_business_account":
                out[name] = self.ig_node(index, parse_fields(sub, "id"))
            else:
                out[name] = values[name]()
        return out

    def ig_node(self, index: int, fields: list[tuple[str, str | None]]) -> dict:
        seed = self.config.seed
        ig_id = D.instagram_user_id(index)
        ident = D.account_identity(seed, index)

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
            # Equals the number of items /media lists (FEED + REELS published so far).
            "media_count": lambda: C.count_posts(seed, "instagram", ig_id, int(self.now_ts())),
        }
        out: dict[str, Any] = {}
        for name, _sub in fields:
            if name not in IG_FIELDS:
                raise _nonexisting_field(name, "IGUser")
            out[name] = values[name]()
        return out

    def _me_accounts(self, query: dict[str, str], version: str, base_url: str, token: str) -> dict:
        fields = parse_fields(query.get("fields"), "id,name,category,tasks")
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
        for row in rows:
            if "access_token" in row:
                # Page tokens are derived from the page and the caller's token, never equal to it.
                row["access_token"] = f"{PAGE_TOKEN_PREFIX}{row.get('id') or ''}-" + derived_token("", token)[:16]
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

    # -- posts and media --------------------------------------------------------------------------

    def _content_edge(self, target: Target, edge: str, query: dict[str, str], version: str, base_url: str) -> dict:
        """``/{page}/published_posts`` (also ``/posts``, ``/feed``), ``/{ig}/media``, ``/{ig}/stories``:
        newest first, cursor paging (``paging.cursors.before/after``, ``next`` only while more)."""
        seed = self.config.seed
        now = int(self.now_ts())
        if target.kind == "page":
            kinds, default_fields, node = frozenset({"post"}), "id,message,created_time", self._post_node
        elif edge == "media":
            kinds, default_fields, node = frozenset({"FEED", "REELS"}), "id", self._media_node
        else:
            kinds, default_fields, node = frozenset({"STORY"}), "id", self._media_node
        fields = parse_fields(query.get("fields"), default_fields)
        node_type, allowed = ("PagePost", POST_FIELDS) if target.kind == "page" else ("ShadowIGMedia", MEDIA_FIELDS)
        for name, _ in fields:
            if name not in allowed:
                raise _nonexisting_field(name, node_type)
        raw_limit = query.get("limit", "25")
        if not raw_limit.isdigit() or int(raw_limit) < 1:
            raise GraphError("(#100) Param limit must be a positive integer", 100)
        limit = min(int(raw_limit), 100)
        since = _parse_time(query, "since") if query.get("since") else None
        until = _parse_time(query, "until") if query.get("until") else None
        newest = min(now, until) if until is not None else now

        def stream(before: tuple[int, int] | None) -> Iterator[C.Item]:
            for item in C.iter_newest_first(seed, target.platform, target.account_id, before, newest, kinds):
                if since is not None and item.ts < since:
                    return
                if edge == "stories" and now - item.ts >= C.STORY_LIFETIME_S:
                    return
                yield item

        if "before" in query:
            pos = _decode_position(query["before"])
            newer = [it for it in stream(None) if (it.day_index, it.k) > pos]
            page_items = newer[-limit:]
            has_more = True  # the page we came from is older
            has_newer = len(newer) > limit
        else:
            after = _decode_position(query["after"]) if "after" in query else None
            page_items = list(islice(stream(after), limit + 1))
            has_more = len(page_items) > limit
            page_items = page_items[:limit]
            has_newer = after is not None
        body: dict[str, Any] = {"data": [node(item, fields) for item in page_items]}
        if not page_items:
            return body
        first, last = page_items[0], page_items[-1]
        cursors = {"before": _encode_position(first), "after": _encode_position(last)}
        paging: dict[str, Any] = {"cursors": cursors}
        params: list[tuple[str, Any]] = [("fields", query.get("fields") or default_fields), ("limit", limit)]
        for name in ("since", "until"):
            if query.get(name):
                params.append((name, query[name]))
        base = f"{base_url}/graph/{version}/{target.account_id}/{edge}?"
        if has_more:
            paging["next"] = base + urlencode([*params, ("after", cursors["after"])])
        if has_newer:
            paging["previous"] = base + urlencode([*params, ("before", cursors["before"])])
        body["paging"] = paging
        return body

    def _post_node(self, item: C.Item | None, fields: list[tuple[str, str | None]]) -> dict:
        assert item is not None
        pid = C.post_id(item)
        number = pid.split("_", 1)[1]
        photo = f"https://scontent.sandvik.example/{pid}.jpg"
        values: dict[str, Callable[[], Any]] = {
            "id": lambda: pid,
            "message": lambda: C.message(item, self.config.seed),
            "created_time": lambda: _graph_time(item.ts),
            "updated_time": lambda: _graph_time(item.ts + 120),
            "permalink_url": lambda: f"https://www.facebook.com/{item.account_id}/posts/{number}",
            "status_type": lambda: item.media_type,
            "full_picture": lambda: photo,
            "is_published": lambda: True,
            "attachments": lambda: {
                "data": [
                    {
                        "media_type": {"added_photos": "photo", "added_video": "video", "shared_story": "link"}.get(
                            item.media_type, "status"
                        ),
                        "type": {"added_photos": "photo", "added_video": "video_inline", "shared_story": "share"}.get(
                            item.media_type, "status"
                        ),
                        "url": f"https://www.facebook.com/{item.account_id}/posts/{number}",
                    }
                ]
            },
        }
        out: dict[str, Any] = {}
        for name, _ in fields:
            if name not in POST_FIELDS:
                raise _nonexisting_field(name, "PagePost")
            out[name] = values[name]()
        return out

    def _media_node(self, item: C.Item | None, fields: list[tuple[str, str | None]]) -> dict:
        assert item is not None
        mid = C.media_id(item)
        now = self.now_ts()
        current = C.values_at(item, now)
        i = D.account_index("instagram", item.account_id) or 1
        ident = D.account_identity(self.config.seed, i)
        kind = "reel" if item.kind == "REELS" else ("stories" if item.kind == "STORY" else "p")
        values: dict[str, Callable[[], Any]] = {
            "id": lambda: mid,
            "caption": lambda: C.message(item, self.config.seed),
            "media_type": lambda: item.media_type,
            "media_product_type": lambda: item.kind,
            "timestamp": lambda: _graph_time(item.ts),
            "permalink": lambda: f"https://www.instagram.com/{kind}/{C.shortcode(item)}/",
            "like_count": lambda: current.get("likes", 0),
            "comments_count": lambda: current.get("comments", 0),
            "username": lambda: ident["username"],
            "shortcode": lambda: C.shortcode(item),
            "media_url": lambda: f"https://cdn.sandvik.example/ig/{mid}.mp4"
            if item.media_type == "VIDEO" else f"https://cdn.sandvik.example/ig/{mid}.jpg",
            "thumbnail_url": lambda: f"https://cdn.sandvik.example/ig/{mid}_thumb.jpg",
            "is_comment_enabled": lambda: item.kind != "STORY",
        }
        out: dict[str, Any] = {}
        for name, _ in fields:
            if name not in MEDIA_FIELDS:
                raise _nonexisting_field(name, "ShadowIGMedia")
            if name == "caption" and item.kind == "STORY":
                continue  # stories have no caption
            out[name] = values[name]()
        return out

    def _post_insights(self, target: Target, query: dict[str, str]) -> dict:
        item = target.item
        assert item is not None
        metrics = _metric_list(query)
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
        metrics = _metric_list(query)
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
        fixed = "&".join(f"{k}={_quote(str(v))}" for k, v in params)
        return {
            "previous": f"{base}{fixed}&since={since - span}&until={since}",
            "next": f"{base}{fixed}&since={until}&until={until + span}",
        }

    def _page_insights(self, obj: str, query: dict[str, str], version: str, base_url: str) -> dict:
        metrics = _metric_list(query)
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
        end_times = _end_times(first, last)
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
            counts = D.audience_counts(self.config.seed, "facebook", obj, int(total))[breakdown]
            if breakdown == "city":
                counts = {f"{city}, {region}, Sweden": n for (city, region), n in counts.items()}
            out.append(dict(_top(counts, D.DEMOGRAPHIC_TOP_N)))
        return out

    def _ig_insights(self, obj: str, query: dict[str, str], version: str, base_url: str) -> dict:
        metrics = _metric_list(query)
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
                    {"value": v, "end_time": e} for v, e in zip(values, _end_times(first, last), strict=True)
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
                parts = D.apportion(total, shares)
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
            if followers < D.DEMOGRAPHIC_MIN_FOLLOWERS or population < D.DEMOGRAPHIC_MIN_FOLLOWERS:
                continue
            counts = D.audience_counts(seed, "instagram", obj, population, engaged=engaged)
            if len(keys) == 2:
                cells = {(a, g): n for (a, g), n in counts["age_gender"].items()}
                results = [
                    {"dimension_values": [a, g] if keys[0] == "age" else [g, a], "value": n}
                    for (a, g), n in _top(cells, D.DEMOGRAPHIC_TOP_N)
                ]
            else:
                table = counts[keys[0]]
                if keys[0] == "city":
                    table = {f"{city}, {region}": n for (city, region), n in table.items()}
                results = [{"dimension_values": [k], "value": n} for k, n in _top(table, D.DEMOGRAPHIC_TOP_N)]
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


@functools.lru_cache(maxsize=4096)
def _quote(value: str) -> str:
    return quote_plus(value)


def _buc_error(target: Target) -> GraphError:
    if target.platform == "facebook":
        return GraphError(
            "(#80001) There have been too many calls to this Page account. Wait a bit and try again. For more "
            "info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
            80001,
        )
    return GraphError(
        "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. For "
        "more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
        80002,
        subcode=2446079,
    )


def _empty_graph(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return {"data": []}
    return body


def _top(counts: dict, n: int) -> list[tuple[Any, int]]:
    """The ``n`` largest entries, value descending then key, as the API's top-N lists."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:n]


def _graph_time(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _body_params(body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
    """Parameters of a POST body: form-encoded (the Graph default) or a JSON object."""
    ctype = (headers.get("Content-Type") or headers.get("content-type") or "").lower()
    text = body.decode("utf-8", "replace")
    if "json" in ctype:
        try:
            obj = json.loads(text)
        except ValueError:
            return {}
        if isinstance(obj, dict):
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in obj.items()}
        return {}
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


def _encode_position(item: C.Item) -> str:
    return base64.urlsafe_b64encode(f"sandbox:pos:{item.day_index}:{item.k}".encode()).decode().rstrip("=")


def _decode_position(cursor: str) -> tuple[int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = base64.urlsafe_b64decode(padded).decode().split(":")
        if len(parts) != 4 or parts[:2] != ["sandbox", "pos"]:
            raise ValueError
        return int(parts[2]), int(parts[3])
    except (ValueError, UnicodeDecodeError):
        raise GraphError("(#100) Invalid cursor", 100) from None


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
