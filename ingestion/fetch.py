"""Fetch: call the platform APIs for a chunk of account plans and land the responses.

The engine works in rounds. Round one holds every account's first calls; each answer may add
follow-ups (the next page, the insights of the posts just listed) to the next round, and transient
or throttled failures are retried in a later round once their own backoff has passed. A call also
waits while its own account's usage is high (per-account usage headers); neither holds back the
other accounts' calls, only app-wide usage slows everyone. The executor packs a round into as few
round trips as the platform allows (Graph batch requests of 50).

Accounts are isolated: an account whose token is expired, whose permission is missing or whose
calls keep failing is recorded as failed, and none of its responses are landed (all or nothing per
account, so the loader never sees half an account). A retired metric degrades alone: the call is
split to isolate it, it is recorded, and the account still succeeds with the other metrics. Calls
that only mean "no data for this object" (a story with too few viewers) are skipped and counted.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from ingestion import landing
from ingestion.executors import BearerExecutor, GraphExecutor
from ingestion.http import APP, RETRYABLE, ApiError, ApiResponse, ErrorClass, HttpClient
from ingestion.onboarding.youtube_oauth import OAuthError
from ingestion.plan import AccountPlan
from ingestion.platforms import FetchContext, RequestSpec, facebook, instagram, snapchat, youtube, youtube_auth
from ingestion.redact import redact
from ingestion.settings import Settings

log = logging.getLogger(__name__)

PLATFORM_MODULES = {"facebook": facebook, "instagram": instagram, "youtube": youtube, "snapchat": snapchat}
EXECUTORS = {"graph": GraphExecutor, "youtube": BearerExecutor, "bearer": BearerExecutor}


@dataclass
class FetchResult:
    """What one fetch call did (JSON-able through `to_dict`)."""

    run_id: str
    platform: str
    chunk: str
    accounts_ok: int
    accounts_failed: int
    responses: int
    round_trips: int
    sub_requests: int
    retries: int
    failures: list[dict[str, Any]]
    retired_metrics: list[str]
    # Calls to the OAuth token endpoint (YouTube refresh credentials; 0 with plain access tokens).
    token_refreshes: int = 0
    # Accounts slowed down for their own usage (per-account usage headers above 75 %), and the
    # seconds every call waited for the app-wide usage (X-App-Usage).
    paced_accounts: list[str] = field(default_factory=list)
    app_paced_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for XCom and run reports."""
        return dict(self.__dict__)


@dataclass
class _Account:
    plan: AccountPlan
    token: str | None
    # Refreshable token (YouTube refresh credential): `token` is re-read from `tokens` every round.
    tokens: youtube_auth.YouTubeTokens | None = None
    generation: int = 0  # generation of `token` (which one a 401 refers to)
    paced: bool = False  # calls held back for this account's own usage
    records: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    skipped: int = 0
    retired: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None

    def status(self) -> dict[str, Any]:
        return {
            "platform": self.plan.platform, "account_id": self.plan.account_id, "since": self.plan.since,
            "until": self.plan.until, "status": "failed" if self.error else "ok", "requests": self.requests,
            "skipped_objects": self.skipped, "retired_metrics": sorted(set(self.retired)), "error": self.error,
        }


def _response_id(run_id: str, spec: RequestSpec) -> str:
    return hashlib.sha1(f"{run_id}|{spec.key()}".encode()).hexdigest()[:20]


def _record(run_id: str, settings: Settings, spec: RequestSpec, resp: ApiResponse) -> dict[str, Any]:
    return {
        "response_id": _response_id(run_id, spec),
        "platform": spec.platform,
        "account_id": spec.account_id,
        "endpoint": spec.endpoint,
        "object_type": spec.object_type,
        "object_id": spec.object_id or spec.account_id,
        "url": resp.url,
        "params": resp.params,
        "api_version": settings.graph_api_version if spec.base == "graph" else spec.base,
        "http_status": resp.http_status,
        "fetched_at": resp.fetched_at,
        "usage_headers": resp.usage_headers,
        "body": resp.body,
    }


