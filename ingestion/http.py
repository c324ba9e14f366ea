"""One HTTP layer for every platform: timeouts, retries with backoff, error classification.

Errors are classified once, here, from the platform's own error envelope (Meta: `error.code`,
`error_subcode`; HTTP status is not reliable), so callers decide by class: transient and throttled
errors are retried, auth/permission/invalid-request errors fail fast, a retired metric degrades
alone. Every message that leaves this module is redacted.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import requests

from ingestion.redact import redact, redact_params

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
    ) -> None:
        super().__init__(message)
        self.error_class = error_class
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


@dataclass
class HttpStats:
    """Counters for run reports and benchmarks."""

    round_trips: int = 0
    retries: int = 0
    errors: dict[str, int] = field(default_factory=dict)


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


class HttpClient:
    """A `requests.Session` with retries, backoff and classification, shared by all platforms."""

    def __init__(
        self,
        *,
        timeout_s: float = 30.0,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 60.0,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.secrets = secrets
        self.stats = HttpStats()

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()

    def _backoff(self, attempt: int, error: ApiError) -> float:
        if error.retry_after_s is not None:
            return min(error.retry_after_s, self.backoff_cap_s)
        delay = min(self.backoff_cap_s, self.backoff_base_s * 2**attempt)
        return delay * (0.5 + random.random() / 2)  # jitter: spread retries of parallel workers

    def get_meta(self, url: str, params: dict[str, Any]) -> ApiResponse:
        """GET a Graph API URL; retry retryable failures, raise ApiError for the rest."""
        attempt = 0
        while True:
            try:
                return self._get_meta_once(url, params, attempt + 1)
            except ApiError as error:
                self.stats.errors[str(error.error_class)] = self.stats.errors.get(str(error.error_class), 0) + 1
                if error.error_class not in RETRYABLE or attempt >= self.max_retries:
                    raise
                time.sleep(self._backoff(attempt, error))
                attempt += 1
                self.stats.retries += 1

    def _get_meta_once(self, url: str, params: dict[str, Any], attempts: int) -> ApiResponse:
        self.stats.round_trips += 1
        try:
            resp = self.session.get(url, params=params, timeout=self.timeout_s)
        except requests.RequestException as exc:
            # requests puts the full URL (with the token) into some messages: redact.
            raise ApiError(ErrorClass.TRANSIENT, redact(f"{type(exc).__name__}: {exc}", self.secrets)) from None
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code == 200 and isinstance(body, dict) and "error" not in body:
            return ApiResponse(
                url=redact(url, self.secrets),
                params=redact_params(params),
                http_status=resp.status_code,
                fetched_at=_server_time(resp.headers),
                usage_headers=_usage(resp.headers),
                body=body,
                attempts=attempts,
            )
        if body is None:
            cls = ErrorClass.TRANSIENT if resp.status_code >= 500 or resp.status_code == 429 else ErrorClass.GARBAGE
            raise ApiError(cls, f"HTTP {resp.status_code}: response is not JSON", http_status=resp.status_code)
        if resp.status_code == 200 and not isinstance(body, dict):
            raise ApiError(ErrorClass.GARBAGE, "HTTP 200 with a non-object JSON body", http_status=200)
        error = classify_meta_error(resp.status_code, body)
        if error.error_class is ErrorClass.THROTTLED:
            error.retry_after_s = _regain_seconds(resp.headers)
        raise error


def _regain_seconds(headers: requests.structures.CaseInsensitiveDict) -> float | None:
    """Meta's `estimated_time_to_regain_access` (minutes) or `Retry-After` (seconds), if any."""
    if "Retry-After" in headers:
        try:
            return float(headers["Retry-After"])
        except ValueError:
            pass
    raw = headers.get("x-business-use-case-usage")
    if raw:
        try:
            usage = json.loads(raw)
            minutes = max(
                (e.get("estimated_time_to_regain_access", 0) for v in usage.values() for e in v), default=0
            )
            return float(minutes) * 60.0 if minutes else None
        except (ValueError, AttributeError, TypeError):
            return None
    return None
