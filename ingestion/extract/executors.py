"""Executors: how a round of request specs reaches a platform's API.

- `GraphExecutor` packs Graph API calls into batch requests (up to 50 sub-requests per POST,
  grouped by token) and sends several batches concurrently. Each sub-request succeeds or fails on
  its own, so one account's error never affects another account in the same batch. An account whose
  own usage (Business Use Case / Page usage) is high gets batches of its own, so its slowdown never
  holds back the other accounts' calls (`HttpClient` paces per account; app usage paces everyone).
- `BearerExecutor` sends plain authorised GETs concurrently (YouTube, Snapchat: no equivalent batching
  for these APIs).
Both return one outcome per spec: an `ApiResponse` or a classified `ApiError`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any
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
    regain_seconds_from_buc,
)
from ingestion.sources import RequestSpec

# Meta's limit (PLATFORM_APIS.md §4.3): more sub-requests fail the whole batch.
MAX_BATCH = 50

Outcome = ApiResponse | ApiError


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
        if not self.settings.graph_batch:
            with ThreadPoolExecutor(max_workers=max(1, self.settings.fetch_concurrency)) as pool:
                return list(pool.map(lambda item: self._single(*item), items))
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
        outcomes: list[Outcome | None] = [None] * len(items)
        with ThreadPoolExecutor(max_workers=max(1, self.settings.fetch_concurrency)) as pool:
            for indexes, results in pool.map(lambda b: (b[1], self._batch(b[0], [items[i][0] for i in b[1]])),
                                              batches):
                for index, outcome in zip(indexes, results, strict=True):
                    outcomes[index] = outcome
        return [o for o in outcomes if o is not None]

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
                               fetched_at=batch.fetched_at, usage_headers=usage or batch.usage_headers, body=body)
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
        with ThreadPoolExecutor(max_workers=max(1, self.settings.fetch_concurrency)) as pool:
            return list(pool.map(lambda item: self._one(*item), items))

    def _one(self, spec: RequestSpec, token: str) -> Outcome:
        url = f"{self.bases[spec.base]}/{spec.path}"
        try:
            # Retries happen in the fetch engine's rounds, so each round trip is one attempt here.
            return self.client.send("GET", url, params=spec.params, headers={"Authorization": f"Bearer {token}"},
                                    classify=self.classifiers.get(spec.base, classify_google_error), retries=0,
                                    pace_keys=(spec.account_id,))
        except ApiError as error:
            return error
