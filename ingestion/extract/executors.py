"""Executors: how a round of request specs reaches a platform's API.

- `GraphExecutor` packs Graph API calls into batch requests (up to 50 sub-requests per POST,
  grouped by token) and sends several batches concurrently. Each sub-request succeeds or fails on
  its own, so one account's error never affects another account in the same batch. An account whose
  own usage (Business Use Case / Page usage) is high gets batches of its own, so its slowdown never
  holds back the other accounts' calls (`HttpClient` paces per account; app usage paces everyone).
- `BearerExecutor` sends plain authorised GETs concurrently (YouTube, Snapchat: no equivalent batching
  for these APIs).
Both give one outcome per spec: an `ApiResponse` or a classified `ApiError`, all at once
(`execute`) or as the calls complete (`stream`, which keeps only a few batches of answers in memory
at a time: a two-year backfill round holds ~73,000 calls for 50 Instagram accounts).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urlencode

from ingestion.core.redact import redact, redact_params
from ingestion.core.settings import Settings
from ingestion.extract.http import (
    ApiError,
    ApiResponse,
    ErrorClass,
    HttpClient,
    class_of_status,
    classify_google_error,
    classify_meta_error,
    one_line_json,
    regain_seconds_from_buc,
)
from ingestion.sources import RequestSpec

# Meta's limit (PLATFORM_APIS.md §4.3): more sub-requests fail the whole batch.
MAX_BATCH = 50

Outcome = ApiResponse | ApiError
# Tasks (batches or single calls) in flight or answered but not yet taken, per worker thread.
WINDOW_PER_WORKER = 4

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(fn: Callable[[T], R], tasks: Iterable[T], workers: int) -> Iterator[R]:
    """`fn` over `tasks` on `workers` threads, results in task order, never more than
    `WINDOW_PER_WORKER * workers` tasks submitted ahead of the consumer.

    `ThreadPoolExecutor.map` submits every task at once and keeps every answer until it is taken:
    a round's answers then pile up whole when the consumer is slower than the network.
    """
    window = max(1, workers) * WINDOW_PER_WORKER
    todo = iter(tasks)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        pending = deque(pool.submit(fn, task) for _, task in zip(range(window), todo, strict=False))
        try:
            while pending:
                result = pending.popleft().result()
                for task in todo:  # keep the pool busy while the consumer works
                    pending.append(pool.submit(fn, task))
                    break
                yield result
        finally:
            for future in pending:
                future.cancel()


def appsecret_proof(token: str, app_secret: str) -> str:
    """HMAC-SHA256 of the token keyed by the app secret (Meta's `appsecret_proof`)."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


class GraphExecutor:
    """Sends Graph API specs as batch requests."""

    def __init__(self, settings: Settings, client: HttpClient) -> None:
        self.settings = settings
        self.client = client
        self.url = f"{settings.graph_url.rstrip('/')}/{settings.graph_api_version}/"
        self._proofs: dict[str, str] = {}

    def _proof(self, token: str) -> str | None:
        """`appsecret_proof` for a token (None without an app secret), registered once with the
        client's secrets so that a server echoing it bare never gets it into an error message."""
        secret = self.settings.meta_app_secret
        if secret is None:
            return None
        proof = self._proofs.get(token)
        if proof is None:
            proof = self._proofs[token] = appsecret_proof(token, secret.get_secret_value())
            self.client.add_secrets((proof,))
        return proof

    def execute(self, items: list[tuple[RequestSpec, str]]) -> list[Outcome]:
        """Outcomes for (spec, token) pairs, in the same order."""
        outcomes: list[Outcome | None] = [None] * len(items)
        for indexes, results in self.stream(items):
            for index, outcome in zip(indexes, results, strict=True):
                outcomes[index] = outcome
        return [o for o in outcomes if o is not None]

    def stream(self, items: list[tuple[RequestSpec, str]]) -> Iterator[tuple[list[int], list[Outcome]]]:
        """(indexes into `items`, their outcomes), one batch (or call) at a time as they complete."""
        workers = self.settings.fetch_concurrency
        if not self.settings.graph_batch:
            yield from ordered_map(lambda i: ([i], [self._single(*items[i])]), range(len(items)), workers)
            return
        # Group by token and by pacing: calls of accounts that may go now share batches; an account
        # that must wait for its own usage to drop gets batches of its own (sent last), so a batch
        # never waits for an account it does not carry.
        groups: dict[tuple[str, str], list[int]] = {}
        for index, (spec, token) in enumerate(items):
            hot = spec.account_id if self.client.own_pause_remaining(spec.account_id) > 0 else ""
            groups.setdefault((token, hot), []).append(index)
        ordered = sorted(groups.items(), key=lambda g: (g[0][1] != "", self.client.pause_remaining(g[0][1] or None)))
        batches = [
            (token, indexes[i : i + MAX_BATCH]) for (token, _), indexes in ordered
            for i in range(0, len(indexes), MAX_BATCH)
        ]
        yield from ordered_map(lambda b: (b[1], self._batch(b[0], [items[i][0] for i in b[1]])), batches, workers)

    def _single(self, spec: RequestSpec, token: str) -> Outcome:
        """One plain GET (batching off): the same outcome a batch sub-request would give."""
        params = {**spec.params, "access_token": token}
        if proof := self._proof(token):
            params["appsecret_proof"] = proof
        try:
            return self.client.send("GET", f"{self.url}{spec.path}", params=params, retries=0,
                                    pace_keys=(spec.account_id,))
        except ApiError as error:
            return error

    def _batch(self, token: str, specs: list[RequestSpec]) -> list[Outcome]:
        calls = [{"method": "GET", "relative_url": f"{s.path}?{urlencode(s.params)}"} for s in specs]
        data: dict[str, Any] = {"batch": json.dumps(calls), "access_token": token, "include_headers": "true"}
        if proof := self._proof(token):
            data["appsecret_proof"] = proof
        try:
            resp = self.client.send("POST", self.url, data=data, pace_keys=[s.account_id for s in specs])
        except ApiError as error:
            return [error] * len(specs)
        if not isinstance(resp.body, list) or len(resp.body) != len(specs):
            error = ApiError(ErrorClass.GARBAGE, "batch response does not have one answer per sub-request")
            return [error] * len(specs)
        return [self._sub_outcome(spec, sub, resp) for spec, sub in zip(specs, resp.body, strict=True)]

    def _sub_outcome(self, spec: RequestSpec, sub: Any, batch: ApiResponse) -> Outcome:
        if not isinstance(sub, dict):  # Meta answers null for a sub-request that timed out
            return ApiError(ErrorClass.TRANSIENT, "sub-request without an answer (timed out in the batch)")
        code = sub.get("code")
        if not isinstance(code, int) or isinstance(code, bool):  # never crash the chunk on a broken batch answer
            return ApiError(ErrorClass.GARBAGE, "sub-request answer without an HTTP code")
        try:
            body = json.loads(sub.get("body") or "null")
        except (TypeError, ValueError):
            return ApiError(ErrorClass.GARBAGE, f"sub-request body is not JSON (HTTP {code})", http_status=code)
        raw_headers = sub.get("headers") if isinstance(sub.get("headers"), list) else []
        headers = {str(h.get("name", "")).lower(): h.get("value") for h in raw_headers if isinstance(h, dict)}
        usage = {}
        for name in ("x-app-usage", "x-business-use-case-usage", "x-page-usage"):
            if name in headers:
                try:
                    usage[name] = json.loads(headers[name])
                except (TypeError, ValueError):
                    usage[name] = headers[name]
        if "x-page-usage" in usage:  # per Page, and only a sub-answer says which Page it is about
            self.client.observe_usage({"x-page-usage": usage["x-page-usage"]}, spec.account_id)
        if code == 200 and isinstance(body, dict) and "error" not in body:
            return ApiResponse(url=f"{self.url}{spec.path}", params=redact_params(spec.params), http_status=200,
                               fetched_at=batch.fetched_at, usage_headers=usage or batch.usage_headers, body=body,
                               body_text=one_line_json(sub["body"]))
        error = classify_meta_error(int(code or 500), body)
        error.args = (redact(str(error), self.client.secrets),)  # a sub-answer may echo the bare token
        if error.error_class is ErrorClass.THROTTLED:
            error.retry_after_s = regain_seconds_from_buc(usage.get("x-business-use-case-usage"))
        return error


def classify_snap_error(http_status: int, body: Any) -> ApiError:
    """Snap's envelope (`request_status: ERROR`, `error_code`, `debug_message`); ASSUMED shape."""
    message = redact(str((body or {}).get("debug_message") or (body or {}).get("display_message") or ""))[:300]
    text = f"({http_status}) {(body or {}).get('error_code', '')} {message}".strip()
    return ApiError(class_of_status(http_status), text, http_status=http_status)


class BearerExecutor:
    """Sends YouTube and Snapchat specs as concurrent GETs with an OAuth bearer token."""

    def __init__(self, settings: Settings, client: HttpClient) -> None:
        self.settings = settings
        self.client = client
        self.bases = {
            "youtube_data": settings.youtube_data_url.rstrip("/"),
            "youtube_analytics": settings.youtube_analytics_url.rstrip("/"),
            "snapchat": settings.snapchat_url.rstrip("/"),
        }
        self.classifiers = {"snapchat": classify_snap_error}

    def execute(self, items: list[tuple[RequestSpec, str]]) -> list[Outcome]:
        """Outcomes for (spec, token) pairs, in the same order."""
        return [outcome for _, (outcome,) in self.stream(items)]

    def stream(self, items: list[tuple[RequestSpec, str]]) -> Iterator[tuple[list[int], list[Outcome]]]:
        """([index into `items`], [its outcome]), one call at a time in order as they complete."""
        yield from ordered_map(lambda i: ([i], [self._one(*items[i])]), range(len(items)),
                               self.settings.fetch_concurrency)

    def _one(self, spec: RequestSpec, token: str) -> Outcome:
        url = f"{self.bases[spec.base]}/{spec.path}"
        try:
            # Retries happen in the fetch engine's rounds, so each round trip is one attempt here.
            return self.client.send("GET", url, params=spec.params, headers={"Authorization": f"Bearer {token}"},
                                    classify=self.classifiers.get(spec.base, classify_google_error), retries=0,
                                    pace_keys=(spec.account_id,))
        except ApiError as error:
            return error