def fetch_chunk(
    settings: Settings, run_id: str, chunk: str, plans: list[AccountPlan], ctx: FetchContext | None = None
) -> FetchResult:
    """Fetch every plan of one platform chunk and land the result."""
    platforms = {p.platform for p in plans}
    if len(platforms) > 1:
        raise ValueError(f"a chunk holds one platform, got {sorted(platforms)}")
    platform = platforms.pop() if platforms else "none"
    module = PLATFORM_MODULES.get(platform)
    ctx = ctx or FetchContext(as_of=max((p.until for p in plans), default=None))
    accounts = {}
    for plan in plans:
        token = settings.token_for(plan.token_env, plan.platform)
        accounts[plan.account_id] = _Account(plan, token.get_secret_value() if token else None)
    secrets = tuple(a.token for a in accounts.values() if a.token)
    client = HttpClient(timeout_s=settings.http_timeout_s, max_retries=settings.http_max_retries, secrets=secrets)
    tokens = None
    try:
        if platform == "youtube":
            tokens = _youtube_tokens(settings, client, accounts)
        if module is not None:
            _run_rounds(settings, run_id, module, ctx, accounts, client)
    finally:
        client.close()
    if tokens is not None:
        secrets = tuple(dict.fromkeys((*secrets, *tokens.secrets())))

    records = [r for a in accounts.values() if a.error is None for r in a.records]
    statuses = [a.status() for a in accounts.values()]
    for status in statuses:  # the error travels into the landing status file too
        if status["error"]:
            status["error"] = {**status["error"], "message": redact(str(status["error"].get("message", "")), secrets)}
    landing.write_chunk(settings.landing_dir, run_id, platform, chunk, records, statuses)
    failures = [{"account_id": s["account_id"], **s["error"]} for s in statuses if s["error"]]
    return FetchResult(
        run_id=run_id, platform=platform, chunk=chunk,
        accounts_ok=sum(1 for s in statuses if not s["error"]), accounts_failed=len(failures),
        responses=len(records), round_trips=client.stats.round_trips,
        sub_requests=sum(a.requests for a in accounts.values()), retries=client.stats.retries,
        failures=failures, retired_metrics=sorted({m for a in accounts.values() for m in a.retired}),
        token_refreshes=tokens.refreshes if tokens is not None else 0,
        paced_accounts=sorted({a.plan.account_id for a in accounts.values() if a.paced}
                              | {k for k in client.stats.paced_s if k in accounts}),
        app_paced_s=round(client.stats.paced_s.get(APP, 0.0), 3),
    )


def _youtube_tokens(settings: Settings, client: HttpClient,
                    accounts: dict[str, _Account]) -> youtube_auth.YouTubeTokens | None:
    """Attach refresh credentials to the channels they cover (their plain token is then unused)."""
    try:
        tokens = youtube_auth.YouTubeTokens.from_settings(settings, client)
    except OAuthError as error:  # a broken secrets file fails the channels, never the run
        message = redact(f"YouTube credentials unusable: {error}")
        for account in accounts.values():
            account.error = {"error_class": str(ErrorClass.AUTH), "message": message, "endpoint": "oauth_token"}
        log.warning("%s", message)
        return None
    for account in accounts.values():
        if tokens.credential_for(account.plan.account_id) is not None:
            account.tokens, account.token = tokens, None
    return tokens


def _refresh_tokens(accounts: dict[str, _Account], queued) -> None:
    """Give every account with queued calls a valid token from its refresh credential (cached)."""
    for account_id in dict.fromkeys(item[0].account_id for item in queued):
        account = accounts[account_id]
        if account.tokens is None or account.error is not None:
            continue
        try:
            account.token, account.generation = account.tokens.token(account_id)
        except ApiError as error:
            account.error = {**error.summary(), "endpoint": "oauth_token"}
            log.warning("%s:%s has no access token: %s", account.plan.platform, account_id, error)


def _ready_split(queue: list[tuple[RequestSpec, int, float]], client: HttpClient
                 ) -> tuple[list[tuple[RequestSpec, int]], list[tuple[RequestSpec, int, float]], float]:
    """(calls that may go now, calls that wait, when the next waiting one may go: monotonic).

    A call waits for its own retry backoff and for its own account's usage slowdown; the app-wide
    slowdown is applied when sending (it holds everyone alike). So a throttled or hot account's
    calls never hold back the next round of the other accounts.
    """
    now = time.monotonic()
    account_wait: dict[str, float] = {}
    ready, waiting, next_at = [], [], float("inf")
    for spec, attempt, not_before in queue:
        if spec.account_id not in account_wait:
            account_wait[spec.account_id] = client.own_pause_remaining(spec.account_id)
        at = max(not_before, now + account_wait[spec.account_id])
        if at <= now:
            ready.append((spec, attempt))
        else:
            waiting.append((spec, attempt, not_before))
            next_at = min(next_at, at)
    return ready, waiting, next_at


