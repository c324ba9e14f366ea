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
import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from sandbox import content as C
from sandbox import data as D
from sandbox import graph_helpers as H
from sandbox import pacific_time as PT
from sandbox.catalogue import (
    ME_FIELDS,
    MEDIA_METRICS,
    PAGE_FIELDS,
)
from sandbox.faults import NON_JSON_STATUS, FaultInjector, FaultPlan, drift, html_page, truncate
from sandbox.graph_helpers import (
    VERSION_RE,
    Target,
)
from sandbox.graph_insights import GraphInsights
from sandbox.graph_nodes import GraphNodes
from sandbox.ratelimit import RateLimiter, Usage
from sandbox.tokens import (
    LONG_LIVED_S,
    ME_ID,
    ME_NAME,
    derived_token,
    token_info,
)
from sandbox.wire import GraphError, GraphResponse, parse_fields

# The permission an object (edge None) or one of its edges needs, by object kind; a pair not listed
# is an unknown path. Insights need the insights permission; nodes and content lists the basic one.
EDGE_SCOPES: dict[tuple[str, str | None], str] = {
    ("page", None): "pages_read_engagement",
    ("page", "insights"): "read_insights",
    ("page", "published_posts"): "pages_read_engagement",
    ("page", "posts"): "pages_read_engagement",
    ("page", "feed"): "pages_read_engagement",
    ("ig", None): "instagram_basic",
    ("ig", "insights"): "instagram_manage_insights",
    ("ig", "media"): "instagram_basic",
    ("ig", "stories"): "instagram_basic",
    ("post", None): "pages_read_engagement",
    ("post", "insights"): "read_insights",
    ("media", None): "instagram_basic",
    ("media", "insights"): "instagram_manage_insights",
}


@functools.lru_cache(maxsize=256)
def _app_usage_json(app_pct: int) -> str:
    """The ``X-App-Usage`` value for a call-count percentage (0..100): the same few strings are
    sent with every call, so they are encoded once (issue 21)."""
    return json.dumps({"call_count": app_pct, "total_cputime": app_pct // 2, "total_time": app_pct * 2 // 3},
                      separators=(",", ":"))


@functools.lru_cache(maxsize=4096)
def _buc_json(account_id: str, kind: str, pct: int, regain: int) -> str:
    """The ``X-Business-Use-Case-Usage`` value of one business object; encoded once per state."""
    entry = {"type": kind, "call_count": pct, "total_cputime": max(0, pct // 2), "total_time": max(0, pct * 2 // 3),
             "estimated_time_to_regain_access": regain}
    return json.dumps({account_id: [entry]}, separators=(",", ":"))


@functools.lru_cache(maxsize=4096)
def _buc_entries(header: str) -> dict[str, Any]:
    """A sub-request's ``X-Business-Use-Case-Usage`` decoded, for the batch's merged header.
    Cached with the encodings above; the answer is shared, so it is only ever read."""
    return json.loads(header)


class GraphApp(GraphNodes, GraphInsights):
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
        self._today_memo: tuple[datetime | None, date | None] = (None, None)
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
            query.update(H.body_params(body, headers))
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
        """The sandbox's current Meta day (America/Los_Angeles date of the sandbox clock).

        Remembered for the last clock reading: a frozen clock (benchmarks, tests) gives the same
        instant to every call, and an insights answer asks several times (issue 21)."""
        now = self.clock()
        memo = self._today_memo
        if memo[0] != now:
            memo = (now, PT.pacific_date(now))
            self._today_memo = memo  # one tuple: a racing thread sees the old pair or the new one
        return memo[1]

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
                    body = (empty or H.empty_graph)(body)
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
        buc = "{}"
        if target is not None:
            pct = 100 if regain else usage.object_pct
            buc = _buc_json(target.account_id, "pages" if target.platform == "facebook" else "instagram", pct, regain)
        return {
            "X-App-Usage": _app_usage_json(usage.app_pct),
            "X-Business-Use-Case-Usage": buc,
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
                raise H.buc_error(target)
            if method != "GET":
                raise GraphError(f"Unsupported {method.lower()} request.", 100, type_="GraphMethodException")
            body = self._route(segments, target, query, version, base_url, token)
        except GraphError as err:
            return self.finish(self._error_response(err, out_headers), plan._replace(transforms=()))
        return self.finish(GraphResponse(200, out_headers, body), plan)

    def _fault_error(self, fault: Any, target: Target | None, out_headers: dict[str, str]) -> GraphError:
        if fault.kind == "throttle":
            return H.buc_error(target)  # type: ignore[arg-type]
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
            f"Error validating access token: Session has expired on {H.pacific_text(expired_at)}"
            f". The current time is {H.pacific_text(now)}.",
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
            # The request key only feeds fault decisions: without faults, skip building it (it
            # url-encodes the whole sorted query, once per sub-request; issue 21).
            key = "batch " + self.request_key(method, "/".join(segments), sub_query) if self.faults.active else ""
            resp = self._graph_call(
                method, segments, sub_version, sub_query, {}, base_url, key=key, transport_allowed=False
            )
            merged_buc.update(_buc_entries(resp.headers["X-Business-Use-Case-Usage"]))
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
                return H.select(
                    parse_fields(query.get("fields"), "id,name"), ME_FIELDS, "User", {"id": ME_ID, "name": ME_NAME}
                )
            if rest == ["accounts"]:
                self.require(token, "pages_show_list")
                return self._me_accounts(query, version, base_url, token)
            raise H.unknown_path(rest)
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
            raise H.unknown_path(rest)
        scope = EDGE_SCOPES.get((target.kind, edge))
        if scope is None:
            raise H.unknown_path(rest)
        self.require(token, scope)
        return self._object(target, edge, obj, query, version, base_url)

    def _object(self, target: Target, edge: str | None, obj: str, query: dict[str, str], version: str,
                base_url: str) -> Any:
        """The answer for an object (`edge` None) or one of its edges in `EDGE_SCOPES`, permission checked."""
        if edge is not None and edge != "insights":
            return self._content_edge(target, edge, query, version, base_url)
        if target.kind == "page":
            if edge is None:
                return self._page_node(target.index, parse_fields(query.get("fields"), "id,name"), PAGE_FIELDS)
            return self._page_insights(obj, query, version, base_url)
        if target.kind == "ig":
            if edge is None:
                return self.ig_node(target.index, parse_fields(query.get("fields"), "id,username"))
            return self._ig_insights(obj, query, version, base_url)
        if target.kind == "post":
            if edge is None:
                return self._post_node(target.item, parse_fields(query.get("fields"), "id,message,created_time"))
            return self._post_insights(target, query)
        if edge is None:
            return self._media_node(target.item, parse_fields(query.get("fields"), "id"))
        return self._media_insights(target, query)

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
