"""Small Graph API helpers for onboarding, on top of `ingestion.extract.http.HttpClient` (no other HTTP layer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ingestion.core.settings import Settings
from ingestion.extract.executors import appsecret_proof
from ingestion.extract.http import HttpClient
from ingestion.sources.meta import next_page

# /me/accounts answers at most 100 Pages per call; a municipality has ~80.
PAGE_SIZE = 100
# A runaway paging loop (a server that always answers `next`) stops here.
MAX_PAGES = 1000


def graph_base(settings: Settings) -> str:
    """`https://graph.facebook.com/v25.0/` (or the sandbox's) with a trailing slash."""
    return f"{settings.graph_url.rstrip('/')}/{settings.graph_api_version}/"


def make_client(settings: Settings, secrets: tuple[str, ...] = (), *, max_retries: int | None = None) -> HttpClient:
    """The shared HTTP client, configured from settings; `secrets` are masked in every message."""
    return HttpClient(
        timeout_s=settings.http_timeout_s,
        max_retries=settings.http_max_retries if max_retries is None else max_retries,
        secrets=tuple(s for s in secrets if s),
    )


def auth_params(settings: Settings, token: str) -> dict[str, str]:
    """`access_token` (and `appsecret_proof` when the app secret is configured)."""
    params = {"access_token": token}
    if settings.meta_app_secret is not None:
        params["appsecret_proof"] = appsecret_proof(token, settings.meta_app_secret.get_secret_value())
    return params


def get(client: HttpClient, settings: Settings, path: str, token: str, params: dict[str, Any] | None = None) -> Any:
    """GET one Graph path; returns the JSON body or raises a classified, redacted `ApiError`."""
    return client.send("GET", graph_base(settings) + path.lstrip("/"),
                       params={**(params or {}), **auth_params(settings, token)}).body


def get_all(
    client: HttpClient, settings: Settings, path: str, token: str, params: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Every item of a cursor-paged edge (`/me/accounts`), following `paging.cursors.after`.

    Stops when `paging.next` is absent (PLATFORM_APIS.md §4.4); a page may hold fewer items than
    the limit. The `next` URL itself is never followed: it would carry the token into logs.
    """
    query: dict[str, Any] = {"limit": PAGE_SIZE, **(params or {})}
    for _ in range(MAX_PAGES):
        body = get(client, settings, path, token, query)
        for item in body.get("data", []) if isinstance(body, dict) else []:
            if isinstance(item, dict):
                yield item
        cursor = next_page(body) if isinstance(body, dict) else None
        if cursor is None:
            return
        query = {**query, "after": cursor["after"]}
