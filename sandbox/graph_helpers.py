"""The Graph emulator's plain helpers and limits: cursors, times, field selection, error builders.

Shared by the router (`sandbox.graph`) and its node and insights parts (`graph_nodes`,
`graph_insights`); imports none of them.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import parse_qs, quote_plus

from sandbox import content as C
from sandbox import pacific_time as PT
from sandbox.wire import GraphError

PAGE_WINDOW_DAYS = 90
IG_WINDOW_DAYS = 30
HISTORY_DAYS = 730
IG_FOLLOWER_COUNT_DAYS = 30
WINDOW_TOLERANCE_S = 3600
"""since/until spans are compared in seconds; a DST change inside a window built from date strings
adds or removes one hour, and failing an exact 90-day calendar window for that would only punish
correct clients (the real API's behaviour here is UNVERIFIED)."""


VERSION_RE = re.compile(r"^v\d+\.\d+$")


class Target(NamedTuple):
    """The object a Graph path starts with, resolved without any lookup table."""

    kind: str  # page | ig | post | media
    platform: str  # facebook | instagram
    index: int
    account_id: str  # the business object (Page / IG user) that owns it
    item: C.Item | None = None


@functools.lru_cache(maxsize=4096)
def quote(value: str) -> str:
    return quote_plus(value)


def buc_error(target: Target) -> GraphError:
    if target.platform == "facebook":
        return GraphError(
            "(#80001) There have been too many calls to this Page account. Wait a bit and try again. For more "
            "info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
            80001,
        )
    return GraphError(
        "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. For "
        "more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
        80002,
        subcode=2446079,
    )


def empty_graph(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return {"data": []}
    return body


def top(counts: dict, n: int) -> list[tuple[Any, int]]:
    """The ``n`` largest entries, value descending then key, as the API's top-N lists."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:n]


def graph_time(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def body_params(body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
    """Parameters of a POST body: form-encoded (the Graph default) or a JSON object."""
    ctype = (headers.get("Content-Type") or headers.get("content-type") or "").lower()
    text = body.decode("utf-8", "replace")
    if "json" in ctype:
        try:
            obj = json.loads(text)
        except ValueError:
            return {}
        if isinstance(obj, dict):
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in obj.items()}
        return {}
    return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}


def encode_position(item: C.Item) -> str:
    return base64.urlsafe_b64encode(f"sandbox:pos:{item.day_index}:{item.k}".encode()).decode().rstrip("=")


def decode_position(cursor: str) -> tuple[int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = base64.urlsafe_b64decode(padded).decode().split(":")
        if len(parts) != 4 or parts[:2] != ["sandbox", "pos"]:
            raise ValueError
        return int(parts[2]), int(parts[3])
    except (ValueError, UnicodeDecodeError):
        raise GraphError("(#100) Invalid cursor", 100) from None


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


def pacific_text(moment: datetime) -> str:
    """'Thursday, 19-Nov-26 07:00:00 PST' -- the format of Meta's token-expiry messages."""
    offset = PT.pacific_utc_offset_hours(moment)
    local = moment.astimezone(UTC) - timedelta(hours=offset)
    return local.strftime("%A, %d-%b-%y %H:%M:%S ") + ("PDT" if offset == 7 else "PST")


def end_times(first: date, last: date) -> list[str]:
    n = (last - first).days + 1
    return [PT.end_time_str(first + timedelta(days=k)) for k in range(n)]


def metric_list(query: dict[str, str]) -> list[str]:
    names = [m.strip() for m in (query.get("metric") or "").split(",") if m.strip()]
    if not names:
        raise GraphError("No metric was specified", 3001, subcode=1504028)
    return list(dict.fromkeys(names))  # de-duplicate, keep order


def parse_time(query: dict[str, str], key: str) -> int:
    raw = query[key].strip()
    if raw.isdigit():
        return int(raw)
    try:
        return PT.day_start_ts(date.fromisoformat(raw))
    except ValueError:
        # UNVERIFIED wording; the real API also accepts strtotime() phrases, the sandbox doesn't.
        raise GraphError(f"(#100) The parameter {key} must be a unix timestamp or a date (YYYY-MM-DD)", 100) from None


def select(fields: list[tuple[str, str | None]], allowed: frozenset, node_type: str, values: dict) -> dict:
    """The requested fields of a node, from values already at hand (Graph's error for an unknown one)."""
    return pick(fields, allowed, node_type, values.__getitem__)


def pick(fields: list[tuple[str, str | None]], allowed: frozenset, node_type: str,
         value_of: Callable[[str], Any]) -> dict:
    """The requested fields of a node in request order, each computed by `value_of(name)` only when asked
    for; the first field the node type does not have raises Graph's (#100) error, as the real API does."""
    out = {}
    for name, _ in fields:
        if name not in allowed:
            raise nonexisting_field(name, node_type)
        out[name] = value_of(name)
    return out


def nonexisting_field(name: str, node_type: str) -> GraphError:
    return GraphError(f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})", 100)


def unknown_path(rest: list[str]) -> GraphError:
    return GraphError("Unknown path components: /" + "/".join(rest), 2500)


def encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"sandbox:{index}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, _, number = base64.urlsafe_b64decode(padded).decode().partition(":")
        if prefix != "sandbox" or not number.isdigit():
            raise ValueError
        return int(number)
    except (ValueError, UnicodeDecodeError):
        raise GraphError("(#100) Invalid cursor", 100) from None


def utc_now() -> datetime:
    """The real clock, aware UTC (used when ``SandboxConfig.now`` is None)."""
    return datetime.now(UTC)
