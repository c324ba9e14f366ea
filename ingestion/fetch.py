"""Fetch: call the platform APIs for a chunk of account plans and land the responses.

Accounts are isolated: each account's requests run in one worker; an account whose token is expired
or whose requests keep failing is recorded as failed and its responses are not landed (all or
nothing per account, so the loader never sees half an account). A retired metric degrades alone: it
is recorded and the account still succeeds with the other requests.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ingestion import landing
from ingestion.http import ApiError, ErrorClass, HttpClient
from ingestion.plan import AccountPlan
from ingestion.platforms import RequestSpec, facebook, instagram
from ingestion.redact import redact
from ingestion.settings import Settings

log = logging.getLogger(__name__)

PLATFORM_MODULES = {"facebook": facebook, "instagram": instagram}


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
    failures: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for XCom and run reports."""
        return dict(self.__dict__)


def _response_id(run_id: str, spec: RequestSpec, index: int) -> str:
    raw = f"{run_id}|{spec.platform}|{spec.account_id}|{spec.path}|{sorted(spec.params.items())}|{index}"
    return hashlib.sha1(raw.encode()).hexdigest()[:20]


def _fetch_account(
    client: HttpClient, settings: Settings, run_id: str, plan: AccountPlan
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """All requests of one account: (landed records, status)."""
    status: dict[str, Any] = {
        "platform": plan.platform, "account_id": plan.account_id, "since": plan.since,
        "until": plan.until, "status": "ok", "requests": 0, "retired_metrics": [], "error": None,
    }
    token = settings.token_for(plan.token_env)
    if token is None:
        status.update(status="failed", error={"error_class": str(ErrorClass.AUTH),
                                              "message": "no token configured for this account"})
        return [], status
    base = f"{settings.graph_url.rstrip('/')}/{settings.graph_api_version}"
    records = []
    for index, spec in enumerate(PLATFORM_MODULES[plan.platform].requests_for(plan)):
        status["requests"] += 1
        try:
            resp = client.get_meta(f"{base}/{spec.path}", {**spec.params, "access_token": token.get_secret_value()})
        except ApiError as error:
            if error.error_class is ErrorClass.RETIRED_METRIC:
                status["retired_metrics"].append({"params": spec.params.get("metric"), **error.summary()})
                continue
            status.update(status="failed", error=error.summary())
            log.warning("%s:%s failed: %s", plan.platform, plan.account_id, error.summary())
            return [], status
        records.append(
            {
                "response_id": _response_id(run_id, spec, index),
                "platform": spec.platform,
                "account_id": spec.account_id,
                "endpoint": spec.endpoint,
                "url": resp.url,
                "params": resp.params,
                "api_version": settings.graph_api_version,
                "http_status": resp.http_status,
                "fetched_at": resp.fetched_at,
                "usage_headers": resp.usage_headers,
                "body": resp.body,
            }
        )
    return records, status


def fetch_chunk(settings: Settings, run_id: str, chunk: str, plans: list[AccountPlan]) -> FetchResult:
    """Fetch every plan of one platform chunk in parallel and land the result."""
    platforms = {p.platform for p in plans}
    if len(platforms) > 1:
        raise ValueError(f"a chunk holds one platform, got {sorted(platforms)}")
    platform = platforms.pop() if platforms else "none"
    secrets = tuple(
        t.get_secret_value() for t in {settings.token_for(p.token_env) for p in plans} if t is not None
    )
    client = HttpClient(timeout_s=settings.http_timeout_s, max_retries=settings.http_max_retries, secrets=secrets)
    try:
        with ThreadPoolExecutor(max_workers=max(1, settings.fetch_concurrency)) as pool:
            results = list(pool.map(lambda p: _fetch_account(client, settings, run_id, p), plans))
    finally:
        client.close()
    records = [r for recs, _ in results for r in recs]
    statuses = [s for _, s in results]
    landing.write_chunk(settings.landing_dir, run_id, platform, chunk, records, statuses)
    failures = [
        {"account_id": s["account_id"], **(s["error"] or {})} for s in statuses if s["status"] != "ok"
    ]
    for failure in failures:  # never let a secret reach a log line
        failure["message"] = redact(str(failure.get("message", "")), secrets)
    return FetchResult(
        run_id=run_id, platform=platform, chunk=chunk,
        accounts_ok=sum(s["status"] == "ok" for s in statuses), accounts_failed=len(failures),
        responses=len(records), round_trips=client.stats.round_trips, failures=failures,
    )


def chunk_plans(plans: list[AccountPlan], size: int) -> list[list[AccountPlan]]:
    """Split plans into per-platform chunks of at most `size` accounts (Airflow maps over these)."""
    by_platform: dict[str, list[AccountPlan]] = {}
    for plan in plans:
        by_platform.setdefault(plan.platform, []).append(plan)
    return [
        items[i : i + size] for _, items in sorted(by_platform.items()) for i in range(0, len(items), size)
    ]