def _run_rounds(settings, run_id, module, ctx, accounts: dict[str, _Account], client: HttpClient) -> None:
    executor = EXECUTORS[module.API](settings, client)
    # (call, attempt, not before: monotonic seconds) -- retries carry their own backoff
    queue: list[tuple[RequestSpec, int, float]] = []
    for account in accounts.values():
        if account.error is not None:
            continue
        if account.token is None and account.tokens is None:
            account.error = {"error_class": str(ErrorClass.AUTH), "message": "no token configured for this account"}
            continue
        queue.extend((spec, 0, 0.0) for spec in module.requests_for(account.plan, ctx))
    while queue:
        queue = [item for item in queue if accounts[item[0].account_id].error is None]
        if not queue:
            break
        round_items, queue, next_at = _ready_split(queue, client)
        for spec, _, _ in queue:
            if not accounts[spec.account_id].paced and client.own_pause_remaining(spec.account_id) > 0:
                accounts[spec.account_id].paced = True
        if not round_items:
            time.sleep(max(0.0, next_at - time.monotonic()))
            continue
        _refresh_tokens(accounts, round_items)
        round_items = [(spec, attempt) for spec, attempt in round_items if accounts[spec.account_id].error is None]
        if not round_items:
            continue
        used = {spec.account_id: accounts[spec.account_id].generation for spec, _ in round_items}
        outcomes = executor.execute([(spec, accounts[spec.account_id].token) for spec, _ in round_items])
        for (spec, attempt), outcome in zip(round_items, outcomes, strict=True):
            account = accounts[spec.account_id]
            if account.error is not None:
                continue
            account.requests += 1
            if isinstance(outcome, ApiResponse):
                account.records.append(_record(run_id, settings, spec, outcome))
                queue.extend((follow, 0, 0.0) for follow in module.follow_ups(spec, outcome.body, ctx))
                continue
            if _renewed_after_401(account, outcome, used[spec.account_id]):
                queue.append((spec, attempt, 0.0))  # same attempt: the token was the problem, not the call
                continue
            retry, delay = _handle_error(account, spec, attempt, outcome, client, settings.http_max_retries)
            not_before = time.monotonic() + delay
            queue.extend((again, tries, not_before) for again, tries in retry)


def _renewed_after_401(account: _Account, error: ApiError, generation: int) -> bool:
    """A refreshable token was refused (401): refresh it once per run and retry the call."""
    if account.tokens is None or error.error_class is not ErrorClass.AUTH or error.http_status != 401:
        return False
    try:
        return account.tokens.refresh_after_401(account.plan.account_id, generation)
    except ApiError as refused:
        account.error = {**refused.summary(), "endpoint": "oauth_token"}
        log.warning("%s:%s token refresh failed: %s", account.plan.platform, account.plan.account_id, refused)
        return True  # handled: the account has failed


def _handle_error(account: _Account, spec: RequestSpec, attempt: int, error: ApiError, client: HttpClient,
                  max_retries: int) -> tuple[list[tuple[RequestSpec, int]], float]:
    """Decide what a failed call means: retry later, split, skip, or fail the account."""
    if error.error_class is ErrorClass.RETIRED_METRIC:
        metrics = spec.metrics()
        if len(metrics) > 1:  # isolate the retired metric: one call per metric, once
            return [(spec.with_metrics([m]), attempt) for m in metrics], 0.0
        account.retired.extend(metrics or ["?"])
        log.warning("%s metric %s refused as retired/invalid: %s", spec.platform, metrics, error)
        return [], 0.0
    if error.code is not None and error.code in spec.tolerated_codes:
        account.skipped += 1
        return [], 0.0
    if error.error_class in RETRYABLE and attempt < max_retries:
        return [(spec, attempt + 1)], client.backoff(attempt, error)
    account.error = {**error.summary(), "endpoint": spec.endpoint}
    log.warning("%s:%s failed on %s: %s", spec.platform, spec.account_id, spec.endpoint, error.summary())
    return [], 0.0


def chunk_plans(plans: list[AccountPlan], size: int) -> list[list[AccountPlan]]:
    """Split plans into per-platform chunks of at most `size` accounts (Airflow maps over these)."""
    by_platform: dict[str, list[AccountPlan]] = {}
    for plan in plans:
        by_platform.setdefault(plan.platform, []).append(plan)
    return [
        items[i : i + size] for _, items in sorted(by_platform.items()) for i in range(0, len(items), size)
    ]
