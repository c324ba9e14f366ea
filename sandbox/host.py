"""What a platform app of the sandbox (YouTube, Snapchat, peers) asks of the server that hosts it.

Why a protocol: the Graph emulator (`sandbox.graph.GraphApp`) hosts the other apps and routes to
them; if they named `GraphApp` back, the modules would import each other. They name this instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

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
