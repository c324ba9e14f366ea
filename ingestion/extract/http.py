"""One HTTP layer for every platform: timeouts, retries with backoff, error classification.

Errors are classified once, here, from the platform's own error envelope (Meta: `error.code`,
`error_subcode`; HTTP status is not reliable), so callers decide by class: transient and throttled
errors are retried, auth/permission/invalid-request errors fail fast, a retired metric degrades
alone. Every message that leaves this module is redacted.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import random
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from ingestion.core.redact import redact, redact_params


class _RedactingFilter(logging.Filter):
    """urllib3 logs every request line, query string included (Graph tokens travel there), at DEBUG:
    mask secret parameters before any handler (ours, Airflow's task log) sees the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


for _logger in ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.response"):
    logging.getLogger(_logger).addFilter(_RedactingFilter())

# Meta error codes (PLATFORM_APIS.md §4.1).
_TRANSIENT_CODES = {1, 2}
_THROTTLE_CODES = {4, 17, 32, 341, 613, 80000, 80001, 80002, 80004, 80005, 80006, 80009, 80014}
_AUTH_CODES = {102, 190}
_PERMISSION_CODES = {10, *range(200, 300)}


class ErrorClass(StrEnum):
    """What a failed request means for the caller."""

    TRANSIENT = "transient"
    THROTTLED = "throttled"
    AUTH = "auth"
    PERMISSION = "permission"
    INVALID_REQUEST = "invalid_request"
    RETIRED_METRIC = "retired_metric"
    GARBAGE = "garbage_response"


RETRYABLE = frozenset({ErrorClass.TRANSIENT, ErrorClass.THROTTLED, ErrorClass.GARBAGE})


class ApiError(Exception):
    """A classified, redacted API failure."""

    def __init__(
        self,
        error_class: ErrorClass,
        message: str,
        *,
        http_status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
        retry_after_s: float | None = None,
        transport: str | None = None,
    ) -> None:
        super().__init__(message)
        self.error_class = error_class
        # No HTTP answer: "unreachable" (refused, unknown host, no connection, TLS: the same for every
        # call to that host, which lets the fetch engine stop a platform early) or "broken" (timed
        # out or cut off mid-answer: often one call's bad luck). None: the server answered.
        self.transport = transport
        self.http_status = http_status
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.retry_after_s = retry_after_s

    def summary(self) -> dict[str, Any]:
        """A JSON-able, secret-free description for run reports."""
        return {
            "error_class": str(self.error_class),
            "message": str(self),
            "http_status": self.http_status,
            "code": self.code,
            "subcode": self.subcode,
            "fbtrace_id": self.fbtrace_id,
        }


def classify_meta_error(http_status: int, body: Any) -> ApiError:
    """Turn a Graph API error response into an ApiError."""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        cls = ErrorClass.TRANSIENT if http_status >= 500 or http_status == 429 else ErrorClass.GARBAGE
        return ApiError(cls, f"HTTP {http_status} without a Graph error envelope", http_status=http_status)
    code = err.get("code") if isinstance(err.get("code"), int) else None
    subcode = err.get("error_subcode") if isinstance(err.get("error_subcode"), int) else None
    message = redact(str(err.get("message", "")))[:500]
    if code in _TRANSIENT_CODES or err.get("is_transient") is True:
        cls = ErrorClass.TRANSIENT
    elif code in _THROTTLE_CODES:
        cls = ErrorClass.THROTTLED
    elif code in _AUTH_CODES:
        cls = ErrorClass.AUTH
    elif code in _PERMISSION_CODES:
        cls = ErrorClass.PERMISSION
    elif code == 100 and "metric" in message.lower() and (
        "valid insights metric" in message or "must be one of the following" in message
    ):
        cls = ErrorClass.RETIRED_METRIC
    elif http_status >= 500:
        cls = ErrorClass.TRANSIENT
    else:
        cls = ErrorClass.INVALID_REQUEST
    return ApiError(
        cls,
        f"({code}/{subcode}) {message}" if subcode else f"({code}) {message}",
        http_status=http_status,
        code=code,
        subcode=subcode,
        fbtrace_id=err.get("fbtrace_id"),
    )


def one_line_json(text: Any) -> str | None:
    """`text` (JSON that decoded fine) when a landing line may carry it as is, else None.

    Only ASCII without raw line breaks: a landing file is one record per line, and the loader
    splits lines; `json.dumps` (the fallback) escapes everything else the same way."""
    return text if isinstance(text, str) and text.isascii() and "\n" not in text and "\r" not in text else None


@dataclass
class ApiResponse:
    """A successful response with the metadata that is landed next to the body."""

    url: str  # redacted, without the query string
    params: dict[str, Any]  # redacted
    http_status: int
    fetched_at: datetime
    usage_headers: dict[str, Any]
    body: Any
    attempts: int = 1
    # The JSON text `body` was decoded from, when the landing may write it as is instead of
    # encoding `body` again (one line of text: no raw line breaks); None: encode `body`.
    body_text: str | None = None


@dataclass
class HttpStats:
    """Counters for run reports and benchmarks."""

    round_trips: int = 0
    retries: int = 0
    slowdowns: int = 0  # usage readings above SLOWDOWN_FROM_PERCENT (app-wide or per account)
    errors: dict[str, int] = field(default_factory=dict)
    # Seconds requests waited before being sent, by what they waited for: "app" (X-App-Usage) or
    # the business object (Page / IG user id) whose usage was high.
    paced_s: dict[str, float] = field(default_factory=dict)


_USAGE_HEADERS = ("x-app-usage", "x-business-use-case-usage", "x-page-usage", "x-ad-account-usage")


def _usage(headers: requests.structures.CaseInsensitiveDict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _USAGE_HEADERS:
        if name in headers:
            try:
                out[name] = json.loads(headers[name])
            except ValueError:
                out[name] = headers[name]
    return out


def _server_time(headers: requests.structures.CaseInsensitiveDict) -> datetime:
    """The response's `Date` header (the platform's clock), else ours.

    The platform's clock decides which day a "current" snapshot such as `followers_count` belongs
    to, so it is preferred over the local clock.
    """
    try:
        return parsedate_to_datetime(headers["Date"]).astimezone(UTC)
    except (KeyError, TypeError, ValueError):
        return datetime.now(UTC)


def class_of_status(http_status: int) -> ErrorClass:
    """What an HTTP error status says on its own, when the body names nothing more specific."""
    if http_status == 401:
        return ErrorClass.AUTH
    if http_status == 403:
        return ErrorClass.PERMISSION
    if http_status == 429:
        return ErrorClass.THROTTLED
    return ErrorClass.TRANSIENT if http_status >= 500 else ErrorClass.INVALID_REQUEST


def classify_google_error(http_status: int, body: Any) -> ApiError:
    """Turn a Google API (YouTube Data/Analytics, OAuth) error response into an ApiError."""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        if isinstance(err, str):  # OAuth endpoints: {"error": "invalid_grant", ...}
            return ApiError(ErrorClass.AUTH, f"OAuth error {err}", http_status=http_status)
        cls = ErrorClass.TRANSIENT if http_status >= 500 or http_status == 429 else ErrorClass.GARBAGE
        return ApiError(cls, f"HTTP {http_status} without a Google error envelope", http_status=http_status)
    reasons = {e.get("reason") for e in err.get("errors", []) if isinstance(e, dict)}
    message = redact(str(err.get("message", "")))[:500]
    if http_status != 401 and reasons & {"quotaExceeded", "dailyLimitExceeded"}:
        # The daily quota resets at midnight Pacific: retrying within this run cannot help.
        cls = ErrorClass.PERMISSION
        message = f"quota exhausted until midnight PT: {message}"
    elif http_status != 401 and reasons & {"rateLimitExceeded", "userRateLimitExceeded"}:
        cls = ErrorClass.THROTTLED
    else:
        cls = class_of_status(http_status)
    return ApiError(cls, f"({http_status}) {message}", http_status=http_status, code=err.get("code"))


# Above this share (percent) of any rate-limit counter the client slows down, before Meta throttles.
SLOWDOWN_FROM_PERCENT = 75.0
MAX_SLOWDOWN_S = 5.0
APP = "app"  # pacing key of the app-wide limit


def _slowdown_s(peak: float) -> float:
    """Pause after a usage reading of `peak` percent: 0 up to 75 %, rising to MAX_SLOWDOWN_S at 100 %."""
    if peak <= SLOWDOWN_FROM_PERCENT:
        return 0.0
    return MAX_SLOWDOWN_S * min(1.0, (peak - SLOWDOWN_FROM_PERCENT) / (100 - SLOWDOWN_FROM_PERCENT))


def _explicit_credentials_only(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """The session's auth: adds nothing (and so stops requests from reading ~/.netrc)."""
    return request


class HttpClient:
    """A `requests.Session` with retries, backoff, pacing and classification, shared by all platforms.

    Thread-safe for concurrent requests (requests' connection pool is). Pacing follows the scope of
    each usage counter (PLATFORM_APIS.md §4.2): `X-App-Usage` is app-wide, so when it approaches
    the limit every worker slows down; `X-Business-Use-Case-Usage` (keyed by Page / IG user id) and
    `X-Page-Usage` are per business object, so a hot account only slows the requests about that
    account (`send(..., pace_keys=(account_id,))`) and the other accounts go on at full speed.
    """

    def __init__(
        self,
        *,
        timeout_s: float = 30.0,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 60.0,
        secrets: tuple[str, ...] = (),
        max_body_bytes: int = 50 * 1024 * 1024,
        max_response_s: float | None = None,
    ) -> None:
        self.session = requests.Session()
        # Credentials are explicit (tokens in params or headers): without a session auth, requests
        # looks for a ~/.netrc entry before every request (stat calls, ~4 % of a backfill's fetch).
        # Proxy settings from the environment still apply.
        self.session.auth = _explicit_credentials_only
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=64)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.secrets = secrets
        self.max_body_bytes = max_body_bytes
        # The whole response must arrive within this (a server trickling a byte per second never
        # trips the per-read timeout): default 4x the timeout.
        self.max_response_s = max_response_s if max_response_s is not None else 4 * timeout_s
        self.stats = HttpStats()
        self._lock = threading.Lock()
        self._pause_until = 0.0  # app-wide (monotonic deadline)
        self._object_pause_until: dict[str, float] = {}  # per business object id

    def add_secrets(self, values) -> None:
        """More values to mask in error messages (e.g. access tokens minted during the run)."""
        with self._lock:
            self.secrets = tuple(dict.fromkeys((*self.secrets, *(v for v in values if v))))

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    def backoff(self, attempt: int, error: ApiError) -> float:
        """Seconds to wait before retry number `attempt` (0-based) after `error`."""
        if error.retry_after_s is not None:
            return min(error.retry_after_s, self.backoff_cap_s)
        delay = min(self.backoff_cap_s, self.backoff_base_s * 2**attempt)
        return delay * (0.5 + random.random() / 2)  # jitter: spread retries of parallel workers

    def _count_error(self, error: ApiError) -> None:
        with self._lock:
            self.stats.errors[str(error.error_class)] = self.stats.errors.get(str(error.error_class), 0) + 1

    def send(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        classify=classify_meta_error,
        retries: int | None = None,
        pace_keys: Iterable[str] = (),
    ) -> ApiResponse:
        """Send a request; retry retryable failures with backoff; raise ApiError for the rest.

        `pace_keys`: the business objects (account ids) the request is about: it waits while one of
        them (or the app) is over the slowdown threshold, and a per-object usage header without an
        object id (`X-Page-Usage`) is attributed to the single key given.
        """
        attempt = 0
        max_retries = self.max_retries if retries is None else retries
        keys = tuple(dict.fromkeys(pace_keys))
        while True:
            try:
                return self._send_once(method, url, params or {}, data, headers or {}, classify, attempt + 1, keys)
            except ApiError as error:
                self._count_error(error)
                if error.error_class not in RETRYABLE or attempt >= max_retries:
                    raise
                time.sleep(self.backoff(attempt, error))
                attempt += 1
                with self._lock:
                    self.stats.retries += 1

    def get_meta(self, url: str, params: dict[str, Any]) -> ApiResponse:
        """GET a Graph API URL (kept for callers that do not batch)."""
        return self.send("GET", url, params=params)

    def pause_remaining(self, key: str | None = None) -> float:
        """Seconds a request about `key` (None: about no account) would wait now."""
        with self._lock:
            return max(0.0, self._deadline((key,) if key else ())[1] - time.monotonic())

    def own_pause_remaining(self, key: str) -> float:
        """Seconds `key`'s own usage holds its requests beyond the app-wide pause (0: not hot)."""
        with self._lock:
            return max(0.0, self._object_pause_until.get(key, 0.0) - max(self._pause_until, time.monotonic()))

    def _deadline(self, keys: tuple[str, ...]) -> tuple[str, float]:
        """(what, monotonic deadline) a request about `keys` waits for; call with the lock held."""
        what, until = APP, self._pause_until
        for key in keys:
            if self._object_pause_until.get(key, 0.0) > until:
                what, until = key, self._object_pause_until[key]
        return what, until

    def _pace(self, keys: tuple[str, ...] = ()) -> None:
        with self._lock:
            what, until = self._deadline(keys)
        delay = until - time.monotonic()
        if delay > 0:
            time.sleep(delay)
            with self._lock:
                self.stats.paced_s[what] = self.stats.paced_s.get(what, 0.0) + delay

    def observe_usage(self, usage: dict[str, Any], account: str | None = None) -> None:
        """Slow down as usage counters approach their limit, in the counter's own scope: the app
        (X-App-Usage: every request), a business object (X-Business-Use-Case-Usage, keyed by object
        id; X-Page-Usage, attributed to `account`: that object's requests only).

        A per-object reading that names no object and comes without `account` paces the whole
        client (the safe side).
        """
        now = time.monotonic()
        pauses: dict[str | None, float] = {}

        def note(key: str | None, peak: float) -> None:
            pause = _slowdown_s(peak)
            if pause > 0:
                pauses[key] = max(pauses.get(key, 0.0), pause)

        note(None, _counters_peak(usage.get("x-app-usage")))
        buc = usage.get("x-business-use-case-usage")
        if isinstance(buc, dict):
            for obj, entries in buc.items():
                note(str(obj), max((_counters_peak(e) for e in entries if isinstance(e, dict)), default=0.0)
                     if isinstance(entries, list) else 0.0)
        note(account, _counters_peak(usage.get("x-page-usage")))
        if not pauses:
            return
        with self._lock:
            for key, pause in pauses.items():
                if key is None:
                    self._pause_until = max(self._pause_until, now + pause)
                else:
                    self._object_pause_until[key] = max(self._object_pause_until.get(key, 0.0), now + pause)
                self.stats.slowdowns += 1
            if len(self._object_pause_until) > 1024:  # forget deadlines that have passed
                self._object_pause_until = {k: v for k, v in self._object_pause_until.items() if v > now}

    def _read_body(self, resp: requests.Response, deadline: float) -> bytes:
        """At most `max_body_bytes + 1` bytes of the body, read before `deadline` (monotonic)."""
        chunks, size = [], 0
        try:
            while size <= self.max_body_bytes:
                if time.monotonic() > deadline:
                    raise ApiError(ErrorClass.TRANSIENT, f"response not complete after {self.max_response_s:.0f} s",
                                   http_status=resp.status_code)
                chunk = resp.raw.read1(min(1 << 16, self.max_body_bytes + 1 - size), decode_content=True)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            resp.close()
        return b"".join(chunks)

    def _transport_reason(self, exc: BaseException) -> tuple[str, str]:
        """("unreachable" | "broken", what went wrong on the wire in words a person can act on)."""
        kinds = tuple(type(c) for c in _causes(exc))

        def has(*types: type) -> bool:
            return any(issubclass(k, types) for k in kinds)

        if has(requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema, requests.exceptions.InvalidURL,
               urllib3.exceptions.LocationParseError):
            return "unreachable", "not a usable http(s) URL"
        if has(urllib3.exceptions.NameResolutionError, socket.gaierror):
            return "unreachable", "host name not found"
        if has(ConnectionRefusedError):
            return "unreachable", "connection refused"
        if has(requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError):
            return "unreachable", f"no connection within {self.timeout_s:g} s"
        if has(requests.exceptions.SSLError, ssl.SSLError):
            return "unreachable", "TLS handshake failed"
        if has(requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError):
            return "broken", f"no answer within {self.timeout_s:g} s"
        if has(ConnectionResetError, ConnectionAbortedError, BrokenPipeError, http.client.RemoteDisconnected):
            return "broken", "connection closed by the server"
        if has(urllib3.exceptions.ProtocolError, http.client.IncompleteRead, requests.exceptions.ChunkedEncodingError):
            return "broken", "connection broken in the middle of the answer"
        return "broken", type(exc).__name__

    def _send_once(self, method, url, params, data, headers, classify, attempts, pace_keys=()) -> ApiResponse:
        self._pace(pace_keys)
        with self._lock:
            self.stats.round_trips += 1
        deadline = time.monotonic() + self.max_response_s
        try:
            resp = self.session.request(method, url, params=params, data=data, headers=headers,
                                        timeout=self.timeout_s, stream=True)
            content = self._read_body(resp, deadline)
        except (requests.RequestException, OSError, http.client.HTTPException, urllib3.exceptions.HTTPError) as exc:
            # urllib3 errors (a read timeout or reset in the middle of the body) are not wrapped by requests.
            # Said in one short line naming only the host (requests' own message holds the whole URL with
            # the token, and a nest of urllib3 reprs a person cannot act on).
            kind, reason = self._transport_reason(exc)
            raise ApiError(ErrorClass.TRANSIENT, redact(f"cannot reach {_origin(url)}: {reason}", self.secrets),
                           transport=kind) from None
        if len(content) > self.max_body_bytes:
            raise ApiError(ErrorClass.GARBAGE, f"response larger than {self.max_body_bytes} bytes",
                           http_status=resp.status_code)
        try:
            body = json.loads(content)
        except ValueError:
            body = None
        usage = _usage(resp.headers)
        self.observe_usage(usage, pace_keys[0] if len(pace_keys) == 1 else None)
        if resp.status_code == 200 and body is not None and not (isinstance(body, dict) and "error" in body):
            return ApiResponse(
                url=redact(url, self.secrets),
                params=redact_params(params),
                http_status=resp.status_code,
                fetched_at=_server_time(resp.headers),
                usage_headers=usage,
                body=body,
                attempts=attempts,
            )
        if body is None:
            cls = ErrorClass.TRANSIENT if resp.status_code >= 500 or resp.status_code == 429 else ErrorClass.GARBAGE
            raise ApiError(cls, f"HTTP {resp.status_code}: response is not JSON", http_status=resp.status_code,
                           retry_after_s=_regain_seconds(resp.headers))
        error = classify(resp.status_code, body)
        error.args = (redact(str(error), self.secrets),)  # a server may echo the bare token in its message
        if error.error_class is ErrorClass.THROTTLED:
            error.retry_after_s = _regain_seconds(resp.headers)
        raise error


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL: where a request went, without path or query (no token)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}" if parts.netloc else "the API"


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and everything it wraps (exception chains and urllib3's `reason`), outermost first."""
    out: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop(0)
        if item is None or any(item is seen for seen in out):
            continue
        out.append(item)
        todo.extend([item.__cause__, item.__context__, getattr(item, "reason", None),
                     *(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))])
    return out


def _as_float(value: Any) -> float:
    """A usage counter as a finite number; anything else (a platform bug, a proxy's header) counts as 0."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0.0
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return 0.0
    return number if math.isfinite(number) else 0.0


_COUNTERS = ("call_count", "total_cputime", "total_time")


def _counters_peak(counters: Any) -> float:
    """The highest of Meta's three percent counters in one usage object (0 when absent or malformed)."""
    if not isinstance(counters, dict):
        return 0.0
    return max((_as_float(counters.get(k)) for k in _COUNTERS), default=0.0)


def regain_seconds_from_buc(buc: Any) -> float | None:
    """Seconds until access is regained per a parsed X-Business-Use-Case-Usage (None: unknown/malformed)."""
    if not isinstance(buc, dict):
        return None
    minutes = max((_as_float(e.get("estimated_time_to_regain_access")) for v in buc.values()
                   if isinstance(v, list) for e in v if isinstance(e, dict)), default=0.0)
    return minutes * 60.0 if minutes > 0 else None


def _regain_seconds(headers: requests.structures.CaseInsensitiveDict) -> float | None:
    """Meta's `estimated_time_to_regain_access` (minutes) or `Retry-After` (seconds), if any.

    Only finite, non-negative values: a `Retry-After: -5` or `nan` must not reach `time.sleep`.
    """
    if "Retry-After" in headers:
        seconds = _as_float(headers["Retry-After"])
        if seconds > 0 or headers["Retry-After"].strip() in ("0", "0.0"):
            return seconds
    raw = headers.get("x-business-use-case-usage")
    if raw:
        try:
            return regain_seconds_from_buc(json.loads(raw))
        except ValueError:
            return None
    return None
