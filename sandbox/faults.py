"""Fault injection on demand: named profiles, globally (``--faults``) or per account.

Why it works like this:

* **Deterministic.** Whether a request is hit is a hash of (seed, profile, request key), never a
  coin flip, so a failing drill replays identically. The *request key* is the method, path and
  query without the token: a retry of the same request has the same key.
* **Bounded.** Transient profiles hit one request key at most ``max_consecutive`` (K) times in a
  row, then let it through, so a client with K retries always completes. Which keys are hit and
  how often (1..K) is seeded. Auth profiles are the exception: permanent for the scope.
* **Scope.** ``SandboxConfig.faults`` (comma list allowed, e.g. ``"5xx,latency"``) applies to
  every request, transient profiles to a seeded fraction of request keys (``GLOBAL_RATE``);
  ``SandboxConfig.account_faults = {account_id: "profile[,profile]"}`` applies to requests about
  that account (its node, insights, posts/media, channel or profile) and hits *every* request key
  of it. An account's own setting replaces the global one for that account.
* **Surface-neutral.** The injector returns ``Fault`` records; the Graph, YouTube and Snapchat
  handlers render them in their own error envelopes, and the HTTP layer performs the transport
  faults (delay, reset, truncated or non-JSON bodies).

Profiles (also in ``sandbox/README.md``):

=================  ================================================================  ===========
name               what happens                                                      global rate
=================  ================================================================  ===========
none               nothing                                                           -
flaky              every 7th request: HTTP 500, code 2, is_transient (legacy)         every 7th
latency            20-60 ms jitter on every request, 1.5 s spike on 1 in 20 keys       all
5xx                HTTP 500/503 Graph code 1/2 (YouTube backendError, Snap 500)        25 %
timeout            response held ``fault_timeout_s`` (> the client timeout)            10 %
reset              connection closed with RST, no response                             20 %
429                HTTP 429 + ``Retry-After: 1..3`` seconds                            20 %
throttle           each business object throttled once (80001 Pages / 80002 IG)       all objects
                   from its 2nd-4th call for ``fault_throttle_minutes``; lifted after
app_limit          Graph code 4 (app-level throttling), HTTP 400                       20 %
user_limit         Graph code 17 (user-level throttling)                               20 %
page_limit         Graph code 32 (Page-level throttling)                               20 %
custom_limit       Graph code 613 (custom-level throttling)                            20 %
expired_token      190/463 (YouTube/Snap: 401) on every request -- permanent           all
revoked_token      190/460 (YouTube/Snap: 401) on every request -- permanent           all
truncated          HTTP 200 whose JSON body is cut in half (honest Content-Length)     20 %
non_json           HTML error page (HTTP 200/502/503, text/html)                       20 %
empty              list endpoints answer ``data: []`` (YouTube: no items/rows) --      25 %
                   persistent for a hit key, not transient
schema_drift       unknown new fields added, an optional field removed -- persistent   all
=================  ================================================================  ===========
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, NamedTuple

TRANSIENT_ERRORS = {
    "5xx": None,
    "429": None,
    "app_limit": (4, "(#4) Application request limit reached"),
    "user_limit": (17, "(#17) User request limit reached"),
    "page_limit": (32, "(#32) Page request limit reached"),
    "custom_limit": (613, "(#613) Calls to this api have exceeded the rate limit."),
}
TRANSPORT = ("timeout", "reset", "truncated", "non_json")
PERSISTENT = ("empty", "schema_drift")
AUTH = ("expired_token", "revoked_token")
OTHER = ("none", "flaky", "latency", "throttle")

GLOBAL_RATE: dict[str, float] = {
    "5xx": 0.25,
    "429": 0.20,
    "app_limit": 0.20,
    "user_limit": 0.20,
    "page_limit": 0.20,
    "custom_limit": 0.20,
    "timeout": 0.10,
    "reset": 0.20,
    "truncated": 0.20,
    "non_json": 0.20,
    "empty": 0.25,
    "schema_drift": 1.0,
}

FAULT_PROFILES: dict[str, str] = {
    "none": "no faults",
    "flaky": "every 7th request fails with HTTP 500 / code 2 (is_transient)",
    "latency": "20-60 ms jitter on every request, 1.5 s spikes on some",
    "5xx": "HTTP 500/503 transient server errors",
    "timeout": "response held longer than the client timeout (SandboxConfig.fault_timeout_s)",
    "reset": "connection reset without a response",
    "429": "HTTP 429 with Retry-After",
    "throttle": "Meta BUC throttling 80001/80002 with estimated_time_to_regain_access, lifted after it",
    "app_limit": "Graph code 4 (application request limit)",
    "user_limit": "Graph code 17 (user request limit)",
    "page_limit": "Graph code 32 (Page request limit)",
    "custom_limit": "Graph code 613 (custom rate limit)",
    "expired_token": "190/463 token expired, permanent",
    "revoked_token": "190/460 token invalidated, permanent",
    "truncated": "JSON body cut in half",
    "non_json": "HTML error page instead of JSON",
    "empty": "data: [] for list responses",
    "schema_drift": "new unknown fields and a missing optional field",
}
"""Known profile names -> one-line description (``--faults`` choices)."""


def parse_profiles(text: str | None) -> tuple[str, ...]:
    """``"5xx, latency"`` -> ("5xx", "latency"); raises ValueError for unknown names."""
    names = tuple(dict.fromkeys(p.strip() for p in (text or "none").split(",") if p.strip()))
    unknown = [n for n in names if n not in FAULT_PROFILES]
    if unknown:
        raise ValueError(f"unknown fault profile {unknown[0]!r}; known: {sorted(FAULT_PROFILES)}")
    return tuple(n for n in names if n != "none")


class Fault(NamedTuple):
    """One decided fault. ``kind`` is the profile name; the other fields parametrise it."""

    kind: str
    status: int = 0
    code: int | None = None
    message: str = ""
    delay_s: float = 0.0
    retry_after_s: int = 0
    regain_minutes: int = 0
    variant: int = 0


class FaultPlan(NamedTuple):
    """What to do with one request: an error to return instead of the answer (or None), a delay,
    a transport action ("reset" | "truncated" | "non_json" | None) and body transforms."""

    error: Fault | None
    delay_s: float
    transport: Fault | None
    transforms: tuple[str, ...]


NO_FAULTS = FaultPlan(None, 0.0, None, ())


def _h(*parts: Any) -> int:
    return int.from_bytes(hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


class FaultInjector:
    """Decides faults per request; thread-safe; state bounded by ``MAX_TRACKED`` entries."""

    MAX_TRACKED = 100_000

    def __init__(
        self,
        seed: int,
        profiles: str,
        account_faults: dict[str, str] | None,
        *,
        max_consecutive: int = 2,
        timeout_s: float = 35.0,
        throttle_minutes: int = 1,
        clock: Callable[[], float],
    ) -> None:
        self.seed = seed
        self.global_profiles = parse_profiles(profiles)
        self.account_profiles = {acc: parse_profiles(p) for acc, p in (account_faults or {}).items()}
        self.max_consecutive = max(1, max_consecutive)
        self.timeout_s = timeout_s
        self.throttle_minutes = max(1, throttle_minutes)
        self.clock = clock
        self._lock = threading.Lock()
        self._attempts: OrderedDict[tuple, int] = OrderedDict()
        self._throttle: OrderedDict[str, list] = OrderedDict()  # obj -> [calls, until or None, done]
        self._request_counter = 0
        self._account_counters: dict[str, int] = {}

    @property
    def active(self) -> bool:
        return bool(self.global_profiles or self.account_profiles)

    def profiles_for(self, account: str | None) -> tuple[tuple[str, ...], bool]:
        """(profiles, scoped): the account's own profiles if configured, else the global ones."""
        if account is not None and account in self.account_profiles:
            return self.account_profiles[account], True
        return self.global_profiles, False

    def auth_fault(self, account: str | None) -> str | None:
        """"expired_token" / "revoked_token" if an auth profile covers this request."""
        profiles, _ = self.profiles_for(account)
        for name in profiles:
            if name in AUTH:
                return name
        return None

    # -- the decision -----------------------------------------------------------------------------

    def decide(self, key: str, account: str | None, *, transport_allowed: bool = True) -> FaultPlan:
        """The plan for one request. ``account`` is the business object it is about (or None);
        ``transport_allowed=False`` for batch sub-requests (they cannot be reset or delayed alone)."""
        if not self.active:
            return NO_FAULTS
        profiles, scoped = self.profiles_for(account)
        if not profiles:
            return NO_FAULTS
        error: Fault | None = None
        transport: Fault | None = None
        delay = 0.0
        transforms: list[str] = []
        for name in profiles:
            rate = 1.0 if scoped else GLOBAL_RATE.get(name, 1.0)
            if name == "flaky":
                if error is None and self._every_nth(account if scoped else None, 7):
                    error = Fault("flaky", status=500, code=2, message=_UNEXPECTED)
            elif name == "latency":
                h = _h(self.seed, "latency", key, self._bump_plain(("lat", key)))
                delay += 0.02 + (h % 41) / 1000.0
                if transport_allowed and _h(self.seed, "spike", key) % 20 == 0 and self._first_time(("spike", key)):
                    delay += 1.5
            elif name == "throttle":
                if error is None and account is not None:
                    error = self._throttle_fault(account)
            elif name in TRANSIENT_ERRORS:
                if error is None and self._transient(name, key, rate):
                    error = self._error_fault(name, key)
            elif name in TRANSPORT:
                if transport_allowed and transport is None and error is None and self._transient(name, key, rate):
                    variant = _h(self.seed, name, "variant", key) % 3
                    if name == "timeout":
                        delay += self.timeout_s
                    else:
                        transport = Fault(name, variant=variant)
            elif name in PERSISTENT and _h(self.seed, name, key) % 10_000 < rate * 10_000:
                transforms.append(name)
            # AUTH profiles are handled by auth_fault() at authentication time.
        if not transport_allowed:
            delay = 0.0
        return FaultPlan(error, delay, transport, tuple(transforms))

    # -- helpers ----------------------------------------------------------------------------------

    def _error_fault(self, name: str, key: str) -> Fault:
        if name == "5xx":
            variant = _h(self.seed, "5xx-variant", key) % 3
            if variant == 0:
                return Fault("5xx", status=500, code=2, message=_UNEXPECTED, variant=0)
            if variant == 1:
                return Fault("5xx", status=503, code=2, message="(#2) Service temporarily unavailable", variant=1)
            return Fault("5xx", status=500, code=1, message="An unknown error occurred", variant=2)
        if name == "429":
            return Fault("429", status=429, code=4, message="(#4) Application request limit reached",
                         retry_after_s=1 + _h(self.seed, "retry-after", key) % 3)
        code, message = TRANSIENT_ERRORS[name]  # type: ignore[misc]
        return Fault(name, status=400 if code != 4 else 403, code=code, message=message)

    def _transient(self, name: str, key: str, rate: float) -> bool:
        h = _h(self.seed, name, key)
        if h % 10_000 >= rate * 10_000:
            return False
        limit = 1 + (h >> 20) % self.max_consecutive
        slot = (name, key)
        with self._lock:
            n = self._attempts.pop(slot, 0) + 1
            if n <= limit:
                self._attempts[slot] = n
                while len(self._attempts) > self.MAX_TRACKED:
                    self._attempts.popitem(last=False)
                return True
            return False  # passed: forget the key (a later, new request may be hit again)

    def _first_time(self, slot: tuple) -> bool:
        with self._lock:
            if slot in self._attempts:
                return False
            self._attempts[slot] = 1
            while len(self._attempts) > self.MAX_TRACKED:
                self._attempts.popitem(last=False)
            return True

    def _bump_plain(self, slot: tuple) -> int:
        with self._lock:
            n = self._attempts.pop(slot, 0) + 1
            self._attempts[slot] = n
            while len(self._attempts) > self.MAX_TRACKED:
                self._attempts.popitem(last=False)
            return n

    def _every_nth(self, account: str | None, n: int) -> bool:
        with self._lock:
            if account is None:
                self._request_counter += 1
                return self._request_counter % n == 0
            count = self._account_counters.get(account, 0) + 1
            self._account_counters[account] = count
            return count % n == 0

    def _throttle_fault(self, obj: str) -> Fault | None:
        now = self.clock()
        with self._lock:
            state = self._throttle.get(obj)
            if state is None:
                state = [0, None, False]
                self._throttle[obj] = state
                while len(self._throttle) > self.MAX_TRACKED:
                    self._throttle.popitem(last=False)
            if state[2]:
                return None
            state[0] += 1
            if state[1] is None:
                if state[0] < 2 + _h(self.seed, "throttle", obj) % 3:
                    return None
                state[1] = now + 60 * self.throttle_minutes
            until = state[1]
            if now >= until:
                state[2] = True
                return None
        minutes = max(1, int(-(-(until - now) // 60)))
        return Fault("throttle", status=400, regain_minutes=minutes)


_UNEXPECTED = "An unexpected error has occurred. Please retry your request later."


def truncate(payload: bytes) -> bytes:
    """The first half of a body (at least one byte short of the whole)."""
    return payload[: max(1, len(payload) // 2)]


NON_JSON_STATUS = (200, 502, 503)


def html_page(status: int) -> bytes:
    """An HTML error page like the ones a proxy or maintenance page returns."""
    title = {200: "Service Unavailable", 502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable"}[status]
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1>"
        "<p>Sorry, something went wrong. We're working on getting this fixed as soon as we can.</p>"
        "</body></html>"
    ).encode()


# ------------------------------------------------------------------------------------------------
# schema drift
# ------------------------------------------------------------------------------------------------

_DRIFT_REMOVABLE = ("description", "title", "permalink_url", "status_type", "permalink", "caption", "message", "kind")


def drift(body: Any) -> Any:
    """Schema drift: every object in ``data``/``items`` (or the node itself) gains unknown fields
    (``is_estimated``, ``source_version``) and loses the first optional field it has from
    ``_DRIFT_REMOVABLE`` (ids and values are never removed)."""

    def one(obj: dict) -> dict:
        out = dict(obj)
        for name in _DRIFT_REMOVABLE:
            if name in out:
                del out[name]
                break
        out["is_estimated"] = False
        out["source_version"] = "2026-12"
        return out

    if isinstance(body, dict):
        for list_key in ("data", "items"):
            if isinstance(body.get(list_key), list):
                body = dict(body)
                body[list_key] = [one(x) if isinstance(x, dict) else x for x in body[list_key]]
                body["experimental_summary"] = {"total_count": len(body[list_key])}
                return body
        return one(body)
    return body
