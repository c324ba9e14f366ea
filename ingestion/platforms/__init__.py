"""One module per platform: which requests to make for an account, and how to parse responses.

Each platform module exposes:
- `requests_for(plan) -> list[RequestSpec]`: the calls that cover an account's planned window;
- `parse(record) -> list[dict]`: observations from one landed response record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RequestSpec:
    """One API call for one account (no token: it is added when the request is sent)."""

    platform: str
    account_id: str
    endpoint: str  # node | insights | ...
    path: str  # relative to the versioned Graph base, e.g. "123/insights"
    params: dict[str, Any] = field(default_factory=dict)
