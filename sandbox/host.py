"""What a platform app of the sandbox (YouTube, Snapchat, peers) asks of the server that hosts it.

Why a protocol: the Graph emulator (`sandbox.graph.GraphApp`) hosts the other apps and routes to
them; if they named `GraphApp` back, the modules would import each other. They name this instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from sandbox import data as D

if TYPE_CHECKING:
    from sandbox.faults import FaultInjector, FaultPlan
    from sandbox.wire import GraphResponse


class Host(Protocol):
    """The hosting server: its clock and configuration, fault injection and response finishing."""

    config: Any  # sandbox.server.SandboxConfig
    clock: Callable[[], datetime]
    faults: FaultInjector
    youtube: Any  # the hosted YouTube app (peers reuse its channel answers)

    def today(self) -> date: ...

    def now_ts(self) -> float: ...

    def request_key(self, method: str, path: str, query: Mapping[str, str]) -> str: ...

    def finish(self, resp: GraphResponse, plan: FaultPlan,
               empty: Callable[[Any], Any] | None = None) -> GraphResponse: ...

    def bearer_or_query_token(self, query: Mapping[str, str], headers: Mapping[str, str]) -> str: ...

    def require(self, token: str, scope: str) -> None: ...

    def ig_node(self, index: int, fields: list[tuple[str, str | None]]) -> dict: ...


class HostedApp:
    """What the hosted apps with numbered accounts (YouTube, Snapchat) share: the host, its config,
    and which generated accounts they serve: 1..`served` of `PLATFORM`, `served` being the
    SandboxConfig field `SERVED_FIELD` (`SERVED_DEFAULT` without it)."""

    PLATFORM: str
    SERVED_FIELD: str
    SERVED_DEFAULT: int

    def __init__(self, app: Host) -> None:
        self.app = app
        self.config = app.config

    @property
    def served(self) -> int:
        """How many generated accounts the app serves."""
        return getattr(self.config, self.SERVED_FIELD, self.SERVED_DEFAULT)

    def served_index(self, account_id: str) -> int | None:
        """The 1-based index of a served account's id; None for any other id."""
        i = D.account_index(self.PLATFORM, account_id)
        return i if i is not None and i <= self.served else None
