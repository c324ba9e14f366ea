"""One module per platform: which requests cover an account's window, and how responses parse.

Each platform module exposes:
- `PLATFORM` and `API` (which executor sends its requests: `graph` batches Graph API calls,
  `youtube` sends plain authorised GETs);
- `requests_for(plan, ctx) -> list[RequestSpec]`: the first round of calls for an account;
- `follow_ups(spec, body, ctx) -> list[RequestSpec]`: calls that depend on a response (next page,
  insights of the posts just listed);
- `parse(record) -> Parsed`: observations and object metadata from one landed response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class FetchContext:
    """What the request builders need besides the account plan."""

    as_of: date
    retired_metrics: frozenset[tuple[str, str]] = frozenset()  # (platform, metric) refused at run time
    # Posts/media younger than this get their lifetime metrics refreshed every night.
    content_refresh_days: int = 30

    def retired_for(self, platform: str) -> frozenset[str]:
        """Metric names of one platform that must not be requested again."""
        return frozenset(name for p, name in self.retired_metrics if p == platform)


@dataclass(frozen=True)
class RequestSpec:
    """One API call for one account (no token: it is added when the request is sent)."""

    platform: str
    account_id: str
    endpoint: str  # node | insights | posts | post_insights | media | media_insights | demographics | ...
    path: str  # relative to the API base, e.g. "123/insights"
    params: dict[str, Any] = field(default_factory=dict)
    object_type: str = "account"
    object_id: str = ""
    # Error codes that only mean "no data for this object" (e.g. IG (#10) not enough viewers):
    # the call is skipped without failing the account.
    tolerated_codes: tuple[int, ...] = ()
    # For content lists: the oldest publication day still wanted (not sent to the API).
    not_before: date | None = None
    # Which API base the path is relative to: graph | youtube_data | youtube_analytics.
    base: str = "graph"

    def key(self) -> tuple:
        """Identity of the call (for response ids and de-duplication)."""
        return (self.platform, self.account_id, self.path, tuple(sorted(self.params.items())))

    def metrics(self) -> list[str]:
        """The metrics this call requests (empty for non-insights calls)."""
        raw = self.params.get("metric") or self.params.get("metrics") or ""
        return [m for m in str(raw).split(",") if m]

    def with_metrics(self, names: list[str]) -> RequestSpec:
        """The same call for a subset of its metrics (to isolate a retired one)."""
        key = "metric" if "metric" in self.params else "metrics"
        return RequestSpec(self.platform, self.account_id, self.endpoint, self.path,
                           {**self.params, key: ",".join(names)}, self.object_type, self.object_id,
                           self.tolerated_codes, self.not_before, self.base)


@dataclass
class Parsed:
    """What one response yields."""

    observations: list[dict[str, Any]] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
