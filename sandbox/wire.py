"""What every sandbox surface (Graph, YouTube, Snapchat, peers) answers with, and the Graph `fields`
parser they share. A leaf module: the surfaces import it instead of `sandbox.graph`, so the router
(`sandbox.graph`) can import the surfaces without an import circle.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class GraphResponse(NamedTuple):
    """What the HTTP layer sends: status, extra headers, JSON-serialisable body.

    ``raw`` replaces the JSON body with these bytes (HTML pages, truncated JSON); ``action``
    "reset" closes the connection without answering; ``delay_s`` holds the answer that long.
    """

    status: int
    headers: dict[str, str]
    body: Any
    raw: bytes | None = None
    action: str | None = None
    delay_s: float = 0.0


class GraphError(Exception):
    """Raised inside handlers; rendered as the Graph error envelope."""

    def __init__(
        self,
        message: str,
        code: int,
        *,
        status: int = 400,
        type_: str = "OAuthException",
        subcode: int | None = None,
        is_transient: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.type = type_
        self.subcode = subcode
        self.is_transient = is_transient


def parse_fields(raw: str | None, default: str) -> list[tuple[str, str | None]]:
    """Split ``a,b{c,d},e`` at top-level commas into [(name, subfields-or-None), ...]."""
    text = raw if raw and raw.strip() else default
    out: list[tuple[str, str | None]] = []
    depth, token = 0, ""
    for ch in text + ",":
        if ch == "," and depth == 0:
            token = token.strip()
            if token:
                name, brace, sub = token.partition("{")
                out.append((name.strip(), sub[:-1] if brace and sub.endswith("}") else None))
            token = ""
            continue
        depth += (ch == "{") - (ch == "}")
        token += ch
    return list(dict.fromkeys(out))
