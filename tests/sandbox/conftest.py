"""Shared fixtures for the sandbox contract tests.

Every test talks to a real ``SandboxServer`` over HTTP on a free loopback port, with the sandbox
clock frozen at 2026-11-20 17:00 UTC = 09:00 PST: "today" (Meta day) is 2026-11-20 and the last
complete measured day 2026-11-19. Expected values come from the generator (``sandbox.truth``,
``sandbox.data``, ``sandbox.content``), never from the HTTP code under test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from sandbox import data as D
from sandbox.server import SandboxConfig, SandboxServer

NOW = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
TODAY = date(2026, 11, 20)
YESTERDAY = TODAY - timedelta(days=1)
N = 30
TOKEN = "EAAtestTOKENxyz123secret"
PAGE = D.facebook_page_id(1)
IG = D.instagram_user_id(1)


def start(**overrides) -> SandboxServer:
    """A started server with the standard test config plus ``overrides`` (caller stops it)."""
    params = {"accounts": N, "seed": 42, "now": NOW, **overrides}
    return SandboxServer(SandboxConfig(**params)).start()


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    srv = start(snapchat_profiles=3)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def graph_getter(srv: SandboxServer, http: requests.Session) -> Callable[..., requests.Response]:
    def _get(path: str, token: str | None = TOKEN, **params) -> requests.Response:
        if token is not None:
            params.setdefault("access_token", token)
        return http.get(f"{srv.graph_url}/v25.0/{path}", params=params, timeout=10)

    return _get


@pytest.fixture(scope="module")
def graph(server, http) -> Callable[..., requests.Response]:
    """GET {graph}/v25.0/{path} with the test token unless ``token`` is overridden."""
    return graph_getter(server, http)


def assert_graph_error(resp, code: int, subcode: int | None = None, message: str | None = None, status: int = 400):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}
    err = body["error"]
    assert err["code"] == code, err
    assert err.get("error_subcode") == subcode, err
    assert isinstance(err["fbtrace_id"], str) and err["fbtrace_id"]
    if message is not None:
        assert err["message"] == message
    return err
